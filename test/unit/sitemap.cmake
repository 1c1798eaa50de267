# The site map and the location precedence (core/e911_sitemap.c,
# core/e911_precedence.c), driven by test/data/sitemap; and the site map's
# benchmark (10^5 prefixes: load time, match time), smoke-run as a test with
# generous bounds (docs/benchmarks.md has the numbers of a quiet machine).
e911_unit_test(test_sitemap unit/test_sitemap.c)

add_executable(e911_sitemap_bench bench/sitemap_bench.c)
target_link_libraries(e911_sitemap_bench PRIVATE e911core)
add_test(NAME bench.sitemap_smoke COMMAND e911_sitemap_bench --check)
set_tests_properties(bench.sitemap_smoke PROPERTIES LABELS unit TIMEOUT 120)
