/*
 * test_runstatus.c - lib/runstatus.h: a run's status, first match wins, in
 * the order the header gives (loaded, partially failed, superseded,
 * incomplete, held, partially failed, approved, incomplete, written).
 * Each case is a run recorded as transform and load would leave it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "dbfixture.h"
#include "runstatus.h"

/* Step SQL with the text parameters given, a list ended by NULL. */
static void exec_bound(sqlite3 *db, const char *sql, ...)
{
	sqlite3_stmt *st = NULL;
	const char *v;
	va_list ap;
	int i = 1;

	assert_int_equal(db_prepare(db, sql, &st), 0);
	va_start(ap, sql);
	while ((v = va_arg(ap, const char *)) != NULL)
		db_bind_text_or_null(st, i++, v);
	va_end(ap);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* Run ID of property p1: ROWS delta rows, GUARD, approved at APPROVED
 * ("" none), last load LOAD_STATUS at LOADED ("" none). */
static void run(sqlite3 *db, const char *id, const char *rows, const char *guard,
		const char *approved, const char *load_status, const char *loaded)
{
	exec_bound(db,
		   "INSERT INTO run (run_id, run_dir, as_of, delta_sha256, manifest_sha256, "
		   "delta_rows, guard, created_at, approved_by, approved_at, load_status, loaded_at) "
		   "VALUES (?1, 'runs/' || ?1, '2026-06-01', 'd', 'm', ?2, ?3, "
		   "'2026-06-01T02:00:00Z', CASE WHEN ?4 IS NULL THEN NULL ELSE 'jane' END, ?4, ?5, ?6)",
		   id, rows, guard, approved, load_status, loaded, (const char *)NULL);
	exec_bound(db,
		   "INSERT INTO run_input (run_id, property_id, snapshot_id) VALUES (?1, 'p1', 1)",
		   id, (const char *)NULL);
}

/* Property P of run ID had no export (transform's property_missing). */
static void no_export_of(sqlite3 *db, const char *id, const char *p)
{
	exec_bound(db,
		   "INSERT INTO run_input (run_id, property_id, snapshot_id) VALUES (?1, ?2, NULL)",
		   id, p, (const char *)NULL);
}

/* Journal rows FROM..TO of run ID in STATE. */
static void journal(sqlite3 *db, const char *id, int from, int to, const char *state)
{
	for (int seq = from; seq <= to; seq++) {
		char n[16];

		snprintf(n, sizeof(n), "%d", seq);
		exec_bound(db,
			   "INSERT INTO journal (run_id, seq, op, idempotency_key, state, updated_at) "
			   "VALUES (?1, ?2, 'ASSIGN', 'k', ?3, '2026-06-01T02:00:00Z')",
			   id, n, state, (const char *)NULL);
	}
}

/* UPDATE run ID SET SQL_SET, a literal of this file binding A as ?1, B as ?2. */
static void set(sqlite3 *db, const char *id, const char *sql_set, const char *a, const char *b)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "UPDATE run SET %s WHERE run_id = ?3", sql_set);
	exec_bound(db, sql, a, b, id, (const char *)NULL);
}

static void assert_status(sqlite3 *db, const char *id, const char *want)
{
	struct runstatus rs;
	char line[1024];

	assert_int_equal(runstatus_get(db, id, &rs), 1);
	if (strcmp(rs.status, want) != 0)
		fail_msg("run %s: status '%s', expected '%s'", id, rs.status, want);
	runstatus_describe(&rs, line, sizeof(line));
	/* the line every command prints starts with the word and a colon */
	assert_int_equal(strncmp(line, want, strlen(want)), 0);
	assert_int_equal(line[strlen(want)], ':');
}

static void unknown_run_is_0(void **state)
{
	struct fixture *fx = *state;
	struct runstatus rs;

	assert_int_equal(runstatus_get(fx->db, "nope", &rs), 0);
}

static void written_then_loaded(void **state)
{
	struct fixture *fx = *state;

	run(fx->db, "r1", "3", "ok", "", "", "");
	assert_status(fx->db, "r1", "written");
	journal(fx->db, "r1", 1, 3, "done");
	assert_status(fx->db, "r1", "loaded");
	/* a newer run does not change what a finished run was */
	run(fx->db, "r2", "0", "ok", "", "", "");
	assert_status(fx->db, "r1", "loaded");
	/* a run of no rows is loaded once load ran on it */
	assert_status(fx->db, "r2", "written");
	set(fx->db, "r2", "load_status = ?1, loaded_at = ?2", "done", "2026-06-01T02:10:00Z");
	assert_status(fx->db, "r2", "loaded");
}

static void open_rows_are_incomplete_until_superseded(void **state)
{
	struct fixture *fx = *state;

	run(fx->db, "r1", "3", "ok", "", "incomplete", "2026-06-01T02:10:00Z");
	journal(fx->db, "r1", 1, 1, "done");
	journal(fx->db, "r1", 2, 2, "inflight");
	journal(fx->db, "r1", 3, 3, "pending");
	assert_status(fx->db, "r1", "incomplete");
	run(fx->db, "r2", "1", "ok", "", "", "");
	assert_status(fx->db, "r1", "superseded");
}

static void failed_rows_stay_partially_failed(void **state)
{
	struct fixture *fx = *state;

	run(fx->db, "r1", "3", "ok", "", "failed", "2026-06-01T02:10:00Z");
	journal(fx->db, "r1", 1, 2, "done");
	journal(fx->db, "r1", 3, 3, "failed");
	assert_status(fx->db, "r1", "partially failed");
	run(fx->db, "r2", "1", "ok", "", "", "");
	assert_status(fx->db, "r1", "partially failed");
}

