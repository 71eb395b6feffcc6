/*
 * csvprofile.h - the PMS CSV exports unitsync reads, told apart by their
 * header, and staged as one snapshot (docs/ARCHITECTURE.md §2): the CSV
 * counterpart of xmldialect.h.
 *
 * A profile is a table: which header names (aliases) give which field of
 * the normalized person record (struct stg_person, stg.h), plus what else
 * the export's layout holds (title rows, a two-row header, property
 * headings, section banners, total rows).  Headers are matched by name,
 * never by position: letter case, blanks and punctuation are ignored
 * ("Move-in", "move in" and "MOVE_IN" are one name).  Columns a profile
 * does not name are never read into a record, so SSNs, birth dates,
 * charges and rent are dropped at parse time.  Profiles, and the export
 * each rule comes from:
 *
 *   generic                  property_id,pms_unit_id,pms_person_id,... (README)
 *   appfolio-rent-roll       AppFolio "Rent Roll" (Reports > Rent Roll, CSV):
 *                            Unit,Tenant[,Status,...]; property heading
 *                            rows, blank separators, group and grand total
 *                            rows; no person ids
 *   appfolio-tenant-tickler  AppFolio "Tenant Tickler": one row per event,
 *                            with stable Tenant ID / Occupancy ID / Unit ID
 *   yardi-rent-roll          Yardi Voyager "Rent Roll with Lease Charges":
 *                            title rows, a two-row header, section banners
 *                            that give the status, a row per charge code,
 *                            totals and a "Summary Groups" tail
 *   auto                     (csvprofile_opts.profile NULL) the profile
 *                            whose header fits best (logged)
 *
 * Every record after the header is exactly one of: a person staged (with
 * their unit), a vacant unit staged (no person), a row skipped (title,
 * blank, heading, banner, charge line, total, tail, a tickler event
 * repeating a tenant) or a row rejected with its line and reason.
 *
 * Identifiers a rent roll does not carry are derived, deterministically,
 * from what it shows (the rules are also in docs/unitsync-extract-csv.1):
 *   unit     the unit cell; under a property heading (or with a non-empty
 *            PMS "Property" column) "HEADING / UNIT", as one file may hold
 *            several properties whose unit numbers repeat; a row with no
 *            unit cell (a single-family home) is the unit "HEADING".
 *   person   "UNIT / name", the name folded to lower-case words ("Kyle S.
 *            Bailey" -> "kyle s bailey"), so a change of case or spacing
 *            keeps the id; any other correction of the name makes a new id
 *            (the old one leaves, the new one arrives: transform reports
 *            both and the safety guard catches a mass change).
 *   names    a whole name splits at its comma ("Last, First"), else before
 *            its last word; a rent-roll household "A & B Lee" stays one
 *            person (splitting such names is a guess, and the row carries
 *            no contact per person).
 * A stable id in the file always wins over a derived one.  A unit whose
 * Unit Type says it is no home (status_dwelling(), status.h: the one
 * vocabulary of every export) is staged with dwelling = 0.
 *
 * Streaming: csvio_read_encoded() hands over one record at a time, already
 * UTF-8, and only the profile's fields of that record are copied, so
 * memory does not grow with the file.  The snapshot is opened (stg_begin())
 * once the header says which profile the file is, and its rows are staged
 * on the staging thread (stg_async()).
 *
 * Errors: -1 with err_set(); the message names the file and the line.
 * Ownership: profiles are static; csvprofile_stage() keeps nothing
 * between calls but compiled patterns, which csvprofile_cleanup() frees.
 */
#ifndef UNITSYNC_CSVPROFILE_H
#define UNITSYNC_CSVPROFILE_H

#include "progress.h"
#include "stg.h"

#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

struct csvprofile;

/* The profiles by name, listed for messages (auto not included). */
extern const char csvprofile_names[];

/* The profile called NAME, or NULL (auto is not a profile: NULL too). */
const struct csvprofile *csvprofile_find(const char *name);

/* A --profile or profile column NAME: a profile, or auto (*OUT NULL).  0,
 * or -1 with err_set("unknown profile ... (known profiles: ..., auto)"). */
int csvprofile_pick(const char *name, const struct csvprofile **out);

/* How to stage; strings borrowed. */
struct csvprofile_opts {
	const struct csvprofile *profile; /* the export's layout, NULL: auto */
	const char *property;             /* --property: every row's property_id must
					   * be it, or NULL: the file's property_id
					   * column says */
	const char *encoding;             /* --encoding: "auto" or an iconv name */
	double max_reject_percent;        /* --max-reject-percent (struct stg_source) */
	/* called for every rejected row, e.g. to log it; may be NULL */
	void (*on_reject)(void *arg, const char *ref, const char *why);
	void *arg;
	struct progress *progress; /* bytes of the file read, or NULL (lib/progress) */
};

/* What the file held, beyond the staging counts of struct stg.  The
 * struct stg of csvprofile_stage() borrows SRC, FIELDS and UNKNOWN: keep
 * the result until that stg is released, then csvprofile_result_release(). */
struct csvprofile_result {
	int reused;            /* the file was staged before: S holds that
				 * snapshot's id and sha256; nothing staged */
	int db_failed;         /* the error came from the database */
	int needs_property;    /* the error is the command's: the file names no
				 * property and no --property was given (a
				 * usage error, not a bad file) */
	long transcoded;       /* rows (not the header) holding transcoded lines */
	char from[64];         /* the encoding they were transcoded from */
	struct stg_source src; /* what the file is (stg_begin()) */
	char dialect[128];     /* "PROFILE+ENCODING" when an encoding is forced
				 * (src.dialect points here, else at the
				 * profile's name) */
	char fields[512];      /* the person fields the header maps, sorted,
				 * comma list (the snapshot's fields) */
	char *unknown;         /* header columns no field of the profile reads,
				 * in file order, comma list, owned; NULL: none */
};

/* Free what RES owns; safe on a zeroed or released result. */
void csvprofile_result_release(struct csvprofile_result *res);

/*
 * Read the file FP (opened read-only at PATH, ST as opened: see
 * extract_open(), extract.h), find its header and profile, begin its
 * snapshot in S on DB (stg_begin(): S must be zeroed) and stage its rows.
 * The caller commits S (or releases it: nothing staged) and releases it.
 * RES must be zeroed.  Returns 0 (RES->reused: nothing staged) or -1
 * with err_set() (RES->db_failed tells a database error from a bad file,
 * RES->needs_property a missing --property).
 */
int csvprofile_stage(FILE *fp, const char *path, const struct stat *st, sqlite3 *db, struct stg *s,
		     const struct csvprofile_opts *o, struct csvprofile_result *res);

/* Free the compiled patterns (for valgrind: they are reused otherwise). */
void csvprofile_cleanup(void);

#endif
