/*
 * libFuzzer target: the PIDF-LO renderer and address line with arbitrary
 * field values. Rather than hoping for valid JSON, the input is turned into
 * a well-formed answer:
 *
 *   byte 0       flags: 0x01 geo, 0x02 radius, 0x04 validated present,
 *                0x08 validated true, 0x10 max_age, 0x20 bytes >= 0x80 as
 *                \u00XX (else raw, so UTF-8 checks run), 0x40 coordinates
 *                from raw doubles (else scaled into range), 0x80 values
 *                that read as numbers are written unquoted
 *   bytes 1..4   knob: clock, retention, max_age, line buffer size
 *   [geo]        12 bytes (scaled int32 lat, lon, uint32 radius) or 24
 *                (raw doubles)
 *   the rest     fields separated by NUL: the first byte picks the name
 *                (civic elements, key, callback, updated_at, route.uri,
 *                endpoint_id, mobility, networks[0], site flags, an
 *                unknown civic name), the others are its value, JSON-
 *                escaped (controls as \u00XX)
 *
 * and goes through e911_record_parse() and the checks of fuzz_common.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define F_GEO 0x01
#define F_RADIUS 0x02
#define F_VALIDATED 0x04
#define F_VALIDATED_TRUE 0x08
#define F_MAX_AGE 0x10
#define F_ESCAPE_HIGH 0x20
#define F_RAW_DOUBLES 0x40
#define F_NUMBERS 0x80

/* extra names, after the E911_CA_COUNT civic ones; "Country" is an
 * unknown civic name (names are case-sensitive) */
static const char *const extra[] = {"key", "callback", "updated_at", "route",
		"endpoint_id", "mobility", "networks", "site", "Country"};
#define NNAMES (E911_CA_COUNT + (int)(sizeof(extra) / sizeof(extra[0])))

/* A growing output buffer sized for the worst case up front. */
typedef struct jbuf
{
	char *s;
	size_t n;
} jbuf_t;

static void put(jbuf_t *b, const char *s)
{
	size_t k = strlen(s);

	memcpy(b->s + b->n, s, k);
	b->n += k;
}

static void put_escaped(jbuf_t *b, const uint8_t *v, size_t n, int high)
{
	char esc[8];

	put(b, "\"");
	for(size_t i = 0; i < n; i++) {
		if(v[i] == '"' || v[i] == '\\') {
			b->s[b->n++] = '\\';
			b->s[b->n++] = (char)v[i];
		} else if(v[i] < 0x20 || (high && v[i] >= 0x80)) {
			snprintf(esc, sizeof(esc), "\\u%04x", v[i]);
			put(b, esc);
		} else {
			b->s[b->n++] = (char)v[i];
		}
	}
	put(b, "\"");
}

/* Whether v[0..n) reads as a JSON number: only number characters, and
 * strtod takes all of it. */
static int looks_numeric(const uint8_t *v, size_t n)
{
	char tmp[64];
	char *end;

	if(n == 0 || n >= sizeof(tmp) || v[0] == '+' || v[0] == '.')
		return 0;
	for(size_t i = 0; i < n; i++) {
		if(!strchr("0123456789.eE+-", v[i]) || v[i] == '\0')
			return 0;
	}
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	strtod(tmp, &end);
	return *end == '\0' && !(n > 1 && v[0] == '0' && v[1] != '.');
}

static void put_value(jbuf_t *b, const uint8_t *v, size_t n, int flags)
{
	if((flags & F_NUMBERS) && looks_numeric(v, n)) {
		memcpy(b->s + b->n, v, n);
		b->n += n;
	} else {
		put_escaped(b, v, n, flags & F_ESCAPE_HIGH);
	}
}

/* Writes "name":value; route is {"uri": value}, networks [value], and
 * site takes its two booleans from the value's first byte. */
