# Unit tests of the snapshot file (modules/e911/core/e911_snapshot.c): write and
# load round trip, atomic replacement, data-driven rejection cases in
# test/data/snapshot.
e911_unit_test(test_snapshot unit/test_snapshot.c)
