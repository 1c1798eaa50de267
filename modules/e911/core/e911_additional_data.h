/*
 * e911 module - RFC 7852 additional data: ProviderInfo and ServiceInfo
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Renders the two RFC 7852 "additional data" blocks an NG911/NG112 profile
 * sends with an emergency call (Call-Info purpose
 * EmergencyCallData.ProviderInfo / .ServiceInfo): who provides the service
 * and how to reach them around the clock, and what kind of service it is.
 *
 * Elements are emitted in the schema's order (test/xsd/providerinfo.xsd,
 * serviceinfo.xsd); optional ones only when given. Values are checked
 * before anything is written, so a block is either complete and
 * schema-valid or not rendered at all:
 * - text values (DataProviderString, ProviderID, ServiceType, ...) are
 *   1..E911_ADDL_VALUE_MAX bytes of UTF-8 without control characters, and
 *   are XML-escaped;
 * - DataProviderReference is 1..E911_ADDL_VALUE_MAX visible ASCII
 *   characters other than < > " ' & and backslash (e.g. a random id
 *   "@" the host);
 * - TypeOfProvider is one of the registry values "Access Infrastructure
 *   Provider", "Service Provider", "Service Provider Subcontractor",
 *   "Telecom Provider", "Relay Provider", "Other";
 * - ProviderIDSeries is "NENA", "EENA" or "domain", and is required when
 *   ProviderID is given (and not allowed without it);
 * - ContactURI is a sip:, sips: or tel: URI (a 24/7 contact) without
 *   blanks, controls, < > or ";
 * - Language is one or more RFC 5646 tags separated by commas ("en",
 *   "en-US,es"), lower-cased on output and each matching the schema's
 *   pattern; one Language element per tag;
 * - ServiceEnvironment is "Business", "Residence" or "unknown" (optional);
 * - ServiceType is one or more comma-separated tokens of letters, digits
 *   and '-' ("VOIP", "MLTS-hosted", "wireless", "POTS"); one element each;
 * - ServiceMobility is "Fixed", "Nomadic", "Mobile" or "Unknown".
 *
 * Rendering writes into a caller buffer and never allocates.
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_ADDL_H
#define E911_ADDL_H

#include <stddef.h>

/* Longest value of one element, in bytes (before escaping). */
#define E911_ADDL_VALUE_MAX 255
/* Most Language or ServiceType elements in one block. */
#define E911_ADDL_LIST_MAX 8
/* A buffer of this size always holds a rendered block. */
#define E911_ADDL_MAX 16384

/* Results of the render functions besides a length. */
#define E911_ADDL_ENOSPACE -1 /* buf too small */
#define E911_ADDL_EINVAL -2	  /* a value is missing or invalid */

#define E911_PROVIDERINFO_NS \
	"urn:ietf:params:xml:ns:EmergencyCallData:ProviderInfo"
#define E911_SERVICEINFO_NS \
	"urn:ietf:params:xml:ns:EmergencyCallData:ServiceInfo"

/* EmergencyCallData.ProviderInfo; NULL or "" means not given. */
typedef struct e911_provider
{
	const char *reference;	 /* DataProviderReference, required */
	const char *name;		 /* DataProviderString, required */
	const char *id;			 /* ProviderID, optional */
	const char *id_series;	 /* ProviderIDSeries, with id only */
	const char *type;		 /* TypeOfProvider, required */
	const char *contact_uri; /* ContactURI, required */
	const char *language;	 /* Language tag(s), comma-separated, required */
} e911_provider_t;

/* EmergencyCallData.ServiceInfo; NULL or "" means not given. */
typedef struct e911_svcinfo
{
	const char *reference;	 /* DataProviderReference, required */
	const char *environment; /* ServiceEnvironment, optional */
	const char *type;		 /* ServiceType(s), comma-separated, required */
	const char *mobility;	 /* ServiceMobility, required */
} e911_svcinfo_t;

/* Checks every value of p. Returns 0, or -1 with the offending element
 * named in err (values are configuration, and are not quoted). */
int e911_providerinfo_check(const e911_provider_t *p, char *err, size_t errlen);

/* The same for the configured values alone: every value but reference,
 * which each call sets (start-up checks of the modparams). */
int e911_providerinfo_check_settings(
		const e911_provider_t *p, char *err, size_t errlen);

/* Renders p as an EmergencyCallData.ProviderInfo document into buf
 * (NUL-terminated). Returns its length, E911_ADDL_ENOSPACE or
 * E911_ADDL_EINVAL. */
int e911_providerinfo_render(const e911_provider_t *p, char *buf, size_t size);

/* Checks every value of s. Returns 0, or -1 with the reason in err. */
int e911_serviceinfo_check(const e911_svcinfo_t *s, char *err, size_t errlen);

/* The same for the configured values alone (all but reference). */
int e911_serviceinfo_check_settings(
		const e911_svcinfo_t *s, char *err, size_t errlen);

/* Renders s as an EmergencyCallData.ServiceInfo document into buf
 * (NUL-terminated). Returns its length, E911_ADDL_ENOSPACE or
 * E911_ADDL_EINVAL. */
int e911_serviceinfo_render(const e911_svcinfo_t *s, char *buf, size_t size);

/* Checks one RFC 5646 language tag (any case) against the ProviderInfo
 * schema's pattern after lower-casing. Returns 0 or -1. */
int e911_language_check(const char *tag, size_t len);

#endif
