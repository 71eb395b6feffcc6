/*
 * unitsync-map - the unit mapping: which Latch unit each PMS unit of a
 * property is (DESIGN.md §1).  Only mapped units sync, so every change is
 * recorded in map_history with who made it and when.
 *
 * A Latch unit belongs to at most one PMS unit, across all properties
 * (UNIQUE (latch_unit_id) in lib/db.c).  Identifiers are kept exactly as
 * given: "0101" and "101" are different units.
 *
 * An import is checked whole before anything is written and applied in one
 * transaction: a file with one bad row changes nothing.
 */
#include "cli.h"
#include "csvio.h"
#include "db.h"
#include "durable.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage[] =
	"usage: unitsync map add --property P [--by NAME] PMS_UNIT LATCH_UNIT\n"
	"       unitsync map remove --property P [--by NAME] PMS_UNIT\n"
	"       unitsync map list [--property P]\n"
	"       unitsync map export [--property P] [--out FILE]\n"
	"       unitsync map import [--replace] [--by NAME] FILE\n"
	"\n"
	"Keep the PMS unit -> Latch unit mapping; only mapped units sync.\n"
	"\n"
	"  --property P             the property (list, export: only this one)\n"
	"  --by NAME                who makes the change, for the history (default $USER)\n"
	"  --out FILE               export to FILE (mode 0640) instead of standard output\n"
	"  --replace                import: also remove the mappings of the file's properties\n"
	"                           that the file leaves out\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n"
	"\n"
	"CSV (list, export, import): property_id,pms_unit_id,latch_unit_id with a header line.\n";

static const char *const csv_columns[] = { "property_id", "pms_unit_id", "latch_unit_id" };
#define N_COLUMNS 3

/* Import problems kept for the report; the rest are only counted. */
#define MAX_PROBLEMS 20

/* The statements every verb shares, prepared once. */
struct mapdb {
	sqlite3 *db;               /* the state database, not owned */
	sqlite3_stmt *property;    /* does a property exist */
	sqlite3_stmt *get;         /* the Latch unit of (property, PMS unit) */
	sqlite3_stmt *by_latch;    /* the (property, PMS unit) of a Latch unit */
	sqlite3_stmt *of_property; /* every mapping of a property */
	sqlite3_stmt *del;         /* remove one mapping */
	sqlite3_stmt *ins;         /* add one mapping */
	sqlite3_stmt *hist;        /* record one change */
	const char *by;            /* changed_by: --by, $USER or "unknown" */
	char now[32];              /* changed_at and created_at of this run */
};

/* What an import row does to the mapping. */
enum row_state {
	ROW_ADD,       /* PMS unit not mapped yet */
	ROW_CHANGE,    /* mapped to another Latch unit: old_latch */
	ROW_SAME,      /* already mapped so */
	ROW_DUPLICATE, /* the same mapping on an earlier line: ignored */
};

/* One data row of an import file. */
struct map_row {
	char *property;  /* owned */
	char *pms;       /* owned */
	char *latch;     /* owned */
	char *old_latch; /* ROW_CHANGE: the Latch unit before, owned */
	long line;       /* physical line the record starts on */
	enum row_state state;
};

/* A mapping that --replace removes. */
struct removal {
	char *property; /* owned */
	char *pms;      /* owned */
	char *latch;    /* owned */
};

/* One reason an import is rejected. */
struct problem {
	long line; /* the first line it names, to report in file order */
	char *msg; /* "'FILE' line N: ...", owned; NULL when out of memory */
};

struct import {
	const char *name;   /* the file, for messages */
	int col[N_COLUMNS]; /* field index of each column; -1 before the header */
	int have_header;
	struct map_row *rows; /* owned array */
	size_t n, cap;
	struct map_row **by_key; /* rows sorted by property, PMS unit, line; owned array */
	struct removal *rm;      /* owned array */
	size_t n_rm, cap_rm;
	struct problem problems[MAX_PROBLEMS]; /* the first found */
	size_t n_problems;                     /* all problems, also those not kept */
};

