/*
 * unitsync-metrics - write the night's outcome as a Prometheus text file
 * (issue 20), atomically, for node_exporter's textfile collector.
 *
 * nightly.sh calls it as its last step whatever the night's outcome
 * (--metrics-file); an operator may call it by hand.  What each family
 * means and where it comes from: lib/metrics.h.
 */
#include "cli.h"
#include "db.h"
#include "date.h"
#include "durable.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "metrics.h"
#include "runstatus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STAGES 16

static const char usage[] =
	"usage: unitsync metrics --out PATH [--run RUN] [--exit-code N] [--stage NAME=SECONDS]...\n"
	"\n"
	"Write the last night's outcome as Prometheus metrics to PATH, atomically\n"
	"(node_exporter textfile collector: name it *.prom in the collector's directory).\n"
	"\n"
	"  --out PATH               the metrics file, replaced whole\n"
	"  --run RUN                the run the night made (its id or run directory): its delta rows,\n"
	"                           exceptions, guard holds and load outcome; none when omitted\n"
	"  --exit-code N            the night's exit code (unitsync-nightly(1))\n"
	"  --stage NAME=SECONDS     a stage's wall time (extract, transform, load, ...); repeatable\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/* Parse "NAME=SECONDS" (NAME of [a-z0-9_], 1..32 bytes) into *ST, in place. */
static int parse_stage(char *arg, struct metrics_stage *st)
{
	char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : 0;

	if (n == 0 || n > 32 || strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
		err_set("--stage '%s': expected NAME=SECONDS, NAME of a-z, 0-9 and _", arg);
		return -1;
	}
	if (cli_parse_number(eq + 1, 0, 1e9, &st->seconds) < 0)
		return -1;
	*eq = '\0';
	st->name = arg;
	return 0;
}

/* The metrics of NIGHT (from DB; NULL: the night's own only) into PATH,
 * whole or not at all: an exit code, US_EXIT_OK when written. */
static int write_metrics(const char *path, sqlite3 *db, const struct metrics_night *night)
{
	struct dur_file out = { 0 };

	/* a path that cannot be created is the configuration's fault */
	if (dur_open(&out, path, 0644) < 0)
		return US_EXIT_CONFIG;
	if (metrics_write(db, night, out.fp) < 0) {
		dur_abort(&out);
		return strncmp(err_msg(), "database:", 9) == 0 ? db_exit_code(db)
							       : US_EXIT_TEMPFAIL;
	}
	return dur_commit(&out) < 0 ? US_EXIT_TEMPFAIL : US_EXIT_OK;
}

int main(int argc, char **argv)
{
	enum {
		OPT_OUT = 1000,
		OPT_RUN,
		OPT_EXIT,
		OPT_STAGE
	};
	static const struct option opts[] = {
		CLI_COMMON_OPTIONS,
		{ "out", required_argument, NULL, OPT_OUT },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "exit-code", required_argument, NULL, OPT_EXIT },
		{ "stage", required_argument, NULL, OPT_STAGE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct metrics_stage stages[MAX_STAGES];
	struct metrics_night night = { .exit_code = -1, .stages = stages };
	const char *out_path = NULL, *run = NULL;
	char run_id[256];
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-metrics", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c = cli_common_option(&cli, opt, optarg);

		if (c == 1)
			rc = US_EXIT_OK;
		if (c >= 0 && c != 0)
			goto out;
		if (c == 0)
			continue;
		switch (opt) {
		case OPT_OUT:
			out_path = optarg;
			break;
		case OPT_RUN:
			run = optarg;
			break;
		case OPT_EXIT:
			if (cli_parse_uint(optarg, &night.exit_code) < 0 || night.exit_code > 255) {
				cli_usage_error(&cli, "--exit-code '%s': expected 0 to 255",
						optarg);
				goto out;
			}
			break;
		case OPT_STAGE:
			if (night.n_stages == MAX_STAGES) {
				cli_usage_error(&cli, "at most %d --stage options", MAX_STAGES);
				goto out;
			}
			if (parse_stage(optarg, &stages[night.n_stages]) < 0) {
				cli_usage_error(&cli, "%s", err_msg());
				goto out;
			}
			/* one sample a stage: a series given twice makes the whole
			 * file unreadable to node_exporter */
			for (size_t i = 0; i < night.n_stages; i++)
				if (!strcmp(stages[i].name, stages[night.n_stages].name)) {
					cli_usage_error(&cli, "--stage %s given twice",
							stages[i].name);
					goto out;
				}
			night.n_stages++;
			break;
		default:
			cli_usage_error(&cli, "unknown option");
			goto out;
		}
	}
	if (optind != argc) {
		cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!out_path) {
		cli_usage_error(&cli, "--out PATH is required");
		goto out;
	}
	if (date_now(&night.ended) < 0) {
		rc = US_EXIT_CONFIG;
		goto fail;
	}
	/* a night that ended 74 found its database corrupt: it is not read
	 * (a corrupt page ends the process at its first read, lib/db), and the
	 * file says the night's time and exit code */
	if (night.exit_code == US_EXIT_CORRUPT) {
		if ((rc = write_metrics(out_path, NULL, &night)) != US_EXIT_OK)
			goto fail;
		goto out;
	}
	/* a night that failed for its database is still told: the night's
	 * own families are written, and the exit code says the database's */
	if (db_open(cli.db_path, 0, &db) < 0) {
		int db_rc = db_exit_code(NULL);

		log_error("%s; writing the night's time and exit code only", err_msg());
		db = NULL;
		if ((rc = write_metrics(out_path, NULL, &night)) != US_EXIT_OK)
			goto fail;
		rc = db_rc;
		goto out;
	}
	rc = US_EXIT_DATAERR;
	if (run) {
		if (runstatus_resolve(db, run, run_id, sizeof(run_id)) < 0) {
			if (strncmp(err_msg(), "database:", 9) == 0)
				rc = db_exit_code(db);
			goto fail;
		}
		night.run_id = run_id;
	}
	if ((rc = write_metrics(out_path, db, &night)) != US_EXIT_OK)
		goto fail;
	goto out;
fail:
	log_error("%s", err_msg());
out:
	db_close(db);
	return rc;
}
