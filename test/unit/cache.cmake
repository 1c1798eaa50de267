# Shared-memory cache: unit tests (with a multi-process stress test) and the
# micro-benchmark. The benchmark is built but not run by the unit label; a
# one-second smoke run is registered under the bench-smoke label.

e911_unit_test(test_cache unit/test_cache.c)

add_executable(e911_cache_bench bench/cache_bench.c unit/shm_test.c)
target_include_directories(e911_cache_bench PRIVATE unit)
target_link_libraries(e911_cache_bench PRIVATE e911core)
add_test(NAME bench.cache_smoke COMMAND e911_cache_bench --smoke)
set_tests_properties(bench.cache_smoke PROPERTIES LABELS bench-smoke TIMEOUT 60)

# The per-call rendering (PIDF-LO + MIME framing) micro-benchmark; see the
# header of bench/micro_render.c for the callgrind command. Smoke: 100 runs.
add_executable(e911_render_bench bench/micro_render.c)
target_link_libraries(e911_render_bench PRIVATE e911core)
add_test(NAME bench.render_smoke
		COMMAND e911_render_bench ${CMAKE_CURRENT_SOURCE_DIR}/data 100)
set_tests_properties(bench.render_smoke PROPERTIES LABELS bench-smoke TIMEOUT 60)
