#include "rundir.h"
#include "ledger.h"
#include "db.h"
#include "durable.h"
#include "err.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const run_files[] = { "delta.csv", "exceptions.csv", "manifest.json" };

/*
 * Is what FD is open on (NAME, for messages; DIR: a directory, else a
 * regular file) safe to trust: owned by this user (or root) and writable by
 * nobody else?  Another local user who could write the run directory could swap
 * its files after they are checked; one who could write a file could
 * change it.  -1 with err_set() when not.
 */
static int trusted(int fd, const char *name, int dir)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0) {
		err_set("cannot stat '%s': %s", name, strerror(errno));
		return -1;
	}
	if (dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)) {
		err_set("'%s' is not a %s", name, dir ? "directory" : "regular file");
		return -1;
	}
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		err_set("'%s' is owned by uid %ld, not by this user (uid %ld) or root: refused",
			name, (long)sb.st_uid, (long)geteuid());
		return -1;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		err_set("'%s' is writable by %s (mode %04o): refused", name,
			sb.st_mode & S_IWOTH ? "others" : "its group",
			(unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

int rundir_dir_trusted(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0) {
		err_set("cannot open directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	rc = trusted(fd, dir, 1);
	close(fd);
	return rc;
}

/* Open run file NAME of R's directory, once, and check it: its descriptor
 * or -1 with err_set(). */
static int open_file(struct rundir *r, const char *name)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	fd = openat(r->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (trusted(fd, path, 0) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Check SHA256SUMS line by line against the files, each read through the
 * descriptor in FDS (delta.csv, exceptions.csv, manifest.json) that is
 * used afterwards: what is checked is what is read.
 */
static int check_sums(struct rundir *r, const int fds[3], char hex_of[3][65])
{
	char path[PATH_MAX + 32], line[512];
	int seen[3] = { 0 }, fd;
	FILE *fp = NULL;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/SHA256SUMS", r->dir);
	fd = openat(r->dirfd, "SHA256SUMS", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err_set("cannot open '%s': %s (not a run directory?)", path, strerror(errno));
		return -1;
	}
	if (trusted(fd, path, 0) < 0 || !(fp = fdopen(fd, "r"))) {
		if (!fp)
			close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		char file[PATH_MAX + 32];
		long long size;
		int i;

		line[strcspn(line, "\n")] = '\0';
		if (strlen(line) < 67 || line[64] != ' ' || line[65] != ' ') {
			err_set("'%s': malformed line '%s'", path, line);
			goto out;
		}
		for (i = 0; i < 3 && strcmp(line + 66, run_files[i]); i++)
			;
		if (i == 3) {
			err_set("'%s' lists an unexpected file '%s'", path, line + 66);
			goto out;
		}
		snprintf(file, sizeof(file), "%s/%s", r->dir, run_files[i]);
		if (sha256_fd(fds[i], file, hex_of[i], &size) < 0)
			goto out;
		if (memcmp(hex_of[i], line, 64) != 0) {
			err_set("'%s' changed after transform (its SHA-256 no longer matches SHA256SUMS)",
				file);
			goto out;
		}
		seen[i] = 1;
	}
	for (int i = 0; i < 3; i++)
		if (!seen[i]) {
			err_set("'%s' does not list %s", path, run_files[i]);
			goto out;
		}
	rc = 0;
out:
	fclose(fp);
	return rc;
}

int rundir_open(struct rundir *r, const char *dir)
{
	char path[PATH_MAX + 32], hex_of[3][65];
	int fds[3] = { -1, -1, -1 };
	json_error_t je;
	json_t *files;
	const char *d, *e, *id;
	FILE *fp = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->dirfd = r->delta_fd = -1;
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	snprintf(r->delta_path, sizeof(r->delta_path), "%s/delta.csv", dir);
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		err_set("cannot open run directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (trusted(r->dirfd, dir, 1) < 0)
		goto out;
	for (int i = 0; i < 3; i++)
		if ((fds[i] = open_file(r, run_files[i])) < 0)
			goto out;
	if (check_sums(r, fds, hex_of) < 0)
		goto out;
	memcpy(r->delta_sha256, hex_of[0], 65);
	memcpy(r->manifest_sha256, hex_of[2], 65);
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if (lseek(fds[2], 0, SEEK_SET) < 0) {
		err_set("cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	/* through stdio: json_loadfd() reads a byte a read(2) (35k calls
	 * for a 40-property manifest) */
	fp = fdopen(fds[2], "r");
	if (!fp) {
		err_set("cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	fds[2] = -1; /* fclose(fp) closes it */
	r->manifest = json_loadf(fp, 0, &je);
	if (!r->manifest) {
		err_set("'%s' line %d: %s", path, je.line, je.text);
		goto out;
	}
	files = json_object_get(r->manifest, "files");
	d = json_string_value(json_object_get(files, "delta.csv"));
	e = json_string_value(json_object_get(files, "exceptions.csv"));
	id = json_string_value(json_object_get(r->manifest, "run_id"));
	if (!d || !e || !id) {
		err_set("'%s/manifest.json' lacks run_id or file digests", dir);
		goto out;
	}
	if (strcmp(d, r->delta_sha256) || strcmp(e, hex_of[1])) {
		err_set("'%s/manifest.json' does not match the run's files", dir);
		goto out;
	}
	r->run_id = id;
	/* the delta is parsed from the very descriptor its digest was taken on */
	r->delta_fd = fds[0];
	fds[0] = -1;
	rc = 0;
out:
	if (fp)
		fclose(fp);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* The manifest's guard object of PROPERTY_ID, NULL when none (borrowed). */
static json_t *property_guard(const struct rundir *r, const char *property_id)
{
	json_t *props = json_object_get(r->manifest, "properties"), *p;
	size_t i;

	json_array_foreach(props, i, p)
	{
		const char *id = json_string_value(json_object_get(p, "property_id"));

		if (id && !strcmp(id, property_id))
			return json_object_get(p, "guard");
	}
	return NULL;
}

int rundir_property_held(const struct rundir *r, const char *property_id)
{
	const char *v =
		json_string_value(json_object_get(property_guard(r, property_id), "verdict"));

	return v && !strcmp(v, "held");
}

int rundir_property_older(const struct rundir *r, const char *property_id)
{
	json_t *why;
	size_t k;

	if (!rundir_property_held(r, property_id))
		return 0;
	json_array_foreach(json_object_get(property_guard(r, property_id), "why"), k, why)
	{
		const char *w = json_string_value(why);

		if (w && !strncmp(w, "older_export:", 13))
			return 1;
	}
	return 0;
}

void rundir_release(struct rundir *r)
{
	json_decref(r->manifest);
	if (r->delta_fd > 0)
		close(r->delta_fd);
	if (r->dirfd > 0)
		close(r->dirfd);
	memset(r, 0, sizeof(*r));
	r->dirfd = r->delta_fd = -1;
}

int rundir_check_recorded(const struct rundir *r, sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_prepare(db,
		       "SELECT delta_sha256 = ?2 AND manifest_sha256 = ?3, approved_at IS NOT NULL "
		       "FROM run WHERE run_id = ?1",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, r->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->delta_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->manifest_sha256, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		if (!rundir_preview_error(r->dir))
			err_set("run '%s' is not in this state database: use the database that "
				"transformed it",
				r->run_id);
	} else if (!sqlite3_column_int(st, 0))
		err_set("run '%s' does not match what transform recorded (its delta or manifest "
			"changed after transform): refused",
			r->run_id);
	else
		rc = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	return rc;
}

int rundir_preview_error(const char *dir)
{
	char path[PATH_MAX], *slash;
	size_t n;

	if (!realpath(dir, path))
		snprintf(path, sizeof(path), "%s", dir);
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	/* OUT/preview/RUN_ID: the parent directory's own name */
	if (!(slash = strrchr(path, '/')))
		return 0;
	*slash = '\0';
	slash = strrchr(path, '/');
	if (strcmp(slash ? slash + 1 : path, "preview"))
		return 0;
	err_set("'%s' is a preview made by a dry run (nightly.sh or rerun.sh --dry-run), "
		"recorded only in its private copy of the state database, deleted at exit: it "
		"cannot be loaded, approved or verified (run without --dry-run for a real run)",
		dir);
	return 1;
}

int rundir_lock(struct rundir *r)
{
	if (flock(r->dirfd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		err_set("run directory '%s' is being loaded by another process: not loaded twice "
			"at once; rerun once that load has ended",
			r->dir);
	else
		err_set("cannot lock run directory '%s': %s", r->dir, strerror(errno));
	return -1;
}

/* ledger_newer_runs() callback: keep the first property a newer run took. */
struct first_newer {
	char *newer, *property;
	size_t newer_size, property_size;
};

static int take_first(const char *property, const char *newer, void *ctx)
{
	struct first_newer *f = ctx;

	snprintf(f->property, f->property_size, "%s", property);
	snprintf(f->newer, f->newer_size, "%s", newer);
	return 1;
}

int rundir_superseded_by(const struct rundir *r, sqlite3 *db, char *newer, size_t newer_size,
			 char *property, size_t property_size)
{
	struct first_newer f = { newer, property, newer_size, property_size };

	return ledger_newer_runs(db, r->run_id, take_first, &f);
}

int rundir_write_sums(const char *dir, const char *const *names, size_t n)
{
	struct dur_file f;
	char path[PATH_MAX], hex[65];
	long long size;

	snprintf(path, sizeof(path), "%s/SHA256SUMS", dir);
	if (dur_open(&f, path, 0640) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char file[PATH_MAX];

		snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
		if (sha256_file(file, hex, &size) < 0) {
			dur_abort(&f);
			return -1;
		}
		fprintf(f.fp, "%s  %s\n", hex, names[i]);
	}
	return dur_commit(&f);
}

int rundir_make_id(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char when[32], seed[96], hex[65];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* sortable to the microsecond: two runs in one second still order */
	strftime(when, sizeof(when), "%Y%m%dT%H%M%S", &tm);
	snprintf(seed, sizeof(seed), "%s.%ld.%ld", when, ts.tv_nsec, (long)getpid());
	if (sha256_hex(seed, strlen(seed), hex) < 0)
		return -1;
	snprintf(out, size, "%s.%06ldZ-%.6s", when, ts.tv_nsec / 1000, hex);
	return 0;
}

int rundir_write_json(const char *path, json_t *obj)
{
	struct dur_file f;
	char *text = obj ? json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

	if (!text) {
		err_set("out of memory");
		return -1;
	}
	if (dur_open(&f, path, 0640) < 0) {
		free(text);
		return -1;
	}
	fputs(text, f.fp);
	fputc('\n', f.fp);
	free(text);
	return dur_commit(&f);
}
