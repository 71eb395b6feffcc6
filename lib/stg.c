#include "stg.h"
#include "cli.h"
#include "db.h"
#include "err.h"
#include "handoff.h"
#include "log.h"
#include "mem.h"
#include "rowsdigest.h"
#include "sha256.h"
#include "unitmap.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

int stg_property_nearest(sqlite3 *db, const char *property_id, char **nearest)
{
	sqlite3_stmt *st = NULL;
	char **ids = NULL;
	const char *near;
	size_t n = 0, cap = 0;
	int r, rc = -1;

	*nearest = NULL;
	if (db_prepare(db, "SELECT property_id FROM property ORDER BY property_id", &st) < 0)
		goto out;
	while ((r = db_row(st)) == 1) {
		/* one more slot for the list's NULL */
		if (mem_grow((void **)&ids, n + 1, &cap, sizeof(*ids), 16) < 0)
			goto out;
		if (!(ids[n] = strdup(db_col_text(st, 0)))) {
			err_set("out of memory");
			goto out;
		}
		ids[++n] = NULL;
	}
	if (r < 0)
		goto out;
	near = n ? cli_nearest_name(property_id, (const char *const *)ids) : NULL;
	if (near && !(*nearest = strdup(near))) {
		err_set("out of memory");
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	sqlite3_finalize(st);
	return rc;
}

int stg_property_unknown(sqlite3 *db, const char *property_id)
{
	char *near;

	if (stg_property_nearest(db, property_id, &near) < 0)
		return -1;
	if (near)
		err_set("unknown property '%s' (did you mean '%s'? a new property is added with "
			"'unitsync property add %s')",
			property_id, near, property_id);
	else
		err_set("unknown property '%s' (add it with 'unitsync property add %s')",
			property_id, property_id);
	free(near);
	return -2;
}

int stg_property_known(sqlite3 *db, const char *property_id)
{
	int e = unitmap_property(db, property_id, NULL);

	if (e < 0)
		return -1;
	return e ? 0 : stg_property_unknown(db, property_id);
}

/* bsearch()/position comparison of property ids (char * elements) */
static int by_id(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The person rows' insert, its values to follow: PERSON_COLUMNS columns
 * (bind_person()) */
#define PERSON_INTO                                                                    \
	"INTO stg_person (snapshot_id, property_id, pms_person_id, household_id, "     \
	"pms_unit_id, role, status, status_raw, first_name, last_name, email, phone, " \
	"move_in, move_out, expected_move_out, lease_from, lease_to, source_ref, "     \
	"row_seq) VALUES "
/* Person rows one statement stages (prepare_people()) */
#define STG_CHUNK_ROWS 32

static int prepare_people(struct stg *s);

/*
 * Note a property id a row names (REF: the row, or NULL): those the state
 * database does not have, and the first row naming the first of them, are
 * kept for stg_commit() to refuse the file with.  Each id is looked up in
 * the database once per file (s->known, sorted, holds those it has), so
 * rows interleaving many properties cost no statement each.  0, or -1
 * with err_set().
 */
static int note_property(struct stg *s, const char *property_id, const char *ref)
{
	char **found, **grown, *id;
	long *people;
	size_t i, lo, hi;
	int e;

	if (!property_id || !*property_id)
		return 0;
	if (!s->last_property || strcmp(s->last_property, property_id)) {
		found = s->n_known ? bsearch(&property_id, s->known, s->n_known, sizeof(*s->known),
					     by_id)
				   : NULL;
		/* which list it is in, told by the search that found it: no
		 * arithmetic on s->known, which is NULL while it is empty */
		s->last_known = found != NULL;
		for (i = 0; !found && i < s->n_unknown; i++)
			if (!strcmp(s->unknown[i], property_id))
				found = &s->unknown[i];
		if (found) {
			s->last_property = *found;
			if (s->last_known)
				s->last_i = (size_t)(found - s->known);
		} else {
			e = stg_property_known(s->db, property_id);
			if (e == -1)
				return -1;
			id = strdup(property_id);
			if (!id)
				goto oom;
			if (e == 0) {
				grown = realloc(s->known, (s->n_known + 1) * sizeof(*grown));
				if (!grown) {
					free(id);
					goto oom;
				}
				s->known = grown;
				people = realloc(s->people, (s->n_known + 1) * sizeof(*people));
				if (!people) {
					free(id);
					goto oom;
				}
				s->people = people;
				for (lo = 0, hi = s->n_known; lo < hi;) {
					i = lo + (hi - lo) / 2;
					if (strcmp(s->known[i], id) < 0)
						lo = i + 1;
					else
						hi = i;
				}
				memmove(s->known + lo + 1, s->known + lo,
					(s->n_known - lo) * sizeof(*s->known));
				s->known[lo] = id;
				memmove(s->people + lo + 1, s->people + lo,
					(s->n_known - lo) * sizeof(*s->people));
				s->people[lo] = 0;
				s->last_i = lo;
				s->n_known++;
			} else {
				grown = realloc(s->unknown, (s->n_unknown + 1) * sizeof(*grown));
				if (!grown) {
					free(id);
					goto oom;
				}
				s->unknown = grown;
				s->unknown[s->n_unknown++] = id;
			}
			s->last_property = id;
			s->last_known = e == 0;
		}
	}
	if (!s->last_known && ref && !s->unknown_ref && !strcmp(s->unknown[0], property_id)) {
		s->unknown_ref = strdup(ref);
		if (!s->unknown_ref)
			goto oom;
	}
	return 0;
oom:
	err_set("out of memory");
	return -1;
}

/*
 * Keep snapshot ID's extraction (order, time, file mtime) as it stands now
 * in snapshot_extraction (migration 9): a file extracted again changes
 * them, and a past run read the ones of its night (`unitsync replay`).
 */
static int record_extraction(sqlite3 *db, long long id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_prepare(db,
		       "INSERT INTO snapshot_extraction (snapshot_id, extract_order, extracted_at, "
		       "file_mtime, last_run) SELECT snapshot_id, extract_order, extracted_at, "
		       "file_mtime, " DB_LAST_RUN " FROM snapshot WHERE snapshot_id = ?",
		       &st) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	else
		db_error(db, NULL);
	sqlite3_finalize(st);
	return rc;
}

/* Do REJECTED of DATA rows exceed MAX_PERCENT?  (stg_commit(), and a reuse) */
static int over_threshold(long rejected, long data, double max_percent)
{
	return data > 0 && 100.0 * (double)rejected / (double)data > max_percent;
}

/*
 * May snapshot ID, the file staged before, be reused under
 * S->src->max_reject_percent?  0 yes; -2 no (its rejected rows, counted as
 * stg_commit() counts them, exceed it: a stricter threshold than the one it
 * was staged under), with err_set(); -1 database error.  Either way S's
 * counts and staged_at become the snapshot's, as it was staged.
 */
static int reuse_allowed(struct stg *s, long long id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_prepare(s->db,
		       "SELECT rows_staged, units_staged, rows_rejected, rows_skipped, created_at "
		       "FROM snapshot WHERE snapshot_id = ?",
		       &st) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		long people = (long)sqlite3_column_int64(st, 0);
		long units = (long)sqlite3_column_int64(st, 1);
		long rejected = (long)sqlite3_column_int64(st, 2);
		/* a unit list's rows are units (it stages no people) */
		long data = (s->src->unit_list || people == 0 ? units : people) + rejected;

		s->staged = people;
		s->units = units;
		s->rejected = rejected;
		s->skipped = (long)sqlite3_column_int64(st, 3);
		snprintf(s->staged_at, sizeof(s->staged_at), "%s", db_col_text(st, 4));
		rc = 0;
		if (over_threshold(rejected, data, s->src->max_reject_percent)) {
			err_set("'%s': %ld of %ld rows were rejected when it was staged (snapshot "
				"%lld), more than %g%%: the whole file is rejected (fix the "
				"export, or raise --max-reject-percent)",
				s->src->path, rejected, data, id, s->src->max_reject_percent);
			rc = -2;
		}
	} else {
		db_error(s->db, NULL);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The staging transaction has ended: foreign keys are checked again on
 * the connection (stg_begin() turned them off for it).  A failure leaves
 * them off on this connection only, which stages or ends. */
static void fk_restore(struct stg *s)
{
	if (s->fk_off && !s->open && db_exec(s->db, "PRAGMA foreign_keys = ON") == 0)
		s->fk_off = 0;
}

int stg_begin(struct stg *s, sqlite3 *db, const struct stg_source *src)
{
	sqlite3_stmt *st = NULL;
	const char *prop = src->property_id ? src->property_id : "";
	char now[32], mtime[32] = "";
	int rc = -1;

	memset(s, 0, sizeof(*s));
	s->db = db;
	s->src = src;
	if (!src->digest_later && sha256_file(src->path, s->sha256, &s->size) < 0)
		goto out;
	{
		/* how old the export is: transform reports a stale one */
		struct stat sb;
		struct tm tm;

		if (src->digest_later) {
			if (stat(src->path, &sb) != 0) {
				err_set("cannot open '%s': %s", src->path, strerror(errno));
				goto out;
			}
			s->size = (long long)sb.st_size;
		}
		if (stat(src->path, &sb) == 0 && gmtime_r(&sb.st_mtime, &tm))
			strftime(mtime, sizeof(mtime), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	/* the staging b-trees' working set in memory: with SQLite's default
	 * 2 MiB, rows of many properties (or large files) spill through
	 * pread/pwrite (docs/PERFORMANCE.md, extract) */
	if (db_exec(db, "PRAGMA cache_size = -" STG_CACHE_KIB_STR) < 0)
		goto out;
	/* every row the transaction writes references the snapshot it made or
	 * found (no other foreign key, no delete): the parent check of each of
	 * a million rows cannot fail, and was 3-4% of staging's time.  Set
	 * outside the transaction (SQLite ignores it inside), undone when it
	 * ends (fk_restore()) */
	if (db_exec(db, "PRAGMA foreign_keys = OFF") < 0)
		goto out;
	s->fk_off = 1;
	/* the write lock first: the file staged by another process between a
	 * look and a write would be staged twice, or fail its UNIQUE */
	if (db_begin(db) < 0)
		goto out;
	s->open = 1;
	if (src->digest_later) {
		/* no snapshot of this size: the file is none's copy, and the
		 * extractor's own read digests it (a second read of a large
		 * file was 5% of extract-xml) */
		if (db_prepare(db,
			       "SELECT count(*) FROM snapshot WHERE size_bytes = ? AND source_kind = ? "
			       "AND dialect = ? AND property_id = ?",
			       &st) < 0)
			goto out;
		sqlite3_bind_int64(st, 1, s->size);
		sqlite3_bind_text(st, 2, src->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, src->dialect, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, prop, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			db_error(db, NULL);
			goto out;
		}
		s->digest_pending = sqlite3_column_int64(st, 0) == 0;
		sqlite3_finalize(st);
		st = NULL;
		if (!s->digest_pending && sha256_file(src->path, s->sha256, &s->size) < 0)
			goto out;
	}
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
		rc = reuse_allowed(s, s->snapshot_id);
		if (rc < 0)
			goto out;
		rc = -1;
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
			db_error(db, NULL);
			goto out;
		}
		if (record_extraction(db, s->snapshot_id) < 0 || db_commit(db) < 0)
			goto out;
		s->open = 0;
		fk_restore(s);
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
		db_error(db, NULL);
		goto out;
	}
	s->snapshot_id = sqlite3_last_insert_rowid(db);
	if (record_extraction(db, s->snapshot_id) < 0)
		goto out;
	if (db_prepare(db, "INSERT " PERSON_INTO "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		       &s->ins_person) < 0 ||
	    prepare_people(s) < 0 ||
	    db_prepare(db,
		       "INSERT INTO stg_unit (snapshot_id, property_id, pms_unit_id, label, dwelling) "
		       "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
		       &s->ins_unit) < 0 ||
	    db_prepare(db,
		       "INSERT INTO stg_reject (snapshot_id, source_ref, reason, property_id, "
		       "pms_person_id) VALUES (?,?,?,?,?)",
		       &s->ins_reject) < 0)
		goto out;
	/* the person and unit rows hashed as they come (lib/rowsdigest);
	 * without the memory, read back at the commit */
	s->streamed = calloc(2, sizeof(*s->streamed));
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static int queue_end(struct stg *s, int last);

int stg_digested(struct stg *s, const char hex[SHA256_HEX_LEN + 1], long long size)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	/* the connection is the staging thread's until it is done */
	if (queue_end(s, 1) < 0)
		return -1;
	if (!s->digest_pending) {
		if (size == s->size && !strcmp(hex, s->sha256))
			return 0;
		err_set("'%s' changed while it was being read", s->src->path);
		return -2;
	}
	if (size != s->size) {
		err_set("'%s' changed while it was being read (%lld bytes, then %lld)",
			s->src->path, s->size, size);
		return -2;
	}
	snprintf(s->sha256, sizeof(s->sha256), "%s", hex);
	if (db_prepare(s->db, "UPDATE snapshot SET sha256 = ? WHERE snapshot_id = ?", &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, s->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, s->snapshot_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(s->db, NULL);
		goto out;
	}
	s->digest_pending = 0;
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

static int unit_now(struct stg *s, const char *property_id, const char *pms_unit_id,
		    const char *label, int dwelling, int row, int *inserted);
static int reject_now(struct stg *s, const char *source_ref, const char *reason,
		      const char *property_id, const char *pms_person_id);
static int person_staged(struct stg *s, const struct stg_person *p, int row_seq, int *seq,
			 int *unit_new);

/* The values of P in the order stg_person() binds them (person_fields),
 * then its unit label: PERSON_STRINGS. */
#define PERSON_STRINGS 18

/*
 * The status text P gives: NULL for none, which an empty cell is and so
 * is a placeholder that says nothing ("unknown", "N/A", "-", "none"), so
 * that a household member without a status of its own takes its
 * primary's (lib/stg.h STG_NO_OWN_STATUS; review rv22 #2).
 */
static const char *status_text(const struct stg_person *p)
{
	static const char *const none[] = { "unknown", "n/a", "na", "-", "--", "none", "null" };

	if (p->status_raw && p->status && !strcmp(p->status, "unknown"))
		for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
			if (!strcasecmp(p->status_raw, none[i]))
				return NULL;
	return p->status_raw;
}

static void person_values(const struct stg_person *p, const char *v[PERSON_STRINGS])
{
	const char *all[PERSON_STRINGS] = {
		p->property_id,  p->pms_person_id,
		p->household_id, p->pms_unit_id,
		p->role,         p->status,
		status_text(p),  p->first_name,
		p->last_name,    p->email,
		p->phone,        p->move_in,
		p->move_out,     p->expected_move_out,
		p->lease_from,   p->lease_to,
		p->source_ref,   p->unit_label,
	};

	memcpy(v, all, sizeof(all));
}

/* The columns PERSON_INTO names, bound from parameter BASE + 1: the
 * snapshot, then V in person_fields' order, then row_seq 1.  The strings
 * outlive the step: no copies (a fifth of staging's time). */
#define PERSON_COLUMNS 19
static void bind_person(struct stg *s, sqlite3_stmt *st, int base, const char *const *v)
{
	sqlite3_bind_int64(st, base + 1, s->snapshot_id);
	for (int i = 0; i < (int)(sizeof(person_fields) / sizeof(person_fields[0])); i++)
		if (v[i] && *v[i]) {
			sqlite3_bind_text(st, base + i + 2, v[i], -1, SQLITE_STATIC);
			s->seen |= 1u << i;
		} else
			sqlite3_bind_null(st, base + i + 2);
	sqlite3_bind_int(st, base + PERSON_COLUMNS, 1);
}

/*
 * The multi-row insert of STG_CHUNK_ROWS person rows (stage_people()).  A
 * statement a row seeks both b-trees from their roots and sets up its
 * program each time; one statement keeps its cursors where the last row
 * went, so a row that comes in key order (a file grouped by property)
 * lands without a descent: staging 1M people took 1.9 s instead of 3.0 s
 * of inserts (docs/PERFORMANCE.md, issue 18).  OR FAIL, not the default
 * ABORT: a row that breaks a constraint stops the statement with the rows
 * before it kept (sqlite3_changes() counts them), and SQLite then keeps no
 * statement journal (ABORT's undo copy of every page it touches: 2.6 s).
 */
static int prepare_people(struct stg *s)
{
	static const char head[] = "INSERT OR FAIL " PERSON_INTO;
	static const char row[] = ",(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	char sql[sizeof(head) + STG_CHUNK_ROWS * sizeof(row)];
	size_t n = sizeof(head) - 1;

	memcpy(sql, head, n);
	for (int i = 0; i < STG_CHUNK_ROWS; i++) {
		const char *r = i ? row : row + 1; /* no comma before the first */
		size_t len = strlen(r);

		memcpy(sql + n, r, len);
		n += len;
	}
	sql[n] = '\0';
	return db_prepare(s->db, sql, &s->ins_people);
}

/* How a row of a person staged before compares with theirs (person_repeats()) */
enum repeat {
	REPEAT_NEW,      /* another household or unit: another lease, a row of its own */
	REPEAT_SAME,     /* the same in what decides access: left out */
	REPEAT_CONFLICT, /* the same household and unit, another status or dates */
};

/*
 * How P compares with the rows of its person staged before, in what
 * decides access (household, unit, role, status, move dates), or -1 on
 * error.  A profile listing a person once per event (the tenant tickler)
 * repeats the tenant's columns; a row on another unit is another lease (a
 * transfer: review rv18 #3, the new unit's row was skipped and the
 * transfer never reached Latch); one on the same unit that says otherwise
 * cannot be judged from the file (which event is the newer?), and merged
 * with the other the one that gives access would win (review rv19 #8).
 */
static int person_repeats(struct stg *s, const char *const v[PERSON_STRINGS])
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (db_prepare(s->db,
		       "SELECT max(role IS ?6 AND status IS ?7 AND move_in IS ?8 "
		       "AND move_out IS ?9 AND expected_move_out IS ?10) FROM stg_person "
		       "WHERE snapshot_id = ?1 AND property_id = ?2 AND pms_person_id = ?3 "
		       "AND household_id IS ?4 AND pms_unit_id IS ?5",
		       &q) < 0)
		return -1;
	sqlite3_bind_int64(q, 1, s->snapshot_id);
	/* person_values()' order: property, person, household, unit, role,
	 * status, ... move_in (11), move_out, expected_move_out */
	for (int i = 0; i < 6; i++)
		db_bind_text_or_null(q, i + 2, v[i]); /* empty: NULL, as staged */
	for (int i = 0; i < 3; i++)
		db_bind_text_or_null(q, i + 8, v[11 + i]);
	if ((rc = db_row(q)) == 1)
		rc = sqlite3_column_type(q, 0) == SQLITE_NULL ? REPEAT_NEW
		     : sqlite3_column_int(q, 0)               ? REPEAT_SAME
							      : REPEAT_CONFLICT;
	sqlite3_finalize(q);
	return rc < 0 ? -1 : rc;
}

/* stg_person(), staged now: 0, 1 left out (a repeat without REPEAT), -1.
 * *SEQ: the row_seq staged, 0 none; *UNIT_NEW: its unit was staged too. */
static int person_now(struct stg *s, const struct stg_person *p, int repeat, int *seq,
		      int *unit_new)
{
	sqlite3_stmt *st = s->ins_person;
	const char *v[PERSON_STRINGS];
	int rc, row_seq = 1;

	*seq = *unit_new = 0;
	person_values(p, v);

	if (note_property(s, p->property_id, p->source_ref) < 0)
		return -1;
	sqlite3_reset(st);
	bind_person(s, st, 0, v);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT && !repeat) {
		int how;

		sqlite3_reset(st);
		if ((how = person_repeats(s, v)) < 0)
			return -1;
		if (how == REPEAT_CONFLICT) {
			char why[256];

			snprintf(why, sizeof(why),
				 "%s is listed again on unit %s with another status or move "
				 "dates ('%s'): which is the newer cannot be told",
				 p->pms_person_id, p->pms_unit_id ? p->pms_unit_id : "",
				 p->status_raw ? p->status_raw
				 : p->status   ? p->status
					       : "");
			log_warn("%s: row rejected: %s", p->source_ref ? p->source_ref : "", why);
			return reject_now(s, p->source_ref ? p->source_ref : "", why,
					  p->property_id, p->pms_person_id) < 0
				       ? -1
				       : 1;
		}
		repeat = how == REPEAT_NEW;
	}
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
			db_error(s->db, NULL);
			return -1;
		}
		sqlite3_bind_int(st, PERSON_COLUMNS, next);
		row_seq = next;
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_CONSTRAINT) {
		s->skipped++;
		return 1;
	}
	if (rc != SQLITE_DONE) {
		db_error(s->db, NULL);
		return -1;
	}
	return person_staged(s, p, row_seq, seq, unit_new);
}

/* The rest of staging P once its row ROW_SEQ is in (person_now(), and
 * stage_people()'s rows): its property's count, the row's *SEQ, its unit.
 * note_property() of P's property came last. */
static int person_staged(struct stg *s, const struct stg_person *p, int row_seq, int *seq,
			 int *unit_new)
{
	/* every extractor rejects a row without them (stg_person()'s contract) */
	if (!p->property_id || !p->pms_unit_id) {
		err_set("%s: a person row without a property or a unit", p->source_ref);
		return -1;
	}
	/* the person's first row: one more person of the property (stg_commit()) */
	if (row_seq == 1 && s->last_known && *p->property_id)
		s->people[s->last_i]++;
	s->staged++;
	*seq = row_seq;
	return unit_now(s, p->property_id, p->pms_unit_id,
			p->unit_label ? p->unit_label : p->pms_unit_id, p->dwelling, 0, unit_new);
}

/* stg_unit(), staged now; ROW: a unit list's row (stg_unit_row());
 * *INSERTED: a row was added (not the repeat of one staged) */
static int unit_now(struct stg *s, const char *property_id, const char *pms_unit_id,
		    const char *label, int dwelling, int row, int *inserted)
{
	sqlite3_stmt *st = s->ins_unit;
	size_t np = strlen(property_id), nu = strlen(pms_unit_id);

	*inserted = 0;
	if (note_property(s, property_id, NULL) < 0)
		return -1;
	/* residents come unit by unit: skip the repeat of the unit just staged */
	if (s->last_unit && (size_t)s->last_unit_len == np + nu + 1 &&
	    !memcmp(s->last_unit, property_id, np) &&
	    !memcmp(s->last_unit + np + 1, pms_unit_id, nu)) {
		s->skipped += row;
		return 0;
	}
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
		db_error(s->db, NULL);
		return -1;
	}
	if (sqlite3_changes(s->db)) {
		s->units++;
		*inserted = 1;
	} else
		s->skipped += row;
	return 0;
}

/* stg_reject_person(), staged now */
static int reject_now(struct stg *s, const char *source_ref, const char *reason,
		      const char *property_id, const char *pms_person_id)
{
	sqlite3_stmt *st = s->ins_reject;

	if (note_property(s, property_id, source_ref) < 0)
		return -1;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, s->snapshot_id);
	sqlite3_bind_text(st, 2, source_ref, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_TRANSIENT);
	db_bind_text_or_null(st, 4, property_id ? property_id : s->src->property_id);
	db_bind_text_or_null(st, 5, pms_person_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(s->db, NULL);
		return -1;
	}
	s->rejected++;
	return 0;
}

