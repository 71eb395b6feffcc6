/*
 * unitsync-explain - what happened to a person night by night, with why.
 *
 * For the auditor who asks, months later, why a family lost or got access,
 * or why a resident got nothing last Tuesday (issue 19, "why not"): for
 * every run that read the person's property, oldest first, each delta row
 * that touched the person (run, as-of date, op, unit, reason, the snapshot
 * and source row the decision came from, what load made of it according to
 * the journal), each exception the run's exceptions.csv reported for the
 * person or for the whole property (table run_exception), whether the
 * safety guard held the property (run_input.guard), and, when none of
 * these, whether the person was in that night's export ("no change") or
 * not.  A run made before schema version 7 recorded no exceptions nor
 * guard per property: said so.  A person id nothing in the database names
 * for the property (a typo) is refused, 65, saying where it looked.
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "rules.h"
#include "stg.h"
#include "unitmap.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: unitsync explain --property P --person ID\n"
	"\n"
	"What happened to a person night by night: for each run that read the property, the\n"
	"deltas that touched them (op, unit, reason, source row, load outcome), the exceptions\n"
	"reported for them or their property, the safety guard's hold, or no change.\n"
	"\n"
	"  --property P             the person's property\n"
	"  --person ID              the PMS person id\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/* The statements of one explanation, all bound to the property and person. */
enum {
	Q_NIGHTS, /* the runs that read the property, oldest first */
	Q_DELTAS, /* one run's delta rows for the person */
	Q_EXC,    /* one run's exceptions for the person or the property */
	Q_IN,     /* is the person in one run's export of the property? */
	Q_RECORD, /* the person's records in one run's export of the property */
	Q_POLICY, /* the property's policy as that run read it */
	Q_KNOWN,  /* does anything the database keeps name the person? */
	Q_LOOKED, /* where Q_KNOWN looked, and the other properties staging the id */
	N_Q
};

