#!/usr/bin/env bash
# Build and package GNU hello 2.10 (Debian's source package) with catbox's
# fakeroot mode, as a normal user: the package gets root-owned files, a
# setuid binary and a device node, and nothing on disk is really owned by
# root.
#
#   1. ./configure --prefix=/usr   \
#   2. make                         > three catbox runs sharing one
#   3. make install DESTDIR=$D     /  --fakeroot-state file
#   4. chown -R root:root $D; chown 2:2 (the man page); chmod 4755 (hello);
#      mknod $D/dev/null c 1 3     -> with --manifest M --manifest-root $D
#   5. bsdtar -cf pkg.tar @M; tar -tvf pkg.tar shows root/root, 2/2,
#      -rwsr-xr-x and the device node
#   6. ls -l inside catbox shows the faked owners; outside, the files belong
#      to you and dev/null is an empty regular file
#
# Usage: examples/fakeroot-hello.sh
#
# Environment:
#   CATBOX         path to a catbox binary (default: build target/release/catbox)
#   CATBOX_SHARED  the shared/ folder holding real-inputs/fetch-debian-source.sh
#                  (default: ../shared beside the repository)
#   KEEP=1         keep the temporary build directory
#
# Needs bsdtar (Debian: libarchive-tools) and GNU tar.
#
# Exit status: 0 when every expectation holds, 1 when one fails, 77 when the
# source package could not be downloaded or bsdtar is missing.
set -uo pipefail

. "$(dirname "$0")/lib.sh"
examples_init fakeroot-hello

exec 3>&1 # the terminal, for lines printed while a step's output goes to its log
fetch_hello

if ! command -v bsdtar >/dev/null 2>&1; then
    echo "SKIP: bsdtar is not installed (Debian: apt-get install libarchive-tools)"
    exit 77
fi

locate_catbox
echo "  running as: $(id -un) (uid $(id -u))"

build=$tmp/build
unpack_hello "$build"
D=$build/image
state=$tmp/fakeroot.state
manifest=$tmp/hello.mtree
man=usr/share/man/man1/hello.1
echo "  build dir: $build"
echo "  DESTDIR:   $D"
echo "  state:     $state"

run_fake() { # REPORT [CATBOX OPTIONS...] -- COMMAND...
    local report=$1; shift
    echo "  \$ catbox -w $build -w /tmp --fakeroot-state $state --report $report $*" >&3
    (cd "$tree" && "$catbox" -w "$build" -w /tmp --fakeroot-state "$state" --report "$report" "$@")
}

build_step() { # NUMBER NAME COMMAND
    local n=$1 name=$2 cmd=$3 report=$tmp/step$1.json rc nv
    step "Step $n: $name (catbox --fakeroot-state)"
    run_fake "$report" -- sh -c "$cmd" >"$tmp/step$n.log" 2>&1
    rc=$?
    tail -n 3 "$tmp/step$n.log" | sed 's/^/  | /'
    if [ "$rc" -eq 0 ]; then ok "step $n: $name exited 0"; else
        tail -n 40 "$tmp/step$n.log" | sed 's/^/  | /'
        fail "step $n: $name exited $rc (expected 0)"
    fi
    if [ ! -f "$report" ]; then fail "step $n: no report written"; else
        nv=$(count_violations "$report")
        if [ "$nv" -eq 0 ]; then ok "step $n: no violations"; else
            fail "step $n: $nv violation(s) (expected none)"
        fi
    fi
}

# ---------------------------------------------------------------------------
build_step 1 "./configure --prefix=/usr" "./configure --prefix=/usr"
build_step 2 "make" "make"
build_step 3 "make install DESTDIR=\$D" "make install DESTDIR='$D'"
if [ -x "$D/usr/bin/hello" ] && [ -f "$D/$man" ]; then
    ok "step 3: usr/bin/hello and $man installed"
else
    fail "step 3: usr/bin/hello or $man missing under $D"
fi
if [ -f "$state" ]; then ok "the state file was saved"; else fail "no state file at $state"; fi

