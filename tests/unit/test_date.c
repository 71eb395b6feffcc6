/*
 * test_date.c - lib/date.h: the accepted input forms, the PMS "no date"
 * sentinels, impossible dates, day arithmetic and time zones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "err.h"

/* Parse S, which must succeed, and compare the result with WANT. */
static void assert_parses_to(const char *s, const char *want)
{
	char out[DATE_LEN + 1];

	memcpy(out, "XXXXXXXXXX", sizeof(out));
	if (date_parse(s, out) != 0)
		fail_msg("date_parse('%s') failed: %s", s, err_msg());
	if (strcmp(out, want) != 0)
		fail_msg("date_parse('%s') gave '%s', expected '%s'", s, out, want);
}

/* Parse S, which must fail with a message containing WANT_MSG. */
static void assert_rejected(const char *s, const char *want_msg)
{
	char out[DATE_LEN + 1];

	err_set("%s", "");
	if (date_parse(s, out) != -1)
		fail_msg("date_parse('%s') accepted it as '%s'", s, out);
	if (!strstr(err_msg(), want_msg))
		fail_msg("date_parse('%s') message '%s' lacks '%s'", s, err_msg(), want_msg);
}

static void date_parse_accepts_iso_dates(void **state)
{
	(void)state;
	assert_parses_to("2024-03-05", "2024-03-05");
	assert_parses_to("1999-12-31", "1999-12-31");
	assert_parses_to("2000-01-01", "2000-01-01");
}

static void date_parse_drops_the_time_of_iso_date_times(void **state)
{
	(void)state;
	assert_parses_to("2024-03-05T00:00:00", "2024-03-05");
	assert_parses_to("2024-03-05T23:59:59", "2024-03-05");
}

static void date_parse_accepts_us_month_day_year(void **state)
{
	(void)state;
	assert_parses_to("3/5/2024", "2024-03-05");
	assert_parses_to("03/05/2024", "2024-03-05");
	assert_parses_to("12/31/2023", "2023-12-31");
	assert_parses_to("1/31/2024", "2024-01-31");
	assert_parses_to("10/1/2024", "2024-10-01");
}

