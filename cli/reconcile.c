/*
 * unitsync-reconcile - the live Latch state of a property's building
 * against tonight's decision and unitsync's ledger (unitsync-reconcile(1);
 * issue 19).
 *
 * Reads every unit of the building, every resident of each (all pages)
 * and each resident's user through lib/latchunits, the client, retries
 * and token handling load uses; compares them in lib/reconcile; writes
 * DIR/reconcile.csv and DIR/SHA256SUMS (through lib/durable and
 * lib/rundir, as a run directory's), prints a line per kind.  Nothing is
 * changed, in Latch or in the state database.
 */
#include "cli.h"
#include "config.h"
#include "db.h"
#include "durable.h"
#include "err.h"
#include "exitcode.h"
#include "latch.h"
#include "latchunits.h"
#include "log.h"
#include "progress.h"
#include "reconcile.h"
#include "rundir.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync reconcile --property P [--out DIR]\n"
	"\n"
	"Compare the live Latch state of a property's building with tonight's decision and\n"
	"unitsync's ledger; write DIR/reconcile.csv and DIR/SHA256SUMS. Exit 0: Latch matches;\n"
	"1: drift found.\n"
	"\n"
	"  --property P             the property\n"
	"  --out DIR                where reconcile.csv goes (default ./reconcile)\n"
	"  --config FILE            Latch settings (default $UNITSYNC_CONFIG)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/* Write DIR/reconcile.csv and DIR/SHA256SUMS; -1 with err_set(). */
static int write_files(struct reconcile *rc, const char *dir)
{
	static const char *const names[] = { "reconcile.csv" };
	struct dur_file f;
	char path[PATH_MAX];

	if (dur_mkdir(dir, 0750) < 0 || rundir_dir_trusted(dir) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/reconcile.csv", dir);
	if (dur_open(&f, path, 0640) < 0)
		return -1;
	if (reconcile_write_csv(rc, f.fp) < 0) {
		dur_abort(&f);
		return -1;
	}
	if (dur_commit(&f) < 0)
		return -1;
	return rundir_write_sums(dir, names, 1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct config cfg = { 0 };
	struct reconcile rc = { 0 };
	struct latch api;
	struct progress progress;
	enum latchunits_status st;
	const char *property = NULL, *out_dir = "reconcile";
	long drift = 0;
	int ret = US_EXIT_USAGE, opt, api_ready = 0, e;
	sqlite3 *db = NULL;

	cli_common_init(&cli, "unitsync-reconcile", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		switch (opt) {
		case 'p':
			property = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				ret = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	if (optind != argc) {
		cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!property || !*property) {
		cli_usage_error(&cli, "--property is required");
		goto out;
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		ret = db_exit_code(NULL);
		goto out;
	}
	e = reconcile_begin(&rc, db, property);
	if (e != 0) {
		if (e < 0)
			log_error("%s", err_msg());
		else if (e == 1)
			log_error("unknown property '%s' (add it with 'unitsync property add')",
				  property);
		else
			log_error("property '%s' has no Latch building (set it with 'unitsync "
				  "property set %s --latch-building UUID')",
				  property, property);
		ret = e < 0 ? db_exit_code(db) : e == 1 ? US_EXIT_DATAERR : US_EXIT_CONFIG;
		goto out;
	}
	ret = US_EXIT_CONFIG;
	if (config_load(&cfg, cli.config_path) < 0 || config_require_latch(&cfg) < 0 ||
	    latch_init(&api, &cfg) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	api_ready = 1;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	st = reconcile_read_latch(&rc, &api, &progress);
	if (st != LATCHUNITS_OK) {
		ret = latchunits_exit_code(st);
		log_error("%s; nothing was compared%s", err_msg(),
			  ret == US_EXIT_TEMPFAIL ? ": rerun later" : "");
		goto out;
	}
	if (reconcile_compare(&rc) < 0 || write_files(&rc, out_dir) < 0) {
		log_error("%s", err_msg());
		ret = db_exit_code(db);
		goto out;
	}
	printf("property %s, Latch building %s: %ld units, %ld residents, %ld users read; "
	       "decision: %s%s\n",
	       property, rc.building, rc.units, rc.residents, rc.users,
	       *rc.run_id ? "run " : "no run yet", rc.run_id);
	for (int k = 0; k < RECONCILE_N_KINDS; k++) {
		printf("%s: %ld\n", reconcile_kinds[k], rc.counts[k]);
		drift += rc.counts[k];
	}
	printf("%s/reconcile.csv\n", out_dir);
	ret = drift ? US_EXIT_FAILED : US_EXIT_OK;
out:
	if (api_ready)
		latch_release(&api);
	reconcile_release(&rc);
	db_close(db);
	config_release(&cfg);
	if (fclose(stdout) != 0 && ret == US_EXIT_OK)
		ret = US_EXIT_CONFIG;
	return ret;
}
