# Field maps (JSON pointer -> record field): cmocka tests driven by
# test/data/fieldmap.

e911_unit_test(test_fieldmap unit/test_fieldmap.c)
