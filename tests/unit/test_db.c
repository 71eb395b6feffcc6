/*
 * test_db.c - lib/db.h: a read loop tells an error from the end of its rows;
 * a second db_open() of a file leaves the first connection's locks alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "dbfixture.h"
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

/*
 * Does another process see a lock of this one on the database file at
 * PATH, where SQLite's connections hold their shared lock (SHARED_FIRST:
 * 0x40000000 + 2, 510 bytes)?  POSIX locks are per process: only another
 * one can see them.
 */
static int locked_by_this_process(const char *path)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK,
				    .l_whence = SEEK_SET,
				    .l_start = 0x40000000 + 2,
				    .l_len = 510 };
		int fd = open(path, O_RDWR);

		_exit(fd >= 0 && fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A second db_open() of the same file (a checkpointer, a verifier) leaves
 * the first connection's locks alone: a descriptor of the file opened and
 * closed beside SQLite would drop them all, and another process could
 * then delete the WAL under them */
static void db_open_keeps_the_other_connections_locks(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *second = NULL;

	assert_int_equal(db_exec(fx->db, "CREATE TABLE k (x); INSERT INTO k VALUES (1)"), 0);
	assert_true(locked_by_this_process(fx->path));
	assert_int_equal(db_open(fx->path, 0, &second), 0);
	assert_true(locked_by_this_process(fx->path));
	db_close(second);
	assert_true(locked_by_this_process(fx->path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(db_row_tells_an_error_from_the_end),
		cmocka_unit_test_setup_teardown(db_open_keeps_the_other_connections_locks, db_setup,
						db_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
