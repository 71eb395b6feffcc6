/*
 * ledger.h - the one owner of every write to unitsync's ledger: the load
 * journal (table journal), what Latch is known to hold (assignment), the
 * Latch user each PMS person was matched to (person_user), and the runs
 * (run, run_input, and delta_history and run_exception, every delta and
 * exceptions.csv row a run wrote, for `unitsync explain`) with their load and approval state (docs/ARCHITECTURE.md §2, §5;
 * issue 15: one owner per state table, one definition of "superseded").
 *
 * Two things are "superseded", each defined once, here:
 * - a run, for a property, when a newer run read that property: the newer
 *   one decided afresh, so the older one must neither be loaded nor
 *   approved for it (ledger_newer_runs);
 * - a journal row an earlier load left inflight (sent, outcome unknown),
 *   once a later run's row for the same property, person and Latch unit
 *   (or user, for a USER_CREATE) got a known answer from Latch
 *   (ledger_record_effect settles it).
 *
 * Errors: -1 with err_set() ("database: ...", as db_error() words it; "journal:
 * ..." for a journal row gone); the caller picks the exit code (a busy
 * database is a temporary failure).
 * Statements are prepared on first use and owned by the struct ledger.
 */
#ifndef UNITSYNC_LEDGER_H
#define UNITSYNC_LEDGER_H

#include "delta.h"

#include <sqlite3.h>
#include <stddef.h>

enum {
	LEDGER_N_STMT = 17
};

/* A ledger open on a database for one run; fields private. */
struct ledger {
	sqlite3 *db;                     /* borrowed */
	const char *run_id;              /* the run being loaded, borrowed */
	sqlite3_stmt *st[LEDGER_N_STMT]; /* prepared on first use, owned */
	int others_inflight;             /* another run has a row inflight: 1 yes,
					  * 0 no, -1 not known (outside
					  * ledger_tx_begin()/ledger_tx_end()) */
};

/* Open the ledger of DB for run RUN_ID (both borrowed, must outlive it). */
void ledger_init(struct ledger *lg, sqlite3 *db, const char *run_id);

/* Finalize the statements (safe to call twice, and on a zeroed struct). */
void ledger_release(struct ledger *lg);

/*
 * The journal state of row SEQ (an OP row) of the run, creating it as
 * "pending" with Idempotency-Key KEY on first sight.  STATE (SIZE bytes)
 * receives pending | inflight | done | failed | superseded, and KEY
 * (LEDGER_KEY_SIZE bytes) the key journaled for the row: the key a resumed
 * request must carry.  Inside the caller's write transaction (db_begin):
 * the first sight writes.
 */
#define LEDGER_KEY_SIZE 65
int ledger_journal_state(struct ledger *lg, long seq, enum delta_op op, char *key, char *state,
			 size_t size);

/*
 * Read-only (load --dry-run): row SEQ's journal state into STATE (SIZE
 * bytes) and its journaled Idempotency-Key into KEY (LEDGER_KEY_SIZE
 * bytes): 1 when journaled, 0 when not (STATE and KEY left as they are).
 */
int ledger_journal_get(struct ledger *lg, long seq, char *key, char *state, size_t size);

/*
 * Set row SEQ's journal state (inside the caller's transaction).
 * HTTP_STATUS 0, RESPONSE, USER and KEY NULL leave those unset; USER and
 * KEY, when given, replace the journaled ones (KEY: the Idempotency-Key
 * the row is sent with from now on).  "inflight" counts an attempt.
 */
int ledger_journal_set(struct ledger *lg, long seq, const char *state, long http_status,
		       const char *response, const char *user, const char *key);

/*
 * The caller's write transaction (db_begin(): BEGIN IMMEDIATE) has just
 * begun: note whether another run has a journal row inflight.  None can
 * appear until the transaction ends (no other connection writes, and a
 * ledger makes only its own run's rows inflight), so until
 * ledger_tx_end() ledger_record_effect() does not look for unconfirmed
 * effects to settle and ledger_unconfirmed_create() finds none when there
 * are none: in a night with nothing left unconfirmed, each row's search
 * (a scan of the rows inflight, the load's own included) costs nothing
 * (issue 18: load without latency).  Without it (or after
 * ledger_tx_end()) they search every time.  -1 with err_set() on a
 * database error.
 */
int ledger_tx_begin(struct ledger *lg);
void ledger_tx_end(struct ledger *lg);

/*
 * An earlier run's USER_CREATE for PROPERTY's PERSON left unconfirmed (the
 * oldest): 1 with its run id in RUN (RUN_SIZE bytes) and its
 * Idempotency-Key in KEY (LEDGER_KEY_SIZE bytes), 0 when there is none.
 */
int ledger_unconfirmed_create(struct ledger *lg, const char *property, const char *person,
			      char *run, size_t run_size, char *key);

/*
 * The USER_CREATE rows of PROPERTY's PERSON in runs other than this one,
 * from run SINCE on (the run whose key it is: no row sent it before), that
 * were sent (at least once) with Idempotency-Key KEY: the requests Latch
 * may hold the key for.  FN(RUN_ID, SEQ, RUN_DIR, CTX) for each, oldest
 * first (the strings valid during the call); FN returns 0 to go on,
 * anything else to stop (returned).  0 when done, -1 on a database error.
 */
