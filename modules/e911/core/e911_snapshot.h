/*
 * e911 module - snapshot file of the location cache
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The snapshot file holds the last good location records, written
 * periodically and at shutdown and loaded at start-up, so that a restart
 * during a location-service outage still routes emergency calls with a
 * location.
 *
 * Format: JSON lines (UTF-8, one object per line, each ending in '\n'):
 *
 *   {"e911_snapshot":1,"written_at":<unix s>}
 *   {"key":"...","fetched_at":<unix s>,"record":{<contract v1 record>}}
 *                (the entry line, e911_entry_line.h)
 *   ...
 *   {"end":true,"count":<entries>,"checksum":"<16 hex digits>"}
 *
 * The checksum is FNV-1a 64 over every byte before the trailer line (the
 * header and the entry lines, newlines included).
 *
 * Writing goes to <path>.tmp.<pid> (mode 0600: locations are personal data)
 * and is renamed over path only once it is complete and on disk, so path
 * always holds either the old snapshot or the new one. The writer does no
 * locking: the caller collects the entries first and writes them outside
 * any lock.
 *
 * Loading validates the whole file before handing out a single entry: a
 * truncated or corrupt snapshot is rejected as a whole with one error
 * message (line number and what is wrong, never a location value).
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#ifndef E911_SNAPSHOT_H
#define E911_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "e911_entry_line.h"
#include "e911_record.h"

#define E911_SNAP_VERSION 1
/* Largest snapshot file accepted (and written), bytes. */
#define E911_SNAP_MAX_FILE (512u * 1024 * 1024)
/* Longest line accepted (and written), bytes without the newline. */
#define E911_SNAP_MAX_LINE E911_ENTRY_MAX_LINE
/* Longest key, bytes (as the cache's E911_KEY_MAX). */
#define E911_SNAP_KEY_MAX E911_ENTRY_KEY_MAX

typedef struct e911_snap_writer e911_snap_writer_t;

/* Creates <path>.tmp.<pid> (mode 0600) and writes the header line. Returns
 * a writer, or NULL with the reason in err. */
e911_snap_writer_t *e911_snap_open(const char *path, char *err, size_t errlen);

/* Appends one entry. Returns 0 when written; -1 when the entry was skipped
 * (key too long or not UTF-8, negative fetched_at, a record that would not
 * load back, or the file would grow past E911_SNAP_MAX_FILE) and the writer
 * is still usable; -2 on a write error (the writer has failed: commit will
 * report it, or call abort). */
int e911_snap_add(e911_snap_writer_t *w, const char *key, size_t klen,
		int64_t fetched_at, const e911_record_t *rec);

/* Writes the trailer, syncs the file, renames it over path and syncs the
 * directory; always frees w. Returns the number of entries written, or -1
 * with the reason in err (the temporary file is then removed and path left
 * as it was, unless err says only the directory sync failed). */
int e911_snap_commit(e911_snap_writer_t *w, char *err, size_t errlen);

/* Removes the temporary file and frees w; path is left as it was. */
void e911_snap_abort(e911_snap_writer_t *w);

/* Receives one loaded entry; key, klen and rec are valid only during the
 * call (copy what is kept). Returns 0 when the entry was taken, anything
 * else when it was not (e.g. cache full or too old). */
typedef int (*e911_snap_entry_f)(const char *key, size_t klen,
		int64_t fetched_at, const e911_record_t *rec, void *arg);

/* Loads the snapshot at path: validates the whole file first, then calls cb
 * once per entry in file order (cb NULL: only validates). Returns the number
 * of entries cb took (all of them when cb is NULL), 0 when there is no file
 * (first start), or -1 when the file is rejected (cb is then never called)
 * with the reason in err. */
int e911_snap_load(const char *path, e911_snap_entry_f cb, void *arg, char *err,
		size_t errlen);

#endif
