/*
 * extract.c - the run of an extract program around its files (extract.h).
 */
#include "extract.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "stg.h"

int extract_reject_percent(const struct cli_common *c, const char *arg, double *out)
{
	if (cli_parse_number(arg, 0, 100, out) == 0)
		return 0;
	cli_usage_error(c, "--max-reject-percent takes 0 to 100, not '%s'", arg);
	return -1;
}

int extract_run(const struct cli_common *c, const char *property, char *const *files, int n,
		int (*one)(sqlite3 *db, const char *path, void *arg), void *arg)
{
	sqlite3 *db = NULL;
	int rc = US_EXIT_OK;

	if (db_open(c->db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		return db_exit_code(NULL);
	}
	if (property) {
		int e = stg_property_known(db, property);

		if (e < 0) {
			log_error("%s; nothing staged", err_msg());
			rc = e == -1 ? db_exit_code(db) : US_EXIT_DATAERR;
			goto out;
		}
	}
	for (int i = 0; i < n; i++) {
		int r = one(db, files[i], arg);

		/* the database's failure (75, 78) outranks a rejected file (65) */
		if (r != US_EXIT_OK && (rc == US_EXIT_OK || r > rc))
			rc = r;
	}
out:
	db_checkpoint(db); /* the end of the stage: the WAL goes back to zero */
	db_close(db);
	return rc;
}

int extract_same_file(const char *path, const struct stat *st)
{
	struct stat now;

	return stat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
	       now.st_size == st->st_size && now.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	       now.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}
