#!/usr/bin/env bash
# Proves that headers of another Kamailio version than the installed binary
# stop the configure step with a clear message (not a load-time surprise):
# a copy of the headers' version file with another version, then cmake.
# Usage: version_mismatch.sh <source dir> <kamailio include dir (src/)>
set -u
src=$1
inc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ksrc/src/core"
cp "$inc/core/sr_module.h" "$tmp/ksrc/src/core/"
sed -E 's/^SUBLEVEL *=.*/SUBLEVEL = 99/' "$inc/Makefile.defs" >"$tmp/ksrc/src/Makefile.defs"
out=$(cmake -S "$src" -B "$tmp/build" -DKAMAILIO_SRC="$tmp/ksrc" -DE911_BUILD_TESTS=OFF 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
	echo "FAIL: configure accepted headers of another version"
	exit 1
fi
if ! grep -q "are version" <<<"$out" || ! grep -q "would" <<<"$out"; then
	echo "FAIL: configure failed without the version message:"
	echo "$out" | tail -20
	exit 1
fi
echo "ok: $(grep -o "Kamailio headers in .*" <<<"$out" | head -1 | cut -c1-160)"
