#!/usr/bin/env bash
# What does building GNU hello really depend on? Build it under
# `catbox --trace`, then ask `catbox deps`: the files it read outside its
# build directory grouped by Debian package, the programs it ran, and what it
# wrote.
#
# Usage: examples/hello-deps.sh [--format json]
#
# Environment: CATBOX (a catbox binary; default: build target/release/catbox),
# CATBOX_SHARED (the shared/ folder with real-inputs/), KEEP=1 (keep the
# temporary directory). Exit status: 0 on success, 1 on a failure, 77 when
# GNU hello could not be downloaded.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
shared=${CATBOX_SHARED:-$here/../../shared}
fetch=$shared/real-inputs/fetch-debian-source.sh
target_dir=${CARGO_TARGET_DIR:-$repo/target}
cache=$target_dir/real-inputs
tarball_name=hello_2.10.orig.tar.gz

tmp=$(mktemp -d /tmp/catbox-deps.XXXXXX)
chmod 755 "$tmp"
trap '[ "${KEEP:-0}" = 1 ] && echo "(kept $tmp)" >&2 || rm -rf "$tmp"' EXIT

if [ -f "$cache/$tarball_name" ]; then
    tarball=$cache/$tarball_name
elif [ -f "$fetch" ] && sh "$fetch" "$tmp/src" hello >"$tmp/fetch.log" 2>&1 && [ -f "$tmp/src/$tarball_name" ]; then
    tarball=$tmp/src/$tarball_name
    mkdir -p "$cache" 2>/dev/null && cp "$tarball" "$cache/$tarball_name" 2>/dev/null
else
    echo "SKIP: download failed: could not fetch GNU hello with $fetch" >&2
    exit 77
fi

if [ -n "${CATBOX:-}" ]; then
    catbox=$CATBOX
else
    (cd "$repo" && cargo build --release --quiet --bin catbox) || exit 1
    catbox=$target_dir/release/catbox
fi

build=$tmp/build
mkdir -p "$build" && tar -xzf "$tarball" -C "$build" || exit 1
echo "\$ catbox -w $build -w /tmp --trace trace.jsonl -- sh -c './configure && make'" >&2
if ! (cd "$build/hello-2.10" && "$catbox" -w "$build" -w /tmp --trace "$tmp/trace.jsonl" \
    -- sh -c './configure && make') >"$tmp/build.log" 2>&1; then
    tail -n 20 "$tmp/build.log" >&2
    echo "FAIL: the build failed" >&2
    exit 1
fi
echo "\$ catbox deps trace.jsonl --build-dir $build $*" >&2
"$catbox" deps "$tmp/trace.jsonl" --build-dir "$build" "$@"
