#!/usr/bin/env bash
# Build GNU hello 2.10 (Debian's source package) under catbox, in three steps:
#
#   1. ./configure && make              -> exit 0, no violations, ./hello runs
#   2. make install  (prefix /usr/local) -> fails, violations under /usr/local,
#                                           nothing created in /usr/local
#   3. make install DESTDIR=<build>/image -> exit 0, no violations
#
# Usage: examples/hello-build.sh
#
# Environment:
#   CATBOX         path to a catbox binary (default: build target/release/catbox)
#   CATBOX_SHARED  the shared/ folder holding real-inputs/fetch-debian-source.sh
#                  (default: ../shared beside the repository)
#   KEEP=1         keep the temporary build directory
#
# Exit status: 0 when every expectation holds, 1 when one fails, 77 when the
# source package could not be downloaded (apt's download needs root).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
examples_init hello

canonicals() { grep -o '"canonical"[[:space:]]*:[[:space:]]*"[^"]*"' "$1" | sed 's/.*:[[:space:]]*"\(.*\)"$/\1/'; }
field() { sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\{0,1\}\([^",}]*\)"\{0,1\}.*/\1/p'; }
show_violations() {
    # one line per distinct violation, in order: operation path -> canonical
    # (errno) [xN when repeated]
    tr -d '\n' <"$1" | grep -o '{[^{}]*"operation"[^{}]*}' | while IFS= read -r v; do
        printf '%s %s -> %s (%s)\n' "$(field operation <<<"$v")" \
            "$(field path <<<"$v")" "$(field canonical <<<"$v")" "$(field errno <<<"$v")"
    done | awk '!($0 in n) { order[k++] = $0 } { n[$0]++ }
        END { for (i = 0; i < k; i++) printf "    %s%s\n", order[i], (n[order[i]] > 1 ? " x" n[order[i]] : "") }'
}
snapshot_usr_local() { find /usr/local -printf '%y %p\n' 2>/dev/null | LC_ALL=C sort; }

exec 3>&1 # the terminal, for lines printed while a step's output goes to its log
fetch_hello

locate_catbox

build=$tmp/build
unpack_hello "$build"
echo "  build dir: $build"

run_sandboxed() { # REPORT COMMAND...
    local report=$1; shift
    echo "  \$ catbox -w $build -w /tmp --report $report -- $*" >&3
    (cd "$tree" && "$catbox" -w "$build" -w /tmp --report "$report" -- "$@")
}

# ---------------------------------------------------------------------------
step "Step 1: ./configure && make under catbox"
r1=$tmp/step1.json
run_sandboxed "$r1" sh -c './configure && make' >"$tmp/step1.log" 2>&1
rc=$?
tail -n 5 "$tmp/step1.log" | sed 's/^/  | /'
if [ "$rc" -eq 0 ]; then ok "step 1: configure && make exited 0"; else
    sed 's/^/  | /' "$tmp/step1.log" | tail -n 40
    fail "step 1: configure && make exited $rc (expected 0)"
fi
if [ ! -f "$r1" ]; then
    fail "step 1: no report written"
else
    n=$(count_violations "$r1")
    if [ "$n" -eq 0 ]; then ok "step 1: no violations"; else
        show_violations "$r1"
        fail "step 1: $n violation(s) (expected none)"
    fi
fi
if out=$("$tree/hello" 2>&1) && [ "$out" = "Hello, world!" ]; then
    ok "step 1: the built ./hello prints 'Hello, world!'"
else
    fail "step 1: ./hello did not print 'Hello, world!' (got: ${out:-nothing})"
fi

# ---------------------------------------------------------------------------
step "Step 2: make install (prefix /usr/local, no DESTDIR) under catbox: must be denied"
before=$tmp/usr-local.before
after=$tmp/usr-local.after
snapshot_usr_local >"$before"
r2=$tmp/step2.json
run_sandboxed "$r2" make install >"$tmp/step2.log" 2>&1
rc=$?
snapshot_usr_local >"$after"
tail -n 8 "$tmp/step2.log" | sed 's/^/  | /'
if [ "$rc" -ne 0 ]; then ok "step 2: make install failed (exit $rc)"; else
    fail "step 2: make install exited 0 (expected a failure)"
fi
if [ ! -f "$r2" ]; then
    fail "step 2: no report written"
else
    n=$(count_violations "$r2")
    echo "  violations recorded: $n"
    show_violations "$r2"
    outside=$(canonicals "$r2" | grep -cv '^/usr/local\(/\|$\)')
    under=$(canonicals "$r2" | grep -c '^/usr/local\(/\|$\)')
    if [ "$under" -gt 0 ]; then ok "step 2: $under violation(s) name paths under /usr/local"; else
        fail "step 2: no violation names a path under /usr/local"
    fi
    if [ "$outside" -eq 0 ]; then ok "step 2: no violation outside /usr/local"; else
        fail "step 2: $outside violation(s) name paths outside /usr/local"
    fi
fi
if cmp -s "$before" "$after"; then ok "step 2: nothing was created or removed in /usr/local"; else
    diff "$before" "$after" | sed 's/^/  | /'
    fail "step 2: /usr/local changed"
    # Undo what escaped, deepest first, so a broken sandbox leaves no litter.
    LC_ALL=C comm -13 "$before" "$after" | cut -c3- | LC_ALL=C sort -r | while IFS= read -r p; do
        rm -f "$p" 2>/dev/null || rmdir "$p" 2>/dev/null
        echo "  removed $p"
    done
fi

# ---------------------------------------------------------------------------
step "Step 3: make install DESTDIR=$build/image under catbox"
r3=$tmp/step3.json
run_sandboxed "$r3" make install "DESTDIR=$build/image" >"$tmp/step3.log" 2>&1
rc=$?
tail -n 3 "$tmp/step3.log" | sed 's/^/  | /'
if [ "$rc" -eq 0 ]; then ok "step 3: make install DESTDIR=... exited 0"; else
    sed 's/^/  | /' "$tmp/step3.log" | tail -n 40
    fail "step 3: make install DESTDIR=... exited $rc (expected 0)"
fi
if [ ! -f "$r3" ]; then
    fail "step 3: no report written"
else
    n=$(count_violations "$r3")
    if [ "$n" -eq 0 ]; then ok "step 3: no violations"; else
        show_violations "$r3"
        fail "step 3: $n violation(s) (expected none)"
    fi
fi
if [ -x "$build/image/usr/local/bin/hello" ]; then
    ok "step 3: installed $build/image/usr/local/bin/hello"
else
    fail "step 3: $build/image/usr/local/bin/hello is missing"
fi

# ---------------------------------------------------------------------------
summary hello-build "GNU hello built under catbox; the install outside the build dir was denied."
