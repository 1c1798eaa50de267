/*
 * e911 module - snapshot file of the location cache
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Writes and loads the snapshot file described in e911_snapshot.h.
 *
 * The writer streams lines through stdio into <path>.tmp.<pid>, keeping a
 * running FNV-1a 64 checksum, and makes the file visible under path only
 * with rename() after fsync(). Every entry it writes is one the loader will
 * accept, so one odd record can never get the whole snapshot rejected.
 *
 * The loader reads the whole file (bounded by E911_SNAP_MAX_FILE), checks
 * every line and parses every record into memory, and only then hands the
 * entries to the callback: a bad file is rejected before anything reaches
 * the cache. Error messages name the line and the problem and never quote
 * file content, because the content is personal data.
 *
 * Part of the module's pure core: no Kamailio headers.
 */

#include "e911_snapshot.h"

#include "e911_entry_line.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FNV_INIT 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* Room kept for the trailer line when bounding the file size. */
#define SNAP_TRAILER_MAX 128

struct e911_snap_writer
{
	FILE *f;
	char *path;		/* final name */
	char *tmp;		/* <path>.tmp.<pid> */
	uint64_t hash;	/* FNV-1a 64 of every byte written so far */
	uint64_t bytes; /* bytes written so far */
	int count;		/* entries written */
	int failed;		/* errno of the first write error, 0 = none */
};

/* One validated entry, held until the whole file has been checked. */
typedef struct snap_entry
{
	char *key;
	size_t klen;
	int64_t fetched_at;
	e911_record_t *rec;
} snap_entry_t;

/* State of a load. */
typedef struct snap_reader
{
	unsigned line; /* number of the line being checked */
	uint64_t hash; /* of the lines before the trailer */
	int trailer;   /* the trailer has been seen */
	snap_entry_t *v;
	size_t n;
	size_t cap;
	char *err;
	size_t errlen;
} snap_reader_t;

