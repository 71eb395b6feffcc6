/*
 * unitsync-report - a run directory summarised for people and auditors:
 * counts by property, op and reason, the changes themselves (up to
 * --rows), exceptions by kind with their first examples, and what became
 * of the run: its status (runstatus_get(), the function `unitsync runs`
 * uses too), the approval, the load outcome and every input snapshot.
 * With a reconcile.csv (--reconcile FILE, or the one beside a repair run
 * written by `unitsync reconcile --repair`), its rows counted by kind and
 * the first ones listed: a section of its own, in the HTML page too.
 */
#include "cli.h"
#include "csvio.h"
#include "db.h"
#include "delta.h"
#include "durable.h"
#include "err.h"
#include "html.h"
#include "exitcode.h"
#include "log.h"
#include "reconcile.h"
#include "rundir.h"
#include "runstatus.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync report RUN_DIR [--rows N] [--html FILE] [--reconcile FILE]\n"
	"\n"
	"Summarise a run: changes by property, op and reason, exceptions, load outcome.\n"
	"\n"
	"  --rows N                 list at most N changes and N examples per exception kind (default 50)\n"
	"  --html FILE              also write one self-contained HTML page: counts, a chart of\n"
	"                           assigns and unassigns per property over the last 30 runs,\n"
	"                           the changes and the exceptions\n"
	"  --reconcile FILE         a reconcile.csv to summarise (default: the one beside a\n"
	"                           repair run of unitsync reconcile --repair)\n"
	"  --db PATH                state database for the load outcome (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/*
 * printf() for everything this report shows: text from PMS exports reaches
 * a terminal here, so control characters (escape sequences that retitle or
 * clear a terminal, stray CR/LF) are shown as '?'.
 */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void out(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && !(c == '\n' && i == n - 1)) || c == 0x7f)
			buf[i] = '?';
	}
	fputs(buf, stdout);
}

struct report {
	int max_rows;  /* --rows */
	long shown;    /* delta rows printed so far */
	long total;    /* delta rows read */
	json_t *kinds; /* exception kind -> examples printed */
};

static int print_delta_row(const struct delta_row *r, void *vr)
{
	struct report *rep = vr;
	char unit[512];

	rep->total++;
	if (rep->shown >= rep->max_rows)
		return 0;
	rep->shown++;
	if (r->op == DELTA_USER_CREATE)
		snprintf(unit, sizeof(unit), "user %s %s <%s>%s%s", r->first_name, r->last_name,
			 r->email, *r->phone ? " " : "", r->phone);
	else
		snprintf(unit, sizeof(unit), "unit %s (Latch %s)", r->pms_unit_id,
			 r->latch_unit_id);
	out("  %4ld %-11s %-10s %-10s %-40s %s%s%s\n", r->seq, delta_op_name(r->op), r->property_id,
	    r->pms_person_id, unit, r->reason, *r->group_id ? " group " : "", r->group_id);
	return 0;
}

static int print_exception(const struct csvio_row *row, void *vr)
{
	struct report *rep = vr;
	json_t *n;

	if (row->line == 1 || row->n != 5)
		return 0;
	n = json_object_get(rep->kinds, row->fields[0]);
	if (n && json_integer_value(n) >= rep->max_rows)
		return 0;
	json_object_set_new(rep->kinds, row->fields[0],
			    json_integer(n ? json_integer_value(n) + 1 : 1));
	out("  %-18s %-10s unit %-8s person %-10s %s\n", row->fields[0], row->fields[1],
	    *row->fields[2] ? row->fields[2] : "-", *row->fields[3] ? row->fields[3] : "-",
	    row->fields[4]);
	return 0;
}

/* What became of the run, from the state database (NULL: unknown). */
struct outcome {
	int known;           /* the database holds the run */
	char why[512];       /* when not known: why */
	struct runstatus rs; /* when known */
	char status[1024];   /* runstatus_describe() */
	char approval[512];  /* who approved and when, or why none is needed */
	char load[512];      /* the journal's view and the last load */
};

