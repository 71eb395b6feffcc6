/*
 * stg.h - staging: one snapshot per extracted file (docs/ARCHITECTURE.md §2).
 *
 * stg_begin() opens a write transaction and a snapshot row; the extract
 * program then stages people, units, skipped and rejected rows; stg_commit()
 * checks the reject threshold and commits everything at once, or nothing:
 * a failed file leaves no partial snapshot.  A file whose SHA-256 was
 * already staged with the same kind, dialect and property reuses that
 * snapshot (stg_begin() reports it and opens no transaction).
 *
 * Staged person rows hold only what the job needs; extractors drop SSNs,
 * birth dates, charges and rent at parse time and never pass them here.
 *
 * Threads: after stg_async() the rows are staged by a thread of its own,
 * in the order they were given, while the extractor reads on (lib/handoff:
 * two batches of rows, so memory stays flat); what is staged is the same
 * as without it.  Until stg_commit(), stg_digested() or stg_release()
 * waits for that thread, only the stg_* calls below may be made on the
 * struct and nothing else may use the database connection.
 */
#ifndef UNITSYNC_STG_H
#define UNITSYNC_STG_H

#include "sha256.h"

#include <sqlite3.h>
#include <stddef.h>

/*
 * The page cache of a connection that stages (KiB; PRAGMA cache_size,
 * set by stg_begin() for the rest of the connection): the B-trees of
 * stg_person, its household index and stg_unit stay in memory instead of
 * spilling through SQLite's default 2 MiB; extract's peak RSS stays
 * under its 64 MiB budget (issue 18, docs/PERFORMANCE.md).
 */
#define STG_CACHE_KIB_STR "32768"

/*
 * SQL fragments of the household rule over a stg_person row X (an alias),
 * for transform's decisions and explain's account of them (README
 * "Rules").  A household member (STG_MEMBER_ROLES) with no status of its
 * own (an empty one: stg_person() stages a placeholder, "unknown", "N/A",
 * "-", "none", as none; review rv22 #2) takes the status and, where it has
 * none, the move dates of its household's primary: the first primary row
 * of the household in X's snapshot by person id, as transform's household
 * table keeps it.  A status text unitsync does not recognise
 * ("Lease Ended") is the person's own: unknown, so held and reported,
 * never the primary's (new user nu14 #1: a roommate listed "Lease Ended"
 * beside a current primary was given a key).  STG_HOUSEHOLD_OF seeks the
 * household index (for the ORDER BY, SQLite took the primary key and read
 * a property's every row for each member).
 */
#define STG_MEMBER_ROLES "'roommate', 'occupant', 'minor'"
#define STG_NO_OWN_STATUS(X) "(" X ".status = 'unknown' AND " X ".status_raw IS NULL)"
#define STG_HOUSEHOLD_OF(X, FIELD)                                                       \
	"(SELECT h." FIELD " FROM stg_person h INDEXED BY stg_person_by_household "      \
	"WHERE h.snapshot_id = " X ".snapshot_id "                                       \
	"AND h.property_id = " X ".property_id AND h.household_id = " X ".household_id " \
	"AND h.role = 'primary' ORDER BY h.pms_person_id, h.row_seq LIMIT 1)"
/* X's status, and its move-in, as judged */
/* clang-format off */
#define STG_JUDGED_STATUS(X) \
	"CASE WHEN " STG_NO_OWN_STATUS(X) " THEN " STG_HOUSEHOLD_OF(X, "status") \
	" ELSE " X ".status END"
#define STG_JUDGED_MOVE_IN(X) \
	"coalesce(" X ".move_in, CASE WHEN " STG_NO_OWN_STATUS(X) " THEN " \
	STG_HOUSEHOLD_OF(X, "move_in") " END)"
/* clang-format on */

