/*
 * e911 module - the entry line shared by the snapshot file and the DMQ bodies
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The one writer and reader of the entry line described in
 * e911_entry_line.h, used by e911_snapshot.c and e911_replication.c.
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#include "e911_entry_line.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int e911_line_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if(err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

json_t *e911_line_load(const char *line, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j;

	/* jansson's error text can quote the input: report the column only */
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if(j == NULL && json_error_code(&jerr) == json_error_duplicate_key) {
		e911_line_err(err, errlen, "duplicate member (column %d)", jerr.column);
		return NULL;
	}
	if(j == NULL) {
		e911_line_err(err, errlen, "not valid JSON (column %d)", jerr.column);
		return NULL;
	}
	if(!json_is_object(j)) {
		json_decref(j);
		e911_line_err(err, errlen, "not a JSON object");
		return NULL;
	}
	return j;
}

json_int_t e911_line_int_member(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	if(!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	return json_integer_value(v);
}

char *e911_line_key_json(const char *key, size_t klen)
{
	json_t *j;
	char *out;

	if(klen > E911_ENTRY_KEY_MAX || (key == NULL && klen > 0))
		return NULL;
	j = json_stringn(klen > 0 ? key : "", klen); /* NULL: not UTF-8 */
	if(j == NULL)
		return NULL;
	out = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(j);
	return out;
}

char *e911_entry_line(const char *prefix, const char *key, size_t klen,
		const char *time_name, int64_t time, const e911_record_t *rec,
		size_t *len)
{
	char *kjson;
	char *rjson = NULL;
	char *line = NULL;
	e911_record_t *back;
	char perr[128];
	size_t cap;
	int n;

	if(time < 0 || rec == NULL || rec->size <= offsetof(e911_record_t, pool)
			|| rec->size > E911_REC_MAX_SIZE)
		return NULL;
	kjson = e911_line_key_json(key, klen);
	if(kjson == NULL)
		return NULL;
	rjson = e911_record_to_json(rec);
	if(rjson == NULL)
		goto out;
	/* only write what the reader will take back */
	back = e911_record_parse(rjson, strlen(rjson), perr, sizeof(perr));
	if(back == NULL)
		goto out;
	free(back);
	cap = strlen(prefix) + strlen(kjson) + strlen(time_name) + strlen(rjson)
		  + 64;
	line = malloc(cap);
	if(line == NULL)
		goto out;
	n = snprintf(line, cap, "{%s\"key\":%s,\"%s\":%lld,\"record\":%s}\n",
			prefix, kjson, time_name, (long long)time, rjson);
	if(n <= 0 || (size_t)n - 1 > E911_ENTRY_MAX_LINE) {
		free(line);
		line = NULL;
		goto out;
	}
	*len = (size_t)n;
out:
	free(rjson);
	free(kjson);
	return line;
}

int e911_entry_from_json(json_t *j, const char *time_name, size_t extra,
		const char **key, size_t *klen, int64_t *time, e911_record_t **rec,
		char *err, size_t errlen)
{
	json_t *jkey = json_object_get(j, "key");
	json_t *jrec = json_object_get(j, "record");
	json_int_t t = e911_line_int_member(j, time_name);
	char *text;
	char perr[160];

	*rec = NULL;
	if(!json_is_string(jkey))
		return e911_line_err(err, errlen, "entry has no string \"key\"");
	if(json_string_length(jkey) > E911_ENTRY_KEY_MAX)
		return e911_line_err(
				err, errlen, "key longer than %d bytes", E911_ENTRY_KEY_MAX);
	if(t < 0)
		return e911_line_err(
				err, errlen, "entry has no valid \"%s\"", time_name);
	if(!json_is_object(jrec))
		return e911_line_err(err, errlen, "entry has no \"record\" object");
	if(json_object_size(j) != 3 + extra)
		return e911_line_err(err, errlen, "entry has unexpected members");
	text = json_dumps(jrec, JSON_COMPACT);
	if(text == NULL)
		return e911_line_err(err, errlen, "out of memory");
	*rec = e911_record_parse(text, strlen(text), perr, sizeof(perr));
	free(text);
	if(*rec == NULL)
		return e911_line_err(err, errlen, "invalid record: %s", perr);
	*key = json_string_value(jkey);
	*klen = json_string_length(jkey);
	*time = t;
	return 0;
}