/* Fill O for RUN from DB (NULL when it could not be opened: O->why says). */
static int outcome_get(sqlite3 *db, const struct rundir *run, struct outcome *o)
{
	char journal[256];
	int found;

	if (!db)
		return 0;
	found = runstatus_get(db, run->run_id, &o->rs);
	if (found < 0)
		return -1;
	if (!found) {
		if (rundir_preview_error(run->dir))
			snprintf(o->why, sizeof(o->why), "%s", err_msg());
		else
			snprintf(o->why, sizeof(o->why), "the state database does not know run %s",
				 run->run_id);
		return 0;
	}
	o->known = 1;
	runstatus_describe(&o->rs, o->status, sizeof(o->status));
	if (*o->rs.approved_at)
		snprintf(o->approval, sizeof(o->approval), "approved by %s at %s",
			 o->rs.approved_by, o->rs.approved_at);
	else if (!strcmp(o->rs.guard, "held"))
		snprintf(o->approval, sizeof(o->approval),
			 "needed (held by the safety guard), not given");
	else
		snprintf(o->approval, sizeof(o->approval), "not needed (guard ok)");
	runstatus_journal_describe(&o->rs, journal, sizeof(journal));
	if (*o->rs.loaded_at)
		snprintf(o->load, sizeof(o->load), "%s; the last load ended %s (%s)", journal,
			 o->rs.loaded_at, o->rs.load_status);
	else
		snprintf(o->load, sizeof(o->load), "%s", journal);
	return 0;
}

/* runstatus_inputs() callback of the text report: one line an input. */
static int print_input(const struct runstatus_input *in, void *ctx)
{
	char line[8192];

	(void)ctx;
	runstatus_input_describe(in, line, sizeof(line));
	out("  %s\n", line);
	return 0;
}

/* The manifest's inputs, when the state database cannot say more. */
static void print_manifest_inputs(const struct rundir *run)
{
	json_t *in;
	size_t i;

	json_array_foreach(json_object_get(run->manifest, "inputs"), i, in)
		out("  %s: snapshot %lld '%s' sha256 %s, %lld people (age unknown: not in the "
		    "state database)\n",
		    json_string_value(json_object_get(in, "property_id")),
		    (long long)json_integer_value(json_object_get(in, "snapshot_id")),
		    json_string_value(json_object_get(in, "source_name")),
		    json_string_value(json_object_get(in, "sha256")),
		    (long long)json_integer_value(json_object_get(in, "people")));
}

/* Status, approval, load outcome and inputs, as text. */
static int print_outcome(sqlite3 *db, const struct rundir *run, const struct outcome *o)
{
	if (!o->known) {
		out("status: unknown (%s)\n", o->why);
		out("inputs:\n");
		print_manifest_inputs(run);
		return 0;
	}
	out("status: %s\n", o->status);
	out("approval: %s\n", o->approval);
	out("load: %s\n", o->load);
	out("inputs:\n");
	return runstatus_inputs(db, run->run_id, print_input, NULL);
}

/* ---- HTML ---------------------------------------------------------- */

/* A reconcile.csv being read: counts by kind, the first rows shown. */
struct recon {
	const char *path;               /* the file, borrowed */
	long counts[RECONCILE_N_KINDS]; /* rows of each kind */
	long n;                         /* rows read */
	long max;                       /* rows to show */
	FILE *html;                     /* the page's section, or NULL: the text report */
};

