/*
 * test_metrics.c - lib/metrics.h: the Prometheus text format as the
 * exposition format 0.0.4 says it (label values escaped: backslash, double
 * quote, line feed), families present only when they have samples, and
 * the run's figures as the tables record them.
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
#include "metrics.h"

/* The metrics of night N from DB, as one malloc'd string. */
static char *render(sqlite3 *db, const struct metrics_night *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	assert_int_equal(metrics_write(db, n, fp), 0);
	fclose(fp);
	return buf;
}

static void exec(sqlite3 *db, const char *sql)
{
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* A run of a property whose id holds each character the format escapes. */
static void escapes_label_values(void **state)
{
	struct fixture *fx = *state;
	struct metrics_night n = { .ended = 1700000000, .exit_code = 4, .run_id = "r1" };
	char *text;

	exec(fx->db,
	     "INSERT INTO run (run_id, run_dir, as_of, delta_sha256, manifest_sha256, delta_rows, "
	     "guard, created_at) VALUES ('r1', 'runs/r1', '2026-06-01', 'd', 'm', 2, 'held', "
	     "'2026-06-01T02:00:00Z');"
	     "INSERT INTO run_input (run_id, property_id, snapshot_id, guard) "
	     "VALUES ('r1', 'a\"b\\c' || char(10) || 'd', NULL, 'held');"
	     "INSERT INTO delta_history (run_id, seq, op, property_id, pms_person_id, reason, "
	     "effective_date) VALUES "
	     "('r1', 1, 'ASSIGN', 'a\"b\\c' || char(10) || 'd', 'P1', 'move_in', '2026-06-01'),"
	     "('r1', 2, 'ASSIGN', 'a\"b\\c' || char(10) || 'd', 'P2', 'move_in', '2026-06-01');"
	     "INSERT INTO journal (run_id, seq, op, idempotency_key, state, updated_at) "
	     "VALUES ('r1', 1, 'ASSIGN', 'k', 'failed', '2026-06-01T02:00:00Z');");
	text = render(fx->db, &n);
	assert_non_null(strstr(text, "unitsync_last_run_timestamp_seconds 1700000000\n"));
	assert_non_null(strstr(text, "unitsync_last_run_exit_code 4\n"));
	assert_non_null(strstr(text, "unitsync_guard_held{property=\"a\\\"b\\\\c\\nd\"} 1\n"));
	assert_non_null(strstr(text,
			       "unitsync_delta_rows{property=\"a\\\"b\\\\c\\nd\",op=\"ASSIGN\","
			       "reason=\"move_in\"} 2\n"));
	/* one row journaled (failed), one never sent */
	assert_non_null(strstr(text, "{property=\"a\\\"b\\\\c\\nd\",outcome=\"failed\"} 1\n"));
	assert_non_null(strstr(text, "{property=\"a\\\"b\\\\c\\nd\",outcome=\"unsent\"} 1\n"));
	/* never loaded in full: no last success; no exception rows: no family */
	assert_null(strstr(text, "unitsync_last_success"));
	assert_null(strstr(text, "unitsync_exceptions"));
	free(text);
}

/* Without a database only the night's own families; each family's HELP
 * and TYPE come once, before its first sample. */
static void night_only_without_database(void **state)
{
	static const struct metrics_stage stages[] = { { "extract", 1.5 }, { "load", 0.25 } };
	struct metrics_night n = { .ended = 1700000000,
				   .exit_code = 78,
				   .run_id = "r1",
				   .stages = stages,
				   .n_stages = 2 };
	char *text;

	(void)state;
	text = render(NULL, &n);
	assert_string_equal(
		text,
		"# HELP unitsync_last_run_timestamp_seconds When the last night ended, Unix time.\n"
		"# TYPE unitsync_last_run_timestamp_seconds gauge\n"
		"unitsync_last_run_timestamp_seconds 1700000000\n"
		"# HELP unitsync_last_run_exit_code Exit code of the last night "
		"(unitsync-nightly(1)): 0 ok.\n"
		"# TYPE unitsync_last_run_exit_code gauge\n"
		"unitsync_last_run_exit_code 78\n"
		"# HELP unitsync_stage_duration_seconds Wall time of each stage of the last "
		"night, seconds.\n"
		"# TYPE unitsync_stage_duration_seconds gauge\n"
		"unitsync_stage_duration_seconds{stage=\"extract\"} 1.5\n"
		"unitsync_stage_duration_seconds{stage=\"load\"} 0.25\n");
	free(text);
}

/* A run id the database does not know is an error, not an empty file. */
static void unknown_run_refused(void **state)
{
	struct fixture *fx = *state;
	struct metrics_night n = { .ended = 1, .exit_code = -1, .run_id = "nope" };
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_int_equal(metrics_write(fx->db, &n, fp), -1);
	fclose(fp);
	assert_null(strstr(buf, "unitsync_last_run_exit_code"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(escapes_label_values, db_setup, db_teardown),
		cmocka_unit_test(night_only_without_database),
		cmocka_unit_test_setup_teardown(unknown_run_refused, db_setup, db_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
