/*
 * extract.c - the extract driver: the run of an extract program, and each
 * file staged as one snapshot (extract.h).
 */
#include "extract.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "progress.h"
#include "stg.h"
#include "xmldialect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int extract_reject_percent(const struct cli_common *c, const char *arg, double *out)
{
	if (cli_parse_number(arg, 0, 100, out) == 0)
		return 0;
	cli_usage_error(c, "--max-reject-percent takes 0 to 100, not '%s'", arg);
	return -1;
}

int extract_run(const struct cli_common *c, struct extract_job *j, char *const *files, int n,
		int (*one)(sqlite3 *db, const char *path, struct extract_job *j))
{
	sqlite3 *db = NULL;
	int rc = US_EXIT_OK;

	if (db_open(c->db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		return db_exit_code(NULL);
	}
	if (j->property) {
		int e = stg_property_known(db, j->property);

		if (e < 0) {
			log_error("%s; nothing staged", err_msg());
			rc = e == -1 ? db_exit_code(db) : US_EXIT_DATAERR;
			goto out;
		}
	}
	for (int i = 0; i < n; i++) {
		int r = one(db, files[i], j);

		/* the database's failure (75, 78) outranks a rejected file (65) */
		if (r != US_EXIT_OK && (rc == US_EXIT_OK || r > rc))
			rc = r;
	}
out:
	db_checkpoint(db); /* the end of the stage: the WAL goes back to zero */
	db_close(db);
	return rc;
}

/* The readers' on_reject: a warning for each of the file's first 20. */
static void on_reject(void *arg, const char *ref, const char *why)
{
	struct extract_job *j = arg;

	log_limited(&j->rejects, "%s: row rejected: %s", ref, why);
}

static void print_reused(const struct stg *s, const char *path, const char *dialect)
{
	printf("snapshot %lld reused: '%s' (%s) was staged before with sha256 %s\n", s->snapshot_id,
	       path, dialect, s->sha256);
}

/*
 * The rows of PATH (ST as opened) are in S: check the file is still the
 * one read, count the rejected rows past those shown, apply the reject
 * threshold and commit, then print the summary line (EXTRA appended to
 * it).  Returns an exit code, with err_set() when it is not 0.
 */
static int finish(struct stg *s, sqlite3 *db, const char *path, const struct stat *st,
		  struct extract_job *j, const char *extra)
{
	int b;

	if (!extract_same_file(path, st)) {
		err_set("'%s' changed while it was being read", path);
		return US_EXIT_DATAERR;
	}
	log_limit_end(&j->rejects, "rejected rows");
	b = stg_commit(s, j->max_reject);
	/* -2: too many rejects, the input's fault; -1: the database's */
	if (b < 0)
		return b == -1 ? db_exit_code(db) : US_EXIT_DATAERR;
	printf("snapshot %lld: '%s' (%s, sha256 %s): %ld people staged, %ld units, %ld rows skipped, "
	       "%ld rejected%s\n",
	       s->snapshot_id, path, s->src->dialect, s->sha256, s->staged, s->units, s->skipped,
	       s->rejected, extra);
	return US_EXIT_OK;
}

int extract_csv_file(sqlite3 *db, const char *path, struct extract_job *j)
{
	struct csvprofile_opts o = { .profile = j->profile,
				     .property = j->property,
				     .encoding = j->encoding,
				     .on_reject = on_reject,
				     .arg = j };
	struct csvprofile_result res = { 0 };
	struct progress progress;
	struct stg stg = { 0 };
	struct stat st;
	char extra[64];
	FILE *fp;
	int rc = US_EXIT_DATAERR;

	j->rejects.count = 0;
	/* the digest is taken by path: hold the file open and check it is the
	 * one digested, so that the snapshot's sha256 is of what was staged */
	fp = extract_open(path, &st);
	if (!fp)
		goto out;
	progress_start(&progress, "extract", "bytes", (long long)st.st_size);
	o.progress = &progress;
	if (csvprofile_stage(fp, path, &st, db, &stg, &o, &res) < 0) {
		progress_end(&progress);
		if (res.db_failed)
			rc = db_exit_code(db);
		goto out;
	}
	progress_end(&progress);
	if (res.reused) {
		print_reused(&stg, path, res.src.dialect);
		rc = US_EXIT_OK;
		goto out;
	}
	snprintf(extra, sizeof(extra), ", %ld transcoded", res.transcoded);
	rc = finish(&stg, db, path, &st, j, extra);
	if (rc == US_EXIT_OK && res.transcoded)
		log_info("'%s': %ld rows transcoded from %s to UTF-8", path, res.transcoded,
			 res.from);
out:
	if (rc != US_EXIT_OK)
		log_error("%s; nothing staged from '%s'", err_msg(), path);
	stg_release(&stg); /* safe when never begun: stg is zeroed */
	csvprofile_result_release(&res);
	if (fp)
		fclose(fp);
	return rc;
}

int extract_xml_file(sqlite3 *db, const char *path, struct extract_job *j)
{
	struct dialect_opts o = { .property = j->property,
				  .pms_property = j->pms_property,
				  .out = stdout,
				  .on_reject = on_reject,
				  .arg = j };
	struct stg_source src = { .property_id = j->property, .kind = "xml", .path = path };
	struct dialect_result res = { 0 };
	struct dialect_doc doc = { 0 };
	struct stg stg = { 0 };
	struct stat st;
	char dialect[160], *listing = NULL;
	size_t listing_len = 0;
	FILE *fp;
	int rc = US_EXIT_DATAERR, b;

	j->rejects.count = 0;
	/* held open to the end, so that the file checked is the file read */
	fp = extract_open(path, &st);
	if (!fp)
		goto out;
	if (dialect_detect(path, &doc) < 0)
		goto out;
	/* a file cut down to one of its properties is another snapshot */
	if (j->pms_property)
		snprintf(dialect, sizeof(dialect), "%s:%s", doc.name, j->pms_property);
	else
		snprintf(dialect, sizeof(dialect), "%s", doc.name);
	src.dialect = dialect;
	src.unit_list = doc.unit_list;
	/* a file read whole is digested as it is parsed, not read twice */
	src.digest_later = !doc.inner && !doc.lists_properties;
	/* a property list stages nothing: list it even when its snapshot exists,
	 * and only once the whole file is read */
	if (doc.lists_properties) {
		o.out = open_memstream(&listing, &listing_len);
		if (!o.out) {
			err_set("out of memory");
			goto out;
		}
		b = dialect_stage(&doc, path, NULL, &o, &res);
		fclose(o.out);
		o.out = stdout;
		if (b < 0)
			goto out;
		fputs(listing, stdout);
	}
	b = stg_begin(&stg, db, &src);
	if (b < 0) {
		rc = db_exit_code(db);
		goto out;
	}
	if (b == 1) {
		print_reused(&stg, path, src.dialect);
		rc = US_EXIT_OK;
		goto out;
	}
	if (doc.lists_properties) {
		for (long i = 0; i < res.skipped; i++)
			stg_skip(&stg);
	} else {
		struct progress progress;

		progress_start(&progress, "extract", "bytes", (long long)st.st_size);
		o.progress = &progress;
		/* rows staged on a thread of their own, while the dialect reads on */
		stg_async(&stg);
		b = dialect_stage(&doc, path, &stg, &o, &res);
		progress_end(&progress);
		o.progress = NULL;
		if (b < 0) {
			if (res.db_failed)
				rc = db_exit_code(db);
			goto out;
		}
	}
	if (res.digested && (b = stg_digested(&stg, res.sha256, res.bytes)) < 0) {
		if (b == -1)
			rc = db_exit_code(db);
		goto out;
	}
	if (res.no_residents) {
		/* stg_commit() reads unit_list: no property is said to be empty */
		src.unit_list = 1;
		log_warn("'%s': its households hold no resident (lease charges only): it is not "
			 "taken as a resident list",
			 path);
	}
	rc = finish(&stg, db, path, &st, j, "");
	if (rc == US_EXIT_OK && doc.unit_list)
		log_info("'%s' (%s) is a %s: it stages no residents", path, src.dialect,
			 doc.lists_properties ? "property list" : "unit list");
out:
	if (rc != US_EXIT_OK)
		log_error("%s; nothing staged from '%s'", err_msg(), path);
	stg_release(&stg);
	dialect_doc_release(&doc);
	free(listing);
	if (fp)
		fclose(fp);
	return rc;
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