/* One row of reconcile.csv: the header checked, each row's kind known. */
static int recon_row(const struct csvio_row *row, void *vr)
{
	struct recon *rc = vr;
	int k = reconcile_csv_row(row, rc->path);

	if (k < 0)
		return -1;
	if (k == RECONCILE_N_KINDS)
		return 0; /* the header */
	rc->counts[k]++;
	if (rc->n++ >= rc->max)
		return 0;
	if (!rc->html) {
		out("  %-22s unit %-10s user %-12s %s%s%s %s\n", row->fields[0],
		    *row->fields[2] ? row->fields[2] : "-", *row->fields[3] ? row->fields[3] : "-",
		    row->fields[4], *row->fields[6] ? " person " : "", row->fields[6],
		    row->fields[7]);
		return 0;
	}
	fputs("<tr>", rc->html);
	for (size_t i = 0; i < 8; i++) {
		if (i == 1)
			continue;
		fputs("<td>", rc->html);
		html_put(rc->html, row->fields[i]);
		fputs("</td>", rc->html);
	}
	fputs("</tr>\n", rc->html);
	return 0;
}

/* Read reconcile.csv RC->path (rows shown as RC->html says); -1 with err_set(). */
static int recon_read(struct recon *rc)
{
	FILE *fp = fopen(rc->path, "r");
	int r;

	memset(rc->counts, 0, sizeof(rc->counts));
	rc->n = 0;
	if (!fp) {
		err_set("cannot open '%s': %s", rc->path, strerror(errno));
		return -1;
	}
	r = csvio_read(fp, rc->path, recon_row, rc);
	fclose(fp);
	return r;
}

/* The reconcile section of the HTML page. */
static int html_recon(FILE *fp, struct recon *rc)
{
	fputs("<h2>Reconcile</h2>\n<p class=\"meta\">", fp);
	html_put(fp, rc->path);
	fputs("</p>\n<table id=\"reconcile\"><tr><th>kind</th><th>Latch unit</th><th>Latch user"
	      "</th><th>e-mail</th><th>PMS unit</th><th>person</th><th>detail</th></tr>\n",
	      fp);
	rc->html = fp;
	if (recon_read(rc) < 0)
		return -1;
	fputs("</table>\n<p class=\"note\">", fp);
	for (int k = 0; k < RECONCILE_N_KINDS; k++)
		fprintf(fp, "%s%s %ld", k ? ", " : "", reconcile_kinds[k], rc->counts[k]);
	if (rc->n > rc->max)
		fprintf(fp, "; %ld more rows in the file", rc->n - rc->max);
	fputs("</p>\n", fp);
	return 0;
}

struct html_rows {
	FILE *fp; /* the page */
	long n;   /* rows written */
	long max; /* rows to write */
};

static int html_delta_row(const struct delta_row *r, void *vh)
{
	struct html_rows *hr = vh;
	FILE *fp = hr->fp;

	if (hr->n++ >= hr->max)
		return 0;
	fprintf(fp, "<tr class=\"%s\"><td>%ld</td><td>%s</td><td>", delta_op_name(r->op), r->seq,
		delta_op_name(r->op));
	html_put(fp, r->property_id);
	fputs("</td><td>", fp);
	html_put(fp, r->pms_person_id);
	fputs("</td><td>", fp);
	if (r->op == DELTA_USER_CREATE) {
		html_put(fp, r->first_name);
		fputc(' ', fp);
		html_put(fp, r->last_name);
		fputs(" &lt;", fp);
		html_put(fp, r->email);
		fputs("&gt;", fp);
	} else {
		html_put(fp, r->pms_unit_id);
		fputs(" (Latch ", fp);
		html_put(fp, r->latch_unit_id);
		fputc(')', fp);
	}
	fputs("</td><td>", fp);
	html_put(fp, r->reason);
	if (*r->group_id) {
		fputs(" <small>", fp);
		html_put(fp, r->group_id);
		fputs("</small>", fp);
	}
	fputs("</td></tr>\n", fp);
	return 0;
}

static int html_exception_row(const struct csvio_row *row, void *vh)
{
	struct html_rows *hr = vh;

	if (row->line == 1 || row->n != 5 || hr->n++ >= hr->max)
		return 0;
	fputs("<tr>", hr->fp);
	for (size_t i = 0; i < 5; i++) {
		fputs("<td>", hr->fp);
		html_put(hr->fp, row->fields[i]);
		fputs("</td>", hr->fp);
	}
	fputs("</tr>\n", hr->fp);
	return 0;
}

