/*
 * unitsync-property - the per-property policy transform applies (README
 * "Rules"; docs/ARCHITECTURE.md §7): the Latch building, the time zone
 * that decides "today", unit sync on or off, lease statuses that never get
 * access, days of access before move-in and after move-out, and the safety
 * guard's limits.
 *
 * A setting left out keeps its value (`set`) or the schema's default
 * (`add`): the defaults live in one place, lib/db.c.
 */
#include "cli.h"
#include "date.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "status.h"
#include "stg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: unitsync property add ID [SETTINGS...]\n"
	"       unitsync property set ID SETTINGS...\n"
	"       unitsync property show ID\n"
	"       unitsync property list\n"
	"\n"
	"Add, change and show the per-property settings that unit sync applies.\n"
	"\n"
	"  --latch-building UUID    the Latch building of the property's units ('' clears)\n"
	"  --timezone IANA          time zone that decides the as-of date (default UTC)\n"
	"  --unit-sync on|off       off: report move-outs instead of removing access (default on)\n"
	"  --exclude-status LIST    comma list of statuses never given access ('' or none clears)\n"
	"  --grant-lead-days N|none days of access before move-in (default none: never)\n"
	"  --revoke-grace-days N    days of access kept after the actual move-out (default 0)\n"
	"  --guard-percent N        hold a run removing more than N% of assignments (0-100, default 20)\n"
	"  --guard-max N|none       hold a run removing more than N assignments (default none)\n"
	"  --stale-after-nights N   an export byte-identical for more than N nights is stale\n"
	"                           (default 3)\n"
	"  --max-export-age-hours H an export file older than H hours is stale (default 48)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/* The settings, in the order of the property table's columns; also their
 * getopt_long codes, offset by OPT_SETTING. */
enum setting {
	S_LATCH_BUILDING,
	S_TIMEZONE,
	S_UNIT_SYNC,
	S_EXCLUDE_STATUS,
	S_GRANT_LEAD_DAYS,
	S_REVOKE_GRACE_DAYS,
	S_GUARD_PERCENT,
	S_GUARD_MAX,
	S_STALE_AFTER_NIGHTS,
	S_MAX_EXPORT_AGE_HOURS,
	N_SETTINGS
};

#define OPT_SETTING 0x100

/* One setting given on the command line. */
struct value {
	int given;        /* the option was used */
	int is_null;      /* store NULL ("none", or '' for the building) */
	const char *text; /* text settings: points into argv or at struct settings' buffer */
	int num;          /* integer settings */
};

struct settings {
	struct value v[N_SETTINGS];
	char *exclude; /* normalized --exclude-status list, owned */
	int n_given;   /* how many settings were given */
};

/*
 * Change the given settings of one property, leave the others: one fixed
 * statement whose ?odd parameter says whether the column is set.
 */
static const char update_sql[] =
	"UPDATE property SET"
	" latch_building = CASE WHEN ?1 THEN ?2 ELSE latch_building END,"
	" timezone = CASE WHEN ?3 THEN ?4 ELSE timezone END,"
	" unit_sync = CASE WHEN ?5 THEN ?6 ELSE unit_sync END,"
	" exclude_status = CASE WHEN ?7 THEN ?8 ELSE exclude_status END,"
	" grant_lead_days = CASE WHEN ?9 THEN ?10 ELSE grant_lead_days END,"
	" revoke_grace_days = CASE WHEN ?11 THEN ?12 ELSE revoke_grace_days END,"
	" guard_percent = CASE WHEN ?13 THEN ?14 ELSE guard_percent END,"
	" guard_max = CASE WHEN ?15 THEN ?16 ELSE guard_max END,"
	" stale_after_nights = CASE WHEN ?17 THEN ?18 ELSE stale_after_nights END,"
	" max_export_age_hours = CASE WHEN ?19 THEN ?20 ELSE max_export_age_hours END,"
	" updated_at = ?21"
	" WHERE property_id = ?22";

#define SELECT_PROPERTY                                                                      \
	"SELECT property_id, latch_building, timezone, unit_sync, exclude_status,"           \
	" grant_lead_days, revoke_grace_days, guard_percent, guard_max, stale_after_nights," \
	" max_export_age_hours, created_at, updated_at"                                      \
	" FROM property"

/* Column names of SELECT_PROPERTY, as show and list print them. */
static const char *const columns[] = {
	"property_id",        "latch_building",       "timezone",
	"unit_sync",          "exclude_status",       "grant_lead_days",
	"revoke_grace_days",  "guard_percent",        "guard_max",
	"stale_after_nights", "max_export_age_hours", "created_at",
	"updated_at",
};
#define N_SHOWN 11 /* list leaves out the two timestamps */

/* The exit code for a failed database call: busy means rerun later. */
static int db_fail(sqlite3 *db)
{
	log_error("%s", err_msg());
	return db_exit_code(db);
}