int ledger_key_senders(struct ledger *lg, const char *property, const char *person, const char *key,
		       const char *since,
		       int (*fn)(const char *run_id, long seq, const char *run_dir, void *ctx),
		       void *ctx);

/*
 * Is Latch user USER recorded (person_user) for a resident other than
 * PROPERTY's PERSON?  With NAME not NULL: recorded with a name key other
 * than NAME (rules_name_key()), now or ever (person_user_history: a
 * departed tenant whose id was since given to someone else, the same id
 * included); a user recorded without one, before migration 14, is not
 * counted.  1 yes, that one's "property/person" in OTHER (SIZE bytes); 0
 * no; -1 on a database error, with err_set().
 */
int ledger_user_holder(struct ledger *lg, const char *user, const char *property,
		       const char *person, const char *name, char *other, size_t size);

/*
 * What Latch holds under KEY is known (load replayed the request it holds):
 * the earlier runs' USER_CREATE rows of PROPERTY's PERSON still inflight
 * with KEY become superseded (the same rows ledger_record_effect() would
 * settle), with HTTP_STATUS and RESPONSE (what the replay said) as their
 * answer.  Inside the caller's transaction.
 */
int ledger_settle_key(struct ledger *lg, const char *property, const char *person, const char *key,
		      long http_status, const char *response);

/*
 * Row D (row SEQ of the run) got a known answer from Latch: mark it done
 * with HTTP_STATUS and USER (the Latch user it acted for), record its
 * effect (USER_CREATE: person_user, with the e-mail and the phone's
 * digits; ASSIGN: assignment, owned by unitsync or, with MANUAL, by whoever
 * assigned it before; UNASSIGN: the assignment removed), and settle what
 * earlier loads left unconfirmed for the same person and unit.  The
 * person's Latch user or the assignment as it stands after the effect is
 * kept in person_user_history or assignment_history (migration 9, for
 * `unitsync replay`).  Inside the caller's transaction, so the journal and
 * the applied state never disagree.
 */
int ledger_record_effect(struct ledger *lg, const struct delta_row *d, long http_status,
			 const char *user, int manual);

/*
 * The properties of run RUN_ID that a newer run has read (the run is
 * superseded for them): FN(PROPERTY, NEWER_RUN_ID, CTX) for each, in
 * property order; FN returns 0 to go on, anything else to stop (returned).
 * 0 when done, -1 on a database error.
 */
int ledger_newer_runs(sqlite3 *db, const char *run_id,
		      int (*fn)(const char *property, const char *newer, void *ctx), void *ctx);

/*
 * Release RUN_ID, held by the safety guard, as approved by BY now, provided
 * the database recorded it with DELTA_SHA256 and MANIFEST_SHA256: 1 done,
 * 0 no such run as transform wrote it, -1 on a database error.  NOW
 * (at least 32 bytes) receives the time recorded; the newest run then is
 * kept too (approved_last_run: replay takes back a later approval).  Inside the caller's
 * write transaction (db_begin), with the checks that allowed it.
 */
int ledger_approve(sqlite3 *db, const char *run_id, const char *delta_sha256,
		   const char *manifest_sha256, const char *by, char *now);

/*
 * Transform's records, inside its transaction: row D of the run's delta
 * (from SNAPSHOT_ID, 0 for none, and SOURCE_REF, NULL for none), then the
 * run itself once its directory is published: RUN_DIR, AS_OF, the digests
 * of its delta.csv and manifest.json, ROWS delta rows, the safety guard's
 * verdict GUARD ("ok" or "held"), the mapping's last change then, the
 * instant lib/date's clock gave this process (clock_at: "today" and export
 * ages were judged at it) and the journal rows inflight then
 * (run_inflight), which `unitsync replay` rewinds a copy to; and
 * each property it read with each input snapshot (SNAPSHOT_ID 0: a
 * property with no export that night) and the property's own guard
 * verdict GUARD ("ok" or "held") with its reasons GUARD_WHY (NULL when
 * ok); and row SEQ (1 up, in file order) of the run's exceptions.csv,
 * its fields exactly as the file has them ("" for an empty one): the
 * "why not" of `unitsync explain` (issue 19).  One prepared statement
 * each, reused for every row.
 */
int ledger_record_delta(struct ledger *lg, const struct delta_row *d, long long snapshot_id,
			const char *source_ref);
int ledger_record_run(struct ledger *lg, const char *run_dir, const char *as_of,
		      const char *delta_sha256, const char *manifest_sha256, long rows,
		      const char *guard);
int ledger_record_input(struct ledger *lg, const char *property_id, long long snapshot_id,
			const char *guard, const char *guard_why);
int ledger_record_exception(struct ledger *lg, long seq, const char *kind, const char *property_id,
			    const char *pms_unit_id, const char *pms_person_id, const char *detail);

/* Record the outcome of loading RUN_ID: load_status STATUS, loaded now
 * (inside the caller's write transaction, db_begin). */
int ledger_run_loaded(sqlite3 *db, const char *run_id, const char *status);

#endif
