# RFC 7852 ProviderInfo / ServiceInfo rendering: cmocka tests driven by
# test/data/addl, with xmllint validation against test/xsd.

e911_unit_test(test_addl unit/test_addl.c)
find_program(E911_XMLLINT xmllint)
if(E911_XMLLINT)
	target_compile_definitions(test_addl PRIVATE E911_XMLLINT="${E911_XMLLINT}")
endif()
