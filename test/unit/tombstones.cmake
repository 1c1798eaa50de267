# Removal tombstones (core/e911_tombstones.c): a removal replicated to a node
# refuses an older record arriving after it; data in test/data/tombstones.
e911_unit_test(test_tombstones unit/test_tombstones.c)