/*
 * Staging on a thread (stg_async()).  The caller's calls are queued as
 * operations in a batch, their strings copied after one another; a full
 * batch is handed to the thread (lib/handoff), which stages its rows in
 * order with the *_now() functions while the caller fills the other.
 */
enum op_kind {
	OP_PERSON,
	OP_UNIT,
	OP_UNIT_ROW,
	OP_REJECT
};

/* The strings of the widest operation: a person's, with the unit label. */
#define OP_STRINGS PERSON_STRINGS

struct op {
	enum op_kind kind;
	int flag;                /* stg_person()'s REPEAT, the unit's DWELLING */
	uint32_t at[OP_STRINGS]; /* each string's offset in the batch's text + 1;
				  * 0: NULL */
	int seq;                 /* the staging thread's: the person's row_seq
				  * staged, 0 none */
	int unit_new;            /* and whether a unit row was added */
	int chunked;             /* a person row stage_people() inserted */
};

struct batch {
	struct op *ops; /* owned */
	size_t n, cap;
	char *text; /* the operations' strings, owned */
	size_t len, text_cap;
	int last; /* the caller is done: the thread ends after this batch */
};

/* A batch is handed over at this many operations or bytes of strings. */
#define BATCH_OPS 2048
#define BATCH_TEXT (256 * 1024)

