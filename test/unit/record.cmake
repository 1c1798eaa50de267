# Location records and PIDF-LO: cmocka tests driven by test/data/record and
# test/data/pidf; xmllint schema checks of the rendered documents
# (unit.test_pidf.schema), of the expected documents and of the reference
# vectors (which in turn check the schema copy in test/xsd).

e911_unit_test(test_record unit/test_record.c)
e911_unit_test(test_pidf unit/test_pidf.c)
e911_unit_schema_test(test_pidf)

set(_xsd ${CMAKE_CURRENT_SOURCE_DIR}/xsd)
set(_vec ${E911_TEST_DATA}/pidf-vectors)
set(_validate ${CMAKE_CURRENT_SOURCE_DIR}/tools/validate_pidf.sh)
file(GLOB _pidf_expected CONFIGURE_DEPENDS ${E911_TEST_DATA}/pidf/*/expected.xml)
file(GLOB _vec_valid CONFIGURE_DEPENDS ${_vec}/tv[1-4]*.xml)
file(GLOB _vec_invalid CONFIGURE_DEPENDS ${_vec}/neg*.xml)

# e911_schema_test(<name> --valid|--invalid <schema> <files...>)
function(e911_schema_test name mode schema)
	add_test(NAME schema.${name}
		COMMAND sh ${_validate} ${mode} ${schema} ${ARGN})
	set_tests_properties(schema.${name} PROPERTIES LABELS "unit;schema"
		SKIP_RETURN_CODE 77 TIMEOUT 120)
	if(E911_XMLLINT)
		set_tests_properties(schema.${name} PROPERTIES
			ENVIRONMENT XMLLINT=${E911_XMLLINT})
	endif()
endfunction()

e911_schema_test(pidf_expected --valid ${_xsd}/all.xsd ${_pidf_expected})
e911_schema_test(vectors_valid --valid ${_xsd}/all.xsd ${_vec_valid})
e911_schema_test(vectors_providerinfo --valid ${_xsd}/providerinfo.xsd
	${_vec}/tv5_providerinfo.xml)
e911_schema_test(vectors_serviceinfo --valid ${_xsd}/serviceinfo.xsd
	${_vec}/tv6_serviceinfo.xml)
e911_schema_test(vectors_invalid --invalid ${_xsd}/all.xsd ${_vec_invalid})
