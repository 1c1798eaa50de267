/*
 * e911 module - location records
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * A location record is the caller's dispatchable location as the location
 * service gave it, checked and normalised: RFC 5139 civic elements, optional
 * coordinates, callback number, routing target, provider endpoint id and
 * freshness hints.
 *
 * A record is one flat, position-independent block: a fixed header followed
 * by a pool of NUL-terminated strings addressed by 16-bit offsets. Copying a
 * record is a memcpy of rec->size bytes, which is what lets the shared-memory
 * cache store it verbatim and readers copy it out under a lock.
 *
 * This file is part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_RECORD_H
#define E911_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* String fields. The civic ones come first, in the order of the RFC 5139 /
 * RFC 6848 schema sequence, which is the order PIDF-LO must emit them in. */
typedef enum e911_field
{
	E911_CA_COUNTRY = 0,
	E911_CA_A1,
	E911_CA_A2,
	E911_CA_A3,
	E911_CA_A4,
	E911_CA_A5,
	E911_CA_A6,
	E911_CA_PRM,
	E911_CA_PRD,
	E911_CA_RD,
	E911_CA_STS,
	E911_CA_POD,
	E911_CA_POM,
	E911_CA_RDSEC,
	E911_CA_RDBR,
	E911_CA_RDSUBBR,
	E911_CA_HNO,
	E911_CA_HNS,
	E911_CA_LMK,
	E911_CA_LOC,
	E911_CA_FLR,
	E911_CA_NAM,
	E911_CA_PC,
	E911_CA_BLD,
	E911_CA_UNIT,
	E911_CA_ROOM,
	E911_CA_SEAT,
	E911_CA_PLC,
	E911_CA_PCN,
	E911_CA_POBOX,
	E911_CA_ADDCODE,
	/* RFC 6848 civicAddr:ext elements, emitted after the base ones */
	E911_CA_STP,
	E911_CA_HNP,
	E911_CA_MP,
	E911_CA_PN,
	E911_CA_COUNT, /* number of civic fields */

	/* non-civic strings */
	E911_F_KEY = E911_CA_COUNT, /* the key the service answered for */
	E911_F_CALLBACK,			/* callback number, E.164: '+' digits */
	E911_F_ROUTE,				/* route.uri: sip/sips/tel/urn URI */
	E911_F_UPDATED,				/* updated_at as given (RFC 3339) */
	E911_F_ENDPOINT_ID,			/* provider-assigned endpoint id */
	E911_F_NETWORKS,			/* registered networks, CIDRs joined by ',' */
	E911_F_MOBILITY,			/* Fixed, Nomadic, Mobile or Unknown */
	E911_F_COUNT
} e911_field_t;

/* rec->flags */
#define E911_REC_HAS_GEO (1u << 0)		 /* lat/lon present */
#define E911_REC_HAS_RADIUS (1u << 1)	 /* radius_m > 0 */
#define E911_REC_VALIDATED (1u << 2)	 /* "validated": true */
#define E911_REC_VALIDATED_SET (1u << 3) /* "validated" was present */
#define E911_REC_MULTI_FLOOR (1u << 4)	 /* site.multi_floor: true */
#define E911_REC_MULTI_UNIT (1u << 5)	 /* site.multi_unit: true */
/* never in a parsed record: the caller placed at a site of the site map
 * (e911_record_relocate), found by an address prefix or a WLAN BSSID; the
 * PIDF-LO method says so (Wiremap, 802.11) */
#define E911_REC_AT_SITE (1u << 6)
#define E911_REC_AT_SITE_BSSID (1u << 7)

/* A record larger than this (header and pool) is rejected as malformed. */
#define E911_REC_MAX_SIZE 16384
/* Longest accepted string value, in bytes, after normalisation. */
#define E911_VALUE_MAX 255
/* Largest accepted location-service answer (contract: 64 KiB). */
#define E911_BODY_MAX 65536
/* Longest endpoint_id: 1..64 characters of A-Z a-z 0-9 . _ - */
#define E911_ENDPOINT_ID_MAX 64
/* Most entries in a field map, and longest JSON pointer in one. */
#define E911_FIELDMAP_MAX 64
#define E911_POINTER_MAX 255

typedef struct e911_record
{
	uint32_t size;	/* bytes of the whole block, header and pool */
	uint32_t flags; /* E911_REC_* */
	double lat;		/* WGS84 degrees, valid with E911_REC_HAS_GEO */
	double lon;
	double radius_m;			/* uncertainty radius in metres, 0 = none */
	int64_t updated_at;			/* unix seconds of updated_at, 0 = not given */
	int32_t max_age;			/* seconds; -1 = not given */
	uint16_t off[E911_F_COUNT]; /* offset into pool, 0 = absent */
	char pool[];				/* pool[0] is always '\0' */
} e911_record_t;

/* Value of a string field, or NULL when the record does not have it. */
static inline const char *e911_rec_get(const e911_record_t *rec, int field)
{
	if(field < 0 || field >= E911_F_COUNT || rec->off[field] == 0)
		return NULL;
	return rec->pool + rec->off[field];
}

