/*
 * unitsync-config - what the configuration file says, after the
 * environment overrides (unitsync-config(1)): `show` for people, `properties`
 * for the nightly shell pipeline.
 *
 * The client secret is never printed, only whether one is available.
 */
#include "cli.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "shard.h"
#include "stg.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync config show\n"
	"       unitsync config check [--offline]\n"
	"       unitsync config properties [--shard K/N] [--extract-options]\n"
	"\n"
	"Print the effective configuration: show for people, properties for scripts;\n"
	"check it.\n"
	"\n"
	"  show                     the [latch] settings (never the client secret itself) and\n"
	"                           each [property \"ID\"] section\n"
	"  check                    every problem of the file, each naming file, line and key;\n"
	"                           exit 0 none, 1 only some properties are bad, 78 the file\n"
	"                           cannot be used; without a file, the environment's [latch]\n"
	"                           settings; a property the state database (--db) does not\n"
	"                           have, when it exists, is bad (nightly.sh skips it)\n"
	"  --offline                check: the [latch] settings may be incomplete (no API call\n"
	"                           tonight: a dry run)\n"
	"  properties               one line per source of each good property: property_id,\n"
	"                           format, profile, path, tab-separated, paths absolute\n"
	"  --extract-options        properties: max_reject_percent and encoding ('-' unset)\n"
	"                           before the path\n"
	"  --shard K/N              properties: only those of shard K of N\n"
	"  --config FILE            configuration file (default $UNITSYNC_CONFIG)\n"
	"  --db PATH                check: state database (default $UNITSYNC_DB, else\n"
	"                           ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/*
 * Make PATH absolute (without resolving symbolic links) so that sources
 * relative to the configuration file's folder come out absolute: the
 * pipeline may run them from another directory.  Owned result.
 */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX];
	size_t n;
	char *s;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd))) {
		err_set("cannot find the current directory: %s", strerror(errno));
		return NULL;
	}
	n = strlen(cwd) + strlen(path) + 2;
	s = malloc(n);
	if (!s) {
		err_set("out of memory");
		return NULL;
	}
	snprintf(s, n, "%s/%s", cwd, path);
	return s;
}

static const char *or_unset(const char *s)
{
	return s && *s ? s : "unset";
}

static void config_show(struct config *c)
{
	const struct config_property *p;

	printf("config: %s\n", c->path);
	printf("base_url: %s\n", or_unset(c->base_url));
	printf("token_url: %s\n", or_unset(c->token_url));
	printf("client_id: %s\n", or_unset(c->client_id));
	printf("audience: %s\n", or_unset(c->audience));
	printf("page_size: %d%s\n", config_page_size(c), c->page_size ? "" : " (default)");
	printf("client_secret_file: %s\n", or_unset(c->client_secret_file));
	if (config_read_secret(c) == 0)
		printf("client_secret: set\n");
	else
		printf("client_secret: unset (%s)\n", err_msg());
	printf("smtp_url: %s\n", or_unset(c->smtp_url));
	printf("smtp_from: %s\n", or_unset(c->smtp_from));
	printf("smtp_user: %s\n", or_unset(c->smtp_user));
	printf("smtp_password_file: %s\n", or_unset(c->smtp_password_file));
	printf("smtp_ca_file: %s\n", or_unset(c->smtp_ca_file));
	printf("webhook_url: %s\n", c->webhook_url ? "set" : "unset");
	printf("webhook_secret_file: %s\n", or_unset(c->webhook_secret_file));
	printf("metrics_file: %s\n", or_unset(c->metrics_file));
	for (p = c->properties; p; p = p->next) {
		printf("\nproperty: %s\n", p->id);
		printf("format: %s\n", p->format);
		printf("profile: %s\n", p->profile);
		if (p->max_reject)
			printf("max_reject_percent: %s\n", p->max_reject);
		if (p->encoding)
			printf("encoding: %s\n", p->encoding);
		for (size_t i = 0; i < p->n_sources; i++)
			printf("source: %s\n", p->sources[i]);
		for (size_t i = 0; i < p->n_notify_email; i++)
			printf("notify_email: %s\n", p->notify_email[i]);
		if (p->notify_webhook)
			printf("notify_webhook: set\n");
		if (p->daily_summary)
			printf("notify_daily_summary: yes\n");
	}
}

