/*
 * unitsync-runs - the run history: every transform with its inputs, the
 * safety guard's verdict, the approval and what load made of it.
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"

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

/* The journal's view of a run, "done 12, failed 1", or "not loaded". */
static void load_outcome(sqlite3 *db, const char *run_id, char *out, size_t size)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	out[0] = '\0';
	if (db_prepare(db,
		       "SELECT state, count(*) FROM journal WHERE run_id = ? GROUP BY state "
		       "ORDER BY state",
		       &st) == 0) {
		sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW && n < size)
			n += (size_t)snprintf(out + n, size - n, "%s%s %d", n ? ", " : "",
					      db_col_text(st, 0), sqlite3_column_int(st, 1));
	}
	sqlite3_finalize(st);
	if (!out[0])
		snprintf(out, size, "not loaded");
}

/* Run directories with open journal rows that are still the newest for
 * every property they cover: what nightly.sh finishes before a new night. */
static int list_unfinished(sqlite3 *db, const char *property)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_prepare(db,
		       "SELECT r.run_dir FROM run r WHERE EXISTS (SELECT 1 FROM journal j "
		       "  WHERE j.run_id = r.run_id AND j.state IN ('pending', 'inflight')) "
		       "AND NOT EXISTS (SELECT 1 FROM run_input mine JOIN run_input other "
		       "  ON other.property_id = mine.property_id AND other.run_id > mine.run_id "
		       "  WHERE mine.run_id = r.run_id) "
		       "AND (?1 IS NULL OR EXISTS (SELECT 1 FROM run_input i WHERE i.run_id = r.run_id "
		       "  AND i.property_id = ?1)) ORDER BY r.run_id",
		       &st) < 0)
		goto out;
	if (property)
		sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("%s\n", db_col_text(st, 0));
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static int list(sqlite3 *db, const char *property, int limit)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_prepare(db,
		       "SELECT r.run_id, r.as_of, r.created_at, "
		       "  (SELECT group_concat(DISTINCT property_id) FROM (SELECT property_id FROM "
		       "   run_input i WHERE i.run_id = r.run_id ORDER BY property_id)), "
		       "  r.delta_rows, r.guard, coalesce(r.approved_by, ''), r.run_dir "
		       "FROM run r WHERE ?1 IS NULL OR EXISTS (SELECT 1 FROM run_input i "
		       "  WHERE i.run_id = r.run_id AND i.property_id = ?1) "
		       "ORDER BY r.run_id DESC LIMIT ?2",
		       &st) < 0)
		goto out;
	if (property)
		sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	printf("run_id\tas_of\tcreated_at\tproperties\trows\tguard\tapproved_by\tload\trun_dir\n");
	while (sqlite3_step(st) == SQLITE_ROW) {
		char outcome[256];

		load_outcome(db, db_col_text(st, 0), outcome, sizeof(outcome));
		printf("%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", db_col_text(st, 0),
		       db_col_text(st, 1), db_col_text(st, 2), db_col_text(st, 3),
		       sqlite3_column_int(st, 4), db_col_text(st, 5), db_col_text(st, 6), outcome,
		       db_col_text(st, 7));
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* One run in full; 1 when there is no such run. */
static int show(sqlite3 *db, const char *run_id)
{
	sqlite3_stmt *st = NULL;
	char outcome[256];
	int rc = -1;

	if (db_prepare(db,
		       "SELECT run_id, as_of, created_at, run_dir, delta_sha256, manifest_sha256, "
		       "delta_rows, guard, approved_by, approved_at, load_status, loaded_at "
		       "FROM run WHERE run_id = ?",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = 1;
		goto out;
	}
	load_outcome(db, run_id, outcome, sizeof(outcome));
	printf("run_id: %s\nas_of: %s\ncreated_at: %s\nrun_dir: %s\ndelta_sha256: %s\n"
	       "manifest_sha256: %s\ndelta_rows: %d\nguard: %s\napproved_by: %s\napproved_at: %s\n"
	       "load_status: %s\nloaded_at: %s\njournal: %s\n",
	       db_col_text(st, 0), db_col_text(st, 1), db_col_text(st, 2), db_col_text(st, 3),
	       db_col_text(st, 4), db_col_text(st, 5), sqlite3_column_int(st, 6),
	       db_col_text(st, 7), db_col_text(st, 8), db_col_text(st, 9), db_col_text(st, 10),
	       db_col_text(st, 11), outcome);
	sqlite3_finalize(st);
	st = NULL;
	if (db_prepare(db,
		       "SELECT i.property_id, i.snapshot_id, coalesce(s.source_name, ''), "
		       "coalesce(s.sha256, '') FROM run_input i LEFT JOIN snapshot s USING (snapshot_id) "
		       "WHERE i.run_id = ? ORDER BY i.property_id, i.snapshot_id",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			printf("input: %s: no export (property missing)\n", db_col_text(st, 0));
		else
			printf("input: %s: snapshot %lld '%s' sha256 %s%s\n", db_col_text(st, 0),
			       (long long)sqlite3_column_int64(st, 1), db_col_text(st, 2),
			       db_col_text(st, 3), *db_col_text(st, 3) ? "" : "(pruned)");
	}
	sqlite3_finalize(st);
	st = NULL;
	if (db_prepare(db,
		       "SELECT op, reason, count(*) FROM delta_history WHERE run_id = ? "
		       "GROUP BY op, reason ORDER BY op, reason",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("rows: %s %s %d\n", db_col_text(st, 0), db_col_text(st, 1),
		       sqlite3_column_int(st, 2));
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
	r = strcmp(verb, "list") ? show(db, argv[optind])
	    : unfinished         ? list_unfinished(db, property)
				 : list(db, property, limit);
	if (r < 0)
		goto fail;
	if (r == 1) {
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
