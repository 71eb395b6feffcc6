/*
 * unitsync-notify - tell each property's people what a run needs of them
 * (issue 20): a digest per property by e-mail (and webhook), at most once
 * a night.  nightly.sh runs it after load; an operator may run it by hand.
 * What is sent and when: lib/notify.h and lib/digest.h.
 */
#include "cli.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "notify.h"
#include "runstatus.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: unitsync notify RUN_DIR [--dry-run] [--resend] [--max-attempts N]\n"
	"\n"
	"Send each property of a run its digest (what changed, what needs a person) as the\n"
	"configuration's [notify] section and notify_ keys say; once a night per property.\n"
	"\n"
	"  --dry-run                print each message instead of sending it; record nothing\n"
	"  --resend                 send even what was sent before for that night\n"
	"  --max-attempts N         tries of one delivery while it fails transiently (default 4)\n"
	"  --config FILE            configuration file (default $UNITSYNC_CONFIG)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

int main(int argc, char **argv)
{
	enum {
		OPT_DRY_RUN = 1000,
		OPT_RESEND,
		OPT_ATTEMPTS
	};
	static const struct option opts[] = {
		CLI_COMMON_OPTIONS,
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "resend", no_argument, NULL, OPT_RESEND },
		{ "max-attempts", required_argument, NULL, OPT_ATTEMPTS },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct notify_opts o = { .max_attempts = 4 };
	struct notify_counts n;
	struct config cfg = { 0 };
	char run_id[256];
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-notify", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c = cli_common_option(&cli, opt, optarg);

		if (c == 1)
			rc = US_EXIT_OK;
		if (c > 0)
			goto out;
		if (c == 0)
			continue;
		switch (opt) {
		case OPT_DRY_RUN:
			o.dry_run = 1;
			break;
		case OPT_RESEND:
			o.resend = 1;
			break;
		case OPT_ATTEMPTS:
			if (cli_parse_uint(optarg, &o.max_attempts) < 0 || o.max_attempts < 1 ||
			    o.max_attempts > 100) {
				cli_usage_error(&cli, "--max-attempts '%s': expected 1 to 100",
						optarg);
				goto out;
			}
			break;
		default:
			cli_usage_error(&cli, "unknown option");
			goto out;
		}
	}
	if (optind + 1 != argc) {
		cli_usage_error(&cli, "expected one RUN_DIR");
		goto out;
	}
	rc = US_EXIT_CONFIG;
	if (!cli.config_path) {
		log_error("no configuration file (use --config or UNITSYNC_CONFIG): it says who to "
			  "notify");
		goto out;
	}
	if (config_load(&cfg, cli.config_path) < 0)
		goto fail;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		err_set("cannot initialise libcurl");
		goto fail;
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		rc = db_exit_code(NULL);
		goto fail;
	}
	if (runstatus_resolve(db, argv[optind], run_id, sizeof(run_id)) < 0) {
		rc = strncmp(err_msg(), "database:", 9) ? US_EXIT_DATAERR : db_exit_code(db);
		goto fail;
	}
	if (notify_run(db, &cfg, run_id, &o, &n) < 0) {
		rc = strncmp(err_msg(), "database:", 9) ? US_EXIT_CONFIG : db_exit_code(db);
		goto fail;
	}
	if (n.sent + n.already + n.failed + n.quiet)
		log_info("run %s: %ld sent%s, %ld sent before, %ld failed, %ld with nothing to tell",
			 run_id, n.sent, o.dry_run ? " (dry run: printed)" : "", n.already,
			 n.failed, n.quiet);
	rc = n.failed ? US_EXIT_FAILED : US_EXIT_OK;
	goto out;
fail:
	log_error("%s", err_msg());
out:
	db_close(db);
	config_release(&cfg);
	if (fflush(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