/*
 * Tab-separated lines for `while IFS=<TAB> read -r id format profile path`,
 * good properties only (lib/config refused tabs and line breaks); a bad
 * one is named on stderr and left out: it fails alone.  OPTIONS
 * (--extract-options, for nightly.sh): the property's max_reject_percent
 * and encoding before the path, '-' when unset (a tab-separated read
 * merges empty fields).
 */
static int config_properties(const struct config *c, const struct shard *shard, int options)
{
	const struct config_property *p;

	for (p = c->properties; p; p = p->next) {
		if (p->problems) {
			log_warn("config '%s': property '%s' left out: its section has %d problem%s "
				 "(see 'unitsync config check')",
				 c->path, p->id, p->problems, p->problems == 1 ? "" : "s");
			continue;
		}
		for (size_t i = 0; i < p->n_sources && shard_has(shard, p->id); i++) {
			printf("%s\t%s\t%s\t", p->id, p->format, p->profile);
			if (options)
				printf("%s\t%s\t", p->max_reject ? p->max_reject : "-",
				       p->encoding ? p->encoding : "-");
			printf("%s\n", p->sources[i]);
		}
	}
	return US_EXIT_OK;
}

/* `config check`: every problem on stderr, a verdict per property on stdout. */
/*
 * What would keep a notification from going out, as warnings: never worth
 * stopping a night for (the exit code is not changed), but better said
 * now than found the morning a message did not come.
 */
static void notify_warnings(struct config *c)
{
	int no_smtp = !c->smtp_url || !c->smtp_from;

	if (c->operator_email && no_smtp)
		log_warn("config '%s': [notify] operator_email is set but smtp_url or smtp_from is "
			 "not: no failure will be e-mailed",
			 c->path);
	for (const struct config_property *p = c->properties; p; p = p->next)
		if (p->n_notify_email && no_smtp)
			log_warn("config '%s' line %d: [property \"%s\"] notify_email is set but "
				 "[notify] smtp_url or smtp_from is not: no digest will be e-mailed",
				 c->path, p->notify_line[0], p->id);
	/* the message names the file, line and key */
	if (config_read_notify_secrets(c) < 0)
		log_warn("%s: no notification will be sent", err_msg());
}

/*
 * The properties of DB that hold assignments and have no section in C,
 * as warnings: nightly.sh syncs nothing for them, night after night, and
 * their residents keep the keys they have (new-user report nu10: a section
 * dropped from the file went unnoticed).  Not a problem of the file: a
 * property may be run from another configuration (a shard's).
 */
static void check_unconfigured(struct config *c, sqlite3 *db, const char *db_path)
{
	sqlite3_stmt *st = NULL;

	if (db_prepare(db,
		       "SELECT property_id, count(*) FROM assignment GROUP BY property_id "
		       "ORDER BY property_id",
		       &st) < 0) {
		log_warn("%s: the state database's properties are not checked against '%s'",
			 err_msg(), c->path);
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = db_col_text(st, 0);
		const struct config_property *p = c->properties;

		while (p && strcmp(p->id, id))
			p = p->next;
		if (!p)
			log_warn("config '%s': property '%s' of the state database '%s' holds %d "
				 "assignment%s and has no [property] section: nightly.sh syncs "
				 "nothing for it, and its residents keep the keys they have",
				 c->path ? c->path : "(none)", id, db_path,
				 sqlite3_column_int(st, 1),
				 sqlite3_column_int(st, 1) == 1 ? "" : "s");
	}
	sqlite3_finalize(st);
}

/*
 * The properties of C that the state database DB_PATH does not have, as
 * problems of their sections: nightly.sh skips them ("configured but not
 * in the state database") and exits 78; and those it has, with
 * assignments, that C does not configure (check_unconfigured()).  Nothing
 * when there is no database there yet (`unitsync init` makes it); one
 * that cannot be read is warned of, its properties left unchecked.
 */
static void check_known(struct config *c, const char *db_path)
{
	struct stat st;
	sqlite3 *db = NULL;

	if (stat(db_path, &st) != 0)
		return;
	if (db_open(db_path, 0, &db) < 0) {
		log_warn("%s: the properties are not checked against it", err_msg());
		return;
	}
	for (struct config_property *p = c->properties; p; p = p->next) {
		int known = stg_property_known(db, p->id);
		char fix[512];
		const char *paren;

		if (known == -1) {
			log_warn("%s: the properties are not checked against '%s'", err_msg(),
				 db_path);
			break;
		}
		if (known != -2)
			continue;
		/* stg_property_unknown()'s advice, as every program gives it: a
		 * known id one typo away, else the command that adds it (nu8:
		 * nightly.sh said "did you mean", config check did not) */
		paren = strstr(err_msg(), " (");
		snprintf(fix, sizeof(fix), "%s", paren ? paren : "");
		if (config_property_problem(c, p,
					    "[property \"%s\"] is not a property of the state "
					    "database '%s'%s: nightly.sh skips it",
					    p->id, db_path, fix) < 0)
			break;
	}
	check_unconfigured(c, db, db_path);
	db_close(db);
}