static const char *const sql[N_Q] = {
	/* one line a run: its snapshots of the property (several: transfers
	 * merged from several files) and the guard, NULL before migration 7 */
	[Q_NIGHTS] = "SELECT r.run_id, r.as_of, min(i.guard), min(i.guard_why), r.approved_by, "
		     "  group_concat(i.snapshot_id), count(i.snapshot_id), "
		     /* a repair run (reconcile --repair: every row reasserted) */
		     "  EXISTS (SELECT 1 FROM delta_history d WHERE d.run_id = r.run_id "
		     "    AND d.reason = 'reasserted') "
		     "FROM run_input i JOIN run r USING (run_id) "
		     "WHERE i.property_id = ?1 GROUP BY r.run_id ORDER BY r.run_id",
	[Q_DELTAS] = "SELECT h.run_id, h.effective_date, h.seq, h.op, h.pms_unit_id, "
		     "  h.latch_unit_id, h.reason, h.group_id, h.snapshot_id, s.source_name, "
		     "  s.sha256, h.source_ref, "
		     "  coalesce(j.state, 'not loaded'), j.http_status, r.guard, r.approved_by "
		     "FROM delta_history h "
		     "LEFT JOIN snapshot s ON s.snapshot_id = h.snapshot_id "
		     "LEFT JOIN journal j ON j.run_id = h.run_id AND j.seq = h.seq "
		     "LEFT JOIN run r ON r.run_id = h.run_id "
		     "WHERE h.run_id = ?3 AND h.property_id = ?1 AND h.pms_person_id = ?2 "
		     "ORDER BY h.seq",
	[Q_EXC] = "SELECT kind, pms_person_id, pms_unit_id, detail FROM run_exception "
		  "WHERE run_id = ?3 AND property_id = ?1 AND pms_person_id IN (?2, '') "
		  "ORDER BY pms_person_id = '', seq",
	[Q_IN] = "SELECT (SELECT count(*) FROM snapshot s JOIN run_input i USING (snapshot_id) "
		 "    WHERE i.run_id = ?3 AND i.property_id = ?1), "
		 "  EXISTS (SELECT 1 FROM stg_person p JOIN run_input i USING (snapshot_id) "
		 "    WHERE i.run_id = ?3 AND i.property_id = ?1 AND p.property_id = ?1 "
		 "    AND p.pms_person_id = ?2)",
	/* a member without a status of its own as transform judges it: the
	 * household primary's status and dates (hp, lib/stg.h), and who that is */
	/* clang-format off */
	[Q_RECORD] =
		"SELECT p.role, coalesce(hp.status, p.status), "
		"  coalesce(CASE WHEN hp.pms_person_id IS NULL THEN p.status_raw "
		"    ELSE hp.status_raw END, ''), "
		"  coalesce(p.move_in, hp.move_in, ''), coalesce(p.move_out, hp.move_out, ''), "
		"  coalesce(p.pms_unit_id, ''), coalesce(hp.pms_person_id, '') "
		"FROM stg_person p JOIN run_input i USING (snapshot_id) "
		"LEFT JOIN stg_person hp ON p.role IN (" STG_MEMBER_ROLES ") "
		"  AND " STG_NO_OWN_STATUS("p") " AND hp.snapshot_id = p.snapshot_id "
		"  AND hp.property_id = p.property_id AND (hp.pms_person_id, hp.row_seq) = "
		STG_HOUSEHOLD_OF("p", "pms_person_id, h.row_seq") " "
		"WHERE i.run_id = ?3 AND i.property_id = ?1 AND p.property_id = ?1 "
		"AND p.pms_person_id = ?2 ORDER BY p.snapshot_id, p.row_seq",
	/* clang-format on */
	/* the newest policy version recorded before the run (migration 9's
	 * history, lib/db.h DB_LAST_RUN), else the property as it is now */
	[Q_POLICY] = "SELECT exclude_status, grant_lead_days, revoke_grace_days, k FROM ("
		     "  SELECT exclude_status, coalesce(grant_lead_days, -1) AS grant_lead_days, "
		     "    revoke_grace_days, 0 AS k, id FROM property_history "
		     "  WHERE property_id = ?1 AND last_run < ?3 AND ?2 IS NOT NULL "
		     "  UNION ALL SELECT exclude_status, coalesce(grant_lead_days, -1), "
		     "    revoke_grace_days, 1, 0 FROM property WHERE property_id = ?1) "
		     "ORDER BY k, id DESC LIMIT 1",
	/* a staged or rejected row, a delta or exception of a run that read
	 * the property, a Latch user or a pair: each an index lookup (stg_reject
	 * and assignment scanned: few rows), so a known id answers at once */
	[Q_KNOWN] = "SELECT EXISTS (SELECT 1 FROM snapshot_property sp JOIN stg_person p "
		    "    ON p.snapshot_id = sp.snapshot_id AND p.property_id = ?1 "
		    "    AND p.pms_person_id = ?2 WHERE sp.property_id = ?1) "
		    "  OR EXISTS (SELECT 1 FROM stg_reject WHERE property_id = ?1 "
		    "    AND pms_person_id = ?2) "
		    "  OR EXISTS (SELECT 1 FROM run_input i JOIN delta_history h "
		    "    ON h.run_id = i.run_id AND h.property_id = ?1 AND h.pms_person_id = ?2 "
		    "    WHERE i.property_id = ?1) "
		    "  OR EXISTS (SELECT 1 FROM run_input i JOIN run_exception e "
		    "    ON e.run_id = i.run_id AND e.property_id = ?1 AND e.pms_person_id = ?2 "
		    "    WHERE i.property_id = ?1) "
		    "  OR EXISTS (SELECT 1 FROM person_user WHERE property_id = ?1 "
		    "    AND pms_person_id = ?2) "
		    "  OR EXISTS (SELECT 1 FROM assignment WHERE property_id = ?1 "
		    "    AND pms_person_id = ?2)",
	/* only for an unknown id: what was looked in, the snapshots runs read
	 * that are since pruned (not looked in), and the properties whose
	 * staged exports have the id (a --property mistaken) */
	[Q_LOOKED] =
		"SELECT (SELECT count(*) FROM snapshot_property WHERE property_id = ?1), "
		"  (SELECT count(DISTINCT run_id) FROM run_input WHERE property_id = ?1), "
		"  (SELECT count(DISTINCT i.snapshot_id) FROM run_input i "
		"    WHERE i.property_id = ?1 AND i.snapshot_id IS NOT NULL AND NOT EXISTS "
		"    (SELECT 1 FROM snapshot s WHERE s.snapshot_id = i.snapshot_id)), "
		"  (SELECT group_concat(property_id, ', ') FROM (SELECT DISTINCT sp.property_id "
		"    FROM snapshot_property sp JOIN stg_person p ON p.snapshot_id = sp.snapshot_id "
		"    AND p.property_id = sp.property_id AND p.pms_person_id = ?2 "
		"    WHERE sp.property_id <> ?1 ORDER BY 1))",
};

