/*
 * unitsync-runs - the run history: every transform with its inputs, the
 * safety guard's verdict, the approval and what load made of it.  A run's
 * status comes from runstatus_get(), as in `unitsync report`.
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "rundir.h"
#include "runstatus.h"
#include "stg.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: unitsync runs list [--property P] [--limit N] [--unfinished]\n"
	"       unitsync runs show RUN_ID\n"
	"\n"
	"The run history: run id, as-of date, inputs, counts, guard verdict, approval, load outcome.\n"
	"\n"
	"  --property P             only runs that include property P\n"
	"  --limit N                the newest N runs (default 50)\n"
	"  --unfinished             only the directories of runs a load left unfinished and no\n"
	"                           newer run has replaced, oldest first (for nightly.sh)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/* The runs each_run() visits, and in which order. */
enum runs_of {
	RUNS_NEWEST_FIRST,
	/*
	 * Oldest first, only those a load may have left unfinished: a run
	 * is incomplete only with rows open of a property no newer run read
	 * (runstatus.h), so only a property's newest run, or a run of no
	 * property, can be.  The others' journals are not read: a
	 * year of nights was 0.45 s of every night's `--unfinished`.  And
	 * only one with a row open (pending or inflight: index journal_open,
	 * migration 21), which print_unfinished() requires: a run loaded to
	 * its end is not counted row by row (a night 0 of 100k units, 324k
	 * rows, was 0.15-0.2 s of every night).
	 */
	RUNS_UNSUPERSEDED,
};

/* ?1 the property or NULL, ?2 the limit (-1: none) */
static const char *const runs_sql[] = {
	[RUNS_NEWEST_FIRST] = "SELECT run_id FROM run r WHERE ?1 IS NULL OR EXISTS "
			      "(SELECT 1 FROM run_input i WHERE i.run_id = r.run_id AND "
			      "i.property_id = ?1) ORDER BY run_id DESC LIMIT ?2",
	[RUNS_UNSUPERSEDED] =
		"SELECT run_id FROM run r WHERE (?1 IS NULL OR EXISTS "
		"(SELECT 1 FROM run_input i WHERE i.run_id = r.run_id AND i.property_id = ?1)) "
		"AND (r.run_id IN (SELECT max(run_id) FROM run_input GROUP BY property_id) "
		"OR NOT EXISTS (SELECT 1 FROM run_input i WHERE i.run_id = r.run_id)) "
		"AND EXISTS (SELECT 1 FROM journal j WHERE j.run_id = r.run_id "
		"  AND j.state IN ('pending', 'inflight')) "
		"ORDER BY run_id LIMIT ?2",
};

/* The runs WHICH of PROPERTY (NULL: all), at most LIMIT (-1: all):
 * FN(RUN_ID, STATUS, CTX) for each; FN returns 0 to go on, -1 to fail. */
