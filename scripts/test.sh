#!/usr/bin/env bash
# Builds the module and runs every test: unit (also under ASan+UBSan),
# schema validation, fuzz-corpus replay and the integration suite with the
# real Kamailio, the reference location service and SIPp.
#   scripts/test.sh            all of it
#   E911_VALGRIND=1 scripts/test.sh   integration with Kamailio under memcheck
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
[ -f test/fuzz/CMakeLists.txt ] || { echo "no fuzz targets"; exit 0; }
CC=clang cmake -S . -B build-fuzz -DE911_BUILD_MODULE=OFF -DE911_FUZZ=ON \
	-DE911_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_record fuzz_pidf fuzz_dial \
	fuzz_mime fuzz_geoloc fuzz_ruri
(cd build-fuzz && ctest --output-on-failure -L fuzz)

