/*
 * libFuzzer target: location-service answers. The input is the HTTP body
 * handed to e911_record_parse(); every accepted record must hold the record
 * invariants, render to a PIDF-LO document that fits E911_PIDF_MAX, is
 * well-formed, schema-valid XML without raw control characters (newline
 * aside) and reads back to the record's values, give a clean address line
 * (also when truncated), and survive e911_record_to_json() -> parse with
 * identical bytes (fuzz_common.c has the checks).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_xml_init();
	return 0;
}

/* FNV-1a of the input: varies the clock, retention and line buffer size
 * without taking bytes away from the JSON. */
static uint32_t knob_of(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;

	for(size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_and_check((const char *)data, size, knob_of(data, size));
	return 0;
}
