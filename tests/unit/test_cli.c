/*
 * test_cli.c - lib/cli.h's cli_nearest_name(), which every "did you mean"
 * goes through (a mistyped command or verb, a configuration key, a
 * property id: lib/stg's stg_property_unknown()): within two edits, a swap
 * of neighbouring letters one edit, letter case aside, never the name
 * itself nor one with nothing in common.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli.h"

static const char *const props[] = { "oak", "elm", "Oakwood-North", "p1", NULL };

static void test_typos(void **state)
{
	(void)state;
	assert_string_equal(cli_nearest_name("oaak", props), "oak"); /* a letter extra */
	assert_string_equal(cli_nearest_name("ok", props), "oak");   /* missing */
	assert_string_equal(cli_nearest_name("oek", props), "oak");  /* wrong */
	assert_string_equal(cli_nearest_name("oka", props), "oak");  /* swapped */
	assert_string_equal(cli_nearest_name("p9", props), "p1");
	/* two swaps: 2 edits (Levenshtein would count 4) */
	assert_string_equal(cli_nearest_name("Aokwood-Nroth", props), "Oakwood-North");
}

static void test_letter_case(void **state)
{
	(void)state;
	assert_string_equal(cli_nearest_name("OAK", props), "oak");
	assert_string_equal(cli_nearest_name("oakwood-north", props), "Oakwood-North");
	/* the same letters in another case beat a one-letter typo */
	static const char *const two[] = { "Oak1", "oak", NULL };
	assert_string_equal(cli_nearest_name("oak1", two), "Oak1");
}

static void test_not_near(void **state)
{
	(void)state;
	assert_null(cli_nearest_name("oak", props));     /* itself */
	assert_null(cli_nearest_name("maple", props));   /* 3+ edits from all */
	assert_null(cli_nearest_name("oakwood", props)); /* 6 from Oakwood-North */
	assert_null(cli_nearest_name("zz", props));      /* 2 edits, nothing in common */
	assert_null(cli_nearest_name("x", (const char *const[]){ "y", NULL }));
	assert_null(cli_nearest_name("oak", (const char *const[]){ NULL }));
	/* over 64 bytes: never */
	assert_null(cli_nearest_name(
		"oak-0123456789012345678901234567890123456789012345678901234567890",
		(const char *const[]){
			"oak-0123456789012345678901234567890123456789012345678901234567891",
			NULL }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typos),
		cmocka_unit_test(test_letter_case),
		cmocka_unit_test(test_not_near),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
