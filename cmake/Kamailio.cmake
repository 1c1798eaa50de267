# Finds the Kamailio binary the module will be loaded into, its headers, and
# the compile definitions that make the module's version and flags strings
# equal the core's (checked by ksr_version_control() in core/sr_module.c).
#
# Inputs (cache variables):
#   KAMAILIO_BIN  the kamailio binary (default: found on PATH / sbin)
#   KAMAILIO_SRC  a Kamailio source tree (its top or its src/ directory);
#                 when empty, `apt-get source kamailio=<binary's version>`
#                 is run into the build tree (needs deb-src enabled).
# Outputs:
#   KAMAILIO_VERSION, KAMAILIO_VERSIONVAL, KAMAILIO_INCLUDE_DIR, KAMAILIO_DEFINITIONS (list),
#   KAMAILIO_MODULES_DIR (where the installed modules live)

find_program(KAMAILIO_BIN kamailio PATHS /usr/sbin /usr/local/sbin)
if(NOT KAMAILIO_BIN)
	message(FATAL_ERROR "kamailio binary not found: install the kamailio "
		"package or pass -DKAMAILIO_BIN=/path/to/kamailio")
endif()

execute_process(COMMAND ${KAMAILIO_BIN} -V OUTPUT_VARIABLE _ksr_v
	RESULT_VARIABLE _ksr_rc ERROR_QUIET)
if(NOT _ksr_rc EQUAL 0)
	message(FATAL_ERROR "'${KAMAILIO_BIN} -V' failed")
endif()

# version: kamailio 5.6.3 (x86_64/linux)
if(NOT _ksr_v MATCHES "version: ([a-z]+) ([0-9]+\\.[0-9]+\\.[0-9]+[^ ]*) \\(([^/]+)/([^)]+)\\)")
	message(FATAL_ERROR "cannot read the version from '${KAMAILIO_BIN} -V'")
endif()
set(_ksr_name ${CMAKE_MATCH_1})
set(KAMAILIO_VERSION ${CMAKE_MATCH_2})
set(_ksr_arch ${CMAKE_MATCH_3})
set(_ksr_os ${CMAKE_MATCH_4})

# flags: USE_TCP, USE_TLS, ...
if(NOT _ksr_v MATCHES "flags: ([^\n]*)")
	message(FATAL_ERROR "cannot read the flags from '${KAMAILIO_BIN} -V'")
endif()
string(REPLACE ", " ";" _ksr_flags "${CMAKE_MATCH_1}")
string(STRIP "${_ksr_flags}" _ksr_flags)
set(_wait_loops 1024)
if(_ksr_v MATCHES "ADAPTIVE_WAIT_LOOPS ([0-9]+)")
	set(_wait_loops ${CMAKE_MATCH_1})
endif()

# VERSIONVAL as Kamailio's own Makefile and CMake trees define it (major *
# 1000000 + minor * 1000 + sublevel): modules/e911/e911_ksr_compat.h keys on it
if(NOT KAMAILIO_VERSION MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)")
	message(FATAL_ERROR "cannot read major.minor.sublevel from '${KAMAILIO_VERSION}'")
endif()
math(EXPR KAMAILIO_VERSIONVAL
	"${CMAKE_MATCH_1} * 1000000 + ${CMAKE_MATCH_2} * 1000 + ${CMAKE_MATCH_3}")

set(KAMAILIO_DEFINITIONS
	"NAME=\"${_ksr_name}\"" "VERSION=\"${KAMAILIO_VERSION}\""
	VERSIONVAL=${KAMAILIO_VERSIONVAL}
	"ARCH=\"${_ksr_arch}\"" "OS=${_ksr_os}_" "OS_QUOTED=\"${_ksr_os}\""
	"__OS_${_ksr_os}" "__CPU_${_ksr_arch}"
	# defaults of Kamailio's Makefile.defs that -V does not print
	STATISTICS USE_CORE_STATS WITH_XAVP MEM_JOIN_FREE)
if(_ksr_os STREQUAL "linux")
	list(APPEND KAMAILIO_DEFINITIONS HAVE_GETHOSTBYNAME2 HAVE_UNION_SEMUN
		HAVE_SCHED_YIELD HAVE_MSG_NOSIGNAL HAVE_MSGHDR_MSG_CONTROL
		HAVE_ALLOCA_H HAVE_TIMEGM HAVE_SCHED_SETSCHEDULER HAVE_IP_MREQN
		HAVE_EPOLL HAVE_SIGIO_RT SIGINFO64_WORKARROUND HAVE_SELECT)
endif()
if(_ksr_arch MATCHES "x86_64|i386|aarch64|arm")
	list(APPEND KAMAILIO_DEFINITIONS CC_GCC_LIKE_ASM)