# ---------------------------------------------------------------------------
step "Step 4: root ownership, a setuid binary and a device node, with a manifest"
r4=$tmp/step4.json
run_fake "$r4" --manifest "$manifest" --manifest-root "$D" -- sh -c "
    chown -R root:root '$D' &&
    chown 2:2 '$D/$man' &&
    chmod 4755 '$D/usr/bin/hello' &&
    mkdir -p '$D/dev' && mknod '$D/dev/null' c 1 3" >"$tmp/step4.log" 2>&1
rc=$?
sed 's/^/  | /' "$tmp/step4.log"
if [ "$rc" -eq 0 ]; then ok "step 4: exited 0"; else fail "step 4: exited $rc (expected 0)"; fi
if [ -f "$r4" ] && [ "$(count_violations "$r4")" -eq 0 ]; then ok "step 4: no violations"; else
    fail "step 4: violations or no report"
fi
if [ -s "$manifest" ]; then
    ok "step 4: manifest written ($(grep -vc '^#' "$manifest") entries)"
    grep -E '^\./(usr/bin/hello|dev/null|usr/share/man/man1/hello\.1) ' "$manifest" | sed 's/^/  | /'
else
    fail "step 4: no manifest at $manifest"
fi

# ---------------------------------------------------------------------------
step "Step 5: bsdtar -cf pkg.tar @manifest, then tar -tvf (as $(id -un))"
pkg=$tmp/pkg.tar
if bsdtar -cf "$pkg" "@$manifest" 2>"$tmp/bsdtar.log"; then ok "step 5: bsdtar built $pkg"; else
    sed 's/^/  | /' "$tmp/bsdtar.log"
    fail "step 5: bsdtar failed"
fi
tar -tvf "$pkg" >"$tmp/listing" 2>&1
grep -E ' \./(usr/bin/hello|dev/null|usr/share/man/man1/hello\.1)$' "$tmp/listing" | sed 's/^/  | /'
entry() { grep -E " \./$1\$" "$tmp/listing"; }
if entry usr/bin/hello | grep -q '^-rwsr-xr-x root/root '; then
    ok "step 5: usr/bin/hello is -rwsr-xr-x root/root"
else
    fail "step 5: usr/bin/hello is not -rwsr-xr-x root/root: $(entry usr/bin/hello)"
fi
if entry "$man" | grep -q '^-[^ ]* 2/2 '; then ok "step 5: $man is owned by 2/2"; else
    fail "step 5: $man is not 2/2: $(entry "$man")"
fi
if entry dev/null | grep -Eq '^crw[^ ]* root/root +1,3 '; then
    ok "step 5: dev/null is a character device 1,3 owned by root/root"
else
    fail "step 5: dev/null is not crw... root/root 1,3: $(entry dev/null)"
fi
others=$(grep -v " \./$man\$" "$tmp/listing" | grep -vc ' root/root ')
if [ "$others" -eq 0 ]; then ok "step 5: every other entry is root/root"; else
    fail "step 5: $others other entries are not root/root"
fi

# ---------------------------------------------------------------------------
step "Step 6: ls -l inside catbox, and outside"
r6=$tmp/step6.json
inside=$(run_fake "$r6" -- ls -l "$D/usr/bin/hello" "$D/dev/null" 2>&1)
sed 's/^/  inside  | /' <<<"$inside"
if grep -q '^-rwsr-xr-x .* root root .*/usr/bin/hello$' <<<"$inside" &&
    grep -q '^crw.* root root *1, *3 .*/dev/null$' <<<"$inside"; then
    ok "step 6: inside, ls -l shows root root, the setuid bit and the device"
else
    fail "step 6: inside, ls -l does not show the faked owners"
fi
ls -ln "$D/usr/bin/hello" "$D/dev/null" | sed 's/^/  outside | /'
me=$(id -u)
not_mine=$(find "$D" ! -user "$me" | wc -l)
if [ "$not_mine" -eq 0 ]; then ok "step 6: outside, every file of \$D belongs to uid $me"; else
    fail "step 6: outside, $not_mine file(s) of \$D do not belong to uid $me"
fi
if [ -f "$D/dev/null" ] && [ ! -s "$D/dev/null" ]; then
    ok "step 6: outside, dev/null is an empty regular file"
else
    fail "step 6: outside, dev/null is not an empty regular file"
fi

# ---------------------------------------------------------------------------
summary fakeroot-hello "GNU hello packaged with root-owned files, a setuid binary and /dev/null, without root."
