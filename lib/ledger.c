#include "ledger.h"
#include "db.h"
#include "date.h"
#include "err.h"
#include "latch.h"
#include "rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The statements, by what they do. */
enum {
	S_JPUT,
	S_JGET,
	S_JSET,
	S_LEND,
	S_USER,
	S_ASSIGN,
	S_UNASSIGN,
	S_SETTLE,
	S_HISTORY,
	S_INPUT,
	S_EXCEPTION,
	S_USER_LOG,
	S_ASSIGN_LOG,
	S_SENDERS,
	S_KEY_SETTLE,
	S_USER_HOLDER,
	S_OTHERS,
};

/*
 * The one definition of an effect an earlier load left unconfirmed that a
 * row of this run settles: journal rows of other runs still inflight (sent,
 * outcome unknown) whose delta row names the same property (?2), person
 * (?3) and Latch unit (?4; "" names the person's USER_CREATE, whose delta
 * row has no unit).  ?1 is this run's id.  A condition on table journal.
 */
#define UNCONFIRMED_EARLIER                                                              \
	"journal.state = 'inflight' AND journal.run_id <> ?1 AND EXISTS (SELECT 1 FROM " \
	"delta_history h WHERE h.run_id = journal.run_id AND h.seq = journal.seq "       \
	"AND h.property_id = ?2 AND h.pms_person_id = ?3 AND h.latch_unit_id IS nullif(?4, ''))"

