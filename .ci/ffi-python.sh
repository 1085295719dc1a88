#!/usr/bin/env bash
# CI for the C library (catbox-ffi) and the Python package (bindings/python).
# Runs after the Rust tests, as root on a fresh Debian machine with Rust,
# Python 3 and pip; installs what else it needs.
#
#   bash .ci/ffi-python.sh
#
# Stages: packages; the header is up to date (pinned cbindgen); exported
# symbols are catbox_* only and cover the header; the C tests (native, ASan,
# valgrind); install into a prefix and build the C example with pkg-config
# and -Wall -Wextra -Werror (shared and static), run it with and without
# --image (the root view); pip install the Python
# package into a venv and run pytest; GNU hello's `make install` under the C
# example and the `catbox` command give the same violations (skipped, saying
# so, when the source cannot be downloaded).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
started=$SECONDS
CBINDGEN_VERSION=0.29.4
target=${CARGO_TARGET_DIR:-$repo/target}
case $target in /*) ;; *) target=$repo/$target ;; esac
work=$(mktemp -d /tmp/catbox-ffi-ci.XXXXXX)
trap 'rm -rf "$work"' EXIT

section() {
    printf '\n=== %s (+%ds) ===\n' "$*" "$((SECONDS - started))"
}

export CARGO_TERM_COLOR=never
export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------------------
section "Packages"
packages=(valgrind pkg-config gcc libc6-dev make binutils python3-venv)
if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    echo "installed: ${packages[*]}"
else
    echo "not root: skipping apt-get (need: ${packages[*]})"
fi
if [ "$(cbindgen --version 2>/dev/null | awk '{print $2}')" != "$CBINDGEN_VERSION" ]; then
    cargo install cbindgen --locked --version "$CBINDGEN_VERSION"
fi
cbindgen --version

# ---------------------------------------------------------------------------
section "include/catbox.h is generated from the current sources"
scripts/gen-header.sh --check

# ---------------------------------------------------------------------------
section "Build (release): libcatbox and the catbox command"
cargo build --release -p catbox-ffi -p catbox
so=$target/release/libcatbox.so
ls -l "$so" "$target/release/libcatbox.a"

# ---------------------------------------------------------------------------
section "Exported symbols: catbox_* only, and every function of the header"
nm -D --defined-only "$so" | awk '{print $3}' | sort >"$work/exported"
if grep -v '^catbox_' "$work/exported"; then
    echo "FAIL: libcatbox.so exports symbols other than catbox_* (above)" >&2
    exit 1
fi
grep -o '\bcatbox_[a-z_0-9]*(' include/catbox.h | tr -d '(' | sort -u >"$work/declared"
if ! diff -u "$work/declared" "$work/exported"; then
    echo "FAIL: the header's functions and the exported symbols differ" >&2
    exit 1
fi
echo "$(wc -l <"$work/exported") symbols, all catbox_*, all declared in include/catbox.h"

# ---------------------------------------------------------------------------
section "C tests (tests/c: native, AddressSanitizer, valgrind; header twice)"
cargo test -p catbox-ffi -- --nocapture

# ---------------------------------------------------------------------------
section "Install into a prefix; build the C example with pkg-config"
prefix=$work/prefix
CATBOX_NO_BUILD=1 CARGO_TARGET_DIR=$target scripts/install-c.sh "$prefix"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
echo "pkg-config: $(pkg-config --modversion catbox) $(pkg-config --cflags --libs catbox)"
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror examples/c/sandbox.c -o "$work/sandbox" \
    $(pkg-config --cflags --libs catbox) -Wl,-rpath,"$(pkg-config --variable=libdir catbox)"
# The static library, with the flags pkg-config gives for it.
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror examples/c/sandbox.c -o "$work/sandbox-static" \
    $(pkg-config --cflags catbox) -L"$prefix/lib" -Wl,-Bstatic -lcatbox -Wl,-Bdynamic \
    $(pkg-config --libs-only-l --static catbox | sed 's/-lcatbox//')
for exe in sandbox sandbox-static; do
    mkdir -p "$work/w"
    set +e
    "$work/$exe" "$work/w" sh -c "echo ok > $work/w/ok; echo no > /etc/catbox-ci-denied; exit 3" \
        2>"$work/$exe.err"
    st=$?
    set -e
    cat "$work/$exe.err"
    [ "$st" -eq 3 ] || { echo "FAIL: $exe exited $st, expected 3" >&2; exit 1; }
    grep -q '^catbox: violation: open[a-z]* "/etc/catbox-ci-denied" -> "/etc/catbox-ci-denied" (pid [0-9]*, EACCES)$' \
        "$work/$exe.err" || { echo "FAIL: $exe did not print the violation" >&2; exit 1; }
    [ -f "$work/w/ok" ] && [ ! -e /etc/catbox-ci-denied ] || { echo "FAIL: $exe writes" >&2; exit 1; }
    # The root view: a write outside the writable directory lands in the
    # image directory, not on the host.
    share=/usr/local/share/catbox-ci-$exe-$$
    mkdir -p "$work/w"
    set +e
    "$work/$exe" --image "$work/img" "$work/w" \
        sh -c "mkdir -p $share && echo hi > $share/f && echo ok > $work/w/direct" 2>"$work/$exe.err"
    st=$?
    set -e
    cat "$work/$exe.err"
    [ "$st" -eq 0 ] || { echo "FAIL: $exe --image exited $st, expected 0" >&2; exit 1; }
    grep -qx "catbox: image $work/img: 2 added, 0 modified, 0 removed" "$work/$exe.err" ||
        { echo "FAIL: $exe --image did not report the image" >&2; exit 1; }
    [ "$(cat "$work/img$share/f")" = hi ] && [ ! -e "$share" ] && [ -f "$work/w/direct" ] ||
        { echo "FAIL: $exe --image writes" >&2; exit 1; }
    rm -rf "$work/w" "$work/img"
done
set +e
"$work/sandbox" "$work" catbox-no-such-command 2>/dev/null
st=$?
set -e
[ "$st" -eq 127 ] || { echo "FAIL: missing command gave $st, expected 127" >&2; exit 1; }
echo "C example: ok (shared and static, with and without --image)"

# ---------------------------------------------------------------------------
section "Python: pip install ./bindings/python into a venv, pytest"
venv=$work/venv
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q pytest
CARGO_TARGET_DIR=$target "$venv/bin/pip" install -q "$repo/bindings/python"
(cd / && "$venv/bin/python" -c 'import catbox, sys; print("catbox", catbox.version(), "from", catbox.__file__); sys.exit(0 if "/venv/" in catbox.__file__ else 1)')
set +e
(cd "$work" && CATBOX_BIN=$target/release/catbox CATBOX_REPO=$repo CARGO_TARGET_DIR=$target \
    "$venv/bin/pytest" -p no:cacheprovider -rs "$repo/bindings/python/tests")
st=$?
set -e
case $st in
0) ;;
5) echo "FAIL: pytest collected no tests" >&2; exit 1 ;;
*) echo "FAIL: pytest exited $st" >&2; exit 1 ;;
esac

# ---------------------------------------------------------------------------
section "GNU hello: make install under the C example and under catbox"
tarball=""
for p in "${CATBOX_HELLO_TARBALL:-}" "$target/real-inputs/hello_2.10.orig.tar.gz" /tmp/hello-src/hello_2.10.orig.tar.gz; do
    if [ -n "$p" ] && [ -f "$p" ]; then tarball=$p; break; fi
done
fetch=${CATBOX_SHARED:-$repo/../shared}/real-inputs/fetch-debian-source.sh
if [ -z "$tarball" ] && [ -f "$fetch" ]; then
    if sh "$fetch" "$work/src" hello >/dev/null 2>&1 && [ -f "$work/src/hello_2.10.orig.tar.gz" ]; then
        mkdir -p "$target/real-inputs"
        cp "$work/src/hello_2.10.orig.tar.gz" "$target/real-inputs/"
        tarball=$target/real-inputs/hello_2.10.orig.tar.gz
    fi
fi
if [ -z "$tarball" ]; then
    echo "SKIPPED: could not download hello_2.10.orig.tar.gz (fetch-debian-source.sh failed or missing)"
else
    build=$work/hello
    mkdir -p "$build"
    tar -xzf "$tarball" -C "$build"
    (cd "$build/hello-2.10" && ./configure -q && make -s) >/dev/null 2>&1
    strip_pids() { grep '^catbox: violation: ' | sed 's/(pid [0-9]*, /(/'; }
    set +e
    (cd "$build/hello-2.10" && "$target/release/catbox" -w "$build" -- make install) >/dev/null 2>"$work/cli.err"
    cli_st=$?
    (cd "$build/hello-2.10" && "$work/sandbox" "$build" make install) >/dev/null 2>"$work/c.err"
    c_st=$?
    set -e
    strip_pids <"$work/cli.err" >"$work/cli.v"
    strip_pids <"$work/c.err" >"$work/c.v"
    echo "catbox command: exit $cli_st, $(wc -l <"$work/cli.v") violations; C example: exit $c_st, $(wc -l <"$work/c.v") violations"
    [ -s "$work/cli.v" ] || { echo "FAIL: the catbox command reported no violation" >&2; exit 1; }
    diff -u "$work/cli.v" "$work/c.v" || { echo "FAIL: the C example's violations differ" >&2; exit 1; }
    [ "$cli_st" -eq "$c_st" ] || { echo "FAIL: exit $c_st, catbox gave $cli_st" >&2; exit 1; }
    head -n 3 "$work/c.v"
    echo "same violations (the Python example is compared by the pytest suite)"
fi

section "ffi-python: all passed"
