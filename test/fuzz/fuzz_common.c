/*
 * Shared checks of the libFuzzer targets: record invariants and the output
 * checks of PIDF-LO rendering, the address line and the JSON round trip
 * (see fuzz_common.h). libxml2 reads the rendered documents back without
 * network access; the schema is loaded once from E911_FUZZ_XSD.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "fuzz_common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "e911_cidr.h"
#include "e911_dialplan.h"
#include "e911_pidf.h"
#include "e911_text.h"
#include "e911_time.h"

#define NS_CA "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
#define NS_CAE "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr:ext"
#define NS_GML "http://www.opengis.net/gml"
#define NS_GS "http://www.opengis.net/pidflo/1.0"
#define FZ_DOMAIN "example.net"
#define FZ_LINE_MAX 4096

static xmlSchemaPtr schema;
static char *pidf_buf;
static int verbose; /* E911_FUZZ_VERBOSE set: say what happened to input */

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static void xml_quiet(void *ctx, const char *msg, ...)
{
}

static void xml_quiet_structured(void *ctx, xmlErrorPtr err)
{
}

void fz_xml_init(void)
{
	xmlSchemaParserCtxtPtr pctx;

	verbose = getenv("E911_FUZZ_VERBOSE") != NULL;
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	xmlSetStructuredErrorFunc(NULL, xml_quiet_structured);
	pidf_buf = malloc(E911_PIDF_MAX);
	if(pidf_buf == NULL)
		abort();
#ifdef E911_FUZZ_XSD
	pctx = xmlSchemaNewParserCtxt(E911_FUZZ_XSD);
	if(pctx != NULL) {
		schema = xmlSchemaParse(pctx);
		xmlSchemaFreeParserCtxt(pctx);
	}
	if(schema == NULL)
		fprintf(stderr,
				"fuzz: schema %s not loaded, only well-formedness "
				"is checked\n",
				E911_FUZZ_XSD);
#else
	(void)pctx;
#endif
}

int fz_utf8_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while(i < n) {
		uint32_t c = u[i];
		size_t k;
		uint32_t min;

		if(c < 0x80) {
			i++;
			continue;
		}
		if(c >= 0xC2 && c <= 0xDF) {
			k = 2;
			c &= 0x1F;
			min = 0x80;
		} else if(c >= 0xE0 && c <= 0xEF) {
			k = 3;
			c &= 0x0F;
			min = 0x800;
		} else if(c >= 0xF0 && c <= 0xF4) {
			k = 4;
			c &= 0x07;
			min = 0x10000;
		} else {
			return 0;
		}
		if(i + k > n)
			return 0;
		for(size_t j = 1; j < k; j++) {
			if((u[i + j] & 0xC0) != 0x80)
				return 0;
			c = (c << 6) | (u[i + j] & 0x3F);
		}
		if(c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return 0;
		i += k;
	}
	return 1;
}

int fz_model_urn(const char *s, size_t n)
{
	static const char *const base[2] = {
			"urn:service:sos", "urn:service:test.sos"};

	if(n > E911_URN_MAXLEN)
		return E911_DIAL_NONE;
	for(int k = 0; k < 2; k++) {
		size_t b = strlen(base[k]);
		size_t i;

		if(n < b || strncasecmp(s, base[k], b) != 0)
			continue;
		if(n == b)
			return k == 0 ? E911_DIAL_EMERGENCY : E911_DIAL_TEST;
		if(s[b] != '.' || n == b + 1)
			continue;
		for(i = b + 1; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if(!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
					   || (c >= 'A' && c <= 'Z') || c == '-' || c == '.'))
				break;
		}
		if(i == n)
			return k == 0 ? E911_DIAL_EMERGENCY : E911_DIAL_TEST;
	}
	return E911_DIAL_NONE;
}

int fz_has_control(const char *s, size_t n, char allow)
{
	for(size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if((c < 0x20 || c == 0x7F)
				&& (allow == '\0' || c != (unsigned char)allow))
			return 1;
	}
	return 0;
}

size_t fz_count(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	size_t n = 0;

	if(nlen == 0 || nlen > hlen)
		return 0;
	for(size_t i = 0; i + nlen <= hlen; i++) {
		if(memcmp(hay + i, needle, nlen) == 0)
			n++;
	}
	return n;
}

/* Whether v is xs:token text as norm_text() leaves it: no C0/C1 control,
 * no line break (U+0085, U+2028, U+2029), no U+FFFE/U+FFFF, no space at
 * either end, no two spaces in a row. */
