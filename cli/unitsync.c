/*
 * unitsync - the git-style driver: `unitsync [--db PATH] [--config FILE]
 * [--log-format F] COMMAND [ARGS...]` runs `unitsync-COMMAND` from the
 * driver's own directory, handing it the global options.  `unitsync help`
 * is --help; `unitsync help COMMAND` runs COMMAND --help.  A word that is
 * no command is refused naming the nearest one (cli_did_you_mean()).
 *
 * Testing hook: when UNITSYNC_EXEC_WRAPPER is set and not empty, its words
 * (split on blanks; no shell is involved, so nothing in it is expanded or
 * quoted) are put before the command's path and the first word is looked
 * up in PATH.  `make valgrind-check` sets it to a valgrind command line so
 * that a program run through the driver is checked too.  It is meant for
 * tests only: whoever sets a program's environment can already choose what
 * it runs (PATH), so it opens no new door (docs/SECURITY.md).
 */
#include "cli.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The commands, in the order --help lists them: NAME runs unitsync-NAME
 * (but "help", which the driver answers itself).  t0010 checks that every
 * program in bin/ is here with every verb of its own synopsis, and that
 * nothing here lacks a program.
 */
static const struct command {
	const char *name;    /* the word after "unitsync" */
	const char *args;    /* its verbs or arguments, for --help */
	const char *summary; /* what it does, for --help */
} commands[] = {
	{ "init", "", "create or migrate the state database" },
	{ "property", "add|set|show|list", "per-property settings" },
	{ "config", "show|check|properties", "what the configuration file says" },
	{ "extract-csv", "FILE...", "stage CSV exports" },
	{ "extract-xml", "FILE...", "stage XML exports" },
	{ "extract", "LIST", "stage the exports a list names, in one process" },
	{ "snapshots", "list|show|prune|export", "staged snapshots" },
	{ "map", "add|remove|list|import|export|suggest|unmapped|history",
	  "PMS unit -> Latch unit mapping" },
	{ "units", "list|create|import-csv|import-pms", "Latch units" },
	{ "transform", "", "write a run directory (delta, exceptions, manifest)" },
	{ "load", "RUN_DIR", "apply a run to the Latch API" },
	{ "approve", "RUN_DIR", "release a run held by the safety guard" },
	{ "report", "RUN_DIR", "summarise a run for people and auditors (--html FILE)" },
	{ "verify", "RUN_DIR", "check a run directory is complete and unchanged" },
	{ "replay", "RUN_DIR", "rebuild a past run and compare it with its files" },
	{ "runs", "list|show", "the run history" },
	{ "explain", "--property P --person ID",
	  "what happened to a person night by night, and why" },
	{ "reconcile", "--property P",
	  "compare the live Latch state with the decision and ledger" },
	{ "notify", "RUN_DIR", "send each property's digest of a run (e-mail, webhook)" },
	{ "metrics", "--out PATH", "the night's outcome as a Prometheus text file" },
	{ "help", "[COMMAND]", "this list, or COMMAND's --help" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Width of the "NAME ARGS" column of the command list. */
#define COMMAND_COLUMN 25

/* The driver's usage and command list onto F. */
static void usage(FILE *f)
{
	fputs("usage: unitsync [--db PATH] [--config FILE] [--log-format text|json] COMMAND [ARGS...]\n"
	      "\n"
	      "Keep a property manager's PMS residents and Latch units in step.\n"
	      "\n"
	      "commands:\n",
	      f);
	for (size_t k = 0; k < NCOMMANDS; k++) {
		char left[128];
		int n = snprintf(left, sizeof(left), "%s%s%s", commands[k].name,
				 *commands[k].args ? " " : "", commands[k].args);

		if (n < COMMAND_COLUMN)
			fprintf(f, "  %-*s %s\n", COMMAND_COLUMN, left, commands[k].summary);
		else
			fprintf(f, "  %s\n  %-*s %s\n", left, COMMAND_COLUMN, "",
				commands[k].summary);
	}
	fputs("\n"
	      "Each command has its own --help (or -h) and man page (unitsync-COMMAND(1));\n"
	      "'unitsync help COMMAND' is COMMAND's --help.\n"
	      "--db PATH defaults to $UNITSYNC_DB, else ./unitsync.db; --config FILE to $UNITSYNC_CONFIG.\n",
	      f);
}

/* Whether NAME is one of the commands. */
static int is_command(const char *name)
{
	for (size_t k = 0; k < NCOMMANDS; k++)
		if (!strcmp(name, commands[k].name))
			return 1;
	return 0;
}

/* What follows a driver error in text: nothing, a hint, or the whole usage. */
enum after {
	NO_HINT,
	HINT,
	USAGE,
};

/*
 * A driver error on stderr: "unitsync: MESSAGE" and what AFTER says, or
 * with JSON logs (--log-format json or $UNITSYNC_LOG_FORMAT, read by
 * cli_common_init()) one JSON line holding the message and the hint.
 */
static void fail(enum after after, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(enum after after, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_get_format() == LOG_JSON) {
		log_error("%s%s", msg, after == NO_HINT ? "" : " (usage: see 'unitsync --help')");
		return;
	}
	fprintf(stderr, "unitsync: %s\n", msg);
	if (after == HINT)
		fputs("usage: see 'unitsync --help'\n", stderr);
	else if (after == USAGE)
		usage(stderr);
}

/* "unknown command 'NAME' (did you mean 'X'?)" and the hint, on stderr. */
static void unknown_command(const char *name)
{
	const char *names[NCOMMANDS + 1];
	char hint[128];

	for (size_t k = 0; k < NCOMMANDS; k++)
		names[k] = commands[k].name;
	names[NCOMMANDS] = NULL;
	cli_did_you_mean(name, names, hint, sizeof(hint));
	fail(HINT, "unknown command '%s'%s", name, hint);
}

/* Most words UNITSYNC_EXEC_WRAPPER may hold. */
#define MAX_WRAPPER_WORDS 64

/*
 * Split WRAPPER (a copy the caller frees) into WORDS at blanks; returns
 * how many, or -1 when there are more than MAX_WRAPPER_WORDS.
 */
static int split_wrapper(char *wrapper, char *words[MAX_WRAPPER_WORDS])
{
	char *save = NULL;
	int n = 0;

	for (char *w = strtok_r(wrapper, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		if (n == MAX_WRAPPER_WORDS)
			return -1;
		words[n++] = w;
	}
	return n;
}

int main(int argc, char **argv)
{
	char target[PATH_MAX];
	const char *global[16];
	char **args = NULL, *wrapper = NULL, *wrap[MAX_WRAPPER_WORDS];
	const char *wrapper_env = getenv("UNITSYNC_EXEC_WRAPPER");
	const char *name;
	int nglobal = 0, i = 1, nwrap = 0, help = 0;
	int rc = US_EXIT_USAGE;
	struct cli_common cli;

	/* only for the log format of the driver's own errors */
	cli_common_init(&cli, "unitsync", "");

	/* global options come before the command */
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return US_EXIT_OK;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("unitsync %s\n", UNITSYNC_VERSION);
			return US_EXIT_OK;
		}
		/* --db PATH and --db=PATH, likewise --config and --log-format */
		if (nglobal + 2 > (int)(sizeof(global) / sizeof(global[0]))) {
			fail(USAGE, "too many global options");
			goto out;
		}
		{
			static const char *const names[] = { "--db", "--config", "--log-format" };
			int matched = 0;

			for (int k = 0; k < 3 && !matched; k++) {
				size_t n = strlen(names[k]);

				if (strncmp(argv[i], names[k], n) != 0)
					continue;
				if (argv[i][n] == '=') {
					global[nglobal++] = argv[i];
					i++;
					matched = 1;
				} else if (!argv[i][n]) {
					if (i + 1 >= argc) {
						fail(USAGE, "option '%s' needs a value", argv[i]);
						goto out;
					}
					global[nglobal++] = argv[i];
					global[nglobal++] = argv[i + 1];
					i += 2;
					matched = 1;
				}
			}
			if (matched)
				continue;
		}
		fail(USAGE, "unknown global option '%s'", argv[i]);
		goto out;
	}
	if (i >= argc) {
		fail(USAGE, "no command given");
		goto out;
	}
	name = argv[i];
	/* "help" alone is --help; "help COMMAND" runs COMMAND --help */
	if (!strcmp(name, "help")) {
		if (i + 2 < argc) {
			fail(HINT, "help takes one command, not also '%s'", argv[i + 2]);
			goto out;
		}
		if (i + 1 >= argc || !strcmp(argv[i + 1], "help")) {
			usage(stdout);
			rc = US_EXIT_OK;
			goto out;
		}
		name = argv[i + 1];
		help = 1;
	}
	if (strchr(name, '/') || name[0] == '.' || name[0] == '-') {
		unknown_command(name);
		goto out;
	}
	if (cli_program_path(name, target, sizeof(target)) < 0) {
		fail(NO_HINT, "%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	if (access(target, X_OK) != 0) {
		if (is_command(name)) {
			/* a broken installation, not a typing error */
			fail(NO_HINT, "command '%s' is not installed: cannot run '%s': %s", name,
			     target, strerror(errno));
			rc = US_EXIT_CONFIG;
		} else {
			unknown_command(name);
		}
		goto out;
	}
	if (wrapper_env && *wrapper_env) {
		wrapper = strdup(wrapper_env);
		if (!wrapper) {
			fail(NO_HINT, "out of memory");
			rc = US_EXIT_TEMPFAIL;
			goto out;
		}
		nwrap = split_wrapper(wrapper, wrap);
		if (nwrap < 0) {
			fail(NO_HINT, "UNITSYNC_EXEC_WRAPPER has more than %d words",
			     MAX_WRAPPER_WORDS);
			rc = US_EXIT_CONFIG;
			goto out;
		}
	}
	/* the wrapper, the command, the global options, its words (or --help), NULL */
	args = calloc((size_t)nwrap + (size_t)(argc - i) + (size_t)nglobal + 2, sizeof(*args));
	if (!args) {
		fail(NO_HINT, "out of memory");
		rc = US_EXIT_TEMPFAIL;
		goto out;
	}
	for (int j = 0; j < nwrap; j++)
		args[j] = wrap[j];
	args[nwrap] = target;
	/* global options first, so that a "--" among the command's words stays last */
	{
		int k = nwrap + 1;

		for (int j = 0; j < nglobal; j++)
			args[k++] = (char *)global[j];
		if (help)
			args[k++] = "--help";
		else
			for (int j = i + 1; j < argc; j++)
				args[k++] = argv[j];
		args[k] = NULL;
	}
	if (nwrap > 0)
		execvp(args[0], args);
	else
		execv(target, args);
	fail(NO_HINT, "cannot run '%s': %s", args[0], strerror(errno));
	rc = US_EXIT_CONFIG;
out:
	free(args);
	free(wrapper);
	return rc;
}
