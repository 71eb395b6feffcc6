/*
 * extract.c - the extract driver (extract.h): the run of an extract
 * program, and what staging one file takes besides its reader
 * (extract_int.h); extract_csv.c and extract_xml.c stage the files.
 */
#include "extract.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "extract_int.h"
#include "log.h"
#include "mem.h"
#include "stg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int extract_reject_percent(const struct cli_common *c, const char *arg, double *out)
{
	if (cli_parse_number(arg, 0, 100, out) == 0)
		return 0;
	cli_usage_error(c, "--max-reject-percent takes 0 to 100, not '%s'", arg);
	return -1;
}

int extract_files(sqlite3 *db, struct extract_job *j, char *const *files, int n, extract_reader one)
{
	int rc = US_EXIT_OK;

	if (j->property) {
		int e = stg_property_known(db, j->property);

		if (e < 0) {
			log_error("%s; nothing staged", err_msg());
			return e == -1 ? db_exit_code(db) : US_EXIT_DATAERR;
		}
	}
	for (int i = 0; i < n; i++)
		rc = extract_worse(rc, one(db, files[i], j));
	return rc;
}

int extract_run(const struct cli_common *c, struct extract_job *j, char *const *files, int n,
		extract_reader one)
{
	sqlite3 *db = NULL;
	int rc;

	/* each file's staging thread and batches (a few hundred KiB) are made
	 * and freed again: the night's 40 files, 9-11% of extract's wall */
	mem_keep_heap(MEM_HEAP_KEEP);
	if (db_open(c->db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		return db_exit_code(NULL);
	}
	rc = extract_files(db, j, files, n, one);
	db_checkpoint(db); /* the end of the stage: the WAL goes back to zero */
	db_close(db);
	return rc;
}

void extract_on_reject(void *arg, const char *ref, const char *why)
{
	struct extract_job *j = arg;

	log_limited(&j->rejects, "%s: row rejected: %s", ref, why);
}

void extract_reused(const struct stg *s, const char *path, const char *dialect)
{
	/* its rejected rows are still judged (rejected_rows): say they exist */
	printf("snapshot %lld reused: '%s' (%s) was staged before with sha256 %s (staged %s, %ld "
	       "row%s rejected)\n",
	       s->snapshot_id, path, dialect, s->sha256, s->staged_at, s->rejected,
	       s->rejected == 1 ? "" : "s");
}

int extract_finish(struct stg *s, sqlite3 *db, const char *path, const struct stat *st,
		   struct extract_job *j, const char *extra)
{
	int b;

	if (!extract_same_file(path, st)) {
		err_set("'%s' changed while it was being read", path);
		return US_EXIT_DATAERR;
	}
	log_limit_end(&j->rejects, "rejected rows");
	b = stg_commit(s);
	/* -2: too many rejects, the input's fault; -1: the database's */
	if (b < 0)
		return b == -1 ? db_exit_code(db) : US_EXIT_DATAERR;
	printf("snapshot %lld: '%s' (%s, sha256 %s): %ld %s staged, %ld unit%s, %ld row%s skipped, "
	       "%ld rejected%s\n",
	       s->snapshot_id, path, s->src->dialect, s->sha256, s->staged,
	       s->staged == 1 ? "person" : "people", s->units, s->units == 1 ? "" : "s", s->skipped,
	       s->skipped == 1 ? "" : "s", s->rejected, extra);
	return US_EXIT_OK;
}

int extract_same_file(const char *path, const struct stat *st)
{
	struct stat now;

	return stat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
	       now.st_size == st->st_size && now.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	       now.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

FILE *extract_open(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), flags;
	FILE *fp = NULL;

	if (fd < 0) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		err_set("'%s' is not a regular file (a pipe, a device or a directory?): refused",
			path);
		close(fd);
		return NULL;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 || !(fp = fdopen(fd, "r"))) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		close(fd);
	}
	return fp;
}