/* Property ids are TEXT: any non-empty string without control characters. */
static int id_valid(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* N, or "none" for NULL when NONE_OK. */
static int parse_days(const char *opt, const char *arg, int none_ok, struct value *v)
{
	if (none_ok && !strcmp(arg, "none")) {
		v->is_null = 1;
		return 0;
	}
	if (cli_parse_uint(arg, &v->num) < 0) {
		err_set("%s takes a whole number of days%s, not '%s'", opt,
			none_ok ? " or none" : "", arg);
		return -1;
	}
	v->is_null = 0;
	return 0;
}

/*
 * Check a comma list of normalized statuses and keep it without blanks
 * and repeats: "past, cancelled" is stored "past,cancelled".
 */
static int parse_exclude(const char *arg, struct settings *s)
{
	size_t n = strlen(arg);
	char *out = malloc(n + 1), *copy = malloc(n + 1);
	size_t len = 0;
	const char *p;
	int rc = -1;

	if (!out || !copy) {
		err_set("out of memory");
		goto out;
	}
	out[0] = '\0';
	if (!strcmp(arg, "none"))
		arg = "";
	for (p = arg; *p;) {
		const char *end = strchr(p, ',');
		size_t wlen = end ? (size_t)(end - p) : strlen(p);
		const char *w = p, *q;

		while (wlen && (*w == ' ' || *w == '\t')) {
			w++;
			wlen--;
		}
		while (wlen && (w[wlen - 1] == ' ' || w[wlen - 1] == '\t'))
			wlen--;
		memcpy(copy, w, wlen);
		copy[wlen] = '\0';
		if (!status_valid(copy)) {
			err_set("--exclude-status: %s '%s' (expected a comma list of applicant, future, "
				"current, notice, eviction, past, cancelled, denied, waitlist, unknown)",
				wlen ? "unknown status" : "empty item in", wlen ? copy : arg);
			goto out;
		}
		/* a word already in OUT is a whole item there: look for ",w," in ",OUT," */
		for (q = out; (q = strstr(q, copy)) != NULL; q += wlen)
			if ((q == out || q[-1] == ',') && (q[wlen] == ',' || q[wlen] == '\0'))
				break;
		if (!q) {
			if (len)
				out[len++] = ',';
			memcpy(out + len, copy, wlen);
			len += wlen;
			out[len] = '\0';
		}
		if (!end)
			break;
		p = end + 1;
		if (!*p) {
			err_set("--exclude-status: empty item in '%s'", arg);
			goto out;
		}
	}
	free(s->exclude);
	s->exclude = out;
	out = NULL;
	rc = 0;
out:
	free(out);
	free(copy);
	return rc;
}

/* Record one setting option; -1 with err_set() for a bad value. */
static int parse_setting(struct settings *s, enum setting k, const char *opt, const char *arg)
{
	struct value *v = &s->v[k];
	int n;

	switch (k) {
	case S_LATCH_BUILDING:
		if (*arg && !id_valid(arg)) {
			err_set("--latch-building: control characters in '%s'", arg);
			return -1;
		}
		v->text = arg;
		v->is_null = !*arg;
		break;
	case S_TIMEZONE:
		if (!date_tz_valid(arg)) {
			err_set("unknown time zone '%s' (expected an IANA name such as America/New_York)",
				arg);
			return -1;
		}
		v->text = arg;
		break;
	case S_UNIT_SYNC:
		if (strcmp(arg, "on") && strcmp(arg, "off")) {
			err_set("--unit-sync takes on or off, not '%s'", arg);
			return -1;
		}
		v->num = !strcmp(arg, "on");
		break;
	case S_EXCLUDE_STATUS:
		if (parse_exclude(arg, s) < 0)
			return -1;
		v->text = s->exclude;
		break;
	case S_GRANT_LEAD_DAYS:
	case S_GUARD_MAX:
		if (parse_days(opt, arg, 1, v) < 0)
			return -1;
		if (k == S_GUARD_MAX && !v->is_null && v->num == 0) {
			/* 0 would hold every run that removes anyone: almost surely a slip */
			err_set("--guard-max takes a positive number or none, not '%s'", arg);
			return -1;
		}
		break;
	case S_REVOKE_GRACE_DAYS:
		if (parse_days(opt, arg, 0, v) < 0)
			return -1;
		break;
	case S_STALE_AFTER_NIGHTS:
	case S_MAX_EXPORT_AGE_HOURS:
		if (cli_parse_uint(arg, &n) < 0 || n == 0) {
			/* 0 would call every export stale: a slip, not a policy */
			err_set("%s takes a positive whole number, not '%s'", opt, arg);
			return -1;
		}
		v->num = n;
		break;
	case S_GUARD_PERCENT:
		if (cli_parse_uint(arg, &n) < 0 || n > 100) {
			err_set("--guard-percent takes 0 to 100, not '%s'", arg);
			return -1;
		}
		v->num = n;
		break;
	default:
		return -1;
	}
	if (!v->given)
		s->n_given++;
	v->given = 1;
	return 0;
}

/* Does property ID exist?  1 yes, 0 no, -1 database error. */
static int property_exists(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db_prepare(db, "SELECT 1 FROM property WHERE property_id = ?1", &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		rc = 1;
	else if (r == SQLITE_DONE)
		rc = 0;
	else
		db_error(db, NULL);
	sqlite3_finalize(st);
	return rc;
}

/* Apply the given settings to ID. */
static int apply_settings(sqlite3 *db, const char *id, const struct settings *s, const char *now)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_prepare(db, update_sql, &st) < 0)
		return -1;
	for (int k = 0; k < N_SETTINGS; k++) {
		const struct value *v = &s->v[k];
		int idx = 2 * k + 1;

		sqlite3_bind_int(st, idx, v->given);
		if (!v->given || v->is_null)
			sqlite3_bind_null(st, idx + 1);
		else if (k == S_LATCH_BUILDING || k == S_TIMEZONE || k == S_EXCLUDE_STATUS)
			sqlite3_bind_text(st, idx + 1, v->text, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int(st, idx + 1, v->num);
	}
	sqlite3_bind_text(st, 2 * N_SETTINGS + 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2 * N_SETTINGS + 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(db, NULL);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Keep ID's policy as it stands after this change in property_history
 * (migration 9), for `unitsync replay`: the policy a past run judged by.
 * In the caller's transaction.  changed_by: cli_account(), who changed it.
 */
static int record_history(sqlite3 *db, const char *id, const char *now)
{
	sqlite3_stmt *st = NULL;
	char by[64];
	int rc = -1;

	cli_account(by, sizeof(by));

	if (db_prepare(db,
		       "INSERT INTO property_history (property_id, latch_building, timezone, "
		       "unit_sync, exclude_status, grant_lead_days, revoke_grace_days, "
		       "guard_percent, guard_max, stale_after_nights, max_export_age_hours, "
		       "changed_by, changed_at, last_run) "
		       "SELECT property_id, latch_building, timezone, unit_sync, exclude_status, "
		       "grant_lead_days, revoke_grace_days, guard_percent, guard_max, "
		       "stale_after_nights, max_export_age_hours, ?2, ?3, " DB_LAST_RUN
		       " FROM property WHERE property_id = ?1",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	else
		db_error(db, NULL);
	sqlite3_finalize(st);
	return rc;
}

/* add and set: one transaction.  Returns an exit code. */
static int property_write(sqlite3 *db, const char *id, const struct settings *s, int add)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc, e;

	db_now(now, sizeof(now));
	if (db_begin(db) < 0)
		return db_fail(db);
	e = property_exists(db, id);
	if (e < 0)
		goto fail;
	if (add && e) {
		log_error("property '%s' already exists (change it with 'unitsync property set')",
			  id);
		rc = US_EXIT_DATAERR;
		goto rollback;
	}
	if (!add && !e) {
		rc = stg_property_unknown(db, id) == -1 ? db_fail(db) : US_EXIT_DATAERR;
		if (rc == US_EXIT_DATAERR)
			log_error("%s", err_msg());
		goto rollback;
	}
	if (add) {
		if (db_prepare(db,
			       "INSERT INTO property (property_id, created_at, updated_at)"
			       " VALUES (?1, ?2, ?2)",
			       &st) < 0)
			goto fail;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			db_error(db, NULL);
			goto fail;
		}
	}
	if (apply_settings(db, id, s, now) < 0 || record_history(db, id, now) < 0 ||
	    db_commit(db) < 0)
		goto fail;
	sqlite3_finalize(st);
	printf("property '%s' %s\n", id, add ? "added" : "updated");
	return US_EXIT_OK;
fail:
	err_prefix("cannot %s property '%s'", add ? "add" : "change", id);
	rc = db_fail(db);
rollback:
	sqlite3_finalize(st);
	db_rollback(db);
	return rc;
}

/* Column I of a SELECT_PROPERTY row as show and list print it. */
static const char *shown(sqlite3_stmt *st, int i)
{
	if (i == 3)
		return sqlite3_column_int(st, i) ? "on" : "off";
	if (sqlite3_column_type(st, i) == SQLITE_NULL || (i == 4 && !*db_col_text(st, i)))
		return "none";
	return db_col_text(st, i);
}

static int property_show(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (db_prepare(db, SELECT_PROPERTY " WHERE property_id = ?1", &st) < 0)
		return db_fail(db);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = stg_property_unknown(db, id) == -1 ? db_fail(db) : US_EXIT_DATAERR;
		if (rc == US_EXIT_DATAERR)
			log_error("%s", err_msg());
	} else if (r != SQLITE_ROW) {
		db_error(db, NULL);
		rc = db_fail(db);
	} else {
		for (int i = 0; i < (int)(sizeof(columns) / sizeof(columns[0])); i++)
			printf("%s: %s\n", columns[i], shown(st, i));
		rc = US_EXIT_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Tab-separated, one line per property; ids hold no control characters. */
static int property_list(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = US_EXIT_OK, r;

	if (db_prepare(db, SELECT_PROPERTY " ORDER BY property_id", &st) < 0)
		return db_fail(db);
	for (int i = 0; i < N_SHOWN; i++)
		printf("%s%c", columns[i], i + 1 < N_SHOWN ? '\t' : '\n');
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		for (int i = 0; i < N_SHOWN; i++)
			printf("%s%c", shown(st, i), i + 1 < N_SHOWN ? '\t' : '\n');
	if (r != SQLITE_DONE) {
		db_error(db, NULL);
		rc = db_fail(db);
	}
	sqlite3_finalize(st);
	return rc;
}

int main(int argc, char **argv)
{
	static const char *const verbs[] = { "add", "set", "show", "list", NULL };
	static const struct option opts[] = {
		{ "latch-building", required_argument, NULL, OPT_SETTING + S_LATCH_BUILDING },
		{ "timezone", required_argument, NULL, OPT_SETTING + S_TIMEZONE },
		{ "unit-sync", required_argument, NULL, OPT_SETTING + S_UNIT_SYNC },
		{ "exclude-status", required_argument, NULL, OPT_SETTING + S_EXCLUDE_STATUS },
		{ "grant-lead-days", required_argument, NULL, OPT_SETTING + S_GRANT_LEAD_DAYS },
		{ "revoke-grace-days", required_argument, NULL, OPT_SETTING + S_REVOKE_GRACE_DAYS },
		{ "guard-percent", required_argument, NULL, OPT_SETTING + S_GUARD_PERCENT },
		{ "guard-max", required_argument, NULL, OPT_SETTING + S_GUARD_MAX },
		{ "stale-after-nights", required_argument, NULL,
		  OPT_SETTING + S_STALE_AFTER_NIGHTS },
		{ "max-export-age-hours", required_argument, NULL,
		  OPT_SETTING + S_MAX_EXPORT_AGE_HOURS },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct settings s = { 0 };
	const char *verb, *id = NULL;
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, opt, idx, nargs;

	cli_common_init(&cli, "unitsync-property", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, &idx)) != -1) {
		int c;

		if (opt >= OPT_SETTING && opt < OPT_SETTING + N_SETTINGS) {
			char name[64];

			snprintf(name, sizeof(name), "--%s", opts[idx].name);
			if (parse_setting(&s, (enum setting)(opt - OPT_SETTING), name, optarg) <
			    0) {
				cli_usage_error(&cli, "%s", err_msg());
				goto out;
			}
			continue;
		}
		c = cli_common_option(&cli, opt, optarg);
		if (c == 1)
			rc = US_EXIT_OK;
		if (c != 0)
			goto out;
	}
	verb = cli_check_verb(&cli, optind < argc ? argv[optind++] : NULL, verbs);
	if (!verb)
		goto out;
	nargs = argc - optind;
	if (!strcmp(verb, "list")) {
		if (nargs > 0) {
			cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
			goto out;
		}
	} else {
		if (nargs != 1) {
			cli_usage_error(&cli,
					nargs ? "unexpected argument '%s'"
					      : "%s needs a property ID",
					nargs ? argv[optind + 1] : verb);
			goto out;
		}
		id = argv[optind];
		/* an id like '-p2' would read as an option on every later command line */
		if (!strcmp(verb, "add") && id[0] == '-') {
			cli_usage_error(&cli, "bad property ID '%s' (starts with '-')", id);
			goto out;
		}
		if (!id_valid(id)) {
			cli_usage_error(&cli,
					"bad property ID '%s' (empty, or holds control characters)",
					id);
			goto out;
		}
	}
	if (s.n_given && strcmp(verb, "add") && strcmp(verb, "set")) {
		cli_usage_error(&cli, "%s takes no settings", verb);
		goto out;
	}
	if (!s.n_given && !strcmp(verb, "set")) {
		cli_usage_error(&cli, "set needs at least one setting (see --help)");
		goto out;
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(NULL);
		goto out;
	}
	if (!strcmp(verb, "add") || !strcmp(verb, "set"))
		rc = property_write(db, id, &s, !strcmp(verb, "add"));
	else if (!strcmp(verb, "show"))
		rc = property_show(db, id);
	else
		rc = property_list(db);
out:
	db_close(db);
	free(s.exclude);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