static void failed_with_open_rows_is_incomplete(void **state)
{
	struct fixture *fx = *state;

	run(fx->db, "r1", "3", "ok", "", "incomplete", "2026-06-01T02:10:00Z");
	journal(fx->db, "r1", 1, 1, "failed");
	journal(fx->db, "r1", 2, 2, "inflight");
	assert_status(fx->db, "r1", "incomplete");
}

static void held_approved_loaded(void **state)
{
	struct fixture *fx = *state;

	run(fx->db, "r1", "3", "held", "", "", "");
	assert_status(fx->db, "r1", "held");
	/* a load of a held run sends only its other properties' rows */
	journal(fx->db, "r1", 1, 1, "done");
	set(fx->db, "r1", "load_status = ?1, loaded_at = ?2", "held", "2026-06-01T02:10:00Z");
	assert_status(fx->db, "r1", "held");
	/* approved in the same second as that load: still waits for a load */
	set(fx->db, "r1", "approved_by = ?1, approved_at = ?2", "jane", "2026-06-01T02:10:00Z");
	assert_status(fx->db, "r1", "approved");
	journal(fx->db, "r1", 2, 3, "done");
	assert_status(fx->db, "r1", "loaded");
}

static void held_with_failed_rows_stays_held_until_approved(void **state)
{
	struct fixture *fx = *state;

	run(fx->db, "r1", "3", "held", "", "held", "2026-06-01T02:10:00Z");
	journal(fx->db, "r1", 1, 1, "failed");
	assert_status(fx->db, "r1", "held");
	set(fx->db, "r1", "approved_by = ?1, approved_at = ?2", "jane", "2026-06-01T03:00:00Z");
	assert_status(fx->db, "r1", "partially failed");
}

static void held_then_superseded(void **state)
{
	struct fixture *fx = *state;

	run(fx->db, "r1", "3", "held", "", "", "");
	run(fx->db, "r2", "1", "ok", "", "", "");
	assert_status(fx->db, "r1", "superseded");
}

static void empty_run_is_loaded_only_by_a_load_to_the_end(void **state)
{
	struct fixture *fx = *state;

	/* a load that held the run (a property held with no rows) sent nothing */
	run(fx->db, "r1", "0", "held", "", "held", "2026-06-01T02:10:00Z");
	assert_status(fx->db, "r1", "held");
	run(fx->db, "r2", "0", "ok", "", "incomplete", "2026-06-01T02:10:00Z");
	assert_status(fx->db, "r2", "incomplete");
}

static void no_export_is_told(void **state)
{
	struct fixture *fx = *state;
	struct runstatus rs;
	char line[1024];

	/* the nightly job with p2's file refused: p1 loaded, nothing for p2 */
	run(fx->db, "r1", "2", "ok", "", "done", "2026-06-01T02:10:00Z");
	no_export_of(fx->db, "r1", "p2");
	journal(fx->db, "r1", 1, 2, "done");
	assert_status(fx->db, "r1", "no export");
	assert_int_equal(runstatus_get(fx->db, "r1", &rs), 1);
	runstatus_describe(&rs, line, sizeof(line));
	assert_string_equal(line, "no export: for p2 (missing, or a file refused), nothing was "
				  "decided for it; 2 of 2 rows done: fix the export, then rerun");
	/* a run of no rows, never loaded: the journal says so, and not "not loaded" */
	run(fx->db, "r2", "0", "ok", "", "", "");
	no_export_of(fx->db, "r2", "p2");
	assert_status(fx->db, "r2", "written");
	assert_int_equal(runstatus_get(fx->db, "r2", &rs), 1);
	runstatus_journal_describe(&rs, line, sizeof(line));
	assert_string_equal(line, "no rows");
	/* rows failed for good say more than the missing export */
	run(fx->db, "r3", "2", "ok", "", "failed", "2026-06-01T02:10:00Z");
	no_export_of(fx->db, "r3", "p2");
	journal(fx->db, "r3", 1, 1, "done");
	journal(fx->db, "r3", 2, 2, "failed");
	assert_status(fx->db, "r3", "partially failed");
}

static void loaded_in_part_is_incomplete(void **state)
{
	struct fixture *fx = *state;

	/* load --property: one property's rows done, the rest never journaled */
	run(fx->db, "r1", "3", "ok", "", "done", "2026-06-01T02:10:00Z");
	journal(fx->db, "r1", 1, 1, "done");
	assert_status(fx->db, "r1", "incomplete");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(unknown_run_is_0, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(written_then_loaded, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(open_rows_are_incomplete_until_superseded, db_setup,
						db_teardown),
		cmocka_unit_test_setup_teardown(failed_rows_stay_partially_failed, db_setup,
						db_teardown),
		cmocka_unit_test_setup_teardown(failed_with_open_rows_is_incomplete, db_setup,
						db_teardown),
		cmocka_unit_test_setup_teardown(held_approved_loaded, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(held_with_failed_rows_stays_held_until_approved,
						db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(held_then_superseded, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(loaded_in_part_is_incomplete, db_setup,
						db_teardown),
		cmocka_unit_test_setup_teardown(empty_run_is_loaded_only_by_a_load_to_the_end,
						db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(no_export_is_told, db_setup, db_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
