/*
 * fuzz_rundir - rundir_open() and what load does with an opened run
 * directory (lib/rundir.h): the guard verdicts, the check against the
 * state database, and delta_read() of its delta.
 *
 * Input: a flags byte, then delta.csv, exceptions.csv, manifest.json and
 * (optionally) SHA256SUMS, separated by NUL bytes.  Flags, so that the
 * fuzzer gets past the digests it cannot compute:
 *   1  write a correct SHA256SUMS (the fourth part is then ignored)
 *   2  put the true digests of delta.csv and exceptions.csv into the
 *      manifest's "files" (when the manifest is a JSON object)
 *   4  record the run in the state database as transform would
 */
#include "db.h"
#include "delta.h"
#include "fuzz.h"
#include "rundir.h"
#include "sha256.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *db; /* the state database, opened once */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[PATH_MAX];

	(void)argc;
	(void)argv;
	fuzz_fresh_db("rundir.db", path);
	if (db_open(path, 0, &db) < 0)
		abort();
	return 0;
}

/* Split DATA at NUL bytes into up to N parts (pointers into DATA). */
static size_t split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, size_t n)
{
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= size && k < n; i++) {
		if (i == size || (data[i] == 0 && k < n - 1)) {
			part[k] = data + start;
			len[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	return k;
}

static int count_rows(const struct delta_row *r, void *ctx)
{
	(void)r;
	++*(long *)ctx;
	return 0;
}

/* Record run RUN_ID with the digests of DIR's delta and manifest. */
static void record_run(const char *run_id, const char *delta_sha, const char *manifest_sha)
{
	sqlite3_stmt *st = NULL;

	db_exec(db, "DELETE FROM run");
	if (db_prepare(db,
		       "INSERT INTO run (run_id, run_dir, as_of, delta_sha256, manifest_sha256, "
		       "delta_rows, guard, created_at) VALUES (?, 'dir', '2026-01-01', ?, ?, 0, "
		       "'ok', '2026-01-01T00:00:00Z')",
		       &st) < 0)
		abort();
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, delta_sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, manifest_sha, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[4] = { 0 };
	size_t len[4] = { 0 }, n;
	char path[PATH_MAX], dsha[65], esha[65], msha[65], sums[512];
	char *manifest = NULL;
	size_t manifest_len;
	struct rundir r;
	unsigned flags;

	if (size < 1)
		return 0;
	flags = data[0];
	n = split(data + 1, size - 1, part, len, 4);
	if (n < 3)
		return 0;
	fuzz_write("delta.csv", part[0], len[0], path);
	fuzz_write("exceptions.csv", part[1], len[1], path);
	sha256_hex(part[0], len[0], dsha);
	sha256_hex(part[1], len[1], esha);
	manifest = malloc(len[2] + 1);
	if (!manifest)
		abort();
	memcpy(manifest, part[2], len[2]);
	manifest[len[2]] = '\0';
	manifest_len = len[2];
	if (flags & 2) {
		json_t *m = json_loadb(manifest, manifest_len, 0, NULL);

		if (json_is_object(m)) {
			char *dumped;

			json_object_set_new(m, "files",
					    json_pack("{s:s, s:s}", "delta.csv", dsha,
						      "exceptions.csv", esha));
			dumped = json_dumps(m, JSON_SORT_KEYS);
			if (dumped) {
				free(manifest);
				manifest = dumped;
				manifest_len = strlen(dumped);
			}
		}
		json_decref(m);
	}
	fuzz_write("manifest.json", manifest, manifest_len, path);
	sha256_hex(manifest, manifest_len, msha);
	if ((flags & 1) || n < 4) {
		snprintf(sums, sizeof(sums),
			 "%s  delta.csv\n%s  exceptions.csv\n%s  manifest.json\n", dsha, esha,
			 msha);
		fuzz_write("SHA256SUMS", sums, strlen(sums), path);
	} else {
		fuzz_write("SHA256SUMS", part[3], len[3], path);
	}
	if (rundir_open(&r, fuzz_dir()) == 0) {
		json_t *props = json_object_get(r.manifest, "properties"), *p;
		size_t i;
		long rows = 0;
		char newer[64], property[256];

		json_array_foreach(props, i, p)
		{
			const char *id = json_string_value(json_object_get(p, "property_id"));

			if (id)
				rundir_property_held(&r, id);
		}
		rundir_property_held(&r, "p1");
		if (flags & 4)
			record_run(r.run_id, r.delta_sha256, r.manifest_sha256);
		rundir_check_recorded(&r, db);
		rundir_superseded_by(&r, db, newer, sizeof(newer), property, sizeof(property));
		delta_read_fd(r.delta_fd, r.delta_path, count_rows, &rows);
	}
	rundir_release(&r);
	free(manifest);
	return 0;
}