/* Delta rows are printed as before issue 19 (docs/unitsync-explain.1). */
static void print_delta(sqlite3_stmt *st)
{
	printf("  %s unit %s (Latch %s), reason %s%s%s, row %d\n", db_col_text(st, 3),
	       *db_col_text(st, 4) ? db_col_text(st, 4) : "-",
	       *db_col_text(st, 5) ? db_col_text(st, 5) : "-", db_col_text(st, 6),
	       *db_col_text(st, 7) ? ", transfer group " : "", db_col_text(st, 7),
	       sqlite3_column_int(st, 2));
	if (sqlite3_column_type(st, 8) != SQLITE_NULL)
		printf("    from snapshot %lld, '%s' (sha256 %s), %s\n",
		       (long long)sqlite3_column_int64(st, 8), db_col_text(st, 9),
		       db_col_text(st, 10),
		       *db_col_text(st, 11) ? db_col_text(st, 11) : "not in that export");
	printf("    load: %s%s%s\n", db_col_text(st, 12),
	       sqlite3_column_type(st, 13) != SQLITE_NULL ? ", HTTP " : "",
	       sqlite3_column_type(st, 13) != SQLITE_NULL ? db_col_text(st, 13) : "");
}

/* Rebind Q (reset) to the property ?1, person ?2 and run ?3. */
static sqlite3_stmt *bind_night(sqlite3_stmt *q, const char *p, const char *person, const char *run)
{
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, p, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, person, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, run, -1, SQLITE_TRANSIENT);
	return q;
}

/*
 * Why a person in the night's export got no delta and no exception: each
 * of their records judged again as transform judged it (lib/rules: the
 * same function, the record as staged, the policy as the run read it),
 * one line a record.  -1 on a database error.
 */
