/*
 * unitsync-explain - every delta that ever touched a person, with why.
 *
 * For the auditor who asks, months later, why a family lost or got access:
 * each row names the run, its as-of date, the op, the unit, the reason, the
 * snapshot and the source row (file and line) the decision came from, and
 * what load made of it according to the journal.
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: unitsync explain --property P --person ID\n"
	"\n"
	"Every delta that touched a person across runs: run, as-of date, op, unit, reason,\n"
	"the snapshot and source row it came from, and the load outcome.\n"
	"\n"
	"  --property P             the person's property\n"
	"  --person ID              the PMS person id\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "person", required_argument, NULL, 'P' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	const char *property = NULL, *person = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = US_EXIT_USAGE, opt, n = 0;

	cli_common_init(&cli, "unitsync-explain", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		if (opt == 'p' || opt == 'P') {
			*(opt == 'p' ? &property : &person) = optarg;
			continue;
		}
		c = cli_common_option(&cli, opt, optarg);
		if (c == 1)
			rc = US_EXIT_OK;
		if (c != 0)
			goto out;
	}
	if (!property || !person || optind != argc) {
		cli_usage_error(&cli, "--property and --person are required, and nothing else");
		goto out;
	}
	rc = US_EXIT_CONFIG;
	if (db_open(cli.db_path, 0, &db) < 0 ||
	    db_prepare(db,
		       "SELECT h.run_id, h.effective_date, h.seq, h.op, h.pms_unit_id, h.latch_unit_id, "
		       "  h.reason, h.group_id, h.snapshot_id, s.source_name, s.sha256, h.source_ref, "
		       "  coalesce(j.state, CASE WHEN r.run_id IS NULL THEN 'unknown run' "
		       "    ELSE 'not loaded' END), j.http_status, r.guard, r.approved_by "
		       "FROM delta_history h "
		       "LEFT JOIN snapshot s ON s.snapshot_id = h.snapshot_id "
		       "LEFT JOIN journal j ON j.run_id = h.run_id AND j.seq = h.seq "
		       "LEFT JOIN run r ON r.run_id = h.run_id "
		       "WHERE h.property_id = ? AND h.pms_person_id = ? ORDER BY h.run_id, h.seq",
		       &st) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, person, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		n++;
		printf("run %s, as of %s, row %d: %s unit %s (Latch %s), reason %s%s%s\n",
		       db_col_text(st, 0), db_col_text(st, 1), sqlite3_column_int(st, 2),
		       db_col_text(st, 3), *db_col_text(st, 4) ? db_col_text(st, 4) : "-",
		       *db_col_text(st, 5) ? db_col_text(st, 5) : "-", db_col_text(st, 6),
		       *db_col_text(st, 7) ? ", transfer group " : "", db_col_text(st, 7));
		if (sqlite3_column_type(st, 8) != SQLITE_NULL)
			printf("  from snapshot %lld, '%s' (sha256 %s), %s\n",
			       (long long)sqlite3_column_int64(st, 8), db_col_text(st, 9),
			       db_col_text(st, 10),
			       *db_col_text(st, 11) ? db_col_text(st, 11) : "not in that export");
		printf("  load: %s%s%s; guard %s%s%s\n", db_col_text(st, 12),
		       sqlite3_column_type(st, 13) != SQLITE_NULL ? ", HTTP " : "",
		       sqlite3_column_type(st, 13) != SQLITE_NULL ? db_col_text(st, 13) : "",
		       *db_col_text(st, 14) ? db_col_text(st, 14) : "unknown",
		       *db_col_text(st, 15) ? ", approved by " : "", db_col_text(st, 15));
	}
	if (n == 0) {
		printf("no delta ever touched person '%s' of property '%s'\n", person, property);
	}
	rc = US_EXIT_OK;
out:
	sqlite3_finalize(st);
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
