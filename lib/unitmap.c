#include "unitmap.h"
#include "db.h"
#include "err.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

/*
 * The newest snapshot of each (source kind, dialect) that staged units for
 * ?1, and their units with the mapping; a unit's rows newest first.
 */
static const char staged_sql[] =
	"WITH newest (snapshot_id) AS ("
	" SELECT (SELECT s2.snapshot_id FROM snapshot s2"
	"   WHERE s2.status = 'staged' AND s2.source_kind = k.source_kind"
	"   AND s2.dialect = k.dialect"
	"   AND EXISTS (SELECT 1 FROM stg_unit x WHERE x.snapshot_id = s2.snapshot_id"
	"     AND x.property_id = ?1)"
	"   ORDER BY s2.extract_order DESC LIMIT 1)"
	" FROM (SELECT DISTINCT source_kind, dialect FROM snapshot WHERE status = 'staged') k)"
	" SELECT u.pms_unit_id, u.label, u.dwelling, m.latch_unit_id"
	" FROM stg_unit u JOIN snapshot s ON s.snapshot_id = u.snapshot_id"
	" LEFT JOIN unit_map m ON m.property_id = u.property_id AND m.pms_unit_id = u.pms_unit_id"
	" WHERE u.property_id = ?1 AND u.snapshot_id IN (SELECT snapshot_id FROM newest)"
	" ORDER BY u.pms_unit_id, s.extract_order DESC";

static int add_unit(struct unitmap_units *u, const char *id, const char *label, int dwelling,
		    const char *latch)
{
	struct unitmap_unit *x;

	if (mem_grow((void **)&u->v, u->n, &u->cap, sizeof(*u->v), 64) < 0)
		return -1;
	x = &u->v[u->n++];
	x->pms_unit_id = strdup(id);
	x->label = strdup(label);
	x->dwelling = dwelling;
	x->latch_unit_id = *latch ? strdup(latch) : NULL;
	if (!x->pms_unit_id || !x->label || (*latch && !x->latch_unit_id))
		goto oom;
	return 0;
oom:
	err_set("out of memory");
	return -1;
}

/* the mapped units of ?1, in the columns of staged_sql */
static const char mapped_sql[] = "SELECT pms_unit_id, pms_unit_id, 1, latch_unit_id FROM unit_map "
				 "WHERE property_id = ?1 ORDER BY pms_unit_id";

/* Fill OUT with the units SQL (staged_sql's columns and order) gives for
 * PROPERTY, a unit's later rows merged into its first. */
static int read_units(sqlite3 *db, const char *sql, const char *property, struct unitmap_units *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc = -1;

	memset(out, 0, sizeof(*out));
	if (db_prepare(db, sql, &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	while ((r = db_row(st)) == 1) {
		const char *id = db_col_text(st, 0), *label = db_col_text(st, 1);
		int dwelling = sqlite3_column_int(st, 2);
		struct unitmap_unit *last = out->n ? &out->v[out->n - 1] : NULL;

		if (last && !strcmp(last->pms_unit_id, id)) {
			/* an older snapshot's row of the same unit */
			if (!dwelling)
				last->dwelling = 0;
			if (!strcmp(last->label, last->pms_unit_id) && *label &&
			    strcmp(label, id)) {
				char *l = strdup(label);

				if (!l) {
					err_set("out of memory");
					goto out;
				}
				free(last->label);
				last->label = l;
			}
			continue;
		}
		if (add_unit(out, id, *label ? label : id, dwelling, db_col_text(st, 3)) < 0)
			goto out;
	}
	if (r < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc < 0)
		unitmap_units_release(out);
	return rc;
}

int unitmap_staged_units(sqlite3 *db, const char *property, struct unitmap_units *out)
{
	return read_units(db, staged_sql, property, out);
}

int unitmap_mapped_units(sqlite3 *db, const char *property, struct unitmap_units *out)
{
	return read_units(db, mapped_sql, property, out);
}

void unitmap_units_release(struct unitmap_units *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].pms_unit_id);
		free(u->v[i].label);
		free(u->v[i].latch_unit_id);
	}
	free(u->v);
	memset(u, 0, sizeof(*u));
}