static int explain_records(sqlite3_stmt **q, const char *p, const char *person, const char *run,
			   const char *as_of)
{
	struct rules_policy rp = { 0 };
	char exclude[512];
	sqlite3_stmt *st = bind_night(q[Q_POLICY], p, person, run);
	int r;

	if ((r = db_row(st)) < 0)
		return -1;
	snprintf(exclude, sizeof(exclude), ",%s,", r == 1 ? db_col_text(st, 0) : "");
	rp.exclude = exclude;
	rp.lead_days = r == 1 ? sqlite3_column_int(st, 1) : -1;
	rp.grace_days = r == 1 ? sqlite3_column_int(st, 2) : 0;
	rp.as_of = as_of;
	st = bind_night(q[Q_RECORD], p, person, run);
	while ((r = db_row(st)) == 1) {
		const char *role = db_col_text(st, 0), *status = db_col_text(st, 1);
		const char *raw = db_col_text(st, 2), *in = db_col_text(st, 3);
		const char *out = db_col_text(st, 4), *unit = db_col_text(st, 5), *why = "";
		const char *primary = db_col_text(st, 6);
		int as_written = *raw && strcmp(raw, status); /* the export's word, when another */
		enum rules_verdict v;

		printf("  unit %s, status %s%s%s%s%s%s%s, move-in %s, move-out %s: ",
		       *unit ? unit : "-", status, as_written ? " ('" : "", as_written ? raw : "",
		       as_written ? "')" : "",
		       *primary ? " (none of its own: the household's, " : "", primary,
		       *primary ? ")" : "", *in ? in : "-", *out ? out : "-");
		if (!strcmp(role, "guarantor")) {
			printf("nothing given: a guarantor (guarantors never get a key)\n");
			continue;
		}
		if (!strcmp(status, "unknown")) {
			/* transform's hold: neither given nor taken (unknown_status) */
			printf("held as it is: a status unitsync does not recognise (unknown_status)\n");
			continue;
		}
		v = rules_eligible(&rp, status, in, out, &why);
		if (v == RULES_GRANT)
			printf("eligible; no change (already given)\n");
		else if (v == RULES_KEEP)
			printf("moved out, within the %d grace days: keeps a unit it holds, gains "
			       "none\n",
			       rp.grace_days);
		else if (!strcmp(why, "status_excluded"))
			printf("nothing given: excluded status '%s' (the property's exclude-status)\n",
			       status);
		else if (!strcmp(why, "move_out"))
			printf("nothing given: not eligible, moved out (grace %d days)\n",
			       rp.grace_days);
		else
			printf("nothing given: not eligible with status '%s'%s\n", status,
			       !strcmp(status, "future") || !strcmp(status, "applicant")
				       ? (rp.lead_days < 0
						  ? " (the property gives none before the "
						    "PMS says current: no grant-lead-days)"
						  : " (not yet within the grant-lead-days)")
				       : "");
	}
	return r < 0 ? -1 : 0;
}

/*
 * One night: the run of row NIGHT (of Q_NIGHTS).  -1 on a database error.
 */
static int explain_night(sqlite3_stmt **q, sqlite3_stmt *night, const char *p, const char *person)
{
	const char *run = db_col_text(night, 0);
	int recorded = sqlite3_column_type(night, 2) != SQLITE_NULL;
	int held = recorded && !strcmp(db_col_text(night, 2), "held");
	int said = 0, r;
	sqlite3_stmt *st;

	printf("run %s, as of %s:\n", run, db_col_text(night, 1));
	st = bind_night(q[Q_DELTAS], p, person, run);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		print_delta(st);
		said = 1;
	}
	if (r != SQLITE_DONE)
		return -1;
	if (sqlite3_column_int(night, 7)) {
		/* it read the night's snapshots but judged no one: no exception
		 * is recorded, and the records' why-not would contradict the
		 * decision it repaired (new user nu9 #5) */
		printf("  a repair run (unitsync reconcile --repair): it gives back pairs Latch "
		       "lost and decides nothing; the decision is the run before it%s\n",
		       said ? "" : "; no delta for the person");
		return 0;
	}
	if (!recorded) {
		printf("  exceptions and the safety guard's verdict not recorded (run made before "
		       "schema version 7)%s\n",
		       said ? "" : "; no delta");
		return 0;
	}
	if (held)
		printf("  held by the safety guard: the property's deltas not sent until approved "
		       "(%s)%s%s\n",
		       db_col_text(night, 3),
		       *db_col_text(night, 4) ? "; approved by " : "; not approved",
		       db_col_text(night, 4));
	st = bind_night(q[Q_EXC], p, person, run);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int whole = !*db_col_text(st, 1);

		printf("  %s %s%s%s: %s\n", whole ? "property exception" : "exception",
		       db_col_text(st, 0), *db_col_text(st, 2) ? ", unit " : "", db_col_text(st, 2),
		       db_col_text(st, 3));
		said |= !whole;
	}
	if (r != SQLITE_DONE)
		return -1;
	if (said)
		return 0;
	st = bind_night(q[Q_IN], p, person, run);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -1;
	if (sqlite3_column_int(night, 6) == 0)
		printf("  no export of the property that night\n");
	else if (sqlite3_column_int(st, 0) < sqlite3_column_int(night, 6))
		printf("  no delta and no exception (that night's snapshot is pruned: whether the "
		       "person was in it is not known)\n");
	else if (sqlite3_column_int(st, 1))
		return explain_records(q, p, person, run, db_col_text(night, 1));
	else
		printf("  not in that night's export\n");
	return 0;
}

