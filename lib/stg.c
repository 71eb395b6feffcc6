#include "stg.h"
#include "db.h"
#include "err.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int stg_begin(struct stg *s, sqlite3 *db, const struct stg_source *src)
{
	sqlite3_stmt *st = NULL;
	const char *prop = src->property_id ? src->property_id : "";
	char now[32], mtime[32] = "";
	int rc = -1;

	memset(s, 0, sizeof(*s));
	s->db = db;
	s->src = src;
	if (sha256_file(src->path, s->sha256, &s->size) < 0)
		goto out;
	{
		/* how old the export is: transform reports a stale one */
		struct stat sb;
		struct tm tm;

		if (stat(src->path, &sb) == 0 && gmtime_r(&sb.st_mtime, &tm))
			strftime(mtime, sizeof(mtime), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	/* the write lock first: the file staged by another process between a
	 * look and a write would be staged twice, or fail its UNIQUE */
	if (db_begin(db) < 0)
		goto out;
	s->open = 1;
	if (db_prepare(db,
		       "SELECT snapshot_id FROM snapshot WHERE sha256 = ? AND source_kind = ? "
		       "AND dialect = ? AND property_id = ?",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, s->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, src->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, src->dialect, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, prop, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		s->snapshot_id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		st = NULL;
		/* extracted again tonight: it is the property's newest export again */
		db_now(now, sizeof(now));
		if (db_prepare(db,
			       "UPDATE snapshot SET extracted_at = ?1, extract_order = "
			       "(SELECT max(extract_order) + 1 FROM snapshot), file_mtime = ?3 "
			       "WHERE snapshot_id = ?2",
			       &st) < 0)
			goto out;
		sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, s->snapshot_id);
		db_bind_text_or_null(st, 3, mtime);
		if (sqlite3_step(st) != SQLITE_DONE) {
			err_set("database: %s", sqlite3_errmsg(db));
			goto out;
		}
		if (db_commit(db) < 0)
			goto out;
		s->open = 0;
		rc = 1;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	db_now(now, sizeof(now));
	if (db_prepare(db,
		       "INSERT INTO snapshot (property_id, source_kind, dialect, source_name, sha256, "
		       "size_bytes, status, created_at, extracted_at, extract_order, file_mtime) "
		       "VALUES (?, ?, ?, ?, ?, ?, 'staging', ?7, ?7, "
		       "(SELECT coalesce(max(extract_order), 0) + 1 FROM snapshot), ?8)",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, prop, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, src->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, src->dialect, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, src->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, s->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, s->size);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	db_bind_text_or_null(st, 8, mtime);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(db));
		goto out;
	}
	s->snapshot_id = sqlite3_last_insert_rowid(db);
	if (db_prepare(db,
		       "INSERT INTO stg_person (snapshot_id, property_id, pms_person_id, household_id, "
		       "pms_unit_id, role, status, status_raw, first_name, last_name, email, phone, "
		       "move_in, move_out, expected_move_out, lease_from, lease_to, source_ref, "
		       "row_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		       &s->ins_person) < 0 ||
	    db_prepare(db,
		       "INSERT INTO stg_unit (snapshot_id, property_id, pms_unit_id, label, dwelling) "
		       "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
		       &s->ins_unit) < 0 ||
	    db_prepare(db,
		       "INSERT INTO stg_reject (snapshot_id, source_ref, reason, property_id, "
		       "pms_person_id) VALUES (?,?,?,?,?)",
		       &s->ins_reject) < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* The job's field of each value stg_person() binds, in its order; NULL:
 * not a field of the export (where, raw text, provenance). */
static const char *const person_fields[] = {
	NULL,       "pms_person_id",     "household_id", "pms_unit_id", "role",  "status",
	NULL,       "first_name",        "last_name",    "email",       "phone", "move_in",
	"move_out", "expected_move_out", "lease_from",   "lease_to",    NULL,
};

int stg_person(struct stg *s, const struct stg_person *p, int repeat)
{
	sqlite3_stmt *st = s->ins_person;
	const char *v[] = { p->property_id,  p->pms_person_id,
			    p->household_id, p->pms_unit_id,
			    p->role,         p->status,
			    p->status_raw,   p->first_name,
			    p->last_name,    p->email,
			    p->phone,        p->move_in,
			    p->move_out,     p->expected_move_out,
			    p->lease_from,   p->lease_to,
			    p->source_ref };
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, s->snapshot_id);
	/* the strings outlive the step: no copies (a fifth of staging's time) */
	for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++)
		if (v[i] && *v[i]) {
			sqlite3_bind_text(st, i + 2, v[i], -1, SQLITE_STATIC);
			s->seen |= 1u << i;
		} else
			sqlite3_bind_null(st, i + 2);
	sqlite3_bind_int(st, 19, 1);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT && repeat) {
		/* one more row of a person already staged: the next row number */
		sqlite3_stmt *q = NULL;
		int next = 0;

		sqlite3_reset(st);
		if (db_prepare(s->db,
			       "SELECT max(row_seq) + 1 FROM stg_person WHERE snapshot_id = ?1 "
			       "AND property_id = ?2 AND pms_person_id = ?3",
			       &q) < 0)
			return -1;
		sqlite3_bind_int64(q, 1, s->snapshot_id);
		sqlite3_bind_text(q, 2, p->property_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, p->pms_person_id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			next = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
		if (next < 2) {
			err_set("database: %s", sqlite3_errmsg(s->db));
			return -1;
		}
		sqlite3_bind_int(st, 19, next);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_CONSTRAINT)
		return 1;
	if (rc != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	s->staged++;
	return 0;
}

int stg_unit(struct stg *s, const char *property_id, const char *pms_unit_id, const char *label,
	     int dwelling)
{
	sqlite3_stmt *st = s->ins_unit;
	size_t np = strlen(property_id), nu = strlen(pms_unit_id);

	/* residents come unit by unit: skip the repeat of the unit just staged */
	if (s->last_unit && (size_t)s->last_unit_len == np + nu + 1 &&
	    !memcmp(s->last_unit, property_id, np) &&
	    !memcmp(s->last_unit + np + 1, pms_unit_id, nu))
		return 0;
	free(s->last_unit);
	s->last_unit = malloc(np + nu + 2);
	if (s->last_unit) {
		memcpy(s->last_unit, property_id, np + 1);
		memcpy(s->last_unit + np + 1, pms_unit_id, nu + 1);
		s->last_unit_len = np + nu + 1;
	}
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, s->snapshot_id);
	sqlite3_bind_text(st, 2, property_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, pms_unit_id, -1, SQLITE_STATIC);
	db_bind_text_or_null(st, 4, label);
	sqlite3_bind_int(st, 5, dwelling);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	s->units += sqlite3_changes(s->db);
	return 0;
}

int stg_reject(struct stg *s, const char *source_ref, const char *reason)
{
	return stg_reject_person(s, source_ref, reason, NULL, NULL);
}

int stg_reject_person(struct stg *s, const char *source_ref, const char *reason,
		      const char *property_id, const char *pms_person_id)
{
	sqlite3_stmt *st = s->ins_reject;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, s->snapshot_id);
	sqlite3_bind_text(st, 2, source_ref, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_TRANSIENT);
	db_bind_text_or_null(st, 4, property_id ? property_id : s->src->property_id);
	db_bind_text_or_null(st, 5, pms_person_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	s->rejected++;
	return 0;
}

void stg_skip(struct stg *s)
{
	s->skipped++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The person fields seen (s->seen) as a sorted comma list into BUF. */
static void seen_fields(const struct stg *s, char *buf, size_t size)
{
	const char *names[sizeof(person_fields) / sizeof(person_fields[0])] = { NULL };
	size_t n = 0, used = 0;

	for (size_t i = 0; i < sizeof(person_fields) / sizeof(person_fields[0]); i++)
		if (person_fields[i] && (s->seen & (1u << i)))
			names[n++] = person_fields[i];
	qsort(names, n, sizeof(names[0]), by_name);
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", names[i]);
}

int stg_commit(struct stg *s, double max_reject_percent)
{
	sqlite3_stmt *st = NULL;
	/* a unit list's rows are units, a resident file's are people */
	long data = (s->src->unit_list ? s->units : s->staged) + s->rejected;
	char seen[256];
	int rc = -1;

	if (data > 0 && 100.0 * (double)s->rejected / (double)data > max_reject_percent) {
		err_set("'%s': %ld of %ld rows rejected, more than %g%%: the whole file is rejected",
			s->src->path, s->rejected, data, max_reject_percent);
		rc = -2;
		goto out;
	}
	if (db_prepare(s->db,
		       "INSERT INTO snapshot_property (snapshot_id, property_id, people) "
		       "SELECT ?1, property_id, count(DISTINCT pms_person_id) FROM stg_person "
		       "WHERE snapshot_id = ?1 "
		       "GROUP BY property_id",
		       &st) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, s->snapshot_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* a property whose every row was rejected was still in tonight's export */
	if (db_prepare(s->db,
		       "INSERT OR IGNORE INTO snapshot_property (snapshot_id, property_id, people) "
		       "SELECT DISTINCT ?1, property_id, 0 FROM stg_reject "
		       "WHERE snapshot_id = ?1 AND property_id IS NOT NULL",
		       &st) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, s->snapshot_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (s->src->property_id && !s->src->unit_list) {
		/* a resident file with nobody in it still says "this property is empty tonight" */
		if (db_prepare(s->db,
			       "INSERT OR IGNORE INTO snapshot_property (snapshot_id, property_id, people) "
			       "VALUES (?, ?, 0)",
			       &st) < 0)
			goto out;
		sqlite3_bind_int64(st, 1, s->snapshot_id);
		sqlite3_bind_text(st, 2, s->src->property_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			err_set("database: %s", sqlite3_errmsg(s->db));
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (db_prepare(s->db,
		       "UPDATE snapshot SET rows_staged = ?, rows_skipped = ?, rows_rejected = ?, "
		       "units_staged = ?, status = 'staged', fields = ?, unknown_columns = ? "
		       "WHERE snapshot_id = ?",
		       &st) < 0)
		goto out;
	seen_fields(s, seen, sizeof(seen));
	sqlite3_bind_int64(st, 1, s->staged);
	sqlite3_bind_int64(st, 2, s->skipped);
	sqlite3_bind_int64(st, 3, s->rejected);
	sqlite3_bind_int64(st, 4, s->units);
	/* a file that staged nobody says nothing about its fields: NULL */
	db_bind_text_or_null(st, 5, s->fields ? s->fields : seen);
	db_bind_text_or_null(st, 6, s->unknown_columns);
	sqlite3_bind_int64(st, 7, s->snapshot_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	if (db_commit(s->db) < 0)
		goto out;
	s->open = 0;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

void stg_release(struct stg *s)
{
	free(s->last_unit);
	s->last_unit = NULL;
	sqlite3_finalize(s->ins_person);
	sqlite3_finalize(s->ins_unit);
	sqlite3_finalize(s->ins_reject);
	s->ins_person = s->ins_unit = s->ins_reject = NULL;
	if (s->open)
		db_rollback(s->db);
	s->open = 0;
}
