/*
 * fuzz.c - helpers shared by the fuzz targets (see fuzz.h).
 */
#include "fuzz.h"
#include "db.h"
#include "err.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[PATH_MAX];
static char *template_db; /* bytes of a fresh database, owned */
static size_t template_len;

/* Remove the private directory and what is in it (at exit). */
static void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX + 256];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz: %s: %s\n", what, err_msg());
	abort();
}

const char *fuzz_dir(void)
{
	if (!*dir) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/unitsync-fuzz.XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(dir)) {
			err_set("cannot make a temporary directory");
			die(dir);
		}
		atexit(remove_dir);
	}
	return dir;
}

void fuzz_write(const char *name, const void *data, size_t len, char *path)
{
	FILE *fp;

	snprintf(path, PATH_MAX, "%s/%s", fuzz_dir(), name);
	fp = fopen(path, "wb");
	if (!fp || (len && fwrite(data, 1, len, fp) != len) || fclose(fp) != 0) {
		err_set("cannot write '%s'", path);
		die("write");
	}
}

/* Make the template database once: what `unitsync init` creates, and
 * `unitsync property add p1`. */
static void make_template(void)
{
	char path[PATH_MAX], side[PATH_MAX + 8];
	sqlite3 *db = NULL;
	FILE *fp;
	long n = 0;

	snprintf(path, sizeof(path), "%s/template.db", fuzz_dir());
	if (db_open(path, 1, &db) < 0)
		die("cannot create the template database");
	/* the property the targets stage as: extract refuses one it does not know */
	if (db_exec(db, "INSERT INTO property (property_id, created_at, updated_at) "
			"VALUES ('p1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')") < 0)
		die("cannot add property p1 to the template database");
	/* one file, no WAL beside it, so that a byte copy is the whole database */
	if (db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") < 0)
		die("checkpoint");
	db_close(db);
	fp = fopen(path, "rb");
	if (!fp || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) <= 0 ||
	    fseek(fp, 0, SEEK_SET) != 0)
		die("cannot read the template database");
	template_len = (size_t)n;
	template_db = malloc(template_len);
	if (!template_db || fread(template_db, 1, template_len, fp) != template_len)
		die("cannot read the template database");
	fclose(fp);
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

void fuzz_fresh_db(const char *name, char *path)
{
	char side[PATH_MAX + 8];

	if (!template_db)
		make_template();
	fuzz_write(name, template_db, template_len, path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

void fuzz_reopen_stdout(void)
{
	FILE *fp = fopen("/dev/null", "w");

	if (!fp)
		abort();
	stdout = fp;
}