/*
 * Is PERSON known in PROPERTY: does a staged or rejected row, a delta or an
 * exception of a run that read the property, a Latch user or a pair name
 * them?  1 yes; 0 no, after saying where it looked and which other
 * properties' exports have the id; -1 on a database error.
 */
static int person_known(sqlite3_stmt **q, const char *p, const char *person)
{
	sqlite3_stmt *st = bind_night(q[Q_KNOWN], p, person, ""); /* no ?3: unbound */
	int exports, runs, pruned;
	char note[96] = "";
	const char *other;

	if (sqlite3_step(st) != SQLITE_ROW)
		return -1;
	if (sqlite3_column_int(st, 0))
		return 1;
	st = bind_night(q[Q_LOOKED], p, person, "");
	if (sqlite3_step(st) != SQLITE_ROW)
		return -1;
	exports = sqlite3_column_int(st, 0);
	runs = sqlite3_column_int(st, 1);
	pruned = sqlite3_column_int(st, 2);
	other = db_col_text(st, 3);
	if (pruned)
		snprintf(note, sizeof(note),
			 " (%d export%s its runs read %s pruned: not looked in)", pruned,
			 pruned == 1 ? "" : "s", pruned == 1 ? "is" : "are");
	log_error("unknown person '%s' in property '%s': not in its %d staged export%s, its "
		  "rejected rows, the deltas and exceptions of its %d run%s, nor its Latch users "
		  "and assignments%s; %s%s",
		  person, p, exports, exports == 1 ? "" : "s", runs, runs == 1 ? "" : "s", note,
		  *other ? "the exports of these properties have that id: "
			 : "no other property's export has that id either",
		  other);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "person", required_argument, NULL, 'P' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	const char *property = NULL, *person = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *q[N_Q] = { 0 }, *night;
	int rc = US_EXIT_USAGE, opt, n = 0, r;

	cli_common_init(&cli, "unitsync-explain", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		if (opt == 'p' || opt == 'P') {
			*(opt == 'p' ? &property : &person) = optarg;
			continue;
		}
		c = cli_common_option(&cli, opt, optarg);
		if (c == 1)
			rc = US_EXIT_OK;
		if (c != 0)
			goto out;
	}
	if (!property || !person || optind != argc) {
		cli_usage_error(&cli, "--property and --person are required, and nothing else");
		goto out;
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(NULL);
		goto out;
	}
	/* a typo in either id would read as "nothing ever happened" */
	r = unitmap_property(db, property, NULL);
	if (r < 0)
		goto fail;
	if (r == 0) {
		if (stg_property_unknown(db, property) == -1)
			goto fail;
		log_error("%s", err_msg());
		rc = US_EXIT_DATAERR;
		goto out;
	}
	for (int i = 0; i < N_Q; i++)
		if (db_prepare(db, sql[i], &q[i]) < 0)
			goto fail;
	r = person_known(q, property, person);
	if (r < 0)
		goto fail;
	if (r == 0) {
		rc = US_EXIT_DATAERR;
		goto out;
	}
	night = bind_night(q[Q_NIGHTS], property, person, "");
	while ((r = sqlite3_step(night)) == SQLITE_ROW) {
		n++;
		if (explain_night(q, night, property, person) < 0)
			goto fail;
	}
	if (r != SQLITE_DONE)
		goto fail;
	if (n == 0)
		printf("no run ever read property '%s'\n", property);
	rc = US_EXIT_OK;
	goto out;
fail:
	db_error(db, NULL);
	log_error("%s", err_msg());
	rc = db_exit_code(db);
out:
	for (int i = 0; i < N_Q; i++)
		sqlite3_finalize(q[i]);
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