/* The exit code for a failed database call: busy means rerun later. */
static int db_fail(sqlite3 *db)
{
	int e = sqlite3_errcode(db);

	log_error("%s", err_msg());
	return e == SQLITE_BUSY || e == SQLITE_LOCKED ? US_EXIT_TEMPFAIL : US_EXIT_CONFIG;
}

/* Identifiers are TEXT: any non-empty string without control characters. */
static int id_valid(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int mapdb_init(struct mapdb *m, sqlite3 *db, const char *by)
{
	memset(m, 0, sizeof(*m));
	m->db = db;
	m->by = by;
	db_now(m->now, sizeof(m->now));
	if (db_prepare(db, "SELECT 1 FROM property WHERE property_id = ?1", &m->property) < 0 ||
	    db_prepare(db,
		       "SELECT latch_unit_id FROM unit_map"
		       " WHERE property_id = ?1 AND pms_unit_id = ?2",
		       &m->get) < 0 ||
	    db_prepare(db, "SELECT property_id, pms_unit_id FROM unit_map WHERE latch_unit_id = ?1",
		       &m->by_latch) < 0 ||
	    db_prepare(db,
		       "SELECT pms_unit_id, latch_unit_id FROM unit_map WHERE property_id = ?1"
		       " ORDER BY pms_unit_id",
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

static void mapdb_release(struct mapdb *m)
{
	sqlite3_finalize(m->property);
	sqlite3_finalize(m->get);
	sqlite3_finalize(m->by_latch);
	sqlite3_finalize(m->of_property);
	sqlite3_finalize(m->del);
	sqlite3_finalize(m->ins);
	sqlite3_finalize(m->hist);
	memset(m, 0, sizeof(*m));
}

/* Step a statement that returns no row, then reset it. */
static int step_done(struct mapdb *m, sqlite3_stmt *st)
{
	int r = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(m->db));
		return -1;
	}
	return 0;
}

/* Does property P exist?  1 yes, 0 no, -1 database error. */
static int mapdb_property(struct mapdb *m, const char *p)
{
	int r;

	sqlite3_bind_text(m->property, 1, p, -1, SQLITE_STATIC);
	r = sqlite3_step(m->property);
	sqlite3_reset(m->property);
	if (r != SQLITE_ROW && r != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(m->db));
		return -1;
	}
	return r == SQLITE_ROW;
}

/* The Latch unit (P, PMS) maps to into *LATCH (owned, NULL when unmapped). */
static int mapdb_get(struct mapdb *m, const char *p, const char *pms, char **latch)
{
	int r, rc = 0;

	*latch = NULL;
	sqlite3_bind_text(m->get, 1, p, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->get, 2, pms, -1, SQLITE_STATIC);
	r = sqlite3_step(m->get);
	if (r == SQLITE_ROW) {
		*latch = strdup(db_col_text(m->get, 0));
		if (!*latch) {
			err_set("out of memory");
			rc = -1;
		}
	} else if (r != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(m->db));
		rc = -1;
	}
	sqlite3_reset(m->get);
	return rc;
}

/* Who maps onto LATCH: *P and *PMS owned, NULL when nobody. */
static int mapdb_by_latch(struct mapdb *m, const char *latch, char **p, char **pms)
{
	int r, rc = 0;

	*p = *pms = NULL;
	sqlite3_bind_text(m->by_latch, 1, latch, -1, SQLITE_STATIC);
	r = sqlite3_step(m->by_latch);
	if (r == SQLITE_ROW) {
		*p = strdup(db_col_text(m->by_latch, 0));
		*pms = strdup(db_col_text(m->by_latch, 1));
		if (!*p || !*pms) {
			err_set("out of memory");
			rc = -1;
		}
	} else if (r != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(m->db));
		rc = -1;
	}
	sqlite3_reset(m->by_latch);
	if (rc < 0) {
		free(*p);
		free(*pms);
		*p = *pms = NULL;
	}
	return rc;
}

