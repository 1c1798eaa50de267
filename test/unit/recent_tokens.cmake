# PSAP-callback memory and location-reference tokens (shared-memory tables):
# cmocka tests driven by test/data/recent and test/data/tokens, each with a
# forked multi-process test over the shared-memory shim.

e911_unit_test(test_recent unit/test_recent.c)
e911_unit_test(test_tokens unit/test_tokens.c)
