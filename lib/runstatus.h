/*
 * runstatus.h - what became of a run, as every command tells it: the one
 * function that computes a run's status (`unitsync report`, `runs list`,
 * `runs show` and `runs list --unfinished` all call it, so they cannot
 * disagree; issue 17), and the run's input snapshots as they tell them.
 *
 * A run's status is one word, decided from the state database alone
 * (tables run, run_input, journal, snapshot), first match wins:
 *
 *   loaded            every delta row is done in the journal (a run of no
 *                     rows: load ran on it to the end, load_status done),
 *                     and every property had an export
 *   no export         the same, but a property had no export (missing, or
 *                     a file refused in the nightly job: run_input without
 *                     a snapshot): nothing was decided for it
 *   partially failed  the load went through, some rows failed for good
 *                     (journal "failed"), none is left to send and no held
 *                     property waits for approval (load-report.csv says why)
 *   superseded        a newer run read one of its properties (the one
 *                     definition: ledger_newer_runs), so what it did not
 *                     send it never will: it can no longer be loaded or
 *                     approved for that property; and no row of another
 *                     property is pending or inflight (else: incomplete,
 *                     load sends those)
 *   incomplete        rows are pending or inflight: a load stopped early
 *                     (API down, budget, signal); rerun load
 *   held              the safety guard held a property and nobody approved
 *   partially failed  (as above, with a held property still waiting)
 *   approved          approved, and not loaded since
 *   incomplete        loaded in part (--property, --shard), nothing open
 *   written           recorded by transform, never loaded
 *
 * Errors: -1 with err_set() ("database: ..."); the caller picks the exit
 * code (db_exit_code).  Ownership: everything is copied into the caller's
 * struct; strings passed to callbacks live until the callback returns.
 */
#ifndef UNITSYNC_RUNSTATUS_H
#define UNITSYNC_RUNSTATUS_H

#include <sqlite3.h>
#include <stddef.h>

/* A run's status and the facts it was decided from. */
struct runstatus {
	const char *status;       /* one of the words above, static */
	char as_of[16];           /* the run's as-of date */
	char created_at[32];      /* when transform recorded it, UTC */
	char run_dir[4096];       /* where transform published it */
	char guard[8];            /* the safety guard's verdict: ok | held */
	char approved_by[256];    /* "" when not approved */
	char approved_at[32];     /* "" when not approved */
	char load_status[16];     /* what the last load recorded: done | failed | held |
				   incomplete; "" when never loaded */
	char loaded_at[32];       /* when the last load ended, "" when never */
	long rows;                /* delta rows */
	long done;                /* journal rows done */
	long failed;              /* journal rows failed for good */
	long pending;             /* journal rows pending (journaled, not sent yet) */
	long inflight;            /* journal rows inflight (sent, no known answer) */
	long open;                /* pending + inflight */
	long settled;             /* journal rows a later run settled (superseded) */
	long live;                /* open rows of properties no newer run read (counted
				   only when one did: else 0) */
	char newer[64];           /* a newer run that read one of its properties, or "" */
	char newer_property[256]; /* that property, or "" */
	long no_export;           /* properties the run had no export for */
	char no_export_id[256];   /* the first of them (by id), or "" */
};

/*
 * The status of run RUN_ID into RS: 1 done, 0 when the database has no
 * such run, -1 on a database error.
 */
int runstatus_get(sqlite3 *db, const char *run_id, struct runstatus *rs);

/*
 * One line saying RS's status with its reason, into BUF (SIZE bytes):
 * "loaded: 20 of 20 rows done", "no export: for p1 (missing or refused),
 * nothing decided for it; ...", "held: by the safety guard, ...", ...:
 * always RS->status, a colon, then the detail.
 */
void runstatus_describe(const struct runstatus *rs, char *buf, size_t size);

/*
 * The journal's view of RS into BUF (SIZE bytes): "done 18, failed 2",
 * the states in the order done, failed, inflight, pending, superseded,
 * each only when some row is in it; "not loaded" when none is, "no rows"
 * for a run of none (whether load ran on it is RS->loaded_at).
 */
void runstatus_journal_describe(const struct runstatus *rs, char *buf, size_t size);

/*
 * The id of the run RUN names, a run id or the run directory transform
 * recorded (any spelling of its path), into BUF (SIZE bytes).  0, or -1
 * with err_set(): "no run 'RUN' in the state database", or "database:
 * ..." on a read error.
 */
int runstatus_resolve(sqlite3 *db, const char *run, char *buf, size_t size);

/* One input of a run: a snapshot it read for a property, or none. */
struct runstatus_input {
	const char *property_id; /* the property */
	long long snapshot_id;   /* 0: no export for the property (property_missing) */
	int pruned;              /* the snapshot is no longer in the database */
	const char *source_name; /* the export file, "" when pruned */
	const char *sha256;      /* the file's SHA-256, "" when pruned */
	long people;             /* people staged for the property, -1 when pruned */
	const char *aged_from;   /* "file modified" or "first staged" (when the file's
				    time is unknown or later than the run), "" when pruned */
	const char *since;       /* that time, UTC, "" when pruned */
	double age_hours;        /* from SINCE to the run's creation; -1 when pruned */
};

/*
 * One line saying IN into BUF (SIZE bytes): "P: snapshot ID 'FILE' sha256
 * HEX, N people, H h old at the run (file modified T)", "P: no export
 * (property missing)" or "P: snapshot ID (pruned: ...)".
 */
void runstatus_input_describe(const struct runstatus_input *in, char *buf, size_t size);

/*
 * FN(INPUT, CTX) for every input of run RUN_ID, by property and snapshot
 * id; FN returns 0 to go on, anything else to stop (returned).  0 when
 * done, -1 on a database error.
 */
int runstatus_inputs(sqlite3 *db, const char *run_id,
		     int (*fn)(const struct runstatus_input *in, void *ctx), void *ctx);

#endif
