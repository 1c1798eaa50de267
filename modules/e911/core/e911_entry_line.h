/*
 * e911 module - the entry line shared by the snapshot file and the DMQ bodies
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * One location record with its key and a time, as one JSON object on one
 * line, in the snapshot file (e911_snapshot.h) and in the replication
 * messages (e911_replication.h):
 *
 *   {[<prefix>]"key":<key>,"<time name>":<unix s>,"record":{<contract v1>}}
 *
 * The snapshot's entries and the put items: no prefix, time "fetched_at".
 * The token items: prefix "token":"<32 hex>", time "expires".
 *
 * The writer writes only what the reader takes back (the record goes
 * through the location-service parser again); the reader checks the
 * members and parses the record with that parser. Reasons never quote a
 * value: the lines carry personal data.
 *
 * Also the small helpers both formats' other lines use (errors, loading a
 * line, integer members, a key as a JSON string).
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_ENTRY_LINE_H
#define E911_ENTRY_LINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "e911_record.h"

/* Longest key, bytes (as the cache's E911_KEY_MAX). */
#define E911_ENTRY_KEY_MAX 255
/* Longest entry line, bytes without the newline. */
#define E911_ENTRY_MAX_LINE (128u * 1024)

/* Formats a reason into err (when there is one); returns -1. */
int e911_line_err(char *err, size_t errlen, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

/* Loads one line (len bytes, without its newline) as a JSON object,
 * refusing duplicate members; NULL with the reason ("not valid JSON
 * (column N)", "duplicate member (column N)", "not a JSON object") in err. */
json_t *e911_line_load(const char *line, size_t len, char *err, size_t errlen);

/* Integer member name of obj, or -1 when it is missing, not an integer or
 * negative. */
json_int_t e911_line_int_member(json_t *obj, const char *name);

/* key (klen bytes) as a JSON string literal (malloc'd), or NULL when it is
 * longer than E911_ENTRY_KEY_MAX, not UTF-8, or memory runs out. */
char *e911_line_key_json(const char *key, size_t klen);

/* The entry line (newline included, *len bytes, malloc'd) of key, time
 * (named time_name) and rec, after prefix ("" or members ending in ','). NULL
 * when it cannot be written: key too long or not UTF-8, negative time, a
 * record that would not parse back, a line over E911_ENTRY_MAX_LINE, or no
 * memory. */
char *e911_entry_line(const char *prefix, const char *key, size_t klen,
		const char *time_name, int64_t time, const e911_record_t *rec,
		size_t *len);

/* Checks the entry object j: a string "key" of at most E911_ENTRY_KEY_MAX
 * bytes, a non-negative integer time_name, a "record" object the
 * location-service parser takes, and nothing else but extra other members
 * (checked by the caller). On success *key and *klen point into j, *time is
 * set and *rec is the parsed record (malloc'd). Returns 0, or -1 with the
 * reason in err. */
int e911_entry_from_json(json_t *j, const char *time_name, size_t extra,
		const char **key, size_t *klen, int64_t *time, e911_record_t **rec,
		char *err, size_t errlen);

#endif
