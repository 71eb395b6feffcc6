#include "digest.h"
#include "cli.h"
#include "db.h"
#include "err.h"
#include "html.h"
#include "reconcile.h"
#include "rundir.h"
#include "runstatus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What to do about each exception kind: README "Exceptions and what to do
 * about them", the "what to do" column, shortened. */
static const struct {
	const char *kind;
	const char *hint;
} hints[] = {
	{ "unmapped_unit", "map the unit: unitsync map add --property P PMS_UNIT LATCH_UNIT" },
	{ "missing_contact", "add an e-mail or phone for the resident in the PMS" },
	{ "duplicate_email",
	  "give each resident their own e-mail in the PMS (or make the names match if it is one "
	  "person)" },
	{ "email_mismatch", "check the Latch user's e-mail against the PMS" },
	{ "identity_changed",
	  "nothing if the PMS gave the id to a new person; else check the resident's e-mail" },
	{ "unknown_status", "fix the lease status in the PMS export" },
	{ "overdue_move_out", "record the move-out (or the new lease end) in the PMS" },
	{ "rejected_rows",
	  "unitsync snapshots show ID lists the rows and why; fix the export and extract it again" },
	{ "manual_assignment",
	  "someone else assigned this unit in Latch: remove it there if the person should lose "
	  "access" },
	{ "unconfirmed_assignment", "check the unit in Latch by hand" },
	{ "unit_sync_disabled", "remove it in Latch, or unitsync property set P --unit-sync on" },
	{ "property_missing", "check the export drop and the night's log, then rerun" },
	{ "unmapped_move", "map the new unit or fix the unit in the PMS" },
	{ "status_conflict",
	  "fix the member's or the primary's status, or the move-in date, in the PMS" },
	{ "stale_export", "check the PMS export job and the file drop" },
	{ "conflicting_rows", "fix the person in the PMS: one id, one person" },
	{ "removal_deferred", "nothing, unless it repeats: then check the unit's residents" },
	{ "schema_changed",
	  "check the export's columns; fix and extract again, or approve the run if the change is "
	  "right" },
	{ "older_export",
	  "check the export drop; extract the current export again, or approve the run if the "
	  "older export is meant" },
	{ "latch_unit_missing",
	  "map the PMS unit to a unit Latch has, or create the unit in Latch" },
};

const char *digest_hint(const char *kind)
{
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (!strcmp(hints[i].kind, kind))
			return hints[i].hint;
	return NULL;
}

/* The two renderings being written. */
struct out {
	FILE *t; /* plain text */
	FILE *h; /* HTML body */
};

/* SQL prepared into *ST with the run ?1 and the property ?2 bound (every
 * query of a digest reads one run's rows of one property).  0, or -1. */
static int prepare_for(sqlite3 *db, const char *sql, const char *run_id, const char *property,
		       sqlite3_stmt **st)
{
	if (db_prepare(db, sql, st) < 0)
		return -1;
	sqlite3_bind_text(*st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(*st, 2, property, -1, SQLITE_STATIC);
	return 0;
}

/* The guard's hold of the property: held (1), not (0), -1 error. */
static int guard_hold(sqlite3 *db, const char *run_id, const char *property, char *why, size_t size,
		      int *read_it)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	*why = '\0';
	*read_it = 0;
	if (prepare_for(db,
			"SELECT max(coalesce(i.guard, '') = 'held' AND r.approved_at IS NULL), "
			"max(coalesce(i.guard_why, '')), count(*) FROM run_input i JOIN run r "
			"USING (run_id) WHERE i.run_id = ?1 AND i.property_id = ?2",
			run_id, property, &st) < 0)
		goto out;
	if ((r = db_row(st)) < 0)
		goto out;
	*read_it = r == 1 && sqlite3_column_int(st, 2) > 0;
	snprintf(why, size, "%s", db_col_text(st, 1));
	rc = r == 1 && sqlite3_column_int(st, 0);
out:
	sqlite3_finalize(st);
	return rc;
}

