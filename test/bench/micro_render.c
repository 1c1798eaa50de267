/*
 * Micro-benchmark of the per-call rendering: e911_pidf_render() of a
 * typical record (test/data/pidf/full, civic and geodetic) and
 * e911_mime_add_parts() wrapping an SDP body (test/data/mime/sdp) with the
 * rendered document, each run N times (default 10000). Meant to be run
 * under callgrind, which counts instructions exactly:
 *
 *     cmake --build build --target e911_render_bench
 *     valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
 *         build/test/e911_render_bench test/data 10000
 *     callgrind_annotate --inclusive=yes /tmp/cg.out | grep -E 'render|add_parts'
 *
 * and divide the inclusive counts by N. Without valgrind it prints the
 * wall-clock time per call, which is only indicative.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e911_mime.h"
#include "e911_pidf.h"
#include "e911_record.h"

/* Reads dir/name whole into a malloc()ed NUL-terminated buffer. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *s;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if(f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
			|| fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	s = malloc((size_t)n + 1);
	if(s == NULL || fread(s, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	s[n] = '\0';
	*len = (size_t)n;
	return s;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const char hdrs[] = "Content-Type: application/pidf+xml\r\n"
							   "Content-ID: <0123456789abcdef@e911.example.net>"
							   "\r\n"
							   "Content-Disposition: by-reference;"
							   "handling=optional\r\n";
	const char *data = argc > 1 ? argv[1] : "test/data";
	long n = argc > 2 ? atol(argv[2]) : 10000;
	e911_pidf_opts_t opts = {
			"e911.example.net", (time_t)1795000000, 86400, NULL};
	char dir[4096];
	char err[256];
	char *json;
	char *body;
	char *ctype;
	char *pidf;
	size_t jlen;
	size_t blen;
	size_t ctlen;
	e911_record_t *rec;
	e911_mime_part_t part;
	e911_mime_edit_t ed;
	int plen = 0;
	double t0;
	double t1;
	double t2;

	snprintf(dir, sizeof(dir), "%s/pidf/full", data);
	json = slurp(dir, "record.json", &jlen);
	rec = e911_record_parse(json, jlen, err, sizeof(err));
	if(rec == NULL) {
		fprintf(stderr, "record: %s\n", err);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/mime/sdp", data);
	body = slurp(dir, "body", &blen);
	ctype = slurp(dir, "ctype", &ctlen);
	pidf = malloc(E911_PIDF_MAX);
	if(pidf == NULL)
		return 1;

	t0 = now_ns();
	for(long i = 0; i < n; i++) {
		plen = e911_pidf_render(rec, &opts, pidf, E911_PIDF_MAX);
		if(plen < 0) {
			fprintf(stderr, "render failed\n");
			return 1;
		}
	}
	t1 = now_ns();
	part.hdrs = hdrs;
	part.hlen = sizeof(hdrs) - 1;
	part.body = pidf;
	part.blen = (size_t)plen;
	for(long i = 0; i < n; i++) {
		if(e911_mime_add_parts(ctype, ctlen, body, blen, &part, 1,
				   "0123456789abcdef", &ed, err, sizeof(err))
				< 0) {
			fprintf(stderr, "mime: %s\n", err);
			return 1;
		}
		e911_mime_edit_free(&ed);
	}
	t2 = now_ns();
	printf("e911_pidf_render:    %d bytes, %.0f ns per call\n", plen,
			(t1 - t0) / n);
	printf("e911_mime_add_parts: %.0f ns per call\n", (t2 - t1) / n);
	free(pidf);
	free(ctype);
	free(body);
	free(rec);
	free(json);
	return 0;
}
