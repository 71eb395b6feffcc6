/*
 * db.h - the state database: one SQLite file holding staged snapshots, the
 * unit mapping, property policy, what unitsync has applied to Latch, and
 * the journal of every Latch request.
 *
 * The file is created with mode 0600 (it holds residents' contact
 * details), runs in WAL mode with a 10 s busy timeout so that a reader
 * (report, snapshots list) never blocks the nightly writer and a writer
 * waits out another's brief write (db_begin), and carries its
 * schema version in table schema_version.  Only `unitsync init` creates or
 * migrates; every other program opens an existing database of the current
 * version, as the sqlite3 shell opens a database only if it exists.
 *
 * Errors: functions return 0 on success and -1 with err_set() on failure.
 * Ownership: the caller closes the handle with db_close().
 */
#ifndef UNITSYNC_DB_H
#define UNITSYNC_DB_H

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>

/* The schema version this build writes and reads. */
int db_schema_version(void);

/* The schema version db_open() found in the file it opened last, before
 * migrating it (0: a new database): `unitsync init` says what it did. */
int db_found_version(void);

/*
 * Open PATH.  With CREATE, create it when missing and migrate it to the
 * current schema (what `unitsync init` does); without, fail when it is
 * missing or not at the current version, naming the fix.  The handle is
 * opened SQLITE_OPEN_NOMUTEX: it must be used by one thread at a time (no
 * program shares one; SQLite's per-call locking was 6% of staging).  A
 * process may open PATH more than once (load's checkpointer, transform's
 * verifier): db_open() opens no descriptor of the file beside SQLite's,
 * whose close would drop the POSIX locks of the connections already open.
 * Every connection it opens has the SQL functions unitsync_name_key(FIRST,
 * LAST) (lib/rules' rules_name_key(); NULL for NULL) and unitsync_frame(V, ...):
 * the values as one blob, each its type byte ('n' NULL, 'i' INTEGER, 'r'
 * REAL, 't' TEXT, 'b' BLOB), its length (8 bytes, big-endian) and its
 * text (lib/rowsdigest's row digests).
 */
int db_open(const char *path, int create, sqlite3 **out);

/*
 * One value framed as unitsync_frame() frames it, written at AT (9 + LEN
 * bytes): TYPE ('n', 'i', 'r', 't' or 'b'), LEN as 8 bytes big-endian,
 * then LEN bytes of TEXT (NULL when LEN is 0).  Returns the byte after it.
 */
unsigned char *db_frame_put(unsigned char *at, char type, const void *text, size_t len);

void db_close(sqlite3 *db);

/*
 * The exit code (lib/exitcode.h) for a failed database call on DB, or,
 * when DB is NULL, for the last failed db_open(): the one rule every
 * program's database-failure path uses (issue 16).
 * - SQLITE_BUSY / SQLITE_LOCKED (a lock held past the busy timeout),
 *   SQLITE_FULL or ENOSPC (disk full), SQLITE_IOERR: US_EXIT_TEMPFAIL, a
 *   rerun later may succeed;
 * - SQLITE_CORRUPT / SQLITE_NOTADB: US_EXIT_CORRUPT (and see below);
 * - anything else (no database, wrong schema version, read-only file,
 *   SQL error): US_EXIT_CONFIG.
 * When DB's last call succeeded, the last error SQLite logged or db_exec()
 * met decides (a failed COMMIT, then another statement finalized).
 */
int db_exit_code(sqlite3 *db);

/*
 * Corruption is fatal: from the first db_open() on, SQLite reporting
 * SQLITE_CORRUPT or SQLITE_NOTADB anywhere in the process (a read that
 * would otherwise look like an empty table) prints a message naming the
 * database and "restore from backup" and ends the process with
 * US_EXIT_CORRUPT at once, before anything is written or committed.
 */

/*
 * The busy timeout, in milliseconds: 10000, or UNITSYNC_BUSY_TIMEOUT_MS
 * when that is a whole number from 1 to 600000 (a testing hook, so that a
 * test of a lock held past the timeout need not wait 10 s per program).
 */
