# Integration tests: the real Kamailio with cfg/kamailio.cfg and e911.so, the
# reference location service (test/locsvc), test PSAPs and SIPp, all on loopback.
# One CTest test per test/integration/test_*.py (Python unittest); label
# `integration`. Included by test/CMakeLists.txt when the module is built.
#
#   ctest -L integration --output-on-failure
#   E911_VALGRIND=1 ctest -L integration      (Kamailio under valgrind, slower)
#
# Every test allocates its own free ports (bind to port 0), so they cannot clash;
# they hold a common RESOURCE_LOCK anyway because some of them measure timings.

find_program(SIPP_BIN sipp)
find_program(KAMCMD_BIN kamcmd PATHS /usr/sbin /usr/local/sbin)
find_program(XMLLINT_BIN xmllint)
if(NOT SIPP_BIN OR NOT KAMCMD_BIN OR NOT XMLLINT_BIN)
	message(WARNING "integration tests disabled: they need sipp, kamcmd and xmllint "
		"(sipp: ${SIPP_BIN}, kamcmd: ${KAMCMD_BIN}, xmllint: ${XMLLINT_BIN})")
	return()
endif()

set(E911_INTEGRATION_TIMEOUT 900 CACHE STRING
	"CTest timeout of one integration test file, seconds (x10 when configured with E911_VALGRIND=1 in the environment)")

set(_int_timeout ${E911_INTEGRATION_TIMEOUT})
if("$ENV{E911_VALGRIND}" STREQUAL "1")
	math(EXPR _int_timeout "${_int_timeout} * 10")
endif()

set(_int_dir ${CMAKE_CURRENT_LIST_DIR})
file(GLOB _int_tests ${_int_dir}/test_*.py)
list(SORT _int_tests)
foreach(_t IN LISTS _int_tests)
	get_filename_component(_name ${_t} NAME_WE)
	string(REGEX REPLACE "^test_" "" _name ${_name})
	add_test(NAME integration.${_name}
		COMMAND ${Python3_EXECUTABLE} -u ${_t}
		WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
	set_tests_properties(integration.${_name} PROPERTIES
		LABELS integration
		TIMEOUT ${_int_timeout}
		RESOURCE_LOCK e911_integration
		ENVIRONMENT "E911_BUILD_DIR=${CMAKE_BINARY_DIR};E911_SOURCE_DIR=${CMAKE_SOURCE_DIR};KAMAILIO_BIN=${KAMAILIO_BIN};KAMAILIO_MODULES_DIR=${KAMAILIO_MODULES_DIR};SIPP_BIN=${SIPP_BIN};KAMCMD_BIN=${KAMCMD_BIN};XMLLINT_BIN=${XMLLINT_BIN};PYTHONDONTWRITEBYTECODE=1")
endforeach()
