/*
 * test_unitname.c - lib/unitname.h: unit names normalized, building
 * prefixes split off, and the pairs `unitsync map suggest` proposes, with
 * the ambiguity that keeps a pair from being applied unattended.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unitname.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void assert_norm(const char *name, const char *want)
{
	char out[UNITNAME_MAX];
	int n = unitname_normalize(name, out, sizeof(out));

	if (n < 0 || strcmp(out, want) != 0 || (size_t)n != strlen(want))
		fail_msg("unitname_normalize('%s') gave '%s' (%d), expected '%s'", name, out, n,
			 want);
}

static void assert_split(const char *name, int want_rc, const char *want_building,
			 const char *want_unit)
{
	char b[UNITNAME_MAX], u[UNITNAME_MAX];
	int rc = unitname_split(name, b, sizeof(b), u, sizeof(u));

	if (rc != want_rc || strcmp(b, want_building) || strcmp(u, want_unit))
		fail_msg("unitname_split('%s') gave %d '%s' '%s', expected %d '%s' '%s'", name, rc,
			 b, u, want_rc, want_building, want_unit);
}

static void assert_rule(const char *p, const char *l, enum unitname_rule want)
{
	enum unitname_rule got = unitname_compare(p, l);

	if (got != want)
		fail_msg("unitname_compare('%s', '%s') gave %s, expected %s", p, l,
			 unitname_rule_name(got), unitname_rule_name(want));
}

/* --------------------------------------------------------- normalize */

static void normalize_folds_case(void **state)
{
	(void)state;
	assert_norm("PH1", "ph1");
	assert_norm("Penthouse A", "penthousea");
	assert_norm("b-101", "b101");
	assert_norm("B-101", "b101");
}

static void normalize_drops_spaces_hash_and_punctuation(void **state)
{
	(void)state;
	assert_norm("  101  ", "101");
	assert_norm("#101", "101");
	assert_norm("# 101", "101");
	assert_norm("101.", "101");
	assert_norm("B 101", "b101");
	assert_norm("B/101", "b101");
	assert_norm("(B) 101", "b101");
	assert_norm("B_101", "b101");
	assert_norm("\t12A\t", "12a");
}

static void normalize_drops_unit_designators(void **state)
{
	(void)state;
	assert_norm("Apt 101", "101");
	assert_norm("APT. 101", "101");
	assert_norm("Apartment 101", "101");
	assert_norm("Unit 101", "101");
	assert_norm("unit #101", "101");
	assert_norm("Suite 200", "200");
	assert_norm("Ste. 200", "200");
	assert_norm("No. 7", "7");
	assert_norm("Number 7", "7");
	assert_norm("Apt101", "101");
	assert_norm("APT#101", "101");
	assert_norm("Unit5B", "5b");
}

static void normalize_keeps_words_that_only_start_like_designators(void **state)
{
	(void)state;
	/* "Note", "Units", "Stewart" are not designators */
	assert_norm("Note 5", "note5");
	assert_norm("Units 5", "units5");
	assert_norm("Stewart 1", "stewart1");
	/* a designator glued to letters is a word of its own */
	assert_norm("Aptx", "aptx");
}

static void normalize_drops_leading_zeros_of_each_digit_run(void **state)
{
	(void)state;
	assert_norm("0101", "101");
	assert_norm("Apt #0101", "101");
	assert_norm("#0305", "305");
	assert_norm("A0101", "a101");
	assert_norm("0A", "0a");
	assert_norm("0", "0");
	assert_norm("000", "0");
	assert_norm("100", "100");
	assert_norm("1010", "1010");
	assert_norm("B01-007", "b1-7");
}

static void normalize_keeps_digit_runs_of_different_words_apart(void **state)
{
	(void)state;
	assert_norm("1 01", "1-1");
	assert_norm("1-01", "1-1");
	assert_norm("11", "11");
	assert_norm("2-101", "2-101");
	assert_norm("2101", "2101");
	assert_norm("2A 101", "2a101");
}