endif()
foreach(_f IN LISTS _ksr_flags)
	if(_f STREQUAL "FAST_LOCK-ADAPTIVE_WAIT")
		list(APPEND KAMAILIO_DEFINITIONS FAST_LOCK ADAPTIVE_WAIT
			ADAPTIVE_WAIT_LOOPS=${_wait_loops})
	elseif(_f STREQUAL "FAST_LOCK-BUSY_WAIT")
		list(APPEND KAMAILIO_DEFINITIONS FAST_LOCK BUSY_WAIT)
	elseif(_f STREQUAL "TLS_PTHREAD_MUTEX_SHARED")
		list(APPEND KAMAILIO_DEFINITIONS KSR_PTHREAD_MUTEX_SHARED)
	elseif(_f MATCHES "^[A-Z0-9_]+$")
		list(APPEND KAMAILIO_DEFINITIONS ${_f})
	else()
		message(FATAL_ERROR "unexpected flag '${_f}' in '${KAMAILIO_BIN} -V'")
	endif()
endforeach()

# Headers.
if(NOT KAMAILIO_SRC)
	set(_dl ${CMAKE_BINARY_DIR}/kamailio-src)
	file(GLOB _found LIST_DIRECTORIES true "${_dl}/kamailio-*/src/core")
	if(NOT _found)
		find_program(APT_GET apt-get)
		if(NOT APT_GET)
			message(FATAL_ERROR "no Kamailio headers: pass -DKAMAILIO_SRC=<dir>")
		endif()
		file(MAKE_DIRECTORY ${_dl})
		message(STATUS "Fetching Kamailio ${KAMAILIO_VERSION} sources with apt-get source")
		execute_process(COMMAND ${APT_GET} source -qq "kamailio=${KAMAILIO_VERSION}*"
			WORKING_DIRECTORY ${_dl} RESULT_VARIABLE _rc OUTPUT_QUIET)
		if(NOT _rc EQUAL 0)
			# the Debian revision may differ from the upstream version
			execute_process(COMMAND ${APT_GET} source -qq kamailio
				WORKING_DIRECTORY ${_dl} RESULT_VARIABLE _rc OUTPUT_QUIET)
		endif()
		if(NOT _rc EQUAL 0)
			message(FATAL_ERROR "'apt-get source kamailio' failed: enable deb-src "
				"(scripts/setup-debian.sh) or pass -DKAMAILIO_SRC=<dir>")
		endif()
		file(GLOB _found LIST_DIRECTORIES true "${_dl}/kamailio-*/src/core")
	endif()
	list(GET _found 0 _core)
	get_filename_component(KAMAILIO_SRC ${_core}/../.. ABSOLUTE)
endif()

if(EXISTS ${KAMAILIO_SRC}/src/core/sr_module.h)
	set(KAMAILIO_INCLUDE_DIR ${KAMAILIO_SRC}/src)
elseif(EXISTS ${KAMAILIO_SRC}/core/sr_module.h)
	set(KAMAILIO_INCLUDE_DIR ${KAMAILIO_SRC})
else()
	message(FATAL_ERROR "${KAMAILIO_SRC} is not a Kamailio source tree "
		"(no src/core/sr_module.h)")
endif()

# The headers must be the binary's version: struct layouts differ between
# releases, and the loader refuses a module built for another one anyway.
file(STRINGS ${KAMAILIO_INCLUDE_DIR}/Makefile.defs _mk
	REGEX "^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION) *=")
set(_hv "")
foreach(_part VERSION PATCHLEVEL SUBLEVEL)
	foreach(_line IN LISTS _mk)
		if(_line MATCHES "^${_part} *= *([0-9]+)")
			if(_hv STREQUAL "")
				set(_hv ${CMAKE_MATCH_1})
			else()
				set(_hv "${_hv}.${CMAKE_MATCH_1}")
			endif()
		endif()
	endforeach()
endforeach()
foreach(_line IN LISTS _mk)
	if(_line MATCHES "^EXTRAVERSION *= *([^ ]+)")
		set(_hv "${_hv}${CMAKE_MATCH_1}")
	endif()
endforeach()
if(NOT _hv STREQUAL KAMAILIO_VERSION)
	message(FATAL_ERROR "Kamailio headers in ${KAMAILIO_INCLUDE_DIR} are version "
		"'${_hv}' but ${KAMAILIO_BIN} is '${KAMAILIO_VERSION}': the module would "
		"not load. Point -DKAMAILIO_SRC at the ${KAMAILIO_VERSION} sources.")
endif()

# Where the packaged modules are (for the tests' mpath).
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
	OUTPUT_VARIABLE _multiarch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
find_path(KAMAILIO_MODULES_DIR tm.so PATHS
	/usr/lib/${_multiarch}/kamailio/modules /usr/lib64/kamailio/modules
	/usr/lib/kamailio/modules /usr/local/lib64/kamailio/modules
	/usr/local/lib/kamailio/modules NO_DEFAULT_PATH)

message(STATUS "Kamailio ${KAMAILIO_VERSION} (${_ksr_arch}/${_ksr_os}), "
	"headers ${KAMAILIO_INCLUDE_DIR}, modules ${KAMAILIO_MODULES_DIR}")
