/*
 * test_rules.c - lib/rules.h: the eligibility rules, one table row per
 * rule (README "Rules"; issue 15: grace from the move-out date whatever the
 * status, status conflicts).  Tonight is 2026-06-10 in every row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rules.h"

#define TONIGHT "2026-06-10"

struct row {
	const char *rule;    /* what the row shows */
	const char *exclude; /* ",...," */
	int lead, grace;
	const char *status, *move_in, *move_out;
	enum rules_verdict want;
	const char *why;
};

static const struct row rows[] = {
	{ "current, no move-out: granted", ",", -1, 0, "current", "2024-01-01", "", RULES_GRANT,
	  "" },
	{ "notice, move-out tomorrow: granted", ",", -1, 0, "notice", "", "2026-06-11", RULES_GRANT,
	  "" },
	{ "notice, move-out today: granted through the day", ",", -1, 0, "notice", "", "2026-06-10",
	  RULES_GRANT, "" },
	{ "notice, moved out yesterday, no grace: denied", ",", -1, 0, "notice", "", "2026-06-09",
	  RULES_DENY, "move_out" },
	{ "notice, moved out yesterday, 2 grace days: kept, not granted", ",", -1, 2, "notice", "",
	  "2026-06-09", RULES_KEEP, "move_out" },
	{ "current, moved out 2 days ago, 2 grace days: kept on the last day", ",", -1, 2,
	  "current", "", "2026-06-08", RULES_KEEP, "move_out" },
	{ "eviction, moved out 3 days ago, 2 grace days: denied", ",", -1, 2, "eviction", "",
	  "2026-06-07", RULES_DENY, "move_out" },
	{ "past, no move-out date: denied, no grace to run", ",", -1, 5, "past", "", "", RULES_DENY,
	  "move_out" },
	{ "past, moved out today, no grace: denied (past is already out)", ",", -1, 0, "past", "",
	  "2026-06-10", RULES_DENY, "move_out" },
	{ "past, moved out today, 1 grace day: kept", ",", -1, 1, "past", "", "2026-06-10",
	  RULES_KEEP, "move_out" },
	{ "past, moved out yesterday, no grace: denied", ",", -1, 0, "past", "", "2026-06-09",
	  RULES_DENY, "move_out" },
	{ "past, moved out yesterday, 2 grace days: kept (grace whatever the status)", ",", -1, 2,
	  "past", "", "2026-06-09", RULES_KEEP, "move_out" },
	{ "past, moved out 3 days ago, 2 grace days: denied", ",", -1, 2, "past", "", "2026-06-07",
	  RULES_DENY, "move_out" },
	{ "past, move-out date ahead, grace: kept, never granted", ",", -1, 2, "past", "",
	  "2026-06-20", RULES_KEEP, "move_out" },
	{ "past, move-out date ahead, no grace: denied", ",", -1, 0, "past", "", "2026-06-20",
	  RULES_DENY, "move_out" },
	{ "excluded status beats everything", ",notice,", -1, 9, "notice", "", "", RULES_DENY,
	  "status_excluded" },
	{ "future, no lead days: denied", ",", -1, 0, "future", "2026-06-10", "", RULES_DENY,
	  "status_change" },
	{ "future, lead 3, move-in in 3 days: granted", ",", 3, 0, "future", "2026-06-13", "",
	  RULES_GRANT, "" },
	{ "future, lead 3, move-in in 4 days: denied", ",", 3, 0, "future", "2026-06-14", "",
	  RULES_DENY, "status_change" },
	{ "applicant, lead 0, no move-in date: denied", ",", 0, 0, "applicant", "", "", RULES_DENY,
	  "status_change" },
	{ "cancelled: denied", ",", 5, 5, "cancelled", "2026-06-01", "", RULES_DENY,
	  "status_change" },
	{ "denied: denied", ",", 5, 5, "denied", "2026-06-01", "", RULES_DENY, "status_change" },
	{ "waitlist: denied", ",", 5, 5, "waitlist", "2026-06-01", "", RULES_DENY,
	  "status_change" },
};

static void rules_eligible_follows_the_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct rules_policy p = { r->exclude, r->lead, r->grace, TONIGHT };
		const char *why = NULL;
		enum rules_verdict got =
			rules_eligible(&p, r->status, r->move_in, r->move_out, &why);

		if (got != r->want || !why || strcmp(why, r->why))
			fail_msg("%s: verdict %d why '%s', expected %d '%s'", r->rule, (int)got,
				 why ? why : "(null)", (int)r->want, r->why);
	}
}