static int token_text_ok(const char *v, size_t n)
{
	const unsigned char *u = (const unsigned char *)v;

	if(n == 0 || v[0] == ' ' || v[n - 1] == ' ' || strstr(v, "  ") != NULL
			|| fz_has_control(v, n, '\0'))
		return 0;
	for(size_t i = 0; i + 1 < n; i++) {
		/* U+0080..U+009F are C2 80..C2 9F */
		if(u[i] == 0xC2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
			return 0;
		if(i + 2 < n && u[i] == 0xE2 && u[i + 1] == 0x80
				&& (u[i + 2] == 0xA8 || u[i + 2] == 0xA9))
			return 0;
		if(i + 2 < n && u[i] == 0xEF && u[i + 1] == 0xBF
				&& (u[i + 2] == 0xBE || u[i + 2] == 0xBF))
			return 0;
	}
	return 1;
}

/* Whether v is "+" and 8..15 digits, the first not 0. */
static int e164_ok(const char *v)
{
	size_t n = strlen(v);

	if(n < 9 || n > 16 || v[0] != '+' || v[1] < '1' || v[1] > '9')
		return 0;
	for(size_t i = 1; i < n; i++) {
		if(v[i] < '0' || v[i] > '9')
			return 0;
	}
	return 1;
}

/* endpoint_id, networks and mobility hold what the contract allows. */
static void check_extra_fields(const e911_record_t *rec)
{
	static const char *const mobility[] = {
			"Fixed", "Nomadic", "Mobile", "Unknown"};
	const char *v = e911_rec_get(rec, E911_F_ENDPOINT_ID);
	char err[128];
	int ok = 0;

	if(v != NULL) {
		FZ_ASSERT(strlen(v) <= E911_ENDPOINT_ID_MAX
						  && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
									   "nopqrstuvwxyz0123456789._-")
									 == strlen(v),
				"endpoint_id has characters or a length it must not");
	}
	v = e911_rec_get(rec, E911_F_NETWORKS);
	if(v != NULL)
		FZ_ASSERT(e911_cidr_list_check(v, err, sizeof(err)) >= 1,
				"networks is not a list of prefixes");
	v = e911_rec_get(rec, E911_F_MOBILITY);
	if(v == NULL)
		return;
	for(size_t i = 0; i < sizeof(mobility) / sizeof(mobility[0]); i++)
		ok |= strcmp(v, mobility[i]) == 0;
	FZ_ASSERT(ok, "mobility is not one of the four values");
}

