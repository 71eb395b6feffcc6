/*
 * unitsync-transform - decide who gets which Latch unit, and write the run
 * directory an operator loads and an auditor reads (DESIGN.md §6, §7).
 *
 * For each property: take its snapshot (the newest staged one, or the one
 * named with --snapshot), decide each person's eligibility on the as-of date
 * in the property's time zone, join the unit mapping, and diff the wanted
 * assignments against those unitsync has applied (table assignment).  The
 * work streams: people are read in person-id order and a person's delta
 * rows are written as soon as that person is decided, so memory does not
 * grow with the portfolio; per-property scratch lives in SQLite temp tables.
 *
 * Output: RUN_DIR/{delta.csv, exceptions.csv, manifest.json, SHA256SUMS},
 * each written to a temporary name, fsynced and renamed, mode 0640, in a
 * directory of mode 0750.  The same snapshots, mapping, policy and as-of
 * date give byte-identical delta.csv and exceptions.csv.
 */
#include "cli.h"
#include "date.h"
#include "db.h"
#include "delta.h"
#include "durable.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "sha256.h"
#include "shard.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync transform [--as-of YYYY-MM-DD] [--property P]... [--snapshot ID]...\n"
	"                          [--snapshots-only] [--shard K/N] [--out DIR]\n"
	"\n"
	"Write a run directory (delta.csv, exceptions.csv, manifest.json, SHA256SUMS) and print its path.\n"
	"\n"
	"  --as-of DATE             decide eligibility on DATE (default: today in each property's zone)\n"
	"  --property P             only property P (repeatable; default: every property)\n"
	"  --snapshot ID            use snapshot ID instead of the newest one (repeatable; several\n"
	"                           files of one property are read together, the newest file\n"
	"                           winning for a person found in more than one)\n"
	"  --snapshots-only         a property no --snapshot covers is missing (no newest fallback)\n"
	"  --shard K/N              only the properties of shard K of N (by a stable hash of the id)\n"
	"  --out DIR                parent of the run directory (default ./runs)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

#define MAX_LIST 256

/* A property's policy and its input for this run. */
struct policy {
	char *property_id; /* owned */
	char *timezone;    /* IANA zone, owned */
	int unit_sync;     /* 0: removals withheld and reported */
	char *exclude;     /* ",past,notice," form for strstr, owned */
	int lead_days;     /* days of access before move-in; -1: never */
	int grace_days;    /* days of access after actual move-out */
	int guard_percent; /* safety guard threshold */
	int guard_max;     /* absolute UNASSIGN limit; -1: none */
	char as_of[DATE_LEN + 1];
	long long snapshot_id; /* newest input snapshot; 0: none (property missing) */
	json_t *inputs;        /* the input snapshots [{snapshot_id, source_name, ...}], owned */
	long people;           /* people in the input snapshots for this property */
	long prev_people;      /* people in the property's previous run; -1: none */
	long unnamed_rejects;  /* rejected rows that name nobody: no "not in export" removals */
	char *lost_fields;     /* fields the previous accepted export of the same kind
				* carried and tonight's lacks, ", " list, owned;
				* NULL: none (schema_check()) */
};

/* Counters of one property, for the manifest and the safety guard. */
struct tally {
	long ops[3];        /* by enum delta_op */
	json_t *reasons;    /* reason -> count, owned */
	json_t *exceptions; /* kind -> count, owned */
	long assignments;   /* unitsync's current assignments before this run */
};

struct run {
	sqlite3 *db; /* borrowed */
	char run_id[64];
	FILE *delta;           /* borrowed from the durable file */
	long seq;              /* last seq written */
	sqlite3_stmt *history; /* INSERT INTO delta_history, owned */
	sqlite3_stmt *exc;     /* INSERT INTO temp.exc, owned */
};

static void policy_free(struct policy *p)
{
	free(p->property_id);
	free(p->timezone);
	free(p->exclude);
	free(p->lost_fields);
	json_decref(p->inputs);
}

static char *dup_col(sqlite3_stmt *st, int i)
{
	return strdup(db_col_text(st, i));
}