/*
 * One inline-SVG bar chart per property: ASSIGN and UNASSIGN rows of each
 * of the last 30 runs up to this one, from the state database's history.
 */
static void html_chart(FILE *fp, sqlite3 *db, const char *run_id, const char *property)
{
	sqlite3_stmt *st = NULL;
	long a[30] = { 0 }, u[30] = { 0 }, max = 1;
	char ids[30][64];
	int n = 0, got = 0;

	if (!db ||
	    db_prepare(db,
		       "SELECT r.run_id, "
		       "  (SELECT count(*) FROM delta_history h WHERE h.run_id = r.run_id "
		       "   AND h.property_id = ?2 AND h.op = 'ASSIGN'), "
		       "  (SELECT count(*) FROM delta_history h WHERE h.run_id = r.run_id "
		       "   AND h.property_id = ?2 AND h.op = 'UNASSIGN') "
		       "FROM (SELECT DISTINCT run_id FROM run_input WHERE property_id = ?2 "
		       "      AND run_id <= ?1 ORDER BY run_id DESC LIMIT 30) r ORDER BY r.run_id",
		       &st) < 0) {
		fputs("<p class=\"note\">No state database: the chart needs the run history.</p>\n",
		      fp);
		return;
	}
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, property, -1, SQLITE_STATIC);
	while (n < 30 && (got = db_row(st)) == 1) {
		snprintf(ids[n], sizeof(ids[n]), "%s", db_col_text(st, 0));
		a[n] = sqlite3_column_int(st, 1);
		u[n] = sqlite3_column_int(st, 2);
		if (a[n] > max)
			max = a[n];
		if (u[n] > max)
			max = u[n];
		n++;
	}
	sqlite3_finalize(st);
	if (got < 0) {
		fputs("<p class=\"note\">The run history could not be read: no chart.</p>\n", fp);
		log_warn("%s", err_msg());
		return;
	}
	fprintf(fp, "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 640 170\" width=\"640\" "
		    "height=\"170\" xmlns=\"http://www.w3.org/2000/svg\">\n"
		    "<title>Assigns and unassigns of ");
	html_put(fp, property);
	fprintf(fp,
		" over the last %d runs</title>\n"
		"<line x1=\"40\" y1=\"140\" x2=\"630\" y2=\"140\" stroke=\"#999\"/>\n"
		"<text x=\"36\" y=\"24\" text-anchor=\"end\" class=\"axis\">%ld</text>\n"
		"<text x=\"36\" y=\"140\" text-anchor=\"end\" class=\"axis\">0</text>\n",
		n, max);
	for (int i = 0; i < n; i++) {
		double x = 44 + i * 19.5;
		double ha = 116.0 * (double)a[i] / (double)max,
		       hu = 116.0 * (double)u[i] / (double)max;

		fprintf(fp,
			"<g><title>run %s: %ld ASSIGN, %ld UNASSIGN</title>"
			"<rect class=\"assign\" x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"%.1f\"/>"
			"<rect class=\"unassign\" x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"%.1f\"/>"
			"%s</g>\n",
			ids[i], a[i], u[i], x, 140 - ha, ha, x + 8.5, 140 - hu, hu, "");
		if (!strcmp(ids[i], run_id))
			fprintf(fp,
				"<text x=\"%.1f\" y=\"156\" text-anchor=\"middle\" class=\"axis\">this run"
				"</text>\n",
				x + 8);
	}
	fputs("<rect class=\"assign\" x=\"440\" y=\"158\" width=\"10\" height=\"10\"/>"
	      "<text x=\"454\" y=\"167\" class=\"axis\">ASSIGN</text>"
	      "<rect class=\"unassign\" x=\"520\" y=\"158\" width=\"10\" height=\"10\"/>"
	      "<text x=\"534\" y=\"167\" class=\"axis\">UNASSIGN</text>\n</svg>\n",
	      fp);
}