void fz_check_record(const e911_record_t *rec)
{
	const size_t hdr = offsetof(e911_record_t, pool);
	const uint32_t known = E911_REC_HAS_GEO | E911_REC_HAS_RADIUS
						   | E911_REC_VALIDATED | E911_REC_VALIDATED_SET
						   | E911_REC_MULTI_FLOOR | E911_REC_MULTI_UNIT;
	size_t pool = 1;
	size_t prev = 0;
	int civic = 0;

	FZ_ASSERT(rec->size >= hdr + 1 && rec->size <= E911_REC_MAX_SIZE
					  && rec->size % 8 == 0,
			"record size %u", rec->size);
	FZ_ASSERT(rec->pool[0] == '\0', "pool[0] is not NUL");
	for(int f = 0; f < E911_F_COUNT; f++) {
		const char *v;
		size_t n;

		if(rec->off[f] == 0)
			continue;
		FZ_ASSERT(rec->off[f] > prev && hdr + rec->off[f] < rec->size,
				"field %d offset %u out of order or range", f, rec->off[f]);
		v = rec->pool + rec->off[f];
		n = strnlen(v, rec->size - hdr - rec->off[f]);
		FZ_ASSERT(hdr + rec->off[f] + n < rec->size,
				"field %d not NUL-terminated", f);
		FZ_ASSERT(n > 0 && n <= E911_VALUE_MAX, "field %d length %zu", f, n);
		FZ_ASSERT(fz_utf8_ok(v, n), "field %d not UTF-8", f);
		FZ_ASSERT(!fz_has_control(v, n, '\0'), "field %d has a control", f);
		FZ_ASSERT(rec->off[f] == pool, "field %d not packed in field order", f);
		pool += n + 1;
		prev = rec->off[f];
		if(f < E911_CA_COUNT)
			civic = 1;
		if(f < E911_CA_COUNT || f == E911_F_KEY)
			FZ_ASSERT(token_text_ok(v, n), "field %d is not token text", f);
	}
	FZ_ASSERT(rec->size == ((hdr + pool + 7) & ~(size_t)7),
			"record size %u, layout needs %zu", rec->size, hdr + pool);
	for(size_t i = hdr + pool; i < rec->size; i++)
		FZ_ASSERT(((const char *)rec)[i] == 0, "padding byte %zu not 0", i);
	if(e911_rec_get(rec, E911_CA_COUNTRY) != NULL) {
		const char *c = e911_rec_get(rec, E911_CA_COUNTRY);

		FZ_ASSERT(strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A'
						  && c[1] <= 'Z',
				"country is not two upper-case letters");
	}
	if(e911_rec_get(rec, E911_F_CALLBACK) != NULL)
		FZ_ASSERT(e164_ok(e911_rec_get(rec, E911_F_CALLBACK)),
				"callback is not E.164");
	if(e911_rec_get(rec, E911_F_ROUTE) != NULL) {
		const char *r = e911_rec_get(rec, E911_F_ROUTE);

		FZ_ASSERT(e911_uri_check(r, strlen(r)) == 0, "route fails uri_check");
	}
	if(e911_rec_get(rec, E911_F_UPDATED) != NULL) {
		const char *u = e911_rec_get(rec, E911_F_UPDATED);
		int64_t t = 0;

		FZ_ASSERT(e911_time_parse(u, strlen(u), &t) == 0 && t == rec->updated_at
						  && t > 0,
				"updated_at text and value disagree");
	} else {
		FZ_ASSERT(rec->updated_at == 0, "updated_at without its text");
	}
	check_extra_fields(rec);
	FZ_ASSERT((rec->flags & ~known) == 0, "unknown flags %x", rec->flags);
	FZ_ASSERT(!(rec->flags & E911_REC_VALIDATED)
					  || (rec->flags & E911_REC_VALIDATED_SET),
			"validated without validated_set");
	FZ_ASSERT(rec->max_age >= -1, "max_age %d", rec->max_age);
	if(rec->flags & E911_REC_HAS_GEO) {
		FZ_ASSERT(rec->lat >= -90 && rec->lat <= 90 && rec->lon >= -180
						  && rec->lon <= 180,
				"coordinates out of range");
		FZ_ASSERT((rec->radius_m > 0)
						  == ((rec->flags & E911_REC_HAS_RADIUS) != 0),
				"radius and its flag disagree");
	} else {
		FZ_ASSERT(!(rec->flags & E911_REC_HAS_RADIUS) && rec->lat == 0
						  && rec->lon == 0 && rec->radius_m == 0,
				"geodetic values without HAS_GEO");
	}
	FZ_ASSERT(civic || (rec->flags & E911_REC_HAS_GEO),
			"record with neither civic nor geo");
}

static int ns_is(const xmlNode *n, const char *href)
{
	return n->ns != NULL && n->ns->href != NULL
		   && strcmp((const char *)n->ns->href, href) == 0;
}

/* Largest difference between v and its six-decimal text: half a
 * micro-unit, plus the rounding of v * 1e6 and of strtod at v's magnitude
 * (2261634.5078125 prints as 2261634.507813, 5e-7 away). */
static double micro_tolerance(double v)
{
	return 5e-7 + fabs(v) * 1e-15 + 1e-12;
}

/* Reads two numbers "a b" (or one, b NULL) from an element's text and
 * compares them with the record's (printed with six decimals). */
static void check_numbers(const xmlNode *n, double a, const double *b)
{
	xmlChar *text = xmlNodeGetContent(n);
	char *end = NULL;
	double x;
	double y;

	FZ_ASSERT(text != NULL, "number element without text");
	x = strtod((const char *)text, &end);
	FZ_ASSERT(fabs(x - a) <= micro_tolerance(a), "number %s is not %.9f", text,
			a);
	if(b != NULL) {
		y = strtod(end, &end);
		FZ_ASSERT(fabs(y - *b) <= micro_tolerance(*b),
				"number %s is not ... %.9f", text, *b);
	}
	FZ_ASSERT(*end == '\0', "junk after number in %s", text);
	xmlFree(text);
}

typedef struct walk
{
	const e911_record_t *rec;
	int seen[E911_CA_COUNT];
	int tuples;
	int pos;
	int radius;
} walk_t;

