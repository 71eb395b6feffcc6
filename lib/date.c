#include "date.h"
#include "err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Read exactly N digits at *P into *V, advancing *P. */
static int digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

/* Read 1 to MAX digits. */
static int some_digits(const char **p, int max, int *v)
{
	int n = 0;

	*v = 0;
	while (n < max && isdigit((unsigned char)(*p)[n])) {
		*v = *v * 10 + ((*p)[n] - '0');
		n++;
	}
	if (n == 0)
		return -1;
	*p += n;
	return 0;
}

/* "%04d-%02d-%02d" of y, m and d, which are in range here, written
 * digit by digit: snprintf was most of date_parse(), which runs for six
 * dates of every person extract-xml stages */
static void format_date(int y, int m, int d, char out[DATE_LEN + 1])
{
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[DATE_LEN] = '\0';
}

/* HH:MM[:SS] with hh < 24, mm < 60, ss <= 60 (a leap second). */
static int clock_time(const char **p, int hour_digits_max)
{
	int hh, mm, ss = 0;

	if (some_digits(p, hour_digits_max, &hh) < 0 || *(*p)++ != ':' || digits(p, 2, &mm) < 0)
		return -1;
	if (**p == ':') {
		(*p)++;
		if (digits(p, 2, &ss) < 0)
			return -1;
	}
	return hh < 24 && mm < 60 && ss <= 60 ? 0 : -1;
}

/* ISO 8601 time after the T: HH:MM:SS[.fff][Z|+HH:MM|-HH:MM]. */
static int iso_time(const char **p)
{
	int zh, zm;

	/* the seconds are required, as PMS APIs always write them */
	if (!isdigit((unsigned char)(*p)[0]) || !isdigit((unsigned char)(*p)[1]) ||
	    (*p)[2] != ':' || strlen(*p) < 8 || (*p)[5] != ':' || clock_time(p, 2) < 0)
		return -1;
	if (**p == '.') {
		(*p)++;
		if (!isdigit((unsigned char)**p))
			return -1;
		while (isdigit((unsigned char)**p))
			(*p)++;
	}
	if (**p == 'Z') {
		(*p)++;
	} else if (**p == '+' || **p == '-') {
		(*p)++;
		if (digits(p, 2, &zh) < 0 || *(*p)++ != ':' || digits(p, 2, &zm) < 0 || zh > 14 ||
		    zm > 59)
			return -1;
	}
	return 0;
}

/* Spreadsheet time after a US date: H:MM[:SS][ AM|PM]. */
static int us_time(const char **p)
{
	if (clock_time(p, 2) < 0)
		return -1;
	if (**p == ' ' && strchr("AaPp", (*p)[1]) && ((*p)[2] == 'M' || (*p)[2] == 'm'))
		*p += 3;
	return 0;
}

static int is_sentinel(int y, int m, int d)
{
	return (y == 1 && m == 1 && d == 1) || (y == 1900 && m == 1 && d == 1) ||
	       (y == 1970 && m == 1 && d == 1) || (y == 9999 && m == 12 && d == 31);
}

int date_parse(const char *s, char out[DATE_LEN + 1])
{
	const char *p = s;
	int y, m, d;

	out[0] = '\0';
	if (!*s)
		return 0;
	if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-') {
		if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &m) < 0 || *p++ != '-' ||
		    digits(&p, 2, &d) < 0)
			goto bad;
		if (*p == 'T') {
			p++;
			if (iso_time(&p) < 0)
				goto bad;
		} else if (*p == ' ') {
			/* "2024-06-01 10:00:00.000" (SQL's text), or a spreadsheet's
			 * "2024-06-01 0:00" (review rv18 #8): the time is checked,
			 * then dropped */
			const char *t = ++p;

			if (iso_time(&p) < 0 && (p = t, us_time(&p) < 0))
				goto bad;
		}
	} else {
		const char *yp;

		if (some_digits(&p, 2, &m) < 0 || *p++ != '/' || some_digits(&p, 2, &d) < 0 ||
		    *p++ != '/')
			goto bad;
		yp = p;
		if (some_digits(&p, 4, &y) < 0)
			goto bad;
		if (p - yp != 4) {
			err_set("date '%s' has a two-digit year (the century is ambiguous)", s);
			return -1;
		}
		/* "1/2/2024 0:00" or "1/2/2024 12:30 PM" from spreadsheets: the
		 * time is checked, then dropped */
		if (*p == ' ') {
			p++;
			if (us_time(&p) < 0)
				goto bad;
		}
	}
	if (*p)
		goto bad;
	if (is_sentinel(y, m, d))
		return 0;
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
		err_set("date '%s' does not exist", s);
		return -1;
	}
	format_date(y, m, d, out);
	return 0;