static const char html_style[] =
	"<style>\n"
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;"
	"max-width:1100px;padding:0 1rem;color:#1d2430;background:#fff}\n"
	"h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;"
	"border-bottom:1px solid #e3e7ee;padding-bottom:.3rem}\n"
	".meta{color:#5b6577;margin-top:0}.note{color:#5b6577}\n"
	"table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{text-align:left;"
	"padding:.35rem .6rem;border-bottom:1px solid #eef1f5;vertical-align:top}\n"
	"th{background:#f6f8fb;font-weight:600}tr.UNASSIGN td:nth-child(2){color:#b42318}"
	"tr.ASSIGN td:nth-child(2){color:#067647}\n"
	".badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-size:.85rem;"
	"font-weight:600}.ok{background:#dcfae6;color:#067647}.held{background:#fee4e2;"
	"color:#b42318}\n"
	"svg .assign{fill:#2e90fa}svg .unassign{fill:#f04438}svg .axis{font-size:11px;"
	"fill:#5b6577}\n"
	"code{font-size:.85em;color:#5b6577}\n"
	"</style>\n";

/* runstatus_inputs() callback of the page: one table row an input. */
static int html_input(const struct runstatus_input *in, void *vfp)
{
	FILE *fp = vfp;

	fputs("<tr><td>", fp);
	html_put(fp, in->property_id);
	if (!in->snapshot_id) {
		fputs("</td><td colspan=\"5\">no export (property missing)</td></tr>\n", fp);
		return 0;
	}
	fprintf(fp, "</td><td>%lld</td>", in->snapshot_id);
	if (in->pruned) {
		fputs("<td colspan=\"4\">pruned: see the run&#39;s manifest.json</td></tr>\n", fp);
		return 0;
	}
	fputs("<td>", fp);
	html_put(fp, in->source_name);
	fputs("</td><td><code>", fp);
	html_put(fp, in->sha256);
	fprintf(fp, "</code></td><td>%ld</td><td>%.1f h <small>(", in->people, in->age_hours);
	html_put(fp, in->aged_from);
	fputc(' ', fp);
	html_put(fp, in->since);
	fputs(")</small></td></tr>\n", fp);
	return 0;
}