static void normalize_of_nothing_is_empty(void **state)
{
	char out[8];

	(void)state;
	assert_norm("", "");
	assert_norm("Apt #", "");
	assert_norm("---", "");
	assert_int_equal(unitname_normalize(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void normalize_keeps_utf8_bytes(void **state)
{
	(void)state;
	assert_norm("1\xc3\xa8re \xc3\xa9tage 1", "1\xc3\xa8re\xc3\xa9tage1");
	assert_norm("Maison \xc3\x89t\xc3\xa9 3", "maison\xc3\x89t\xc3\xa9"
						  "3");
}

static void normalize_refuses_a_key_that_does_not_fit(void **state)
{
	char out[4];

	(void)state;
	assert_int_equal(unitname_normalize("101", out, sizeof(out)), 3);
	assert_int_equal(unitname_normalize("1010", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(unitname_normalize("1010", out, 0), -1);
}

/* ------------------------------------------------------------- split */

static void split_the_documented_examples(void **state)
{
	(void)state;
	assert_split("B-101", 1, "b", "101");
	assert_split("01-A101", 1, "1", "a101");
	assert_split("Bldg 2 Apt 101", 1, "2", "101");
	assert_split("Building 3 - 101", 1, "3", "101");
}

static void split_building_words(void **state)
{
	(void)state;
	assert_split("BLDG 2, APT 101", 1, "2", "101");
	assert_split("Bld 2 #101", 1, "2", "101");
	assert_split("Bldg2 101", 1, "2", "101");
	assert_split("Building A Unit 0203", 1, "a", "203");
	assert_split("building 12 - 3", 1, "12", "3");
	/* a building and no unit: no split */
	assert_split("Bldg 2", 0, "", "bldg2");
	assert_split("Building", 0, "", "building");
}

static void split_short_first_word(void **state)
{
	(void)state;
	assert_split("A 204", 1, "a", "204");
	assert_split("B/204", 1, "b", "204");
	assert_split("Apt B-101", 1, "b", "101");
	assert_split("12-101", 1, "12", "101");
	assert_split("WEST-101", 1, "west", "101");
	/* longer first words are names, not buildings */
	assert_split("North-101", 0, "", "north101");
	/* the rest must hold a unit number */
	assert_split("101-A", 0, "", "101a");
	assert_split("B-X", 0, "", "bx");
}

static void split_leaves_glued_letters_alone(void **state)
{
	(void)state;
	assert_split("B204", 0, "", "b204");
	assert_split("101", 0, "", "101");
	assert_split("Apt #0101", 0, "", "101");
	assert_split("", 0, "", "");
	assert_split("Apt", 0, "", "");
}

static void split_refuses_what_does_not_fit(void **state)
{
	char b[2], u[4];

	(void)state;
	assert_int_equal(unitname_split("B-1010", b, sizeof(b), u, sizeof(u)), -1);
	assert_string_equal(b, "");
	assert_string_equal(u, "");
	assert_int_equal(unitname_split("B-101", b, sizeof(b), u, sizeof(u)), 1);
	assert_string_equal(b, "b");
	assert_string_equal(u, "101");
}

/* ----------------------------------------------------------- compare */

static void compare_exact(void **state)
{
	(void)state;
	assert_rule("101", "101", UNITNAME_EXACT);
	assert_rule("Apt 101", "Apt 101", UNITNAME_EXACT);
	/* a name that normalizes to nothing still matches itself */
	assert_rule("Apt", "Apt", UNITNAME_EXACT);
	assert_rule("", "", UNITNAME_NONE);
	assert_rule(NULL, NULL, UNITNAME_NONE);
}

static void compare_normalized(void **state)
{
	(void)state;
	assert_rule("Apt 101", "101", UNITNAME_NORMALIZED);
	assert_rule("Apt #0101", "101", UNITNAME_NORMALIZED);
	assert_rule("#0305", "305", UNITNAME_NORMALIZED);
	assert_rule("0101", "101", UNITNAME_NORMALIZED);
	assert_rule("apt 101", "APT 101", UNITNAME_NORMALIZED);
	assert_rule("B-101", "b101", UNITNAME_NORMALIZED);
	assert_rule("Unit 12A", "12 a", UNITNAME_NORMALIZED);
}

static void compare_unit_number(void **state)
{
	(void)state;
	assert_rule("B-204", "204", UNITNAME_UNIT_NUMBER);
	assert_rule("204", "B-204", UNITNAME_UNIT_NUMBER);
	assert_rule("Bldg 2 Apt 101", "101", UNITNAME_UNIT_NUMBER);
	assert_rule("Building 3 - 101", "Apt 101", UNITNAME_UNIT_NUMBER);
	assert_rule("01-A101", "A101", UNITNAME_UNIT_NUMBER);
	assert_rule("Bldg 2 Apt 101", "2-101", UNITNAME_UNIT_NUMBER);
	assert_rule("Building 2 - 0101", "Bldg 2 #101", UNITNAME_UNIT_NUMBER);
}

static void compare_never_matches_different_buildings_or_units(void **state)
{
	(void)state;
	assert_rule("A-101", "B-101", UNITNAME_NONE);
	assert_rule("Bldg 1 Apt 101", "Bldg 2 Apt 101", UNITNAME_NONE);
	assert_rule("101", "102", UNITNAME_NONE);
	assert_rule("B204", "204", UNITNAME_NONE);
	assert_rule("1 01", "11", UNITNAME_NONE);
	assert_rule("1010", "101", UNITNAME_NONE);
	assert_rule("101A", "101", UNITNAME_NONE);
	assert_rule("Apt #", "Unit", UNITNAME_NONE);
}

static void rule_names_and_confidences(void **state)
{
	(void)state;
	assert_string_equal(unitname_rule_name(UNITNAME_EXACT), "exact");
	assert_string_equal(unitname_rule_name(UNITNAME_NORMALIZED), "normalized");
	assert_string_equal(unitname_rule_name(UNITNAME_UNIT_NUMBER), "unit-number");
	assert_string_equal(unitname_rule_name(UNITNAME_NONE), "none");
	assert_true(unitname_confidence(UNITNAME_EXACT) == 1.0);
	assert_true(unitname_confidence(UNITNAME_NORMALIZED) == 0.9);
	assert_true(unitname_confidence(UNITNAME_UNIT_NUMBER) == 0.6);
	assert_true(unitname_confidence(UNITNAME_NONE) == 0.0);
}

/* ------------------------------------------------------------- match */

/* One expected pair, by the names rather than indexes. */
struct want {
	const char *pms;
	const char *latch;
	enum unitname_rule rule;
	int safe;
};

static void assert_match(const char *const *pms, size_t n_pms, const char *const *latch,
			 size_t n_latch, const struct want *want, size_t n_want)
{
	struct unitname_pair *got = NULL;
	size_t n = 0;

	assert_int_equal(unitname_match(pms, n_pms, latch, n_latch, &got, &n), 0);
	for (size_t k = 0; k < n || k < n_want; k++) {
		if (k >= n || k >= n_want)
			fail_msg("%zu pairs, expected %zu (pair %zu: %s)", n, n_want, k,
				 k < n ? pms[got[k].pms] : want[k].pms);
		if (strcmp(pms[got[k].pms], want[k].pms) ||
		    strcmp(latch[got[k].latch], want[k].latch) || got[k].rule != want[k].rule ||
		    got[k].safe != want[k].safe)
			fail_msg("pair %zu: '%s' -> '%s' %s safe=%d, expected '%s' -> '%s' %s safe=%d",
				 k, pms[got[k].pms], latch[got[k].latch],
				 unitname_rule_name(got[k].rule), got[k].safe, want[k].pms,
				 want[k].latch, unitname_rule_name(want[k].rule), want[k].safe);
	}
	free(got);
}

static void match_a_messy_building(void **state)
{
	static const char *const pms[] = { "101", "Apt 102", "B-204", "#0305", "Office", "999" };
	static const char *const latch[] = { "101", "102", "204", "305", "Lobby" };
	static const struct want want[] = {
		{ "101", "101", UNITNAME_EXACT, 1 },
		{ "Apt 102", "102", UNITNAME_NORMALIZED, 1 },
		{ "B-204", "204", UNITNAME_UNIT_NUMBER, 0 },
		{ "#0305", "305", UNITNAME_NORMALIZED, 1 },
	};

	(void)state;
	assert_match(pms, COUNT(pms), latch, COUNT(latch), want, COUNT(want));
}

static void match_two_pms_units_on_one_latch_unit_are_not_safe(void **state)
{
	/* 0101 and 101 are different PMS units (docs/ARCHITECTURE.md §5) */
	static const char *const pms[] = { "0101", "101", "102" };
	static const char *const latch[] = { "101", "102" };
	static const struct want want[] = {
		{ "0101", "101", UNITNAME_NORMALIZED, 0 },
		{ "101", "101", UNITNAME_EXACT, 0 },
		{ "102", "102", UNITNAME_EXACT, 1 },
	};

	(void)state;
	assert_match(pms, COUNT(pms), latch, COUNT(latch), want, COUNT(want));
}

static void match_one_pms_unit_on_two_latch_units_is_not_safe(void **state)
{
	static const char *const pms[] = { "Apt 7" };
	static const char *const latch[] = { "7", "Unit 7", "#0007" };
	static const struct want want[] = {
		{ "Apt 7", "7", UNITNAME_NORMALIZED, 0 },
		{ "Apt 7", "Unit 7", UNITNAME_NORMALIZED, 0 },
		{ "Apt 7", "#0007", UNITNAME_NORMALIZED, 0 },
	};

	(void)state;
	assert_match(pms, COUNT(pms), latch, COUNT(latch), want, COUNT(want));
}

static void match_unit_number_only_when_unambiguous(void **state)
{
	/* 101 could be A-101 or B-101: neither is proposed; 204 is only
	 * C-204; 9 is Bldg 4 Apt 9, as Bldg 5 Apt 9 is another building */
	static const char *const pms[] = { "A-101", "B-101", "C-204", "Bldg 4 Apt 9" };
	static const char *const latch[] = { "101", "204", "9", "Bldg 5 Apt 9" };
	static const struct want want[] = {
		{ "C-204", "204", UNITNAME_UNIT_NUMBER, 0 },
		{ "Bldg 4 Apt 9", "9", UNITNAME_UNIT_NUMBER, 0 },
	};
	/* and the other way round: two Latch units for one PMS unit */
	static const char *const pms2[] = { "101" };
	static const char *const latch2[] = { "A-101", "B-101" };

	(void)state;
	assert_match(pms, COUNT(pms), latch, COUNT(latch), want, COUNT(want));
	assert_match(pms2, COUNT(pms2), latch2, COUNT(latch2), NULL, 0);
}

static void match_unit_number_yields_to_stronger_rules(void **state)
{
	/* Latch 101 matches PMS 101 exactly: B-101 is not offered it */
	static const char *const pms[] = { "101", "B-101" };
	static const char *const latch[] = { "101" };
	static const struct want want[] = {
		{ "101", "101", UNITNAME_EXACT, 1 },
	};
	/* a PMS unit with a normalized match gets no unit-number pair */
	static const char *const pms2[] = { "B-101" };
	static const char *const latch2[] = { "B101", "101" };
	static const struct want want2[] = {
		{ "B-101", "B101", UNITNAME_NORMALIZED, 1 },
	};

	(void)state;
	assert_match(pms, COUNT(pms), latch, COUNT(latch), want, COUNT(want));
	assert_match(pms2, COUNT(pms2), latch2, COUNT(latch2), want2, COUNT(want2));
}

static void match_exact_beside_normalized_is_ambiguous(void **state)
{
	/* the building has both "101" and "Apt 101": a person must choose */
	static const char *const pms[] = { "101" };
	static const char *const latch[] = { "Apt 101", "101" };
	static const struct want want[] = {
		{ "101", "Apt 101", UNITNAME_NORMALIZED, 0 },
		{ "101", "101", UNITNAME_EXACT, 0 },
	};

	(void)state;
	assert_match(pms, COUNT(pms), latch, COUNT(latch), want, COUNT(want));
}

static void match_ignores_empty_names_and_handles_empty_sides(void **state)
{
	static const char *const pms[] = { "", NULL, "Apt #", "5" };
	static const char *const latch[] = { "", NULL, "Unit", "5" };
	static const struct want want[] = {
		{ "5", "5", UNITNAME_EXACT, 1 },
	};
	struct unitname_pair *got = (struct unitname_pair *)1;
	size_t n = 99;

	(void)state;
	assert_match(pms, COUNT(pms), latch, COUNT(latch), want, COUNT(want));
	assert_int_equal(unitname_match(pms, 0, latch, COUNT(latch), &got, &n), 0);
	assert_null(got);
	assert_int_equal(n, 0);
	assert_int_equal(unitname_match(pms, COUNT(pms), latch, 0, &got, &n), 0);
	assert_null(got);
	assert_int_equal(n, 0);
}

static void match_a_large_building(void **state)
{
	enum {
		N = 600
	};
	char *pms_buf[N], *latch_buf[N];
	const char *pms[N], *latch[N];
	struct unitname_pair *got = NULL;
	size_t n = 0, safe = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		pms_buf[i] = malloc(32);
		latch_buf[i] = malloc(32);
		assert_non_null(pms_buf[i]);
		assert_non_null(latch_buf[i]);
		snprintf(pms_buf[i], 32, "Apt %04d", i + 1);
		snprintf(latch_buf[i], 32, "%d", N - i);
		pms[i] = pms_buf[i];
		latch[i] = latch_buf[i];
	}
	assert_int_equal(unitname_match(pms, N, latch, N, &got, &n), 0);
	assert_int_equal(n, N);
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(got[k].pms, k);
		assert_int_equal(got[k].latch, N - 1 - k);
		assert_int_equal(got[k].rule, UNITNAME_NORMALIZED);
		safe += (size_t)got[k].safe;
	}
	assert_int_equal(safe, N);
	free(got);
	for (int i = 0; i < N; i++) {
		free(pms_buf[i]);
		free(latch_buf[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normalize_folds_case),
		cmocka_unit_test(normalize_drops_spaces_hash_and_punctuation),
		cmocka_unit_test(normalize_drops_unit_designators),
		cmocka_unit_test(normalize_keeps_words_that_only_start_like_designators),
		cmocka_unit_test(normalize_drops_leading_zeros_of_each_digit_run),
		cmocka_unit_test(normalize_keeps_digit_runs_of_different_words_apart),
		cmocka_unit_test(normalize_of_nothing_is_empty),
		cmocka_unit_test(normalize_keeps_utf8_bytes),
		cmocka_unit_test(normalize_refuses_a_key_that_does_not_fit),
		cmocka_unit_test(split_the_documented_examples),
		cmocka_unit_test(split_building_words),
		cmocka_unit_test(split_short_first_word),
		cmocka_unit_test(split_leaves_glued_letters_alone),
		cmocka_unit_test(split_refuses_what_does_not_fit),
		cmocka_unit_test(compare_exact),
		cmocka_unit_test(compare_normalized),
		cmocka_unit_test(compare_unit_number),
		cmocka_unit_test(compare_never_matches_different_buildings_or_units),
		cmocka_unit_test(rule_names_and_confidences),
		cmocka_unit_test(match_a_messy_building),
		cmocka_unit_test(match_two_pms_units_on_one_latch_unit_are_not_safe),
		cmocka_unit_test(match_one_pms_unit_on_two_latch_units_is_not_safe),
		cmocka_unit_test(match_unit_number_only_when_unambiguous),
		cmocka_unit_test(match_unit_number_yields_to_stronger_rules),
		cmocka_unit_test(match_exact_beside_normalized_is_ambiguous),
		cmocka_unit_test(match_ignores_empty_names_and_handles_empty_sides),
		cmocka_unit_test(match_a_large_building),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