/* Read the property row of ID into P; 1 if there is none. */
static int policy_load(sqlite3 *db, const char *id, struct policy *p)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	size_t n;

	memset(p, 0, sizeof(*p));
	if (db_prepare(db,
		       "SELECT timezone, unit_sync, exclude_status, grant_lead_days, revoke_grace_days, "
		       "guard_percent, guard_max FROM property WHERE property_id = ?",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = 1;
		goto out;
	}
	p->property_id = strdup(id);
	p->timezone = dup_col(st, 0);
	p->unit_sync = sqlite3_column_int(st, 1);
	n = strlen(db_col_text(st, 2)) + 3;
	p->exclude = malloc(n);
	if (p->exclude)
		snprintf(p->exclude, n, ",%s,", db_col_text(st, 2));
	p->lead_days = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
	p->grace_days = sqlite3_column_int(st, 4);
	p->guard_percent = sqlite3_column_int(st, 5);
	p->guard_max = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
	if (!p->property_id || !p->timezone || !p->exclude) {
		err_set("out of memory");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Choose the property's input snapshots: every --snapshot id that covers it
 * (a property may be exported as several files), or without --snapshot
 * the newest staged one; with STRICT, none then (nightly.sh: a property
 * whose export was rejected tonight is missing, not last night's).
 */
static int policy_snapshot(sqlite3 *db, struct policy *p, const long long *snaps, int n_snaps,
			   int strict)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, given = 0;

	p->inputs = json_array();
	p->prev_people = -1;
	/* does any --snapshot cover the property?  If none does, its newest
	 * export stands in, unless --snapshots-only */
	if (db_prepare(db, "SELECT snapshot_id FROM snapshot_property WHERE property_id = ?", &st) <
	    0)
		goto out;
	sqlite3_bind_text(st, 1, p->property_id, -1, SQLITE_STATIC);
	while (!given && sqlite3_step(st) == SQLITE_ROW)
		for (int i = 0; i < n_snaps && !given; i++)
			given = snaps[i] == sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (db_prepare(db,
		       "SELECT sp.snapshot_id, sp.people, s.source_name, s.sha256, s.dialect, "
		       "s.extract_order "
		       "FROM snapshot_property sp JOIN snapshot s USING (snapshot_id) "
		       "WHERE sp.property_id = ? AND s.status = 'staged' "
		       /* the file extracted last is the newest, even when it was reused */
		       "ORDER BY s.extract_order DESC",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, p->property_id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(st, 0);
		int wanted = !given && !strict && !p->snapshot_id;

		for (int i = 0; i < n_snaps && !wanted; i++)
			wanted = snaps[i] == id;
		if (!wanted)
			continue;
		if (!p->snapshot_id)
			p->snapshot_id = id;
		p->people += sqlite3_column_int(st, 1);
		json_array_append_new(p->inputs,
				      json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "snapshot_id",
						(json_int_t)id, "property_id", p->property_id,
						"source_name", db_col_text(st, 2), "sha256",
						db_col_text(st, 3), "dialect", db_col_text(st, 4),
						"people", (json_int_t)sqlite3_column_int(st, 1)));
		/* the order of extraction decides which file is newest, per person too */
		json_object_set_new(json_array_get(p->inputs, json_array_size(p->inputs) - 1),
				    "extract_order", json_integer(sqlite3_column_int64(st, 5)));
	}
	sqlite3_finalize(st);
	st = NULL;
	/*
	 * The shrink check compares with what the last accepted run of the
	 * property saw: a held run that nobody approved is no baseline, or a
	 * bad export repeated the next night would pass.
	 */
	if (db_prepare(db,
		       "SELECT sum(sp.people) FROM run_input ri JOIN snapshot_property sp "
		       "ON sp.snapshot_id = ri.snapshot_id AND sp.property_id = ri.property_id "
		       "WHERE ri.property_id = ?1 AND ri.run_id = (SELECT max(i.run_id) FROM run_input i "
		       "  JOIN run r ON r.run_id = i.run_id WHERE i.property_id = ?1 "
		       "  AND i.snapshot_id IS NOT NULL "
		       "  AND (r.guard = 'ok' OR r.approved_at IS NOT NULL))",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, p->property_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		p->prev_people = sqlite3_column_int(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static void tally_count(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	json_object_set_new(obj, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

/* Record an exception for the property (written sorted at the end). */
static int add_exception(struct run *r, struct tally *t, const char *kind, const char *property_id,
			 const char *unit, const char *person, const char *detail)
{
	sqlite3_stmt *st = r->exc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, property_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, person ? person : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, unit ? unit : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, detail, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(r->db));
		return -1;
	}
	tally_count(t->exceptions, kind);
	return 0;
}

/* Write one delta row and remember it for `unitsync explain`. */
static int emit(struct run *r, struct tally *t, struct delta_row *d, long long snapshot_id,
		const char *source_ref)
{
	sqlite3_stmt *st = r->history;

	d->seq = ++r->seq;
	delta_write_row(r->delta, d);
	t->ops[d->op]++;
	/* a USER_CREATE shares its ASSIGN's reason: count each change once */
	if (d->op != DELTA_USER_CREATE)
		tally_count(t->reasons, d->reason);
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, r->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, d->seq);
	sqlite3_bind_text(st, 3, delta_op_name(d->op), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, d->property_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, d->pms_person_id, -1, SQLITE_TRANSIENT);
	db_bind_text_or_null(st, 6, d->pms_unit_id);
	db_bind_text_or_null(st, 7, d->latch_unit_id);
	sqlite3_bind_text(st, 8, d->reason, -1, SQLITE_TRANSIENT);
	db_bind_text_or_null(st, 9, d->group_id);
	sqlite3_bind_text(st, 10, d->effective_date, -1, SQLITE_TRANSIENT);
	if (snapshot_id)
		sqlite3_bind_int64(st, 11, snapshot_id);
	else
		sqlite3_bind_null(st, 11);
	db_bind_text_or_null(st, 12, source_ref);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(r->db));
		return -1;
	}
	return 0;
}

/*
 * DESIGN.md §6: is a person with status STATUS eligible on the as-of date?
 * Sets *why to the UNASSIGN reason when not.
 */
static int eligible(const struct policy *p, const char *status, const char *move_in,
		    const char *move_out, const char **why)
{
	char key[32], edge[DATE_LEN + 1];

	snprintf(key, sizeof(key), ",%s,", status);
	if (strstr(p->exclude, key)) {
		*why = "status_excluded";
		return 0;
	}
	if (!strcmp(status, "current") || !strcmp(status, "notice") ||
	    !strcmp(status, "eviction")) {
		if (*move_out) {
			/* access lasts through the move-out day plus the grace days */
			date_add_days(move_out, p->grace_days, edge);
			if (strcmp(edge, p->as_of) < 0) {
				*why = "move_out";
				return 0;
			}
		}
		return 1;
	}
	if (!strcmp(status, "future") || !strcmp(status, "applicant")) {
		if (p->lead_days < 0 || !*move_in) {
			*why = "status_change";
			return 0;
		}
		date_add_days(move_in, -p->lead_days, edge);
		if (strcmp(p->as_of, edge) < 0) {
			*why = "status_change";
			return 0;
		}
		return 1;
	}
	*why = !strcmp(status, "past") ? "move_out" : "status_change";
	return 0;
}

/*
 * Pass 1: decide every person of the property's input snapshots into temp
 * table want, and record person-level exceptions.
 *
 * A person is synced (sync = 1, wanted in latch_unit_id) or not (why says
 * what an existing assignment's removal would be called), or held (hold =
 * 1): left exactly as they are tonight, because something about them is
 * unknown (an unknown status, a row that could not be read, an e-mail
 * shared with another resident).  Roommates, occupants and minors whose
 * export gives them no status of their own take their household's.
 */
static int decide_people(struct run *r, struct tally *t, struct policy *p)
{
	sqlite3_stmt *st = NULL, *ins = NULL, *rej = NULL, *hold = NULL;
	int rc = -1, step, held;

	if (db_prepare(
		    r->db,
		    /*
		     * A roommate, occupant or minor with no status of their own takes
		     * the household's: its status and, where they have none, its
		     * move dates (so they leave and arrive with the household).
		     */
		    "SELECT p.pms_person_id, p.pms_unit_id, p.role, coalesce(h.status, p.status), "
		    "  coalesce(h.status_raw, p.status_raw), p.email, p.phone, p.first_name, "
		    "  p.last_name, coalesce(p.move_in, h.move_in), coalesce(p.move_out, h.move_out), "
		    "  coalesce(p.expected_move_out, h.expected_move_out), m.latch_unit_id, "
		    "  u.latch_user_id, u.email, "
		    "  p.source_ref, p.snapshot_id, "
		    /* the unit was mapped since the property's last run: say so */
		    "  EXISTS (SELECT 1 FROM map_history h WHERE h.property_id = p.property_id "
		    "    AND h.pms_unit_id = p.pms_unit_id AND h.after_latch_unit_id = m.latch_unit_id "
		    /* bound to ?1, not p.property_id: computed once, not per person */
		    "    AND h.id > (SELECT max(r.map_seq) FROM run r JOIN run_input i "
		    "      ON i.run_id = r.run_id WHERE i.property_id = ?1)) "
		    "FROM stg_person p "
		    "LEFT JOIN stg_person h ON p.status = 'unknown' "
		    "  AND p.role IN ('roommate', 'occupant', 'minor') "
		    "  AND h.snapshot_id = p.snapshot_id AND h.property_id = p.property_id "
		    "  AND h.pms_person_id = (SELECT min(x.pms_person_id) FROM stg_person x "
		    "    WHERE x.snapshot_id = p.snapshot_id AND x.property_id = p.property_id "
		    "    AND x.household_id = p.household_id AND x.role = 'primary') "
		    "LEFT JOIN unit_map m ON m.property_id = p.property_id AND m.pms_unit_id = p.pms_unit_id "
		    "LEFT JOIN person_user u ON u.property_id = p.property_id "
		    "  AND u.pms_person_id = p.pms_person_id "
		    "WHERE p.snapshot_id IN (SELECT snapshot_id FROM temp.snap) AND p.property_id = ?1 "
		    /* a person in several of tonight's files: the newest file wins */
		    /* CROSS JOIN keeps n outside, so q is found by its primary key
		     * instead of a scan of every staged row per person */
		    "  AND NOT EXISTS (SELECT 1 FROM temp.snap n CROSS JOIN stg_person q "
		    "    ON q.snapshot_id = n.snapshot_id AND q.property_id = ?1 "
		    "    AND q.pms_person_id = p.pms_person_id "
		    "    WHERE n.ord > (SELECT ord FROM temp.snap WHERE snapshot_id = p.snapshot_id)) "
		    "ORDER BY p.pms_person_id",
		    &st) < 0 ||
	    db_prepare(r->db,
		       "INSERT OR IGNORE INTO temp.want (property_id, pms_person_id, pms_unit_id, "
		       "latch_unit_id, latch_user_id, sync, hold, why, email, email_key, phone, "
		       "first_name, last_name, source_ref, snapshot_id, new_mapping) "
		       "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,lower(?9),?10,?11,?12,?13,?14,?15)",
		       &ins) < 0 ||
	    db_prepare(r->db,
		       "UPDATE temp.want SET hold = 1, sync = 0, why = 'rejected_row' "
		       "WHERE property_id = ?1 AND pms_person_id = ?2 AND "
		       "(SELECT ord FROM temp.snap WHERE snapshot_id = want.snapshot_id) <= "
		       "(SELECT ord FROM temp.snap WHERE snapshot_id = ?3)",
		       &hold) < 0 ||
	    db_prepare(r->db,
		       "SELECT r.pms_person_id, r.source_ref, r.reason, r.snapshot_id FROM stg_reject r "
		       "WHERE r.snapshot_id IN (SELECT snapshot_id FROM temp.snap) "
		       /* a reject of a file naming its properties, where the row's own
			* property could not be read, could belong to any of them */
		       "AND (r.property_id = ?1 OR r.property_id IS NULL) "
		       "ORDER BY r.pms_person_id, r.source_ref",
		       &rej) < 0)
		goto out;
	sqlite3_bind_text(st, 1, p->property_id, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *person = db_col_text(st, 0), *unit = db_col_text(st, 1);
		const char *role = db_col_text(st, 2), *status = db_col_text(st, 3);
		const char *raw = db_col_text(st, 4), *email = db_col_text(st, 5);
		const char *phone = db_col_text(st, 6), *move_in = db_col_text(st, 9);
		const char *move_out = db_col_text(st, 10), *expected_out = db_col_text(st, 11);
		const char *latch_unit = db_col_text(st, 12), *user = db_col_text(st, 13);
		const char *user_email = db_col_text(st, 14);
		const char *why = "";
		char detail[512];
		int sync = 0, hold = 0;

		if (!strcmp(role, "guarantor")) {
			why = "guarantor";
		} else if (!strcmp(status, "unknown")) {
			/* we do not know whether they live here: change nothing */
			snprintf(detail, sizeof(detail),
				 "unknown lease status '%s'; access left as it is", raw);
			if (add_exception(r, t, "unknown_status", p->property_id, unit, person,
					  detail) < 0)
				goto out;
			hold = 1;
		} else if (eligible(p, status, move_in, move_out, &why)) {
			sync = 1;
			if (!*latch_unit) {
				snprintf(detail, sizeof(detail),
					 "unit '%s' has no Latch unit mapped", unit);
				if (add_exception(r, t, "unmapped_unit", p->property_id, unit,
						  person, detail) < 0)
					goto out;
				sync = 0;
				why = "mapping_removed";
			} else if (!*user && !*email && !*phone) {
				if (add_exception(r, t, "missing_contact", p->property_id, unit,
						  person,
						  !strcmp(role, "minor")
							  ? "minor without e-mail or phone"
							  : "neither e-mail nor phone") < 0)
					goto out;
				sync = 0;
				why = "missing_contact";
			}
			if (*expected_out && !*move_out && strcmp(expected_out, p->as_of) < 0 &&
			    (!strcmp(status, "current") || !strcmp(status, "notice") ||
			     !strcmp(status, "eviction"))) {
				snprintf(detail, sizeof(detail),
					 "expected move-out %s has passed with no actual move-out; access kept",
					 expected_out);
				if (add_exception(r, t, "overdue_move_out", p->property_id, unit,
						  person, detail) < 0)
					goto out;
			}
		}
		if (*user && *user_email && *email && strcasecmp(user_email, email)) {
			/* the PMS id still says who they are: their unit follows them,
			 * on the Latch user already matched; the account is a person's call */
			snprintf(detail, sizeof(detail),
				 "e-mail changed from '%s' to '%s' since Latch user %s was matched; "
				 "that user keeps being used",
				 user_email, email, user);
			if (add_exception(r, t, "email_mismatch", p->property_id, unit, person,
					  detail) < 0)
				goto out;
		}
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, p->property_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, person, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 3, unit, -1, SQLITE_TRANSIENT);
		db_bind_text_or_null(ins, 4, latch_unit);
		db_bind_text_or_null(ins, 5, user);
		sqlite3_bind_int(ins, 6, sync);
		sqlite3_bind_int(ins, 7, hold);
		sqlite3_bind_text(ins, 8, why, -1, SQLITE_STATIC);
		db_bind_text_or_null(ins, 9, email);
		db_bind_text_or_null(ins, 10, phone);
		db_bind_text_or_null(ins, 11, db_col_text(st, 7));
		db_bind_text_or_null(ins, 12, db_col_text(st, 8));
		sqlite3_bind_text(ins, 13, db_col_text(st, 15), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 14, sqlite3_column_int64(st, 16));
		sqlite3_bind_int(ins, 15, sqlite3_column_int(st, 17));
		if (sqlite3_step(ins) != SQLITE_DONE) {
			err_set("database: %s", sqlite3_errmsg(r->db));
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(r->db));
		goto out;
	}
	/*
	 * Rows the extractor could not stage: a person it could name is held
	 * as they are; rows naming nobody could be anyone, so nobody is
	 * removed for being absent from the export.
	 */
	sqlite3_bind_text(rej, 1, p->property_id, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(rej)) == SQLITE_ROW) {
		const char *person = db_col_text(rej, 0);
		char detail[1024];

		if (!*person) {
			p->unnamed_rejects++;
			continue;
		}
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, p->property_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, person, -1, SQLITE_TRANSIENT);
		for (int i = 3; i <= 13; i++)
			sqlite3_bind_null(ins, i);
		sqlite3_bind_int(ins, 6, 0);
		sqlite3_bind_int(ins, 7, 1);
		sqlite3_bind_text(ins, 8, "rejected_row", -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 14, sqlite3_column_int64(rej, 3));
		sqlite3_bind_int(ins, 15, 0);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			err_set("database: %s", sqlite3_errmsg(r->db));
			goto out;
		}
		/*
		 * A readable row of the person in an older file of tonight's gives
		 * way: the unreadable newer row is what the PMS says now.  One in
		 * the same file (the person twice) or a newer file decides.
		 */
		held = sqlite3_changes(r->db) > 0;
		if (!held) {
			sqlite3_reset(hold);
			sqlite3_bind_text(hold, 1, p->property_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(hold, 2, person, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(hold, 3, sqlite3_column_int64(rej, 3));
			if (sqlite3_step(hold) != SQLITE_DONE) {
				err_set("database: %s", sqlite3_errmsg(r->db));
				goto out;
			}
			held = sqlite3_changes(r->db) > 0;
		}
		snprintf(detail, sizeof(detail), "%s: %s; %s", db_col_text(rej, 1),
			 db_col_text(rej, 2),
			 held ? "access left as it is"
			      : "the person's row in a newer file was used");
		if (add_exception(r, t, "rejected_rows", p->property_id, "", person, detail) < 0)
			goto out;
	}
	/* a failed read of the rejects must not pass for "no rejects": they stop removals */
	if (step != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(r->db));
		goto out;
	}
	if (p->unnamed_rejects) {
		char detail[256];

		snprintf(detail, sizeof(detail),
			 "%ld rows of the export could not be read and name nobody; nobody is removed "
			 "for being absent from it tonight",
			 p->unnamed_rejects);
		if (add_exception(r, t, "rejected_rows", p->property_id, "", "", detail) < 0)
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	sqlite3_finalize(rej);
	sqlite3_finalize(hold);
	return rc;
}

/*
 * Residents sharing one e-mail (any letter case) cannot be told apart by
 * Latch, whose users are one per e-mail: neither is synced, both are
 * reported.  Across properties, the same e-mail with the same name is one
 * person renting twice (one Latch user, two homes); with another name it is
 * a clash.  Runs over the whole run's temp.want.
 */
static int hold_duplicate_emails(struct run *r, struct policy *ps, struct tally *ts, int n)
{
	static const char clash[] =
		/*
		 * Both sides of a clash are held: anyone synced tonight, held, or
		 * already holding a Latch user (a leaver still assigned), as long
		 * as one of the two would be acted on.  One e-mail is one Latch
		 * user: removing the leaver would remove the newcomer too.
		 */
		"FROM temp.want w JOIN temp.want o ON o.email_key = w.email_key "
		"  AND (o.property_id <> w.property_id OR o.pms_person_id <> w.pms_person_id) "
		"  AND (w.sync = 1 OR o.sync = 1) "
		"  AND (o.sync = 1 OR o.hold = 1 OR o.latch_user_id IS NOT NULL) "
		"  AND (w.sync = 1 OR w.hold = 1 OR w.latch_user_id IS NOT NULL) "
		"  AND (o.property_id = w.property_id "
		"       OR lower(coalesce(o.first_name, '') || ' ' || coalesce(o.last_name, '')) <> "
		"          lower(coalesce(w.first_name, '') || ' ' || coalesce(w.last_name, ''))) "
		"WHERE w.email_key IS NOT NULL ";
	sqlite3_stmt *st = NULL;
	char sql[1024];
	int rc = -1;

	snprintf(sql, sizeof(sql),
		 "SELECT w.property_id, w.pms_person_id, w.pms_unit_id, w.email, "
		 "  group_concat(o.property_id || '/' || o.pms_person_id, ' ') "
		 "%s GROUP BY w.property_id, w.pms_person_id ORDER BY w.property_id, w.pms_person_id",
		 clash);
	if (db_prepare(r->db, sql, &st) < 0)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char detail[1024];
		int i;

		for (i = 0; i < n && strcmp(ps[i].property_id, db_col_text(st, 0)); i++)
			;
		snprintf(detail, sizeof(detail), "e-mail '%s' is shared with %s; neither is synced",
			 db_col_text(st, 3), db_col_text(st, 4));
		if (add_exception(r, &ts[i < n ? i : 0], "duplicate_email", db_col_text(st, 0),
				  db_col_text(st, 2), db_col_text(st, 1), detail) < 0)
			goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	snprintf(sql, sizeof(sql),
		 "UPDATE temp.want SET hold = 1 WHERE (property_id, pms_person_id) IN "
		 "(SELECT w.property_id, w.pms_person_id %s)",
		 clash);
	if (db_exec(r->db, sql) < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* One current assignment of a person, as the diff sees it. */
struct held {
	char *latch_unit, *pms_unit, *user; /* owned */
	int manual;                         /* assigned in Latch by someone else */
	int uncertain;                      /* 1: an ASSIGN, 2: an UNASSIGN left inflight */
};

static void held_clear(struct held *h, int n)
{
	for (int i = 0; i < n; i++) {
		free(h[i].latch_unit);
		free(h[i].pms_unit);
		free(h[i].user);
	}
}

/*
 * Pass 2: merge the wanted assignments (temp.want) with unitsync's current
 * ones, both in person-id order, and write the delta.  "Current" includes
 * effects an earlier load left inflight (sent, outcome unknown): those are
 * never taken as settled, so the wanted state is asserted again (both ops
 * are idempotent in Latch).
 */
static int diff_people(struct run *r, struct tally *t, const struct policy *p)
{
	sqlite3_stmt *w = NULL, *a = NULL;
	int wstep, astep, rc = -1;
	struct held cur[16];
	int n_cur = 0;

	if (db_prepare(r->db,
		       "SELECT pms_person_id, pms_unit_id, latch_unit_id, latch_user_id, sync, hold, "
		       "why, email, phone, first_name, last_name, source_ref, snapshot_id, new_mapping "
		       "FROM temp.want WHERE property_id = ? ORDER BY pms_person_id",
		       &w) < 0 ||
	    db_prepare(r->db,
		       "SELECT pms_person_id, latch_unit_id, pms_unit_id, latch_user_id, "
		       "  owner = 'manual', 0 FROM assignment WHERE property_id = ?1 "
		       "UNION ALL "
		       "SELECT h.pms_person_id, h.latch_unit_id, h.pms_unit_id, "
		       "  coalesce(j.latch_user_id, pu.latch_user_id, ''), 0, "
		       "  CASE h.op WHEN 'ASSIGN' THEN 1 ELSE 2 END "
		       "FROM journal j JOIN delta_history h ON h.run_id = j.run_id AND h.seq = j.seq "
		       "LEFT JOIN person_user pu ON pu.property_id = h.property_id "
		       "  AND pu.pms_person_id = h.pms_person_id "
		       "WHERE j.state = 'inflight' AND h.property_id = ?1 "
		       "  AND h.op IN ('ASSIGN', 'UNASSIGN') "
		       "ORDER BY 1, 2, 6",
		       &a) < 0)
		goto out;
	sqlite3_bind_text(w, 1, p->property_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(a, 1, p->property_id, -1, SQLITE_STATIC);
	wstep = sqlite3_step(w);
	astep = sqlite3_step(a);
	while (wstep == SQLITE_ROW || astep == SQLITE_ROW) {
		const char *wp = wstep == SQLITE_ROW ? db_col_text(w, 0) : NULL;
		const char *ap = astep == SQLITE_ROW ? db_col_text(a, 0) : NULL;
		int c = !wp ? 1 : !ap ? -1 : strcmp(wp, ap);
		char *person = strdup(c <= 0 ? wp : ap);
		int has_want = c <= 0, sync = 0, hold = 0, kept = 0, any_own = 0;
		const char *want_unit = "", *why = "not_in_export", *ref = NULL;
		struct delta_row d = { .property_id = p->property_id, .effective_date = p->as_of };
		long long snap = p->snapshot_id;
		char group[64] = "";

		if (!person) {
			err_set("out of memory");
			goto out;
		}
		if (has_want) {
			sync = sqlite3_column_int(w, 4);
			hold = sqlite3_column_int(w, 5);
			want_unit = sync ? db_col_text(w, 2) : "";
			why = db_col_text(w, 6);
			ref = db_col_text(w, 11);
			snap = sqlite3_column_int64(w, 12);
		}
		/* this person's current assignments, one entry per Latch unit */
		while (astep == SQLITE_ROW && !strcmp(db_col_text(a, 0), person)) {
			int k;

			for (k = 0; k < n_cur && strcmp(cur[k].latch_unit, db_col_text(a, 1)); k++)
				;
			if (k == n_cur && n_cur < (int)(sizeof(cur) / sizeof(cur[0]))) {
				cur[k].latch_unit = strdup(db_col_text(a, 1));
				cur[k].pms_unit = strdup(db_col_text(a, 2));
				cur[k].user = strdup(db_col_text(a, 3));
				cur[k].manual = 0;
				cur[k].uncertain = 0;
				n_cur++;
			}
			if (k < n_cur) {
				if (sqlite3_column_int(a, 4))
					cur[k].manual = 1;
				if (sqlite3_column_int(a, 5) > cur[k].uncertain)
					cur[k].uncertain = sqlite3_column_int(a, 5);
				if (!*cur[k].user && *db_col_text(a, 3)) {
					free(cur[k].user);
					cur[k].user = strdup(db_col_text(a, 3));
				}
			}
			astep = sqlite3_step(a);
		}
		for (int k = 0; k < n_cur; k++) {
			if (!cur[k].latch_unit || !cur[k].pms_unit || !cur[k].user) {
				err_set("out of memory");
				free(person);
				goto out;
			}
			if (!cur[k].manual && cur[k].uncertain != 1)
				t->assignments++;
			if (*want_unit && !strcmp(cur[k].latch_unit, want_unit) &&
			    !cur[k].uncertain)
				kept = 1;
			any_own |= !cur[k].manual && strcmp(cur[k].latch_unit, want_unit);
		}
		if (hold)
			goto next;
		if (*want_unit && !kept) {
			const char *user = db_col_text(w, 3);
			int again = 0;

			for (int k = 0; k < n_cur; k++)
				again |= !strcmp(cur[k].latch_unit, want_unit);
			if (!*user) {
				d.op = DELTA_USER_CREATE;
				d.pms_unit_id = db_col_text(w, 1);
				d.pms_person_id = person;
				d.latch_user_id = "";
				d.reason = any_own                     ? "transfer"
					   : sqlite3_column_int(w, 13) ? "mapping_added"
								       : "move_in";
				d.email = db_col_text(w, 7);
				d.phone = db_col_text(w, 8);
				d.first_name = db_col_text(w, 9);
				d.last_name = db_col_text(w, 10);
				if (emit(r, t, &d, snap, ref) < 0) {
					free(person);
					goto out;
				}
				d.email = d.phone = d.first_name = d.last_name = "";
			}
			d.op = DELTA_ASSIGN;
			d.pms_unit_id = db_col_text(w, 1);
			d.latch_unit_id = want_unit;
			d.pms_person_id = person;
			d.latch_user_id = user;
			d.reason = again                       ? "reapply"
				   : sqlite3_column_int(w, 13) ? "mapping_added"
							       : "move_in";
			if (any_own) {
				/* make before break: the ASSIGN goes first, the UNASSIGN after */
				snprintf(group, sizeof(group), "g%ld", r->seq + 1);
				for (int k = 0; k < n_cur; k++)
					if (!cur[k].manual && strcmp(cur[k].latch_unit, want_unit))
						d.reason = strcmp(cur[k].pms_unit, d.pms_unit_id)
								   ? "transfer"
								   : "mapping_changed";
				d.group_id = group;
			}
			if (emit(r, t, &d, snap, ref) < 0) {
				free(person);
				goto out;
			}
		}
		for (int k = 0; k < n_cur; k++) {
			char detail[512];

			if (*want_unit && !strcmp(cur[k].latch_unit, want_unit))
				continue;
			if (cur[k].manual) {
				/* assigned in Latch by a person, not by unitsync: theirs to remove */
				snprintf(detail, sizeof(detail),
					 "Latch unit '%s' was assigned by someone else, not unitsync; "
					 "left alone%s%s%s",
					 cur[k].latch_unit, *why ? " (" : "", why, *why ? ")" : "");
				if (add_exception(r, t, "manual_assignment", p->property_id,
						  cur[k].pms_unit, person, detail) < 0) {
					free(person);
					goto out;
				}
				continue;
			}
			d.op = DELTA_UNASSIGN;
			d.pms_unit_id = cur[k].pms_unit;
			d.latch_unit_id = cur[k].latch_unit;
			d.pms_person_id = person;
			d.latch_user_id = cur[k].user;
			d.group_id = group;
			d.email = d.phone = d.first_name = d.last_name = "";
			if (*want_unit)
				d.reason = strcmp(cur[k].pms_unit, db_col_text(w, 1))
						   ? "transfer"
						   : "mapping_changed";
			else if (has_want && !strcmp(why, "mapping_removed") &&
				 strcmp(cur[k].pms_unit, db_col_text(w, 1)))
				d.reason = "transfer"; /* moved, to a unit not mapped yet */
			else
				d.reason = why;
			if (!*d.latch_user_id) {
				snprintf(detail, sizeof(detail),
					 "an earlier load left the assignment of Latch unit '%s' unconfirmed "
					 "and the person has no Latch user on record; check it by hand",
					 cur[k].latch_unit);
				if (add_exception(r, t, "unconfirmed_assignment", p->property_id,
						  cur[k].pms_unit, person, detail) < 0) {
					free(person);
					goto out;
				}
				continue;
			}
			if (!p->unit_sync ||
			    (p->unnamed_rejects && !strcmp(d.reason, "not_in_export"))) {
				snprintf(detail, sizeof(detail),
					 "%s: removal from Latch unit '%s' (%s) withheld",
					 !p->unit_sync ? "unit sync is off"
						       : "rows of the export could not be read",
					 cur[k].latch_unit, d.reason);
				if (add_exception(r, t,
						  !p->unit_sync ? "unit_sync_disabled"
								: "rejected_rows",
						  p->property_id, cur[k].pms_unit, person,
						  detail) < 0) {
					free(person);
					goto out;
				}
				continue;
			}
			if (emit(r, t, &d, snap, ref) < 0) {
				free(person);
				goto out;
			}
		}
next:
		held_clear(cur, n_cur);
		n_cur = 0;
		free(person);
		if (has_want)
			wstep = sqlite3_step(w);
	}
	/* a read that failed must not pass for the end: the rest would look absent */
	if (wstep != SQLITE_DONE || astep != SQLITE_DONE) {
		err_set("database: %s", sqlite3_errmsg(r->db));
		goto out;
	}
	rc = 0;
out:
	held_clear(cur, n_cur);
	sqlite3_finalize(w);
	sqlite3_finalize(a);
	return rc;
}

/* Put the property's input snapshots into temp.snap for the people query. */
static int fill_snap(sqlite3 *db, const struct policy *p)
{
	sqlite3_stmt *st = NULL;
	json_t *in;
	size_t i;
	int rc = -1;

	if (db_exec(db, "DELETE FROM temp.snap") < 0 ||
	    db_prepare(db, "INSERT OR IGNORE INTO temp.snap (snapshot_id, ord) VALUES (?, ?)",
		       &st) < 0)
		goto out;
	json_array_foreach(p->inputs, i, in)
	{
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(in, "snapshot_id")));
		sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(in, "extract_order")));
		if (sqlite3_step(st) != SQLITE_DONE) {
			err_set("database: %s", sqlite3_errmsg(db));
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* A property without tonight's export: nobody can be judged, remove nobody. */
static int property_missing(struct run *r, struct tally *t, const struct policy *p)
{
	char detail[256];
	sqlite3_stmt *st = NULL;
	long n = 0;

	if (db_prepare(r->db,
		       "SELECT count(*) FROM assignment WHERE property_id = ? AND owner = 'unitsync'",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, p->property_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	t->assignments = n;
	snprintf(detail, sizeof(detail), "%s; %ld assignment%s left as %s",
		 p->snapshot_id ? "tonight's export has no residents for this property"
				: "no export staged for this property tonight",
		 n, n == 1 ? "" : "s", n == 1 ? "it is" : "they are");
	return add_exception(r, t, "property_missing", p->property_id, "", "", detail);
}

/* Is the property judged tonight (it has residents in its export)? */
static int property_present(const struct policy *p)
{
	return p->snapshot_id && p->people > 0;
}

/* The safety guard's verdict for one property: NULL when ok. */
static json_t *guard_reasons(const struct policy *p, const struct tally *t)
{
	json_t *why = json_array();
	long un = t->ops[DELTA_UNASSIGN];
	char msg[768];

	if (t->assignments >= 10 && un * 100 > (long)p->guard_percent * t->assignments) {
		snprintf(msg, sizeof(msg), "%ld removals of %ld current assignments exceed %d%%",
			 un, t->assignments, p->guard_percent);
		json_array_append_new(why, json_string(msg));
	}
	if (p->guard_max >= 0 && un > p->guard_max) {
		snprintf(msg, sizeof(msg), "%ld removals exceed guard-max %d", un, p->guard_max);
		json_array_append_new(why, json_string(msg));
	}
	if (p->prev_people > 0 && p->snapshot_id &&
	    (p->prev_people - p->people) * 100 > (long)p->guard_percent * p->prev_people) {
		snprintf(msg, sizeof(msg), "export shrank from %ld to %ld people, more than %d%%",
			 p->prev_people, p->people, p->guard_percent);
		json_array_append_new(why, json_string(msg));
	}
	if (p->lost_fields) {
		snprintf(msg, sizeof(msg),
			 "schema_changed: the export lost fields %s that the previous accepted "
			 "export carried",
			 p->lost_fields);
		json_array_append_new(why, json_string(msg));
	}
	if (json_array_size(why) == 0) {
		json_decref(why);
		return NULL;
	}
	return why;
}

/*
 * Schema drift (issue 15 item 7): a column that carried data last night
 * and is gone tonight (role dropped: guarantors get access; move_out
 * renamed: residents past it keep theirs) changes decisions silently.  When
 * the property's newest input snapshot lacks a field that its previous
 * accepted export of the same kind and dialect carried (the newest such
 * snapshot of the last run whose guard was ok or that was approved, as for
 * the shrink check in policy_snapshot()), note the fields in
 * p->lost_fields, for the safety guard, and report a schema_changed
 * exception.  Snapshots with no fields recorded (NULL: before migration 3)
 * never trigger it.  0, or -1 with err_set().
 */
static int schema_check(struct run *r, struct tally *t, struct policy *p)
{
	sqlite3_stmt *st = NULL;
	char lost[512] = "", detail[768];
	const char *cur, *prev, *f, *end;
	int rc = -1;

	if (db_prepare(r->db,
		       "SELECT cur.fields, prev.fields, cur.source_kind, cur.dialect "
		       "FROM snapshot cur JOIN snapshot prev ON prev.snapshot_id = ("
		       "  SELECT s.snapshot_id FROM run_input ri JOIN run ON run.run_id = ri.run_id "
		       "  JOIN snapshot s ON s.snapshot_id = ri.snapshot_id "
		       "  WHERE ri.property_id = ?1 AND s.source_kind = cur.source_kind "
		       "  AND s.dialect = cur.dialect "
		       "  AND (run.guard = 'ok' OR run.approved_at IS NOT NULL) "
		       "  ORDER BY ri.run_id DESC, s.extract_order DESC LIMIT 1) "
		       "WHERE cur.snapshot_id = ?2 AND cur.fields IS NOT NULL "
		       "AND prev.fields IS NOT NULL",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, p->property_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->snapshot_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = 0;
		goto out;
	}
	cur = db_col_text(st, 0);
	prev = db_col_text(st, 1);
	/* both lists are sorted: the lost ones come out sorted */
	for (f = prev; *f; f = *end ? end + 1 : end) {
		size_t n, cn = strlen(cur);
		const char *c;
		int found = 0;

		end = strchr(f, ',');
		if (!end)
			end = f + strlen(f);
		n = (size_t)(end - f);
		for (c = cur; c < cur + cn && !found; c += strcspn(c, ",") + 1)
			found = strcspn(c, ",") == n && !strncmp(c, f, n);
		if (!found && n && strlen(lost) + n + 3 < sizeof(lost))
			snprintf(lost + strlen(lost), sizeof(lost) - strlen(lost), "%s%.*s",
				 lost[0] ? ", " : "", (int)n, f);
	}
	if (!lost[0]) {
		rc = 0;
		goto out;
	}
	p->lost_fields = strdup(lost);
	if (!p->lost_fields) {
		err_set("out of memory");
		goto out;
	}
	snprintf(detail, sizeof(detail),
		 "the %s export (%s) lacks fields the previous accepted export carried: %s; "
		 "nothing changes for the property until the run is approved (or the export "
		 "fixed and extracted again)",
		 db_col_text(st, 2), db_col_text(st, 3), lost);
	rc = add_exception(r, t, "schema_changed", p->property_id, "", "", detail);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Hash of the mapping rows and policies of the run's properties. */
static int inputs_hash(sqlite3 *db, const char *sql, struct policy *ps, int n, char out[65])
{
	struct sha256 h;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sha256_init(&h) < 0)
		return -1;
	if (db_prepare(db, sql, &st) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, ps[i].property_id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const char *v = db_col_text(st, c);

				sha256_update(&h, v, strlen(v) + 1);
			}
			sha256_update(&h, "\n", 1);
		}
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sha256_final(&h, out);
	return rc;
}

/* Write exceptions.csv from temp.exc in a stable order. */
static int write_exceptions(sqlite3 *db, FILE *fp)
{
	sqlite3_stmt *st = NULL;

	if (db_prepare(db,
		       "SELECT kind, property_id, pms_unit_id, pms_person_id, detail FROM temp.exc "
		       "ORDER BY property_id, pms_person_id, kind, pms_unit_id, detail",
		       &st) < 0)
		return -1;
	exceptions_write_header(fp);
	while (sqlite3_step(st) == SQLITE_ROW)
		exceptions_write_row(fp, db_col_text(st, 0), db_col_text(st, 1), db_col_text(st, 2),
				     db_col_text(st, 3), db_col_text(st, 4));
	sqlite3_finalize(st);
	return 0;
}

static int write_json(const char *path, json_t *obj)
{
	struct dur_file f;
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (!text) {
		err_set("out of memory");
		return -1;
	}
	if (dur_open(&f, path, 0640) < 0) {
		free(text);
		return -1;
	}
	fputs(text, f.fp);
	fputc('\n', f.fp);
	free(text);
	return dur_commit(&f);
}

static int write_sums(const char *dir)
{
	static const char *const names[] = { "delta.csv", "exceptions.csv", "manifest.json" };
	struct dur_file f;
	char path[PATH_MAX], hex[65];
	long long size;

	snprintf(path, sizeof(path), "%s/SHA256SUMS", dir);
	if (dur_open(&f, path, 0640) < 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		char file[PATH_MAX];

		snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
		if (sha256_file(file, hex, &size) < 0) {
			dur_abort(&f);
			return -1;
		}
		fprintf(f.fp, "%s  %s\n", hex, names[i]);
	}
	return dur_commit(&f);
}

/* Record the run in the state database (one transaction with the history). */
static int record_run(sqlite3 *db, const char *run_id, const char *dir, const char *as_of,
		      const char *delta_sha, const char *manifest_sha, long rows, const char *guard,
		      struct policy *ps, int n)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc = -1;

	db_now(now, sizeof(now));
	if (db_prepare(db,
		       "INSERT INTO run (run_id, run_dir, as_of, delta_sha256, delta_rows, guard, "
		       "created_at, manifest_sha256, map_seq) VALUES (?,?,?,?,?,?,?,?, "
		       "(SELECT coalesce(max(id), 0) FROM map_history))",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, as_of, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, delta_sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, rows);
	sqlite3_bind_text(st, 6, guard, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, manifest_sha, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto db_error;
	sqlite3_finalize(st);
	if (db_prepare(db,
		       "INSERT INTO run_input (run_id, property_id, snapshot_id) VALUES (?,?,?)",
		       &st) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		size_t k = 0;

		/* one row per input snapshot; one with no snapshot for a missing property */
		do {
			json_t *in = json_array_get(ps[i].inputs, k);

			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, ps[i].property_id, -1, SQLITE_STATIC);
			if (in)
				sqlite3_bind_int64(st, 3,
						   json_integer_value(
							   json_object_get(in, "snapshot_id")));
			else
				sqlite3_bind_null(st, 3);
			if (sqlite3_step(st) != SQLITE_DONE)
				goto db_error;
		} while (++k < json_array_size(ps[i].inputs));
	}
	rc = 0;
	goto out;
db_error:
	err_set("database: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	return rc;
}

static int make_run_id(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char when[32], seed[96], hex[65];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* sortable to the microsecond: two runs in one second still order */
	strftime(when, sizeof(when), "%Y%m%dT%H%M%S", &tm);
	snprintf(seed, sizeof(seed), "%s.%ld.%ld", when, ts.tv_nsec, (long)getpid());
	if (sha256_hex(seed, strlen(seed), hex) < 0)
		return -1;
	snprintf(out, size, "%s.%06ldZ-%.6s", when, ts.tv_nsec / 1000, hex);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as-of", required_argument, NULL, 'a' },
		{ "property", required_argument, NULL, 'p' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "snapshots-only", no_argument, NULL, 'S' },
		{ "shard", required_argument, NULL, 'k' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	const char *as_of = NULL, *out_dir = "runs";
	const char *props[MAX_LIST];
	long long snaps[MAX_LIST];
	int n_props = 0, n_snaps = 0, n_policies = 0, opt, rc = US_EXIT_USAGE, in_tx = 0;
	struct policy *ps = NULL;
	struct tally *ts = NULL;
	struct run r = { 0 };
	struct dur_file df = { 0 }, ef = { 0 };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char dir[PATH_MAX], path[PATH_MAX], delta_sha[65], mapping_sha[65], policy_sha[65];
	char abs_dir[PATH_MAX];
	json_t *manifest = NULL, *jprops, *jinputs, *jheld, *totals_op, *totals_reason, *totals_exc;
	long long size;
	int held = 0, snapshots_only = 0, partial = 0, cap_policies = 0;
	struct shard shard = { 0, 0 };
	char manifest_sha[65];

	cli_common_init(&cli, "unitsync-transform", usage);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		int c;

		switch (opt) {
		case 'a':
			if (!date_valid(optarg)) {
				cli_usage_error(&cli, "--as-of takes a date YYYY-MM-DD, not '%s'",
						optarg);
				goto out;
			}
			as_of = optarg;
			break;
		case 'p':
			if (n_props == MAX_LIST) {
				cli_usage_error(&cli, "more than %d --property options", MAX_LIST);
				goto out;
			}
			props[n_props++] = optarg;
			break;
		case 's':
			if (n_snaps == MAX_LIST) {
				cli_usage_error(&cli, "more than %d --snapshot options", MAX_LIST);
				goto out;
			}
			snaps[n_snaps] = strtoll(optarg, &end, 10);
			if (*end || snaps[n_snaps] <= 0) {
				cli_usage_error(&cli, "--snapshot takes a snapshot id, not '%s'",
						optarg);
				goto out;
			}
			n_snaps++;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'S':
			snapshots_only = 1;
			break;
		case 'k':
			if (shard_parse(optarg, &shard) < 0) {
				cli_usage_error(&cli, "--shard: %s", err_msg());
				goto out;
			}
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				rc = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	if (optind < argc) {
		cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	rc = US_EXIT_CONFIG;
	if (db_open(cli.db_path, 0, &db) < 0)
		goto fail;

	/* the properties of this run, in id order */
	if (db_prepare(db,
		       n_props ? "SELECT ?1 WHERE EXISTS (SELECT 1 FROM property WHERE property_id = ?1)"
		       : n_snaps
			       ? "SELECT DISTINCT property_id FROM snapshot_property WHERE snapshot_id = ?1"
			       : "SELECT property_id FROM property ORDER BY property_id",
		       &st) < 0)
		goto fail;

	for (int i = 0; i < (n_props ? n_props : n_snaps ? n_snaps : 1); i++) {
		sqlite3_reset(st);
		if (n_props)
			sqlite3_bind_text(st, 1, props[i], -1, SQLITE_STATIC);
		else if (n_snaps)
			sqlite3_bind_int64(st, 1, snaps[i]);
		if (n_props && sqlite3_step(st) != SQLITE_ROW) {
			log_error("unknown property '%s' (add it with 'unitsync property add')",
				  props[i]);
			rc = US_EXIT_DATAERR;
			goto out;
		}
		if (n_props) {
			sqlite3_reset(st);
		}
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *id = db_col_text(st, 0);
			int dup = 0, lr;

			if (!shard_has(&shard, id))
				continue;
			for (int k = 0; k < n_policies && !dup; k++)
				dup = !strcmp(ps[k].property_id, id);
			if (dup)
				continue;
			if (n_policies == cap_policies) {
				int cap = cap_policies ? cap_policies * 2 : 64;
				struct policy *np = realloc(ps, (size_t)cap * sizeof(*np));
				struct tally *nt =
					np ? realloc(ts, (size_t)cap * sizeof(*nt)) : NULL;

				if (np)
					ps = np;
				if (!np || !nt) {
					err_set("out of memory");
					goto fail;
				}
				ts = nt;
				memset(ps + n_policies, 0,
				       (size_t)(cap - n_policies) * sizeof(*ps));
				memset(ts + n_policies, 0,
				       (size_t)(cap - n_policies) * sizeof(*ts));
				cap_policies = cap;
			}
			lr = policy_load(db, id, &ps[n_policies]);
			if (lr < 0)
				goto fail;
			if (lr == 1) {
				log_error("snapshot names property '%s', which is not configured "
					  "(add it with 'unitsync property add')",
					  id);
				rc = US_EXIT_DATAERR;
				goto out;
			}
			n_policies++;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (n_policies == 0) {
		if (n_snaps)
			log_error("the snapshots given cover no configured property%s (see 'unitsync "
				  "snapshots list')",
				  shard.n ? " of this shard" : "");
		else
			log_error("no properties to transform%s (add one with 'unitsync property add')",
				  shard.n ? " in this shard" : "");
		rc = US_EXIT_DATAERR;
		goto out;
	}
	/* sort by id: the delta's order must not depend on the command line */
	for (int i = 1; i < n_policies; i++)
		for (int k = i; k > 0 && strcmp(ps[k - 1].property_id, ps[k].property_id) > 0;
		     k--) {
			struct policy tmp = ps[k];

			ps[k] = ps[k - 1];
			ps[k - 1] = tmp;
		}
	for (int i = 0; i < n_policies; i++) {
		if (as_of)
			snprintf(ps[i].as_of, sizeof(ps[i].as_of), "%s", as_of);
		else if (date_today(ps[i].timezone, ps[i].as_of) < 0)
			goto fail;
		if (policy_snapshot(db, &ps[i], snaps, n_snaps, snapshots_only) < 0)
			goto fail;
	}

	/* the run directory */
	if (make_run_id(r.run_id, sizeof(r.run_id)) < 0)
		goto fail;
	if (dur_mkdir(out_dir, 0750) < 0)
		goto fail;
	/* written under a hidden name, renamed when complete */
	snprintf(dir, sizeof(dir), "%s/.%s.partial", out_dir, r.run_id);
	if (dur_mkdir(dir, 0750) < 0)
		goto fail;
	partial = 1;
	snprintf(path, sizeof(path), "%s/delta.csv", dir);
	if (dur_open(&df, path, 0640) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/exceptions.csv", dir);
	if (dur_open(&ef, path, 0640) < 0)
		goto fail;
	r.db = db;
	r.delta = df.fp;
	delta_write_header(df.fp);

	/* temp.want holds every person of the run: give it 16 MiB of page
	 * cache (SQLite's default is 2 MB) so it does not spill to disk */
	if (db_exec(db,
		    "PRAGMA temp.cache_size = -16384;"
		    "CREATE TEMP TABLE IF NOT EXISTS want (property_id TEXT, pms_person_id TEXT, "
		    "pms_unit_id TEXT, latch_unit_id TEXT, latch_user_id TEXT, sync INTEGER, "
		    "hold INTEGER, why TEXT, email TEXT, email_key TEXT, phone TEXT, first_name TEXT, "
		    "last_name TEXT, source_ref TEXT, snapshot_id INTEGER, new_mapping INTEGER, "
		    "PRIMARY KEY (property_id, pms_person_id));"
		    "CREATE TEMP TABLE IF NOT EXISTS snap (snapshot_id INTEGER PRIMARY KEY, ord INTEGER);"
		    "CREATE INDEX IF NOT EXISTS temp.want_email ON want (email_key);"
		    "CREATE TEMP TABLE IF NOT EXISTS exc (property_id TEXT, pms_person_id TEXT, kind TEXT, "
		    "pms_unit_id TEXT, detail TEXT);") < 0 ||
	    db_exec(db, "BEGIN IMMEDIATE") < 0)
		goto fail;
	in_tx = 1;
	if (db_prepare(db,
		       "INSERT INTO delta_history (run_id, seq, op, property_id, pms_person_id, pms_unit_id, "
		       "latch_unit_id, reason, group_id, effective_date, snapshot_id, source_ref) "
		       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
		       &r.history) < 0 ||
	    db_prepare(db,
		       "INSERT INTO temp.exc (property_id, pms_person_id, kind, pms_unit_id, detail) "
		       "VALUES (?,?,?,?,?)",
		       &r.exc) < 0)
		goto fail;
	/* decide everyone first: an e-mail may be shared across properties */
	for (int i = 0; i < n_policies; i++) {
		ts[i].reasons = json_object();
		ts[i].exceptions = json_object();
		if (property_present(&ps[i]) &&
		    (fill_snap(db, &ps[i]) < 0 || decide_people(&r, &ts[i], &ps[i]) < 0))
			goto fail;
	}
	if (hold_duplicate_emails(&r, ps, ts, n_policies) < 0)
		goto fail;
	for (int i = 0; i < n_policies; i++)
		if ((property_present(&ps[i]) ? diff_people(&r, &ts[i], &ps[i])
					      : property_missing(&r, &ts[i], &ps[i])) < 0 ||
		    (property_present(&ps[i]) && schema_check(&r, &ts[i], &ps[i]) < 0))
			goto fail;
	if (write_exceptions(db, ef.fp) < 0)
		goto fail;
	if (dur_commit(&df) < 0 || dur_commit(&ef) < 0)
		goto fail;

	/* the manifest */
	snprintf(path, sizeof(path), "%s/delta.csv", dir);
	if (sha256_file(path, delta_sha, &size) < 0)
		goto fail;
	if (inputs_hash(db,
			"SELECT property_id, pms_unit_id, latch_unit_id FROM unit_map "
			"WHERE property_id = ? ORDER BY pms_unit_id",
			ps, n_policies, mapping_sha) < 0 ||
	    inputs_hash(db,
			"SELECT property_id, latch_building, timezone, unit_sync, exclude_status, "
			"grant_lead_days, revoke_grace_days, guard_percent, guard_max FROM property "
			"WHERE property_id = ?",
			ps, n_policies, policy_sha) < 0)
		goto fail;
	manifest = json_object();
	jprops = json_array();
	jinputs = json_array();
	jheld = json_array();
	totals_op = json_object();
	totals_reason = json_object();
	totals_exc = json_object();
	for (int op = 0; op < 3; op++)
		json_object_set_new(totals_op, delta_op_name((enum delta_op)op), json_integer(0));
	for (int i = 0; i < n_policies; i++) {
		json_t *jp = json_object(), *ops = json_object(),
		       *why = guard_reasons(&ps[i], &ts[i]);
		const char *k;
		json_t *v;

		for (int op = 0; op < 3; op++) {
			const char *name = delta_op_name((enum delta_op)op);

			json_object_set_new(ops, name, json_integer(ts[i].ops[op]));
			json_object_set_new(totals_op, name,
					    json_integer(json_integer_value(
								 json_object_get(totals_op, name)) +
							 ts[i].ops[op]));
		}
		json_object_foreach(ts[i].reasons, k, v)
		{
			json_t *o = json_object_get(totals_reason, k);

			json_object_set_new(totals_reason, k,
					    json_integer((o ? json_integer_value(o) : 0) +
							 json_integer_value(v)));
		}
		json_object_foreach(ts[i].exceptions, k, v)
		{
			json_t *o = json_object_get(totals_exc, k);

			json_object_set_new(totals_exc, k,
					    json_integer((o ? json_integer_value(o) : 0) +
							 json_integer_value(v)));
		}
		json_object_set_new(jp, "property_id", json_string(ps[i].property_id));
		json_object_set_new(jp, "as_of", json_string(ps[i].as_of));
		json_object_set_new(jp, "timezone", json_string(ps[i].timezone));
		json_object_set_new(jp, "unit_sync", json_boolean(ps[i].unit_sync));
		json_object_set_new(jp, "snapshot_id",
				    ps[i].snapshot_id ? json_integer(ps[i].snapshot_id)
						      : json_null());
		json_object_set_new(jp, "people", json_integer(ps[i].people));
		json_object_set_new(jp, "people_previous_run",
				    ps[i].prev_people >= 0 ? json_integer(ps[i].prev_people)
							   : json_null());
		json_object_set_new(jp, "assignments_before", json_integer(ts[i].assignments));
		json_object_set_new(jp, "counts_by_op", ops);
		json_object_set_new(jp, "counts_by_reason", json_incref(ts[i].reasons));
		json_object_set_new(jp, "exceptions_by_kind", json_incref(ts[i].exceptions));
		if (why) {
			json_object_set_new(jp, "guard",
					    json_pack("{s:s, s:o}", "verdict", "held", "why", why));
			json_array_append_new(jheld, json_string(ps[i].property_id));
			held = 1;
		} else {
			json_object_set_new(jp, "guard", json_pack("{s:s}", "verdict", "ok"));
		}
		json_array_append_new(jprops, jp);
		{
			json_t *in;
			size_t k;

			json_array_foreach(ps[i].inputs, k, in) json_array_append(jinputs, in);
		}
	}
	{
		char now[32], exc_sha[65];

		db_now(now, sizeof(now));
		snprintf(path, sizeof(path), "%s/exceptions.csv", dir);
		if (sha256_file(path, exc_sha, &size) < 0)
			goto fail;
		json_object_set_new(manifest, "run_id", json_string(r.run_id));
		json_object_set_new(manifest, "as_of", as_of ? json_string(as_of) : json_null());
		json_object_set_new(manifest, "created_at", json_string(now));
		json_object_set_new(manifest, "tool_version",
				    json_string("unitsync " UNITSYNC_VERSION));
		json_object_set_new(manifest, "inputs", jinputs);
		json_object_set_new(manifest, "properties", jprops);
		json_object_set_new(manifest, "mapping_sha256", json_string(mapping_sha));
		json_object_set_new(manifest, "policy_sha256", json_string(policy_sha));
		json_object_set_new(manifest, "delta_rows", json_integer(r.seq));
		json_object_set_new(manifest, "counts_by_op", totals_op);
		json_object_set_new(manifest, "counts_by_reason", totals_reason);
		json_object_set_new(manifest, "exceptions_by_kind", totals_exc);
		json_object_set_new(manifest, "files",
				    json_pack("{s:s, s:s}", "delta.csv", delta_sha,
					      "exceptions.csv", exc_sha));
		json_object_set_new(manifest, "guard",
				    json_pack("{s:s, s:o}", "verdict", held ? "held" : "ok",
					      "held_properties", jheld));
	}
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if (write_json(path, manifest) < 0 || write_sums(dir) < 0)
		goto fail;
	{
		long long msize;

		snprintf(path, sizeof(path), "%s/manifest.json", dir);
		if (sha256_file(path, manifest_sha, &msize) < 0)
			goto fail;
	}
	/* the finished directory appears under its name at once, or not at all */
	snprintf(path, sizeof(path), "%s/%s", out_dir, r.run_id);
	if (rename(dir, path) != 0) {
		err_set("cannot rename '%s' to '%s': %s", dir, path, strerror(errno));
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	partial = 0;
	if (dur_sync_dir(out_dir) < 0 || !realpath(dir, abs_dir))
		goto fail;
	if (record_run(db, r.run_id, abs_dir, as_of ? as_of : ps[0].as_of, delta_sha, manifest_sha,
		       r.seq, held ? "held" : "ok", ps, n_policies) < 0)
		goto fail;
	sqlite3_finalize(r.history);
	sqlite3_finalize(r.exc);
	r.history = r.exc = NULL;
	if (db_exec(db, "COMMIT") < 0)
		goto fail;
	in_tx = 0;

	for (int i = 0; i < n_policies; i++) {
		json_t *g = json_object_get(json_array_get(json_object_get(manifest, "properties"),
							   (size_t)i),
					    "guard");

		json_int_t n_exc = 0;
		const char *k;
		json_t *v;

		json_object_foreach(ts[i].exceptions, k, v) n_exc += json_integer_value(v);
		printf("%s: as of %s, %s: %ld USER_CREATE, %ld ASSIGN, %ld UNASSIGN, "
		       "%lld exception%s%s\n",
		       ps[i].property_id, ps[i].as_of,
		       property_present(&ps[i]) ? "from tonight's export" : "no export",
		       ts[i].ops[DELTA_USER_CREATE], ts[i].ops[DELTA_ASSIGN],
		       ts[i].ops[DELTA_UNASSIGN], (long long)n_exc, n_exc == 1 ? "" : "s",
		       strcmp(json_string_value(json_object_get(g, "verdict")), "held")
			       ? ""
			       : " - HELD by the safety guard (see manifest.json; 'unitsync approve')");
	}
	printf("%s\n", abs_dir);
	rc = US_EXIT_OK;
	goto out;
fail:
	log_error("%s", err_msg());
out:
	if (df.fp)
		dur_abort(&df);
	if (ef.fp)
		dur_abort(&ef);
	if (partial) {
		/* nothing half-written is left for an operator to mistake for a run */
		static const char *const names[] = { "delta.csv", "exceptions.csv", "manifest.json",
						     "SHA256SUMS" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			unlink(path);
		}
		rmdir(dir);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(r.history);
	sqlite3_finalize(r.exc);
	if (in_tx)
		db_exec(db, "ROLLBACK");
	for (int i = 0; ps && i < n_policies; i++) {
		policy_free(&ps[i]);
		json_decref(ts[i].reasons);
		json_decref(ts[i].exceptions);
	}
	free(ps);
	free(ts);
	json_decref(manifest);
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