struct stg_queue {
	struct handoff ho;
	struct batch b[2];
	int fill;         /* the caller's: the batch it fills */
	long skipped;     /* the caller's: stg_skip() while queued */
	int stopped;      /* the caller's: the thread was joined */
	int failed;       /* the thread's: staging failed, error says why;
			   * read once handoff_quit() or the join came */
	char error[1024]; /* its message */
	pthread_t thread;
};

/*
 * What operation KIND (FLAG, strings V) staged, into the snapshot's rows
 * digest (lib/rowsdigest): the person row of row_seq SEQ (0: none), the
 * unit row when UNIT_NEW.  On the caller's thread, which has the time:
 * the staging thread is the one extract waits for.
 */
static void stream_op(struct stg *s, enum op_kind kind, int flag, const char *const *v, int seq,
		      int unit_new)
{
	if (!s->streamed)
		return;
	if (kind == OP_PERSON) {
		if (seq)
			rowsdigest_person(&s->streamed[0], v, seq);
		if (unit_new)
			rowsdigest_unit(&s->streamed[1], v[0], v[3], v[17] ? v[17] : v[3],
					flag >> 1);
	} else if (kind != OP_REJECT && unit_new) {
		rowsdigest_unit(&s->streamed[1], v[0], v[1], v[2], flag);
	}
}