static void date_parse_maps_sentinels_and_empty_to_empty(void **state)
{
	static const char *const sentinels[] = {
		"0001-01-01", "1/1/1970",   "01/01/1970", "1970-01-01",          "1900-01-01",
		"1/1/1900",   "9999-12-31", "12/31/9999", "0001-01-01T00:00:00", "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sentinels) / sizeof(sentinels[0]); i++)
		assert_parses_to(sentinels[i], "");
}

static void date_parse_rejects_two_digit_years(void **state)
{
	(void)state;
	assert_rejected("3/5/24", "two-digit");
	assert_rejected("12/31/99", "two-digit");
	assert_rejected("1/1/70", "two-digit");
}

static void date_parse_rejects_impossible_dates(void **state)
{
	static const char *const bad[] = {
		"2/30/2024",  "2023-02-29", "13/1/2024",  "2024-13-01", "2024-00-10",
		"2024-01-00", "4/31/2024",  "0/1/2024",   "1/0/2024",   "1900-02-29",
		"2024-06-31", "2100-02-29", "2024-01-32",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rejected(bad[i], bad[i]);
}

static void date_parse_accepts_leap_days_of_leap_years(void **state)
{
	(void)state;
	assert_parses_to("2024-02-29", "2024-02-29");
	assert_parses_to("2/29/2024", "2024-02-29");
	assert_parses_to("2000-02-29", "2000-02-29");
}

static void date_parse_rejects_trailing_junk(void **state)
{
	static const char *const bad[] = {
		"2024-03-05x",
		"2024-03-05 junk",
		"3/5/2024x",
		"3/5/2024/1",
		"2024-03-05T00:00:00junk",
		"2024-03-05T00:00",
		"2024-03-055",
		"3/5/20245",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rejected(bad[i], bad[i]);
}

/* The forms spreadsheets and PMS APIs write: the time is dropped. */
static void date_parse_drops_spreadsheet_and_zoned_times(void **state)
{
	(void)state;
	assert_parses_to("1/2/2024 0:00", "2024-01-02");
	assert_parses_to("1/2/2024 12:30 PM", "2024-01-02");
	assert_parses_to("2024-01-15T10:00:00Z", "2024-01-15");
	assert_parses_to("2024-01-15T10:00:00.123-05:00", "2024-01-15");
	/* SQL's text, and a spreadsheet's ISO date with its time (review rv18 #8) */
	assert_parses_to("2024-01-15 10:00:00.000", "2024-01-15");
	assert_parses_to("2024-06-01 00:00", "2024-06-01");
	assert_parses_to("2024-06-01 9:30 PM", "2024-06-01");
}

/* Text after the date must be a time, not any run of the characters a
 * time may hold. */
static void date_parse_rejects_junk_that_only_looks_like_a_time(void **state)
{
	static const char *const bad[] = {
		"1/2/2024 AAAA",    "1/2/2024 pm pm",          "1/2/2024 ",
		"1/2/2024 ::",      "2024-01-15T00:00:00+-+Z", "2024-01-15T99:99:99",
		"2024-06-01 24:00", "2024-06-01 00:00 XM",     "2024-06-01 00:00:00Zjunk",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rejected(bad[i], bad[i]);
}

static void date_parse_rejects_other_shapes(void **state)
{
	static const char *const bad[] = {
		"2024-3-5", "2024/03/05", "March 5 2024", "05-03-2024", "20240305", "x", "/",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rejected(bad[i], "is not a date");
}

/* date_add_days(DATE, DAYS) must give WANT. */
static void assert_add(const char *date, int days, const char *want)
{
	char out[DATE_LEN + 1];

	date_add_days(date, days, out);
	if (strcmp(out, want) != 0)
		fail_msg("date_add_days('%s', %d) gave '%s', expected '%s'", date, days, out, want);
}

static void date_add_days_crosses_month_ends(void **state)
{
	(void)state;
	assert_add("2024-01-31", 1, "2024-02-01");
	assert_add("2024-04-30", 1, "2024-05-01");
	assert_add("2024-01-15", 30, "2024-02-14");
	assert_add("2024-03-05", 0, "2024-03-05");
}

static void date_add_days_crosses_year_ends(void **state)
{
	(void)state;
	assert_add("2023-12-31", 1, "2024-01-01");
	assert_add("2024-01-01", 366, "2025-01-01");
	assert_add("2023-01-01", 365, "2024-01-01");
	assert_add("1999-12-31", 1, "2000-01-01");
}

static void date_add_days_counts_leap_days(void **state)
{
	(void)state;
	assert_add("2024-02-28", 1, "2024-02-29");
	assert_add("2024-02-29", 1, "2024-03-01");
	assert_add("2023-02-28", 1, "2023-03-01");
	assert_add("2100-02-28", 1, "2100-03-01");
	assert_add("2000-02-28", 1, "2000-02-29");
}

static void date_add_days_goes_back_with_negative_days(void **state)
{
	(void)state;
	assert_add("2024-03-01", -1, "2024-02-29");
	assert_add("2023-03-01", -1, "2023-02-28");
	assert_add("2024-01-01", -1, "2023-12-31");
	assert_add("2025-01-01", -366, "2024-01-01");
	assert_add("1970-01-01", -1, "1969-12-31");
}

static void date_valid_accepts_only_real_yyyy_mm_dd(void **state)
{
	(void)state;
	assert_true(date_valid("2024-02-29"));
	assert_true(date_valid("2023-12-31"));
	assert_false(date_valid("2023-02-29"));
	assert_false(date_valid("2024-2-29"));
	assert_false(date_valid("2/29/2024"));
	assert_false(date_valid("02/29/2024"));
	assert_false(date_valid("2024-02-29T00:00:00"));
	assert_false(date_valid("2024-02-29 "));
	assert_false(date_valid(""));
	assert_false(date_valid("2024-13-01"));
}

static void date_today_rejects_an_unknown_zone(void **state)
{
	char out[DATE_LEN + 1];

	(void)state;
	assert_int_equal(date_today("Mars/Olympus_Mons", out), -1);
	assert_non_null(strstr(err_msg(), "Mars/Olympus_Mons"));
	assert_int_equal(date_today("../etc/passwd", out), -1);
	assert_int_equal(date_today("", out), -1);
}

/* Local dates 25 hours apart differ by one or two days, never zero: the
 * zone is really applied. */
static void date_today_applies_the_zone(void **state)
{
	char east[DATE_LEN + 1], west[DATE_LEN + 1], next[DATE_LEN + 1], next2[DATE_LEN + 1];

	(void)state;
	assert_int_equal(date_today("Pacific/Kiritimati", east), 0); /* UTC+14 */
	assert_int_equal(date_today("Pacific/Pago_Pago", west), 0);  /* UTC-11 */
	assert_true(date_valid(east));
	assert_true(date_valid(west));
	date_add_days(west, 1, next);
	date_add_days(west, 2, next2);
	if (strcmp(east, next) != 0 && strcmp(east, next2) != 0)
		fail_msg("Kiritimati '%s' is not one or two days after Pago Pago '%s'", east, west);
}

static void date_today_in_utc_is_the_utc_date(void **state)
{
	char got[DATE_LEN + 1], want[DATE_LEN + 1];
	time_t now;
	struct tm tm;

	(void)state;
	/* the instant date_today() judges at: the clock, read once a process */
	assert_int_equal(date_now(&now), 0);
	assert_true(now - time(NULL) < 5 && time(NULL) - now < 3600);
	assert_int_equal(date_today("UTC", got), 0);
	gmtime_r(&now, &tm);
	strftime(want, sizeof(want), "%Y-%m-%d", &tm);
	assert_string_equal(got, want);
}

static void date_today_restores_the_tz_environment(void **state)
{
	char out[DATE_LEN + 1];

	(void)state;
	setenv("TZ", "Europe/Paris", 1);
	assert_int_equal(date_today("America/New_York", out), 0);
	assert_non_null(getenv("TZ"));
	assert_string_equal(getenv("TZ"), "Europe/Paris");
	unsetenv("TZ");
	assert_int_equal(date_today("America/New_York", out), 0);
	assert_null(getenv("TZ"));
}

/* One run, one "now": the clock (or UNITSYNC_NOW) is read once a process,
 * so a transform judges every property at the instant it records for
 * `unitsync replay` (run.clock_at). */
static void date_now_is_read_once_a_process(void **state)
{
	time_t first, again;

	(void)state;
	assert_int_equal(date_now(&first), 0);
	setenv("UNITSYNC_NOW", "2001-02-03T04:05:06Z", 1);
	assert_int_equal(date_now(&again), 0);
	unsetenv("UNITSYNC_NOW");
	assert_true(first == again);
}

static void date_tz_valid_accepts_iana_zones(void **state)
{
	(void)state;
	assert_true(date_tz_valid("America/New_York"));
	assert_true(date_tz_valid("Pacific/Auckland"));
	assert_true(date_tz_valid("UTC"));
}

static void date_tz_valid_rejects_paths_and_unknown_names(void **state)
{
	(void)state;
	assert_false(date_tz_valid("../etc/passwd"));
	assert_false(date_tz_valid("America/../../../etc/passwd"));
	assert_false(date_tz_valid("/etc/passwd"));
	assert_false(date_tz_valid("/usr/share/zoneinfo/America/New_York"));
	assert_false(date_tz_valid(""));
	assert_false(date_tz_valid("America/Atlantis"));
	assert_false(date_tz_valid("America")); /* a folder, not a zone */
}

/*
 * /usr/share/zoneinfo also holds tables that are not zones.  Accepting
 * them makes date_today() silently fall back to UTC (glibc's behaviour for
 * a TZ file it cannot read) instead of failing.
 */
static void date_tz_valid_rejects_zoneinfo_files_that_are_not_zones(void **state)
{
	(void)state;
	assert_false(date_tz_valid("zone.tab"));
	assert_false(date_tz_valid("iso3166.tab"));
	assert_false(date_tz_valid("tzdata.zi"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(date_parse_accepts_iso_dates),
		cmocka_unit_test(date_parse_drops_the_time_of_iso_date_times),
		cmocka_unit_test(date_parse_accepts_us_month_day_year),
		cmocka_unit_test(date_parse_maps_sentinels_and_empty_to_empty),
		cmocka_unit_test(date_parse_rejects_two_digit_years),
		cmocka_unit_test(date_parse_rejects_impossible_dates),
		cmocka_unit_test(date_parse_accepts_leap_days_of_leap_years),
		cmocka_unit_test(date_parse_rejects_trailing_junk),
		cmocka_unit_test(date_parse_drops_spreadsheet_and_zoned_times),
		cmocka_unit_test(date_parse_rejects_junk_that_only_looks_like_a_time),
		cmocka_unit_test(date_parse_rejects_other_shapes),
		cmocka_unit_test(date_add_days_crosses_month_ends),
		cmocka_unit_test(date_add_days_crosses_year_ends),
		cmocka_unit_test(date_add_days_counts_leap_days),
		cmocka_unit_test(date_add_days_goes_back_with_negative_days),
		cmocka_unit_test(date_valid_accepts_only_real_yyyy_mm_dd),
		cmocka_unit_test(date_today_rejects_an_unknown_zone),
		cmocka_unit_test(date_today_applies_the_zone),
		cmocka_unit_test(date_today_in_utc_is_the_utc_date),
		cmocka_unit_test(date_today_restores_the_tz_environment),
		cmocka_unit_test(date_now_is_read_once_a_process),
		cmocka_unit_test(date_tz_valid_accepts_iana_zones),
		cmocka_unit_test(date_tz_valid_rejects_paths_and_unknown_names),
		cmocka_unit_test(date_tz_valid_rejects_zoneinfo_files_that_are_not_zones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
