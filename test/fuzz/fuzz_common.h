/*
 * Shared checks of the libFuzzer targets in test/fuzz/: the invariants a
 * parsed location record must hold, and the output checks of its PIDF-LO
 * document (well-formed and namespace-well-formed XML read back with
 * libxml2, valid against test/xsd/all.xsd, the civic values read back
 * equal to the record's, no raw control character but the newline), its
 * address line, and its JSON round trip. A broken invariant prints what
 * broke and aborts, which libFuzzer reports as a crash.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef E911_FUZZ_COMMON_H
#define E911_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "e911_record.h"

/* Prints "invariant broken: ..." and aborts. */
void fz_fail(const char *fmt, ...)
		__attribute__((format(printf, 1, 2), noreturn));

/* Aborts with msg unless cond holds. */
#define FZ_ASSERT(cond, ...)      \
	do {                          \
		if(!(cond))               \
			fz_fail(__VA_ARGS__); \
	} while(0)

/* Loads the XML schema once (libxml2 quiet, no network); call from
 * LLVMFuzzerInitialize. */
void fz_xml_init(void);

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
int fz_utf8_ok(const char *s, size_t n);

/* Whether s[0..n) holds a C0 control other than allow ('\0' for none),
 * or DEL. */
int fz_has_control(const char *s, size_t n, char allow);

/* Count of (possibly overlapping) occurrences of needle in hay. */
size_t fz_count(const char *hay, size_t hlen, const char *needle, size_t nlen);

/* Model of one service URN (RFC 5031 sos / test.sos), independent of the
 * core: "urn:service:" base ["." 1*(alnum / - / .)], case-insensitive, at
 * most E911_URN_MAXLEN bytes. Returns E911_DIAL_EMERGENCY, E911_DIAL_TEST
 * or E911_DIAL_NONE. */
int fz_model_urn(const char *s, size_t n);

/* Checks rec's layout and value invariants. */
void fz_check_record(const e911_record_t *rec);

/* Runs every output check on a parsed record: layout, PIDF-LO rendering
 * (with retention and clock derived from knob), address line (full and
 * truncated to a knob-sized buffer), and the to_json/parse round trip. */
void fz_check_outputs(const e911_record_t *rec, uint32_t knob);

/* Parses json[0..len) as a location-service answer and, when accepted,
 * runs fz_check_outputs on it. Returns 1 when accepted, 0 otherwise. */
int fz_parse_and_check(const char *json, size_t len, uint32_t knob);

#endif
