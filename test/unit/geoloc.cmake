# Geolocation header parsing (RFC 6442, RFC 8787 loc-src): cmocka tests
# driven by test/data/geoloc/cases.txt.

e911_unit_test(test_geoloc unit/test_geoloc.c)
