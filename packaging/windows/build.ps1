# Build Cielo's Windows release: a fresh venv with the pinned, hash-checked build inputs, the
# PyInstaller one-folder app (build\freeze\dist\cielo) and the NSIS installer
# build\release\cielo-setup-VERSION.exe, optionally Authenticode-signed. From the repository:
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
#
# Environment (all optional):
#   PYTHON                interpreter for the venv (default: python; the lock is for 3.11)
#   WHEELHOUSE            folder of wheels from `make.py wheelhouse`: install offline from it
#   SIGN_CERT_THUMBPRINT  SHA-1 thumbprint of a code-signing certificate in the user's "My"
#                         store: signs cielo.exe, cielo-gui.exe and the installer with signtool
#   TIMESTAMP_URL         RFC 3161 timestamp server (default http://timestamp.digicert.com)
# Needs NSIS (makensis) and, to sign, the Windows SDK's signtool; both are looked up on PATH
# and in their default install folders.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Root = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path
Set-Location $Root

# Runs a program and stops the build when it fails ($ErrorActionPreference does not cover
# native programs' exit codes).
function Invoke-Tool {
    param([string]$Program, [string[]]$Arguments)
    & $Program @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Program failed with exit code $LASTEXITCODE" }
}

# A program on PATH, else the newest match of a wildcard path (e.g. under Program Files).
function Find-Tool {
    param([string]$Name, [string[]]$Candidates)
    $command = Get-Command $Name -ErrorAction SilentlyContinue
    if ($command) { return $command.Source }
    foreach ($pattern in $Candidates) {
        $found = Get-Item $pattern -ErrorAction SilentlyContinue |
            Sort-Object FullName -Descending | Select-Object -First 1
        if ($found) { return $found.FullName }
    }
    throw "$Name not found: install it or put it on PATH"
}

# 1. A clean virtual environment.
$Venv = Join-Path $Root 'build\venv-windows'
$Python = if ($env:PYTHON) { $env:PYTHON } else { 'python' }
Invoke-Tool $Python @('-m', 'venv', '--clear', $Venv)
$Py = Join-Path $Venv 'Scripts\python.exe'

# 2. Exactly the pinned build inputs, each checked against its hash in the lock file.
$PipArgs = @('-m', 'pip', 'install', '--require-hashes', '--no-deps',
             '-r', 'packaging\requirements-release.txt')
if ($env:WHEELHOUSE) { $PipArgs += @('--no-index', '--find-links', $env:WHEELHOUSE) }
Invoke-Tool $Py $PipArgs

# 3. The one-folder app (PyInstaller, packaging\cielo.spec): cielo.exe and cielo-gui.exe.
Invoke-Tool $Py @('packaging\make.py', 'freeze')
$Dist = Join-Path $Root 'build\freeze\dist\cielo'
$Version = (& $Py -c 'import app; print(app.__version__)').Trim()
if ($LASTEXITCODE -ne 0 -or -not $Version) { throw 'could not read the version' }

# 4. Authenticode signature (SHA-256, RFC 3161 timestamp) of files, when a certificate is set.
$Signing = [bool]$env:SIGN_CERT_THUMBPRINT
if ($Signing) {
    $SignTool = Find-Tool 'signtool' @(
        "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe",
        "${env:ProgramFiles(x86)}\Windows Kits\10\App Certification Kit\signtool.exe")
    $TimestampUrl = if ($env:TIMESTAMP_URL) { $env:TIMESTAMP_URL } else { 'http://timestamp.digicert.com' }
}
function Invoke-Sign {
    param([string[]]$Files)
    Invoke-Tool $SignTool (@('sign', '/sha1', $env:SIGN_CERT_THUMBPRINT, '/fd', 'sha256',
                             '/tr', $TimestampUrl, '/td', 'sha256') + $Files)
    Invoke-Tool $SignTool (@('verify', '/pa') + $Files)
}
if ($Signing) {
    # The installed executables, before the installer packs them.
    Invoke-Sign @((Join-Path $Dist 'cielo.exe'), (Join-Path $Dist 'cielo-gui.exe'))
}

# 5. The NSIS installer. Absolute paths: makensis resolves relative ones from the script's
#    folder, not from here.
$Release = Join-Path $Root 'build\release'
New-Item -ItemType Directory -Force -Path $Release | Out-Null
$Installer = Join-Path $Release "cielo-setup-$Version.exe"
$MakeNsis = Find-Tool 'makensis' @("${env:ProgramFiles(x86)}\NSIS\makensis.exe",
                                   "$env:ProgramFiles\NSIS\makensis.exe")
Invoke-Tool $MakeNsis @("/DVERSION=$Version", "/DDIST=$Dist", "/DOUTFILE=$Installer",
                        (Join-Path $Root 'packaging\windows\cielo.nsi'))

# 6. The installer's own signature.
if ($Signing) {
    Invoke-Sign @($Installer)
} else {
    Write-Warning 'SIGN_CERT_THUMBPRINT not set: the installer is not signed'
}
Write-Host "built $Installer"