/* What a file is; strings borrowed for the life of the struct stg. */
struct stg_source {
	const char *property_id;   /* --property, NULL when the file names properties */
	const char *kind;          /* "csv" or "xml" */
	const char *dialect;       /* CSV profile or XML dialect name */
	const char *path;          /* the file as named on the command line */
	int digest_later;          /* the extractor digests the file as it reads it
				    * and hands the digest to stg_digested()
				    * before stg_commit(): stg_begin() reads the
				    * file only when a snapshot of its size,
				    * kind, dialect and property exists (one it
				    * may be a copy of, to reuse) */
	double max_reject_percent; /* --max-reject-percent: stg_commit() refuses
				    * a file whose rejected rows exceed it, and
				    * stg_begin() the reuse of a snapshot whose
				    * rows did (staged under a looser one) */
	const char *pms_property;  /* read at stg_commit(): the PMS property code the
				    * file's rows named (an XML export; NULL or ""
				    * none), recorded in the snapshot.  With
				    * --property P and not pms_chosen, a code other
				    * than the one P's newest snapshot of the kind
				    * and dialect (a dialect's own codes: an ILS
				    * feed may name the property otherwise)
				    * recorded refuses the file (-2): it is an
				    * export of another property (review rv16 #2:
				    * its residents would get P's doors) */
	int pms_chosen;            /* --pms-property chose pms_property: taken as
				    * P's (the way to accept a changed code) */
	int unit_list;             /* read at stg_commit(), so an extractor may set it
				    * once it knows; a unit inventory with no
				    * residents: it stages
				    * units only and says nothing about who lives
				    * where, so transform never takes it as the
				    * property's residents */
};

/* One normalized person record; every field borrowed, NULL or "" = none,
 * but property_id, pms_person_id and pms_unit_id, which the extractor has
 * checked (a row without one is a reject, stg_reject()). */
struct stg_person {
	const char *property_id;
	const char *pms_person_id;
	const char *household_id; /* lease / household id */
	const char *pms_unit_id;
	const char *role;       /* primary roommate occupant guarantor minor */
	const char *status;     /* normalized (status.h) */
	const char *status_raw; /* what the PMS wrote */
	const char *first_name;
	const char *last_name;
	const char *email;
	const char *phone;
	const char *move_in;           /* YYYY-MM-DD or NULL */
	const char *move_out;          /* actual move-out */
	const char *expected_move_out; /* notice given, not yet moved */
	const char *lease_from;
	const char *lease_to;
	const char *source_ref; /* "file:line" or "file:/xml/path" */
	const char *unit_label; /* the person's unit as people write it, staged
				 * with them (stg_unit()); NULL: pms_unit_id */
	int dwelling;           /* that unit is a home (stg_unit()'s DWELLING) */
};

struct stg_queue; /* the staging thread and its batches (stg.c) */
struct rowsdigest_section;