static uint64_t fnv1a(uint64_t h, const char *p, size_t n)
{
	for(size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* --- writer --- */

/* Writes len bytes and adds them to the checksum. Returns 0 or -1 (and the
 * writer is then failed). */
static int snap_put(e911_snap_writer_t *w, const char *data, size_t len)
{
	if(w->failed)
		return -1;
	if(fwrite(data, 1, len, w->f) != len) {
		w->failed = errno != 0 ? errno : EIO;
		return -1;
	}
	w->hash = fnv1a(w->hash, data, len);
	w->bytes += len;
	return 0;
}

static void snap_free(e911_snap_writer_t *w)
{
	if(w->f != NULL)
		fclose(w->f);
	free(w->path);
	free(w->tmp);
	free(w);
}

e911_snap_writer_t *e911_snap_open(const char *path, char *err, size_t errlen)
{
	e911_snap_writer_t *w;
	size_t tmplen;
	char head[80];
	int fd;
	int n;

	if(path == NULL || path[0] == '\0') {
		e911_line_err(err, errlen, "no snapshot path");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if(w == NULL) {
		e911_line_err(err, errlen, "out of memory");
		return NULL;
	}
	tmplen = strlen(path) + 32;
	w->path = strdup(path);
	w->tmp = malloc(tmplen);
	if(w->path == NULL || w->tmp == NULL) {
		snap_free(w);
		e911_line_err(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(w->tmp, tmplen, "%s.tmp.%ld", path, (long)getpid());
	/* a leftover of an earlier run with our pid: start afresh, so O_EXCL
	 * guarantees a new file of mode 0600 that is not a symlink */
	unlink(w->tmp);
	fd = open(
			w->tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if(fd < 0) {
		e911_line_err(
				err, errlen, "cannot create %s: %s", w->tmp, strerror(errno));
		snap_free(w);
		return NULL;
	}
	w->f = fdopen(fd, "w");
	if(w->f == NULL) {
		e911_line_err(
				err, errlen, "cannot open %s: %s", w->tmp, strerror(errno));
		close(fd);
		unlink(w->tmp);
		snap_free(w);
		return NULL;
	}
	w->hash = FNV_INIT;
	n = snprintf(head, sizeof(head),
			"{\"e911_snapshot\":%d,\"written_at\":%lld}\n", E911_SNAP_VERSION,
			(long long)time(NULL));
	if(snap_put(w, head, (size_t)n) < 0) {
		e911_line_err(err, errlen, "cannot write %s: %s", w->tmp,
				strerror(w->failed));
		e911_snap_abort(w);
		return NULL;
	}
	return w;
}

int e911_snap_add(e911_snap_writer_t *w, const char *key, size_t klen,
		int64_t fetched_at, const e911_record_t *rec)
{
	char *line;
	size_t len = 0;
	int rc = -1;

	if(w == NULL || w->failed)
		return -2;
	line = e911_entry_line("", key, klen, "fetched_at", fetched_at, rec, &len);
	if(line == NULL)
		return -1;
	if(w->bytes + len + SNAP_TRAILER_MAX <= E911_SNAP_MAX_FILE) {
		rc = snap_put(w, line, len) < 0 ? -2 : 0;
		if(rc == 0)
			w->count++;
	}
	free(line);
	return rc;
}

/* fsync()s the directory holding path, so the rename is on disk. */
static int snap_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;
	int rc;

	if(slash == NULL)
		dir = strdup(".");
	else if(slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if(dir == NULL)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if(fd < 0)
		return -1;
	rc = fsync(fd);
	if(rc != 0 && errno == EINVAL) /* file system cannot sync directories */
		rc = 0;
	close(fd);
	return rc;
}

int e911_snap_commit(e911_snap_writer_t *w, char *err, size_t errlen)
{
	char tail[96];
	int count;
	int fd;
	int rc;
	int n;

	if(w == NULL)
		return e911_line_err(err, errlen, "no snapshot writer");
	n = snprintf(tail, sizeof(tail),
			"{\"end\":true,\"count\":%d,\"checksum\":\"%016" PRIx64 "\"}\n",
			w->count, w->hash);
	snap_put(w, tail, (size_t)n);
	if(w->failed) {
		e911_line_err(err, errlen, "cannot write %s: %s", w->tmp,
				strerror(w->failed));
		goto fail;
	}
	fd = fileno(w->f);
	if(fflush(w->f) != 0 || fsync(fd) != 0) {
		e911_line_err(
				err, errlen, "cannot write %s: %s", w->tmp, strerror(errno));
		goto fail;
	}
	rc = fclose(w->f);
	w->f = NULL;
	if(rc != 0) {
		e911_line_err(
				err, errlen, "cannot close %s: %s", w->tmp, strerror(errno));
		goto fail;
	}
	if(rename(w->tmp, w->path) != 0) {
		e911_line_err(err, errlen, "cannot rename %s to %s: %s", w->tmp,
				w->path, strerror(errno));
		goto fail;
	}
	count = w->count;
	if(snap_sync_dir(w->path) != 0) {
		e911_line_err(err, errlen,
				"replaced %s, but syncing its directory failed: %s", w->path,
				strerror(errno));
		count = -1;
	}
	snap_free(w);
	return count;
fail:
	e911_snap_abort(w);
	return -1;
}

void e911_snap_abort(e911_snap_writer_t *w)
{
	if(w == NULL)
		return;
	if(w->f != NULL) {
		fclose(w->f);
		w->f = NULL;
	}
	unlink(w->tmp);
	snap_free(w);
}

/* --- loader --- */

/* Records a rejection of the current line; returns -1. */
static int line_err(snap_reader_t *r, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return e911_line_err(r->err, r->errlen, "line %u: %s", r->line, msg);
}

static int check_header(snap_reader_t *r, json_t *j)
{
	json_t *ver = json_object_get(j, "e911_snapshot");

	if(!json_is_integer(ver) || json_object_size(j) != 2
			|| e911_line_int_member(j, "written_at") < 0)
		return line_err(r, "not an e911 snapshot header");
	if(json_integer_value(ver) != E911_SNAP_VERSION)
		return line_err(r,
				"unsupported snapshot version %" JSON_INTEGER_FORMAT
				" (expected %d)",
				json_integer_value(ver), E911_SNAP_VERSION);
	return 0;
}

static int check_trailer(snap_reader_t *r, json_t *j)
{
	json_t *sum = json_object_get(j, "checksum");
	json_int_t count = e911_line_int_member(j, "count");
	char hex[17];

	if(!json_is_true(json_object_get(j, "end")) || count < 0
			|| !json_is_string(sum) || json_object_size(j) != 3)
		return line_err(r, "malformed trailer");
	if((uint64_t)count != r->n)
		return line_err(r,
				"trailer count %" JSON_INTEGER_FORMAT
				" does not match the %zu entries",
				count, r->n);
	snprintf(hex, sizeof(hex), "%016" PRIx64, r->hash);
	if(strcmp(json_string_value(sum), hex) != 0)
		return line_err(r, "checksum mismatch (file corrupt)");
	r->trailer = 1;
	return 0;
}

/* Checks an entry line and keeps what it holds. */
static int check_entry(snap_reader_t *r, json_t *j)
{
	snap_entry_t *e;
	e911_record_t *rec;
	const char *key;
	size_t klen;
	int64_t fetched_at;
	char msg[192];

	if(e911_entry_from_json(j, "fetched_at", 0, &key, &klen, &fetched_at, &rec,
			   msg, sizeof(msg))
			< 0)
		return line_err(r, "%s", msg);
	if(r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		snap_entry_t *v = realloc(r->v, cap * sizeof(*v));
		if(v == NULL) {
			free(rec);
			return line_err(r, "out of memory");
		}
		r->v = v;
		r->cap = cap;
	}
	e = &r->v[r->n];
	e->klen = klen;
	e->key = malloc(klen + 1);
	if(e->key == NULL) {
		free(rec);
		return line_err(r, "out of memory");
	}
	memcpy(e->key, key, klen + 1);
	e->fetched_at = fetched_at;
	e->rec = rec;
	r->n++;
	return 0;
}

/* Checks one line (without its newline). */
static int check_line(snap_reader_t *r, const char *line, size_t len)
{
	char msg[160];
	json_t *j;
	int rc;

	if(r->trailer)
		return line_err(r, "data after the trailer");
	j = e911_line_load(line, len, msg, sizeof(msg));
	if(j == NULL)
		return line_err(r, "%s", msg);
	if(r->line == 1)
		rc = check_header(r, j);
	else if(json_object_get(j, "end") != NULL)
		rc = check_trailer(r, j);
	else
		rc = check_entry(r, j);
	json_decref(j);
	return rc;
}

/* Checks every line of buf (len bytes). Returns 0 or -1. */
static int check_file(snap_reader_t *r, const char *buf, size_t len)
{
	size_t pos = 0;
	size_t max;
	const char *nl;
	size_t ll;

	if(len == 0)
		return e911_line_err(r->err, r->errlen, "empty file");
	while(pos < len) {
		r->line++;
		max = len - pos;
		if(max > E911_SNAP_MAX_LINE + 1)
			max = E911_SNAP_MAX_LINE + 1;
		nl = memchr(buf + pos, '\n', max);
		if(nl == NULL && max > E911_SNAP_MAX_LINE)
			return line_err(r, "longer than %u bytes", E911_SNAP_MAX_LINE);
		if(nl == NULL)
			return line_err(r, "no newline at the end (truncated file?)");
		ll = (size_t)(nl - (buf + pos));
		if(check_line(r, buf + pos, ll) < 0)
			return -1;
		if(!r->trailer)
			r->hash = fnv1a(r->hash, buf + pos, ll + 1);
		pos += ll + 1;
	}
	if(!r->trailer)
		return e911_line_err(r->err, r->errlen,
				"no trailer after line %u (truncated file?)", r->line);
	return 0;
}

/* Reads the whole file at path into *buf. Returns its size, -2 when there
 * is no file, or -1 with err set. */
static long read_snapshot(
		const char *path, char **buf, char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if(fd < 0 && errno == ENOENT)
		return -2;
	if(fd < 0)
		return e911_line_err(err, errlen, "cannot open: %s", strerror(errno));
	if(fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return e911_line_err(err, errlen, "not a regular file");
	}
	if(st.st_size > (off_t)E911_SNAP_MAX_FILE) {
		close(fd);
		return e911_line_err(
				err, errlen, "file larger than %u bytes", E911_SNAP_MAX_FILE);
	}
	*buf = malloc((size_t)st.st_size + 1);
	if(*buf == NULL) {
		close(fd);
		return e911_line_err(err, errlen, "out of memory");
	}
	while(got < (size_t)st.st_size) {
		n = read(fd, *buf + got, (size_t)st.st_size - got);
		if(n < 0 && errno == EINTR)
			continue;
		if(n < 0) {
			e911_line_err(err, errlen, "cannot read: %s", strerror(errno));
			close(fd);
			free(*buf);
			*buf = NULL;
			return -1;
		}
		if(n == 0) /* shrank while reading: the checks will say how */
			break;
		got += (size_t)n;
	}
	close(fd);
	return (long)got;
}

int e911_snap_load(const char *path, e911_snap_entry_f cb, void *arg, char *err,
		size_t errlen)
{
	snap_reader_t r;
	char *buf;
	long len;
	int taken = 0;
	int rc;

	if(path == NULL || path[0] == '\0')
		return e911_line_err(err, errlen, "no snapshot path");
	len = read_snapshot(path, &buf, err, errlen);
	if(len == -2)
		return 0;
	if(len < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.hash = FNV_INIT;
	r.err = err;
	r.errlen = errlen;
	rc = check_file(&r, buf, (size_t)len);
	free(buf);
	for(size_t i = 0; i < r.n; i++) {
		if(rc == 0
				&& (cb == NULL
						|| cb(r.v[i].key, r.v[i].klen, r.v[i].fetched_at,
								   r.v[i].rec, arg)
								   == 0))
			taken++;
		free(r.v[i].key);
		free(r.v[i].rec);
	}
	free(r.v);
	return rc == 0 ? taken : -1;
}
