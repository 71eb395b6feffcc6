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
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

/* --reconcile files at most: one a property of a large night */
#define MAX_RECONCILE 1024

static const char usage[] =
	"usage: unitsync notify RUN_DIR [--dry-run] [--resend] [--max-attempts N] [--reconcile FILE]...\n"
	"       unitsync notify --job-failed NAME --exit-code N [--log FILE] [--dry-run]\n"
	"\n"
	"Send each property of a run its digest (what changed, what needs a person) as the\n"
	"configuration's [notify] section and notify_ keys say; once a night per property.\n"
	"With --job-failed, tell the operators (operator_email, webhook_url) that a job failed.\n"
	"\n"
	"  --dry-run                print each message instead of sending it; record nothing\n"
	"  --resend                 send even what was sent before for that night\n"
	"  --reconcile FILE         a reconcile.csv of the night: its drift in the digests\n"
	"  --job-failed NAME        the job (systemd unit, cron job) that failed\n"
	"  --exit-code N            its exit code (unitsync-nightly(1))\n"
	"  --log FILE               its last log lines, to quote (- for standard input)\n"
	"  --max-attempts N         tries of one delivery while it fails transiently (default 4)\n"
	"  --config FILE            configuration file (default $UNITSYNC_CONFIG)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/* The last 64 KiB of the log at PATH ("-": standard input) into *TEXT; 0 or -1. */
static int read_log(const char *path, char **text)
{
	enum {
		KEEP = 64 * 1024
	};
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = malloc(KEEP + 1);
	size_t len = 0, n;

	*text = NULL;
	if (!fp || !buf) {
		err_set("cannot read the log '%s': %s", path,
			fp ? "out of memory" : strerror(errno));
		free(buf);
		if (fp && fp != stdin)
			fclose(fp);
		return -1;
	}
	/* keep the tail: shift out the oldest half when full */
	while ((n = fread(buf + len, 1, KEEP - len, fp)) > 0) {
		len += n;
		if (len == KEEP) {
			memmove(buf, buf + KEEP / 2, KEEP / 2);
			len = KEEP / 2;
		}
	}
	/* a NUL would end the quoted log early, before its last lines */
	for (size_t i = 0; i < len; i++)
		if (!buf[i])
			buf[i] = '?';
	buf[len] = '\0';
	if (fp != stdin)
		fclose(fp);
	*text = buf;
	return 0;
}

/* --job-failed: tell the operators; the exit code of the command. */
static int job_failed(const struct cli_common *cli, struct config *cfg, const char *job,
		      int exit_code, const char *log_path, const struct notify_opts *o,
		      char **log_text)
{
	struct notify_counts n;
	sqlite3 *db = NULL;
	int rc = US_EXIT_CONFIG;

	if (log_path && read_log(log_path, log_text) < 0) {
		log_error("%s", err_msg());
		return US_EXIT_CONFIG;
	}
	/* the failure may be the database's: tell it anyway, unrecorded */
	if (access(cli->db_path, F_OK) != 0 || db_open(cli->db_path, 0, &db) < 0) {
		log_warn("no usable state database at '%s': the notice is sent but not recorded",
			 cli->db_path);
		db = NULL;
	}
	if (notify_job_failure(db, cfg, job, exit_code, *log_text, o, &n) < 0) {
		log_error("%s", err_msg());
		rc = strncmp(err_msg(), "database:", 9) ? US_EXIT_CONFIG : db_exit_code(db);
	} else {
		rc = n.failed ? US_EXIT_FAILED : US_EXIT_OK;
	}
	db_close(db);
	return rc;
}

int main(int argc, char **argv)
{
	enum {
		OPT_DRY_RUN = 1000,
		OPT_RESEND,
		OPT_ATTEMPTS,
		OPT_JOB,
		OPT_EXIT,
		OPT_LOG,
		OPT_RECON
	};
	static const struct option opts[] = {
		CLI_COMMON_OPTIONS,
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "resend", no_argument, NULL, OPT_RESEND },
		{ "max-attempts", required_argument, NULL, OPT_ATTEMPTS },
		{ "job-failed", required_argument, NULL, OPT_JOB },
		{ "exit-code", required_argument, NULL, OPT_EXIT },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "reconcile", required_argument, NULL, OPT_RECON },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	const char *recon[MAX_RECONCILE];
	struct notify_opts o = { .max_attempts = 4, .reconcile = recon };
	struct notify_counts n;
	struct config cfg = { 0 };
	const char *job = NULL, *log_path = NULL;
	char run_id[256], *log_text = NULL;
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, opt, exit_code = -1;

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
		case OPT_JOB:
			job = optarg;
			break;
		case OPT_EXIT:
			if (cli_parse_uint(optarg, &exit_code) < 0 || exit_code > 255) {
				cli_usage_error(&cli, "--exit-code '%s': expected 0 to 255",
						optarg);
				goto out;
			}
			break;
		case OPT_LOG:
			log_path = optarg;
			break;
		case OPT_RECON:
			if (o.n_reconcile == MAX_RECONCILE) {
				cli_usage_error(&cli, "at most %d --reconcile files",
						MAX_RECONCILE);
				goto out;
			}
			recon[o.n_reconcile++] = optarg;
			break;
		default:
			cli_usage_error(&cli, "unknown option");
			goto out;
		}
	}
	if (job ? optind != argc || exit_code < 0
		: optind + 1 != argc || exit_code >= 0 || log_path) {
		cli_usage_error(&cli, job ? "--job-failed needs --exit-code, and no RUN_DIR"
					  : "expected one RUN_DIR (--exit-code and --log go with "
					    "--job-failed)");
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
	if (job) {
		rc = job_failed(&cli, &cfg, job, exit_code, log_path, &o, &log_text);
		goto out;
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
		log_info("run %s: %ld sent%s, %ld sent before, %ld failed, %ld with nothing to tell, "
			 "%ld with no recipient",
			 run_id, n.sent, o.dry_run ? " (dry run: printed)" : "", n.already,
			 n.failed, n.quiet, n.unaddressed);
	else if (n.unaddressed && config_notify_configured(&cfg))
		/* silence would read as "nothing needed a person"; without any
		 * notification configured it is the operator's choice */
		log_warn("run %s: none of its %ld properties has a recipient (notify_email with "
			 "[notify] smtp_url and smtp_from, notify_webhook, or [notify] webhook_url): "
			 "no message",
			 run_id, n.unaddressed);
	rc = n.failed ? US_EXIT_FAILED : US_EXIT_OK;
	goto out;
fail:
	log_error("%s", err_msg());
out:
	db_close(db);
	config_release(&cfg);
	free(log_text);
	if (fflush(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
