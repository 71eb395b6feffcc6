/*
 * extract.h - what the extract programs (extract/extract-csv.c,
 * extract/extract-xml.c) share around their own reading of a file: the
 * --max-reject-percent option, the state database opened and the
 * --property checked before any file is read, each file staged in turn
 * with the exit codes ranked, and the check that a file read is still
 * the one opened (docs/ARCHITECTURE.md §2).
 *
 * Errors: extract_run() logs them (lib/log) and returns the exit code of
 * the whole run (lib/exitcode.h); the others return 0 or -1 as said.
 * Ownership: nothing is kept between calls.
 */
#ifndef UNITSYNC_EXTRACT_H
#define UNITSYNC_EXTRACT_H

#include "cli.h"

#include <sqlite3.h>
#include <sys/stat.h>

/* --max-reject-percent's default: a file with more rejected rows than this
 * share of its data rows is rejected whole. */
#define EXTRACT_MAX_REJECT_DEFAULT 5.0

/* Parse --max-reject-percent ARG (0 to 100) into *OUT; -1 after a usage
 * error on C's program. */
int extract_reject_percent(const struct cli_common *c, const char *arg, double *out);

/*
 * Open the state database of C, check PROPERTY (--property, or NULL) is
 * one of its properties before any file is read (a mistyped --property
 * refuses them all), then call ONE for each of the N FILES in order and
 * checkpoint the WAL at the end.  ONE returns a file's exit code; the
 * run's is the worst: a database failure (74, 75, 78) outranks a
 * rejected file (65).  Returns that code.
 */
int extract_run(const struct cli_common *c, const char *property, char *const *files, int n,
		int (*one)(sqlite3 *db, const char *path, void *arg), void *arg);

/* Is the file at PATH still the one ST describes (not replaced or
 * rewritten)?  The digest, the dialect and the rows must all come from
 * one file. */
int extract_same_file(const char *path, const struct stat *st);

#endif