static int each_run(sqlite3 *db, const char *property, int limit, enum runs_of which,
		    int (*fn)(const char *run_id, const struct runstatus *rs, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	if (db_prepare(db, runs_sql[which], &st) < 0)
		return -1;
	if (property)
		sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	while ((step = db_row(st)) == 1) {
		struct runstatus rs;

		if (runstatus_get(db, db_col_text(st, 0), &rs) < 0 ||
		    fn(db_col_text(st, 0), &rs, ctx) < 0)
			goto out;
	}
	if (step < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* each_run() callback of --unfinished: a run a load left incomplete with
 * rows still to send (of a property no newer run read: see runstatus.h). */
static int print_unfinished(const char *run_id, const struct runstatus *rs, void *ctx)
{
	(void)run_id;
	(void)ctx;
	if (!strcmp(rs->status, "incomplete") && rs->open > 0)
		printf("%s\n", rs->run_dir);
	return 0;
}

/* Run directories that nightly.sh finishes before a new night. */
static int list_unfinished(sqlite3 *db, const char *property)
{
	return each_run(db, property, -1, RUNS_UNSUPERSEDED, print_unfinished, NULL);
}

/* each_run() callback of list: one line a run. */
static int print_run(const char *run_id, const struct runstatus *rs, void *ctx)
{
	sqlite3 *db = ctx;
	sqlite3_stmt *st = NULL;
	char outcome[256];

	if (db_prepare(db,
		       "SELECT group_concat(DISTINCT property_id) FROM (SELECT property_id FROM "
		       "run_input WHERE run_id = ? ORDER BY property_id)",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_step(st);
	runstatus_journal_describe(rs, outcome, sizeof(outcome));
	printf("%s\t%s\t%s\t%s\t%ld\t%s\t%s\t%s\t%s\t%s\n", run_id, rs->as_of, rs->created_at,
	       db_col_text(st, 0), rs->rows, rs->guard, rs->approved_by, outcome, rs->status,
	       rs->run_dir);
	sqlite3_finalize(st);
	return 0;
}

static int list(sqlite3 *db, const char *property, int limit)
{
	printf("run_id\tas_of\tcreated_at\tproperties\trows\tguard\tapproved_by\tload\tstatus\t"
	       "run_dir\n");
	return each_run(db, property, limit, RUNS_NEWEST_FIRST, print_run, db);
}

/* runstatus_inputs() callback of show: one line an input. */
static int print_input(const struct runstatus_input *in, void *ctx)
{
	char line[8192];

	(void)ctx;
	runstatus_input_describe(in, line, sizeof(line));
	printf("input: %s\n", line);
	return 0;
}

/* One run in full; 1 when there is no such run. */
static int show(sqlite3 *db, const char *run_id)
{
	sqlite3_stmt *st = NULL;
	struct runstatus rs;
	char outcome[256], status[1024];
	int rc = -1, found, got = 0;

	found = runstatus_get(db, run_id, &rs);
	if (found <= 0)
		return found < 0 ? -1 : 1;
	if (db_prepare(db, "SELECT delta_sha256, manifest_sha256 FROM run WHERE run_id = ?", &st) <
	    0)
		goto out;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_error(db, NULL);
		goto out;
	}
	runstatus_journal_describe(&rs, outcome, sizeof(outcome));
	runstatus_describe(&rs, status, sizeof(status));
	printf("run_id: %s\nas_of: %s\ncreated_at: %s\nrun_dir: %s\ndelta_sha256: %s\n"
	       "manifest_sha256: %s\ndelta_rows: %ld\nguard: %s\napproved_by: %s\napproved_at: %s\n"
	       "load_status: %s\nloaded_at: %s\njournal: %s\nstatus: %s\n",
	       run_id, rs.as_of, rs.created_at, rs.run_dir, db_col_text(st, 0), db_col_text(st, 1),
	       rs.rows, rs.guard, rs.approved_by, rs.approved_at, rs.load_status, rs.loaded_at,
	       outcome, status);
	sqlite3_finalize(st);
	st = NULL;
	if (runstatus_inputs(db, run_id, print_input, NULL) < 0)
		goto out;
	if (db_prepare(db,
		       "SELECT op, reason, count(*) FROM delta_history WHERE run_id = ? "
		       "GROUP BY op, reason ORDER BY op, reason",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	while ((got = db_row(st)) == 1)
		printf("rows: %s %s %d\n", db_col_text(st, 0), db_col_text(st, 1),
		       sqlite3_column_int(st, 2));
	if (got < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int main(int argc, char **argv)
{
	static const char *const verbs[] = { "list", "show", NULL };
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'l' },
		{ "unfinished", no_argument, NULL, 'u' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	const char *property = NULL, *verb;
	int limit = 50, opt, rc = US_EXIT_USAGE, r, unfinished = 0;
	sqlite3 *db = NULL;

	cli_common_init(&cli, "unitsync-runs", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		if (opt == 'p') {
			property = optarg;
			continue;
		}
		if (opt == 'u') {
			unfinished = 1;
			continue;
		}
		if (opt == 'l') {
			if (cli_parse_uint(optarg, &limit) < 0 || limit < 1) {
				cli_usage_error(&cli,
						"--limit takes a positive whole number, not '%s'",
						optarg);
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
	if (!strcmp(verb, "show") ? optind + 1 != argc : optind != argc) {
		cli_usage_error(&cli, "unexpected arguments for '%s'", verb);
		goto out;
	}
	if (db_open(cli.db_path, 0, &db) < 0)
		goto fail;
	/* a mistyped --property would list nothing and read as "no runs" */
	if (property && (r = stg_property_known(db, property)) < 0) {
		if (r == -1)
			goto fail;
		log_error("%s", err_msg());
		rc = US_EXIT_DATAERR;
		goto out;
	}
	r = strcmp(verb, "list") ? show(db, argv[optind])
	    : unfinished         ? list_unfinished(db, property)
				 : list(db, property, limit);
	if (r < 0)
		goto fail;
	if (r == 1) {
		if (rundir_preview_error(argv[optind]))
			log_error("%s", err_msg());
		else
			log_error("no run '%s' (see 'unitsync runs list')", argv[optind]);
		rc = US_EXIT_DATAERR;
		goto out;
	}
	rc = US_EXIT_OK;
	goto out;
fail:
	log_error("%s", err_msg());
	rc = db_exit_code(db);
out:
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