/* RFC 5139 element name of a civic field ("country", "A1", "FLR", ...), or
 * NULL for a field that is not civic. */
const char *e911_civic_name(int field);

/* Civic field for an RFC 5139 element name (exact, case-sensitive), or -1. */
int e911_civic_field(const char *name, size_t len);

/* Parses a location-service answer (contract v1, docs/location-api.md) into
 * a newly malloc()ed record (free() it). Applies the contract's
 * normalisation: country upper-cased or dropped, CR/LF/TAB to spaces, other
 * control characters removed, numbers to decimal text, callback to E.164.
 * "endpoint_id" (a string or integer of 1..64 characters of A-Z a-z 0-9
 * . _ -) is the provider-assigned endpoint identifier; any other value
 * rejects the record, because it is meant for a SIP header.
 * On error returns NULL and writes one human-readable reason (that never
 * contains a location value) into err. On success err is empty, or says
 * which values were left out (an unusable country or callback) so the
 * caller can warn. */
e911_record_t *e911_record_parse(
		const char *json, size_t len, char *err, size_t errlen);

/*
 * Field maps let the module read location services whose answers are not
 * shaped like contract v1. A map names, for each record field it fills, the
 * RFC 6901 JSON pointer of its value in the answer:
 *
 *     HNO=/house_number;RD=/street_name;A3=/locality;PC=/postal_code;
 *     country=/country_code;callback=/phone;route=/routing/uri
 *
 * Entries are separated by ';' (blanks around entries and around '=' are
 * ignored; a pointer cannot contain ';'). A target is an RFC 5139/6848
 * civic element name (case-sensitive: "country", "A1", "HNO", ...) or one
 * of key, callback, route, lat, lon, radius_m, validated, updated_at,
 * max_age, endpoint_id; each at most once. A pointer is "/" followed by
 * reference tokens separated by "/", where "~1" stands for "/" and "~0"
 * for "~" (any other "~" is an error); a token of digits indexes an array
 * ("0", "12"; no leading zeros). A pointer that leads nowhere leaves its
 * field absent; only mapped fields are read.
 */
typedef struct e911_fieldmap e911_fieldmap_t;

/* Parses a field-map spec into a malloc()ed map (e911_fieldmap_free()), or
 * returns NULL with a reason in err. */
e911_fieldmap_t *e911_fieldmap_parse(
		const char *spec, char *err, size_t errlen);

/* Frees a field map; NULL is ignored. */
void e911_fieldmap_free(e911_fieldmap_t *fm);

/* Like e911_record_parse() (same errors and warnings), with each mapped
 * field read from where fm points: the values are checked and normalised
 * exactly as contract v1's (the same code does it), so an answer read
 * through a map and the equivalent contract-v1 answer give byte-identical
 * records. fm NULL means contract v1. */
e911_record_t *e911_record_parse_mapped(const char *json, size_t len,
		const e911_fieldmap_t *fm, char *err, size_t errlen);

/* Checks a URI for use as a Request-URI: sip:, sips:, tel: or urn:, at most
 * 255 bytes, no whitespace, control characters, '<', '>' or '"'.
 * Returns 0 when acceptable, -1 otherwise. */
int e911_uri_check(const char *uri, size_t len);

/* Narrows s[0..*n) to the number inside a tel: or sip:/sips: URI: the user
 * part, up to '@' or ';'. Plain numbers are left as they are. */
const char *e911_number_user_part(const char *s, size_t *n);

/* Normalises a callback number to E.164 ("+" and 8..15 digits) into out
 * (at least 17 bytes). Accepts "+1 (312) 555-0100", "tel:+13125550100",
 * "sip:+13125550100@host", and 10-digit NANP numbers (prefixed with +1).
 * Returns 0 on success, -1 when the value is not a usable number. */
int e911_e164_normalize(const char *in, size_t len, char *out, size_t outlen);

/* Serialises a record back to contract-v1 JSON (used by the snapshot file
 * and the RPC), endpoint_id included. Returns a malloc()ed NUL-terminated
 * string or NULL. */
char *e911_record_to_json(const e911_record_t *rec);

/* Builds a record from the location members of a JSON object (a jansson
 * json_t): "civic", "geo" and "route", read, checked and normalised exactly
 * as in a location record; every other member is ignored. key (1..
 * E911_VALUE_MAX bytes, or NULL) becomes its key. For documents other than
 * location-service answers that carry locations (the site map). Returns a
 * malloc()ed record, or NULL with a reason in err (which never quotes a
 * value); on success err may say which values were left out. */
struct json_t;
e911_record_t *e911_record_from_location(
		const struct json_t *obj, const char *key, char *err, size_t errlen);

/* A new malloc()ed record that places who at where: the location (civic,
 * geo, route) of where and the caller's own fields of who (key, callback,
 * endpoint id, mobility; who may be NULL), with no updated_at (the document
 * is timestamped when rendered) and validated set. NULL when out of memory
 * or when where has no location. */
e911_record_t *e911_record_relocate(
		const e911_record_t *who, const e911_record_t *where);

/* Returns a malloc()ed copy of rec (rec->size bytes), or NULL. */
e911_record_t *e911_record_dup(const e911_record_t *rec);

#endif