static int config_check(struct config *c, int offline, const char *db_path)
{
	int bad = 0, left_out = 0, n = 0;

	check_known(c, db_path);
	config_check_paths(c);
	if (!offline)
		config_check_latch(c);
	for (const struct config_problem *pr = c->problems; pr; pr = pr->next)
		log_error("%s", pr->message);
	if (!c->fatal)
		notify_warnings(c);
	for (const struct config_property *p = c->properties; p; p = p->next) {
		printf("property %s: %s\n", p->id,
		       p->problems ? "BAD (left out tonight)"
		       : p->path_problems
			       ? "BAD SOURCE (extract refuses it tonight: nothing removed)"
			       : "ok");
		bad += p->problems || p->path_problems;
		left_out += p->problems != 0;
		n++;
	}
	/* every [property] section left out: nightly.sh has nothing to run
	 * (its 78); a file of no section at all may serve the other programs */
	if (!c->fatal && n && left_out == n) {
		log_error("every [property] section is bad: nightly.sh has nothing to run");
		c->fatal = 1;
	}
	if (c->path)
		printf("config '%s': ", c->path);
	else
		printf("config (no file, the environment only): ");
	printf("%s\n", c->fatal ? "cannot be used (nothing runs)"
		       : bad    ? "usable; the bad properties fail alone"
				: "ok");
	return c->fatal ? US_EXIT_CONFIG : bad ? US_EXIT_FAILED : US_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const char *const verbs[] = { "show", "check", "properties", NULL };
	static const struct option opts[] = {
		{ "shard", required_argument, NULL, 'k' },
		{ "offline", no_argument, NULL, 'o' },
		{ "extract-options", no_argument, NULL, 'x' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct shard shard = { 0, 0 };
	struct config c = { 0 };
	char *path = NULL;
	const char *verb;
	int rc = US_EXIT_USAGE, opt, offline = 0, options = 0;

	cli_common_init(&cli, "unitsync-config", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int k;

		if (opt == 'o') {
			offline = 1;
			continue;
		}
		if (opt == 'x') {
			options = 1;
			continue;
		}
		if (opt == 'k') {
			if (shard_parse(optarg, &shard) < 0) {
				cli_usage_error(&cli, "--shard: %s", err_msg());
				goto out;
			}
			continue;
		}
		k = cli_common_option(&cli, opt, optarg);
		if (k == 1)
			rc = US_EXIT_OK;
		if (k != 0)
			goto out;
	}
	verb = cli_check_verb(&cli, optind < argc ? argv[optind++] : NULL, verbs);
	if (!verb)
		goto out;
	if (optind < argc) {
		cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	rc = US_EXIT_CONFIG;
	/* a rerun may run on the environment's settings alone: check those */
	if ((!cli.config_path || !*cli.config_path) && strcmp(verb, "check") != 0) {
		log_error("no configuration file (use --config or UNITSYNC_CONFIG)");
		goto out;
	}
	if (cli.config_path && *cli.config_path && !(path = absolute(cli.config_path))) {
		log_error("%s", err_msg());
		goto out;
	}
	if (config_load(&c, path) < 0) {
		/* check reports every problem; the others stop at the first */
		if (!strcmp(verb, "check") && c.problems)
			rc = config_check(&c, offline, cli.db_path);
		else if (c.problems)
			for (const struct config_problem *pr = c.problems; pr; pr = pr->next)
				log_error("%s", pr->message);
		else
			log_error("%s", err_msg());
		goto out;
	}
	if (!strcmp(verb, "check")) {
		rc = config_check(&c, offline, cli.db_path);
	} else if (!strcmp(verb, "show")) {
		config_show(&c);
		rc = US_EXIT_OK;
	} else {
		rc = config_properties(&c, &shard, options);
	}
out:
	config_release(&c);
	free(path);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