/* The whole page for RUN into PATH (durably, mode 0640); DB may be NULL. */
static int write_html(const char *path, const struct rundir *run, sqlite3 *db,
		      const struct outcome *o, struct recon *recon)
{
	struct dur_file f;
	struct html_rows hr = { 0 };
	json_t *props = json_object_get(run->manifest, "properties"), *p, *in;
	const char *verdict = json_string_value(
		json_object_get(json_object_get(run->manifest, "guard"), "verdict"));
	char epath[PATH_MAX + 32];
	FILE *efp = NULL;
	size_t i;
	int rc = -1;

	if (dur_open(&f, path, 0640) < 0)
		goto out;
	hr.fp = f.fp;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
	      "unitsync run ",
	      f.fp);
	html_put(f.fp, run->run_id);
	fprintf(f.fp, "</title>\n%s</head><body>\n<h1>unitsync run <code>", html_style);
	html_put(f.fp, run->run_id);
	fprintf(f.fp, "</code> <span class=\"badge %s\">guard: %s</span></h1>\n<p class=\"meta\">",
		verdict && !strcmp(verdict, "held") ? "held" : "ok", verdict ? verdict : "?");
	fputs("created ", f.fp);
	html_put(f.fp, json_string_value(json_object_get(run->manifest, "created_at")));
	fputs(" &middot; delta sha256 <code>", f.fp);
	html_put(f.fp, run->delta_sha256);
	fputs("</code></p>\n<h2>Outcome</h2>\n<table id=\"outcome\">", f.fp);
	if (o->known) {
		fprintf(f.fp, "<tr><th>status</th><td><span class=\"badge %s\">",
			!strcmp(o->rs.status, "loaded") ? "ok" : "held");
		html_put(f.fp, o->rs.status);
		fputs("</span> ", f.fp);
		html_put(f.fp, o->status);
		fputs("</td></tr>\n<tr><th>approval</th><td>", f.fp);
		html_put(f.fp, o->approval);
		fputs("</td></tr>\n<tr><th>load</th><td>", f.fp);
		html_put(f.fp, o->load);
		fputs("</td></tr>\n", f.fp);
	} else {
		fputs("<tr><th>status</th><td>unknown (", f.fp);
		html_put(f.fp, o->why);
		fputs(")</td></tr>\n", f.fp);
	}
	fputs("</table>\n<h2>Properties</h2>\n<table><tr><th>property</th><th>as of</th>"
	      "<th>USER_CREATE</th><th>ASSIGN</th><th>UNASSIGN</th><th>by reason</th>"
	      "<th>guard</th></tr>\n",
	      f.fp);
	json_array_foreach(props, i, p)
	{
		json_t *ops = json_object_get(p, "counts_by_op"), *v;
		json_t *g = json_object_get(p, "guard");
		const char *k, *pv = json_string_value(json_object_get(g, "verdict"));

		fputs("<tr><td>", f.fp);
		html_put(f.fp, json_string_value(json_object_get(p, "property_id")));
		fputs("</td><td>", f.fp);
		html_put(f.fp, json_string_value(json_object_get(p, "as_of")));
		fprintf(f.fp, "</td><td>%lld</td><td>%lld</td><td>%lld</td><td>",
			(long long)json_integer_value(json_object_get(ops, "USER_CREATE")),
			(long long)json_integer_value(json_object_get(ops, "ASSIGN")),
			(long long)json_integer_value(json_object_get(ops, "UNASSIGN")));
		json_object_foreach(json_object_get(p, "counts_by_reason"), k, v)
		{
			html_put(f.fp, k);
			fprintf(f.fp, " %lld<br>", (long long)json_integer_value(v));
		}
		fprintf(f.fp, "</td><td><span class=\"badge %s\">%s</span>",
			pv && !strcmp(pv, "held") ? "held" : "ok", pv ? pv : "?");
		{
			size_t w;

			json_array_foreach(json_object_get(g, "why"), w, v)
			{
				fputs("<br>", f.fp);
				html_put(f.fp, json_string_value(v));
			}
		}
		fputs("</td></tr>\n", f.fp);
	}
	fputs("</table>\n<h2>Inputs</h2>\n<table id=\"inputs\"><tr><th>property</th>"
	      "<th>snapshot</th><th>file</th><th>sha256</th><th>people</th>"
	      "<th>age at the run</th></tr>\n",
	      f.fp);
	if (o->known) {
		if (runstatus_inputs(db, run->run_id, html_input, f.fp) < 0)
			goto out;
	} else {
		json_array_foreach(json_object_get(run->manifest, "inputs"), i, in)
		{
			fputs("<tr><td>", f.fp);
			html_put(f.fp, json_string_value(json_object_get(in, "property_id")));
			fprintf(f.fp, "</td><td>%lld</td><td>",
				(long long)json_integer_value(json_object_get(in, "snapshot_id")));
			html_put(f.fp, json_string_value(json_object_get(in, "source_name")));
			fputs("</td><td><code>", f.fp);
			html_put(f.fp, json_string_value(json_object_get(in, "sha256")));
			fprintf(f.fp, "</code></td><td>%lld</td><td>unknown</td></tr>\n",
				(long long)json_integer_value(json_object_get(in, "people")));
		}
	}
	fputs("</table>\n<h2>Assigns and unassigns over the last 30 runs</h2>\n", f.fp);
	json_array_foreach(props, i, p)
	{
		if (i >= 20) {
			fputs("<p class=\"note\">Charts of further properties left out.</p>\n",
			      f.fp);
			break;
		}
		fputs("<h3>", f.fp);
		html_put(f.fp, json_string_value(json_object_get(p, "property_id")));
		fputs("</h3>\n", f.fp);
		html_chart(f.fp, db, run->run_id,
			   json_string_value(json_object_get(p, "property_id")));
	}
	fputs("<h2>Changes</h2>\n<table id=\"changes\"><tr><th>seq</th><th>op</th>"
	      "<th>property</th><th>person</th><th>what</th><th>reason</th></tr>\n",
	      f.fp);
	hr.max = 1000;
	if (delta_read_fd(run->delta_fd, run->delta_path, html_delta_row, &hr) < 0)
		goto out;
	fputs("</table>\n", f.fp);
	if (hr.n > hr.max)
		fprintf(f.fp, "<p class=\"note\">%ld more rows in delta.csv.</p>\n", hr.n - hr.max);
	fputs("<h2>Exceptions</h2>\n<table id=\"exceptions\"><tr><th>kind</th><th>property</th>"
	      "<th>unit</th><th>person</th><th>detail</th></tr>\n",
	      f.fp);
	snprintf(epath, sizeof(epath), "%s/exceptions.csv", run->dir);
	hr.n = 0;
	efp = fopen(epath, "r");
	if (!efp || csvio_read(efp, epath, html_exception_row, &hr) < 0)
		goto out;
	fputs("</table>\n", f.fp);
	if (hr.n > hr.max)
		fprintf(f.fp, "<p class=\"note\">%ld more rows in exceptions.csv.</p>\n",
			hr.n - hr.max);
	if (recon->path && html_recon(f.fp, recon) < 0)
		goto out;
	fputs("</body></html>\n", f.fp);
	rc = dur_commit(&f);
