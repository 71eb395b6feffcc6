/*
 * unitsync-init - create the state database, or migrate it to this
 * version's schema.  Safe to run again: an up-to-date database is left as
 * it is.
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"

#include <stdio.h>

static const char usage[] =
	"usage: unitsync init [--db PATH]\n"
	"\n"
	"Create the state database (mode 0600), or migrate it to the current schema.\n"
	"\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	struct cli_common cli;
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-init", usage);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int c = cli_common_option(&cli, opt, optarg);

		if (c == 1)
			rc = US_EXIT_OK;
		if (c != 0)
			goto out;
	}
	if (optind < argc) {
		cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (db_open(cli.db_path, 1, &db) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	printf("%s: schema version %d\n", cli.db_path, db_schema_version());
	rc = US_EXIT_OK;
out:
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
