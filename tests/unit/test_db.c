/*
 * test_db.c - lib/db.h: a read loop tells an error from the end of its rows;
 * db_checkpointer_start() checkpoints on its own thread and keeps the WAL
 * bounded; a second db_open() of a file leaves the first connection's
 * locks alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
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

/* FX's database file, or its WAL with SUFFIX "-wal": bytes */
static long long file_size(const struct fixture *fx, const char *suffix)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", fx->path, suffix);
	return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* N commits of one blob of SIZE bytes each into table b */
static void commit_blobs(sqlite3 *db, int n, int size)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO b VALUES (zeroblob(?))", -1, &st,
					    NULL),
			 SQLITE_OK);
	for (int i = 0; i < n; i++) {
		assert_int_equal(db_begin(db), 0);
		sqlite3_bind_int(st, 1, size);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		assert_int_equal(db_commit(db), 0);
	}
	sqlite3_finalize(st);
}

/* The WAL past DB_CHECKPOINT_PAGES, short of DB_WAL_MAX_PAGES: the thread
 * copies it into the database file (the writer's commits checkpoint only
 * at DB_WAL_MAX_PAGES, SQLite's automatic checkpoint is off) */
static void checkpointer_checkpoints_on_its_thread(void **state)
{
	struct fixture *fx = *state;
	struct db_checkpointer c;
	long long before;

	assert_int_equal(db_exec(fx->db, "CREATE TABLE b (x BLOB)"), 0);
	assert_int_equal(db_checkpointer_start(&c, fx->db, fx->path), 0);
	before = file_size(fx, "");
	/* 750 pages of 4 KiB in 15 commits: past DB_CHECKPOINT_PAGES, short of
	 * DB_WAL_MAX_PAGES, so that only the thread can have copied them */
	commit_blobs(fx->db, 15, 50 * 4096);
	assert_true(db_checkpointer_stop(&c) >= 1);
	assert_true(file_size(fx, "") > before + DB_CHECKPOINT_PAGES * 4096LL);
}

/* A writer that never pauses: the WAL starts over only when a write finds
 * it all checkpointed, so at DB_WAL_MAX_PAGES the writer's commit
 * checkpoints; the WAL file never holds much more */
static void checkpointer_keeps_the_wal_bounded(void **state)
{
	struct fixture *fx = *state;
	struct db_checkpointer c;

	assert_int_equal(db_exec(fx->db, "CREATE TABLE b (x BLOB)"), 0);
	assert_int_equal(db_checkpointer_start(&c, fx->db, fx->path), 0);
	/* 30,000 pages in 600 commits of 50 */
	commit_blobs(fx->db, 600, 50 * 4096);
	db_checkpointer_stop(&c);
	/* each frame is a page and a 24-byte header; a commit may overshoot by its own */
	assert_true(file_size(fx, "-wal") <= (DB_WAL_MAX_PAGES + 100LL) * (4096 + 24) + 32);
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
		cmocka_unit_test_setup_teardown(checkpointer_checkpoints_on_its_thread, db_setup,
						db_teardown),
		cmocka_unit_test_setup_teardown(checkpointer_keeps_the_wal_bounded, db_setup,
						db_teardown),
		cmocka_unit_test_setup_teardown(db_open_keeps_the_other_connections_locks, db_setup,
						db_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