static void walk_tree(walk_t *w, const xmlNode *n)
{
	for(; n != NULL; n = n->next) {
		const char *name = (const char *)n->name;

		if(n->type != XML_ELEMENT_NODE)
			continue;
		if(strcmp(name, "tuple") == 0)
			w->tuples++;
		if(n->parent != NULL && n->parent->type == XML_ELEMENT_NODE
				&& strcmp((const char *)n->parent->name, "civicAddress") == 0
				&& (ns_is(n, NS_CA) || ns_is(n, NS_CAE))) {
			int f = e911_civic_field(name, strlen(name));
			xmlChar *text;

			FZ_ASSERT(f >= 0, "unknown civic element %s", name);
			FZ_ASSERT(ns_is(n, f >= E911_CA_STP ? NS_CAE : NS_CA),
					"civic element %s in the wrong namespace", name);
			FZ_ASSERT(!w->seen[f], "civic element %s twice", name);
			w->seen[f] = 1;
			FZ_ASSERT(e911_rec_get(w->rec, f) != NULL,
					"civic element %s not in the record", name);
			text = xmlNodeGetContent(n);
			FZ_ASSERT(text != NULL
							  && strcmp((const char *)text,
										 e911_rec_get(w->rec, f))
										 == 0,
					"civic element %s reads back differently", name);
			xmlFree(text);
		}
		if(ns_is(n, NS_GML) && strcmp(name, "pos") == 0) {
			w->pos++;
			check_numbers(n, w->rec->lat, &w->rec->lon);
		}
		if(ns_is(n, NS_GS) && strcmp(name, "radius") == 0) {
			w->radius++;
			check_numbers(n, w->rec->radius_m, NULL);
		}
		walk_tree(w, n->children);
	}
}

