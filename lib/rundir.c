#include "rundir.h"
#include "ledger.h"
#include "db.h"
#include "err.h"
#include "sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const run_files[] = { "delta.csv", "exceptions.csv", "manifest.json" };

/* Check SHA256SUMS line by line against the files. */
static int check_sums(const char *dir, char delta_sha[65], char manifest_sha[65])
{
	char path[PATH_MAX + 32], line[512];
	int seen[3] = { 0 };
	FILE *fp;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/SHA256SUMS", dir);
	fp = fopen(path, "r");
	if (!fp) {
		err_set("cannot open '%s': %s (not a run directory?)", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		char file[PATH_MAX + 32], hex[65];
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
		snprintf(file, sizeof(file), "%s/%s", dir, run_files[i]);
		if (sha256_file(file, hex, &size) < 0)
			goto out;
		if (memcmp(hex, line, 64) != 0) {
			err_set("'%s' changed after transform (its SHA-256 no longer matches SHA256SUMS)",
				file);
			goto out;
		}
		if (i == 0)
			memcpy(delta_sha, hex, 65);
		if (i == 2)
			memcpy(manifest_sha, hex, 65);
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
	char path[PATH_MAX + 32];
	json_error_t je;
	json_t *files;
	const char *d, *e, *id;
	char exc_sha[65];
	long long size;

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	snprintf(r->delta_path, sizeof(r->delta_path), "%s/delta.csv", dir);
	if (check_sums(dir, r->delta_sha256, r->manifest_sha256) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	r->manifest = json_load_file(path, 0, &je);
	if (!r->manifest) {
		err_set("'%s' line %d: %s", path, je.line, je.text);
		return -1;
	}
	files = json_object_get(r->manifest, "files");
	d = json_string_value(json_object_get(files, "delta.csv"));
	e = json_string_value(json_object_get(files, "exceptions.csv"));
	id = json_string_value(json_object_get(r->manifest, "run_id"));
	snprintf(path, sizeof(path), "%s/exceptions.csv", dir);
	if (!d || !e || !id || sha256_file(path, exc_sha, &size) < 0) {
		err_set("'%s/manifest.json' lacks run_id or file digests", dir);
		return -1;
	}
	if (strcmp(d, r->delta_sha256) || strcmp(e, exc_sha)) {
		err_set("'%s/manifest.json' does not match the run's files", dir);
		return -1;
	}
	r->run_id = id;
	return 0;
}

int rundir_property_held(const struct rundir *r, const char *property_id)
{
	json_t *props = json_object_get(r->manifest, "properties"), *p;
	size_t i;

	json_array_foreach(props, i, p)
	{
		const char *id = json_string_value(json_object_get(p, "property_id"));
		const char *v =
			json_string_value(json_object_get(json_object_get(p, "guard"), "verdict"));

		if (id && !strcmp(id, property_id))
			return v && !strcmp(v, "held");
	}
	return 0;
}

void rundir_release(struct rundir *r)
{
	json_decref(r->manifest);
	memset(r, 0, sizeof(*r));
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
	if (sqlite3_step(st) != SQLITE_ROW)
		err_set("run '%s' is not in this state database: use the database that "
			"transformed it",
			r->run_id);
	else if (!sqlite3_column_int(st, 0))
		err_set("run '%s' does not match what transform recorded (its delta or manifest "
			"changed after transform): refused",
			r->run_id);
	else
		rc = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	return rc;
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