/* The strings of operation O of batch B into V */
static void op_strings(const struct batch *b, const struct op *o, const char *v[OP_STRINGS])
{
	for (int k = 0; k < OP_STRINGS; k++)
		v[k] = o->at[k] ? b->text + o->at[k] - 1 : NULL;
}

/* Batch B's operations, staged, into the digest (stream_op()); once. */
static void stream_batch(struct stg *s, struct batch *b)
{
	const char *v[OP_STRINGS];

	for (size_t i = 0; i < b->n; i++) {
		op_strings(b, &b->ops[i], v);
		stream_op(s, b->ops[i].kind, b->ops[i].flag, v, b->ops[i].seq, b->ops[i].unit_new);
	}
	b->n = b->len = 0;
}

/* Person operation O of batch B: the row stg_person() was given */
static struct stg_person op_person(const struct batch *b, const struct op *o)
{
	const char *v[OP_STRINGS];

	op_strings(b, o, v);
	return (struct stg_person){ v[0],  v[1],  v[2],  v[3],  v[4],        v[5],  v[6],
				    v[7],  v[8],  v[9],  v[10], v[11],       v[12], v[13],
				    v[14], v[15], v[16], v[17], o->flag >> 1 };
}

/* Person operation O of batch B, staged now (person_now()) */
static int person_op(struct stg *s, const struct batch *b, struct op *o)
{
	struct stg_person p = op_person(b, o);

	return person_now(s, &p, o->flag & 1, &o->seq, &o->unit_new);
}

