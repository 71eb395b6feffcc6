/*
 * rowsdigest.h - the digest of a snapshot's staged rows
 * (snapshot.rows_sha256): what stg_commit() records and stg_verify()
 * checks, so that transform and rerun refuse a snapshot whose rows were
 * changed behind unitsync's back (issue 17).
 *
 * A row is one frame of its tag and its values, each value as lib/db's
 * unitsync_frame() writes it: a type byte ('n' NULL, 'i' INTEGER, 't'
 * TEXT; 'r' REAL and 'b' BLOB, which staging never writes), the length
 * of its text in bytes (8 bytes, big-endian) and that text.  The rows, by table, each in key order (rowsdigest.c
 * lists every column):
 *   snapshot     ('snapshot', property_id, source_kind, ..., unknown_columns)
 *   property     ('property', property_id, people)  by property_id
 *   person       ('person', property_id, pms_person_id, row_seq, ...,
 *                 source_ref)  by property_id, pms_person_id, row_seq
 *   unit         ('unit', property_id, pms_unit_id, label, dwelling)
 *                by property_id, pms_unit_id
 *   reject       ('reject', source_ref, reason, property_id, pms_person_id)
 *                by all four
 *
 * Version 1 (snapshot.rows_digest_version NULL: staged before migration
 * 18): SHA-256 of the snapshot row, the property rows, the person rows,
 * the unit rows and the reject rows, in that order.
 *
 * Version 2 (issue 18): SHA-256 of the frame ('digest', 2), the snapshot
 * row, the property rows, the frame ('persons', P), the frame ('units',
 * U) and the reject rows, where P and U are the hex SHA-256 of the person
 * rows and of the unit rows, hashed as version 1 hashes them.  P and U
 * need not be read back after the last row: staging hashes them as it
 * stages (struct rowsdigest_section) while the rows come in key order,
 * as in an export sorted by property and person id; a table whose rows
 * came otherwise is read back at the commit.
 *
 * Both versions verify for as long as the snapshot is kept; t0785
 * computes both apart from unitsync.
 */
#ifndef UNITSYNC_ROWSDIGEST_H
#define UNITSYNC_ROWSDIGEST_H

#include "sha256.h"

#include <sqlite3.h>
#include <stddef.h>

/* The version stg_commit() records. */
#define ROWSDIGEST_VERSION 2

/*
 * One table's rows hashed as they are staged, in key order: rows that
 * come out of it by at most ROWSDIGEST_WINDOW rows (people listed unit by
 * unit, their ids ascending but for a household's order) are put in
 * order in a window of that many rows (kept sorted: a row after the
 * newest is one comparison, another one a binary search) before they are
 * hashed; the first row waiting is hashed early when the window would
 * hold more than ROWSDIGEST_WINDOW_BYTES.  A row whose key is before one
 * already hashed breaks the section: the table is then read back (as is
 * one that met a failure to allocate, or was released).  Zeroed, it is
 * ready; rowsdigest_section_release() frees what it holds.  Not
 * thread-safe: one thread at a time.
 */
#define ROWSDIGEST_WINDOW 4096
/* ... and at most this many bytes of rows: wider rows make the window
 * shorter, so that extract's memory stays flat whatever a row holds */
#define ROWSDIGEST_WINDOW_BYTES ((size_t)8 << 20)

struct rowsdigest_section {
	struct sha256 h;
	int started;         /* h is initialised */
	int broken;          /* a row came too far out of key order: read it back */
	long rows;           /* rows hashed */
	unsigned char *last; /* the key of the row hashed last (rowsdigest.c), owned */
	size_t last_len, last_cap;
	unsigned char **win; /* the window: rows waiting are win[head..n), in key
			       * order, owned; room for 2 * ROWSDIGEST_WINDOW */
	size_t head, n;
	size_t bytes; /* what the rows waiting hold */
	size_t used;  /* bytes waiting in buf */
	unsigned char buf[16384];
};

/*
 * A person row as staged: V[0..16] its text values in stg's person order
 * (property_id, pms_person_id, household_id, pms_unit_id, role, status,
 * status_raw, first_name, last_name, email, phone, move_in, move_out,
 * expected_move_out, lease_from, lease_to, source_ref; NULL or "" is
 * NULL), ROW_SEQ its row_seq.
 */
void rowsdigest_person(struct rowsdigest_section *sec, const char *const v[17], int row_seq);

/* A unit row as staged (LABEL NULL or "": NULL). */
void rowsdigest_unit(struct rowsdigest_section *sec, const char *property_id,
		     const char *pms_unit_id, const char *label, int dwelling);

void rowsdigest_section_release(struct rowsdigest_section *sec);

/*
 * The digest of snapshot SNAPSHOT_ID as version VERSION (1 or 2) into
 * HEX.  PERSONS and UNITS: those tables' rows as hashed while staging
 * (version 2 only), or NULL, or broken: read back from the database.
 * Either given is finished (released) by the call.  0, or -1 with
 * err_set() (database error, out of memory, an unknown version).
 */
int rowsdigest_compute(sqlite3 *db, long long snapshot_id, int version,
		       struct rowsdigest_section *persons, struct rowsdigest_section *units,
		       char hex[SHA256_HEX_LEN + 1]);

#endif
