/*
 * unitsync-approve - release a run held by the safety guard.
 *
 * Records who approved and when in the state database (table run); load
 * then sends the held properties' rows too.  A run whose files changed
 * after transform is refused, as load refuses it.
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "ledger.h"
#include "log.h"
#include "rundir.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync approve RUN_DIR [--by NAME]\n"
	"\n"
	"Release a run held by the safety guard, recording who approved it and when.\n"
	"\n"
	"  --by NAME                who approves (default: the account running it)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "by", required_argument, NULL, 'b' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct rundir run = { 0 };
	const char *by = NULL;
	char account[64];
	sqlite3 *db = NULL;
	char now[32], newer[128], prop[256];
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-approve", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		if (opt == 'b') {
			by = optarg;
			continue;
		}
		c = cli_common_option(&cli, opt, optarg);
		if (c == 1)
			rc = US_EXIT_OK;
		if (c != 0)
			goto out;
	}
	if (optind + 1 != argc) {
		cli_usage_error(&cli, "expected one RUN_DIR");
		goto out;
	}
	/* who approved: the name given, else the OS account running this */
	if (!by || !*by) {
		cli_account(account, sizeof(account));
		by = account;
	}
	if (rundir_open(&run, argv[optind]) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_DATAERR;
		goto out;
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(NULL);
		goto out;
	}
	/* the checks and the approval in one write transaction: a transform
	 * between them would make the approved run a superseded one */
	if (db_begin(db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(db);
		goto out;
	}
	if (rundir_check_recorded(&run, db) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_DATAERR;
		goto out;
	}
	/* approving a stale run would undo a newer night's decisions */
	switch (rundir_superseded_by(&run, db, newer, sizeof(newer), prop, sizeof(prop))) {
	case -1:
		log_error("%s", err_msg());
		rc = db_exit_code(db);
		goto out;
	case 1:
		log_error("run '%s' is superseded: run %s is newer for property %s; review that one",
			  run.run_id, newer, prop);
		rc = US_EXIT_DATAERR;
		goto out;
	}
	switch (ledger_approve(db, run.run_id, run.delta_sha256, run.manifest_sha256, by, now)) {
	case -1:
		log_error("%s", err_msg());
		rc = db_exit_code(db);
		goto out;
	case 0:
		log_error("run '%s' is not in '%s' as transform wrote it (approve it against the "
			  "state database that made it)",
			  run.run_id, cli.db_path);
		rc = US_EXIT_DATAERR;
		goto out;
	}
	if (db_commit(db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(db);
		goto out;
	}
	printf("run %s approved by %s at %s\n", run.run_id, by, now);
	rc = US_EXIT_OK;
out:
	db_rollback(db);
	rundir_release(&run);
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