const struct unitmap_unit *unitmap_units_find(const struct unitmap_units *u,
					      const char *pms_unit_id)
{
	size_t lo = 0, hi = u->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(u->v[mid].pms_unit_id, pms_unit_id);

		if (!c)
			return &u->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int unitmap_unit_source(sqlite3 *db, const char *property, const char *pms_unit_id, char **where)
{
	sqlite3_stmt *st = NULL;
	int r, rc = -1;

	*where = NULL;
	/* source_ref is "FILE:LINE" with one FILE per snapshot: the shortest,
	 * then the least, is the first line */
	if (db_prepare(db,
		       "SELECT coalesce((SELECT p.source_ref FROM stg_person p"
		       "  WHERE p.snapshot_id = s.snapshot_id AND p.property_id = ?1"
		       "  AND p.pms_unit_id = ?2 ORDER BY length(p.source_ref), p.source_ref LIMIT 1),"
		       " '''' || s.source_name || '''')"
		       " FROM stg_unit u JOIN snapshot s ON s.snapshot_id = u.snapshot_id"
		       " WHERE u.property_id = ?1 AND u.pms_unit_id = ?2 AND s.status = 'staged'"
		       " ORDER BY s.extract_order DESC LIMIT 1",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pms_unit_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE) {
		db_error(db, NULL);
		goto out;
	}
	*where = strdup(r == SQLITE_ROW ? db_col_text(st, 0) : "");
	if (!*where) {
		err_set("out of memory");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int unitmap_property(sqlite3 *db, const char *property, char **building)
{
	sqlite3_stmt *st = NULL;
	int r, rc = -1;

	if (building)
		*building = NULL;
	if (db_prepare(db, "SELECT latch_building FROM property WHERE property_id = ?1", &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (r != SQLITE_ROW) {
		db_error(db, NULL);
		goto out;
	}
	if (building && *db_col_text(st, 0)) {
		*building = strdup(db_col_text(st, 0));
		if (!*building) {
			err_set("out of memory");
			goto out;
		}
	}
	rc = 1;
out:
	sqlite3_finalize(st);
	return rc;
}

int unitmap_init(struct unitmap *m, sqlite3 *db, const char *by)
{
	memset(m, 0, sizeof(*m));
	m->db = db;
	m->by = by;
	db_now(m->now, sizeof(m->now));
	if (db_prepare(db,
		       "SELECT latch_unit_id FROM unit_map WHERE property_id = ?1 AND pms_unit_id = ?2",
		       &m->get) < 0 ||
	    db_prepare(db, "SELECT property_id, pms_unit_id FROM unit_map WHERE latch_unit_id = ?1",
		       &m->owner) < 0 ||
	    db_prepare(db,
		       "SELECT property_id, pms_unit_id, latch_unit_id FROM unit_map"
		       " WHERE property_id = ?1 ORDER BY pms_unit_id",
		       &m->of_property) < 0 ||
	    db_prepare(db, "DELETE FROM unit_map WHERE property_id = ?1 AND pms_unit_id = ?2",
		       &m->del) < 0 ||
	    db_prepare(db,
		       "INSERT INTO unit_map (property_id, pms_unit_id, latch_unit_id, created_at)"
		       " VALUES (?1, ?2, ?3, ?4)",
		       &m->ins) < 0 ||
	    db_prepare(db,
		       "INSERT INTO map_history (property_id, pms_unit_id, before_latch_unit_id,"
		       " after_latch_unit_id, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		       &m->hist) < 0)
		return -1;
	return 0;
}

void unitmap_release(struct unitmap *m)
{
	sqlite3_finalize(m->get);
	sqlite3_finalize(m->owner);
	sqlite3_finalize(m->of_property);
	sqlite3_finalize(m->del);
	sqlite3_finalize(m->ins);
	sqlite3_finalize(m->hist);
	memset(m, 0, sizeof(*m));
}

/* Step a statement that returns no row, then reset it. */
static int step_done(struct unitmap *m, sqlite3_stmt *st)
{
	int r = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r != SQLITE_DONE) {
		db_error(m->db, NULL);
		return -1;
	}
	return 0;
}

/* Step ST for at most one row: copy its first N (<= 2) columns into
 * OUT (malloc'd), or NULLs when there is no row. */
static int one_row(struct unitmap *m, sqlite3_stmt *st, char **out, int n)
{
	int r, rc = -1;

	for (int i = 0; i < n; i++)
		out[i] = NULL;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		for (int i = 0; i < n; i++) {
			out[i] = strdup(db_col_text(st, i));
			if (!out[i]) {
				err_set("out of memory");
				goto out;
			}
		}
	} else if (r != SQLITE_DONE) {
		db_error(m->db, NULL);
		goto out;
	}
	rc = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc < 0)
		for (int i = 0; i < n; i++) {
			free(out[i]);
			out[i] = NULL;
		}
	return rc;
}

int unitmap_get(struct unitmap *m, const char *property, const char *pms, char **latch)
{
	sqlite3_bind_text(m->get, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->get, 2, pms, -1, SQLITE_STATIC);
	return one_row(m, m->get, latch, 1);
}

int unitmap_owner(struct unitmap *m, const char *latch, char **property, char **pms)
{
	char *row[2];
	int rc;

	sqlite3_bind_text(m->owner, 1, latch, -1, SQLITE_STATIC);
	rc = one_row(m, m->owner, row, 2);
	*property = row[0];
	*pms = row[1];
	return rc;
}

int unitmap_each(struct unitmap *m, const char *property,
		 int (*fn)(const char *property, const char *pms, const char *latch, void *ctx),
		 void *ctx)
{
	sqlite3_stmt *st = m->of_property;
	int r, rc = -1;

	sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	while ((r = db_row(st)) == 1)
		if (fn(db_col_text(st, 0), db_col_text(st, 1), db_col_text(st, 2), ctx) < 0)
			goto out;
	if (r < 0)
		goto out;
	rc = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int unitmap_detach(struct unitmap *m, const char *property, const char *pms)
{
	sqlite3_bind_text(m->del, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->del, 2, pms, -1, SQLITE_STATIC);
	return step_done(m, m->del);
}

/* Add the map_history row of (PROPERTY, PMS): BEFORE -> AFTER, either
 * NULL for unmapped. */
static int record(struct unitmap *m, const char *property, const char *pms, const char *before,
		  const char *after)
{
	sqlite3_bind_text(m->hist, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->hist, 2, pms, -1, SQLITE_STATIC);
	if (before)
		sqlite3_bind_text(m->hist, 3, before, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(m->hist, 3);
	if (after)
		sqlite3_bind_text(m->hist, 4, after, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(m->hist, 4);
	sqlite3_bind_text(m->hist, 5, m->by, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->hist, 6, m->now, -1, SQLITE_STATIC);
	return step_done(m, m->hist);
}

int unitmap_set(struct unitmap *m, const char *property, const char *pms, const char *latch,
		const char *before)
{
	if (before && unitmap_detach(m, property, pms) < 0)
		return -1;
	sqlite3_bind_text(m->ins, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->ins, 2, pms, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->ins, 3, latch, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->ins, 4, m->now, -1, SQLITE_STATIC);
	if (step_done(m, m->ins) < 0)
		return -1;
	return record(m, property, pms, before, latch);
}

int unitmap_remove(struct unitmap *m, const char *property, const char *pms, const char *before)
{
	if (unitmap_detach(m, property, pms) < 0)
		return -1;
	return record(m, property, pms, before, NULL);
}