/*
 * The next STG_CHUNK_ROWS person operations of batch B from op FROM on
 * (other operations between them are left to stage_batch()), inserted
 * with one statement (prepare_people()); each one marked chunked that the
 * statement kept: those before the first row that broke a constraint (a
 * person's second row, which takes the next row_seq, or a repeat to leave
 * out).  That one and those after it stay unmarked, staged by
 * person_now() in their turn, which knows why.  Returns the op after the
 * chunk's last, or B->n when fewer person operations are left (each then
 * staged alone); -1 with err_set().
 */
static long stage_people(struct stg *s, struct batch *b, size_t from)
{
	sqlite3_stmt *st = s->ins_people;
	size_t at[STG_CHUNK_ROWS], n = 0, i;
	int rc, kept;

	for (i = from; i < b->n && n < STG_CHUNK_ROWS; i++) {
		b->ops[i].chunked = 0;
		if (b->ops[i].kind == OP_PERSON)
			at[n++] = i;
	}
	if (n < STG_CHUNK_ROWS)
		return (long)b->n;
	sqlite3_reset(st);
	for (size_t j = 0; j < n; j++) {
		const char *v[OP_STRINGS];

		op_strings(b, &b->ops[at[j]], v);
		bind_person(s, st, (int)j * PERSON_COLUMNS, v);
	}
	rc = sqlite3_step(st);
	kept = rc == SQLITE_DONE ? STG_CHUNK_ROWS : sqlite3_changes(s->db);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT) {
		db_error(s->db, NULL);
		return -1;
	}
	for (int j = 0; j < kept; j++)
		b->ops[at[j]].chunked = 1;
	return (long)i;
}

/* The rest of person operation O that stage_people() inserted, as
 * person_now() does it (person_staged()) */
static int person_chunked(struct stg *s, const struct batch *b, struct op *o)
{
	struct stg_person p = op_person(b, o);

	if (note_property(s, p.property_id, p.source_ref) < 0)
		return -1;
	return person_staged(s, &p, 1, &o->seq, &o->unit_new);
}

