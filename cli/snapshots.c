/*
 * unitsync-snapshots - the staged snapshots: list them, show one, prune
 * old ones.
 *
 * A snapshot is one extracted file (docs/ARCHITECTURE.md §2).  Pruning keeps the
 * newest N per property and never deletes a snapshot that a kept run
 * refers to (a run whose directory still exists), so any delta an auditor
 * can still read can be tied to its export by SHA-256.
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "stg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync snapshots list [--property P [--newest]]\n"
	"       unitsync snapshots show ID\n"
	"       unitsync snapshots prune --keep N [--property P] [--dry-run]\n"
	"       unitsync snapshots export ID FILE\n"
	"\n"
	"List, show or prune staged snapshots (one per extracted file).\n"
	"\n"
	"  --property P             only snapshots of property P\n"
	"  --newest                 list: only P's newest export, the one transform reads\n"
	"                           without --snapshot (the staged file extracted last)\n"
	"  --keep N                 prune: keep the newest N snapshots of each property\n"
	"  --dry-run                prune: say what would be deleted, delete nothing\n"
	"  export                   write FILE, a new SQLite database holding only snapshot ID,\n"
	"                           the runs that used it and their deltas (for an auditor)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/*
 * Snapshots of PROPERTY (or all): one tab-separated line each.  NEWEST:
 * only PROPERTY's newest export, as transform's policy_snapshot() picks it
 * without --snapshot: a staged snapshot with people of the property, the
 * one extracted last (a file extracted again reuses its old id, so the
 * newest is not the highest id).
 */
