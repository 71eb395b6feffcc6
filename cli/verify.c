/*
 * unitsync-verify - is a run directory complete and unchanged since
 * transform wrote it?
 *
 * Checks SHA256SUMS against the files, the manifest's digests against
 * them, the manifest's counts against the delta's rows, every delta row's
 * shape, and that the state database recorded this very run.
 */
#include "cli.h"
#include "db.h"
#include "delta.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "rundir.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync verify RUN_DIR\n"
	"\n"
	"Check that a run directory is complete and unchanged since transform wrote it.\n"
	"\n"
	"  --db PATH                state database that recorded the run (default $UNITSYNC_DB,\n"
	"                           else ./unitsync.db; skipped with a note when it does not exist)\n"
	"  --log-format text|json   log format on stderr\n";

static int count_row(const struct delta_row *r, void *vc)
{
	long *counts = vc;

	counts[r->op]++;
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_common cli;
	struct rundir run = { 0 };
	long counts[3] = { 0 };
	json_t *by_op;
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, end;

	cli_common_init(&cli, "unitsync-verify", usage);
	end = cli_common_only(&cli, argc, argv);
	if (end != 0) {
		if (end == 1)
			rc = US_EXIT_OK;
		goto out;
	}
	if (optind + 1 != argc) {
		cli_usage_error(&cli, "expected one RUN_DIR");
		goto out;
	}
	rc = US_EXIT_DATAERR;
	if (rundir_open(&run, argv[optind]) < 0 ||
	    delta_read_fd(run.delta_fd, run.delta_path, count_row, counts) < 0)
		goto fail;
	by_op = json_object_get(run.manifest, "counts_by_op");
	for (int op = 0; op < 3; op++) {
		json_t *v = json_object_get(by_op, delta_op_name((enum delta_op)op));

		if (!json_is_integer(v) || json_integer_value(v) != counts[op]) {
			err_set("'%s/manifest.json' counts %lld %s rows, delta.csv has %ld",
				run.dir, (long long)json_integer_value(v),
				delta_op_name((enum delta_op)op), counts[op]);
			goto fail;
		}
	}
	if (access(cli.db_path, F_OK) == 0) {
		if (db_open(cli.db_path, 0, &db) < 0) {
			rc = db_exit_code(NULL);
			goto fail;
		}
		if (rundir_check_recorded(&run, db) < 0)
			goto fail;
		printf("run %s: files, checksums, manifest and the state database agree "
		       "(%ld USER_CREATE, %ld ASSIGN, %ld UNASSIGN)\n",
		       run.run_id, counts[0], counts[1], counts[2]);
	} else {
		printf("run %s: files, checksums and manifest agree (%ld USER_CREATE, %ld ASSIGN, "
		       "%ld UNASSIGN); no state database at '%s' to compare with\n",
		       run.run_id, counts[0], counts[1], counts[2], cli.db_path);
	}
	rc = US_EXIT_OK;
	goto out;
fail:
	log_error("%s", err_msg());
out:
	db_close(db);
	rundir_release(&run);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