static const char *const sql[LEDGER_N_STMT] = {
	[S_JPUT] = "INSERT INTO journal (run_id, seq, op, idempotency_key, state, updated_at) "
		   "VALUES (?1, ?2, ?3, ?4, 'pending', ?5) ON CONFLICT DO NOTHING",
	[S_JGET] = "SELECT state, idempotency_key FROM journal WHERE run_id = ?1 AND seq = ?2",
	[S_JSET] = "UPDATE journal SET state = ?3, http_status = ?4, response = ?5, "
		   "latch_user_id = coalesce(?6, latch_user_id), "
		   "idempotency_key = coalesce(?8, idempotency_key), "
		   "attempts = attempts + (?3 = 'inflight'), updated_at = ?7 "
		   "WHERE run_id = ?1 AND seq = ?2",
	[S_LEND] = "SELECT run_id, idempotency_key FROM journal WHERE " UNCONFIRMED_EARLIER
		   " ORDER BY run_id, seq LIMIT 1",
	[S_USER] = "INSERT INTO person_user (property_id, pms_person_id, latch_user_id, "
		   "email, updated_at, phone, name_key) VALUES (?1, ?2, ?3, nullif(?4, ''), ?5, "
		   "nullif(?6, ''), nullif(?7, '')) ON CONFLICT (property_id, pms_person_id) "
		   "DO UPDATE SET latch_user_id = ?3, email = nullif(?4, ''), updated_at = ?5, "
		   "phone = nullif(?6, ''), name_key = nullif(?7, '')",
	[S_ASSIGN] = "INSERT INTO assignment (property_id, pms_person_id, latch_unit_id, "
		     "pms_unit_id, latch_user_id, run_id, seq, assigned_at, owner) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
		     "ON CONFLICT DO UPDATE SET pms_unit_id = ?4, latch_user_id = ?5, "
		     "run_id = ?6, seq = ?7, assigned_at = ?8, owner = ?9",
	/* the pair of the user the row acted for (migration 16: one a user) */
	[S_UNASSIGN] = "DELETE FROM assignment WHERE property_id = ?1 AND pms_person_id = ?2 "
		       "AND latch_unit_id = ?3 AND latch_user_id IN (?4, '')",
	/* Latch now has a known answer for this person and unit (or user):
	 * what an earlier load left unconfirmed there is settled (transform
	 * asserts unconfirmed effects again until a load settles them so) */
	[S_SETTLE] = "UPDATE journal SET state = 'superseded', updated_at = ?5 "
		     "WHERE " UNCONFIRMED_EARLIER,
	[S_HISTORY] = "INSERT INTO delta_history (run_id, seq, op, property_id, pms_person_id, "
		      "pms_unit_id, latch_unit_id, reason, group_id, effective_date, snapshot_id, "
		      "source_ref) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[S_INPUT] = "INSERT INTO run_input (run_id, property_id, snapshot_id, guard, guard_why) "
		    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_EXCEPTION] = "INSERT INTO run_exception (run_id, seq, kind, property_id, pms_unit_id, "
			"pms_person_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* the histories `unitsync replay` rewinds a copy with (migration 9):
	 * a person's Latch user, and an assignment (no row: removed), after
	 * each change */
	[S_USER_LOG] =
		"INSERT INTO person_user_history (property_id, pms_person_id, "
		"latch_user_id, email, phone, updated_at, last_run, name_key) SELECT "
		"property_id, pms_person_id, latch_user_id, email, phone, updated_at, " DB_LAST_RUN
		", name_key FROM person_user WHERE property_id = ?1 AND pms_person_id = ?2",
	/* (no row: removed; the user named either way, migration 16) */
	[S_ASSIGN_LOG] =
		"INSERT INTO assignment_history (property_id, pms_person_id, "
		"latch_unit_id, pms_unit_id, latch_user_id, run_id, seq, assigned_at, owner, "
		"last_run) SELECT ?1, ?2, ?3, a.pms_unit_id, ?4, a.run_id, "
		"a.seq, a.assigned_at, a.owner, " DB_LAST_RUN " FROM (SELECT 1) "
		"LEFT JOIN assignment a ON a.property_id = ?1 AND a.pms_person_id = ?2 "
		"AND a.latch_unit_id = ?3 AND a.latch_user_id = ?4",
	/* the person's USER_CREATE rows of other runs (this property's runs
	 * from ?5 on: a seek per run, no scan of the journal) sent with key ?4 */
	[S_SENDERS] = "SELECT DISTINCT j.run_id, j.seq, r.run_dir FROM run_input i "
		      "JOIN delta_history h ON h.run_id = i.run_id AND h.property_id = ?2 "
		      "AND h.pms_person_id = ?3 AND h.op = 'USER_CREATE' "
		      "JOIN journal j ON j.run_id = h.run_id AND j.seq = h.seq "
		      "JOIN run r ON r.run_id = j.run_id "
		      "WHERE i.property_id = ?2 AND i.run_id >= ?5 AND i.run_id <> ?1 "
		      "AND j.idempotency_key = ?4 AND j.attempts > 0 ORDER BY j.run_id, j.seq",
	/* what Latch made of key ?6 is known now (replayed): the earlier
	 * USER_CREATEs left unconfirmed under it are settled, with that answer */
	/* another resident Latch user ?1 is recorded for; with a name ?4,
	 * one of another name it was ever recorded for (migration 15) */
	[S_USER_HOLDER] =
		"SELECT property_id, pms_person_id FROM person_user "
		"WHERE latch_user_id = ?1 AND NOT (property_id = ?2 AND pms_person_id = ?3) "
		"AND (?4 IS NULL OR name_key <> ?4) "
		"UNION SELECT property_id, pms_person_id FROM person_user_history "
		"WHERE ?4 IS NOT NULL AND latch_user_id = ?1 AND name_key <> ?4 "
		"ORDER BY 1, 2 LIMIT 1",
	/* does any other run have a row inflight (whatever its person)? */
	[S_OTHERS] = "SELECT EXISTS (SELECT 1 FROM journal WHERE state = 'inflight' "
		     "AND run_id <> ?1)",
	[S_KEY_SETTLE] = "UPDATE journal SET state = 'superseded', http_status = ?7, "
			 "response = ?8, updated_at = ?5 WHERE " UNCONFIRMED_EARLIER
			 " AND journal.idempotency_key = ?6",
};

void ledger_init(struct ledger *lg, sqlite3 *db, const char *run_id)
{
	memset(lg, 0, sizeof(*lg));
	lg->db = db;
	lg->run_id = run_id;
	lg->others_inflight = -1;
}

void ledger_release(struct ledger *lg)
{
	for (int i = 0; i < LEDGER_N_STMT; i++) {
		sqlite3_finalize(lg->st[i]);
		lg->st[i] = NULL;
	}
}

/* Statement K, reset and unbound: prepared on first use (the per-row
 * statements run thousands of times a load; preparing is most of their
 * cost). */
static sqlite3_stmt *stmt(struct ledger *lg, int k)
{
	if (!lg->st[k] && db_prepare(lg->db, sql[k], &lg->st[k]) < 0)
		return NULL;
	sqlite3_reset(lg->st[k]);
	sqlite3_clear_bindings(lg->st[k]);
	return lg->st[k];
}

/* Step statement ST to its end: 0, or -1 with err_set() naming WHAT. */
static int done(struct ledger *lg, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_error(lg->db, what);
		return -1;
	}
	return 0;
}

