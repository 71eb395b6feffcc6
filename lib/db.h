/*
 * db.h - the state database: one SQLite file holding staged snapshots, the
 * unit mapping, property policy, what unitsync has applied to Latch, and
 * the journal of every Latch request.
 *
 * The file is created with mode 0600 (it holds residents' contact
 * details), runs in WAL mode with a 10 s busy timeout so that a reader
 * (report, snapshots list) never blocks the nightly writer, and carries its
 * schema version in table schema_version.  Only `unitsync init` creates or
 * migrates; every other program opens an existing database of the current
 * version, as the sqlite3 shell opens a database only if it exists.
 *
 * Errors: functions return 0 on success and -1 with err_set() on failure.
 * Ownership: the caller closes the handle with db_close().
 */
#ifndef UNITSYNC_DB_H
#define UNITSYNC_DB_H

#include <sqlite3.h>

/* The schema version this build writes and reads. */
int db_schema_version(void);

/*
 * Open PATH.  With CREATE, create it when missing and migrate it to the
 * current schema (what `unitsync init` does); without, fail when it is
 * missing or not at the current version, naming the fix.
 */
int db_open(const char *path, int create, sqlite3 **out);

void db_close(sqlite3 *db);

/* Run SQL text that has no parameters (schema, BEGIN, COMMIT). */
int db_exec(sqlite3 *db, const char *sql);

/* Prepare SQL; on failure err_set() names the statement's error. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);

/* Bind a C string as TEXT, or NULL when S is NULL or empty. */
int db_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s);

/* Column I as a C string, "" for NULL (pointer valid until the next step). */
const char *db_col_text(sqlite3_stmt *st, int i);

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into BUF (at least 21 bytes). */
void db_now(char *buf, unsigned long size);

#endif
