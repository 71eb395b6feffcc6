/*
 * date.h - calendar dates as "YYYY-MM-DD" text.
 *
 * PMS dates are calendar dates in the property's local time: they are
 * compared and shifted as days, never converted through UTC.  Only "today"
 * depends on a time zone, and it is taken in the property's IANA zone.
 *
 * Accepted input forms: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[.fff][zone] (ISO
 * 8601 as PMS APIs write it), YYYY-MM-DD HH:MM:SS[.fff] (SQL's text) or
 * YYYY-MM-DD H:MM[:SS][ AM|PM] (a spreadsheet's), M/D/YYYY and MM/DD/YYYY
 * (US order, as Yardi and AppFolio export) with the spreadsheet's time:
 * the time is checked, then dropped.  Two-digit years and impossible dates are errors.  The PMS "no
 * date" sentinels 0001-01-01, 1900-01-01, 1970-01-01 (1/1/1970) and
 * 9999-12-31, and the empty string, parse to "" (NULL in the database).
 */
#ifndef UNITSYNC_DATE_H
#define UNITSYNC_DATE_H

#include <time.h>

#define DATE_LEN 10

/* Parse S into OUT ("" for a sentinel or empty); -1 with err_set(). */
int date_parse(const char *s, char out[DATE_LEN + 1]);

/* Is S exactly a valid YYYY-MM-DD date? */
int date_valid(const char *s);

/* OUT = DATE + DAYS (DAYS may be negative). DATE must be valid. */
void date_add_days(const char *date, int days, char out[DATE_LEN + 1]);

/*
 * Today's date in the IANA time zone TZ; -1 with err_set() if unknown.
 * The environment variable UNITSYNC_NOW (YYYY-MM-DDTHH:MM:SSZ, UTC) stands
 * in for the clock, for tests and for replaying a night.
 */
int date_today(const char *tz, char out[DATE_LEN + 1]);

/*
 * The clock as seconds since the epoch: UNITSYNC_NOW when set (as for
 * date_today), else time(2).  -1 with err_set() for a malformed UNITSYNC_NOW.
 * Read once a process: later calls (and date_today) return the first
 * instant, so a transform judges every property on the same day however
 * long it runs, and records the instant it judged at (run.clock_at,
 * lib/ledger) for `unitsync replay`, which gives it back as UNITSYNC_NOW.
 */
int date_now(time_t *out);

/* Parse S, a UTC instant "YYYY-MM-DDTHH:MM:SSZ" (db_now()'s form), into
 * *OUT; -1 with err_set() when it is anything else. */
int date_instant(const char *s, time_t *out);

/* Is TZ a time zone the system's tz database knows? */
int date_tz_valid(const char *tz);

#endif
