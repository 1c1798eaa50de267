/*
 * Unit tests: network membership for the "moved" hint, driven by
 * test/data/net/cases.txt.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "e911_cidr.h"
#include "testutil.h"

static void test_cases(void **state)
{
	char list[256], addr[128];
	char *line;
	int want, got, n = 0;
	tu_lines_t l;

	tu_lines_open(&l, E911_TEST_DATA "/net/cases.txt");
	while((line = tu_lines_next(&l)) != NULL) {
		assert_int_equal(sscanf(line, "%255s %127s %d", list, addr, &want), 3);
		got = e911_cidr_contains(list, addr, strlen(addr));
		if(got != want)
			fail_msg("'%s' contains '%s': %d, expected %d", list, addr, got,
					want);
		n++;
	}
	assert_true(n >= 15);
}

static void test_list_check(void **state)
{
	char err[128];

	assert_int_equal(e911_cidr_list_check(
							 "192.0.2.0/24, 2001:db8::/32", err, sizeof(err)),
			2);
	assert_int_equal(e911_cidr_list_check("", err, sizeof(err)), 0);
	assert_int_equal(e911_cidr_list_check(NULL, err, sizeof(err)), 0);
	assert_int_equal(
			e911_cidr_list_check("192.0.2.0/24,bogus", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "network 2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_cases),
			cmocka_unit_test(test_list_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
