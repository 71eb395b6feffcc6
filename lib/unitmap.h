/*
 * unitmap.h - the unit mapping and the PMS units it maps, as `unitsync
 * units import-csv|import-pms` and `unitsync map suggest|unmapped` read
 * and change them (docs/ARCHITECTURE.md §1: only mapped units sync).
 *
 * The rules are those of `unitsync map add` (cli/map.c): a PMS unit of a
 * property maps to at most one Latch unit, a Latch unit is mapped from at
 * most one PMS unit across all properties (UNIQUE (latch_unit_id) in
 * lib/db.c), and every change is a map_history row saying who made it
 * and when.  unitmap_set(), unitmap_remove() and unitmap_detach() write;
 * checking the rules is the caller's, with unitmap_property(),
 * unitmap_get(), unitmap_owner() and unitmap_each(), inside the same
 * transaction.  `unitsync map add|remove|import|suggest` and `unitsync
 * units` all write through them, so the rows look the same whoever wrote
 * them.
 *
 * The PMS units of a property (unitmap_staged_units()) are those staged
 * from the newest snapshot (by snapshot.extract_order) of each source
 * kind and dialect that staged units for it: a unit inventory (Yardi
 * GetUnitInformation, MITS ILS) and a resident export add up, and last
 * month's inventory does not linger beside this month's.  A unit staged
 * by several is merged: it is a dwelling unless one of them says it is
 * not (stg_unit.dwelling is 1 by default, 0 only when a unit type or an
 * economic status said parking, storage, ...), and its label is the one
 * of the newest snapshot that gives more than the unit's id, else the id.
 *
 * Errors: functions return 0 (or a count) and -1 with err_set().
 * Ownership: every struct here owns its strings; release it with its
 * _release() function.  The database handle is borrowed.
 */
#ifndef UNITSYNC_UNITMAP_H
#define UNITSYNC_UNITMAP_H

#include <sqlite3.h>
#include <stddef.h>

/* One PMS unit of a property. */
struct unitmap_unit {
	char *pms_unit_id;   /* owned */
	char *label;         /* the unit as people write it (else the id), owned */
	int dwelling;        /* 0: parking, storage, ...: never gets a Latch unit */
	char *latch_unit_id; /* the Latch unit it maps to, owned; NULL when unmapped */
};

/* The PMS units of one property, sorted by pms_unit_id (bytes). */
struct unitmap_units {
	struct unitmap_unit *v; /* owned array */
	size_t n, cap;
};

/* Fill OUT (empty or released) with the PMS units of PROPERTY and their
 * mappings. */
int unitmap_staged_units(sqlite3 *db, const char *property, struct unitmap_units *out);

/* Fill OUT (empty or released) with PROPERTY's mapped units, the rows of
 * unit_map (label: the id; dwelling: 1, not known here). */
int unitmap_mapped_units(sqlite3 *db, const char *property, struct unitmap_units *out);

void unitmap_units_release(struct unitmap_units *u);

/* The unit PMS_UNIT_ID of U, or NULL. */
const struct unitmap_unit *unitmap_units_find(const struct unitmap_units *u,
					      const char *pms_unit_id);

/*
 * Where PROPERTY's PMS unit PMS_UNIT_ID was staged from, for a message
 * about it: "FILE:LINE" of the first resident row naming it in the newest
 * snapshot that staged it, else "'FILE'" (a unit list, whose rows carry
 * no line), else "" (not staged).  *WHERE is malloc'd, the caller frees
 * it.  0, or -1 with err_set().
 */
int unitmap_unit_source(sqlite3 *db, const char *property, const char *pms_unit_id, char **where);

/*
 * Does PROPERTY exist?  1 yes, with its Latch building in *BUILDING
 * (malloc'd; NULL when none is set) when BUILDING is not NULL; 0 no;
 * -1 on a database error.
 */
int unitmap_property(sqlite3 *db, const char *property, char **building);

/* Prepared statements to read and change the mapping. */
struct unitmap {
	sqlite3 *db;               /* borrowed */
	sqlite3_stmt *get;         /* the Latch unit of (property, PMS unit) */
	sqlite3_stmt *owner;       /* the (property, PMS unit) of a Latch unit */
	sqlite3_stmt *of_property; /* every mapping of a property */
	sqlite3_stmt *del;         /* remove one mapping */
	sqlite3_stmt *ins;         /* add one mapping */
	sqlite3_stmt *hist;        /* record one change */
	const char *by;            /* changed_by, borrowed */
	char now[32];              /* changed_at and created_at of this run */
};

/* Prepare M on DB; BY is who makes the changes (--by, $USER, ...).
 * M may be released (unitmap_release()) whether this fails or not, and
 * also when zeroed and never prepared. */
int unitmap_init(struct unitmap *m, sqlite3 *db, const char *by);
void unitmap_release(struct unitmap *m);

/* The Latch unit (PROPERTY, PMS) maps to into *LATCH (malloc'd; NULL
 * when unmapped). */
int unitmap_get(struct unitmap *m, const char *property, const char *pms, char **latch);

/* Who maps onto LATCH: *PROPERTY and *PMS (malloc'd), NULL when nobody. */
int unitmap_owner(struct unitmap *m, const char *latch, char **property, char **pms);

/*
 * Call FN for each mapping of PROPERTY, by pms_unit_id (bytes), with
 * strings that live until FN returns.  FN returns 0 to go on, or -1
 * with err_set() to stop: then this returns -1 too.  FN must not call
 * unitmap_each() on M again (they share one statement).
 */
int unitmap_each(struct unitmap *m, const char *property,
		 int (*fn)(const char *property, const char *pms, const char *latch, void *ctx),
		 void *ctx);

/*
 * Map (PROPERTY, PMS) to LATCH and record it in map_history.  BEFORE is
 * the Latch unit it maps to now (NULL: unmapped), which this replaces;
 * its row may already be gone (unitmap_detach()).  A changed mapping is
 * a new pairing, so created_at is now.  Run inside the caller's
 * transaction, after checking the rules.
 */
int unitmap_set(struct unitmap *m, const char *property, const char *pms, const char *latch,
		const char *before);

/*
 * Unmap (PROPERTY, PMS), which maps to BEFORE, and record it in
 * map_history (BEFORE -> NULL).  Inside the caller's transaction.
 */
int unitmap_remove(struct unitmap *m, const char *property, const char *pms, const char *before);

/*
 * Delete the row of (PROPERTY, PMS) and record nothing: the first half of
 * a change that unitmap_set() completes and records.  A batch detaches
 * every row it changes before it sets any, so that swapping two Latch
 * units never trips UNIQUE (latch_unit_id) half-way.  Inside the caller's
 * transaction, which must not commit a detached row left unset.
 */
int unitmap_detach(struct unitmap *m, const char *property, const char *pms);

#endif
