/*
 * unitsync-map - the unit mapping: which Latch unit each PMS unit of a
 * property is (docs/ARCHITECTURE.md §1).  Only mapped units sync, so every change is
 * recorded in map_history with who made it and when.
 *
 * A Latch unit belongs to at most one PMS unit, across all properties
 * (UNIQUE (latch_unit_id) in lib/db.c).  Identifiers are kept exactly as
 * given: "0101" and "101" are different units.
 *
 * An import is checked whole before anything is written and applied in one
 * transaction: a file with one bad row changes nothing.
 *
 * history reads map_history back: who changed which unit, when, from
 * what to what (issue 19: why a resident got nothing on a night).
 *
 * Every verb reads and changes the mapping through lib/unitmap.h, as
 * `unitsync units` does, so both keep the same rules and history.
 *
 * suggest and unmapped help people keep the mapping: suggest proposes
 * pairs of unmapped PMS and Latch units by name (the rules and their
 * confidences are lib/unitname.h's) and, with --apply, maps only the
 * unambiguous exact and normalized ones; unmapped lists the PMS units
 * whose residents get nothing for want of a mapping, and the Latch units
 * no PMS unit maps to.  Both read the building's units from the Latch
 * API (lib/latchunits.h) and the property's PMS units from staging
 * (lib/unitmap.h).
 */
#include "cli.h"
#include "config.h"
#include "csvio.h"
#include "db.h"
#include "durable.h"
#include "err.h"
#include "exitcode.h"
#include "latch.h"
#include "latchunits.h"
#include "log.h"
#include "stg.h"
#include "unitmap.h"
#include "unitname.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage[] =
	"usage: unitsync map add --property P [--by NAME] [--offline] PMS_UNIT LATCH_UNIT\n"
	"       unitsync map remove --property P [--by NAME] PMS_UNIT\n"
	"       unitsync map list [--property P]\n"
	"       unitsync map export [--property P] [--out FILE]\n"
	"       unitsync map import [--replace] [--by NAME] [--offline] FILE\n"
	"       unitsync map suggest --property P [--apply] [--by NAME]\n"
	"       unitsync map unmapped --property P\n"
	"       unitsync map history [--property P] [--unit U]\n"
	"\n"
	"Keep the PMS unit -> Latch unit mapping; only mapped units sync.\n"
	"\n"
	"  --property P             the property (list, export, history: only this one)\n"
	"  --unit U                 history: only PMS unit U\n"
	"  --by NAME                who makes the change, for the history (default: the account running it)\n"
	"  --out FILE               export to FILE (mode 0640) instead of standard output\n"
	"  --replace                import: also remove the mappings of the file's properties\n"
	"                           that the file leaves out\n"
	"  --apply                  suggest: map the unambiguous exact and normalized matches\n"
	"  --offline                add, import: do not ask Latch whether the Latch units exist\n"
	"                           in the property's building (by default one listing of it)\n"
	"  --config FILE            configuration file with the [latch] settings (add, import,\n"
	"                           suggest, unmapped; default $UNITSYNC_CONFIG)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n"
	"\n"
	"CSV (list, export, import): property_id,pms_unit_id,latch_unit_id with a header line.\n"
	"CSV (suggest): property_id,pms_unit_id,latch_unit_id,latch_unit_name,confidence,rule.\n"
	"CSV (history): changed_at,changed_by,property_id,pms_unit_id,before_latch_unit_id,\n"
	"after_latch_unit_id, oldest first; an empty Latch unit: not mapped.\n";

static const char *const csv_columns[] = { "property_id", "pms_unit_id", "latch_unit_id" };
#define N_COLUMNS 3

/* Import problems kept for the report; the rest are only counted. */
#define MAX_PROBLEMS 20

/* What an import row does to the mapping. */
enum row_state {
	ROW_ADD,       /* PMS unit not mapped yet */
	ROW_CHANGE,    /* mapped to another Latch unit: old_latch */
	ROW_SAME,      /* already mapped so */
	ROW_DUPLICATE, /* the same mapping on an earlier line: ignored */
};

/* One data row of an import file. */
struct map_row {
	char *property;     /* owned */
	char *pms;          /* owned */
	char *latch;        /* owned */
	char *old_latch;    /* ROW_CHANGE: the Latch unit before, owned */
	char *raw_property; /* property_id as written, before trimming, owned */
	char *raw_pms;      /* pms_unit_id as written, before trimming, owned */
	long line;          /* physical line the record starts on */
	enum row_state state;
	long bld; /* index of its property's building in import.blds; -1: not checked */
};

/* A mapping that --replace removes. */
struct removal {
	char *property; /* owned */
	char *pms;      /* owned */
	char *latch;    /* owned */
};

/* The units of one Latch building, listed once for a whole command. */
struct bld {
	char *id;               /* the building's uuid, owned */
	struct latchunits have; /* its units, owned */
	const char **uuids;     /* their uuids, sorted (bytes) for bsearch; owned array */
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
	struct bld *blds;                      /* the buildings of the file's properties; owned */
	size_t n_blds;
};