static int list(sqlite3 *db, const char *property, int newest)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, got = 0;

	if (db_prepare(db,
		       "SELECT s.snapshot_id, s.created_at, "
		       "  coalesce((SELECT group_concat(property_id, ',') FROM (SELECT property_id "
		       "    FROM snapshot_property sp WHERE sp.snapshot_id = s.snapshot_id "
		       "    ORDER BY property_id)), s.property_id), "
		       "  s.source_kind || '/' || s.dialect, s.rows_staged, s.rows_skipped, "
		       "  s.rows_rejected, s.units_staged, s.sha256, s.source_name "
		       "FROM snapshot s WHERE (?1 IS NULL OR s.property_id = ?1 OR EXISTS "
		       "  (SELECT 1 FROM snapshot_property sp WHERE sp.snapshot_id = s.snapshot_id "
		       "   AND sp.property_id = ?1)) "
		       "AND (NOT ?2 OR s.snapshot_id = (SELECT sp.snapshot_id "
		       "  FROM snapshot_property sp JOIN snapshot n USING (snapshot_id) "
		       "  WHERE sp.property_id = ?1 AND n.status = 'staged' "
		       "  ORDER BY n.extract_order DESC LIMIT 1)) "
		       "ORDER BY s.snapshot_id",
		       &st) < 0)
		goto out;
	if (property)
		sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, newest);
	printf("snapshot\tcreated_at\tproperties\tkind\tstaged\tskipped\trejected\tunits\tsha256\t"
	       "source\n");
	while ((got = db_row(st)) == 1)
		printf("%lld\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", sqlite3_column_int64(st, 0),
		       db_col_text(st, 1), db_col_text(st, 2), db_col_text(st, 3),
		       sqlite3_column_int(st, 4), sqlite3_column_int(st, 5),
		       sqlite3_column_int(st, 6), sqlite3_column_int(st, 7), db_col_text(st, 8),
		       db_col_text(st, 9));
	if (got < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Everything about one snapshot; 1 when there is no such snapshot. */
/* The digest of the snapshot's rows recorded when staged, and whether
 * the rows still match it. */
static int show_digest(sqlite3 *db, long long id)
{
	char now[SHA256_HEX_LEN + 1];
	int v = stg_verify(db, id);

	if (v < 0)
		return -1;
	if (v == 2) {
		printf("rows_sha256: (staged before row digests were recorded: not verifiable)\n");
		return 0;
	}
	if (stg_rows_digest(db, id, now) < 0) {
		if (v == 0)
			return -1;
		/* changed so that no digest can be computed (its version) */
		printf("rows_sha256: CHANGED since staged (%s): transform refuses this snapshot\n",
		       err_msg());
		return 0;
	}
	if (v == 0)
		printf("rows_sha256: %s (the rows are as staged)\n", now);
	else
		printf("rows_sha256: CHANGED since staged, now %s: transform refuses this "
		       "snapshot\n",
		       now);
	return 0;
}

static int show(sqlite3 *db, long long id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, n = 0, got = 0;

	if (db_prepare(db,
		       "SELECT snapshot_id, property_id, source_kind, dialect, source_name, sha256, "
		       "size_bytes, rows_staged, rows_skipped, rows_rejected, units_staged, status, "
		       "created_at, fields, unknown_columns FROM snapshot WHERE snapshot_id = ?",
		       &st) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = 1;
		goto out;
	}
	printf("snapshot_id: %lld\nproperty (--property): %s\nkind: %s\ndialect: %s\nsource: %s\n"
	       "sha256: %s\nsize_bytes: %lld\nrows_staged: %d\nrows_skipped: %d\nrows_rejected: %d\n"
	       "units_staged: %d\nstatus: %s\ncreated_at: %s\n",
	       sqlite3_column_int64(st, 0),
	       *db_col_text(st, 1) ? db_col_text(st, 1) : "(from the file)", db_col_text(st, 2),
	       db_col_text(st, 3), db_col_text(st, 4), db_col_text(st, 5),
	       sqlite3_column_int64(st, 6), sqlite3_column_int(st, 7), sqlite3_column_int(st, 8),
	       sqlite3_column_int(st, 9), sqlite3_column_int(st, 10), db_col_text(st, 11),
	       db_col_text(st, 12));
	/* schema drift (issue 15 item 7): what transform compares night to night */
	printf("fields: %s\nunknown_columns: %s\n",
	       sqlite3_column_type(st, 13) == SQLITE_NULL ? "(not recorded)" : db_col_text(st, 13),
	       sqlite3_column_type(st, 14) == SQLITE_NULL ? "(none)" : db_col_text(st, 14));
	sqlite3_finalize(st);
	st = NULL;
	if (show_digest(db, id) < 0)
		goto out;
	if (db_prepare(db,
		       "SELECT property_id, people FROM snapshot_property WHERE snapshot_id = ? "
		       "ORDER BY property_id",
		       &st) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((got = db_row(st)) == 1)
		printf("property: %s (%d people)\n", db_col_text(st, 0), sqlite3_column_int(st, 1));
	if (got < 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (db_prepare(db,
		       "SELECT DISTINCT run_id FROM run_input WHERE snapshot_id = ? ORDER BY run_id",
		       &st) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((got = db_row(st)) == 1)
		printf("used by run: %s\n", db_col_text(st, 0));
	if (got < 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (db_prepare(db,
		       "SELECT source_ref, reason FROM stg_reject WHERE snapshot_id = ? ORDER BY rowid",
		       &st) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((got = db_row(st)) == 1) {
		if (n++ == 0)
			printf("rejected rows:\n");
		printf("  %s: %s\n", db_col_text(st, 0), db_col_text(st, 1));
	}
	if (got < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Is RUN_DIR still on disk (a run an auditor can still read)? */
static void run_dir_exists(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *dir = sqlite3_value_text(argv[0]);
	struct stat st;

	(void)argc;
	sqlite3_result_int(ctx, dir && stat((const char *)dir, &st) == 0 && S_ISDIR(st.st_mode));
}

/* ?1 KEEP, ?2 the property or NULL: each snapshot's properties (owner:
 * those it staged people for, else its own), its age among each property's
 * (1: newest), the snapshots prune keeps by age (by_age), those a kept run,
 * one whose directory still exists, read (by_run), and those beyond the
 * newest KEEP of the property (candidate) */
#define PRUNE_SETS                                                                         \
	"WITH owner AS ("                                                                  \
	"  SELECT snapshot_id, property_id FROM snapshot_property "                        \
	"  UNION SELECT snapshot_id, property_id FROM snapshot WHERE property_id <> ''), " \
	"ranked AS (SELECT snapshot_id, property_id, row_number() OVER "                   \
	"  (PARTITION BY property_id ORDER BY snapshot_id DESC) AS age FROM owner), "      \
	"by_age AS (SELECT snapshot_id FROM ranked WHERE age <= ?1 "                       \
	"  OR (?2 IS NOT NULL AND property_id <> ?2)), "                                   \
	"by_run AS (SELECT ri.snapshot_id FROM run_input ri JOIN run r USING (run_id) "    \
	"  WHERE ri.snapshot_id IS NOT NULL AND run_dir_exists(r.run_dir)), "              \
	"candidate AS (SELECT s.snapshot_id, s.source_name FROM snapshot s "               \
	"  WHERE s.snapshot_id NOT IN (SELECT snapshot_id FROM by_age) "                   \
	"  AND (?2 IS NULL OR s.snapshot_id IN (SELECT snapshot_id FROM owner "            \
	"       WHERE property_id = ?2))) "

/* Prepare SQL (PRUNE_SETS and a query of its sets) into *ST, KEEP and
 * PROPERTY (NULL: every property) bound; -1 with err_set(). */
static int prepare_prune(sqlite3 *db, const char *sql, int keep, const char *property,
			 sqlite3_stmt **st)
{
	if (db_prepare(db, sql, st) < 0)
		return -1;
	sqlite3_bind_int(*st, 1, keep);
	if (property)
		sqlite3_bind_text(*st, 2, property, -1, SQLITE_STATIC);
	return 0;
}

/*
 * Delete snapshots beyond the newest KEEP of each property, sparing those a
 * kept run refers to.  One transaction.  Each deleted snapshot is named
 * with the runs that read it and could be replayed until now (made after
 * replay_start): `unitsync replay` cannot rebuild them without it.  Those
 * spared for a run are counted, so that "0 snapshot(s) deleted" says why
 * (new user nu14 #12).
 */
static int prune(sqlite3 *db, const char *property, int keep, int dry_run)
{
	sqlite3_stmt *st = NULL, *del = NULL, *runs = NULL;
	long n = 0, lost = 0, spared = 0;
	int rc = -1, got = 0, r = 0;

	if (sqlite3_create_function(db, "run_dir_exists", 1, SQLITE_UTF8, NULL, run_dir_exists,
				    NULL, NULL) != SQLITE_OK) {
		db_error(db, NULL);
		return -1;
	}
	if (db_begin(db) < 0)
		return -1;
	if (prepare_prune(db,
			  PRUNE_SETS "SELECT snapshot_id, source_name FROM candidate "
				     "WHERE snapshot_id NOT IN (SELECT snapshot_id FROM by_run) "
				     "ORDER BY snapshot_id",
			  keep, property, &st) < 0 ||
	    db_prepare(db, "DELETE FROM snapshot WHERE snapshot_id = ?", &del) < 0 ||
	    db_prepare(db,
		       "SELECT DISTINCT run_id FROM run_input WHERE snapshot_id = ? "
		       "AND run_id > (SELECT last_run FROM replay_start) ORDER BY run_id",
		       &runs) < 0)
		goto out;
	while ((got = db_row(st)) == 1) {
		printf("%s snapshot %lld (%s)\n", dry_run ? "would delete" : "deleted",
		       sqlite3_column_int64(st, 0), db_col_text(st, 1));
		n++;
		sqlite3_reset(runs);
		sqlite3_bind_int64(runs, 1, sqlite3_column_int64(st, 0));
		while ((r = db_row(runs)) == 1) {
			printf("  run %s %s be replayed (it read snapshot %lld)\n",
			       db_col_text(runs, 0),
			       dry_run ? "could then no longer" : "can no longer",
			       sqlite3_column_int64(st, 0));
			lost++;
		}
		if (r < 0)
			goto out;
		if (dry_run)
			continue;
		sqlite3_reset(del);
		sqlite3_bind_int64(del, 1, sqlite3_column_int64(st, 0));
		if (sqlite3_step(del) != SQLITE_DONE) {
			db_error(db, NULL);
			goto out;
		}
	}
	if (got < 0)
		goto out; /* the list was not read to its end: commit nothing */
	sqlite3_finalize(st);
	st = NULL;
	if (prepare_prune(db,
			  PRUNE_SETS "SELECT count(*) FROM candidate "
				     "WHERE snapshot_id IN (SELECT snapshot_id FROM by_run)",
			  keep, property, &st) < 0 ||
	    db_row(st) != 1)
		goto out;
	spared = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (db_commit(db) < 0)
		goto out;
	printf("%ld snapshot(s) %s\n", n, dry_run ? "would be deleted" : "deleted");
	if (spared)
		printf("%ld snapshot(s) beyond the newest %d kept: runs whose directories still "
		       "exist read them\n",
		       spared, keep);
	if (lost)
		printf("%ld run(s) %s replayable (unitsync replay)\n", lost,
		       dry_run ? "would no longer be" : "no longer");
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	sqlite3_finalize(runs);
	if (rc < 0)
		db_rollback(db);
	return rc;
}

/*
 * A consistent copy for an auditor: VACUUM INTO takes a transactionally
 * consistent copy while a nightly run may be writing (never a file copy of
 * a live WAL database), then everything unrelated to snapshot ID is
 * deleted from the copy and the copy is compacted.  FILE must not exist.
 */
static int export(sqlite3 *db, long long id, const char *file)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *copy = NULL;
	char ids[32];
	int rc = -1;

	if (access(file, F_OK) == 0) {
		err_set("'%s' exists; choose a new file", file);
		return -1;
	}
	if (db_prepare(db, "SELECT 1 FROM snapshot WHERE snapshot_id = ?", &st) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return 1;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (db_copy(db, file) < 0)
		return -1;
	if (sqlite3_open_v2(file, &copy, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err_set("cannot open '%s'", file);
		goto out;
	}
	snprintf(ids, sizeof(ids), "%lld", id);
	{
		/* keep the snapshot, the runs that read it, their history and journal */
		static const char *const prune[] = {
			"PRAGMA foreign_keys = ON",
			"CREATE TEMP TABLE keep_run AS SELECT DISTINCT run_id FROM run_input "
			"WHERE snapshot_id = :id",
			"DELETE FROM snapshot WHERE snapshot_id <> :id",
			"DELETE FROM stg_person WHERE snapshot_id <> :id",
			"DELETE FROM stg_unit WHERE snapshot_id <> :id",
			"DELETE FROM stg_reject WHERE snapshot_id <> :id",
			"DELETE FROM snapshot_property WHERE snapshot_id <> :id",
			"DELETE FROM run WHERE run_id NOT IN (SELECT run_id FROM keep_run)",
			"DELETE FROM run_input WHERE run_id NOT IN (SELECT run_id FROM keep_run)",
			"DELETE FROM delta_history WHERE run_id NOT IN (SELECT run_id FROM keep_run)",
			"DELETE FROM run_exception WHERE run_id NOT IN (SELECT run_id FROM keep_run)",
			"DELETE FROM journal WHERE run_id NOT IN (SELECT run_id FROM keep_run)",
			"DELETE FROM run_inflight WHERE run_id NOT IN (SELECT run_id FROM keep_run)",
			"DELETE FROM snapshot_extraction WHERE snapshot_id <> :id",
			"DELETE FROM person_user",
			"DELETE FROM assignment",
			/* everyone's Latch users and units, as they stood (migration 9) */
			"DELETE FROM person_user_history",
			"DELETE FROM assignment_history",
			"VACUUM",
		};

		for (size_t i = 0; i < sizeof(prune) / sizeof(prune[0]); i++) {
			if (db_prepare(copy, prune[i], &st) < 0)
				goto out;
			if (sqlite3_bind_parameter_count(st))
				sqlite3_bind_int64(st, 1, id);
			if (sqlite3_step(st) != SQLITE_DONE) {
				err_set("'%s': %s", file, sqlite3_errmsg(copy));
				goto out;
			}
			sqlite3_finalize(st);
			st = NULL;
		}
	}
	printf("snapshot %s exported to '%s'\n", ids, file);
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(copy);
	if (rc < 0)
		unlink(file);
	return rc;
}

int main(int argc, char **argv)
{
	static const char *const verbs[] = { "list", "show", "prune", "export", NULL };
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "keep", required_argument, NULL, 'k' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "newest", no_argument, NULL, 'N' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	const char *property = NULL, *verb;
	int keep = -1, dry_run = 0, newest = 0, opt, rc = US_EXIT_USAGE;
	sqlite3 *db = NULL;

	cli_common_init(&cli, "unitsync-snapshots", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		switch (opt) {
		case 'p':
			property = optarg;
			break;
		case 'k':
			if (cli_parse_uint(optarg, &keep) < 0) {
				cli_usage_error(&cli, "--keep: %s", err_msg());
				goto out;
			}
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'N':
			newest = 1;
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				rc = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	verb = cli_check_verb(&cli, optind < argc ? argv[optind++] : NULL, verbs);
	if (!verb)
		goto out;
	if (!strcmp(verb, "show")     ? optind + 1 != argc
	    : !strcmp(verb, "export") ? optind + 2 != argc
				      : optind != argc) {
		cli_usage_error(&cli, "unexpected arguments for '%s'", verb);
		goto out;
	}
	if (newest && (strcmp(verb, "list") != 0 || !property)) {
		cli_usage_error(&cli, "--newest goes with 'list --property P'");
		goto out;
	}
	if (!strcmp(verb, "prune") && keep < 1) {
		cli_usage_error(&cli, "prune needs --keep N (N at least 1)");
		goto out;
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(NULL);
		goto out;
	}
	/* a mistyped --property would list (or prune) nothing and read as "none" */
	if (property) {
		int known = stg_property_known(db, property);

		if (known < 0) {
			log_error("%s", err_msg());
			rc = known == -1 ? db_exit_code(db) : US_EXIT_DATAERR;
			goto out;
		}
	}
	if (!strcmp(verb, "show") || !strcmp(verb, "export")) {
		char *end;
		long long id = strtoll(argv[optind], &end, 10);
		int r;

		if (*end || id <= 0) {
			cli_usage_error(&cli, "'%s' is not a snapshot id", argv[optind]);
			rc = US_EXIT_USAGE;
			goto out;
		}
		r = !strcmp(verb, "show") ? show(db, id) : export(db, id, argv[optind + 1]);
		/* export answers 1 for an unknown snapshot too */
		if (r == 1) {
			log_error("no snapshot %lld (see 'unitsync snapshots list')", id);
			rc = US_EXIT_DATAERR;
			goto out;
		}
		if (r < 0)
			goto fail;
	} else if (!strcmp(verb, "list")) {
		if (list(db, property, newest) < 0)
			goto fail;
	} else if (prune(db, property, keep, dry_run) < 0) {
		goto fail;
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
