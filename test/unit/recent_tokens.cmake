# PSAP-callback memory and location-reference tokens (shared-memory tables):
# cmocka tests driven by test/data/recent and test/data/tokens, each with a
# forked multi-process test over the shared-memory shim.

e911_unit_test(test_recent unit/test_recent.c)
e911_unit_test(test_tokens unit/test_tokens.c)
# ... and the expiring table both are built on (core/e911_ttl_table.c).
e911_unit_test(test_ttl_table unit/test_ttl_table.c)