static void rules_dates_disagree_flags_status_against_move_in(void **state)
{
	struct rules_policy none = { ",", -1, 0, TONIGHT }, lead3 = { ",", 3, 0, TONIGHT };
	struct rules_policy no_notice = { ",notice,", -1, 0, TONIGHT };

	(void)state;
	/* current before the move-in: the status alone would give a key early */
	assert_true(rules_dates_disagree(&none, "current", "2026-09-01"));
	assert_true(rules_dates_disagree(&none, "notice", "2026-06-11"));
	assert_true(rules_dates_disagree(&none, "eviction", "2026-06-11"));
	assert_true(rules_dates_disagree(&lead3, "current", "2026-06-14"));
	/* within the lead days a future resident would be given it too */
	assert_false(rules_dates_disagree(&lead3, "current", "2026-06-13"));
	assert_false(rules_dates_disagree(&none, "current", "2026-06-10"));
	assert_false(rules_dates_disagree(&none, "current", "2024-01-01"));
	assert_false(rules_dates_disagree(&none, "current", ""));
	assert_false(rules_dates_disagree(&no_notice, "notice", "2026-09-01"));
	/* future on or after the move-in day, with no lead days: never granted */
	assert_true(rules_dates_disagree(&none, "future", "2026-06-10"));
	assert_true(rules_dates_disagree(&none, "applicant", "2011-03-01"));
	assert_false(rules_dates_disagree(&none, "future", "2026-06-11"));
	assert_false(rules_dates_disagree(&lead3, "future", "2026-06-10"));
	assert_false(rules_dates_disagree(&none, "future", ""));
	assert_false(rules_dates_disagree(&none, "past", "2026-09-01"));
	assert_false(rules_dates_disagree(&none, "cancelled", "2026-06-01"));
}

static void rules_status_conflict_holds_members_of_a_gone_household(void **state)
{
	(void)state;
	/* a roommate who says current, in a household whose primary moved out */
	assert_true(rules_status_conflict("roommate", RULES_GRANT, "past"));
	assert_true(rules_status_conflict("occupant", RULES_GRANT, "cancelled"));
	assert_true(rules_status_conflict("minor", RULES_KEEP, "denied"));
	/* the primary itself, a member who is out too, or a household still here */
	assert_false(rules_status_conflict("primary", RULES_GRANT, "past"));
	assert_false(rules_status_conflict("guarantor", RULES_GRANT, "past"));
	assert_false(rules_status_conflict("roommate", RULES_DENY, "past"));
	assert_false(rules_status_conflict("roommate", RULES_GRANT, "current"));
	assert_false(rules_status_conflict("roommate", RULES_GRANT, "notice"));
	assert_false(rules_status_conflict("roommate", RULES_GRANT, ""));
}

static void rules_name_key_folds_trims_and_collapses(void **state)
{
	char k[64];

	(void)state;
	rules_name_key("  Ann ", "LEE  Smith", k, sizeof(k));
	assert_string_equal(k, "ann lee smith");
	rules_name_key("ann", "lee smith", k, sizeof(k));
	assert_string_equal(k, "ann lee smith");
	rules_name_key(NULL, "Lee", k, sizeof(k));
	assert_string_equal(k, "lee");
	rules_name_key("", "", k, sizeof(k));
	assert_string_equal(k, "");
	rules_name_key("Zoë", "Ärger", k, sizeof(k)); /* Latin-1 capitals fold too */
	assert_string_equal(k, "zoë ärger");
	rules_name_key("JOSÉ", "DÍAZ", k, sizeof(k));
	assert_string_equal(k, "díaz josé");
	rules_name_key("José", "Díaz", k, sizeof(k));
	assert_string_equal(k, "díaz josé");
	rules_name_key("×", "Œ", k,
		       sizeof(k)); /* the sign, and letters past Latin-1: as they are */
	assert_string_equal(k, "× Œ");
	/* first and last swapped, or a word in the other field: one name */
	rules_name_key("Lee", "Ann", k, sizeof(k));
	assert_string_equal(k, "ann lee");
	rules_name_key("Mary Ann", "Lee", k, sizeof(k));
	assert_string_equal(k, "ann lee mary");
	rules_name_key("Mary", "Ann Lee", k, sizeof(k));
	assert_string_equal(k, "ann lee mary");
	rules_name_key("b", "a a b ab", k, sizeof(k));
	assert_string_equal(k, "a a ab b b");
	/* the whole length comes back, as snprintf(): cut, or not */
	assert_int_equal(rules_name_key("Alexandra", "Lee", k, 5), 13);
	assert_string_equal(k, "alex");
	assert_int_equal(rules_name_key("Alexandra", "Lee", k, 14), 13);
	assert_string_equal(k, "alexandra lee");
	assert_int_equal(rules_name_key("Zed", "Alexandra", k, 14), 13);
	assert_string_equal(k, "alexandra zed");
	assert_int_equal(rules_name_key(" Ann ", " Lee ", NULL, 0), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_eligible_follows_the_table),
		cmocka_unit_test(rules_dates_disagree_flags_status_against_move_in),
		cmocka_unit_test(rules_status_conflict_holds_members_of_a_gone_household),
		cmocka_unit_test(rules_name_key_folds_trims_and_collapses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