struct stg {
	sqlite3 *db;                  /* borrowed */
	const struct stg_source *src; /* borrowed */
	sqlite3_stmt *ins_person;     /* owned prepared statements */
	sqlite3_stmt *ins_people;     /* STG_CHUNK_ROWS person rows at once (stg.c) */
	sqlite3_stmt *ins_unit;
	sqlite3_stmt *ins_reject;
	long long snapshot_id;               /* the snapshot being written or reused */
	char sha256[65];                     /* of the whole file */
	long long size;                      /* bytes */
	long staged;                         /* person rows staged */
	long units;                          /* distinct units staged */
	long skipped;                        /* heading, separator and total rows */
	long rejected;                       /* rows that could not be staged */
	char staged_at[32];                  /* a reused snapshot: when it was staged (UTC);
				* the counts above are then its own */
	int open;                            /* a transaction is open */
	int fk_off;                          /* foreign keys are off on the connection for the
				* staging transaction (stg.c: its rows can
				* only reference its snapshot), on again when
				* it ends */
	int digest_pending;                  /* src->digest_later and no digest yet: the
				* snapshot's sha256 is '' until stg_digested() */
	char *last_unit;                     /* "property\0unit" staged last, owned */
	size_t last_unit_len;                /* its length, inner NUL included */
	char **known;                        /* property ids the state database has, sorted,
				* owned: each looked up once a file */
	size_t n_known;                      /* how many */
	long *people;                        /* of each, the people staged (their first rows),
				* owned: snapshot_property's counts */
	char *last_property;                 /* the id noted last, in known or unknown (not
				* its own copy): rows mostly come property by
				* property */
	int last_known;                      /* and whether the state database has it */
	size_t last_i;                       /* when it has: its index in known */
	char **unknown;                      /* property ids the state database does not have,
				 * in the order rows named them, owned:
				 * stg_commit() refuses the file */
	size_t n_unknown;                    /* how many */
	char *unknown_ref;                   /* the first row naming unknown[0] ("file:line"),
				 * or NULL (only unit rows named it) */
	unsigned seen;                       /* bit i: person field i (stg_person()'s order) held a
				* value in some person staged; for fields */
	struct stg_queue *q;                 /* owned: the staging thread (stg_async()), or NULL:
				* rows are staged as they are given */
	struct rowsdigest_section *streamed; /* owned: [0] the person rows, [1]
				* the unit rows, hashed as staged for
				* stg_commit()'s digest (lib/rowsdigest), by
				* the caller's thread; NULL: read back */
	/*
	 * Schema drift (issue 15 item 7), recorded at stg_commit() in the
	 * snapshot's fields and unknown_columns; both borrowed, set by the
	 * extractor after stg_begin().  FIELDS: comma list, sorted, of the
	 * job's fields the file carried (a CSV header's mapped columns, even
	 * when empty in every row); NULL: the person fields that held a value
	 * in at least one staged person (what an XML dialect found); none
	 * (or "") is stored as NULL, not recorded.  property_id is never listed: it says where, not who.
	 * UNKNOWN_COLUMNS: comma list, in file order, of header columns no
	 * field of the profile reads; NULL: none, or no header (XML).
	 */
	const char *fields;
	const char *unknown_columns;
};

/*
 * Is PROPERTY_ID a property of the state database (`unitsync property
 * add`)?  0 yes; -2 no, with err_set() naming it and the command that adds
 * it; -1 on a database error.  A snapshot of a property unitsync does not
 * know would be staged for nothing (transform runs only known properties)
 * and hide a typo: --property is checked with this before any file is
 * read, and every property id a file names is checked as it is staged.
 */
int stg_property_known(sqlite3 *db, const char *property_id);

/*
 * Report PROPERTY_ID, which the state database does not have, with
 * err_set(): "unknown property 'oaak' (did you mean 'oak'? a new property
 * is added with 'unitsync property add oaak')" when a property id of the
 * database is close to it (stg_property_nearest()), else "unknown property
 * 'oaak' (add it with 'unitsync property add oaak')".  Returns -2 (the
 * message set), or -1 on a database error.  Every program that meets a
 * property id the database lacks (an option, a configured section, a
 * row of a file) says it through here or stg_property_known(), so a typo
 * is told the id meant wherever it is made.
 */
int stg_property_unknown(sqlite3 *db, const char *property_id);

/*
 * The property id of the state database nearest PROPERTY_ID, letter case
 * aside, within two edits (cli_nearest_name(): a letter missing, extra or
 * wrong, or two neighbours swapped) into *NEAREST (malloc'd, the caller
 * frees it), or NULL when none is.  0, or -1 with err_set().
 */
int stg_property_nearest(sqlite3 *db, const char *property_id, char **nearest);

/*
 * Digest SRC->path and open its snapshot.  Returns 0 with a transaction
 * open, 1 when an identical snapshot exists (s->snapshot_id is it, nothing
 * is open; it is the property's newest export again), -1 with err_set();
 * -2 with err_set() when that snapshot's rejected rows exceed
 * SRC->max_reject_percent (the file as stg_commit() would refuse it today:
 * nothing changes).
 */
int stg_begin(struct stg *s, sqlite3 *db, const struct stg_source *src);

/*
 * The SHA-256 and size of the file, as the extractor read it whole
 * (src->digest_later).  A digest stg_begin() already took must be the
 * same: the file changed meanwhile.  0; -2 with err_set() when the file
 * changed (its size or digest is not what stg_begin() saw); -1 on a
 * database error.
 */
int stg_digested(struct stg *s, const char hex[SHA256_HEX_LEN + 1], long long size);

