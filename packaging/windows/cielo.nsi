; Cielo installer for Windows (NSIS 3), built from the PyInstaller one-folder app.
;
; Build (Windows, or Linux with Debian's `nsis`):
;   makensis -DVERSION=0.1.0 -DDIST=<absolute path>\build\freeze\dist\cielo
;            -DOUTFILE=<absolute path>\cielo-setup-0.1.0.exe packaging\windows\cielo.nsi
; (makensis changes to this script's folder first: give absolute paths, as build.ps1 does)
; Silent install (as administrator; /D must come last and has no quotes):
;   cielo-setup-0.1.0.exe /S /D=C:\Program Files\Cielo
; Silent uninstall:
;   "C:\Program Files\Cielo\uninstall.exe" /S
; User data (%LOCALAPPDATA%\cielo: catalogs, favourites, history) is never removed by the
; uninstaller; delete that folder to purge it.

Unicode true
!ifndef VERSION
  !error "pass -DVERSION=x.y.z"
!endif
!ifndef DIST
  !error "pass -DDIST=path\to\dist\cielo (the PyInstaller output folder)"
!endif
!ifndef OUTFILE
  !define OUTFILE "cielo-setup-${VERSION}.exe"
!endif
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Cielo"

Name "Cielo ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\Cielo"
InstallDirRegKey HKLM "${UNINSTALL_KEY}" "InstallLocation"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "Cielo"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileDescription" "Cielo offline CIE-10-ES coding assistant installer"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "LegalCopyright" "Cielo developers, MIT licence"

!include "MUI2.nsh"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "Spanish"
!insertmacro MUI_LANGUAGE "English"

Section "Cielo" SecMain
  SectionIn RO
  SetOutPath "$INSTDIR"
  File /r "${DIST}\*"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  SetShellVarContext all
  CreateShortcut "$SMPROGRAMS\Cielo.lnk" "$INSTDIR\cielo-gui.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "Cielo"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "Cielo developers"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  Delete "$SMPROGRAMS\Cielo.lnk"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\cielo.exe"
  Delete "$INSTDIR\cielo-gui.exe"
  Delete "$INSTDIR\NOTICE"
  Delete "$INSTDIR\THIRD_PARTY_NOTICES.txt"
  Delete "$INSTDIR\sbom.cdx.json"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
SectionEnd
