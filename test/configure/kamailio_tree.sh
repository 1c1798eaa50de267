#!/usr/bin/env bash
# Builds modules/e911 inside a copy of Kamailio's own source tree, the way
# docs/operations.md (section 9) tells a packager to: with Kamailio's CMake
# (6.x, modules/e911/CMakeLists.txt) or its Makefiles (5.x,
# modules/e911/Makefile). Proves e911.so comes out and exports the module
# interface; loading it is the integration tests' job (they use the project's
# build, whose flags are the installed binary's).
# Usage: kamailio_tree.sh <source dir> <kamailio include dir (src/)> <version>
set -euo pipefail
src=$1
inc=$2
version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a "$(dirname "$inc")" "$tmp/kamailio"
k=$tmp/kamailio
rm -rf "$k/src/modules/e911"
tar -C "$src/modules" --exclude='*.o' --exclude='*.so' --exclude='*.d' -cf - e911 |
	tar -C "$k/src/modules" -xf -
jobs=$(nproc 2>/dev/null || echo 2)

# check <how> <e911.so>: built, exports the module interface, and the core/
# sources were compiled in (no e911_* symbol left undefined)
check() {
	local how=$1 so=$2 undef
	if [ -z "$so" ] || [ ! -f "$so" ]; then
		tail -30 "$tmp/log"
		echo "FAIL: no e911.so from $how"
		exit 1
	fi
	if ! nm -D --defined-only "$so" | grep -qw exports; then
		echo "FAIL: $so ($how) has no 'exports' (struct module_exports)"
		exit 1
	fi
	undef=$(nm -D --undefined-only "$so" | awk '$2 ~ /^e911_/ { print $2 }')
	if [ -n "$undef" ]; then
		echo "FAIL: $so ($how) leaves the module's own symbols undefined:"
		echo "$undef" | head -10
		exit 1
	fi
	grep "warning:" "$tmp/log" | grep e911 | head -10 || true
	echo "ok: e911.so built in $how ($version)"
}

# 6.x: Kamailio's CMake tree (modules/e911/CMakeLists.txt)
if [ "${version%%.*}" -ge 6 ]; then
	how="Kamailio's CMake tree"
	cmake -S "$k" -B "$k/build" -DINCLUDE_MODULES="e911" >"$tmp/log" 2>&1 ||
		{ tail -30 "$tmp/log"; echo "FAIL: cmake configure of the tree"; exit 1; }
	cmake --build "$k/build" --target e911 -j"$jobs" >>"$tmp/log" 2>&1 ||
		{ tail -30 "$tmp/log"; echo "FAIL: build of the e911 target"; exit 1; }
	check "$how" "$(find "$k/build" -name e911.so | head -1)"
fi
# 5.x, and 6.x while it still has them: Kamailio's Makefiles (modules/e911/Makefile)
if [ -f "$k/src/Makefile" ]; then
	how="Kamailio's Makefile tree"
	make -C "$k" -j"$jobs" modules include_modules="e911" modules=src/modules/e911 \
		>"$tmp/log" 2>&1 ||
		{ tail -30 "$tmp/log"; echo "FAIL: make modules in the tree"; exit 1; }
	check "$how" "$k/src/modules/e911/e911.so"
fi
