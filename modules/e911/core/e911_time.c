/*
 * e911 module - RFC 3339 times
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* This file is part of the module's pure core: no Kamailio headers. */

#include "e911_text.h"
#include "e911_time.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int64_t yoe;
	int64_t doy;
	int64_t doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The date of a day count since 1970-01-01 (civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era;
	int64_t doe;
	int64_t yoe;
	int64_t doy;
	int64_t mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = {
			31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Writes v as exactly width decimal digits (zero-padded) at p. */

int e911_time_format(int64_t t, char *buf, size_t size)
{
	int64_t days;
	int64_t secs;
	int64_t y;
	int m;
	int d;

	if(buf == NULL || size < 21)
		return -1;
	/* 0001-01-01 .. 9999-12-31: four year digits; xs:dateTime has no 0000 */
	if(t < -62135596800LL || t > 253402300799LL)
		return -1;
	days = t / 86400;
	secs = t % 86400;
	if(secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* by hand: this runs for every emergency call (printf is most of the
	 * cost of rendering otherwise) */
	e911_put_digits(buf, (unsigned long long)y, 4);
	buf[4] = '-';
	e911_put_digits(buf + 5, (unsigned long long)m, 2);
	buf[7] = '-';
	e911_put_digits(buf + 8, (unsigned long long)d, 2);
	buf[10] = 'T';
	e911_put_digits(buf + 11, (unsigned long long)(secs / 3600), 2);
	buf[13] = ':';
	e911_put_digits(buf + 14, (unsigned long long)(secs / 60 % 60), 2);
	buf[16] = ':';
	e911_put_digits(buf + 17, (unsigned long long)(secs % 60), 2);
	buf[19] = 'Z';
	buf[20] = '\0';
	return 20;
}

/* Reads exactly n decimal digits at s; returns the value or -1. */
static int digits_at(const char *s, int n)
{
	int v = 0;

	for(int i = 0; i < n; i++) {
		if(s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parses the time zone at s[0..n): "Z" or "+HH:MM"/"-HH:MM" into seconds
 * east of UTC. Returns 0 or -1. */
static int parse_offset(const char *s, size_t n, int *off)
{
	int h;
	int mi;

	if(n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*off = 0;
		return 0;
	}
	if(n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
		return -1;
	h = digits_at(s + 1, 2);
	mi = digits_at(s + 4, 2);
	if(h < 0 || h > 23 || mi < 0 || mi > 59)
		return -1;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600 + mi * 60);
	return 0;
}

int e911_time_parse(const char *s, size_t len, int64_t *out)
{
	int y, mo, d, h, mi, sec, off;
	size_t i = 19;

	/* full-date "T" partial-time: YYYY-MM-DDTHH:MM:SS */
	if(s == NULL || out == NULL || len < 20 || s[4] != '-' || s[7] != '-'
			|| (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	y = digits_at(s, 4);
	mo = digits_at(s + 5, 2);
	d = digits_at(s + 8, 2);
	h = digits_at(s + 11, 2);
	mi = digits_at(s + 14, 2);
	sec = digits_at(s + 17, 2);
	if(y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0
			|| h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -1;
	/* time-secfrac: "." 1*DIGIT, not kept */
	if(s[i] == '.') {
		i++;
		if(i >= len || s[i] < '0' || s[i] > '9')
			return -1;
		while(i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if(parse_offset(s + i, len - i, &off) < 0)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	return 0;
}
