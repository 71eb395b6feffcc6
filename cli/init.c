/*
 * unitsync-init - create the state database, or migrate it to this
 * version's schema.  Safe to run again: an up-to-date database is left as
 * it is.  It never reinitialises a file that is there but is not an SQLite
 * database (empty, or overwritten): that is a lost database, and only
 * --force (which moves the file aside, never deletes it) starts anew
 * (issue 16).  --check runs PRAGMA quick_check instead (nightly.sh, first);
 * --copy-to writes a consistent private copy for a dry run of nightly.sh or
 * rerun.sh to work on, so that a preview changes nothing (issue 17).
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync init [--db PATH] [--force | --check | --copy-to FILE]\n"
	"\n"
	"Create the state database (mode 0600), or migrate it to the current schema.\n"
	"\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --force                  start anew over a file that is not a database (moved aside)\n"
	"  --check                  only run PRAGMA quick_check on the existing database\n"
	"  --copy-to FILE           only write FILE, a consistent copy of the existing database\n"
	"  --log-format text|json   log format on stderr\n";

/* Move PATH (and its -wal) aside as PATH.lost-EPOCH, drop its -shm. */
static int move_aside(const char *path)
{
	char to[4096 + 64], from[4096 + 8];
	long now = (long)time(NULL);

	snprintf(to, sizeof(to), "%s.lost-%ld", path, now);
	if (rename(path, to) < 0) {
		err_set("cannot move '%s' aside: %s", path, strerror(errno));
		return -1;
	}
	log_warn("'%s' was not a database: moved aside to '%s'", path, to);
	snprintf(from, sizeof(from), "%s-wal", path);
	snprintf(to, sizeof(to), "%s.lost-%ld-wal", path, now);
	if (access(from, F_OK) == 0 && rename(from, to) < 0) {
		err_set("cannot move '%s' aside: %s", from, strerror(errno));
		return -1;
	}
	snprintf(from, sizeof(from), "%s-shm", path);
	unlink(from);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
					      { "check", no_argument, NULL, 'k' },
					      { "copy-to", required_argument, NULL, 'o' },
					      CLI_COMMON_OPTIONS,
					      { NULL, 0, NULL, 0 } };
	struct cli_common cli;
	sqlite3 *db = NULL;
	const char *copy_to = NULL;
	int rc = US_EXIT_USAGE, opt, force = 0, check = 0, kind;

	cli_common_init(&cli, "unitsync-init", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		if (opt == 'f' || opt == 'k') {
			*(opt == 'f' ? &force : &check) = 1;
			continue;
		}
		if (opt == 'o') {
			copy_to = optarg;
			continue;
		}
		c = cli_common_option(&cli, opt, optarg);
		if (c == 1)
			rc = US_EXIT_OK;
		if (c != 0)
			goto out;
	}
	if (optind < argc) {
		cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (force + check + !!copy_to > 1) {
		cli_usage_error(&cli, "--force, --check and --copy-to exclude each other");
		goto out;
	}
	rc = US_EXIT_CONFIG;
	kind = db_file_kind(cli.db_path);
	if (kind < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	if (check || copy_to) {
		if (db_open(cli.db_path, 0, &db) < 0) {
			log_error("%s", err_msg());
			rc = db_exit_code(NULL);
			goto out;
		}
	}
	if (copy_to) {
		if (db_copy(db, copy_to) < 0) {
			log_error("%s", err_msg());
			rc = db_exit_code(db);
			goto out;
		}
		printf("%s: copied to '%s'\n", cli.db_path, copy_to);
		rc = US_EXIT_OK;
		goto out;
	}
	if (check) {
		switch (db_quick_check(db)) {
		case 0:
			printf("%s: quick_check ok\n", cli.db_path);
			rc = US_EXIT_OK;
			break;
		case 1:
			log_error("state database '%s' is corrupt (%s): stop using it and restore "
				  "from backup",
				  cli.db_path, err_msg());
			rc = US_EXIT_CORRUPT;
			break;
		default:
			log_error("%s", err_msg());
			rc = db_exit_code(db);
		}
		goto out;
	}
	if ((kind == DB_FILE_EMPTY || kind == DB_FILE_OTHER) && !force) {
		log_error("'%s' exists but %s: refusing to initialise it (restore the database "
			  "from backup, or use --force to start anew)",
			  cli.db_path,
			  kind == DB_FILE_EMPTY ? "is empty" : "is not an SQLite database");
		rc = kind == DB_FILE_EMPTY ? US_EXIT_CONFIG : US_EXIT_CORRUPT;
		goto out;
	}
	if (kind == DB_FILE_OTHER && move_aside(cli.db_path) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	if (db_open(cli.db_path, 1, &db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(NULL);
		goto out;
	}
	if (db_found_version() > 0 && db_found_version() < db_schema_version())
		printf("%s: schema version %d (migrated from %d)\n", cli.db_path,
		       db_schema_version(), db_found_version());
	else
		printf("%s: schema version %d\n", cli.db_path, db_schema_version());
	rc = US_EXIT_OK;
out:
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