bad:
	err_set("'%s' is not a date (expected YYYY-MM-DD or M/D/YYYY)", s);
	return -1;
}

int date_valid(const char *s)
{
	char out[DATE_LEN + 1];

	return strlen(s) == DATE_LEN && s[4] == '-' && date_parse(s, out) == 0 && !strcmp(out, s);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static long days_from_civil(int y, int m, int d)
{
	long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
	long era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)((long)yoe + era * 400 + (*m <= 2));
}

void date_add_days(const char *date, int days, char out[DATE_LEN + 1])
{
	int y = (int)strtol(date, NULL, 10);
	int m = (int)strtol(date + 5, NULL, 10);
	int d = (int)strtol(date + 8, NULL, 10);

	civil_from_days(days_from_civil(y, m, d) + days, &y, &m, &d);
	format_date(y, m, d, out);
}

int date_tz_valid(const char *tz)
{
	char path[512];
	struct stat st;

	if (!strcmp(tz, "UTC"))
		return 1;
	if (!*tz || tz[0] == '/' || strstr(tz, ".."))
		return 0;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	/* zone.tab, tzdata.zi and friends live there too: only TZif files are zones */
	{
		char magic[4] = { 0 };
		FILE *fp = fopen(path, "rb");
		int ok = fp && fread(magic, 1, 4, fp) == 4 && !memcmp(magic, "TZif", 4);

		if (fp)
			fclose(fp);
		return ok;
	}
}

int date_instant(const char *s, time_t *out)
{
	struct tm utc = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &utc) : NULL;

	if (!end || *end) {
		err_set("'%s' is not a UTC time YYYY-MM-DDTHH:MM:SSZ", s ? s : "");
		return -1;
	}
	*out = timegm(&utc);
	return 0;
}

int date_now(time_t *out)
{
	/* read once a process: one run, one "now" (see date.h) */
	static time_t pinned;
	static int have;
	const char *fake = getenv("UNITSYNC_NOW");

	if (have) {
		*out = pinned;
		return 0;
	}
	/* UNITSYNC_NOW=YYYY-MM-DDTHH:MM:SSZ stands in for the clock (tests, replays) */
	if (fake && *fake) {
		if (date_instant(fake, &pinned) < 0) {
			err_set("UNITSYNC_NOW '%s' is not YYYY-MM-DDTHH:MM:SSZ", fake);
			return -1;
		}
	} else {
		pinned = time(NULL);
	}
	have = 1;
	*out = pinned;
	return 0;
}

int date_today(const char *tz, char out[DATE_LEN + 1])
{
	const char *tz_env;
	char *old;
	time_t now;
	struct tm tm;

	if (date_now(&now) < 0)
		return -1;
	tz_env = getenv("TZ");
	old = tz_env ? strdup(tz_env) : NULL;
	if (!date_tz_valid(tz)) {
		free(old);
		err_set("unknown time zone '%s' (expected an IANA name such as America/New_York)",
			tz);
		return -1;
	}
	setenv("TZ", tz, 1);
	tzset();
	localtime_r(&now, &tm);
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
	strftime(out, DATE_LEN + 1, "%Y-%m-%d", &tm);
	return 0;
}
