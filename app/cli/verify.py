"""``cielo verify``: check the installed resources, or a downloaded release, offline."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.common import echo_json, handle_errors, json_option
from app.integrity import check_resources
from app.paths import resources_dir
from app.release import verify_release


@click.command()
@click.argument(
    "release", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The release's Ed25519 public key (PEM), obtained from your vendor out of band.",
)
@json_option
@handle_errors
def verify(release: Path | None, key: Path | None, as_json: bool) -> None:
    """Check files against their SHA-256 (and a release's signature); exit 1 on any failure.

    Without RELEASE: the installed resources (models, index, catalog sources) against
    resources/manifest.json, as every start does. With RELEASE, a folder holding downloaded
    packages with SHA256SUMS and SHA256SUMS.sig: the signature with --key, then every file.

    Example: cielo verify ~/Descargas/cielo-0.1.0 --key cielo-release.pub
    """
    if release is None:
        root = resources_dir()
        checked, findings = check_resources(root)
        failed = {f.path: f.problem for f in findings}
        rows = [(name, failed.get(name, "ok")) for name in checked]
        rows += [(f.path, f.problem) for f in findings if f.path not in checked]
        subject = f"resources {root}"
    else:
        if key is None:
            raise click.UsageError("verifying a release needs its public key: --key FILE")
        rows = [(c.name, c.status) for c in verify_release(release, key)]
        subject = f"release {release} (signature ok)"
    bad = [(name, status) for name, status in rows if status != "ok"]
    if as_json:
        echo_json({"subject": subject, "ok": not bad,
                   "files": [{"name": n, "status": s} for n, s in rows]})
    else:
        for name, status in rows:
            click.echo(f"{'OK' if status == 'ok' else 'FAILED':<7}{name}"
                       + ("" if status == "ok" else f" ({status})"))
        click.echo(f"{subject}: {len(rows) - len(bad)} of {len(rows)} files ok", err=True)
    if bad:
        raise SystemExit(1)
