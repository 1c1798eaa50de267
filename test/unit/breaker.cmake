# Unit tests of the breaker's state machine, the per-key error memory and
# the classification of failures, with the clock driven by the test.
e911_unit_test(test_breaker unit/test_breaker.c)
