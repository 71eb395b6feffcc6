/*
 * extract.h - the extract driver both extract programs (extract/extract-csv.c,
 * extract/extract-xml.c) run, around the readers of csvprofile.h and
 * xmldialect.h (docs/ARCHITECTURE.md §2): the --max-reject-percent option;
 * the state database opened and the --property checked before any file
 * is read; for each file in turn, the file opened (a regular file only),
 * its snapshot begun, its rows staged, the file checked to be still the
 * one opened, the reject threshold applied at the commit, and one summary
 * line printed on standard output; the exit codes of the files ranked.
 *
 * Output: per file, "snapshot ID: 'FILE' (DIALECT, sha256 HEX): N people
 * staged, N units, N rows skipped, N rejected" (a CSV file adds ", N
 * transcoded"; a count of 1 says person, unit, row), or "snapshot ID
 * reused: 'FILE' (DIALECT) was staged before with sha256 HEX (staged WHEN,
 * N rows rejected)", WHEN and N those of its staging; a rejected row is a
 * warning "FILE:LINE: row rejected: WHY" (the first 20 of a file, then a
 * count); a file not staged is an error "...; nothing staged from 'FILE'".
 *
 * extract.c holds the run and what every file's staging shares;
 * extract_csv.c and extract_xml.c one file each, apart so that a program
 * links only the reader it runs (extract-csv neither libxml2 nor ICU);
 * extract_batch.c a batch of runs in one process (`unitsync extract`).
 *
 * Errors: extract_run(), extract_batch() and the extract_*_file() functions log them
 * (lib/log) and return an exit code (lib/exitcode.h); the others return
 * 0 or -1 as said.
 * Ownership: nothing is kept between calls; a job's strings are borrowed.
 */
#ifndef UNITSYNC_EXTRACT_H
#define UNITSYNC_EXTRACT_H

#include "cli.h"
#include "csvprofile.h"
#include "log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

/* --max-reject-percent's default: a file with more rejected rows than this
 * share of its data rows is rejected whole. */
#define EXTRACT_MAX_REJECT_DEFAULT 5.0

/* What every file of a run is staged with: the programs' options. */
struct extract_job {
	const char *property;             /* --property, or NULL: the file names them */
	double max_reject;                /* --max-reject-percent */
	const struct csvprofile *profile; /* CSV --profile, NULL: auto */
	const char *encoding;             /* CSV --encoding, "auto" by default */
	const char *pms_property;         /* XML --pms-property, or NULL */
	struct log_limit rejects;         /* the current file's rejected-row warnings */
};

/* Parse --max-reject-percent ARG (0 to 100) into *OUT; -1 after a usage
 * error on C's program. */
int extract_reject_percent(const struct cli_common *c, const char *arg, double *out);

/* A reader: stage the file PATH into DB as one snapshot; an exit code. */
typedef int (*extract_reader)(sqlite3 *db, const char *path, struct extract_job *j);

/*
 * Open the state database of C, check J->property (or none) is one of its
 * properties before any file is read (a mistyped --property refuses them
 * all), then call ONE (extract_csv_file or extract_xml_file) for each of
 * the N FILES in order and checkpoint the WAL at the end.  The run's exit
 * code is the worst of the files': a database failure (74, 75, 78)
 * outranks a rejected file (65).  Returns that code.
 */
int extract_run(const struct cli_common *c, struct extract_job *j, char *const *files, int n,
		extract_reader one);

/* The readers a batch stages its files with, by format. */
struct extract_readers {
	extract_reader csv, xml;
};

/*
 * Stage a batch (`unitsync extract`): IN, named NAME in messages, holds
 * one file a line in the columns `unitsync config properties
 * --extract-options` prints, tab-separated:
 *
 *   PROPERTY FORMAT PROFILE MAX_REJECT_PERCENT ENCODING FILE
 *
 * FORMAT csv or xml; PROFILE a CSV profile or auto (an XML line's is
 * checked, not read); '-' for MAX_REJECT_PERCENT or ENCODING is extract's
 * default.  A line may end in CR LF; empty lines are passed over (they do
 * not end a group).  Consecutive lines that agree on all but
 * FILE are one group, staged as extract_run() stages one program run's
 * files (the property checked first, the files in order), in one
 * process with the database opened once.  Every line is checked before
 * anything is staged: a bad one is an error "NAME:LINE: why" and exit 2.
 * After each group a line "extract PROPERTY: exit N" (N that group's
 * code) on standard output, which no other line begins with (a property
 * list's lines begin "property ", with its control characters as '?'); a group ending in a code other than 0 and 65
 * (the database failed) is the last.  Returns the worst group's code.
 */
int extract_batch(const struct cli_common *c, FILE *in, const char *name,
		  const struct extract_readers *r);

/* Stage the CSV file PATH into DB as one snapshot (csvprofile.h); an exit code. */
int extract_csv_file(sqlite3 *db, const char *path, struct extract_job *j);

/* Stage the XML file PATH into DB as one snapshot (xmldialect.h), or list
 * the PMS properties of a property list on standard output; an exit code. */
int extract_xml_file(sqlite3 *db, const char *path, struct extract_job *j);

/*
 * Open PATH for reading only if it is a regular file: a FIFO or a device
 * is refused before anything waits on it (opened non-blocking, checked,
 * then made blocking), so that a stray pipe never holds the nightly lock.
 * ST receives what it is; NULL with err_set() otherwise.  The caller
 * closes the file.
 */
FILE *extract_open(const char *path, struct stat *st);

/* Is the file at PATH still the one ST describes (not replaced or
 * rewritten)?  The digest, the dialect and the rows must all come from
 * one file. */
int extract_same_file(const char *path, const struct stat *st);

#endif
