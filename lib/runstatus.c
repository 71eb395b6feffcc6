#include "runstatus.h"
#include "db.h"
#include "err.h"
#include "ledger.h"
#include "rundir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ledger_newer_runs() callback: keep the first property a newer run read. */
static int first_newer(const char *property, const char *newer, void *ctx)
{
	struct runstatus *rs = ctx;

	snprintf(rs->newer, sizeof(rs->newer), "%s", newer);
	snprintf(rs->newer_property, sizeof(rs->newer_property), "%s", property);
	return 1;
}

/*
 * The properties RUN_ID had no export for (run_input without a snapshot:
 * transform's property_missing) into RS.  0, or -1 with err_set().
 */
static int no_export(sqlite3 *db, const char *run_id, struct runstatus *rs)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_prepare(db,
		       "SELECT count(*), coalesce(min(property_id), '') FROM run_input "
		       "WHERE run_id = ? AND snapshot_id IS NULL",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	if (db_row(st) != 1)
		goto out;
	rs->no_export = sqlite3_column_int64(st, 0);
	snprintf(rs->no_export_id, sizeof(rs->no_export_id), "%s", db_col_text(st, 1));
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * RUN_ID's open journal rows (pending, inflight) of properties no newer run
 * read into rs->live: rows load still sends, though another property of
 * the run is superseded (nu12 #2: a two-property run cut short, then one
 * property rerun, was told superseded, and nightly.sh left the other's
 * removals unsent).  0, or -1 with err_set().
 */
static int live_rows(sqlite3 *db, const char *run_id, struct runstatus *rs)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_prepare(db,
		       "SELECT count(*) FROM journal j JOIN delta_history d "
		       "  ON d.run_id = j.run_id AND d.seq = j.seq "
		       "WHERE j.run_id = ?1 AND j.state IN ('pending', 'inflight') "
		       "AND NOT EXISTS (SELECT 1 FROM run_input o WHERE o.property_id = d.property_id "
		       "  AND o.run_id > j.run_id)",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	if (db_row(st) != 1)
		goto out;
	rs->live = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* The status word from the facts in RS (the order of runstatus.h). */
static const char *decide(const struct runstatus *rs)
{
	int held = !strcmp(rs->guard, "held") && !*rs->approved_at;
	int loaded_ever = *rs->load_status || rs->done || rs->failed || rs->open || rs->settled;

	/* a run of no rows is loaded only by a load that ran to the end on it
	 * (a held or cut-short load records another load_status) */
	if (rs->rows > 0 ? rs->done == rs->rows : !strcmp(rs->load_status, "done"))
		return rs->no_export ? "no export" : "loaded";
	if (rs->failed && !rs->open && !held)
		return "partially failed";
	if (*rs->newer && !rs->live)
		return "superseded";
	if (rs->open)
		return "incomplete";
	if (held)
		return "held";
	if (rs->failed)
		return "partially failed";
	/* approved, and no load since (the times are to the second: a load in
	 * the second of the approval counts as before it) */
	if (*rs->approved_at && (!*rs->loaded_at || strcmp(rs->loaded_at, rs->approved_at) <= 0))
		return "approved";
	return loaded_ever ? "incomplete" : "written";
}

int runstatus_get(sqlite3 *db, const char *run_id, struct runstatus *rs)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	memset(rs, 0, sizeof(*rs));
	if (db_prepare(db,
		       "SELECT as_of, created_at, run_dir, guard, coalesce(approved_by, ''), "
		       "coalesce(approved_at, ''), coalesce(load_status, ''), "
		       "coalesce(loaded_at, ''), delta_rows, "
		       /* one pass over the run's journal (a night 0 has 300k rows) */
		       "coalesce(j.done, 0), coalesce(j.failed, 0), coalesce(j.pending, 0), "
		       "coalesce(j.inflight, 0), coalesce(j.settled, 0) "
		       "FROM run r LEFT JOIN (SELECT run_id, sum(state = 'done') AS done, "
		       "  sum(state = 'failed') AS failed, sum(state = 'pending') AS pending, "
		       "  sum(state = 'inflight') AS inflight, sum(state = 'superseded') AS settled "
		       "  FROM journal WHERE run_id = ?1 GROUP BY run_id) j USING (run_id) "
		       "WHERE r.run_id = ?1",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (step != SQLITE_ROW) {
		db_error(db, NULL);
		goto out;
	}
	snprintf(rs->as_of, sizeof(rs->as_of), "%s", db_col_text(st, 0));
	snprintf(rs->created_at, sizeof(rs->created_at), "%s", db_col_text(st, 1));
	snprintf(rs->run_dir, sizeof(rs->run_dir), "%s", db_col_text(st, 2));
	snprintf(rs->guard, sizeof(rs->guard), "%s", db_col_text(st, 3));
	snprintf(rs->approved_by, sizeof(rs->approved_by), "%s", db_col_text(st, 4));
	snprintf(rs->approved_at, sizeof(rs->approved_at), "%s", db_col_text(st, 5));
	snprintf(rs->load_status, sizeof(rs->load_status), "%s", db_col_text(st, 6));
	snprintf(rs->loaded_at, sizeof(rs->loaded_at), "%s", db_col_text(st, 7));
	rs->rows = sqlite3_column_int64(st, 8);
	rs->done = sqlite3_column_int64(st, 9);
	rs->failed = sqlite3_column_int64(st, 10);
	rs->pending = sqlite3_column_int64(st, 11);
	rs->inflight = sqlite3_column_int64(st, 12);
	rs->open = rs->pending + rs->inflight;
	rs->settled = sqlite3_column_int64(st, 13);
	if (ledger_newer_runs(db, run_id, first_newer, rs) < 0 || no_export(db, run_id, rs) < 0 ||
	    (*rs->newer && rs->open && live_rows(db, run_id, rs) < 0))
		goto out;
	rs->status = decide(rs);
	rc = 1;
out:
	sqlite3_finalize(st);
	return rc;
}

void runstatus_describe(const struct runstatus *rs, char *buf, size_t size)
{
	const char *s = rs->status;

	if (!strcmp(s, "loaded"))
		snprintf(buf, size, "%s: %ld of %ld rows done", s, rs->done, rs->rows);
	else if (!strcmp(s, "no export"))
		snprintf(buf, size,
			 "%s: for %s%s (missing, or a file refused), nothing was decided for %s; "
			 "%ld of %ld rows done: fix the export, then rerun",
			 s, rs->no_export_id, rs->no_export > 1 ? " and others" : "",
			 rs->no_export > 1 ? "them" : "it", rs->done, rs->rows);
	else if (!strcmp(s, "partially failed"))
		snprintf(buf, size, "%s: %ld of %ld rows done, %ld failed (see load-report.csv)", s,
			 rs->done, rs->rows, rs->failed);
	else if (!strcmp(s, "superseded"))
		snprintf(buf, size,
			 "%s: run %s is newer for property %s; %ld of %ld rows done, the rest "
			 "will not be sent",
			 s, rs->newer, rs->newer_property, rs->done, rs->rows);
	else if (!strcmp(s, "incomplete") && *rs->newer)
		snprintf(buf, size,
			 "%s: %ld of %ld rows done, %ld pending or inflight: run load again (it "
			 "sends %ld; run %s is newer for property %s, whose rows it will not send)",
			 s, rs->done, rs->rows, rs->open, rs->live, rs->newer, rs->newer_property);
	else if (!strcmp(s, "incomplete"))
		snprintf(buf, size,
			 "%s: %ld of %ld rows done, %ld pending or inflight: run load again", s,
			 rs->done, rs->rows, rs->open);
	else if (!strcmp(s, "held"))
		snprintf(buf, size,
			 "%s: by the safety guard, %ld of %ld rows done; review, then 'unitsync "
			 "approve' and load",
			 s, rs->done, rs->rows);
	else if (!strcmp(s, "approved"))
		snprintf(buf, size, "%s: by %s at %s, not loaded since; %ld of %ld rows done", s,
			 rs->approved_by, rs->approved_at, rs->done, rs->rows);
	else
		snprintf(buf, size, "%s: not loaded yet (%ld rows)", s, rs->rows);
}

void runstatus_journal_describe(const struct runstatus *rs, char *buf, size_t size)
{
	const struct {
		const char *state;
		long n;
	} by[] = { { "done", rs->done },
		   { "failed", rs->failed },
		   { "inflight", rs->inflight },
		   { "pending", rs->pending },
		   { "superseded", rs->settled } };
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(by) / sizeof(by[0]) && n < size; i++)
		if (by[i].n)
			n += (size_t)snprintf(buf + n, size - n, "%s%s %ld", n ? ", " : "",
					      by[i].state, by[i].n);
	if (!buf[0])
		snprintf(buf, size, "%s", rs->rows ? "not loaded" : "no rows");
}

void runstatus_input_describe(const struct runstatus_input *in, char *buf, size_t size)
{
	if (!in->snapshot_id)
		snprintf(buf, size, "%s: no export (property missing)", in->property_id);
	else if (in->pruned)
		snprintf(buf, size,
			 "%s: snapshot %lld (pruned: its file, digest and age are in the run's "
			 "manifest.json only)",
			 in->property_id, in->snapshot_id);
	else
		snprintf(buf, size,
			 "%s: snapshot %lld '%s' sha256 %s, %ld people, %.1f h old at the run (%s %s)",
			 in->property_id, in->snapshot_id, in->source_name, in->sha256, in->people,
			 in->age_hours, in->aged_from, in->since);
}

int runstatus_inputs(sqlite3 *db, const char *run_id,
		     int (*fn)(const struct runstatus_input *in, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	/* the age is from the file's time when it is known and not after the
	 * run (a file extracted again later moves it), else from when the
	 * snapshot was first staged; julianday() reads both ISO 8601 times */
	if (db_prepare(db,
		       "SELECT property_id, snapshot_id, pruned, source_name, sha256, people, "
		       "  aged_from, since, "
		       "  CASE WHEN since = '' THEN -1 "
		       "       ELSE (julianday(run_at) - julianday(since)) * 24 END "
		       "FROM (SELECT i.property_id, coalesce(i.snapshot_id, 0) AS snapshot_id, "
		       "  i.snapshot_id IS NOT NULL AND s.snapshot_id IS NULL AS pruned, "
		       "  coalesce(s.source_name, '') AS source_name, "
		       "  coalesce(s.sha256, '') AS sha256, coalesce(sp.people, -1) AS people, "
		       "  CASE WHEN s.snapshot_id IS NULL THEN '' "
		       "       WHEN s.file_mtime <= r.created_at THEN 'file modified' "
		       "       ELSE 'first staged' END AS aged_from, "
		       "  CASE WHEN s.snapshot_id IS NULL THEN '' "
		       "       WHEN s.file_mtime <= r.created_at THEN s.file_mtime "
		       "       ELSE s.created_at END AS since, "
		       "  r.created_at AS run_at "
		       "  FROM run_input i JOIN run r USING (run_id) "
		       "  LEFT JOIN snapshot s ON s.snapshot_id = i.snapshot_id "
		       "  LEFT JOIN snapshot_property sp ON sp.snapshot_id = i.snapshot_id "
		       "    AND sp.property_id = i.property_id "
		       "  WHERE i.run_id = ?) ORDER BY property_id, snapshot_id",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	while ((step = db_row(st)) == 1) {
		struct runstatus_input in = { 0 };
		int r;

		in.property_id = db_col_text(st, 0);
		in.snapshot_id = sqlite3_column_int64(st, 1);
		in.pruned = sqlite3_column_int(st, 2);
		in.source_name = db_col_text(st, 3);
		in.sha256 = db_col_text(st, 4);
		in.people = sqlite3_column_int64(st, 5);
		in.aged_from = db_col_text(st, 6);
		in.since = db_col_text(st, 7);
		in.age_hours = sqlite3_column_double(st, 8);
		r = fn(&in, ctx);
		if (r) {
			rc = r;
			goto out;
		}
	}
	if (step < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int runstatus_resolve(sqlite3 *db, const char *run, char *buf, size_t size)
{
	char real[PATH_MAX];
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (!realpath(run, real))
		snprintf(real, sizeof(real), "%s", run);
	if (db_prepare(db, "SELECT run_id FROM run WHERE run_id = ?1 OR run_dir = ?2", &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, real, -1, SQLITE_STATIC);
	r = db_row(st);
	if (r < 0)
		goto out;
	if (r == 0) {
		if (!rundir_preview_error(run))
			err_set("no run '%s' in the state database", run);
		goto out;
	}
	snprintf(buf, size, "%s", db_col_text(st, 0));
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}
