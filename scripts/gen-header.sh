#!/usr/bin/env bash
# Regenerate include/catbox.h from catbox-ffi with cbindgen.
#
#   scripts/gen-header.sh          write include/catbox.h
#   scripts/gen-header.sh --check  fail (exit 1) if the committed header differs
#
# CI pins the cbindgen version (CBINDGEN_VERSION below): other versions may
# format the header differently.
set -euo pipefail
CBINDGEN_VERSION=0.29.4
cd "$(dirname "$0")/.."

if ! command -v cbindgen >/dev/null; then
    echo "cbindgen not found: cargo install cbindgen --locked --version $CBINDGEN_VERSION" >&2
    exit 2
fi
have=$(cbindgen --version | awk '{print $2}')
if [ "$have" != "$CBINDGEN_VERSION" ]; then
    echo "warning: cbindgen $have, the header is pinned to $CBINDGEN_VERSION" >&2
fi

generate() {
    cbindgen --quiet --config catbox-ffi/cbindgen.toml --crate catbox-ffi --output "$1" catbox-ffi
}

if [ "${1:-}" = "--check" ]; then
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    generate "$tmp"
    if ! diff -u include/catbox.h "$tmp"; then
        echo "include/catbox.h is out of date: run scripts/gen-header.sh and commit it" >&2
        exit 1
    fi
    echo "include/catbox.h is up to date"
else
    generate include/catbox.h
    echo "wrote include/catbox.h"
fi
