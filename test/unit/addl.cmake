# RFC 7852 ProviderInfo / ServiceInfo rendering: cmocka tests driven by
# test/data/addl; their xmllint validation against test/xsd is the test
# unit.test_addl.schema.

e911_unit_test(test_addl unit/test_addl.c)
e911_unit_schema_test(test_addl)
