# Per-country dial plans: cmocka tests driven by test/data/dial/countries.

e911_unit_test(test_dialcc unit/test_dialcc.c)
