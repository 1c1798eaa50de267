/*
 * e911 module - RFC 7852 additional data: ProviderInfo and ServiceInfo
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Renders the blocks described in e911_additional_data.h. Each render first runs the
 * matching check (so nothing is written for an invalid block), then
 * appends the elements in schema order with e911_xml_escape() from the
 * PIDF renderer. List values (Language, ServiceType) are split on commas
 * and trimmed of blanks. Language tags are matched against the schema's
 * own regular expression (translated to POSIX ERE: \d is [0-9], anchors
 * added because XSD patterns match the whole value).
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "e911_additional_data.h"
#include "e911_text.h"
#include "e911_record.h"

/* Longest single language tag accepted. */
#define ADDL_LANG_MAX 64

/* The Language pattern of the ProviderInfo schema (RFC 7852), as ERE. */
static const char lang_pattern[] =
		"^(([a-z]{2,3}((-[a-z]{3}){0,3})?|[a-z]{4,8})(-[a-z]{4})?"
		"(-([a-z]{2}|[0-9]{3}))?(-([0-9a-z]{5,8}|[0-9][0-9a-z]{3}))*"
		"(-[0-9a-wyz](-[0-9a-z]{2,8})+)*(-x(-[0-9a-z]{1,8})+)?"
		"|x(-[0-9a-z]{1,8})+|[a-z]{1,3}(-[0-9a-z]{2,8}){1,2})$";

static const char *const provider_types[] = {"Access Infrastructure Provider",
		"Service Provider", "Service Provider Subcontractor",
		"Telecom Provider", "Relay Provider", "Other", NULL};
static const char *const id_series[] = {"NENA", "EENA", "domain", NULL};
static const char *const environments[] = {
		"Business", "Residence", "unknown", NULL};
static const char *const mobilities[] = {
		"Fixed", "Nomadic", "Mobile", "Unknown", NULL};

