#!/usr/bin/env bash
# Build Cielo's macOS release: a fresh venv with the pinned, hash-checked build inputs, the
# PyInstaller app (build/freeze/dist/Cielo.app), optionally signed and notarized, and the disk
# image build/release/Cielo-VERSION.dmg. Run from anywhere on a Mac:
#
#   packaging/macos/build.sh
#
# Environment (all optional):
#   PYTHON          interpreter for the venv (default python3; the lock is for Python 3.11)
#   WHEELHOUSE      folder of wheels from `make.py wheelhouse`: install offline from it only
#   IDENTITY        "Developer ID Application: ..." to sign and notarize (needs NOTARY_PROFILE,
#                   see sign-and-notarize.sh); without it the app keeps PyInstaller's ad-hoc
#                   signature and Gatekeeper will block it on other Macs
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
VENV=build/venv-macos
PY=$VENV/bin/python

# 1. A clean virtual environment.
"${PYTHON:-python3}" -m venv --clear "$VENV"

# 2. Exactly the pinned build inputs, each checked against its hash in the lock file.
offline=()
if [[ -n ${WHEELHOUSE:-} ]]; then
    offline=(--no-index --find-links "$WHEELHOUSE")
fi
# (`${offline[@]+...}`: an empty array under `set -u` is an error in macOS's bash 3.2)
"$PY" -m pip install ${offline[@]+"${offline[@]}"} --require-hashes --no-deps \
    -r packaging/requirements-release.txt

# 3. The one-folder app and Cielo.app (PyInstaller, packaging/cielo.spec).
"$PY" packaging/make.py freeze
APP=build/freeze/dist/Cielo.app
[[ -d $APP ]] || { echo "no $APP after the freeze" >&2; exit 1; }

# 4. Developer ID signature, notarization and stapled ticket, when an identity is given.
if [[ -n ${IDENTITY:-} ]]; then
    packaging/macos/sign-and-notarize.sh "$APP" "$IDENTITY"
else
    echo "IDENTITY not set: Cielo.app is not signed for distribution" >&2
fi

# 5. The compressed disk image.
VERSION=$("$PY" -c "import app; print(app.__version__)")
mkdir -p build/release
hdiutil create -volname Cielo -srcfolder "$APP" -ov -format UDZO \
    "build/release/Cielo-$VERSION.dmg"
echo "built build/release/Cielo-$VERSION.dmg"