/* The exit code for a failed database call: busy means rerun later. */
static int db_fail(sqlite3 *db)
{
	log_error("%s", err_msg());
	return db_exit_code(db);
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

/*
 * Does property P exist?  An exit code: US_EXIT_OK when it does, with its
 * Latch building in *BUILDING (NULL when unset) when BUILDING is not NULL;
 * else 65 naming the fix, or the code for a database error.
 */
static int require_property(struct unitmap *m, const char *p, char **building)
{
	int e = unitmap_property(m->db, p, building);

	if (e < 0)
		return db_fail(m->db);
	if (!e) {
		if (stg_property_unknown(m->db, p) == -1)
			return db_fail(m->db);
		log_error("%s", err_msg());
		return US_EXIT_DATAERR;
	}
	return US_EXIT_OK;
}

/*
 * Begin the transaction of add or remove and check that property P
 * exists: US_EXIT_OK inside the transaction, else the exit code (logged)
 * and no transaction.
 */
static int begin_change(struct unitmap *m, const char *p)
{
	int rc;

	if (db_begin(m->db) < 0)
		return db_fail(m->db);
	rc = require_property(m, p, NULL);
	if (rc != US_EXIT_OK)
		db_rollback(m->db);
	return rc;
}

/* Log a failed Latch API call (err_msg()), with the fix where there is
 * one; the exit code is latchunits_exit_code()'s. */
static int api_fail(enum latchunits_status st, const char *building)
{
	if (st == LATCHUNITS_AUTH)
		log_error("%s (check the [latch] client_id and secret)", err_msg());
	else if (st == LATCHUNITS_NOT_FOUND)
		log_error("%s: Latch has no building '%s' (see 'unitsync property show')",
			  err_msg(), building);
	else if (latchunits_exit_code(st) == US_EXIT_TEMPFAIL)
		log_error("%s; rerun later", err_msg());
	else
		log_error("%s", err_msg());
	return latchunits_exit_code(st);
}

/*
 * Every unit of BUILDING into HAVE, through the Latch API of the loaded
 * configuration CFG (one paged listing, lib/latchunits.h): an exit code,
 * logged when it is not US_EXIT_OK.
 */
static int list_building(struct config *cfg, const char *building, struct latchunits *have)
{
	struct latch api = { 0 };
	enum latchunits_status st;

	if (config_require_latch(cfg) < 0 || latch_init(&api, cfg) < 0) {
		log_error("%s", err_msg());
		return US_EXIT_CONFIG;
	}
	st = latchunits_list(&api, building, have);
	latch_release(&api);
	return st == LATCHUNITS_OK ? US_EXIT_OK : api_fail(st, building);
}

/*
 * Property P's Latch building into *BUILDING (malloc'd): an exit code,
 * logged; 78 when P has none, since the Latch units of a mapping are
 * checked against it (unless --offline).
 */
static int require_building(struct unitmap *m, const char *p, char **building)
{
	int rc = require_property(m, p, building);

	if (rc != US_EXIT_OK)
		return rc;
	if (!*building) {
		log_error("property '%s' has no Latch building to check its Latch units against (set "
			  "it with 'unitsync property set %s --latch-building UUID', or give --offline "
			  "to map without asking Latch)",
			  p, p);
		return US_EXIT_CONFIG;
	}
	return US_EXIT_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Does building B have a unit UUID?  bsearch of its sorted uuids. */
static int bld_has(const struct bld *b, const char *uuid)
{
	return b->have.n && bsearch(&uuid, b->uuids, b->have.n, sizeof(*b->uuids), cmp_str);
}

/*
 * List BUILDING's units (one paged listing) into B, with their sorted
 * uuids, through the loaded configuration CFG.  An exit code, logged.
 */
static int bld_list(struct bld *b, const char *building, struct config *cfg)
{
	int rc;

	latchunits_init(&b->have);
	b->uuids = NULL;
	b->id = strdup(building);
	if (!b->id) {
		log_error("out of memory");
		return US_EXIT_TEMPFAIL;
	}
	rc = list_building(cfg, building, &b->have);
	if (rc != US_EXIT_OK)
		return rc;
	b->uuids = malloc((b->have.n ? b->have.n : 1) * sizeof(*b->uuids));
	if (!b->uuids) {
		log_error("out of memory");
		return US_EXIT_TEMPFAIL;
	}
	for (size_t i = 0; i < b->have.n; i++)
		b->uuids[i] = b->have.v[i].uuid;
	qsort(b->uuids, b->have.n, sizeof(*b->uuids), cmp_str);
	log_info("Latch building '%s': %zu units, %ld page%s", building, b->have.n, b->have.pages,
		 b->have.pages == 1 ? "" : "s");
	return US_EXIT_OK;
}

static void bld_release(struct bld *b)
{
	free(b->id);
	latchunits_release(&b->have);
	free(b->uuids);
}

/*
 * Unless OFFLINE: is LATCH a unit of property P's Latch building?  One
 * paged listing.  US_EXIT_OK when it is; 65 naming the unit when not;
 * else the exit code of what failed (logged).
 */
static int check_latch_unit(struct unitmap *m, const char *config_path, int offline, const char *p,
			    const char *latch)
{
	struct config cfg = { 0 };
	struct bld b = { 0 };
	char *building = NULL;
	int rc = US_EXIT_OK;

	if (offline)
		return US_EXIT_OK;
	rc = require_building(m, p, &building);
	if (rc == US_EXIT_OK && config_load(&cfg, config_path) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
	}
	if (rc == US_EXIT_OK)
		rc = bld_list(&b, building, &cfg);
	if (rc == US_EXIT_OK && !bld_has(&b, latch)) {
		log_error("Latch unit '%s' does not exist in Latch building '%s' of property '%s' "
			  "('unitsync units list --property %s' lists its units); nothing mapped "
			  "(--offline maps it without asking Latch)",
			  latch, building, p, p);
		rc = US_EXIT_DATAERR;
	}
	bld_release(&b);
	config_release(&cfg);
	free(building);
	return rc;
}

/* map add, once the Latch unit is checked (or --offline). */
static int add_mapping(struct unitmap *m, const char *p, const char *pms, const char *latch)
{
	char *old = NULL, *other_p = NULL, *other_pms = NULL;
	int rc = begin_change(m, p), in_tx = rc == US_EXIT_OK;

	if (!in_tx)
		goto out;
	rc = -1; /* from here: a database error */
	if (unitmap_get(m, p, pms, &old) < 0 || unitmap_owner(m, latch, &other_p, &other_pms) < 0)
		goto out;
	if (other_p && (strcmp(other_p, p) || strcmp(other_pms, pms))) {
		log_error("Latch unit '%s' is already mapped from PMS unit '%s' of property '%s'; "
			  "cannot also map PMS unit '%s' of property '%s' to it (remove the other "
			  "mapping first)",
			  latch, other_pms, other_p, pms, p);
		rc = US_EXIT_DATAERR;
		goto out;
	}
	if (old && !strcmp(old, latch)) {
		printf("property '%s': PMS unit '%s' -> Latch unit '%s' (unchanged)\n", p, pms,
		       latch);
		rc = US_EXIT_OK;
		goto out;
	}
	if (unitmap_set(m, p, pms, latch, old) < 0 || db_commit(m->db) < 0)
		goto out;
	in_tx = 0;
	if (old)
		printf("property '%s': PMS unit '%s' -> Latch unit '%s' (changed from '%s')\n", p,
		       pms, latch, old);
	else
		printf("property '%s': PMS unit '%s' -> Latch unit '%s' (added)\n", p, pms, latch);
	rc = US_EXIT_OK;
out:
	if (rc < 0) {
		err_prefix("cannot map PMS unit '%s' of property '%s'", pms, p);
		rc = db_fail(m->db);
	}
	if (in_tx)
		db_rollback(m->db);
	free(old);
	free(other_p);
	free(other_pms);
	return rc;
}

/* map add: the Latch unit checked first, unless --offline or the mapping
 * is already so (nothing changes: nothing to check, as import). */
static int map_add(struct unitmap *m, const char *config_path, int offline, const char *p,
		   const char *pms, const char *latch)
{
	char *old = NULL;
	int rc;

	if (!offline && unitmap_get(m, p, pms, &old) < 0) {
		err_prefix("cannot map PMS unit '%s' of property '%s'", pms, p);
		return db_fail(m->db);
	}
	rc = check_latch_unit(m, config_path, offline || (old && !strcmp(old, latch)), p, latch);
	free(old);
	return rc == US_EXIT_OK ? add_mapping(m, p, pms, latch) : rc;
}

static int map_remove(struct unitmap *m, const char *p, const char *pms)
{
	char *old = NULL;
	int rc = begin_change(m, p), in_tx = rc == US_EXIT_OK;

	if (!in_tx)
		goto out;
	rc = -1; /* from here: a database error */
	if (unitmap_get(m, p, pms, &old) < 0)
		goto out;
	if (!old) {
		log_error("PMS unit '%s' of property '%s' is not mapped", pms, p);
		rc = US_EXIT_DATAERR;
		goto out;
	}
	if (unitmap_remove(m, p, pms, old) < 0 || db_commit(m->db) < 0)
		goto out;
	in_tx = 0;
	printf("property '%s': PMS unit '%s' unmapped (was Latch unit '%s')\n", p, pms, old);
	rc = US_EXIT_OK;
out:
	if (rc < 0) {
		err_prefix("cannot unmap PMS unit '%s' of property '%s'", pms, p);
		rc = db_fail(m->db);
	}
	if (in_tx)
		db_rollback(m->db);
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
	while ((r = db_row(st)) == 1) {
		const char *f[N_COLUMNS];

		for (int i = 0; i < N_COLUMNS; i++)
			f[i] = db_col_text(st, i);
		csvio_write_row(fp, f, N_COLUMNS);
		(*rows)++;
	}
	if (r < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* list, and export to standard output or (OUT) a file written whole. */
static int map_export(struct unitmap *m, const char *p, const char *out)
{
	struct dur_file f = { 0 };
	long rows;
	int rc = US_EXIT_OK, pending = 0; /* pending: F open, to commit or abort */

	if (p && (rc = require_property(m, p, NULL)) != US_EXIT_OK)
		goto out;
	if (!out || !strcmp(out, "-")) {
		if (write_csv(m->db, p, stdout, &rows) < 0)
			rc = db_fail(m->db);
		goto out;
	}
	if (dur_open(&f, out, 0640) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	pending = 1;
	if (write_csv(m->db, p, f.fp, &rows) < 0) {
		rc = db_fail(m->db);
		goto out;
	}
	if (ferror(f.fp)) {
		log_error("cannot write '%s': %s", out, strerror(errno));
		rc = US_EXIT_CONFIG;
		goto out;
	}
	pending = 0;
	if (dur_commit(&f) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	log_info("%ld mapping%s written to '%s'", rows, rows == 1 ? "" : "s", out);
out:
	if (pending)
		dur_abort(&f);
	return rc;
}

/*
 * map history: every map_history row, of property P and PMS unit U when
 * given (NULL: all), as CSV on standard output, oldest first (changed_at,
 * then id: two changes in one second keep the order they were made in).
 */
static int map_history(struct unitmap *m, const char *p, const char *u)
{
	static const char *const header[] = { "changed_at",           "changed_by",
					      "property_id",          "pms_unit_id",
					      "before_latch_unit_id", "after_latch_unit_id" };
	sqlite3_stmt *st = NULL;
	int r, rc = US_EXIT_OK;

	if (p && (rc = require_property(m, p, NULL)) != US_EXIT_OK)
		return rc;
	if (db_prepare(m->db,
		       "SELECT changed_at, changed_by, property_id, pms_unit_id,"
		       " before_latch_unit_id, after_latch_unit_id FROM map_history"
		       " WHERE (?1 IS NULL OR property_id = ?1) AND (?2 IS NULL OR pms_unit_id = ?2)"
		       " ORDER BY changed_at, id",
		       &st) < 0)
		return db_fail(m->db);
	if (p)
		sqlite3_bind_text(st, 1, p, -1, SQLITE_STATIC);
	if (u)
		sqlite3_bind_text(st, 2, u, -1, SQLITE_STATIC);
	csvio_write_row(stdout, header, 6);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *f[6];

		for (int i = 0; i < 6; i++)
			f[i] = db_col_text(st, i);
		csvio_write_row(stdout, f, 6);
	}
	if (r != SQLITE_DONE) {
		err_set("cannot read the mapping history: %s", sqlite3_errmsg(m->db));
		rc = db_fail(m->db);
	}
	sqlite3_finalize(st);
	return rc;
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
		free(im->rows[i].raw_property);
		free(im->rows[i].raw_pms);
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
	for (size_t i = 0; i < im->n_blds; i++)
		bld_release(&im->blds[i]);
	free(im->blds);
}

/* S as a message shows it: control characters (tab, CR, LF) as \\xHH,
 * cut to SIZE bytes. */
static void shown(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
}

/* Command-line id S trimmed in place as extract trims ids (csvio_trim()). */
static char *trim_arg(char *s)
{
	size_t len;
	char *t = (char *)csvio_trim(s, strlen(s), &len);

	t[len] = '\0';
	return t;
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

/*
 * Copy field I of ROW, trimmed as extract trims (csvio_trim()), into *OUT
 * (malloc'd), and the field as written into *RAW (malloc'd).  1 when the
 * field is fine; 0 when it is a problem of the file (recorded); -1 out of
 * memory.
 */
static int take_id(struct import *im, const struct csvio_row *row, size_t i, int k, char **out,
		   char **raw)
{
	size_t len;
	const char *s;

	if (i >= row->n) {
		problem(im, row->line, "'%s' line %ld: missing %s", im->name, row->line,
			csv_columns[k]);
		return 0;
	}
	s = csvio_trim(row->fields[i], row->lens[i], &len);
	if (!len) {
		problem(im, row->line, "'%s' line %ld: empty %s", im->name, row->line,
			csv_columns[k]);
		return 0;
	}
	if (memchr(s, '\0', len)) {
		problem(im, row->line, "'%s' line %ld: control character in %s", im->name,
			row->line, csv_columns[k]);
		return 0;
	}
	*out = strndup(s, len);
	*raw = strndup(row->fields[i], row->lens[i]);
	if (!*out || !*raw) {
		err_set("out of memory");
		return -1;
	}
	if (!id_valid(*out)) {
		problem(im, row->line, "'%s' line %ld: control character in %s", im->name,
			row->line, csv_columns[k]);
		return 0;
	}
	return 1;
}

/* csvio_read() callback: the header, then one mapping per record. */
static int on_row(const struct csvio_row *row, void *ctx)
{
	struct import *im = ctx;
	char *f[N_COLUMNS] = { NULL }, *raw[N_COLUMNS] = { NULL };
	struct map_row *r;
	int rc = 0, ok = 1;

	if (!im->have_header)
		return read_header(row, im);
	for (int k = 0; k < N_COLUMNS && ok == 1; k++)
		ok = take_id(im, row, (size_t)im->col[k], k, &f[k], &raw[k]);
	if (ok != 1) {
		rc = ok;
		goto out;
	}
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 64;
		struct map_row *nr = realloc(im->rows, cap * sizeof(*nr));

		if (!nr) {
			err_set("out of memory");
			rc = -1;
			goto out;
		}
		im->rows = nr;
		im->cap = cap;
	}
	r = &im->rows[im->n++];
	memset(r, 0, sizeof(*r));
	r->line = row->line;
	r->bld = -1;
	r->property = f[0];
	r->pms = f[1];
	r->latch = f[2];
	r->raw_property = raw[0];
	r->raw_pms = raw[1];
	for (int k = 0; k < N_COLUMNS; k++)
		f[k] = NULL;
	raw[0] = raw[1] = NULL;
out:
	for (int k = 0; k < N_COLUMNS; k++) {
		free(f[k]);
		free(raw[k]);
	}
	return rc;
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
		if (strcmp(a->raw_property, b->raw_property) || strcmp(a->raw_pms, b->raw_pms)) {
			char sa[2][160], sb[2][160];

			/* extract trims ids the same way: both rows would name one unit */
			shown(a->raw_property, sa[0], sizeof(sa[0]));
			shown(a->raw_pms, sa[1], sizeof(sa[1]));
			shown(b->raw_property, sb[0], sizeof(sb[0]));
			shown(b->raw_pms, sb[1], sizeof(sb[1]));
			problem(im, a->line,
				"'%s' lines %ld and %ld: PMS unit '%s' of property '%s' appears twice "
				"once trimmed of white space, as extract trims ids (line %ld: "
				"property '%s', unit '%s'; line %ld: property '%s', unit '%s')",
				im->name, a->line, b->line, a->pms, a->property, a->line, sa[0],
				sa[1], b->line, sb[0], sb[1]);
		} else if (strcmp(a->latch, b->latch))
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

/* unitmap_each() callback: remember that --replace removes (P, PMS) ->
 * LATCH, unless the file names (P, PMS). */
static int add_removal(const char *p, const char *pms, const char *latch, void *ctx)
{
	struct import *im = ctx;
	struct removal *r;

	if (in_file(im, p, pms))
		return 0;
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
static int check_db(struct import *im, struct unitmap *m, int replace)
{
	char *other_p = NULL, *other_pms = NULL;
	int rc = -1;

	/* properties: by_key holds each property's rows together */
	for (size_t i = 0; i < im->n;) {
		const char *p = im->by_key[i]->property;
		long first_line = im->by_key[i]->line;
		size_t j = i, rows = 0;
		int e = unitmap_property(m->db, p, NULL);

		if (e < 0)
			goto out;
		for (; j < im->n && !strcmp(im->by_key[j]->property, p); j++) {
			rows++;
			if (im->by_key[j]->line < first_line)
				first_line = im->by_key[j]->line;
		}
		if (!e) {
			if (stg_property_unknown(m->db, p) == -1)
				goto out;
			if (rows > 1)
				problem(im, first_line, "'%s' line %ld: %s; %zu rows name it",
					im->name, first_line, err_msg(), rows);
			else
				problem(im, first_line, "'%s' line %ld: %s", im->name, first_line,
					err_msg());
		} else if (replace && unitmap_each(m, p, add_removal, im) < 0) {
			goto out;
		}
		i = j;
	}
	for (size_t i = 0; i < im->n; i++) {
		struct map_row *r = &im->rows[i];

		if (r->state == ROW_DUPLICATE)
			continue;
		if (unitmap_get(m, r->property, r->pms, &r->old_latch) < 0)
			goto out;
		if (!r->old_latch)
			r->state = ROW_ADD;
		else
			r->state = strcmp(r->old_latch, r->latch) ? ROW_CHANGE : ROW_SAME;
		if (r->state == ROW_SAME)
			continue;
		if (unitmap_owner(m, r->latch, &other_p, &other_pms) < 0)
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

/*
 * List, once each, the Latch buildings of the file's properties, and tie
 * each row to its property's (row.bld); the configuration is loaded into
 * CFG on first need.  An unknown property is left for check_db().  An
 * exit code, logged: 78 for a property without a Latch building.
 */
static int list_buildings(struct import *im, struct unitmap *m, struct config *cfg,
			  const char *config_path)
{
	char *building = NULL;
	int rc = US_EXIT_OK, cfg_loaded = 0;

	for (size_t i = 0, j; i < im->n && rc == US_EXIT_OK; i = j) {
		const char *p = im->by_key[i]->property;
		long k = -1;
		int e = unitmap_property(m->db, p, &building);

		for (j = i; j < im->n && !strcmp(im->by_key[j]->property, p); j++)
			;
		if (e < 0) {
			rc = db_fail(m->db);
			break;
		}
		if (!e)
			continue;
		if (!building) {
			rc = require_building(m, p, &building);
			break;
		}
		for (size_t b = 0; b < im->n_blds && k < 0; b++)
			if (!strcmp(im->blds[b].id, building))
				k = (long)b;
		if (k < 0) {
			struct bld *nb = realloc(im->blds, (im->n_blds + 1) * sizeof(*nb));

			if (!nb) {
				log_error("out of memory");
				rc = US_EXIT_TEMPFAIL;
				break;
			}
			im->blds = nb;
			k = (long)im->n_blds++;
			memset(&im->blds[k], 0, sizeof(im->blds[k]));
			if (!cfg_loaded && config_load(cfg, config_path) < 0) {
				log_error("%s", err_msg());
				rc = US_EXIT_CONFIG;
				break;
			}
			cfg_loaded = 1;
			rc = bld_list(&im->blds[k], building, cfg);
		}
		for (size_t r = i; r < j; r++)
			im->by_key[r]->bld = k;
		free(building);
		building = NULL;
	}
	free(building);
	return rc;
}

/* Each row that maps a PMS unit anew names a unit of its property's
 * Latch building (when listed): a problem naming the line otherwise. */
static void check_units(struct import *im)
{
	for (size_t i = 0; i < im->n; i++) {
		const struct map_row *r = &im->rows[i];

		if ((r->state == ROW_ADD || r->state == ROW_CHANGE) && r->bld >= 0 &&
		    !bld_has(&im->blds[r->bld], r->latch))
			problem(im, r->line,
				"'%s' line %ld: Latch unit '%s' does not exist in Latch building "
				"'%s' of property '%s'",
				im->name, r->line, r->latch, im->blds[r->bld].id, r->property);
	}
}

/* Apply a checked import: removals and moves first, so that swapping two
 * Latch units never trips UNIQUE (latch_unit_id) half-way. */
static int apply_import(struct import *im, struct unitmap *m, long count[4])
{
	for (size_t i = 0; i < im->n_rm; i++)
		if (unitmap_remove(m, im->rm[i].property, im->rm[i].pms, im->rm[i].latch) < 0)
			return -1;
	for (size_t i = 0; i < im->n; i++)
		if (im->rows[i].state == ROW_CHANGE &&
		    unitmap_detach(m, im->rows[i].property, im->rows[i].pms) < 0)
			return -1;
	for (size_t i = 0; i < im->n; i++) {
		struct map_row *r = &im->rows[i];

		if ((r->state == ROW_ADD || r->state == ROW_CHANGE) &&
		    unitmap_set(m, r->property, r->pms, r->latch, r->old_latch) < 0)
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

static int map_import(struct unitmap *m, const char *config_path, int offline, const char *path,
		      int replace)
{
	struct import im = { .name = path };
	struct config cfg = { 0 };
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
	rc = -1; /* from here: a database error (or out of memory) */
	if (check_file(&im) < 0)
		goto out;
	/* Latch is asked before the write transaction, so that no lock waits on it */
	if (!offline && !im.n_problems) {
		int lrc = list_buildings(&im, m, &cfg, config_path);

		if (lrc != US_EXIT_OK) {
			rc = lrc;
			goto out;
		}
	}
	if (db_begin(m->db) < 0)
		goto out;
	in_tx = 1;
	if (check_db(&im, m, replace) < 0)
		goto out;
	check_units(&im);
	if (im.n_problems) {
		size_t kept = im.n_problems < MAX_PROBLEMS ? im.n_problems : MAX_PROBLEMS;

		qsort(im.problems, kept, sizeof(im.problems[0]), cmp_problem);
		for (size_t i = 0; i < kept; i++)
			log_error("%s", im.problems[i].msg ? im.problems[i].msg : "out of memory");
		if (im.n_problems > MAX_PROBLEMS)
			log_error("... and %zu more problems", im.n_problems - MAX_PROBLEMS);
		log_error("'%s' rejected: %zu problem%s, nothing imported", path, im.n_problems,
			  im.n_problems == 1 ? "" : "s");
		rc = US_EXIT_DATAERR;
		goto out;
	}
	if (apply_import(&im, m, count) < 0 || db_commit(m->db) < 0)
		goto out;
	in_tx = 0;
	printf("%ld added, %ld changed, %zu removed, %ld unchanged\n", count[ROW_ADD],
	       count[ROW_CHANGE], im.n_rm, count[ROW_SAME]);
	rc = US_EXIT_OK;
out:
	if (rc < 0) {
		err_prefix("cannot import '%s'", path);
		rc = db_fail(m->db);
	}
	if (in_tx)
		db_rollback(m->db);
	if (fp && fp != stdin)
		fclose(fp);
	import_release(&im);
	config_release(&cfg);
	return rc;
}

/* ------------------------------------------------------ suggest, unmapped */

/* Statuses whose residents have, or are about to have, a home (README "Rules"). */
#define HOUSED_STATUSES "'current', 'notice', 'eviction', 'future'"

/* Write S as one TAB-separated field: backslash, and control characters
 * as \xHH, escaped. */
static void put_field(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

/* The building's units that no PMS unit (of any property) maps to, as
 * indexes into HAVE: *IDX (malloc'd), *N. */
static int unowned_units(struct unitmap *um, const struct latchunits *have, size_t **idx, size_t *n)
{
	char *op = NULL, *opms = NULL;

	*n = 0;
	*idx = malloc((have->n ? have->n : 1) * sizeof(**idx));
	if (!*idx) {
		err_set("out of memory");
		return -1;
	}
	for (size_t i = 0; i < have->n; i++) {
		if (unitmap_owner(um, have->v[i].uuid, &op, &opms) < 0)
			return -1;
		if (!op)
			(*idx)[(*n)++] = i;
		free(op);
		free(opms);
	}
	return 0;
}

/* One proposal as suggest prints it. */
static void print_pair(const char *p, const struct unitmap_unit *pu,
		       const struct latchunits_unit *lu, enum unitname_rule rule)
{
	char conf[16];
	const char *f[6];

	snprintf(conf, sizeof(conf), "%.2f", unitname_confidence(rule));
	f[0] = p;
	f[1] = pu->pms_unit_id;
	f[2] = lu->uuid;
	f[3] = lu->name;
	f[4] = conf;
	f[5] = unitname_rule_name(rule);
	csvio_write_row(stdout, f, 6);
}

/*
 * Map the safe pairs (lib/unitname.h), in one transaction, checking again
 * that neither side is mapped: suggest never changes a mapping.  *APPLIED
 * counts them.  -1 on a database error.
 */
static int apply_pairs(struct unitmap *um, const char *p, const struct unitmap_units *pms,
		       const size_t *pi, const struct latchunits *have, const size_t *li,
		       const struct unitname_pair *pairs, size_t n_pairs, long *applied)
{
	char *now = NULL, *op = NULL, *opms = NULL;
	int rc = -1;

	*applied = 0;
	if (db_begin(um->db) < 0)
		return -1;
	for (size_t k = 0; k < n_pairs; k++) {
		const struct unitmap_unit *pu = &pms->v[pi[pairs[k].pms]];
		const struct latchunits_unit *lu = &have->v[li[pairs[k].latch]];

		if (!pairs[k].safe) {
			if (pairs[k].rule != UNITNAME_UNIT_NUMBER)
				log_warn("PMS unit '%s' ('%s') and Latch unit '%s' ('%s'): %s, but "
					 "another unit matches one of them too; not applied",
					 pu->pms_unit_id, pu->label, lu->uuid, lu->name,
					 unitname_rule_name(pairs[k].rule));
			continue;
		}
		if (unitmap_get(um, p, pu->pms_unit_id, &now) < 0 ||
		    unitmap_owner(um, lu->uuid, &op, &opms) < 0)
			goto out;
		if (now || op) {
			log_warn("PMS unit '%s' or Latch unit '%s' was mapped meanwhile; not applied",
				 pu->pms_unit_id, lu->uuid);
		} else {
			if (unitmap_set(um, p, pu->pms_unit_id, lu->uuid, NULL) < 0)
				goto out;
			log_info("property '%s': PMS unit '%s' -> Latch unit '%s' ('%s', %s)", p,
				 pu->pms_unit_id, lu->uuid, lu->name,
				 unitname_rule_name(pairs[k].rule));
			(*applied)++;
		}
		free(now);
		free(op);
		free(opms);
		now = op = opms = NULL;
	}
	if (db_commit(um->db) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		db_rollback(um->db);
		*applied = 0;
	}
	free(now);
	free(op);
	free(opms);
	return rc;
}

static int map_suggest(struct unitmap *m, const char *config_path, const char *p, int apply)
{
	static const char *const header[] = { "property_id",     "pms_unit_id", "latch_unit_id",
					      "latch_unit_name", "confidence",  "rule" };
	struct config cfg = { 0 };
	struct latchunits have;
	struct unitmap_units pms = { 0 };
	struct unitname_pair *pairs = NULL;
	const char **pn = NULL, **ln = NULL;
	size_t *pi = NULL, *li = NULL, n_pn = 0, n_ln = 0, n_pairs = 0;
	char *building = NULL;
	long applied = 0, safe = 0, weak = 0;
	int rc;

	latchunits_init(&have);
	rc = require_property(m, p, &building);
	if (rc != US_EXIT_OK)
		goto out;
	if (!building) {
		log_error("property '%s' has no Latch building (set it with 'unitsync property set "
			  "%s --latch-building UUID')",
			  p, p);
		rc = US_EXIT_CONFIG;
		goto out;
	}
	if (config_load(&cfg, config_path) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	rc = list_building(&cfg, building, &have);
	if (rc != US_EXIT_OK)
		goto out;
	rc = -1; /* from here: a database error (or out of memory) */
	if (unitmap_staged_units(m->db, p, &pms) < 0 || unowned_units(m, &have, &li, &n_ln) < 0)
		goto out;
	pn = malloc((pms.n ? pms.n : 1) * sizeof(*pn));
	pi = malloc((pms.n ? pms.n : 1) * sizeof(*pi));
	ln = malloc((n_ln ? n_ln : 1) * sizeof(*ln));
	if (!pn || !pi || !ln) {
		err_set("out of memory");
		goto out;
	}
	for (size_t i = 0; i < pms.n; i++)
		if (pms.v[i].dwelling && !pms.v[i].latch_unit_id) {
			pi[n_pn] = i;
			pn[n_pn++] = pms.v[i].label;
		}
	for (size_t j = 0; j < n_ln; j++)
		ln[j] = have.v[li[j]].name;
	if (unitname_match(pn, n_pn, ln, n_ln, &pairs, &n_pairs) < 0)
		goto out;
	if (apply && apply_pairs(m, p, &pms, pi, &have, li, pairs, n_pairs, &applied) < 0)
		goto out;
	/* pairs come in PMS index order, and pms is sorted by pms_unit_id */
	csvio_write_row(stdout, header, 6);
	for (size_t k = 0; k < n_pairs; k++) {
		print_pair(p, &pms.v[pi[pairs[k].pms]], &have.v[li[pairs[k].latch]], pairs[k].rule);
		safe += pairs[k].safe;
		weak += pairs[k].rule == UNITNAME_UNIT_NUMBER;
	}
	if (apply)
		log_info("property '%s': %ld of %zu proposals applied; %ld left for a person to "
			 "review (ambiguous or unit-number)",
			 p, applied, n_pairs, (long)n_pairs - safe);
	else
		log_info("property '%s': %zu proposals for %zu unmapped PMS units and %zu unmapped "
			 "Latch units; %ld unambiguous exact or normalized (--apply maps them), "
			 "%ld ambiguous, %ld unit-number",
			 p, n_pairs, n_pn, n_ln, safe, (long)n_pairs - safe - weak, weak);
	rc = US_EXIT_OK;
out:
	if (rc < 0) {
		err_prefix("property '%s'", p);
		rc = db_fail(m->db);
	}
	config_release(&cfg);
	latchunits_release(&have);
	unitmap_units_release(&pms);
	free(pairs);
	free(pn);
	free(pi);
	free(ln);
	free(li);
	free(building);
	return rc;
}

/*
 * The unmapped PMS units with residents: each dwelling PMS unit that
 * holds residents of a HOUSED_STATUSES status in the property's newest
 * resident snapshot (as transform takes it) and has no mapping.
 */
static int print_unmapped_pms(struct unitmap *m, const char *p, const struct unitmap_units *pms)
{
	sqlite3_stmt *st = NULL;
	long long snap = 0;
	long n = 0;
	int r, rc = -1;

	if (db_prepare(m->db,
		       "SELECT sp.snapshot_id FROM snapshot_property sp"
		       " JOIN snapshot s USING (snapshot_id)"
		       " WHERE sp.property_id = ?1 AND s.status = 'staged'"
		       " ORDER BY s.extract_order DESC LIMIT 1",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, p, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		snap = sqlite3_column_int64(st, 0);
	else if (r != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (db_prepare(m->db,
		       "SELECT pms_unit_id, count(*) FROM stg_person sp"
		       " WHERE snapshot_id = ?1 AND property_id = ?2"
		       " AND status IN (" HOUSED_STATUSES ") AND role <> 'guarantor'"
		       " AND coalesce(pms_unit_id, '') <> ''"
		       " AND NOT EXISTS (SELECT 1 FROM unit_map um WHERE um.property_id = ?2"
		       "   AND um.pms_unit_id = sp.pms_unit_id)"
		       " GROUP BY pms_unit_id ORDER BY pms_unit_id",
		       &st) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, snap);
	sqlite3_bind_text(st, 2, p, -1, SQLITE_STATIC);
	/* counted first, for the heading */
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const struct unitmap_unit *u = unitmap_units_find(pms, db_col_text(st, 0));

		n += !u || u->dwelling;
	}
	if (r != SQLITE_DONE)
		goto out;
	sqlite3_reset(st);
	printf("PMS units of property '%s' with current, notice, eviction or future residents "
	       "and no mapping: %ld\n",
	       p, n);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = db_col_text(st, 0);
		const struct unitmap_unit *u = unitmap_units_find(pms, id);

		if (u && !u->dwelling)
			continue;
		put_field(id);
		putchar('\t');
		put_field(u ? u->label : id);
		printf("\t%d\n", sqlite3_column_int(st, 1));
	}
	if (r != SQLITE_DONE)
		goto out;
	if (!snap)
		log_warn("property '%s' has no staged resident export", p);
	rc = 0;
out:
	if (rc < 0)
		db_error(m->db, NULL);
	sqlite3_finalize(st);
	return rc;
}

static int map_unmapped(struct unitmap *m, const char *config_path, const char *p)
{
	struct config cfg = { 0 };
	struct latchunits have;
	struct unitmap_units pms = { 0 };
	size_t *li = NULL, n_ln = 0;
	char *building = NULL;
	int rc;

	latchunits_init(&have);
	rc = require_property(m, p, &building);
	if (rc != US_EXIT_OK)
		goto out;
	if (unitmap_staged_units(m->db, p, &pms) < 0 || print_unmapped_pms(m, p, &pms) < 0) {
		err_prefix("property '%s'", p);
		rc = db_fail(m->db);
		goto out;
	}
	putchar('\n');
	if (!building) {
		printf("Latch units that no PMS unit maps to: not listed: property '%s' has no "
		       "Latch building (unitsync property set %s --latch-building UUID)\n",
		       p, p);
		goto out;
	}
	if (config_load(&cfg, config_path) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	if (!cfg.base_url) {
		printf("Latch units of building '%s' that no PMS unit maps to: not listed: this needs "
		       "the Latch API ([latch] base_url in the configuration file, or "
		       "UNITSYNC_LATCH_URL)\n",
		       building);
		goto out;
	}
	rc = list_building(&cfg, building, &have);
	if (rc != US_EXIT_OK)
		goto out;
	if (unowned_units(m, &have, &li, &n_ln) < 0) {
		err_prefix("property '%s'", p);
		rc = db_fail(m->db);
		goto out;
	}
	printf("Latch units of building '%s' that no PMS unit maps to: %zu\n", building, n_ln);
	for (size_t k = 0; k < n_ln; k++) {
		put_field(have.v[li[k]].uuid);
		putchar('\t');
		put_field(have.v[li[k]].name);
		putchar('\n');
	}
out:
	config_release(&cfg);
	latchunits_release(&have);
	unitmap_units_release(&pms);
	free(li);
	free(building);
	return rc;
}

int main(int argc, char **argv)
{
	static const char *const verbs[] = { "add",     "remove",   "list",    "import", "export",
					     "suggest", "unmapped", "history", NULL };
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "by", required_argument, NULL, 'b' },
		{ "out", required_argument, NULL, 'o' },
		{ "replace", no_argument, NULL, 'r' },
		{ "apply", no_argument, NULL, 'a' },
		{ "offline", no_argument, NULL, 'f' },
		{ "unit", required_argument, NULL, 'u' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct unitmap m = { 0 };
	const char *by = NULL, *out = NULL, *verb;
	char account[64];
	char *property = NULL, *unit = NULL;
	int replace = 0, apply = 0, offline = 0, want, nargs;
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-map", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
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
		case 'a':
			apply = 1;
			break;
		case 'f':
			offline = 1;
			break;
		case 'u':
			unit = optarg;
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				rc = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	verb = cli_check_verb(&cli, optind < argc ? argv[optind++] : NULL, verbs);
	if (!verb)
		goto out;
	nargs = argc - optind;
	want = !strcmp(verb, "add") ? 2 : !strcmp(verb, "remove") || !strcmp(verb, "import");
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
	if ((!strcmp(verb, "add") || !strcmp(verb, "remove") || !strcmp(verb, "suggest") ||
	     !strcmp(verb, "unmapped")) &&
	    !property) {
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
	if (offline && strcmp(verb, "add") && strcmp(verb, "import")) {
		cli_usage_error(&cli, "--offline goes with add and import only");
		goto out;
	}
	if (apply && strcmp(verb, "suggest")) {
		cli_usage_error(&cli, "--apply goes with suggest only");
		goto out;
	}
	if (unit && strcmp(verb, "history")) {
		cli_usage_error(&cli, "--unit goes with history only");
		goto out;
	}
	if (by && (!strcmp(verb, "list") || !strcmp(verb, "export") || !strcmp(verb, "unmapped") ||
		   !strcmp(verb, "history"))) {
		cli_usage_error(&cli, "--by goes with add, remove, import and suggest only");
		goto out;
	}
	if (by && !id_valid(by)) {
		cli_usage_error(&cli, "--by needs a name without control characters");
		goto out;
	}
	if (property)
		property = trim_arg(property);
	if (property && !id_valid(property)) {
		cli_usage_error(&cli, "bad property ID '%s' (empty, or holds control characters)",
				property);
		goto out;
	}
	if (unit)
		unit = trim_arg(unit);
	if (unit && !id_valid(unit)) {
		cli_usage_error(&cli, "bad unit ID '%s' (empty, or holds control characters)",
				unit);
		goto out;
	}
	if (strcmp(verb, "import"))
		for (int i = optind; i < argc; i++) {
			argv[i] = trim_arg(argv[i]);
			if (!id_valid(argv[i])) {
				cli_usage_error(&cli,
						"bad unit ID '%s' (empty, or holds control characters)",
						argv[i]);
				goto out;
			}
		}
	if (!by) {
		cli_account(account, sizeof(account));
		by = account;
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(NULL);
		goto out;
	}
	if (unitmap_init(&m, db, by) < 0) {
		rc = db_fail(db);
		goto out;
	}
	if (!strcmp(verb, "add"))
		rc = map_add(&m, cli.config_path, offline, property, argv[optind],
			     argv[optind + 1]);
	else if (!strcmp(verb, "remove"))
		rc = map_remove(&m, property, argv[optind]);
	else if (!strcmp(verb, "import"))
		rc = map_import(&m, cli.config_path, offline, argv[optind], replace);
	else if (!strcmp(verb, "suggest"))
		rc = map_suggest(&m, cli.config_path, property, apply);
	else if (!strcmp(verb, "unmapped"))
		rc = map_unmapped(&m, cli.config_path, property);
	else if (!strcmp(verb, "history"))
		rc = map_history(&m, property, unit);
	else
		rc = map_export(&m, property, out);
out:
	unitmap_release(&m);
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