/* Remove (P, PMS), which mapped to BEFORE; HISTORY: record it. */
static int mapdb_delete(struct mapdb *m, const char *p, const char *pms, const char *before,
			int history)
{
	sqlite3_bind_text(m->del, 1, p, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->del, 2, pms, -1, SQLITE_STATIC);
	if (step_done(m, m->del) < 0)
		return -1;
	if (!history)
		return 0;
	sqlite3_bind_text(m->hist, 1, p, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->hist, 2, pms, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->hist, 3, before, -1, SQLITE_STATIC);
	sqlite3_bind_null(m->hist, 4);
	sqlite3_bind_text(m->hist, 5, m->by, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->hist, 6, m->now, -1, SQLITE_STATIC);
	return step_done(m, m->hist);
}

/*
 * Map (P, PMS) to LATCH, where it mapped to BEFORE (NULL: unmapped, else
 * already deleted): a changed mapping is a new pairing, so created_at is
 * now.
 */
static int mapdb_insert(struct mapdb *m, const char *p, const char *pms, const char *latch,
			const char *before)
{
	sqlite3_bind_text(m->ins, 1, p, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->ins, 2, pms, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->ins, 3, latch, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->ins, 4, m->now, -1, SQLITE_STATIC);
	if (step_done(m, m->ins) < 0)
		return -1;
	sqlite3_bind_text(m->hist, 1, p, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->hist, 2, pms, -1, SQLITE_STATIC);
	if (before)
		sqlite3_bind_text(m->hist, 3, before, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(m->hist, 3);
	sqlite3_bind_text(m->hist, 4, latch, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->hist, 5, m->by, -1, SQLITE_STATIC);
	sqlite3_bind_text(m->hist, 6, m->now, -1, SQLITE_STATIC);
	return step_done(m, m->hist);
}

/* Unknown property: exit 65 naming the fix; 0 when it exists. */
static int require_property(struct mapdb *m, const char *p)
{
	int e = mapdb_property(m, p);

	if (e < 0)
		return db_fail(m->db);
	if (!e) {
		log_error("unknown property '%s' (add it with 'unitsync property add')", p);
		return US_EXIT_DATAERR;
	}
	return US_EXIT_OK;
}

static int map_add(struct mapdb *m, const char *p, const char *pms, const char *latch)
{
	char *old = NULL, *other_p = NULL, *other_pms = NULL;
	int rc;

	if (db_exec(m->db, "BEGIN IMMEDIATE") < 0)
		return db_fail(m->db);
	rc = require_property(m, p);
	if (rc != US_EXIT_OK)
		goto rollback;
	if (mapdb_get(m, p, pms, &old) < 0 || mapdb_by_latch(m, latch, &other_p, &other_pms) < 0)
		goto fail;
	if (other_p && (strcmp(other_p, p) || strcmp(other_pms, pms))) {
		log_error("Latch unit '%s' is already mapped from PMS unit '%s' of property '%s'; "
			  "cannot also map PMS unit '%s' of property '%s' to it (remove the other "
			  "mapping first)",
			  latch, other_pms, other_p, pms, p);
		rc = US_EXIT_DATAERR;
		goto rollback;
	}
	if (old && !strcmp(old, latch)) {
		db_exec(m->db, "ROLLBACK");
		printf("property '%s': PMS unit '%s' -> Latch unit '%s' (unchanged)\n", p, pms,
		       latch);
		rc = US_EXIT_OK;
		goto out;
	}
	if ((old && mapdb_delete(m, p, pms, old, 0) < 0) ||
	    mapdb_insert(m, p, pms, latch, old) < 0 || db_exec(m->db, "COMMIT") < 0)
		goto fail;
	if (old)
		printf("property '%s': PMS unit '%s' -> Latch unit '%s' (changed from '%s')\n", p,
		       pms, latch, old);
	else
		printf("property '%s': PMS unit '%s' -> Latch unit '%s' (added)\n", p, pms, latch);
	rc = US_EXIT_OK;
	goto out;
fail:
	err_prefix("cannot map PMS unit '%s' of property '%s'", pms, p);
	rc = db_fail(m->db);
rollback:
	db_exec(m->db, "ROLLBACK");
out:
	free(old);
	free(other_p);
	free(other_pms);
	return rc;
}

static int map_remove(struct mapdb *m, const char *p, const char *pms)
{
	char *old = NULL;
	int rc;

	if (db_exec(m->db, "BEGIN IMMEDIATE") < 0)
		return db_fail(m->db);
	rc = require_property(m, p);
	if (rc != US_EXIT_OK)
		goto rollback;
	if (mapdb_get(m, p, pms, &old) < 0)
		goto fail;
	if (!old) {
		log_error("PMS unit '%s' of property '%s' is not mapped", pms, p);
		rc = US_EXIT_DATAERR;
		goto rollback;
	}
	if (mapdb_delete(m, p, pms, old, 1) < 0 || db_exec(m->db, "COMMIT") < 0)
		goto fail;
	printf("property '%s': PMS unit '%s' unmapped (was Latch unit '%s')\n", p, pms, old);
	rc = US_EXIT_OK;
	goto out;
fail:
	err_prefix("cannot unmap PMS unit '%s' of property '%s'", pms, p);
	rc = db_fail(m->db);
rollback:
	db_exec(m->db, "ROLLBACK");
out:
	free(old);
	return rc;
}

/* The mapping as CSV on FP, of property P or of all (P NULL). */
static int write_csv(sqlite3 *db, const char *p, FILE *fp, long *rows)
{
	sqlite3_stmt *st = NULL;
	int r, rc = -1;

	*rows = 0;
	if (db_prepare(db,
		       "SELECT property_id, pms_unit_id, latch_unit_id FROM unit_map"
		       " WHERE ?1 IS NULL OR property_id = ?1 ORDER BY property_id, pms_unit_id",
		       &st) < 0)
		return -1;
	if (p)
		sqlite3_bind_text(st, 1, p, -1, SQLITE_STATIC);
	csvio_write_row(fp, csv_columns, N_COLUMNS);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *f[N_COLUMNS];

		for (int i = 0; i < N_COLUMNS; i++)
			f[i] = db_col_text(st, i);
		csvio_write_row(fp, f, N_COLUMNS);
		(*rows)++;
	}
	if (r != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* list, and export to standard output or (OUT) a file written whole. */
static int map_export(struct mapdb *m, const char *p, const char *out)
{
	struct dur_file f = { 0 };
	long rows;
	int rc;

	if (p && (rc = require_property(m, p)) != US_EXIT_OK)
		return rc;
	if (!out || !strcmp(out, "-")) {
		if (write_csv(m->db, p, stdout, &rows) < 0)
			return db_fail(m->db);
		return US_EXIT_OK;
	}
	if (dur_open(&f, out, 0640) < 0) {
		log_error("%s", err_msg());
		return US_EXIT_CONFIG;
	}
	if (write_csv(m->db, p, f.fp, &rows) < 0) {
		dur_abort(&f);
		return db_fail(m->db);
	}
	if (ferror(f.fp)) {
		log_error("cannot write '%s': %s", out, strerror(errno));
		dur_abort(&f);
		return US_EXIT_CONFIG;
	}
	if (dur_commit(&f) < 0) {
		log_error("%s", err_msg());
		return US_EXIT_CONFIG;
	}
	log_info("%ld mapping%s written to '%s'", rows, rows == 1 ? "" : "s", out);
	return US_EXIT_OK;
}

/* Record an import problem "'FILE' line N: ..." (printf-style) found at LINE. */
static void problem(struct import *im, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct import *im, long line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (im->n_problems < MAX_PROBLEMS) {
		im->problems[im->n_problems].line = line;
		im->problems[im->n_problems].msg = strdup(msg);
	}
	im->n_problems++;
}

static void import_release(struct import *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->rows[i].property);
		free(im->rows[i].pms);
		free(im->rows[i].latch);
		free(im->rows[i].old_latch);
	}
	free(im->rows);
	free(im->by_key);
	for (size_t i = 0; i < im->n_rm; i++) {
		free(im->rm[i].property);
		free(im->rm[i].pms);
		free(im->rm[i].latch);
	}
	free(im->rm);
	for (size_t i = 0; i < im->n_problems && i < MAX_PROBLEMS; i++)
		free(im->problems[i].msg);
}