/* Bind the text parameters 1..N of ST: a list ended by (const char *)NULL. */
static void bind_texts(sqlite3_stmt *st, ...)
{
	va_list ap;
	const char *v;
	int i = 1;

	va_start(ap, st);
	while ((v = va_arg(ap, const char *)) != NULL)
		sqlite3_bind_text(st, i++, v, -1, SQLITE_TRANSIENT);
	va_end(ap);
}

int ledger_journal_get(struct ledger *lg, long seq, char *key, char *state, size_t size)
{
	sqlite3_stmt *st = stmt(lg, S_JGET);
	int rc = -1;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, lg->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		snprintf(state, size, "%s", db_col_text(st, 0));
		snprintf(key, LEDGER_KEY_SIZE, "%s", db_col_text(st, 1));
		rc = 1;
		break;
	case SQLITE_DONE:
		rc = 0;
		break;
	default:
		db_error(lg->db, "journal");
	}
	sqlite3_reset(st);
	return rc;
}

int ledger_journal_state(struct ledger *lg, long seq, enum delta_op op, char *key, char *state,
			 size_t size)
{
	sqlite3_stmt *st = stmt(lg, S_JPUT);
	char now[32];
	int found;

	if (!st)
		return -1;
	db_now(now, sizeof(now));
	sqlite3_bind_text(st, 1, lg->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_text(st, 3, delta_op_name(op), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if (done(lg, st, "journal") < 0)
		return -1;
	if (sqlite3_changes(lg->db) == 1) {
		/* journaled just now: pending, under KEY (one statement a new row) */
		snprintf(state, size, "pending");
		return 0;
	}
	found = ledger_journal_get(lg, seq, key, state, size);
	if (found == 0)
		err_set("journal: row %ld of run %s vanished", seq, lg->run_id);
	return found == 1 ? 0 : -1;
}

int ledger_journal_set(struct ledger *lg, long seq, const char *state, long http_status,
		       const char *response, const char *user, const char *key)
{
	sqlite3_stmt *st = stmt(lg, S_JSET);
	char now[32];

	if (!st)
		return -1;
	db_now(now, sizeof(now));
	sqlite3_bind_text(st, 1, lg->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	if (http_status)
		sqlite3_bind_int64(st, 4, http_status);
	db_bind_text_or_null(st, 5, response);
	db_bind_text_or_null(st, 6, user);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	db_bind_text_or_null(st, 8, key);
	return done(lg, st, "journal");
}

int ledger_tx_begin(struct ledger *lg)
{
	sqlite3_stmt *st = stmt(lg, S_OTHERS);
	int rc;

	lg->others_inflight = -1;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, lg->run_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		lg->others_inflight = sqlite3_column_int(st, 0);
	else
		err_set("journal: %s", sqlite3_errmsg(lg->db));
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

void ledger_tx_end(struct ledger *lg)
{
	lg->others_inflight = -1;
}

int ledger_unconfirmed_create(struct ledger *lg, const char *property, const char *person,
			      char *run, size_t run_size, char *key)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (lg->others_inflight == 0)
		return 0; /* no earlier run has a row unconfirmed */
	if (!(st = stmt(lg, S_LEND)))
		return -1;
	bind_texts(st, lg->run_id, property, person, "", (const char *)NULL);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		snprintf(run, run_size, "%s", db_col_text(st, 0));
		snprintf(key, LEDGER_KEY_SIZE, "%s", db_col_text(st, 1));
		rc = 1;
		break;
	case SQLITE_DONE:
		rc = 0;
		break;
	default:
		db_error(lg->db, "journal");
	}
	sqlite3_reset(st);
	return rc;
}

int ledger_key_senders(struct ledger *lg, const char *property, const char *person, const char *key,
		       const char *since,
		       int (*fn)(const char *run_id, long seq, const char *run_dir, void *ctx),
		       void *ctx)
{
	sqlite3_stmt *st = stmt(lg, S_SENDERS);
	int rc = 0, step;

	if (!st)
		return -1;
	bind_texts(st, lg->run_id, property, person, key, since, (const char *)NULL);
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn(db_col_text(st, 0), (long)sqlite3_column_int64(st, 1), db_col_text(st, 2),
			ctx);
	if (rc == 0 && step != SQLITE_DONE) {
		db_error(lg->db, "journal");
		rc = -1;
	}
	sqlite3_reset(st);
	return rc;
}

int ledger_user_holder(struct ledger *lg, const char *user, const char *property,
		       const char *person, const char *name, char *other, size_t size)
{
	sqlite3_stmt *st = stmt(lg, S_USER_HOLDER);
	int rc = -1, step;

	if (!st)
		return -1;
	bind_texts(st, user, property, person, (const char *)NULL);
	if (name)
		sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(other, size, "%s/%s", db_col_text(st, 0), db_col_text(st, 1));
		rc = 1;
	} else if (step == SQLITE_DONE) {
		rc = 0;
	} else {
		db_error(lg->db, "person_user");
	}
	sqlite3_reset(st);
	return rc;
}

int ledger_settle_key(struct ledger *lg, const char *property, const char *person, const char *key,
		      long http_status, const char *response)
{
	sqlite3_stmt *st = stmt(lg, S_KEY_SETTLE);
	char now[32];

	if (!st)
		return -1;
	db_now(now, sizeof(now));
	bind_texts(st, lg->run_id, property, person, "", now, key, (const char *)NULL);
	sqlite3_bind_int64(st, 7, http_status);
	sqlite3_bind_text(st, 8, response, -1, SQLITE_TRANSIENT);
	return done(lg, st, "journal");
}

int ledger_record_effect(struct ledger *lg, const struct delta_row *d, long http_status,
			 const char *user, int manual)
{
	sqlite3_stmt *st;
	char now[32], seq[32], digits[LATCH_PHONE_SIZE], *name;

	db_now(now, sizeof(now));
	snprintf(seq, sizeof(seq), "%ld", d->seq);
	if (ledger_journal_set(lg, d->seq, "done", http_status, NULL, user, NULL) < 0)
		return -1;
	switch (d->op) {
	case DELTA_USER_CREATE:
		/* the phone by its digits, as transform finds a resident by it */
		if (latch_phone_digits(d->phone, digits, sizeof(digits)) < 0)
			digits[0] = '\0';
		if (!(st = stmt(lg, S_USER)))
			return -1;
		bind_texts(st, d->property_id, d->pms_person_id, user, d->email, now, digits,
			   (const char *)NULL);
		/* the name it was made or found for (migration 14; none: NULL, unknown) */
		if (!(name = rules_name_key_new(d->first_name, d->last_name)))
			return -1;
		sqlite3_bind_text(st, 7, name, -1, free);
		break;
	case DELTA_ASSIGN:
		if (!(st = stmt(lg, S_ASSIGN)))
			return -1;
		bind_texts(st, d->property_id, d->pms_person_id, d->latch_unit_id, d->pms_unit_id,
			   user, lg->run_id, seq, now, manual ? "manual" : "unitsync",
			   (const char *)NULL);
		break;
	case DELTA_UNASSIGN:
	default:
		if (!(st = stmt(lg, S_UNASSIGN)))
			return -1;
		bind_texts(st, d->property_id, d->pms_person_id, d->latch_unit_id, user,
			   (const char *)NULL);
		break;
	}
	if (done(lg, st, "database") < 0)
		return -1;
	/* the applied state after this effect, for `unitsync replay` */
	if (!(st = stmt(lg, d->op == DELTA_USER_CREATE ? S_USER_LOG : S_ASSIGN_LOG)))
		return -1;
	if (d->op == DELTA_USER_CREATE)
		bind_texts(st, d->property_id, d->pms_person_id, (const char *)NULL);
	else
		bind_texts(st, d->property_id, d->pms_person_id, d->latch_unit_id, user,
			   (const char *)NULL);
	if (done(lg, st, "database") < 0)
		return -1;
	if (lg->others_inflight == 0)
		return 0; /* nothing an earlier load left unconfirmed to settle */
	if (!(st = stmt(lg, S_SETTLE)))
		return -1;
	bind_texts(st, lg->run_id, d->property_id, d->pms_person_id, d->latch_unit_id, now,
		   (const char *)NULL);
	return done(lg, st, "database");
}

int ledger_newer_runs(sqlite3 *db, const char *run_id,
		      int (*fn)(const char *property, const char *newer, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	if (db_prepare(db,
		       "SELECT mine.property_id, max(other.run_id) FROM run_input mine "
		       "JOIN run_input other ON other.property_id = mine.property_id "
		       "  AND other.run_id > mine.run_id WHERE mine.run_id = ? "
		       "GROUP BY mine.property_id ORDER BY mine.property_id",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	while ((step = db_row(st)) == 1) {
		int r = fn(db_col_text(st, 0), db_col_text(st, 1), ctx);

		if (r) {
			rc = r;
			goto out;
		}
	}
	if (step < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int ledger_run_loaded(sqlite3 *db, const char *run_id, const char *status)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc = -1;

	db_now(now, sizeof(now));
	if (db_prepare(db, "UPDATE run SET load_status = ?1, loaded_at = ?2 WHERE run_id = ?3",
		       &st) < 0)
		return -1;
	bind_texts(st, status, now, run_id, (const char *)NULL);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	else
		db_error(db, NULL);
	sqlite3_finalize(st);
	return rc;
}

int ledger_approve(sqlite3 *db, const char *run_id, const char *delta_sha256,
		   const char *manifest_sha256, const char *by, char *now)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	db_now(now, 32);
	if (db_prepare(db,
		       "UPDATE run SET approved_by = ?1, approved_at = ?2, "
		       "approved_last_run = " DB_LAST_RUN " WHERE run_id = ?3 "
		       "AND delta_sha256 = ?4 AND manifest_sha256 = ?5",
		       &st) < 0)
		return -1;
	bind_texts(st, by, now, run_id, delta_sha256, manifest_sha256, (const char *)NULL);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(db) == 1;
	else
		db_error(db, NULL);
	sqlite3_finalize(st);
	return rc;
}

int ledger_record_delta(struct ledger *lg, const struct delta_row *d, long long snapshot_id,
			const char *source_ref)
{
	sqlite3_stmt *st = stmt(lg, S_HISTORY);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, lg->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->seq);
	sqlite3_bind_text(st, 3, delta_op_name(d->op), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, d->property_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, d->pms_person_id, -1, SQLITE_TRANSIENT);
	db_bind_text_or_null(st, 6, d->pms_unit_id);
	db_bind_text_or_null(st, 7, d->latch_unit_id);
	sqlite3_bind_text(st, 8, d->reason, -1, SQLITE_TRANSIENT);
	db_bind_text_or_null(st, 9, d->group_id);
	sqlite3_bind_text(st, 10, d->effective_date, -1, SQLITE_TRANSIENT);
	if (snapshot_id)
		sqlite3_bind_int64(st, 11, snapshot_id);
	db_bind_text_or_null(st, 12, source_ref);
	return done(lg, st, "database");
}

int ledger_record_run(struct ledger *lg, const char *run_dir, const char *as_of,
		      const char *delta_sha256, const char *manifest_sha256, long rows,
		      const char *guard)
{
	sqlite3_stmt *st = NULL;
	char now[32], clock_at[32];
	time_t clock;
	struct tm tm;
	int rc = -1;

	db_now(now, sizeof(now));
	/* the instant transform judged "today" and export ages at: lib/date
	 * reads the clock once a process */
	if (date_now(&clock) < 0)
		return -1;
	gmtime_r(&clock, &tm);
	strftime(clock_at, sizeof(clock_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (db_prepare(lg->db,
		       "INSERT INTO run (run_id, run_dir, as_of, delta_sha256, delta_rows, guard, "
		       "created_at, manifest_sha256, map_seq, clock_at) VALUES (?1, ?2, ?3, ?4, ?5, "
		       "?6, ?7, ?8, (SELECT coalesce(max(id), 0) FROM map_history), ?9)",
		       &st) < 0)
		return -1;
	bind_texts(st, lg->run_id, run_dir, as_of, delta_sha256, "", guard, now, manifest_sha256,
		   clock_at, (const char *)NULL);
	sqlite3_bind_int64(st, 5, rows);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(lg->db, NULL);
		goto out;
	}
	sqlite3_finalize(st);
	/* what the journal left unconfirmed as this run found it (replay) */
	if (db_prepare(lg->db,
		       "INSERT INTO run_inflight (run_id, journal_run_id, seq, latch_user_id) "
		       "SELECT ?1, run_id, seq, latch_user_id FROM journal WHERE state = 'inflight'",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, lg->run_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(lg->db, NULL);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int ledger_record_input(struct ledger *lg, const char *property_id, long long snapshot_id,
			const char *guard, const char *guard_why)
{
	sqlite3_stmt *st = stmt(lg, S_INPUT);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, lg->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, property_id, -1, SQLITE_TRANSIENT);
	if (snapshot_id)
		sqlite3_bind_int64(st, 3, snapshot_id);
	sqlite3_bind_text(st, 4, guard, -1, SQLITE_TRANSIENT);
	db_bind_text_or_null(st, 5, guard_why);
	return done(lg, st, "database");
}

int ledger_record_exception(struct ledger *lg, long seq, const char *kind, const char *property_id,
			    const char *pms_unit_id, const char *pms_person_id, const char *detail)
{
	sqlite3_stmt *st = stmt(lg, S_EXCEPTION);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, lg->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, property_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, pms_unit_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, pms_person_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, detail, -1, SQLITE_TRANSIENT);
	return done(lg, st, "database");
}
