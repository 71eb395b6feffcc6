/*
 * reconcile.h - the live Latch state of one property's building compared
 * with unitsync's decision and ledger (`unitsync reconcile`, issue 19;
 * docs/ARCHITECTURE.md §7).
 *
 * What is compared:
 * - Latch, read through lib/latchunits (the same client, retries and token
 *   handling as load): every unit of the property's building, every
 *   resident of each unit (all pages), and the e-mail and phone of each
 *   resident's user;
 * - the decision: the property's latest run that is not a repair (a run
 *   whose delta has no `reasserted` row): its ASSIGN and UNASSIGN rows
 *   (delta_history) with their journal state, its manual_assignment and
 *   unit_sync_disabled exceptions (run_exception: pairs the PMS no longer
 *   wants and unitsync does not remove), and the PMS records of its input
 *   snapshots (stg_person);
 * - the ledger: assignment (the pairs Latch confirmed), person_user, unit_map.
 *
 * The kinds (reconcile_kinds[], each a row of reconcile.csv, one per pair):
 * - key_without_lease: a resident of a unit the property maps that no
 *   eligible PMS record explains: neither an assignment the decision still
 *   wants nor an ASSIGN of the decision (a hand assignment, another
 *   system's, or a removal the decision made that Latch did not apply);
 *   listed, never removed;
 * - removed_outside: an assignment the ledger holds (owner unitsync or
 *   manual) and the decision still wants, that Latch no longer lists;
 * - missing_in_latch: an ASSIGN of the decision (an eligible, mapped,
 *   judged resident) whose pair Latch does not hold and the ledger never
 *   recorded (failed, held, not loaded, or no Latch user);
 * - occupied_unmapped_unit: a resident of a unit of the building that no
 *   PMS unit of any property maps to;
 * - user_contact_changed: a Latch user matched to a PMS person (person_user)
 *   whose e-mail (letter case aside) differs from the person's PMS record,
 *   or whose phone digits differ (compared when both have digits, or when
 *   the record has a phone and no e-mail).
 *
 * Scratch lives in temp tables of the caller's connection (rc_*): nothing
 * is written to the state database.  Errors: -1 (or a latchunits status)
 * with err_set(); the caller picks the exit code.  A struct reconcile owns
 * its strings; reconcile_release() frees them.
 */
#ifndef UNITSYNC_RECONCILE_H
#define UNITSYNC_RECONCILE_H

#include "latchunits.h"

#include <sqlite3.h>
#include <stdio.h>

struct latch;
struct progress;

enum reconcile_kind {
	RECONCILE_KEY_WITHOUT_LEASE,
	RECONCILE_REMOVED_OUTSIDE,
	RECONCILE_MISSING_IN_LATCH,
	RECONCILE_OCCUPIED_UNMAPPED_UNIT,
	RECONCILE_USER_CONTACT_CHANGED,
	RECONCILE_N_KINDS
};

/* The kinds' names, in enum order (NULL-terminated). */
extern const char *const reconcile_kinds[];

#define RECONCILE_HEADER \
	"kind,property_id,latch_unit_id,latch_user_id,email,pms_unit_id,pms_person_id,detail"

struct reconcile {
	sqlite3 *db;                    /* borrowed */
	char *property;                 /* owned */
	char *building;                 /* the property's Latch building, owned */
	char run_id[64];                /* the decision: latest non-repair run, "" for none */
	long units, residents, users;   /* what was read from Latch */
	long counts[RECONCILE_N_KINDS]; /* rows of each kind, after reconcile_compare() */
};

/*
 * Start on PROPERTY of DB: 0; 1 when the database does not know the
 * property; 2 when it has no Latch building; -1 on a database error.
 * Creates the scratch tables.
 */
int reconcile_begin(struct reconcile *rc, sqlite3 *db, const char *property);

/* Read the building's units, their residents and the residents' users
 * through L, with a progress line P (requests). */
enum latchunits_status reconcile_read_latch(struct reconcile *rc, struct latch *l,
					    struct progress *p);

/* Compare (fills rc->counts); -1 on a database error. */
int reconcile_compare(struct reconcile *rc);

/* reconcile.csv onto FP: the header, then every row in order of kind
 * (enum order), Latch unit, Latch user, PMS person, PMS unit, detail;
 * cells neutralised for spreadsheets (delta_write_safe_row()).  -1 on a
 * database error. */
int reconcile_write_csv(struct reconcile *rc, FILE *fp);

/*
 * One row of a reconcile.csv read with lib/csvio (PATH names it in
 * messages): RECONCILE_N_KINDS for its header line (checked: it must be
 * RECONCILE_HEADER), else the row's kind (8 fields, a known kind); -1
 * with err_set() naming the file and line.  Every reader of the file
 * (report, notify) goes through it.
 */
struct csvio_row;
int reconcile_csv_row(const struct csvio_row *row, const char *path);

/*
 * Count the rows of PROPERTY in the reconcile.csv at PATH into COUNTS (by
 * kind, added to what COUNTS holds): how `unitsync notify` tells a
 * property's drift.  Its header must be RECONCILE_HEADER and each row of
 * a known kind.  0, or -1 with err_set() naming the file and line.
 */
int reconcile_count_file(const char *path, const char *property, long counts[RECONCILE_N_KINDS]);

/* A pair to assert again (--repair): a removed_outside or missing_in_latch row. */
struct reconcile_pair {
	const char *kind, *latch_unit_id, *latch_user_id, *pms_unit_id, *pms_person_id;
	/* the PMS record's contact, for a USER_CREATE when latch_user_id is "" */
	const char *email, *phone, *first_name, *last_name;
};

/* FN for each pair to assert again, one per (Latch unit, PMS person), in
 * order of PMS person, then Latch unit (a person's rows together, as load
 * reads a delta); FN returns 0 to go on.  -1 on error or when FN
 * fails. */
int reconcile_pairs(struct reconcile *rc, int (*fn)(const struct reconcile_pair *pair, void *ctx),
		    void *ctx);

/*
 * May the decision be repaired (--repair)?  0 yes; 1 the safety guard
 * holds the property in that run and nobody approved it (a repair would
 * send what the guard holds); 2 UNASSIGNs of that run are not loaded yet
 * (a repair run supersedes the run: its removals would wait a night);
 * 3 there is no decision.  WHY (SIZE bytes) says so.  -1 on a database
 * error.
 */
int reconcile_repair_check(struct reconcile *rc, char *why, size_t size);

/*
 * What a repair run of the decision records: its as-of date into AS_OF
 * (SIZE bytes); *INPUTS (new reference), its input snapshots as transform's
 * manifest lists them ({snapshot_id, property_id, source_name, sha256,
 * dialect, people}); *POLICY (new reference), the property's time zone
 * and unit sync.  -1 on a database error.
 */
struct json_t;
int reconcile_decision(struct reconcile *rc, char *as_of, size_t size, struct json_t **inputs,
		       struct json_t **policy);

void reconcile_release(struct reconcile *rc);

#endif