int db_busy_timeout_ms(void);

/*
 * Write transactions (issue 17).  Every write to the state database runs
 * between db_begin() and db_commit() (or db_rollback()), never as an
 * autocommit statement after a read nor after a deferred BEGIN: BEGIN
 * IMMEDIATE takes the write lock first, under the busy timeout, so a brief
 * write by another process is waited out.  A read transaction upgraded to
 * a write one gets SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT in WAL mode when
 * another process wrote since it read, at once: the busy handler is never
 * called.  (Source: SQLite's "Isolation In SQLite" and sqlite3_busy_handler
 * documentation.)
 *
 * db_begin() therefore refuses (-1, err_set() naming the statement) when a
 * statement of DB is still active, i.e. holds a read snapshot: that is a
 * bug of the caller, which must reset or finalize it first.  A lock held
 * past the timeout is -1 with err_set(), and db_exit_code() says 75.
 */
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
/* Roll back the open transaction, if any; errors are not reported (the
 * caller is already on a failure path and keeps its own message). */
void db_rollback(sqlite3 *db);

/*
 * Make DB's busy wait (db_busy_timeout_ms()) give up early once *STOP is non-zero (set by
 * a signal handler), so that SIGTERM ends a program waiting for a lock
 * within a second rather than after the whole timeout.  STOP is borrowed.
 */
void db_busy_stop_on(sqlite3 *db, volatile sig_atomic_t *stop);

/*
 * PRAGMA quick_check of DB: 0 when it answers "ok", 1 when it reports a
 * problem (err_set() with the first, and how many), -1 when it cannot run
 * (err_set()).  Its cost is measured in docs/PERFORMANCE.md.
 */
int db_quick_check(sqlite3 *db);

/*
 * What is at PATH, before anything opens it: DB_FILE_MISSING, DB_FILE_EMPTY
 * (0 bytes), DB_FILE_SQLITE (an SQLite header) or DB_FILE_OTHER; -1 when it
 * cannot be read (err_set()).  `unitsync init` creates only where there is
 * nothing, and never reinitialises a file that holds something else.
 */
enum db_file {
	DB_FILE_MISSING,
	DB_FILE_EMPTY,
	DB_FILE_SQLITE,
	DB_FILE_OTHER
};
int db_file_kind(const char *path);

/*
 * Checkpoint the WAL into the database and truncate it (at the end of a
 * stage, so that the -wal file does not grow night after night).  Best
 * effort: a reader holding an old snapshot makes it partial, never fails.
 */
void db_checkpoint(sqlite3 *db);

/*
 * Checkpoints off the writer's thread (issue 18).  SQLite checkpoints a
 * WAL database inside the COMMIT that takes the WAL past 1,000 pages
 * (wal_autocheckpoint): the committing thread copies the pages into the
 * database file and syncs it, 15-20 ms on a busy disk.  A writer that
 * commits at every turn of an event loop (load's journal) stalls that
 * long every few hundred commits, every request in flight waiting.
 *
 * db_checkpointer_start() takes DB's checkpoints over: each time DB's WAL
 * has grown by DB_CHECKPOINT_PAGES, a thread of its own runs a PASSIVE
 * checkpoint on a connection of its own to PATH (it waits for no reader
 * nor writer: SQLite, "Write-Ahead Logging" §3 and
 * sqlite3_wal_checkpoint_v2()), while DB commits on.  The WAL starts over
 * only when a write transaction finds it all checkpointed, which a writer
 * that never pauses seldom lets happen; so once the WAL holds
 * DB_WAL_MAX_PAGES, DB's own commit waits for the thread's checkpoint to
 * end and checkpoints as SQLite's would (by then little is left to copy):
 * the WAL holds at most DB_WAL_MAX_PAGES and the pages of one commit.
 * db_checkpointer_stop() ends the thread (after a checkpoint it was asked
 * for), gives DB its automatic checkpoint back and returns how many
 * checkpoints the thread ran; db_checkpoint() at the end of the stage is
 * still the caller's.
 *
 * Errors: start is -1 with err_set() when the connection or the thread
 * cannot be had; DB then checkpoints as before, the caller may go on.
 * Ownership: the struct is the caller's, DB is borrowed and must outlive
 * db_checkpointer_stop(); the thread's connection is closed by it.
 */
