# The fetcher's concurrency toward the location service
# (core/e911_concurrency.c): settings, capacity per protocol, HTTP version.
e911_unit_test(test_concurrency unit/test_concurrency.c)
