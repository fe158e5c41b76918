#!/usr/bin/env bash
# Sign Cielo.app with a Developer ID (hardened runtime, secure timestamp), notarize it with
# Apple, staple the ticket and check it with Gatekeeper. Run on macOS with Xcode's tools:
#
#   NOTARY_PROFILE=cielo-notary packaging/macos/sign-and-notarize.sh \
#       build/freeze/dist/Cielo.app "Developer ID Application: Name (TEAMID)"
#
# NOTARY_PROFILE names credentials saved once with `xcrun notarytool store-credentials`.
# Code is signed from the inside out (libraries and executables deepest first, then .framework
# bundles, then the app); entitlements.plist goes on executables only, as libraries inherit
# their host's (Apple, "Hardened Runtime").
set -euo pipefail

usage() {
    echo "usage: NOTARY_PROFILE=PROFILE $0 APP IDENTITY" >&2
    echo "  APP       path to Cielo.app" >&2
    echo "  IDENTITY  codesign identity, \"Developer ID Application: ...\"" >&2
    exit 2
}
[[ $# -eq 2 && -n $1 && -n $2 ]] || usage
APP=${1%/}
IDENTITY=$2
[[ -n ${NOTARY_PROFILE:-} ]] || { echo "NOTARY_PROFILE is not set" >&2; usage; }
[[ -d $APP/Contents/MacOS ]] || { echo "not an app bundle: $APP" >&2; exit 2; }
ENTITLEMENTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/entitlements.plist"

sign() {  # sign PATH [extra codesign options...]
    local path=$1
    shift
    codesign --force --options runtime --timestamp --sign "$IDENTITY" "$@" "$path"
}

deepest_first() {  # paths on stdin, one a line, most path components first
    awk -F/ '{ print NF "\t" $0 }' | sort -t $'\t' -k1,1nr -k2 | cut -f2-
}

# 1. Every Mach-O file (.so, .dylib, framework binaries, executables); symlinks are skipped,
#    PyInstaller's bundle cross-links Contents/Resources and Contents/Frameworks with them.
echo "signing Mach-O files in $APP"
count=0
while IFS= read -r path; do
    kind=$(file -b "$path")
    [[ $kind == *Mach-O* ]] || continue
    if [[ $kind == *executable* ]]; then
        sign "$path" --entitlements "$ENTITLEMENTS"
    else
        sign "$path"
    fi
    count=$((count + 1))
done < <(find "$APP/Contents" -type f | deepest_first)
echo "signed $count Mach-O files"

# 2. .framework bundles (Qt, Python), deepest first, so their resources are sealed.
while IFS= read -r framework; do
    sign "$framework"
done < <(find "$APP/Contents" -type d -name '*.framework' | deepest_first)

# 3. The app itself (its main executable gets the entitlements), then a strict check.
sign "$APP" --entitlements "$ENTITLEMENTS"
codesign --verify --deep --strict --verbose=2 "$APP"

# 4. Notarize a zip of the app. `notarytool submit --wait` exits 0 even when Apple answers
#    "Invalid" (electron/notarize#173), so the status in its JSON answer is checked.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
zip="$work/$(basename "$APP" .app).zip"
ditto -c -k --keepParent "$APP" "$zip"
answer=$(xcrun notarytool submit "$zip" --keychain-profile "$NOTARY_PROFILE" --wait \
    --output-format json)
echo "$answer"
status=$(sed -n 's/.*"status" *: *"\([^"]*\)".*/\1/p' <<<"$answer" | tail -n 1)
if [[ $status != Accepted ]]; then
    id=$(sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p' <<<"$answer" | tail -n 1)
    echo "notarization failed (status: ${status:-unknown})" >&2
    [[ -z $id ]] || xcrun notarytool log "$id" --keychain-profile "$NOTARY_PROFILE" >&2 || true
    exit 1
fi

# 5. Staple the ticket (Gatekeeper then needs no network) and assess the result.
xcrun stapler staple "$APP"
xcrun stapler validate "$APP"
spctl --assess --type execute -vv "$APP"
echo "signed, notarized and stapled: $APP"
