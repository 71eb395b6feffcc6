/*
 * unitsync - the git-style driver: `unitsync [--db PATH] [--config FILE]
 * [--log-format F] COMMAND [ARGS...]` runs `unitsync-COMMAND` from the
 * driver's own directory, handing it the global options.
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
#include "exitcode.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync [--db PATH] [--config FILE] [--log-format text|json] COMMAND [ARGS...]\n"
	"\n"
	"Keep a property manager's PMS residents and Latch units in step.\n"
	"\n"
	"commands:\n"
	"  init                     create or migrate the state database\n"
	"  property add|set|show|list   per-property settings\n"
	"  config show|properties   what the configuration file says\n"
	"  extract-csv FILE...      stage CSV exports\n"
	"  extract-xml FILE...      stage XML exports\n"
	"  snapshots list|show|prune|export   staged snapshots\n"
	"  map add|remove|list|import|export|suggest|unmapped   PMS unit -> Latch unit mapping\n"
	"  units list|create|import-csv|import-pms   Latch units\n"
	"  transform                write a run directory (delta, exceptions, manifest)\n"
	"  load RUN_DIR             apply a run to the Latch API\n"
	"  approve RUN_DIR          release a run held by the safety guard\n"
	"  report RUN_DIR           summarise a run for people and auditors (--html FILE)\n"
	"  verify RUN_DIR           check a run directory is complete and unchanged\n"
	"  runs list|show           the run history\n"
	"  explain --property P --person ID   every delta that touched a person, and why\n"
	"\n"
	"Each command has its own --help and man page (unitsync-COMMAND(1)).\n"
	"--db PATH defaults to $UNITSYNC_DB, else ./unitsync.db; --config FILE to $UNITSYNC_CONFIG.\n";

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
	char self[PATH_MAX], target[PATH_MAX];
	const char *global[16];
	char **args = NULL, *wrapper = NULL, *wrap[MAX_WRAPPER_WORDS];
	const char *wrapper_env = getenv("UNITSYNC_EXEC_WRAPPER");
	int nglobal = 0, i = 1, nwrap = 0;
	int rc = US_EXIT_USAGE;
	ssize_t n;

	/* global options come before the command */
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return US_EXIT_OK;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("unitsync %s\n", UNITSYNC_VERSION);
			return US_EXIT_OK;
		}
		/* --db PATH and --db=PATH, likewise --config and --log-format */
		if (nglobal + 2 > (int)(sizeof(global) / sizeof(global[0]))) {
			fprintf(stderr, "unitsync: too many global options\n%s", usage);
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
						fprintf(stderr,
							"unitsync: option '%s' needs a value\n%s",
							argv[i], usage);
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
		fprintf(stderr, "unitsync: unknown global option '%s'\n%s", argv[i], usage);
		goto out;
	}
	if (i >= argc) {
		fprintf(stderr, "unitsync: no command given\n%s", usage);
		goto out;
	}
	if (strchr(argv[i], '/') || argv[i][0] == '.') {
		fprintf(stderr, "unitsync: '%s' is not a unitsync command\n%s", argv[i], usage);
		goto out;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		fprintf(stderr, "unitsync: cannot find my own directory: %s\n", strerror(errno));
		rc = US_EXIT_CONFIG;
		goto out;
	}
	self[n] = '\0';
	snprintf(target, sizeof(target), "%s/unitsync-%s", dirname(self), argv[i]);
	if (access(target, X_OK) != 0) {
		fprintf(stderr, "unitsync: '%s' is not a unitsync command\n%s", argv[i], usage);
		goto out;
	}
	if (wrapper_env && *wrapper_env) {
		wrapper = strdup(wrapper_env);
		if (!wrapper) {
			fprintf(stderr, "unitsync: out of memory\n");
			rc = US_EXIT_TEMPFAIL;
			goto out;
		}
		nwrap = split_wrapper(wrapper, wrap);
		if (nwrap < 0) {
			fprintf(stderr, "unitsync: UNITSYNC_EXEC_WRAPPER has more than %d words\n",
				MAX_WRAPPER_WORDS);
			rc = US_EXIT_CONFIG;
			goto out;
		}
	}
	args = calloc((size_t)nwrap + (size_t)(argc - i) + (size_t)nglobal + 1, sizeof(*args));
	if (!args) {
		fprintf(stderr, "unitsync: out of memory\n");
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
		for (int j = i + 1; j < argc; j++)
			args[k++] = argv[j];
		args[k] = NULL;
	}
	if (nwrap > 0)
		execvp(args[0], args);
	else
		execv(target, args);
	fprintf(stderr, "unitsync: cannot run '%s': %s\n", args[0], strerror(errno));
	rc = US_EXIT_CONFIG;
out:
	free(args);
	free(wrapper);
	return rc;
}