static void put_member(
		jbuf_t *b, const char *name, const uint8_t *v, size_t n, int flags)
{
	put(b, "\"");
	put(b, name);
	put(b, "\":");
	if(strcmp(name, "site") == 0) {
		int bits = n > 0 ? v[0] : 0;

		put(b, bits & 1 ? "{\"multi_floor\":true," : "{\"multi_floor\":false,");
		put(b, bits & 2 ? "\"multi_unit\":true}" : "\"multi_unit\":null}");
		return;
	}
	if(strcmp(name, "route") == 0)
		put(b, "{\"uri\":");
	if(strcmp(name, "networks") == 0)
		put(b, "[");
	put_value(b, v, n, flags);
	if(strcmp(name, "route") == 0)
		put(b, "}");
	if(strcmp(name, "networks") == 0)
		put(b, "]");
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
		   | (uint32_t)p[3] << 24;
}

/* Writes the "geo" member from the next bytes; returns how many it used. */
static size_t put_geo(jbuf_t *b, const uint8_t *p, size_t n, int flags)
{
	char num[160];
	double lat;
	double lon;
	double r;

	if(flags & F_RAW_DOUBLES) {
		if(n < 24)
			return n;
		memcpy(&lat, p, 8);
		memcpy(&lon, p + 8, 8);
		memcpy(&r, p + 16, 8);
	} else {
		if(n < 12)
			return n;
		lat = (int32_t)get32(p) / 2147483648.0 * 90.0;
		lon = (int32_t)get32(p + 4) / 2147483648.0 * 180.0;
		r = get32(p + 8) / 214.0;
	}
	if(flags & F_RADIUS)
		snprintf(num, sizeof(num),
				"\"geo\":{\"lat\":%.17g,\"lon\":%.17g,\"radius_m\":%.17g},",
				lat, lon, r);
	else
		snprintf(num, sizeof(num), "\"geo\":{\"lat\":%.17g,\"lon\":%.17g},",
				lat, lon);
	put(b, num);
	return (flags & F_RAW_DOUBLES) ? 24 : 12;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_xml_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int used[NNAMES] = {0};
	uint8_t flags;
	uint32_t knob;
	size_t pos = 5;
	int civic = 0;
	jbuf_t b;
	char tmp[64];

	if(size < 5)
		return 0;
	flags = data[0];
	knob = get32(data + 1);
	b.s = malloc(size * 6 + 4096);
	b.n = 0;
	if(b.s == NULL)
		return 0;
	put(&b, "{");
	if(flags & F_GEO)
		pos += put_geo(&b, data + pos, size - pos, flags);
	if(flags & F_VALIDATED)
		put(&b, flags & F_VALIDATED_TRUE ? "\"validated\":true,"
										 : "\"validated\":false,");
	if(flags & F_MAX_AGE) {
		snprintf(tmp, sizeof(tmp), "\"max_age\":%u,", knob % 100000);
		put(&b, tmp);
	}
	/* civic members first, inside one object, then the top-level ones */
	for(int pass = 0; pass < 2; pass++) {
		size_t p = pos;

		while(p < size) {
			const uint8_t *end = memchr(data + p, 0, size - p);
			size_t n = end ? (size_t)(end - (data + p)) : size - p;
			int f = n > 0 ? data[p] % NNAMES : -1;
			int is_civic = f >= 0 && (f < E911_CA_COUNT || f == NNAMES - 1);

			if(f >= 0 && !used[f] && is_civic == (pass == 0)) {
				const char *name = f < E911_CA_COUNT ? e911_civic_name(f)
													 : extra[f - E911_CA_COUNT];

				used[f] = 1;
				if(pass == 0)
					put(&b, civic++ ? "," : "\"civic\":{");
				put_member(&b, name, data + p + 1, n - 1, flags);
				if(pass == 1)
					put(&b, ",");
			}
			p += n + 1;
		}
		if(pass == 0 && civic)
			put(&b, "},");
	}
	if(b.s[b.n - 1] == ',')
		b.n--;
	put(&b, "}");
	fz_parse_and_check(b.s, b.n, knob);
	free(b.s);
	return 0;
}
