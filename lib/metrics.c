#include "metrics.h"
#include "db.h"
#include "err.h"
#include "runstatus.h"

#include <errno.h>
#include <string.h>

/* "# HELP" and "# TYPE" of gauge NAME. */
static void head(FILE *fp, const char *name, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* A label value, escaped as the exposition format says: \\, \" and \n. */
static void label_value(FILE *fp, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(fp, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", fp);
		else
			fputc(*s, fp);
	}
}

/* One sample: NAME{LABELS[i]="VALUES[i]",...} VALUE; N labels. */
static void sample(FILE *fp, const char *name, const char *const *labels, const char *const *values,
		   int n, double value)
{
	fputs(name, fp);
	for (int i = 0; i < n; i++) {
		fprintf(fp, "%s%s=\"", i ? "," : "{", labels[i]);
		label_value(fp, values[i]);
		fputc('"', fp);
	}
	fprintf(fp, "%s %.15g\n", n ? "}" : "", value);
}

/*
 * Family NAME from SQL over the run ?1: each row is the N label values
 * (LABELS, at most 3), then the value.  Nothing is written, not even the
 * head, when SQL gives no row.
 */
static int family(sqlite3 *db, FILE *fp, const char *run_id, const char *name, const char *help,
		  const char *const *labels, int n, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r, rows = 0;

	if (db_prepare(db, sql, &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	while ((r = db_row(st)) == 1) {
		const char *values[3];

		for (int i = 0; i < n; i++)
			values[i] = db_col_text(st, i);
		if (!rows++)
			head(fp, name, help);
		sample(fp, name, labels, values, n, sqlite3_column_double(st, n));
	}
	if (r < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* unitsync_last_success_timestamp_seconds: the newest fully loaded run
 * that had an export for every property (a night whose export was missing
 * or refused loads nothing for it: runstatus.h's "no export", no success). */
static int last_success(sqlite3 *db, FILE *fp)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db_prepare(db,
		       "SELECT CAST(strftime('%s', max(loaded_at)) AS INTEGER) FROM run "
		       "WHERE load_status = 'done' AND NOT EXISTS (SELECT 1 FROM run_input i "
		       "  WHERE i.run_id = run.run_id AND i.snapshot_id IS NULL) "
		       "HAVING max(loaded_at) IS NOT NULL",
		       &st) < 0)
		goto out;
	r = db_row(st);
	if (r < 0)
		goto out;
	if (r == 1) {
		head(fp, "unitsync_last_success_timestamp_seconds",
		     "When the newest run whose load finished (every row applied) ended, Unix time.");
		sample(fp, "unitsync_last_success_timestamp_seconds", NULL, NULL, 0,
		       (double)sqlite3_column_int64(st, 0));
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* The families of the run N->run_id (metrics.h). */
static int run_families(sqlite3 *db, FILE *fp, const char *run_id)
{
	static const char *const info_labels[] = { "run_id", "as_of", "status" };
	static const char *const delta_labels[] = { "property", "op", "reason" };
	static const char *const exc_labels[] = { "property", "kind" };
	static const char *const guard_labels[] = { "property" };
	static const char *const load_labels[] = { "property", "outcome" };
	struct runstatus rs;
	const char *info[3];
	int r = runstatus_get(db, run_id, &rs);

	if (r < 0)
		return -1;
	if (r == 0) {
		err_set("no run '%s' in the state database", run_id);
		return -1;
	}
	info[0] = run_id;
	info[1] = rs.as_of;
	info[2] = rs.status;
	head(fp, "unitsync_run_info",
	     "The run the last night made: its id, as-of date and status.");
	sample(fp, "unitsync_run_info", info_labels, info, 3, 1);
	if (family(db, fp, run_id, "unitsync_delta_rows",
		   "Delta rows of the last night's run by property, operation and reason.",
		   delta_labels, 3,
		   "SELECT property_id, op, reason, count(*) FROM delta_history WHERE run_id = ?1 "
		   "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3") < 0 ||
	    family(db, fp, run_id, "unitsync_exceptions",
		   "Exceptions (rows of exceptions.csv) of the last night's run by property and kind.",
		   exc_labels, 2,
		   "SELECT property_id, kind, count(*) FROM run_exception WHERE run_id = ?1 "
		   "GROUP BY 1, 2 ORDER BY 1, 2") < 0 ||
	    family(db, fp, run_id, "unitsync_guard_held",
		   "1 when the safety guard held the property in the last night's run and the run "
		   "is not approved, else 0.",
		   guard_labels, 1,
		   "SELECT i.property_id, max(coalesce(i.guard, '') = 'held' AND r.approved_at IS NULL) "
		   "FROM run_input i JOIN run r USING (run_id) WHERE i.run_id = ?1 "
		   "GROUP BY 1 ORDER BY 1") < 0 ||
	    family(db, fp, run_id, "unitsync_load_rows",
		   "Delta rows of the last night's run by property and what load made of them "
		   "(journal state, or unsent).",
		   load_labels, 2,
		   "SELECT d.property_id, coalesce(j.state, 'unsent'), count(*) FROM delta_history d "
		   "LEFT JOIN journal j ON j.run_id = d.run_id AND j.seq = d.seq "
		   "WHERE d.run_id = ?1 GROUP BY 1, 2 ORDER BY 1, 2") < 0)
		return -1;
	return 0;
}

int metrics_write(sqlite3 *db, const struct metrics_night *n, FILE *fp)
{
	static const char *const stage_label[] = { "stage" };

	head(fp, "unitsync_last_run_timestamp_seconds", "When the last night ended, Unix time.");
	sample(fp, "unitsync_last_run_timestamp_seconds", NULL, NULL, 0, (double)n->ended);
	if (n->exit_code >= 0) {
		head(fp, "unitsync_last_run_exit_code",
		     "Exit code of the last night (unitsync-nightly(1)): 0 ok.");
		sample(fp, "unitsync_last_run_exit_code", NULL, NULL, 0, n->exit_code);
	}
	if (db && last_success(db, fp) < 0)
		return -1;
	if (n->n_stages)
		head(fp, "unitsync_stage_duration_seconds",
		     "Wall time of each stage of the last night, seconds.");
	for (size_t i = 0; i < n->n_stages; i++)
		sample(fp, "unitsync_stage_duration_seconds", stage_label, &n->stages[i].name, 1,
		       n->stages[i].seconds);
	if (db && n->run_id && run_families(db, fp, n->run_id) < 0)
		return -1;
	if (fflush(fp) != 0 || ferror(fp)) {
		err_set("cannot write the metrics: %s", strerror(errno));
		return -1;
	}
	return 0;
}