/* Is header field S column NAME?  Case and surrounding blanks ignored. */
static int header_is(const char *s, const char *name)
{
	size_t n = strlen(name);

	while (*s == ' ' || *s == '\t')
		s++;
	if (strncasecmp(s, name, n))
		return 0;
	for (s += n; *s == ' ' || *s == '\t'; s++)
		;
	return *s == '\0';
}

static int read_header(const struct csvio_row *row, struct import *im)
{
	for (int k = 0; k < N_COLUMNS; k++)
		im->col[k] = -1;
	for (size_t i = 0; i < row->n; i++)
		for (int k = 0; k < N_COLUMNS; k++) {
			if (!header_is(row->fields[i], csv_columns[k]))
				continue;
			if (im->col[k] >= 0) {
				err_set("'%s' line %ld: column %s appears twice", im->name,
					row->line, csv_columns[k]);
				return -1;
			}
			im->col[k] = (int)i;
		}
	for (int k = 0; k < N_COLUMNS; k++)
		if (im->col[k] < 0) {
			err_set("'%s' line %ld: no %s column (the header must name property_id, "
				"pms_unit_id and latch_unit_id)",
				im->name, row->line, csv_columns[k]);
			return -1;
		}
	im->have_header = 1;
	return 0;
}

/* csvio_read() callback: the header, then one mapping per record. */
static int on_row(const struct csvio_row *row, void *ctx)
{
	struct import *im = ctx;
	const char *f[N_COLUMNS];
	struct map_row *r;

	if (!im->have_header)
		return read_header(row, im);
	for (int k = 0; k < N_COLUMNS; k++) {
		size_t i = (size_t)im->col[k];

		if (i >= row->n) {
			problem(im, row->line, "'%s' line %ld: missing %s", im->name, row->line,
				csv_columns[k]);
			return 0;
		}
		f[k] = row->fields[i];
		if (!*f[k]) {
			problem(im, row->line, "'%s' line %ld: empty %s", im->name, row->line,
				csv_columns[k]);
			return 0;
		}
		if (strlen(f[k]) != row->lens[i] || !id_valid(f[k])) {
			problem(im, row->line, "'%s' line %ld: control character in %s", im->name,
				row->line, csv_columns[k]);
			return 0;
		}
	}
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 64;
		struct map_row *nr = realloc(im->rows, cap * sizeof(*nr));

		if (!nr) {
			err_set("out of memory");
			return -1;
		}
		im->rows = nr;
		im->cap = cap;
	}
	r = &im->rows[im->n];
	memset(r, 0, sizeof(*r));
	r->line = row->line;
	r->property = strdup(f[0]);
	r->pms = strdup(f[1]);
	r->latch = strdup(f[2]);
	im->n++;
	if (!r->property || !r->pms || !r->latch) {
		err_set("out of memory");
		return -1;
	}
	return 0;
}

