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

msg_fd=2 # stdout is the report of `catbox deps`
. "$(dirname "$0")/lib.sh"
examples_init deps
fetch_hello
locate_catbox

build=$tmp/build
unpack_hello "$build"
echo "\$ catbox -w $build -w /tmp --trace trace.jsonl -- sh -c './configure && make'" >&2
if ! (cd "$tree" && "$catbox" -w "$build" -w /tmp --trace "$tmp/trace.jsonl" \
    -- sh -c './configure && make') >"$tmp/build.log" 2>&1; then
    tail -n 20 "$tmp/build.log" >&2
    echo "FAIL: the build failed" >&2
    exit 1
fi
echo "\$ catbox deps trace.jsonl --build-dir $build $*" >&2
"$catbox" deps "$tmp/trace.jsonl" --build-dir "$build" "$@"