#define DB_CHECKPOINT_PAGES 250
#define DB_WAL_MAX_PAGES 1000
struct db_checkpointer {
	sqlite3 *writer;    /* borrowed: the connection whose WAL is watched */
	sqlite3 *db;        /* the checkpointing connection, owned */
	pthread_t thread;   /* runs the checkpoints */
	pthread_mutex_t mu; /* guards due, busy, hold and quit */
	pthread_cond_t cv;  /* broadcast when any of them changes */
	int due;            /* a checkpoint was asked for */
	int busy;           /* the thread is checkpointing */
	int hold;           /* the writer checkpoints: the thread waits */
	int quit;           /* db_checkpointer_stop() came */
	int mark;           /* WAL pages at which to ask next (the writer's thread only) */
	int running;        /* the thread was started */
	long checkpoints;   /* checkpoints the thread ran (the thread's only, until joined) */
};
int db_checkpointer_start(struct db_checkpointer *c, sqlite3 *db, const char *path);
long db_checkpointer_stop(struct db_checkpointer *c);

/*
 * Write FILE, a new database holding a transactionally consistent copy of
 * DB (VACUUM INTO: safe while another process writes; a file copy of a live
 * WAL database is not), mode 0600 from the first byte (residents' contact
 * details).  FILE must not exist.  For `snapshots export` (an auditor's
 * copy) and `init --copy-to` (the private copy a dry run of nightly.sh or
 * rerun.sh works on, so that a preview leaves the state database as it
 * was).  -1 with err_set() naming FILE; nothing is left at FILE then.
 */
int db_copy(sqlite3 *db, const char *file);

/*
 * Set the message for DB's last error and return -1: "database: WHAT: MSG"
 * (WHAT NULL: "database: MSG"; callers tell a database error from others by
 * the "database:" prefix).  A lock another process held past the busy
 * timeout (SQLITE_BUSY, SQLITE_LOCKED: exit 75, see db_exit_code()) names
 * the database file and the fix: "database: 'FILE' is locked by another
 * process (database is locked): retry after the other unitsync process
 * finishes".  Every database failure message goes through here, so that a
 * busy database reads the same in every program.
 */
int db_error(sqlite3 *db, const char *what);

/* Run SQL text that has no parameters (schema, BEGIN, COMMIT). */
int db_exec(sqlite3 *db, const char *sql);

/* Prepare SQL; on failure err_set() names the statement's error. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);

/* Bind a C string as TEXT, or NULL when S is NULL or empty. */
int db_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s);

/*
 * Step ST for a read loop: 1 a row, 0 done, -1 an error with err_set()
 * (busy, I/O, out of memory): `while ((r = db_row(st)) == 1) ...; if (r <
 * 0) fail`.  A loop on `sqlite3_step() == SQLITE_ROW` would take an error
 * for the end, and a half-read table for the whole of it.
 */
int db_row(sqlite3_stmt *st);

/* Column I as a C string, "" for NULL (pointer valid until the next step). */
const char *db_col_text(sqlite3_stmt *st, int i);

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into BUF (at least 21 bytes). */
void db_now(char *buf, unsigned long size);

/*
 * The newest run when a history row is written (its last_run column;
 * "" before any run), as an SQL expression: run R read every change whose
 * last_run sorts before R, since run ids sort in the order runs are made
 * and a write transaction (BEGIN IMMEDIATE) orders every change against a
 * run's record.  The history tables of migration 9 (docs/ARCHITECTURE.md
 * §5) and `unitsync replay`, which rewinds a copy of the database to just
 * before a run with it.
 */
#define DB_LAST_RUN "(SELECT coalesce(max(run_id), '') FROM run)"

#endif