static int cmp_key(const struct map_row *a, const char *property, const char *pms)
{
	int c = strcmp(a->property, property);

	return c ? c : strcmp(a->pms, pms);
}

static int cmp_by_key(const void *va, const void *vb)
{
	const struct map_row *a = *(struct map_row *const *)va, *b = *(struct map_row *const *)vb;
	int c = cmp_key(a, b->property, b->pms);

	return c ? c : (a->line > b->line) - (a->line < b->line);
}

static int cmp_by_latch(const void *va, const void *vb)
{
	const struct map_row *a = *(struct map_row *const *)va, *b = *(struct map_row *const *)vb;
	int c = strcmp(a->latch, b->latch);

	return c ? c : (a->line > b->line) - (a->line < b->line);
}

/* Does the file name (P, PMS)?  Binary search of im->by_key. */
static int in_file(const struct import *im, const char *p, const char *pms)
{
	size_t lo = 0, hi = im->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(im->by_key[mid], p, pms);

		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * Checks that need only the file: one Latch unit per PMS unit, one PMS
 * unit per Latch unit.  A mapping repeated as it is is harmless.
 */
static int check_file(struct import *im)
{
	struct map_row **by_latch;
	size_t n = 0;

	im->by_key = malloc((im->n ? im->n : 1) * sizeof(*im->by_key));
	by_latch = malloc((im->n ? im->n : 1) * sizeof(*by_latch));
	if (!im->by_key || !by_latch) {
		free(by_latch);
		err_set("out of memory");
		return -1;
	}
	for (size_t i = 0; i < im->n; i++)
		im->by_key[i] = &im->rows[i];
	qsort(im->by_key, im->n, sizeof(*im->by_key), cmp_by_key);
	for (size_t i = 0, first = 0; i < im->n; i++) {
		struct map_row *a = im->by_key[first], *b = im->by_key[i];

		if (i == 0 || cmp_key(a, b->property, b->pms)) {
			first = i;
			by_latch[n++] = b;
			continue;
		}
		b->state = ROW_DUPLICATE;
		if (strcmp(a->latch, b->latch))
			problem(im, a->line,
				"'%s' lines %ld and %ld: PMS unit '%s' of property '%s' is mapped to "
				"two Latch units ('%s' and '%s')",
				im->name, a->line, b->line, a->pms, a->property, a->latch,
				b->latch);
	}
	qsort(by_latch, n, sizeof(*by_latch), cmp_by_latch);
	for (size_t i = 1; i < n; i++) {
		struct map_row *a = by_latch[i - 1], *b = by_latch[i];

		if (!strcmp(a->latch, b->latch))
			problem(im, a->line,
				"'%s' lines %ld and %ld: Latch unit '%s' is mapped from two PMS "
				"units ('%s' of property '%s' and '%s' of property '%s')",
				im->name, a->line, b->line, a->latch, a->pms, a->property, b->pms,
				b->property);
	}
	free(by_latch);
	return 0;
}

/* Remember that --replace removes (P, PMS) -> LATCH. */
static int add_removal(struct import *im, const char *p, const char *pms, const char *latch)
{
	struct removal *r;

	if (im->n_rm == im->cap_rm) {
		size_t cap = im->cap_rm ? im->cap_rm * 2 : 16;
		struct removal *nr = realloc(im->rm, cap * sizeof(*nr));

		if (!nr)
			goto oom;
		im->rm = nr;
		im->cap_rm = cap;
	}
	r = &im->rm[im->n_rm];
	r->property = strdup(p);
	r->pms = strdup(pms);
	r->latch = strdup(latch);
	im->n_rm++;
	if (!r->property || !r->pms || !r->latch)
		goto oom;
	return 0;
oom:
	err_set("out of memory");
	return -1;
}

/*
 * Checks against the database, inside the import's transaction: known
 * properties, and Latch units that stay mapped from a PMS unit the file
 * does not remap.  Classifies each row and, with REPLACE, lists removals.
 * Returns -1 on a database error only.
 */
static int check_db(struct import *im, struct mapdb *m, int replace)
{
	char *other_p = NULL, *other_pms = NULL;
	int rc = -1;

	/* properties: by_key holds each property's rows together */
	for (size_t i = 0; i < im->n;) {
		const char *p = im->by_key[i]->property;
		long first_line = im->by_key[i]->line;
		size_t j = i, rows = 0;
		int e = mapdb_property(m, p);

		if (e < 0)
			goto out;
		for (; j < im->n && !strcmp(im->by_key[j]->property, p); j++) {
			rows++;
			if (im->by_key[j]->line < first_line)
				first_line = im->by_key[j]->line;
		}
		if (!e) {
			if (rows > 1)
				problem(im, first_line,
					"'%s' line %ld: unknown property '%s' (add it with 'unitsync "
					"property add'); %zu rows name it",
					im->name, first_line, p, rows);
			else
				problem(im, first_line,
					"'%s' line %ld: unknown property '%s' (add it with 'unitsync "
					"property add')",
					im->name, first_line, p);
		} else if (replace) {
			sqlite3_bind_text(m->of_property, 1, p, -1, SQLITE_STATIC);
			while ((e = sqlite3_step(m->of_property)) == SQLITE_ROW) {
				const char *pms = db_col_text(m->of_property, 0);

				if (!in_file(im, p, pms) &&
				    add_removal(im, p, pms, db_col_text(m->of_property, 1)) < 0)
					break;
			}
			sqlite3_reset(m->of_property);
			if (e == SQLITE_ROW)
				goto out;
			if (e != SQLITE_DONE) {
				err_set("database: %s", sqlite3_errmsg(m->db));
				goto out;
			}
		}
		i = j;
	}
	for (size_t i = 0; i < im->n; i++) {
		struct map_row *r = &im->rows[i];

		if (r->state == ROW_DUPLICATE)
			continue;
		if (mapdb_get(m, r->property, r->pms, &r->old_latch) < 0)
			goto out;
		if (!r->old_latch)
			r->state = ROW_ADD;
		else
			r->state = strcmp(r->old_latch, r->latch) ? ROW_CHANGE : ROW_SAME;
		if (r->state == ROW_SAME)
			continue;
		if (mapdb_by_latch(m, r->latch, &other_p, &other_pms) < 0)
			goto out;
		/* the other PMS unit keeps it unless the file remaps or --replace drops it */
		if (other_p && !in_file(im, other_p, other_pms)) {
			int dropped = 0;

			for (size_t k = 0; replace && k < im->n_rm && !dropped; k++)
				dropped = !strcmp(im->rm[k].property, other_p) &&
					  !strcmp(im->rm[k].pms, other_pms);
			if (!dropped)
				problem(im, r->line,
					"'%s' line %ld: Latch unit '%s' is already mapped from PMS unit "
					"'%s' of property '%s'",
					im->name, r->line, r->latch, other_pms, other_p);
		}
		free(other_p);
		free(other_pms);
		other_p = other_pms = NULL;
	}
	rc = 0;
out:
	free(other_p);
	free(other_pms);
	return rc;
}

/* Apply a checked import: removals and moves first, so that swapping two
 * Latch units never trips UNIQUE (latch_unit_id) half-way. */
static int apply_import(struct import *im, struct mapdb *m, long count[4])
{
	for (size_t i = 0; i < im->n_rm; i++)
		if (mapdb_delete(m, im->rm[i].property, im->rm[i].pms, im->rm[i].latch, 1) < 0)
			return -1;
	for (size_t i = 0; i < im->n; i++)
		if (im->rows[i].state == ROW_CHANGE &&
		    mapdb_delete(m, im->rows[i].property, im->rows[i].pms, NULL, 0) < 0)
			return -1;
	for (size_t i = 0; i < im->n; i++) {
		struct map_row *r = &im->rows[i];

		if ((r->state == ROW_ADD || r->state == ROW_CHANGE) &&
		    mapdb_insert(m, r->property, r->pms, r->latch, r->old_latch) < 0)
			return -1;
		if (r->state != ROW_DUPLICATE)
			count[r->state]++;
	}
	return 0;
}

static int cmp_problem(const void *va, const void *vb)
{
	const struct problem *a = va, *b = vb;

	return (a->line > b->line) - (a->line < b->line);
}

static int map_import(struct mapdb *m, const char *path, int replace)
{
	struct import im = { .name = path };
	long count[4] = { 0 }; /* by enum row_state */
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
	int rc = US_EXIT_DATAERR, in_tx = 0;

	if (!fp) {
		log_error("cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	if (csvio_read(fp, path, on_row, &im) < 0) {
		log_error("%s; nothing imported", err_msg());
		goto out;
	}
	if (!im.have_header) {
		log_error("'%s' is empty (expected the header property_id,pms_unit_id,latch_unit_id)",
			  path);
		goto out;
	}
	if (check_file(&im) < 0)
		goto fail;
	if (db_exec(m->db, "BEGIN IMMEDIATE") < 0)
		goto fail;
	in_tx = 1;
	if (check_db(&im, m, replace) < 0)
		goto fail;
	if (im.n_problems) {
		size_t kept = im.n_problems < MAX_PROBLEMS ? im.n_problems : MAX_PROBLEMS;

		qsort(im.problems, kept, sizeof(im.problems[0]), cmp_problem);
		for (size_t i = 0; i < kept; i++)
			log_error("%s", im.problems[i].msg ? im.problems[i].msg : "out of memory");
		if (im.n_problems > MAX_PROBLEMS)
			log_error("... and %zu more problems", im.n_problems - MAX_PROBLEMS);
		log_error("'%s' rejected: %zu problem%s, nothing imported", path, im.n_problems,
			  im.n_problems == 1 ? "" : "s");
		goto out;
	}
	if (apply_import(&im, m, count) < 0 || db_exec(m->db, "COMMIT") < 0)
		goto fail;
	in_tx = 0;
	printf("%ld added, %ld changed, %zu removed, %ld unchanged\n", count[ROW_ADD],
	       count[ROW_CHANGE], im.n_rm, count[ROW_SAME]);
	rc = US_EXIT_OK;
	goto out;
fail:
	err_prefix("cannot import '%s'", path);
	rc = db_fail(m->db);
out:
	if (in_tx)
		db_exec(m->db, "ROLLBACK");
	if (fp && fp != stdin)
		fclose(fp);
	import_release(&im);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "by", required_argument, NULL, 'b' },
		{ "out", required_argument, NULL, 'o' },
		{ "replace", no_argument, NULL, 'r' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct mapdb m = { 0 };
	const char *property = NULL, *by = NULL, *out = NULL, *verb;
	int replace = 0, want, nargs;
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-map", usage);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int c;

		switch (opt) {
		case 'p':
			property = optarg;
			break;
		case 'b':
			by = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'r':
			replace = 1;
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				rc = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	if (optind >= argc) {
		cli_usage_error(&cli, "no command given (add, remove, list, import or export)");
		goto out;
	}
	verb = argv[optind++];
	nargs = argc - optind;
	if (!strcmp(verb, "add"))
		want = 2;
	else if (!strcmp(verb, "remove") || !strcmp(verb, "import"))
		want = 1;
	else if (!strcmp(verb, "list") || !strcmp(verb, "export"))
		want = 0;
	else {
		cli_usage_error(&cli,
				"unknown command '%s' (expected add, remove, list, import or export)",
				verb);
		goto out;
	}
	if (nargs != want) {
		if (nargs > want)
			cli_usage_error(&cli, "unexpected argument '%s'", argv[optind + want]);
		else
			cli_usage_error(&cli, "%s needs %s", verb,
					!strcmp(verb, "add")      ? "PMS_UNIT and LATCH_UNIT"
					: !strcmp(verb, "remove") ? "PMS_UNIT"
								  : "FILE");
		goto out;
	}
	if ((!strcmp(verb, "add") || !strcmp(verb, "remove")) && !property) {
		cli_usage_error(&cli, "%s needs --property", verb);
		goto out;
	}
	if (property && !strcmp(verb, "import")) {
		cli_usage_error(&cli, "import takes the properties from the file, not --property");
		goto out;
	}
	if (out && strcmp(verb, "export")) {
		cli_usage_error(&cli, "--out goes with export only");
		goto out;
	}
	if (replace && strcmp(verb, "import")) {
		cli_usage_error(&cli, "--replace goes with import only");
		goto out;
	}
	if (by && (!strcmp(verb, "list") || !strcmp(verb, "export"))) {
		cli_usage_error(&cli, "--by goes with add, remove and import only");
		goto out;
	}
	if (by && !id_valid(by)) {
		cli_usage_error(&cli, "--by needs a name without control characters");
		goto out;
	}
	if (property && !id_valid(property)) {
		cli_usage_error(&cli, "bad property ID '%s' (empty, or holds control characters)",
				property);
		goto out;
	}
	if (strcmp(verb, "import"))
		for (int i = optind; i < argc; i++)
			if (!id_valid(argv[i])) {
				cli_usage_error(&cli,
						"bad unit ID '%s' (empty, or holds control characters)",
						argv[i]);
				goto out;
			}
	if (!by) {
		by = getenv("USER");
		if (!by || !*by)
			by = "unknown";
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	if (mapdb_init(&m, db, by) < 0) {
		rc = db_fail(db);
		goto out;
	}
	if (!strcmp(verb, "add"))
		rc = map_add(&m, property, argv[optind], argv[optind + 1]);
	else if (!strcmp(verb, "remove"))
		rc = map_remove(&m, property, argv[optind]);
	else if (!strcmp(verb, "import"))
		rc = map_import(&m, argv[optind], replace);
	else
		rc = map_export(&m, property, out);
out:
	mapdb_release(&m);
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
