#!/usr/bin/env bash
# The root view (catbox --image DIR): build GNU hello 2.10 (Debian's source
# package) and install it as if into /, with no DESTDIR:
#
#   catbox -w <build dir> -w /tmp --image DIR -- \
#       sh -c './configure --prefix=/usr && make && make install && /usr/bin/hello --version'
#
# Expected: exit 0, no violations; DIR holds usr/bin/hello and its man and
# info pages; the host's /usr/bin/hello is as it was (absent unless the hello
# package is installed); the installed /usr/bin/hello ran in the same run.
#
# Usage: examples/image-hello.sh
#
# Environment:
#   CATBOX         path to a catbox binary (default: build target/release/catbox)
#   CATBOX_SHARED  the shared/ folder holding real-inputs/fetch-debian-source.sh
#                  (default: ../shared beside the repository)
#   KEEP=1         keep the temporary directory (build tree, image, report)
#
# Exit status: 0 when every expectation holds, 1 when one fails, 77 when the
# source package could not be downloaded (apt's download needs root).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
examples_init image-hello
installed=(usr/bin/hello usr/share/man/man1/hello.1 usr/share/info/hello.info)

# The paths of report.image.KEY, one a line.
image_list() {
    tr -d '\n' <"$1" | grep -o "\"$2\"[[:space:]]*:[[:space:]]*\[[^]]*\]" |
        grep -o '"/[^"]*"' | tr -d '"'
}
host_state() { stat -c '%F %s %Y %i' "/$1" 2>/dev/null || echo absent; }

fetch_hello

locate_catbox

build=$tmp/build
image=$tmp/image
report=$tmp/report.json
unpack_hello "$build"
echo "  build dir: $build"
echo "  image dir: $image"

# ---------------------------------------------------------------------------
step "configure --prefix=/usr && make && make install (no DESTDIR) in the root view"
declare -A before
for f in "${installed[@]}"; do before[$f]=$(host_state "$f"); done
script='./configure --prefix=/usr && make && make install && /usr/bin/hello --version'
echo "  \$ catbox -w $build -w /tmp --image $image --report $report -- sh -c '$script'"
(cd "$tree" && "$catbox" -w "$build" -w /tmp --image "$image" --report "$report" \
    -- sh -c "$script") >"$tmp/build.log" 2>&1
rc=$?
tail -n 4 "$tmp/build.log" | sed 's/^/  | /'
if [ "$rc" -eq 0 ]; then ok "the build and install exited 0"; else
    sed 's/^/  | /' "$tmp/build.log" | tail -n 40
    fail "the build exited $rc (expected 0)"
fi
if grep -qx 'hello (GNU Hello) 2.10' "$tmp/build.log"; then
    ok "in the same run, /usr/bin/hello --version printed 'hello (GNU Hello) 2.10'"
else
    fail "/usr/bin/hello --version did not run in the view"
fi
if [ ! -f "$report" ]; then
    fail "no report written"
else
    n=$(count_violations "$report")
    if [ "$n" -eq 0 ]; then ok "no violations"; else
        fail "$n violation(s) (expected none)"
    fi
    echo "  report.image: $(image_list "$report" added | wc -l) added," \
        "$(image_list "$report" modified | wc -l) modified, $(image_list "$report" removed | wc -l) removed"
    for k in modified removed; do
        image_list "$report" "$k" | sed "s/^/    $k: /"
    done
fi

# ---------------------------------------------------------------------------
step "What the image holds, and what the host has"
for f in "${installed[@]}"; do
    if [ -s "$image/$f" ]; then ok "image has /$f ($(stat -c %s "$image/$f") bytes)"; else
        fail "$image/$f is missing"
    fi
    if [ -f "$report" ] && image_list "$report" added | grep -qx "/$f"; then
        echo "    (report.image.added lists /$f)"
    fi
    now=$(host_state "$f")
    if [ "$now" = "${before[$f]}" ]; then
        if [ "$now" = absent ]; then ok "the host has no /$f"; else
            ok "the host's /$f is unchanged (the hello package is installed here)"
        fi
    else
        fail "the host's /$f changed: ${before[$f]} -> $now"
        [ "${before[$f]}" = absent ] && rm -f "/$f" && echo "  removed /$f"
    fi
done
if [ -x "$image/usr/bin/hello" ] && out=$("$image/usr/bin/hello" 2>&1) && [ "$out" = "Hello, world!" ]; then
    ok "the image's usr/bin/hello prints 'Hello, world!'"
else
    fail "the image's usr/bin/hello did not print 'Hello, world!' (got: ${out:-nothing})"
fi
if [ -s "$image/.catbox-removed" ]; then
    echo "  .catbox-removed (paths the build removed from its view):"
    sed 's/^/    /' "$image/.catbox-removed"
fi
echo "  the image's files (and $(find "$image/usr/share/locale" -type f 2>/dev/null | wc -l) message catalogs under usr/share/locale):"
(cd "$image" && find . -type f ! -path './usr/share/locale/*' | LC_ALL=C sort | sed 's|^\./|    /|')

# ---------------------------------------------------------------------------
summary image-hello "GNU hello installed into / as the build saw it; the files are in $image, the host is unchanged."
