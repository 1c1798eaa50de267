# Unit tests of the dial plan, the fetch client's URL and file handling,
# and the MIME body planning.
e911_unit_test(test_dial unit/test_dial.c)
e911_unit_test(test_fetch unit/test_fetch.c)
e911_unit_test(test_mime unit/test_mime.c)
e911_unit_test(test_net unit/test_net.c)
# What the lookup's outcome means for a REGISTER check (core/e911_outcome.c).
e911_unit_test(test_outcome unit/test_outcome.c)
# What e911.explain decides (core/e911_explain.c), the route choice the
# rewrite and explain share (core/e911_route_choice.c), the cache peek.
e911_unit_test(test_explain unit/test_explain.c)
# Readiness verdicts (core/e911_readiness.c).
e911_unit_test(test_readiness unit/test_readiness.c)
