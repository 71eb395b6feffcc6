/*
 * test_db.c - lib/db.h: a read loop tells an error from the end of its rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <string.h>

#include "db.h"
#include "err.h"

/* rows 1 and 2, then an error that SQLite raises on the third row:
 * abs() of the smallest integer overflows */
static void db_row_tells_an_error_from_the_end(void **state)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT CASE WHEN x < 3 THEN x "
					    "ELSE abs(-9223372036854775807 - 1) END FROM t",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(db_row(st), 1);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_int_equal(db_row(st), 1);
	assert_int_equal(db_row(st), -1);
	assert_non_null(strstr(err_msg(), "integer overflow"));
	sqlite3_finalize(st);

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT x FROM t WHERE x > 5", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(db_row(st), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(db_row_tells_an_error_from_the_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