out:
	if (rc < 0 && f.fp)
		dur_abort(&f);
	if (efp)
		fclose(efp);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rows", required_argument, NULL, 'r' },
		{ "html", required_argument, NULL, 'H' },
		{ "reconcile", required_argument, NULL, 'R' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct rundir run = { 0 };
	struct report rep = { .max_rows = 50 };
	struct outcome o = { 0 };
	struct recon recon = { 0 };
	sqlite3 *db = NULL;
	char path[PATH_MAX + 32], recon_path[PATH_MAX + 32];
	json_t *props, *p, *guard;
	size_t i;
	FILE *fp = NULL;
	const char *html_path = NULL;
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-report", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		if (opt == 'H' || opt == 'R') {
			*(opt == 'H' ? &html_path : &recon.path) = optarg;
			continue;
		}
		if (opt == 'r') {
			if (cli_parse_uint(optarg, &rep.max_rows) < 0) {
				cli_usage_error(&cli, "--rows: %s", err_msg());
				goto out;
			}
			continue;
		}
		c = cli_common_option(&cli, opt, optarg);
		if (c == 1)
			rc = US_EXIT_OK;
		if (c != 0)
			goto out;
	}
	if (optind + 1 != argc) {
		cli_usage_error(&cli, "expected one RUN_DIR");
		goto out;
	}
	rc = US_EXIT_DATAERR;
	if (rundir_open(&run, argv[optind]) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	guard = json_object_get(run.manifest, "guard");
	out("run %s, created %s, guard: %s\n", run.run_id,
	    json_string_value(json_object_get(run.manifest, "created_at")),
	    json_string_value(json_object_get(guard, "verdict")));
	/* what became of it first: the status the run history shows too */
	if (access(cli.db_path, F_OK) != 0)
		snprintf(o.why, sizeof(o.why), "no state database at '%s'", cli.db_path);
	else if (db_open(cli.db_path, 0, &db) < 0)
		snprintf(o.why, sizeof(o.why), "%s", err_msg());
	if (outcome_get(db, &run, &o) < 0 || print_outcome(db, &run, &o) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(db);
		goto out;
	}
	props = json_object_get(run.manifest, "properties");
	json_array_foreach(props, i, p)
	{
		json_t *ops = json_object_get(p, "counts_by_op"),
		       *reasons = json_object_get(p, "counts_by_reason");
		json_t *pg = json_object_get(p, "guard"), *v;
		const char *k;

		json_t *sid = json_object_get(p, "snapshot_id");
		char from[64];

		if (json_is_integer(sid))
			snprintf(from, sizeof(from), "snapshot %lld",
				 (long long)json_integer_value(sid));
		else
			snprintf(from, sizeof(from), "no export");
		out("property %s, as of %s, %s: %lld USER_CREATE, %lld ASSIGN, %lld UNASSIGN",
		    json_string_value(json_object_get(p, "property_id")),
		    json_string_value(json_object_get(p, "as_of")), from,
		    (long long)json_integer_value(json_object_get(ops, "USER_CREATE")),
		    (long long)json_integer_value(json_object_get(ops, "ASSIGN")),
		    (long long)json_integer_value(json_object_get(ops, "UNASSIGN")));
		json_object_foreach(reasons, k, v)
		{
			out("%s%s %lld",
			    k == json_object_iter_key(json_object_iter(reasons)) ? " (" : ", ", k,
			    (long long)json_integer_value(v));
		}
		out("%s\n", json_object_size(reasons) ? ")" : "");
		if (!strcmp(json_string_value(json_object_get(pg, "verdict")), "held")) {
			json_t *w;
			size_t j;

			json_array_foreach(json_object_get(pg, "why"), j, w)
				out("  HELD: %s\n", json_string_value(w));
		}
	}
	out("changes:\n");
	if (delta_read_fd(run.delta_fd, run.delta_path, print_delta_row, &rep) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	if (rep.total == 0)
		out("  (none)\n");
	else if (rep.total > rep.shown)
		out("  ... %ld more in %s\n", rep.total - rep.shown, run.delta_path);
	out("exceptions:\n");
	rep.kinds = json_object();
	snprintf(path, sizeof(path), "%s/exceptions.csv", run.dir);
	fp = fopen(path, "r");
	if (!fp || csvio_read(fp, path, print_exception, &rep) < 0) {
		log_error("cannot read '%s'", path);
		goto out;
	}
	if (json_object_size(rep.kinds) == 0)
		out("  (none)\n");
	/* a repair run sits in the folder of the reconcile.csv that asked for it */
	if (!recon.path && json_object_get(run.manifest, "repair_of")) {
		char *slash;
		size_t len;

		snprintf(recon_path, sizeof(recon_path), "%s", run.dir);
		for (len = strlen(recon_path); len > 1 && recon_path[len - 1] == '/'; len--)
			recon_path[len - 1] = '\0';
		slash = strrchr(recon_path, '/');
		if (slash)
			snprintf(slash, sizeof(recon_path) - (size_t)(slash - recon_path),
				 "/reconcile.csv");
		else
			snprintf(recon_path, sizeof(recon_path), "reconcile.csv");
		if (access(recon_path, R_OK) == 0)
			recon.path = recon_path;
	}
	if (recon.path) {
		recon.max = rep.max_rows;
		out("reconcile (%s):\n", recon.path);
		if (recon_read(&recon) < 0) {
			log_error("%s", err_msg());
			goto out;
		}
		for (int k = 0; k < RECONCILE_N_KINDS; k++)
			out("%s%s %ld", k ? ", " : "  ", reconcile_kinds[k], recon.counts[k]);
		out("\n");
		if (recon.n > recon.max)
			out("  ... %ld more in %s\n", recon.n - recon.max, recon.path);
		recon.max = 1000;
	}
	if (html_path) {
		if (write_html(html_path, &run, db, &o, &recon) < 0) {
			log_error("%s", err_msg());
			rc = US_EXIT_CONFIG;
			goto out;
		}
		out("html report: %s\n", html_path);
	}
	rc = US_EXIT_OK;
out:
	if (fp)
		fclose(fp);
	json_decref(rep.kinds);
	rundir_release(&run);
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