/* Writes a reason into err (when there is room); returns -1. */
static int addl_fail(char *err, size_t errlen, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

static int addl_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if(err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int given(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Whether s is one of the NULL-terminated list (exact match). */
static int one_of(const char *s, const char *const *list)
{
	for(; *list != NULL; list++) {
		if(strcmp(s, *list) == 0)
			return 1;
	}
	return 0;
}

/* Whether s[0..n) is well-formed UTF-8 without C0/C1 controls or DEL. */
static int text_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while(i < n) {
		uint32_t c = u[i];
		size_t k;
		uint32_t min;

		if(c < 0x80) {
			if(c < 0x20 || c == 0x7F)
				return 0;
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
		if(n - i < k)
			return 0;
		for(size_t j = 1; j < k; j++) {
			if((u[i + j] & 0xC0) != 0x80)
				return 0;
			c = (c << 6) | (u[i + j] & 0x3F);
		}
		if(c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)
				|| (c >= 0x80 && c <= 0x9F) || c == 0xFFFE || c == 0xFFFF)
			return 0;
		i += k;
	}
	return 1;
}

/* A required or optional text element value. Returns 0 or -1. */
static int check_text(
		const char *v, int required, const char *what, char *err, size_t errlen)
{
	size_t n;

	if(!given(v)) {
		if(required)
			return addl_fail(err, errlen, "%s is required", what);
		return 0;
	}
	n = strlen(v);
	if(n > E911_ADDL_VALUE_MAX)
		return addl_fail(err, errlen, "%s is longer than %d bytes", what,
				E911_ADDL_VALUE_MAX);
	if(!text_ok(v, n) || v[0] == ' ' || v[n - 1] == ' ')
		return addl_fail(err, errlen,
				"%s must be UTF-8 text without control characters or "
				"surrounding spaces",
				what);
	return 0;
}

/* DataProviderReference: visible ASCII, no < > " ' & backslash. */
static int check_reference(const char *v, char *err, size_t errlen)
{
	size_t n;

	if(!given(v))
		return addl_fail(err, errlen, "DataProviderReference is required");
	n = strlen(v);
	if(n > E911_ADDL_VALUE_MAX)
		return addl_fail(err, errlen,
				"DataProviderReference is longer than %d bytes",
				E911_ADDL_VALUE_MAX);
	for(size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if(c <= 0x20 || c >= 0x7F || strchr("<>\"'&\\", c) != NULL)
			return addl_fail(err, errlen,
					"DataProviderReference must be visible ASCII without "
					"< > \" ' & or backslash");
	}
	return 0;
}

/* ContactURI: sip:, sips: or tel:, and e911_uri_check() clean. */
static int check_contact(const char *v, char *err, size_t errlen)
{
	if(!given(v))
		return addl_fail(err, errlen, "ContactURI is required");
	if((strncasecmp(v, "sip:", 4) != 0 && strncasecmp(v, "sips:", 5) != 0
			   && strncasecmp(v, "tel:", 4) != 0)
			|| e911_uri_check(v, strlen(v)) < 0)
		return addl_fail(err, errlen,
				"ContactURI must be a sip:, sips: or tel: URI without blanks, "
				"controls, < > or \"");
	return 0;
}

int e911_language_check(const char *tag, size_t len)
{
	char low[ADDL_LANG_MAX + 1];
	regex_t re;
	int rc;

	if(tag == NULL || len == 0 || len > ADDL_LANG_MAX)
		return -1;
	for(size_t i = 0; i < len; i++) {
		char c = tag[i];

		if(c >= 'A' && c <= 'Z')
			c = (char)(c + ('a' - 'A'));
		if(!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return -1;
		low[i] = c;
	}
	low[len] = '\0';
	if(regcomp(&re, lang_pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return -1;
	rc = regexec(&re, low, 0, NULL, 0);
	regfree(&re);
	return rc == 0 ? 0 : -1;
}

/* A comma-separated list of 1..E911_ADDL_LIST_MAX items; kind 'L' checks
 * language tags, 'T' service-type tokens. Returns 0 or -1. */
static int check_list(
		const char *v, int kind, const char *what, char *err, size_t errlen)
{
	const char *p = v;
	const char *item;
	size_t n;
	int count = 0;

	if(!given(v))
		return addl_fail(err, errlen, "%s is required", what);
	while(e911_list_next(&p, ',', E911_BLANKS, &item, &n)) {
		if(n == 0)
			return addl_fail(err, errlen, "%s has an empty item", what);
		if(++count > E911_ADDL_LIST_MAX)
			return addl_fail(err, errlen, "%s has more than %d items", what,
					E911_ADDL_LIST_MAX);
		if(kind == 'L' && e911_language_check(item, n) < 0)
			return addl_fail(err, errlen,
					"%s: item %d is not an RFC 5646 language tag", what, count);
		if(kind == 'T' && n > E911_ADDL_VALUE_MAX)
			return addl_fail(err, errlen, "%s: item %d is longer than %d bytes",
					what, count, E911_ADDL_VALUE_MAX);
		for(size_t i = 0; kind == 'T' && i < n; i++) {
			char c = item[i];

			if(!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
					   || (c >= '0' && c <= '9') || c == '-'))
				return addl_fail(err, errlen,
						"%s: item %d must be letters, digits and '-'", what,
						count);
		}
	}
	return 0;
}

int e911_providerinfo_check(const e911_provider_t *p, char *err, size_t errlen)
{
	if(err != NULL && errlen > 0)
		err[0] = '\0';
	if(p == NULL)
		return addl_fail(err, errlen, "no ProviderInfo");
	if(check_reference(p->reference, err, errlen) < 0)
		return -1;
	return e911_providerinfo_check_settings(p, err, errlen);
}

int e911_providerinfo_check_settings(
		const e911_provider_t *p, char *err, size_t errlen)
{
	if(err != NULL && errlen > 0)
		err[0] = '\0';
	if(p == NULL)
		return addl_fail(err, errlen, "no ProviderInfo");
	if(check_text(p->name, 1, "DataProviderString", err, errlen) < 0
			|| check_text(p->id, 0, "ProviderID", err, errlen) < 0)
		return -1;
	if(given(p->id) && !given(p->id_series))
		return addl_fail(
				err, errlen, "ProviderIDSeries is required with ProviderID");
	if(!given(p->id) && given(p->id_series))
		return addl_fail(
				err, errlen, "ProviderIDSeries is given without ProviderID");
	if(given(p->id_series) && !one_of(p->id_series, id_series))
		return addl_fail(
				err, errlen, "ProviderIDSeries must be NENA, EENA or domain");
	if(!given(p->type))
		return addl_fail(err, errlen, "TypeOfProvider is required");
	if(!one_of(p->type, provider_types))
		return addl_fail(err, errlen,
				"TypeOfProvider must be Access Infrastructure Provider, "
				"Service Provider, Service Provider Subcontractor, Telecom "
				"Provider, Relay Provider or Other");
	if(check_contact(p->contact_uri, err, errlen) < 0)
		return -1;
	return check_list(p->language, 'L', "Language", err, errlen);
}

int e911_serviceinfo_check(const e911_svcinfo_t *s, char *err, size_t errlen)
{
	if(err != NULL && errlen > 0)
		err[0] = '\0';
	if(s == NULL)
		return addl_fail(err, errlen, "no ServiceInfo");
	if(check_reference(s->reference, err, errlen) < 0)
		return -1;
	return e911_serviceinfo_check_settings(s, err, errlen);
}

int e911_serviceinfo_check_settings(
		const e911_svcinfo_t *s, char *err, size_t errlen)
{
	if(err != NULL && errlen > 0)
		err[0] = '\0';
	if(s == NULL)
		return addl_fail(err, errlen, "no ServiceInfo");
	if(given(s->environment) && !one_of(s->environment, environments))
		return addl_fail(err, errlen,
				"ServiceEnvironment must be Business, Residence or unknown");
	if(check_list(s->type, 'T', "ServiceType", err, errlen) < 0)
		return -1;
	if(!given(s->mobility))
		return addl_fail(err, errlen, "ServiceMobility is required");
	if(!one_of(s->mobility, mobilities))
		return addl_fail(err, errlen,
				"ServiceMobility must be Fixed, Nomadic, Mobile or Unknown");
	return 0;
}

/* Appends the NUL-terminated s verbatim. Returns 0 or -1 (no room). */
static int put(char *buf, size_t size, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if(*pos + n >= size)
		return -1;
	memcpy(buf + *pos, s, n + 1);
	*pos += n;
	return 0;
}

/* Appends "  <pfx:name>" value "</pfx:name>\n"; v[0..n) is escaped and
 * lower-cased when lower is set. Returns 0 or -1. */
static int element(char *buf, size_t size, size_t *pos, const char *pfx,
		const char *name, const char *v, size_t n, int lower)
{
	char low[ADDL_LANG_MAX + 1];

	if(lower) {
		if(n > ADDL_LANG_MAX)
			return -1;
		for(size_t i = 0; i < n; i++)
			low[i] = (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] + 32) : v[i];
		v = low;
	}
	if(put(buf, size, pos, "  <") < 0 || put(buf, size, pos, pfx) < 0
			|| put(buf, size, pos, ":") < 0 || put(buf, size, pos, name) < 0
			|| put(buf, size, pos, ">") < 0
			|| e911_xml_escape(buf, size, pos, v, n) < 0
			|| put(buf, size, pos, "</") < 0 || put(buf, size, pos, pfx) < 0
			|| put(buf, size, pos, ":") < 0 || put(buf, size, pos, name) < 0
			|| put(buf, size, pos, ">\n") < 0)
		return -1;
	return 0;
}

/* element() for a NUL-terminated value given or not (optional). */
static int opt_element(char *buf, size_t size, size_t *pos, const char *pfx,
		const char *name, const char *v)
{
	if(!given(v))
		return 0;
	return element(buf, size, pos, pfx, name, v, strlen(v), 0);
}

/* One element per item of a comma-separated list. */
static int list_elements(char *buf, size_t size, size_t *pos, const char *pfx,
		const char *name, const char *list, int lower)
{
	const char *p = list;
	const char *item;
	size_t n;

	while(e911_list_next(&p, ',', E911_BLANKS, &item, &n)) {
		if(element(buf, size, pos, pfx, name, item, n, lower) < 0)
			return -1;
	}
	return 0;
}

/* Opens the document: declaration and root element with its namespace. */
static int open_doc(char *buf, size_t size, size_t *pos, const char *pfx,
		const char *root, const char *ns)
{
	if(put(buf, size, pos, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<") < 0
			|| put(buf, size, pos, pfx) < 0 || put(buf, size, pos, ":") < 0
			|| put(buf, size, pos, root) < 0
			|| put(buf, size, pos, " xmlns:") < 0
			|| put(buf, size, pos, pfx) < 0 || put(buf, size, pos, "=\"") < 0
			|| put(buf, size, pos, ns) < 0 || put(buf, size, pos, "\">\n") < 0)
		return -1;
	return 0;
}

static int close_doc(
		char *buf, size_t size, size_t *pos, const char *pfx, const char *root)
{
	if(put(buf, size, pos, "</") < 0 || put(buf, size, pos, pfx) < 0
			|| put(buf, size, pos, ":") < 0 || put(buf, size, pos, root) < 0
			|| put(buf, size, pos, ">\n") < 0)
		return -1;
	return 0;
}

int e911_providerinfo_render(const e911_provider_t *p, char *buf, size_t size)
{
	static const char pfx[] = "pi";
	static const char root[] = "EmergencyCallData.ProviderInfo";
	size_t pos = 0;

	if(buf == NULL || size == 0)
		return E911_ADDL_ENOSPACE;
	buf[0] = '\0';
	if(e911_providerinfo_check(p, NULL, 0) < 0)
		return E911_ADDL_EINVAL;
	if(open_doc(buf, size, &pos, pfx, root, E911_PROVIDERINFO_NS) < 0
			|| opt_element(buf, size, &pos, pfx, "DataProviderReference",
					   p->reference)
					   < 0
			|| opt_element(buf, size, &pos, pfx, "DataProviderString", p->name)
					   < 0
			|| opt_element(buf, size, &pos, pfx, "ProviderID", p->id) < 0
			|| opt_element(
					   buf, size, &pos, pfx, "ProviderIDSeries", p->id_series)
					   < 0
			|| opt_element(buf, size, &pos, pfx, "TypeOfProvider", p->type) < 0
			|| opt_element(buf, size, &pos, pfx, "ContactURI", p->contact_uri)
					   < 0
			|| list_elements(buf, size, &pos, pfx, "Language", p->language, 1)
					   < 0
			|| close_doc(buf, size, &pos, pfx, root) < 0) {
		buf[0] = '\0';
		return E911_ADDL_ENOSPACE;
	}
	return (int)pos;
}

int e911_serviceinfo_render(const e911_svcinfo_t *s, char *buf, size_t size)
{
	static const char pfx[] = "svc";
	static const char root[] = "EmergencyCallData.ServiceInfo";
	size_t pos = 0;

	if(buf == NULL || size == 0)
		return E911_ADDL_ENOSPACE;
	buf[0] = '\0';
	if(e911_serviceinfo_check(s, NULL, 0) < 0)
		return E911_ADDL_EINVAL;
	if(open_doc(buf, size, &pos, pfx, root, E911_SERVICEINFO_NS) < 0
			|| opt_element(buf, size, &pos, pfx, "DataProviderReference",
					   s->reference)
					   < 0
			|| opt_element(buf, size, &pos, pfx, "ServiceEnvironment",
					   s->environment)
					   < 0
			|| list_elements(buf, size, &pos, pfx, "ServiceType", s->type, 0)
					   < 0
			|| opt_element(buf, size, &pos, pfx, "ServiceMobility", s->mobility)
					   < 0
			|| close_doc(buf, size, &pos, pfx, root) < 0) {
		buf[0] = '\0';
		return E911_ADDL_ENOSPACE;
	}
	return (int)pos;
}