/* Stage batch B's operations, each op's outcome in it; -1 with err_set() */
static int stage_batch(struct stg *s, struct batch *b)
{
	long ahead = 0; /* the op after the chunk stage_people() inserted last */

	for (size_t i = 0; i < b->n; i++) {
		struct op *o = &b->ops[i];
		const char *v[OP_STRINGS];
		int rc = 0;

		if ((long)i >= ahead && (ahead = stage_people(s, b, i)) < 0)
			return -1;
		op_strings(b, o, v);
		o->seq = o->unit_new = 0;
		switch (o->kind) {
		case OP_PERSON:
			rc = o->chunked ? person_chunked(s, b, o) : person_op(s, b, o);
			break;
		case OP_UNIT:
		case OP_UNIT_ROW:
			rc = unit_now(s, v[0], v[1], v[2], o->flag, o->kind == OP_UNIT_ROW,
				      &o->unit_new);
			break;
		case OP_REJECT:
			rc = reject_now(s, v[0], v[1], v[2], v[3]);
			break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The staging thread: stage each batch in turn until the last, a
 * failure, or stg_release()'s quit. */
static void *stage_behind(void *arg)
{
	struct stg *s = arg;
	struct stg_queue *q = s->q;

	for (int i = 0;; i ^= 1) {
		int last;

		if (handoff_wait_full(&q->ho, i) < 0)
			break;
		if (stage_batch(s, &q->b[i]) < 0) {
			snprintf(q->error, sizeof(q->error), "%s", err_msg());
			q->failed = 1;
			handoff_quit(&q->ho);
			break;
		}
		last = q->b[i].last;
		handoff_done(&q->ho, i);
		if (last)
			break;
	}
	return NULL;
}

int stg_async(struct stg *s)
{
	struct stg_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return 0; /* staged as given */
	handoff_init(&q->ho);
	s->q = q;
	if (pthread_create(&q->thread, NULL, stage_behind, s) != 0) {
		handoff_release(&q->ho);
		free(q);
		s->q = NULL;
	}
	return 0;
}

/*
 * Wait for the thread and free the queue: after the last batch (LAST: the
 * one being filled is handed over first), or stopping it (stg_release()).
 * The staging is synchronous again.  -1 with the thread's error.
 */
static int queue_end(struct stg *s, int last)
{
	struct stg_queue *q = s->q;
	int rc = 0;

	if (!q)
		return 0;
	if (!q->stopped) {
		if (last) {
			q->b[q->fill].last = 1;
			handoff_give(&q->ho, q->fill);
		} else {
			handoff_quit(&q->ho);
		}
		pthread_join(q->thread, NULL);
	}
	if (q->failed) {
		err_set("%s", q->error);
		rc = -1;
	} else if (last) {
		/* the batch handed over before the last one, then the last */
		stream_batch(s, &q->b[q->fill ^ 1]);
		stream_batch(s, &q->b[q->fill]);
	}
	s->skipped += q->skipped;
	handoff_release(&q->ho);
	for (int i = 0; i < 2; i++) {
		free(q->b[i].ops);
		free(q->b[i].text);
	}
	free(q);
	s->q = NULL;
	return rc;
}

/* The thread failed: wait for it, and -1 with its error from now on. */
static int queue_failed(struct stg *s)
{
	struct stg_queue *q = s->q;

	if (!q->stopped) {
		pthread_join(q->thread, NULL);
		q->stopped = 1;
	}
	err_set("%s", q->error);
	return -1;
}

/* The batch the caller fills, with room for one more operation; NULL
 * with err_set() when the thread failed or memory ran out. */
static struct batch *queue_batch(struct stg *s)
{
	struct stg_queue *q = s->q;
	struct batch *b = &q->b[q->fill];

	if (q->stopped) {
		queue_failed(s);
		return NULL;
	}
	if (b->n == BATCH_OPS || b->len >= BATCH_TEXT) {
		handoff_give(&q->ho, q->fill);
		q->fill ^= 1;
		if (handoff_wait_empty(&q->ho, q->fill) < 0) {
			queue_failed(s);
			return NULL;
		}
		b = &q->b[q->fill];
		stream_batch(s, b);
	}
	if (mem_grow((void **)&b->ops, b->n, &b->cap, sizeof(*b->ops), 256) < 0)
		return NULL;
	return b;
}

/* Queue operation KIND with FLAG and the N strings V (NULL allowed). */
static int queue_op(struct stg *s, enum op_kind kind, int flag, const char *const *v, int n)
{
	struct batch *b = queue_batch(s);
	struct op *o;
	size_t need = 0, len[OP_STRINGS];

	if (!b)
		return -1;
	for (int k = 0; k < n; k++) {
		len[k] = v[k] ? strlen(v[k]) + 1 : 0;
		need += len[k];
	}
	if (b->len + need > b->text_cap) {
		size_t cap = b->text_cap ? b->text_cap : BATCH_TEXT + 4096;
		char *text;

		while (cap < b->len + need)
			cap *= 2;
		if (cap > UINT32_MAX) {
			err_set("out of memory");
			return -1;
		}
		text = realloc(b->text, cap);
		if (!text) {
			err_set("out of memory");
			return -1;
		}
		b->text = text;
		b->text_cap = cap;
	}
	o = &b->ops[b->n++];
	o->kind = kind;
	o->flag = flag;
	memset(o->at, 0, sizeof(o->at));
	for (int k = 0; k < n; k++)
		if (v[k]) {
			memcpy(b->text + b->len, v[k], len[k]);
			o->at[k] = (uint32_t)b->len + 1;
			b->len += len[k];
		}
	return 0;
}

int stg_person(struct stg *s, const struct stg_person *p, int repeat)
{
	const char *v[OP_STRINGS];
	int flag = (p->dwelling ? 2 : 0) | (repeat ? 1 : 0), seq, unit_new;

	person_values(p, v);
	if (s->q)
		return queue_op(s, OP_PERSON, flag, v, OP_STRINGS);
	if (person_now(s, p, repeat, &seq, &unit_new) < 0)
		return -1;
	stream_op(s, OP_PERSON, flag, v, seq, unit_new);
	return 0;
}

/* stg_unit() (ROW 0) and stg_unit_row() (1): queued, or staged now */
static int unit(struct stg *s, const char *property_id, const char *pms_unit_id, const char *label,
		int dwelling, int row)
{
	const char *v[] = { property_id, pms_unit_id, label };
	enum op_kind kind = row ? OP_UNIT_ROW : OP_UNIT;
	int inserted;

	if (s->q)
		return queue_op(s, kind, dwelling, v, 3);
	if (unit_now(s, property_id, pms_unit_id, label, dwelling, row, &inserted) < 0)
		return -1;
	stream_op(s, kind, dwelling, v, 0, inserted);
	return 0;
}

int stg_unit(struct stg *s, const char *property_id, const char *pms_unit_id, const char *label,
	     int dwelling)
{
	return unit(s, property_id, pms_unit_id, label, dwelling, 0);
}

int stg_unit_row(struct stg *s, const char *property_id, const char *pms_unit_id, const char *label,
		 int dwelling)
{
	return unit(s, property_id, pms_unit_id, label, dwelling, 1);
}

int stg_reject(struct stg *s, const char *source_ref, const char *reason)
{
	return stg_reject_person(s, source_ref, reason, NULL, NULL);
}

int stg_reject_person(struct stg *s, const char *source_ref, const char *reason,
		      const char *property_id, const char *pms_person_id)
{
	const char *v[] = { source_ref, reason, property_id, pms_person_id };

	if (s->q)
		return queue_op(s, OP_REJECT, 0, v, 4);
	return reject_now(s, source_ref, reason, property_id, pms_person_id);
}

void stg_skip(struct stg *s)
{
	if (s->q)
		s->q->skipped++;
	else
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

/*
 * A file staged with --property P whose rows name a PMS property code
 * (src->pms_property, not chosen with --pms-property) other than the one
 * P's newest staged snapshot of the same kind recorded: an export of
 * another property, dropped under P's name (review rv16 #2: its residents
 * were given P's doors, and the residents of P were removed).  -2 with
 * err_set() naming both codes and how to accept a changed code; 0 when
 * the codes agree or either is unknown; -1 on a database error.
 */
static int pms_property_check(struct stg *s)
{
	const struct stg_source *src = s->src;
	sqlite3_stmt *st = NULL;
	int rc = -1, got;

	if (!src->property_id || !src->pms_property || !*src->pms_property || src->pms_chosen)
		return 0;
	if (db_prepare(s->db,
		       "SELECT snapshot_id, pms_property, source_name FROM snapshot "
		       "WHERE property_id = ?1 AND source_kind = ?2 AND status = 'staged' "
		       /* the dialect's own codes, in an envelope or not (rv17 #5) */
		       "AND (dialect IN (?4, 'envelope+' || ?4) OR dialect LIKE ?4 || ':%' "
		       "  OR dialect LIKE 'envelope+' || ?4 || ':%') "
		       "AND pms_property IS NOT NULL AND snapshot_id <> ?3 "
		       "ORDER BY extract_order DESC LIMIT 1",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, src->property_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, src->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, s->snapshot_id);
	sqlite3_bind_text(st, 4, src->dialect + (strncmp(src->dialect, "envelope+", 9) ? 0 : 9), -1,
			  SQLITE_STATIC);
	if ((got = db_row(st)) < 0)
		goto out;
	rc = 0;
	/* PMS property codes are not case-sensitive (rv17 #7) */
	if (got == 1 && strcasecmp(db_col_text(st, 1), src->pms_property) != 0) {
		err_set("'%s' is an export of PMS property '%s', but %s's exports so far were of "
			"'%s' (snapshot %lld, '%s'): a file of another property? the whole file "
			"is refused; if %s's PMS code changed, stage it once with "
			"--pms-property %s",
			src->path, src->pms_property, src->property_id, db_col_text(st, 1),
			(long long)sqlite3_column_int64(st, 0), db_col_text(st, 2),
			src->property_id, src->pms_property);
		rc = -2;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

int stg_commit(struct stg *s)
{
	sqlite3_stmt *st = NULL;
	long data;
	char seen[256], digest[SHA256_HEX_LEN + 1];
	int rc = -1;

	if (queue_end(s, 1) < 0)
		goto out;
	/* a unit list's rows are units, a resident file's are people */
	data = (s->src->unit_list ? s->units : s->staged) + s->rejected;
	if (s->digest_pending) {
		err_set("'%s': staged without the file's digest", s->src->path);
		goto out;
	}
	if (note_property(s, s->src->property_id, NULL) < 0)
		goto out;
	if (s->n_unknown) {
		/* staged, it would be a snapshot of nothing transform runs, and hide a typo */
		char where[PATH_MAX + 64], ids[512] = "";
		size_t used = 0;

		if (s->unknown_ref)
			snprintf(where, sizeof(where), "%s", s->unknown_ref);
		else
			snprintf(where, sizeof(where), "'%s'", s->src->path);
		if (s->n_unknown == 1) {
			if (stg_property_unknown(s->db, s->unknown[0]) == -1)
				goto out;
			snprintf(ids, sizeof(ids), "%s", err_msg());
			err_set("%s: %s: the whole file is refused", where, ids);
			rc = -2;
			goto out;
		}
		for (size_t i = 0; i < s->n_unknown && used < sizeof(ids); i++) {
			char *near;

			if (stg_property_nearest(s->db, s->unknown[i], &near) < 0)
				goto out;
			used += (size_t)snprintf(ids + used, sizeof(ids) - used, "%s'%s'%s%s%s",
						 i ? ", " : "", s->unknown[i],
						 near ? " (did you mean '" : "", near ? near : "",
						 near ? "'?)" : "");
			free(near);
		}
		err_set("%s: unknown properties %s (add each with 'unitsync property add ID'): "
			"the whole file is refused",
			where, ids);
		rc = -2;
		goto out;
	}
	if (over_threshold(s->rejected, data, s->src->max_reject_percent)) {
		err_set("'%s': %ld of %ld rows rejected, more than %g%%: the whole file is rejected "
			"(the warnings above name each row: fix the export, or raise "
			"--max-reject-percent)",
			s->src->path, s->rejected, data, s->src->max_reject_percent);
		rc = -2;
		goto out;
	}
	if ((rc = pms_property_check(s)) < 0)
		goto out;
	rc = -1;
	/* the people of each property, counted as they were staged: reading
	 * every row back for a count(DISTINCT) was a tenth of the commit */
	if (db_prepare(s->db,
		       "INSERT INTO snapshot_property (snapshot_id, property_id, people) "
		       "VALUES (?, ?, ?)",
		       &st) < 0)
		goto out;
	for (size_t i = 0; i < s->n_known; i++) {
		if (!s->people[i])
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, s->snapshot_id);
		sqlite3_bind_text(st, 2, s->known[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, s->people[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			db_error(s->db, NULL);
			goto out;
		}
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
		db_error(s->db, NULL);
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
			db_error(s->db, NULL);
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (db_prepare(s->db,
		       "UPDATE snapshot SET rows_staged = ?, rows_skipped = ?, rows_rejected = ?, "
		       "units_staged = ?, status = 'staged', fields = ?, unknown_columns = ?, "
		       "pms_property = nullif(?8, '') WHERE snapshot_id = ?7",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 8, s->src->pms_property ? s->src->pms_property : "", -1,
			  SQLITE_STATIC);
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
		db_error(s->db, NULL);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* last: the digest covers the counts and fields just written */
	if (rowsdigest_compute(s->db, s->snapshot_id, ROWSDIGEST_VERSION,
			       s->streamed ? &s->streamed[0] : NULL,
			       s->streamed ? &s->streamed[1] : NULL, digest) < 0 ||
	    db_prepare(s->db,
		       "UPDATE snapshot SET rows_sha256 = ?, rows_digest_version = ? "
		       "WHERE snapshot_id = ?",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ROWSDIGEST_VERSION);
	sqlite3_bind_int64(st, 3, s->snapshot_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(s->db, NULL);
		goto out;
	}
	if (db_commit(s->db) < 0)
		goto out;
	s->open = 0;
	fk_restore(s);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Snapshot ID's digest row into *ST (the caller finalizes it): its
 * rows_sha256, whether it was staged before digests were recorded
 * (migration 8), its digest version (1: staged before migration 18).
 * 0, 1 no such snapshot, -1 with err_set().
 */
static int digest_row(sqlite3 *db, long long snapshot_id, sqlite3_stmt **st)
{
	if (db_prepare(db,
		       "SELECT rows_sha256, snapshot_id <= (SELECT coalesce(max(max_snapshot_id), 0) "
		       "FROM snapshot_legacy), coalesce(rows_digest_version, 1) FROM snapshot "
		       "WHERE snapshot_id = ?",
		       st) < 0)
		return -1;
	sqlite3_bind_int64(*st, 1, snapshot_id);
	if (sqlite3_step(*st) != SQLITE_ROW) {
		err_set("snapshot %lld does not exist", snapshot_id);
		return 1;
	}
	return 0;
}

int stg_rows_digest(sqlite3 *db, long long snapshot_id, char hex[SHA256_HEX_LEN + 1])
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (digest_row(db, snapshot_id, &st) == 0)
		rc = rowsdigest_compute(db, snapshot_id, sqlite3_column_int(st, 2), NULL, NULL,
					hex);
	sqlite3_finalize(st);
	return rc;
}

int stg_verify(sqlite3 *db, long long snapshot_id)
{
	sqlite3_stmt *st = NULL;
	char now[SHA256_HEX_LEN + 1];
	int rc, version;

	if ((rc = digest_row(db, snapshot_id, &st)) != 0)
		goto out;
	rc = -1;
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		if (sqlite3_column_int(st, 1)) {
			rc = 2; /* staged before the digest existed */
			goto out;
		}
		err_set("snapshot %lld has no rows digest although it was staged after unitsync "
			"began recording them: it was changed behind unitsync's back and is not "
			"used: restore the state database from a backup",
			snapshot_id);
		rc = 1;
		goto out;
	}
	version = sqlite3_column_int(st, 2);
	if (version < 1 || version > ROWSDIGEST_VERSION) {
		/* no unitsync wrote it (reviewer rv11: it read as a bad configuration, 78) */
		err_set("snapshot %lld records rows digest version %d, which no unitsync writes: it "
			"was changed after it was staged and is not used: restore the state "
			"database from a backup",
			snapshot_id, version);
		rc = 1;
		goto out;
	}
	if (rowsdigest_compute(db, snapshot_id, version, NULL, NULL, now) < 0)
		goto out;
	if (strcmp(now, db_col_text(st, 0)) != 0) {
		err_set("snapshot %lld was changed after it was staged: its rows no longer match the "
			"digest recorded then (rows_sha256 %.12s..., now %.12s...); it is not used: "
			"restore the state database from a backup ('unitsync snapshots show %lld' "
			"names the export)",
			snapshot_id, db_col_text(st, 0), now, snapshot_id);
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

void stg_release(struct stg *s)
{
	queue_end(s, 0);
	free(s->last_unit);
	for (size_t i = 0; i < s->n_known; i++)
		free(s->known[i]);
	free(s->known);
	free(s->people);
	for (size_t i = 0; i < s->n_unknown; i++)
		free(s->unknown[i]);
	free(s->unknown);
	free(s->unknown_ref);
	s->last_unit = s->unknown_ref = NULL;
	s->last_property = NULL;
	s->known = s->unknown = NULL;
	s->people = NULL;
	s->n_known = s->n_unknown = 0;
	if (s->streamed) {
		rowsdigest_section_release(&s->streamed[0]);
		rowsdigest_section_release(&s->streamed[1]);
		free(s->streamed);
		s->streamed = NULL;
	}
	sqlite3_finalize(s->ins_person);
	sqlite3_finalize(s->ins_people);
	sqlite3_finalize(s->ins_unit);
	sqlite3_finalize(s->ins_reject);
	s->ins_person = s->ins_people = s->ins_unit = s->ins_reject = NULL;
	if (s->open)
		db_rollback(s->db);
	s->open = 0;
	fk_restore(s);
}