/* Reads the rendered document back and checks it against rec. */
static void check_pidf(const e911_record_t *rec, const char *doc, int n)
{
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	xmlDocPtr xd;
	xmlNodePtr root;
	xmlChar *entity;
	walk_t w;
	int civic = 0;

	FZ_ASSERT(ctxt != NULL, "xmlNewParserCtxt");
	xd = xmlCtxtReadMemory(ctxt, doc, n, "pidf.xml", "UTF-8",
			XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if(xd == NULL || !ctxt->wellFormed || !ctxt->nsWellFormed) {
		fprintf(stderr, "%.*s\n", n, doc);
		fz_fail("PIDF-LO is not well-formed XML");
	}
	xmlFreeParserCtxt(ctxt);
	if(schema != NULL) {
		xmlSchemaValidCtxtPtr vctx = xmlSchemaNewValidCtxt(schema);
		int rc;

		FZ_ASSERT(vctx != NULL, "xmlSchemaNewValidCtxt");
		xmlSchemaSetValidErrors(vctx, xml_quiet, xml_quiet, NULL);
		rc = xmlSchemaValidateDoc(vctx, xd);
		xmlSchemaFreeValidCtxt(vctx);
		if(rc != 0) {
			fprintf(stderr, "%.*s\n", n, doc);
			fz_fail("PIDF-LO is not valid against all.xsd (%d)", rc);
		}
	}
	root = xmlDocGetRootElement(xd);
	FZ_ASSERT(root != NULL && strcmp((const char *)root->name, "presence") == 0,
			"root is not presence");
	entity = xmlGetProp(root, (const xmlChar *)"entity");
	FZ_ASSERT(entity != NULL && strncmp((const char *)entity, "pres:", 5) == 0,
			"entity is not a pres: URI");
	FZ_ASSERT(strlen((const char *)entity) > sizeof(FZ_DOMAIN)
					  && strcmp((const char *)entity + strlen((char *)entity)
										 - sizeof(FZ_DOMAIN),
								 "@" FZ_DOMAIN)
								 == 0,
			"entity does not end in @" FZ_DOMAIN);
	xmlFree(entity);
	memset(&w, 0, sizeof(w));
	w.rec = rec;
	walk_tree(&w, root);
	for(int f = 0; f < E911_CA_COUNT; f++) {
		if(e911_rec_get(rec, f) != NULL) {
			civic = 1;
			FZ_ASSERT(w.seen[f], "civic field %s not rendered",
					e911_civic_name(f));
		}
	}
	FZ_ASSERT(w.tuples == civic + ((rec->flags & E911_REC_HAS_GEO) != 0),
			"%d tuples", w.tuples);
	FZ_ASSERT(w.pos == ((rec->flags & E911_REC_HAS_GEO) != 0), "%d gml:pos",
			w.pos);
	FZ_ASSERT(w.radius == ((rec->flags & E911_REC_HAS_RADIUS) != 0),
			"%d gs:radius", w.radius);
	xmlFreeDoc(xd);
}

/* The address line in full and truncated to small: both NUL-terminated
 * UTF-8 without controls, the short one a prefix of the full one. */
static void check_line(const e911_record_t *rec, size_t small)
{
	char full[FZ_LINE_MAX];
	char *cut = malloc(small);
	int n;
	int m;

	FZ_ASSERT(cut != NULL, "malloc");
	n = e911_address_line(rec, full, sizeof(full));
	FZ_ASSERT(n >= 0 && (size_t)n == strlen(full) && (size_t)n < sizeof(full),
			"address line length %d", n);
	FZ_ASSERT(fz_utf8_ok(full, (size_t)n), "address line not UTF-8");
	FZ_ASSERT(!fz_has_control(full, (size_t)n, '\0'),
			"address line has a control character");
	m = e911_address_line(rec, cut, small);
	FZ_ASSERT(m >= 0 && (size_t)m == strlen(cut) && (size_t)m < small,
			"short address line length %d in %zu", m, small);
	FZ_ASSERT(m <= n && memcmp(cut, full, (size_t)m) == 0,
			"short address line is not a prefix of the full one");
	FZ_ASSERT(fz_utf8_ok(cut, (size_t)m), "short address line not UTF-8");
	FZ_ASSERT((size_t)n + 1 > small || m == n, "line shorter than it fits");
	free(cut);
}

/* to_json, parse, to_json: identical record and identical text. */
static void check_round_trip(const e911_record_t *rec)
{
	char err[256];
	char *j1 = e911_record_to_json(rec);
	char *j2;
	e911_record_t *back;
	e911_record_t *dup;

	FZ_ASSERT(j1 != NULL, "to_json failed");
	back = e911_record_parse(j1, strlen(j1), err, sizeof(err));
	if(back == NULL) {
		fprintf(stderr, "%s\n", j1);
		fz_fail("to_json output rejected: %s", err);
	}
	if(back->size != rec->size || memcmp(back, rec, rec->size) != 0) {
		fprintf(stderr, "%s\n", j1);
		fz_fail("parse(to_json(rec)) differs from rec");
	}
	j2 = e911_record_to_json(back);
	FZ_ASSERT(j2 != NULL && strcmp(j1, j2) == 0,
			"to_json differs after a round trip:\n%s\n%s", j1, j2);
	dup = e911_record_dup(rec);
	FZ_ASSERT(dup != NULL && memcmp(dup, rec, rec->size) == 0, "dup differs");
	free(dup);
	free(j2);
	free(back);
	free(j1);
}

void fz_check_outputs(const e911_record_t *rec, uint32_t knob)
{
	static const long retention[4] = {
			86400, 0, 365L * 86400, 99L * 366 * 86400};
	e911_pidf_opts_t opts;
	int n;

	fz_check_record(rec);
	opts = e911_pidf_options(FZ_DOMAIN, (time_t)(knob % 4000000000u));
	opts.retention_s = retention[(knob >> 4) % 4];
	n = e911_pidf_render(rec, &opts, pidf_buf, E911_PIDF_MAX);
	FZ_ASSERT(n > 0, "render failed for an accepted record");
	FZ_ASSERT((size_t)n == strlen(pidf_buf), "render length %d", n);
	FZ_ASSERT(!fz_has_control(pidf_buf, (size_t)n, '\n'),
			"PIDF-LO has a raw control character");
	FZ_ASSERT(fz_utf8_ok(pidf_buf, (size_t)n), "PIDF-LO is not UTF-8");
	check_pidf(rec, pidf_buf, n);
	check_line(rec, 1 + (knob >> 8) % 80);
	check_round_trip(rec);
}

int fz_parse_and_check(const char *json, size_t len, uint32_t knob)
{
	char err[256];
	e911_record_t *rec;

	err[0] = 'x';
	rec = e911_record_parse(json, len, err, sizeof(err));
	if(verbose)
		fprintf(stderr, "record %s%s\n",
				rec ? "accepted" : "rejected: ", rec ? "" : err);
	if(rec == NULL) {
		FZ_ASSERT(err[0] != '\0' && strlen(err) < sizeof(err),
				"rejected without a reason");
		return 0;
	}
	fz_check_outputs(rec, knob);
	free(rec);
	return 1;
}
