/*
 * test_status.c - lib/status.h: PMS lease statuses and household roles
 * mapped to the words of lib/status.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "status.h"

static const char *const normalized[] = {
	"applicant", "future",    "current", "notice",   "eviction",
	"past",      "cancelled", "denied",  "waitlist", "unknown",
};

#define N_NORMALIZED (sizeof(normalized) / sizeof(normalized[0]))

static void assert_status(const char *raw, const char *want)
{
	const char *got = status_normalize(raw);

	if (!got || strcmp(got, want) != 0)
		fail_msg("status_normalize('%s') gave '%s', expected '%s'", raw,
			 got ? got : "(null)", want);
}

static void assert_role(const char *raw, const char *want)
{
	const char *got = role_normalize(raw);

	if (!got || strcmp(got, want) != 0)
		fail_msg("role_normalize('%s') gave '%s', expected '%s'", raw, got ? got : "(null)",
			 want);
}

static void status_normalize_maps_yardi_customer_types(void **state)
{
	(void)state;
	assert_status("current resident", "current");
	assert_status("former resident", "past");
	assert_status("future resident", "future");
	assert_status("applicant", "applicant");
}

static void status_normalize_ignores_case_spaces_underscores_and_hyphens(void **state)
{
	(void)state;
	assert_status("On_Notice", "notice");
	assert_status("on notice", "notice");
	assert_status("ON-NOTICE", "notice");
	assert_status("  On Notice  ", "notice");
	assert_status("Current Resident", "current");
	assert_status("current_resident", "current");
	assert_status("CURRENT-RESIDENT", "current");
	assert_status("Former-Resident", "past");
}

static void status_normalize_maps_rentcafe_occupied_no_notice(void **state)
{
	(void)state;
	assert_status("Occupied No Notice", "current");
	assert_status("occupied_no_notice", "current");
}

static void status_normalize_maps_appfolio_and_mits_words(void **state)
{
	(void)state;
	assert_status("Current", "current");
	assert_status("Notice", "notice");
	assert_status("Evict", "eviction");
	assert_status("Notice To Vacate", "notice");
	assert_status("Canceled", "cancelled");
	assert_status("Moved Out", "past");
	assert_status("Wait List", "waitlist");
	/* AppFolio rent roll unit statuses and tickler events (rv18 #6) */
	assert_status("Notice-Unrented", "notice");
	assert_status("Notice-Rented", "notice");
	assert_status("Vacant-Rented", "future");
	assert_status("Eviction Filed", "eviction");
}

static void status_normalize_keeps_the_normalized_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_NORMALIZED; i++)
		assert_status(normalized[i], normalized[i]);
}

static void status_normalize_maps_unknown_text_to_unknown(void **state)
{
	(void)state;
	assert_status("Martian", "unknown");
	assert_status("", "unknown");
	assert_status("---", "unknown");
	assert_status("current resident extra", "unknown");
}

static void status_valid_accepts_only_normalized_words(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_NORMALIZED; i++)
		assert_true(status_valid(normalized[i]));
	assert_false(status_valid("Current"));
	assert_false(status_valid("current resident"));
	assert_false(status_valid("currentresident"));
	assert_false(status_valid("occupied"));
	assert_false(status_valid("former"));
	assert_false(status_valid("primary"));
	assert_false(status_valid(""));
}

static void status_normalize_always_gives_a_valid_status(void **state)
{
	static const char *const raw[] = {
		"current resident", "Former Resident",  "NTV",  "Evicted", "Guest Card",
		"Approved",         "Denied Applicant", "nope", "",        "Vacant Rented",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		if (!status_valid(status_normalize(raw[i])))
			fail_msg("status_normalize('%s') gave '%s', not a valid status", raw[i],
				 status_normalize(raw[i]));
}

static void role_normalize_maps_pms_roles(void **state)
{
	(void)state;
	assert_role("customer", "roommate");
	assert_role("Customer", "roommate");
	assert_role("Roommate", "roommate");
	assert_role("Co-Tenant", "roommate");
	assert_role("Head of Household", "primary");
	assert_role("Primary", "primary");
	assert_role("Other Occupant", "occupant");
	assert_role("Co-Signer", "guarantor");
	assert_role("guarantor", "guarantor");
	assert_role("Child", "minor");
	assert_role("minor", "minor");
}

static void role_normalize_treats_empty_as_primary(void **state)
{
	(void)state;
	assert_role("", "primary");
}

static void role_normalize_returns_null_for_unknown_roles(void **state)
{
	(void)state;
	assert_null(role_normalize("Landlord"));
	assert_null(role_normalize("pet"));
	assert_null(role_normalize("customer service"));
}

/* status_dwelling() of the one text S */
static int dwelling(const char *s)
{
	const char *words[] = { s };

	return status_dwelling(words, 1);
}

static void status_dwelling_reads_the_beginning_of_each_text(void **state)
{
	(void)state;
	/* what the unit is: its text begins with a word of the vocabulary */
	assert_int_equal(dwelling("Parking Space"), 0);
	assert_int_equal(dwelling("GARAGE"), 0);
	assert_int_equal(dwelling("carport-12"), 0);
	assert_int_equal(dwelling("Storage Locker"), 0);
	assert_int_equal(dwelling("Locker"), 0);
	assert_int_equal(dwelling("Excluded"), 0);
	assert_int_equal(dwelling("Wait List"), 0); /* spaces and punctuation ignored */
	assert_int_equal(dwelling("Waitlist"), 0);
	assert_int_equal(dwelling("Waiting List"), 0);
	/* a home naming something beside it, and homes */
	assert_int_equal(dwelling("Townhome w/ Garage"), 1);
	assert_int_equal(dwelling("Covered Parking"), 1);
	assert_int_equal(dwelling("2BR/2BA"), 1);
	assert_int_equal(dwelling(""), 1);
}

static void status_dwelling_takes_any_of_the_texts_and_skips_null(void **state)
{
	const char *yardi[] = { NULL, "Occupied No Notice", "WAIT01" };
	const char *park[] = { "Occupied No Notice", NULL, "Parking" };
	const char *none[] = { NULL, NULL };

	(void)state;
	assert_int_equal(status_dwelling(yardi, 3), 1);
	assert_int_equal(status_dwelling(park, 3), 0);
	assert_int_equal(status_dwelling(none, 2), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_normalize_maps_yardi_customer_types),
		cmocka_unit_test(status_normalize_ignores_case_spaces_underscores_and_hyphens),
		cmocka_unit_test(status_normalize_maps_rentcafe_occupied_no_notice),
		cmocka_unit_test(status_normalize_maps_appfolio_and_mits_words),
		cmocka_unit_test(status_normalize_keeps_the_normalized_words),
		cmocka_unit_test(status_normalize_maps_unknown_text_to_unknown),
		cmocka_unit_test(status_valid_accepts_only_normalized_words),
		cmocka_unit_test(status_normalize_always_gives_a_valid_status),
		cmocka_unit_test(role_normalize_maps_pms_roles),
		cmocka_unit_test(role_normalize_treats_empty_as_primary),
		cmocka_unit_test(role_normalize_returns_null_for_unknown_roles),
		cmocka_unit_test(status_dwelling_reads_the_beginning_of_each_text),
		cmocka_unit_test(status_dwelling_takes_any_of_the_texts_and_skips_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