/*
 * Stage the rows from here on on a thread of their own (see the top):
 * parsing and staging then use two cores (issue 18, docs/PERFORMANCE.md).
 * After a successful stg_begin() (0).  Returns 0; when the thread cannot
 * be started the rows are staged as they are given, as before.  A
 * database error of the thread is returned (-1, with its message) by the
 * stg_* call that hands it the next batch, or by the call that waits for
 * it; the calls after it return -1 too.
 */
int stg_async(struct stg *s);

/*
 * Stage a person row, and the person's unit after it (stg_unit() of
 * pms_unit_id, unit_label and dwelling): 0, or -1 on database error.  A
 * person id already staged in this snapshot for the property is, with
 * REPEAT set, staged as one more row of that person (row_seq 2, 3, ...: a
 * transfer exported as the old and the new lease, two leases; transform
 * merges a person's rows, issue 15); without REPEAT (a profile listing a
 * person once per event, such as AppFolio's tenant tickler) the row is left
 * out and counted as skipped, its unit with it, when it repeats a row of
 * the person in what decides access (household, unit, role, status, move
 * dates); is staged as one more row when its household or unit differs (a
 * transfer to another unit: review rv18 #3); and is a rejected row naming
 * the person (a warning on standard error) when the same household and
 * unit come with another role, status or move dates (rv19 #8).
 */
int stg_person(struct stg *s, const struct stg_person *p, int repeat);

/* Stage a unit (repeats are ignored).  DWELLING is 0 for parking, storage,
 * waitlist and other non-dwelling units. */
int stg_unit(struct stg *s, const char *property_id, const char *pms_unit_id, const char *label,
	     int dwelling);

/* stg_unit() for a row of a unit list: a unit staged before counts the
 * row as skipped. */
int stg_unit_row(struct stg *s, const char *property_id, const char *pms_unit_id, const char *label,
		 int dwelling);

/*
 * Record a row that could not be staged, with where and why.  A rejected
 * row is someone transform cannot see tonight: when the row names its
 * property and person, use stg_reject_person() so that transform holds that
 * person (no removal) and reports them; a row that names nobody makes
 * transform withhold every "not in the export" removal of the property.
 */
int stg_reject(struct stg *s, const char *source_ref, const char *reason);

/* stg_reject() for a row whose property (NULL: the --property) and person
 * are known. */
int stg_reject_person(struct stg *s, const char *source_ref, const char *reason,
		      const char *property_id, const char *pms_person_id);

/* Count a heading, separator or total row. */
void stg_skip(struct stg *s);

/*
 * Commit the snapshot (-1 when its digest is still pending) unless a row (staged or rejected), or
 * SRC->property_id, named a property the state database does not have
 * (stg_property_known()), or rejected rows exceed SRC->max_reject_percent of all
 * data rows: then -2 with err_set() naming every such property and the
 * first row naming one, or the counts, and nothing is kept.  -1 on a
 * database error.  Records s->fields (or the fields seen) and
 * s->unknown_columns with it; transform holds a property whose export lost
 * a field its previous accepted export carried.
 */
int stg_commit(struct stg *s);

/*
 * The digest of snapshot SNAPSHOT_ID's staged rows and counts (snapshot,
 * snapshot_property, stg_person, stg_unit, stg_reject), computed again
 * from the database as the snapshot's rows_digest_version defines it
 * (lib/rowsdigest.h): what stg_commit() recorded in snapshot.rows_sha256
 * (migration 6), if the rows are as staged.  -1 with err_set().
 */
int stg_rows_digest(sqlite3 *db, long long snapshot_id, char hex[SHA256_HEX_LEN + 1]);

/*
 * Does snapshot SNAPSHOT_ID still hold what was staged?  0 yes; 1 no, or
 * no such snapshot, or no digest on a snapshot staged after digests
 * began (migration 8 recorded the last one before), with err_set() naming
 * it; 2 it was staged before digests were recorded and cannot be verified;
 * -1 database error with err_set().
 */
int stg_verify(sqlite3 *db, long long snapshot_id);

/* Stop the staging thread, roll back whatever is open and free the
 * statements (safe after commit). */
void stg_release(struct stg *s);

#endif
