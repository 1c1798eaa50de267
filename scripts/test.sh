#!/usr/bin/env bash
# Builds the module and runs every test: unit (also under ASan+UBSan),
# schema validation, fuzz-corpus replay and the integration suite with the
# real Kamailio, the reference location service and SIPp.
#   scripts/test.sh            all of it
#   E911_VALGRIND=1 scripts/test.sh   integration with Kamailio under memcheck
#   E911_ROOTS=0 scripts/test.sh       only on this machine (no other release)
# On bookworm (trixie) it then runs the same in a trixie (bookworm) root and
# tests the packages of both (scripts/test-in-root.sh, test-packages.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build and test (module, unit, schema, integration, benchmark harness in quick mode)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j1)

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DE911_BUILD_MODULE=OFF -DE911_SANITIZE=ON \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -L unit)

echo "== fuzz targets (clang, libFuzzer + ASan + UBSan): replay of the seed corpora"
if [ -f test/fuzz/CMakeLists.txt ]; then
	CC=clang cmake -S . -B build-fuzz -DE911_BUILD_MODULE=OFF -DE911_FUZZ=ON \
		-DE911_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-fuzz -j"$jobs" --target fuzz_record fuzz_pidf fuzz_dial \
		fuzz_mime fuzz_geoloc fuzz_ruri fuzz_replication fuzz_sitemap
	(cd build-fuzz && ctest --output-on-failure -L fuzz)
else
	echo "no fuzz targets"
fi

# The other supported Debian release (bookworm: Kamailio 5.6, trixie: 6.0):
# all of the above again in a root of that release with its own Kamailio
# packages, then the .deb of both releases installed into clean roots.
# Not inside such a root (E911_IN_ROOT); E911_ROOTS=0 skips it.
[ -z "${E911_IN_ROOT:-}" ] && [ "${E911_ROOTS:-1}" != 0 ] || exit 0
. /etc/os-release
case ${VERSION_CODENAME:-} in
bookworm) other=trixie ;;
trixie) other=bookworm ;;
*)
	echo "== not bookworm or trixie (${VERSION_CODENAME:-?}): no Debian roots"
	exit 0
	;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "== skipped: the $other root and the package tests need root" >&2
	exit 0
fi
echo "== the whole suite again in a Debian $other root, with $other's Kamailio"
bash scripts/test-in-root.sh "$other"
echo "== packages: built for bookworm and trixie, installed into clean roots, demo"
bash scripts/test-packages.sh

