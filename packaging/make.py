"""Build, package, sign and smoke-test a Cielo release.

    python packaging/make.py release --key release.key   # everything below, in order
    python packaging/make.py freeze                      # PyInstaller one-folder build
    python packaging/make.py package                     # tarball + .deb (Linux)
    python packaging/make.py sign --key release.key      # SHA256SUMS + SHA256SUMS.sig
    python packaging/make.py smoke                       # checks on the frozen app
    python packaging/make.py keygen release.key release.pub
    python packaging/make.py lock | wheelhouse           # pinned, hashed build inputs

Outputs go to ``build/release`` (``--out``); reports are JSON files next to them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT)]  # `app` (checksum format and verification) from this checkout

from cielo_release.freeze import REPORT_FILE, app_version, freeze  # noqa: E402
from cielo_release.linux import build_deb, build_tarball  # noqa: E402
from cielo_release.signing import generate_keys, sign_release  # noqa: E402
from cielo_release.smoke import smoke  # noqa: E402

REQUIREMENTS = HERE / "requirements-release.in"
LOCK = HERE / "requirements-release.txt"
out_option = click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=ROOT / "build" / "release",
    show_default=True, help="Release folder (packages, SHA256SUMS, reports).")
work_option = click.option(
    "--work", type=click.Path(file_okay=False, path_type=Path), default=ROOT / "build" / "freeze",
    show_default=True, help="PyInstaller's dist/ and work/ folders.")


def _folder(work: Path) -> Path:
    folder = work / "dist" / "cielo"
    if not (folder / "cielo").exists() and not (folder / "cielo.exe").exists():
        raise click.ClickException(f"no frozen app in {folder}: run `make.py freeze` first")
    return folder


@click.group()
def cli() -> None:
    """Cielo's release tooling (see packaging/README.md)."""


@cli.command("freeze")
@work_option
def freeze_command(work: Path) -> None:
    """Build the one-folder app into WORK/dist/cielo and report its size."""
    report = freeze(work / "dist", work / "work")
    click.echo(json.dumps({k: v for k, v in report.items() if k != "distributions"}, indent=1))


@cli.command()
@work_option
@out_option
def package(work: Path, out: Path) -> None:
    """Tarball and .deb of the frozen app (Linux), plus its SBOM, into OUT."""
    folder = _folder(work)
    out.mkdir(parents=True, exist_ok=True)
    version = app_version()
    made = [build_tarball(folder, out, version)]
    made.append(build_deb(folder, out, version, work))
    sbom = out / f"cielo-{version}-sbom.cdx.json"
    sbom.write_bytes((folder / "sbom.cdx.json").read_bytes())
    made.append(sbom)
    for path in made:
        click.echo(f"{path}  {path.stat().st_size / 1e6:.1f} MB")


@cli.command()
@click.argument("private", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("public", type=click.Path(dir_okay=False, path_type=Path))
def keygen(private: Path, public: Path) -> None:
    """Create an Ed25519 signing key pair (encrypted with $CIELO_SIGNING_PASSPHRASE if set)."""
    generate_keys(private, public)
    click.echo(f"private key {private} (keep it offline); public key {public} (give it to IT)")


@cli.command()
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="Ed25519 private key (PEM).")
@out_option
def sign(key: Path, out: Path) -> None:
    """Write OUT/SHA256SUMS for every package in OUT and its detached signature."""
    click.echo(f"signed: {sign_release(out, key)}")


@cli.command("smoke")
@work_option
@out_option
def smoke_command(work: Path, out: Path) -> None:
    """Run the frozen app's checks; writes OUT/smoke.json, exits 1 if one fails."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cielo-smoke-") as scratch:
        report = smoke(_folder(work), Path(scratch))
    (out / "smoke.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    click.echo(json.dumps(report, indent=1))
    if not report["ok"]:
        raise SystemExit(1)


@cli.command()
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ed25519 private key; without it the release is left unsigned.")
@work_option
@out_option
@click.pass_context
def release(ctx: click.Context, key: Path | None, work: Path, out: Path) -> None:
    """freeze, package, smoke and sign, in that order; stops at the first failure."""
    ctx.invoke(freeze_command, work=work)
    _copy_report(work, out)
    ctx.invoke(package, work=work, out=out)
    ctx.invoke(smoke_command, work=work, out=out)
    if key:
        ctx.invoke(sign, key=key, out=out)


def _copy_report(work: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_FILE).write_bytes((work / "work" / REPORT_FILE).read_bytes())


@cli.command()
def lock() -> None:
    """Pin pyproject's dependencies and requirements-release.in, with hashes, into
    requirements-release.txt (needs uv and PyPI)."""
    subprocess.run(
        ["uv", "pip", "compile", str(ROOT / "pyproject.toml"), str(REQUIREMENTS),
         "--universal", "--generate-hashes", "--python-version", "3.11", "--no-header",
         "--output-file", str(LOCK)],
        check=True, cwd=ROOT,
    )


@cli.command()
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path),
              default=ROOT / "build" / "wheelhouse", show_default=True)
@click.option("--platform", "platforms", multiple=True,
              help="pip platform tags to fetch for another OS (e.g. win_amd64, "
                   "macosx_12_0_arm64); default: this machine's.")
def wheelhouse(dest: Path, platforms: tuple[str, ...]) -> None:
    """Download every pinned, hash-checked wheel into DEST, to carry to an air-gapped host."""
    cmd = [sys.executable, "-m", "pip", "download", "--require-hashes", "--only-binary=:all:",
           "--no-deps", "-r", str(LOCK), "-d", str(dest)]
    for tag in platforms:
        cmd += ["--platform", tag, "--python-version", "3.11"]
    subprocess.run(cmd, check=True)
    click.echo(f"wheelhouse: {dest} ({len(list(dest.glob('*.whl')))} wheels)")


if __name__ == "__main__":
    cli()
