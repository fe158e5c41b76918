#!/usr/bin/env bash
# Authenticode-sign a Windows executable (the NSIS installer, or cielo.exe) on a Linux
# signing host with osslsigncode (Debian package `osslsigncode`), then verify it.
#
#   CIELO_PFX_PASSWORD=... packaging/windows/sign-authenticode.sh IN.exe OUT.exe CERT.p12
#
# Optional: TIMESTAMP_URL (an RFC 3161 server your signing host can reach; without it the
# signature has no timestamp and expires with the certificate), CIELO_CA_FILE (PEM of the
# issuing CA, to verify against a private or test CA).
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 IN.exe OUT.exe CERT.p12   (password in \$CIELO_PFX_PASSWORD)" >&2
  exit 2
fi
in=$1 out=$2 cert=$3
: "${CIELO_PFX_PASSWORD:?set CIELO_PFX_PASSWORD to the certificate password}"

passfile=$(mktemp)  # the password never appears on a command line (ps would show it)
trap 'rm -f "$passfile"' EXIT
chmod 600 "$passfile"
printf '%s' "$CIELO_PFX_PASSWORD" > "$passfile"

timestamp=()
if [ -n "${TIMESTAMP_URL:-}" ]; then
  timestamp=(-ts "$TIMESTAMP_URL")
fi
osslsigncode sign -pkcs12 "$cert" -readpass "$passfile" -h sha256 \
  -n "Cielo" "${timestamp[@]}" -in "$in" -out "$out"

ca=()
if [ -n "${CIELO_CA_FILE:-}" ]; then
  ca=(-CAfile "$CIELO_CA_FILE")
fi
osslsigncode verify "${ca[@]}" -in "$out"