/* The changes: counts by op into D, and by op and reason into O. */
static int changes(sqlite3 *db, const char *run_id, const char *property, struct digest *d,
		   struct out *o)
{
	static const char *const ops[] = { "USER_CREATE", "ASSIGN", "UNASSIGN" };
	sqlite3_stmt *st = NULL;
	int rc = -1, r, n = 0;

	if (prepare_for(db,
			"SELECT op, reason, count(*) FROM delta_history WHERE run_id = ?1 AND "
			"property_id = ?2 GROUP BY 1, 2 ORDER BY 1, 2",
			run_id, property, &st) < 0)
		goto out;
	fputs("<h2>Changes</h2>\n", o->h);
	while ((r = db_row(st)) == 1) {
		const char *op = db_col_text(st, 0), *reason = db_col_text(st, 1);
		long count = sqlite3_column_int64(st, 2);

		for (int i = 0; i < 3; i++)
			if (!strcmp(op, ops[i]))
				d->changes[i] += count;
		if (!n++) {
			fputs("\nChanges:\n", o->t);
			fputs("<table><tr><th>operation</th><th>reason</th><th>rows</th></tr>\n",
			      o->h);
		}
		fprintf(o->t, "  %-12s %-18s %ld\n", op, reason, count);
		fprintf(o->h, "<tr><td>%s</td><td>", op);
		html_put(o->h, reason);
		fprintf(o->h, "</td><td>%ld</td></tr>\n", count);
	}
	if (r < 0)
		goto out;
	if (n)
		fputs("</table>\n", o->h);
	else {
		fputs("\nChanges: none.\n", o->t);
		fputs("<p>None.</p>\n", o->h);
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* End a kind's list of TOTAL rows, of which DIGEST_ROWS_PER_KIND at most were listed. */
static void close_kind(struct out *o, long total)
{
	if (total > DIGEST_ROWS_PER_KIND) {
		fprintf(o->t, "    ... and %ld more (exceptions.csv)\n",
			total - DIGEST_ROWS_PER_KIND);
		fprintf(o->h, "<li>... and %ld more (exceptions.csv)</li>\n",
			total - DIGEST_ROWS_PER_KIND);
	}
	fputs("</ul>\n", o->h);
}

/* The exceptions of the property, by kind, into O; counted into D. */
static int exceptions(sqlite3 *db, const char *run_id, const char *property, struct digest *d,
		      struct out *o)
{
	sqlite3_stmt *st = NULL;
	char kind[64] = "";
	long in_kind = 0, total_kind = 0;
	int rc = -1, r;

	/* each row with its kind's count, kinds in order */
	if (prepare_for(db,
			"SELECT kind, pms_unit_id, pms_person_id, detail, "
			"count(*) OVER (PARTITION BY kind) FROM run_exception "
			"WHERE run_id = ?1 AND property_id = ?2 ORDER BY kind, seq",
			run_id, property, &st) < 0)
		goto out;
	while ((r = db_row(st)) == 1) {
		const char *k = db_col_text(st, 0), *hint;

		d->exceptions++;
		if (strcmp(k, kind)) {
			if (*kind)
				close_kind(o, total_kind);
			snprintf(kind, sizeof(kind), "%s", k);
			in_kind = 0;
			total_kind = sqlite3_column_int64(st, 4);
			if (strcmp(kind, "removal_deferred"))
				d->needs_person = 1;
			hint = digest_hint(kind);
			fprintf(o->t, "\n* %ld %s\n", total_kind, kind);
			fprintf(o->h, "<h3>%ld <code>", total_kind);
			html_put(o->h, kind);
			fputs("</code></h3>\n", o->h);
			if (hint) {
				fprintf(o->t, "  what to do: %s\n", hint);
				fputs("<p class=\"hint\">What to do: ", o->h);
				html_put(o->h, hint);
				fputs("</p>\n", o->h);
			}
			fputs("<ul>\n", o->h);
		}
		if (in_kind++ >= DIGEST_ROWS_PER_KIND)
			continue;
		fputs("    unit ", o->t);
		cli_put_clean(o->t, db_col_text(st, 1));
		fputs(", person ", o->t);
		cli_put_clean(o->t, db_col_text(st, 2));
		fputs(": ", o->t);
		cli_put_clean(o->t, db_col_text(st, 3));
		fputc('\n', o->t);
		fputs("<li>unit <b>", o->h);
		html_put(o->h, db_col_text(st, 1));
		fputs("</b>, person <b>", o->h);
		html_put(o->h, db_col_text(st, 2));
		fputs("</b>: ", o->h);
		html_put(o->h, db_col_text(st, 3));
		fputs("</li>\n", o->h);
	}
	if (r < 0)
		goto out;
	if (*kind)
		close_kind(o, total_kind);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Delta rows of the property that load failed for good, into O and D. */
static int failures(sqlite3 *db, const char *run_id, const char *property, const char *run_dir,
		    struct digest *d, struct out *o)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (prepare_for(db,
			"SELECT d.op, d.pms_person_id, coalesce(d.pms_unit_id, ''), "
			"coalesce(j.http_status, 0), count(*) OVER () FROM journal j JOIN "
			"delta_history d ON d.run_id = j.run_id AND d.seq = j.seq WHERE j.run_id = ?1 "
			"AND d.property_id = ?2 AND j.state = 'failed' ORDER BY d.seq",
			run_id, property, &st) < 0)
		goto out;
	while ((r = db_row(st)) == 1) {
		if (!d->failed++) {
			d->needs_person = 1;
			fprintf(o->t,
				"\n* %lld changes failed at Latch (see %s/load-report.csv):\n",
				(long long)sqlite3_column_int64(st, 4), run_dir);
			fprintf(o->h, "<h3>%lld changes failed at Latch</h3>\n<p>See <code>",
				(long long)sqlite3_column_int64(st, 4));
			html_put(o->h, run_dir);
			fputs("/load-report.csv</code>.</p>\n<ul>\n", o->h);
		}
		if (d->failed > DIGEST_ROWS_PER_KIND)
			continue;
		fprintf(o->t, "    %s person ", db_col_text(st, 0));
		cli_put_clean(o->t, db_col_text(st, 1));
		fputs(" unit ", o->t);
		cli_put_clean(o->t, db_col_text(st, 2));
		fprintf(o->t, ": HTTP %d\n", sqlite3_column_int(st, 3));
		fprintf(o->h, "<li>%s person <b>", db_col_text(st, 0));
		html_put(o->h, db_col_text(st, 1));
		fputs("</b> unit <b>", o->h);
		html_put(o->h, db_col_text(st, 2));
		fprintf(o->h, "</b>: HTTP %d</li>\n", sqlite3_column_int(st, 3));
	}
	if (r < 0)
		goto out;
	if (d->failed > DIGEST_ROWS_PER_KIND) {
		fprintf(o->t, "    ... and %ld more\n", d->failed - DIGEST_ROWS_PER_KIND);
		fprintf(o->h, "<li>... and %ld more</li>\n", d->failed - DIGEST_ROWS_PER_KIND);
	}
	if (d->failed)
		fputs("</ul>\n", o->h);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Latch drift of the property in the reconcile.csv files, into O and D. */
static int drift(const char *property, const char *const *files, size_t n, struct digest *d,
		 struct out *o)
{
	long counts[RECONCILE_N_KINDS] = { 0 };

	for (size_t i = 0; i < n; i++)
		if (reconcile_count_file(files[i], property, counts) < 0)
			return -1;
	for (int k = 0; k < RECONCILE_N_KINDS; k++)
		d->drift += counts[k];
	if (!d->drift)
		return 0;
	d->needs_person = 1;
	fprintf(o->t, "\n* Latch differs from unitsync's records (unitsync reconcile):");
	fputs("<h3>Latch differs from unitsync&#39;s records (unitsync reconcile)</h3>\n<ul>\n",
	      o->h);
	for (int k = 0; k < RECONCILE_N_KINDS; k++) {
		if (!counts[k])
			continue;
		fprintf(o->t, " %ld %s;", counts[k], reconcile_kinds[k]);
		fprintf(o->h, "<li>%ld <code>%s</code></li>\n", counts[k], reconcile_kinds[k]);
	}
	fputs("\n  what to do: read the rows of", o->t);
	for (size_t i = 0; i < n; i++) {
		fputc(' ', o->t);
		cli_put_clean(o->t, files[i]);
	}
	fputs("; unitsync never removes a key_without_lease; 'unitsync reconcile --property ",
	      o->t);
	cli_put_clean(o->t, property);
	fputs(" --repair' assigns removed_outside and missing_in_latch pairs again\n", o->t);
	fputs("</ul>\n<p class=\"hint\">What to do: read the rows of", o->h);
	for (size_t i = 0; i < n; i++) {
		fputs(" <code>", o->h);
		html_put(o->h, files[i]);
		fputs("</code>", o->h);
	}
	fputs("; unitsync never removes a key_without_lease; <code>unitsync reconcile --property ",
	      o->h);
	html_put(o->h, property);
	fputs(" --repair</code> assigns removed_outside and missing_in_latch pairs again.</p>\n",
	      o->h);
	return 0;
}

static const char style[] =
	"<style>\n"
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5rem;"
	"color:#1d2430;background:#fff}\n"
	"h1{font-size:1.3rem}h2{font-size:1.1rem;border-bottom:1px solid #e3e7ee}"
	"h3{font-size:1rem;margin-bottom:.2rem}\n"
	"table{border-collapse:collapse}th,td{text-align:left;padding:.25rem .6rem;"
	"border-bottom:1px solid #eef1f5}\n"
	".held{background:#fee4e2;color:#b42318;padding:.5rem;border-radius:.3rem}"
	".hint{color:#5b6577;margin:0}pre{background:#f6f8fb;padding:.5rem}\n"
	"</style>\n";

int digest_build(sqlite3 *db, const char *run_id, const char *property_id,
		 const char *const *reconcile, size_t n_reconcile, struct digest *d)
{
	struct out o = { NULL, NULL };
	struct runstatus rs;
	char why[2048], status[1024], *body = NULL, *ctx = NULL;
	size_t tlen = 0, hlen = 0;
	int rc = -1, held, read_it, r, older;

	memset(d, 0, sizeof(*d));
	if ((r = runstatus_get(db, run_id, &rs)) <= 0) {
		if (r == 0)
			err_set("no run '%s' in the state database", run_id);
		return -1;
	}
	snprintf(d->as_of, sizeof(d->as_of), "%s", rs.as_of);
	if ((held = guard_hold(db, run_id, property_id, why, sizeof(why), &read_it)) < 0)
		return -1;
	if (!read_it) {
		err_set("run '%s' did not read property '%s'", run_id, property_id);
		return -1;
	}
	o.t = open_memstream(&d->text, &tlen);
	o.h = open_memstream(&body, &hlen);
	if (!o.t || !o.h) {
		err_set("out of memory");
		goto out;
	}
	d->held = held;
	runstatus_describe(&rs, status, sizeof(status));
	fputs("unitsync: property ", o.t);
	cli_put_clean(o.t, property_id);
	fprintf(o.t, ", night of %s\nrun %s (%s)\nrun status: ", rs.as_of, run_id, rs.run_dir);
	cli_put_clean(o.t, status);
	fputc('\n', o.t);
	fputs("<h1>unitsync: property ", o.h);
	html_put(o.h, property_id);
	fprintf(o.h, ", night of %s</h1>\n<p>run <code>%s</code> &middot; ", rs.as_of, run_id);
	html_put(o.h, status);
	fputs("</p>\n", o.h);
	fputs("\nNeeds a person:\n", o.t);
	fputs("<h2>Needs a person</h2>\n", o.h);
	if (held) {
		d->needs_person = 1;
		fputs("\n* HELD by the safety guard: ", o.t);
		cli_put_clean(o.t, *why ? why : "see manifest.json");
		/* an older export approved would be loaded: the current one is
		 * wanted (review nu13 #1) */
		older = strstr(why, "older_export:") != NULL;
		fprintf(o.t,
			"\n  Nothing was sent for this property. %s (unitsync report %s)%s:\n"
			"    unitsync approve %s\n    unitsync load %s\n",
			older ? "Its " RUNDIR_OLDER_ADVICE ". Review the run" : "Review the run",
			rs.run_dir, older ? "; to load it as it is" : ", then release it",
			rs.run_dir, rs.run_dir);
		fputs("<div class=\"held\"><b>Held by the safety guard:</b> ", o.h);
		html_put(o.h, *why ? why : "see manifest.json");
		fputs(older ? "<br>Nothing was sent for this property. Its " RUNDIR_OLDER_ADVICE
			      ". To load it as it is:</div>\n<pre>unitsync approve "
			    : "<br>Nothing was sent for this property. Review the run, then release "
			      "it:</div>\n<pre>unitsync approve ",
		      o.h);
		html_put(o.h, rs.run_dir);
		fputs("\nunitsync load ", o.h);
		html_put(o.h, rs.run_dir);
		fputs("</pre>\n", o.h);
	}
	if (exceptions(db, run_id, property_id, d, &o) < 0 ||
	    failures(db, run_id, property_id, rs.run_dir, d, &o) < 0 ||
	    drift(property_id, reconcile, n_reconcile, d, &o) < 0)
		goto out;
	if (!d->needs_person) {
		fputs("  nothing.\n", o.t);
		fputs("<p>Nothing.</p>\n", o.h);
	}
	if (changes(db, run_id, property_id, d, &o) < 0)
		goto out;
	if (fclose(o.t) != 0 || fclose(o.h) != 0) {
		o.t = o.h = NULL;
		err_set("out of memory");
		goto out;
	}
	o.t = o.h = NULL;
	if (asprintf(&d->html,
		     "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		     "<title>unitsync digest</title>\n%s</head><body>\n%s</body></html>\n",
		     style, body) < 0)
		d->html = NULL;
	if (d->held)
		snprintf(why, sizeof(why), "held by the safety guard");
	else if (d->exceptions || d->failed)
		snprintf(why, sizeof(why), "%ld exception%s, %ld failed%s", d->exceptions,
			 d->exceptions == 1 ? "" : "s", d->failed, d->drift ? ", Latch drift" : "");
	else if (d->drift)
		snprintf(why, sizeof(why), "Latch differs from unitsync's records");
	else
		snprintf(why, sizeof(why), "%ld key change%s", d->changes[1] + d->changes[2],
			 d->changes[1] + d->changes[2] == 1 ? "" : "s");
	if (asprintf(&ctx, "[unitsync] %s %s: %s", property_id, rs.as_of, why) < 0)
		ctx = NULL;
	if (!d->html || !ctx) {
		err_set("out of memory");
		goto out;
	}
	/* one line: a property id holds no control character (config, stg) but
	 * the subject must not break a header whatever it holds */
	for (char *c = ctx; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	d->subject = ctx;
	ctx = NULL;
	rc = 0;
out:
	if (o.t)
		fclose(o.t);
	if (o.h)
		fclose(o.h);
	free(body);
	free(ctx);
	return rc;
}

void digest_release(struct digest *d)
{
	free(d->subject);
	free(d->text);
	free(d->html);
	memset(d, 0, sizeof(*d));
}
