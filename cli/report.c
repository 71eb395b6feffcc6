/*
 * unitsync-report - a run directory summarised for people and auditors:
 * counts by property, op and reason, the changes themselves (up to
 * --rows), exceptions by kind with their first examples, and what load
 * made of the run according to the journal.
 */
#include "cli.h"
#include "csvio.h"
#include "db.h"
#include "delta.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "rundir.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: unitsync report RUN_DIR [--rows N]\n"
	"\n"
	"Summarise a run: changes by property, op and reason, exceptions, load outcome.\n"
	"\n"
	"  --rows N                 list at most N changes and N examples per exception kind (default 50)\n"
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

/* The journal's view of the run: how many rows are in each state. */
static void print_load(const char *db_path, const char *run_id)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int any = 0;

	if (db_open(db_path, 0, &db) < 0) {
		out("load: unknown (%s)\n", err_msg());
		return;
	}
	if (db_prepare(db,
		       "SELECT state, count(*) FROM journal WHERE run_id = ? GROUP BY state ORDER BY state",
		       &st) == 0) {
		sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
		out("load:");
		while (sqlite3_step(st) == SQLITE_ROW) {
			out("%s %d %s", any ? "," : "", sqlite3_column_int(st, 1),
			    db_col_text(st, 0));
			any = 1;
		}
		out("%s\n", any ? "" : " not loaded yet");
	}
	sqlite3_finalize(st);
	db_close(db);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rows", required_argument, NULL, 'r' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct rundir run = { 0 };
	struct report rep = { .max_rows = 50 };
	char path[PATH_MAX + 32];
	json_t *props, *p, *guard;
	size_t i;
	FILE *fp = NULL;
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-report", usage);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int c;

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
	props = json_object_get(run.manifest, "properties");
	json_array_foreach(props, i, p)
	{
		json_t *ops = json_object_get(p, "counts_by_op"),
		       *reasons = json_object_get(p, "counts_by_reason");
		json_t *pg = json_object_get(p, "guard"), *v;
		const char *k;

		out("property %s, as of %s, snapshot %lld: %lld USER_CREATE, %lld ASSIGN, %lld UNASSIGN",
		    json_string_value(json_object_get(p, "property_id")),
		    json_string_value(json_object_get(p, "as_of")),
		    (long long)json_integer_value(json_object_get(p, "snapshot_id")),
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
	if (delta_read(run.delta_path, print_delta_row, &rep) < 0) {
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
	print_load(cli.db_path, run.run_id);
	rc = US_EXIT_OK;
out:
	if (fp)
		fclose(fp);
	json_decref(rep.kinds);
	rundir_release(&run);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
