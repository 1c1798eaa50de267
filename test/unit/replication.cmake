# DMQ replication bodies, the newer-wins rule and the table operations
# replication needs (core/e911_replication.c), data in test/data/replication.
e911_unit_test(test_replication unit/test_replication.c)
