#!/usr/bin/env bash
# Build and install the C library of catbox into PREFIX:
#
#   PREFIX/lib/libcatbox.so.X.Y.Z   the shared library (SONAME libcatbox.so.0.Y
#   PREFIX/lib/libcatbox.so.0.Y     while the major version is 0), with the
#   PREFIX/lib/libcatbox.so         usual symlinks
#   PREFIX/lib/libcatbox.a          the static library
#   PREFIX/include/catbox.h         the header
#   PREFIX/lib/pkgconfig/catbox.pc  for pkg-config
#
# Usage: scripts/install-c.sh PREFIX
#
# Environment:
#   LIBDIR            library directory (default PREFIX/lib; e.g.
#                     PREFIX/lib/x86_64-linux-gnu on Debian)
#   CARGO_TARGET_DIR  cargo's target directory (default ./target)
#   CATBOX_NO_BUILD=1 install what target/release already holds
#   DESTDIR           staging root, as for `make install`
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
prefix=$1
case $prefix in
/*) ;;
*) prefix=$(cd "$(dirname "$prefix")" 2>/dev/null && pwd)/$(basename "$prefix") ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
libdir=${LIBDIR:-$prefix/lib}
includedir=$prefix/include
target=${CARGO_TARGET_DIR:-$repo/target}/release
dest=${DESTDIR:-}

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" = 0 ]; then soname=libcatbox.so.0.$minor; else soname=libcatbox.so.$major; fi

if [ "${CATBOX_NO_BUILD:-}" != 1 ]; then
    (cd "$repo" && cargo build --release -p catbox-ffi)
fi

install -d "$dest$libdir/pkgconfig" "$dest$includedir"
install -m 0755 "$target/libcatbox.so" "$dest$libdir/libcatbox.so.$version"
ln -sfn "libcatbox.so.$version" "$dest$libdir/$soname"
ln -sfn "$soname" "$dest$libdir/libcatbox.so"
install -m 0644 "$target/libcatbox.a" "$dest$libdir/libcatbox.a"
install -m 0644 "$repo/include/catbox.h" "$dest$includedir/catbox.h"

# Libs.private: what the static library needs, from
#   cargo rustc -p catbox-ffi --lib --crate-type staticlib -- --print native-static-libs
cat >"$dest$libdir/pkgconfig/catbox.pc" <<PC
prefix=$prefix
libdir=$libdir
includedir=$includedir

Name: catbox
Description: Build sandbox for Linux (ptrace + seccomp): confine writes, deny the network
Version: $version
URL: https://example.invalid/catbox
Libs: -L\${libdir} -lcatbox
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
PC

echo "installed catbox $version into $dest$prefix:"
echo "  $libdir/libcatbox.so.$version ($soname, libcatbox.so), libcatbox.a"
echo "  $includedir/catbox.h"
echo "  $libdir/pkgconfig/catbox.pc"
