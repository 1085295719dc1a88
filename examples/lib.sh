# Shared by the example scripts (source it after `set -uo pipefail`):
#
#   examples_init NAME    paths ($here $repo $shared $fetch $target_dir $cache),
#                         a temporary directory $tmp (kept with KEEP=1),
#                         step/ok/fail and the pass/fail lists
#   fetch_hello           $tarball: GNU hello 2.10 from Debian's source packages,
#                         cached in target/real-inputs/; exit 77 when the
#                         download failed
#   locate_catbox         $catbox: $CATBOX, or a release build of this repository
#   unpack_hello DIR      $tree: a fresh hello-2.10 tree unpacked under DIR
#   count_violations REPORT   violations in a JSON report (no python or jq)
#   summary NAME MESSAGE  the failures, MESSAGE if none, the counts; exit 1 on
#                         a failure
#
# Messages go to fd $msg_fd: 1, or 2 for a script whose stdout is data.

tarball_name=hello_2.10.orig.tar.gz
failures=()
passes=()
msg_fd=${msg_fd:-1}

say() { echo "$@" >&"$msg_fd"; }
step() { printf '\n==== %s ====\n' "$*" >&"$msg_fd"; }
ok() { say "  ok: $*"; passes+=("$*"); }
fail() { say "  FAIL: $*"; failures+=("$*"); }

# Every violation object of a report has exactly one "operation" key.
count_violations() { grep -o '"operation"[[:space:]]*:' "$1" | wc -l; }

examples_init() {
    here=$(cd "$(dirname "$0")" && pwd)
    repo=$(cd "$here/.." && pwd)
    shared=${CATBOX_SHARED:-$here/../../shared}
    fetch=$shared/real-inputs/fetch-debian-source.sh
    target_dir=${CARGO_TARGET_DIR:-$repo/target}
    cache=$target_dir/real-inputs
    tmp=$(mktemp -d "/tmp/catbox-$1.XXXXXX")
    chmod 755 "$tmp"
    trap 'if [ "${KEEP:-0}" = 1 ]; then say "(kept $tmp)"; else rm -rf "$tmp"; fi' EXIT
}

fetch_hello() {
    step "Fetching GNU hello 2.10 (Debian source package)"
    if [ -f "$cache/$tarball_name" ]; then
        tarball=$cache/$tarball_name
        say "  using cached $tarball"
    elif [ ! -f "$fetch" ]; then
        say "SKIP: download failed: fetch script not found at $fetch (set CATBOX_SHARED)"
        exit 77
    elif ! sh "$fetch" "$tmp/src" hello >"$tmp/fetch.log" 2>&1 || [ ! -f "$tmp/src/$tarball_name" ]; then
        sed 's/^/  | /' "$tmp/fetch.log" >&"$msg_fd"
        say "SKIP: download failed: could not fetch GNU hello with $fetch (apt's download needs root and a Debian mirror)"
        exit 77
    else
        tarball=$tmp/src/$tarball_name
        say "  downloaded $tarball"
        # keep a copy for the next run and for the integration tests
        if mkdir -p "$cache" 2>/dev/null && cp "$tarball" "$cache/.$tarball_name.$$" 2>/dev/null; then
            mv -f "$cache/.$tarball_name.$$" "$cache/$tarball_name"
        fi
    fi
}

locate_catbox() {
    step "Locating catbox"
    if [ -n "${CATBOX:-}" ]; then
        catbox=$CATBOX
        [ -x "$catbox" ] || { say "  CATBOX=$catbox is not an executable"; exit 1; }
    else
        say "  cargo build --release --bin catbox"
        if ! (cd "$repo" && cargo build --release --quiet --bin catbox); then
            say "  could not build catbox"
            exit 1
        fi
        catbox=$target_dir/release/catbox
    fi
    say "  catbox: $catbox"
}

unpack_hello() {
    mkdir -p "$1"
    tar -xzf "$tarball" -C "$1"
    tree=$1/hello-2.10
    [ -d "$tree" ] || { say "  unpacking did not give $tree"; exit 1; }
}

summary() {
    step "Summary"
    local f
    for f in "${failures[@]}"; do say "  FAILED: $f"; done
    if [ "${#failures[@]}" -eq 0 ]; then say "  $2"; fi
    say "$1: ${#passes[@]} passed, ${#failures[@]} failed"
    [ "${#failures[@]}" -eq 0 ] || exit 1
}
