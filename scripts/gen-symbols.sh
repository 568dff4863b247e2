#!/bin/sh
# debian/libmemlens0.symbols from src/libmemlens.map: every name in a version
# node at the release that introduced the node (MEMLENS_0.N: 0.N.0), the
# nodes themselves, and the compatibility versions bound in the source
# (ML_COMPAT_VERSION).  tests/deb.sh checks the committed file is this
# script's output; dpkg-gensymbols (check level 4) that it is the library's.
set -e
cd "$(dirname "$0")/.."
echo "libmemlens.so.0 libmemlens0 #MINVER#"
echo "* Build-Depends-Package: libmemlens-dev"
{
	awk '/^MEMLENS_[0-9.]+ \{/ { node = $1; print node "@" node, node; next }
	     node && /^\t\t[A-Za-z_0-9]+;$/ { s = $1; sub(/;$/, "", s); print s "@" node, node }
	     /^}/ { node = "" }' src/libmemlens.map
	sed -n 's/^ML_COMPAT_VERSION([a-z_0-9]*, *\([a-z_0-9]*\), *\(MEMLENS_[0-9.]*\)).*/\1@\2 \2/p' src/*.c
} | sort -u | awk '{ v = $2; sub(/^MEMLENS_/, "", v); print " " $1 " " v ".0" }'
