/*
 * extract_int.h - what the per-file drivers of extract_csv.c and
 * extract_xml.c share, inside lib/ only (extract.h is the API).
 *
 * Errors: extract_finish() returns an exit code, with err_set() when it
 * is not 0.  Ownership: nothing kept; every pointer borrowed.
 */
#ifndef UNITSYNC_EXTRACT_INT_H
#define UNITSYNC_EXTRACT_INT_H

#include "exitcode.h"
#include "extract.h"
#include "stg.h"

#include <sqlite3.h>
#include <sys/stat.h>

/*
 * The files of one run or batch group into the open DB: J->property (when
 * set) checked before any file is read, then ONE for each of the N FILES
 * in order.  The worst of the files' exit codes: a database failure (74,
 * 75, 78) outranks a rejected file (65).
 */
int extract_files(sqlite3 *db, struct extract_job *j, char *const *files, int n,
		  extract_reader one);

/* The worse of two exit codes of files or groups: 0 loses to any, and a
 * database failure (74, 75, 78) outranks a rejected file (65). */
static inline int extract_worse(int rc, int r)
{
	return r != US_EXIT_OK && (rc == US_EXIT_OK || r > rc) ? r : rc;
}

/* The readers' on_reject (ARG: the struct extract_job): a warning
 * "REF: row rejected: WHY" for each of the file's first 20, the rest
 * counted. */
void extract_on_reject(void *arg, const char *ref, const char *why);

/* The line for a file staged before: "snapshot ID reused: ...". */
void extract_reused(const struct stg *s, const char *path, const char *dialect);

/*
 * The rows of PATH (ST as opened) are in S: check the file is still the
 * one read, count the rejected rows past those shown, apply the reject
 * threshold and commit, then print the summary line (EXTRA appended to
 * it).  Returns an exit code.
 */
int extract_finish(struct stg *s, sqlite3 *db, const char *path, const struct stat *st,
		   struct extract_job *j, const char *extra);

#endif
