/*
 * e911 module - what differs between the Kamailio versions it builds for
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * This file is part of kamailio-e911, a module for Kamailio, a free SIP
 * server.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * One source tree builds for Kamailio 5.6 ... 6.x. A built e911.so is for one
 * version only: ksr_version_control() refuses it in any other (version and
 * compile flags must be equal), and struct layouts differ, so it is always
 * compiled against the headers of exactly the version it is loaded into
 * (cmake/Kamailio.cmake checks that). What differs in the API the module
 * uses is defined here, item by item, keyed on VERSIONVAL (major * 1000000
 * + minor * 1000 + sublevel; defined by cmake/Kamailio.cmake and by
 * Kamailio's own Makefile and CMake trees).
 *
 * Differences that need code:
 *
 *  1. 5.7: pseudo-variable integers are long (pv_value_t.ri,
 *     pv_get_sintval()'s value), int before. -> E911_KEMI_XVAL_SET_INT()
 *  2. 5.7: KEMI gained SR_KEMIP_LONG and sr_kemi_xval_t.v.l; the type bits
 *     after SR_KEMIP_BOOL shifted (SR_KEMIP_XVAL 1<<3 -> 1<<4). An integer
 *     $e911(...) value handed to KEMI keeps its long width from 5.7 on.
 *     -> E911_KEMI_XVAL_SET_INT()
 *
 * Differences the module is kept clear of (nothing to define; the rule
 * that keeps it so):
 *
 *  3. 5.7: struct tm_binds gained members in the middle. The module calls tm
 *     only through load_tm_api() and member names, never by position, and
 *     is compiled against the loaded version's tm_load.h.
 *  4. After 5.6 (so in 6.0.1's headers): XAVP integers are long: SR_XTYPE_INT and sr_xval_t.v.i are gone
 *     (SR_XTYPE_LONG takes the value 1), so SR_XTYPE_XAVP, _VPTR, ... moved
 *     down by one. The module's call state (e911_call_state.c) holds only
 *     SR_XTYPE_STR, _VPTR and _XAVP values, by name, compiled per version.
 *     5.8: the core's internal message flags (sip_msg.msg_flags) are 64-bit
 *     (msg_flags_t), AVP integers (int_str.n) long. The module touches
 *     neither msg_flags nor AVPs.
 *  5. 6.0: STR_PARAM, INT_PARAM and USE_FUNC_PARAM are gone; PARAM_STRING
 *     and PARAM_INT remain in every supported version, and the module's
 *     parameters use only those. Kamailio itself builds with CMake; the
 *     module builds in that tree with modules/e911/CMakeLists.txt.
 *  6. 6.1: PARAM_VAR moved; not used.
 */

#ifndef E911_KSR_COMPAT_H
#define E911_KSR_COMPAT_H

#include "../../core/pvar.h"
#include "../../core/kemi.h"

#ifndef VERSIONVAL
#error "VERSIONVAL (the Kamailio version as a number) is not defined: build with cmake/Kamailio.cmake or in Kamailio's tree"
#endif

/* the Kamailio this is compiled for is at least major.minor */
#define E911_KSR_AT_LEAST(major, minor) \
	(VERSIONVAL >= (major)*1000000 + (minor)*1000)

/* 1. + 2.: an integer pseudo-variable value (pv_value_t.ri) as a KEMI
 * extended value, at its own width */
#if E911_KSR_AT_LEAST(5, 7)
_Static_assert(sizeof(((pv_value_t *)0)->ri) == sizeof(long),
		"e911_ksr_compat.h: VERSIONVAL says 5.7+ but pv_value_t.ri is not "
		"long");
#define E911_KEMI_XVAL_SET_INT(xv, val) \
	do {                                \
		(xv)->vtype = SR_KEMIP_LONG;    \
		(xv)->v.l = (long)(val);        \
	} while(0)
#else
_Static_assert(sizeof(((pv_value_t *)0)->ri) == sizeof(int),
		"e911_ksr_compat.h: VERSIONVAL says 5.6 but pv_value_t.ri is not int");
#define E911_KEMI_XVAL_SET_INT(xv, val) \
	do {                                \
		(xv)->vtype = SR_KEMIP_INT;     \
		(xv)->v.n = (int)(val);         \
	} while(0)
#endif

#endif /* E911_KSR_COMPAT_H */
