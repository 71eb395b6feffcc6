/*
 * cli.h - the options every unitsync program shares (unitsync(1), OPTIONS).
 *
 *   --db PATH          state database (default $UNITSYNC_DB, else ./unitsync.db)
 *   --config FILE      configuration file (default $UNITSYNC_CONFIG)
 *   --log-format F     text | json
 *   --help (-h), --version
 *
 * A program lists CLI_COMMON_OPTIONS in its getopt_long table, passes
 * CLI_SHORT_OPTIONS as getopt_long's short options, and passes every
 * option it does not handle itself to cli_common_option().
 */
#ifndef UNITSYNC_CLI_H
#define UNITSYNC_CLI_H

#include <getopt.h>
#include <stdio.h>

#define UNITSYNC_VERSION "0.1.0"

/* getopt_long codes of the shared options (outside the ASCII range). */
enum cli_opt {
	CLI_OPT_DB = 0x1000,
	CLI_OPT_CONFIG,
	CLI_OPT_LOG_FORMAT,
	CLI_OPT_HELP,
	CLI_OPT_VERSION,
};

/* getopt_long short options of every program: -h is --help. */
#define CLI_SHORT_OPTIONS "h"

/* clang-format off */
#define CLI_COMMON_OPTIONS                                                   \
	{ "db", required_argument, NULL, CLI_OPT_DB },                       \
		{ "config", required_argument, NULL, CLI_OPT_CONFIG },       \
		{ "log-format", required_argument, NULL, CLI_OPT_LOG_FORMAT }, \
		{ "help", no_argument, NULL, CLI_OPT_HELP },                 \
		{ "version", no_argument, NULL, CLI_OPT_VERSION }
/* clang-format on */

/* What the shared options set.  Strings point into argv or environ. */
struct cli_common {
	const char *prog;        /* program name for messages, e.g. "unitsync-map" */
	const char *usage;       /* --help text: the man page's synopsis, then options */
	const char *db_path;     /* --db, $UNITSYNC_DB or "unitsync.db" */
	const char *config_path; /* --config or $UNITSYNC_CONFIG; NULL when neither */
};

/* Fill defaults from the environment and start logging in the format of
 * --log-format (read from main()'s arguments before getopt runs, so that a
 * usage error is already in that format), else $UNITSYNC_LOG_FORMAT, else
 * text.  With JSON, getopt's own messages are off (opterr = 0) and
 * cli_common_option() reports a refused option as one JSON line. */
void cli_common_init(struct cli_common *c, const char *prog, const char *usage);

/*
 * Handle one shared option.  Returns 0 when OPT was handled, 1 when the
 * program must exit successfully (--help, -h, --version: already printed),
 * 2 for a usage error (already reported on stderr), -1 when OPT is not a
 * shared option.
 */
int cli_common_option(struct cli_common *c, int opt, const char *arg);

/*
 * Parse ARGV for a program whose only options are the shared ones
 * (replay, verify, extract): 0 with optind at the first operand, or what
 * cli_common_option() returned that ends the program (1: exit 0, after
 * --help or --version; otherwise a usage error, already reported).
 */
int cli_common_only(struct cli_common *c, int argc, char **argv);

/* Report a usage error "PROG: MESSAGE" plus a hint on stderr; with JSON
 * logs, one JSON object (level error) holding both. */
void cli_usage_error(const struct cli_common *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Parse a non-negative decimal integer option value; -1 with err_set() on
 * anything else (empty, sign, trailing junk, overflow past INT_MAX).
 */
int cli_parse_uint(const char *s, int *out);

/*
 * Parse a decimal number option value, digits with an optional fraction
 * ("20", "2.5"), from MIN to MAX; -1 with err_set() on anything else: NaN,
 * infinities, a sign, hex, exponents, blanks, trailing junk (issue 17: a
 * "nan" once switched the reject threshold off).  Every program's numeric
 * options go through it or cli_parse_uint().
 */
int cli_parse_number(const char *s, double min, double max, double *out);

/*
 * The name of NAMES (a NULL-terminated list) nearest to NAME, letter case
 * aside, when it is within two edits (a letter missing, extra or wrong, or
 * two neighbouring letters swapped: Damerau-Levenshtein, optimal string
 * alignment), in fewer edits than the shorter of the two has letters
 * ("a" is not offered for "zz"), and is not NAME itself; else NULL.  A name differing from
 * NAME only in letter case is nearest of all; on a tie, the first in
 * NAMES.  Names longer than 64 bytes never match.  Borrowed from NAMES.
 */
const char *cli_nearest_name(const char *name, const char *const *names);

/*
 * " (did you mean 'X'?)" into BUF (SIZE bytes), X being
 * cli_nearest_name(NAME, NAMES); "" when there is none.  For messages
 * about a mistyped command, key or value (the driver, lib/config).
 */
void cli_did_you_mean(const char *name, const char *const *names, char *buf, size_t size);

/* NAMES (a NULL-terminated list) as "a, b or c" into BUF (SIZE bytes, cut if longer). */
void cli_join_names(const char *const *names, char *buf, size_t size);

/*
 * Is VERB (NULL: none was given) one of VERBS (a NULL-terminated list)?
 * Returns that entry of VERBS when it is; else reports a usage error on
 * stderr ("no command given (a, b or c)", or "unknown command 'x'
 * (expected a, b or c; did you mean 'b'?)") and returns NULL.  Every
 * program with verbs (map, property, ...) checks its verb here, so all
 * say the same.
 */
const char *cli_check_verb(const struct cli_common *c, const char *verb, const char *const *verbs);

/*
 * The path of program unitsync-NAME beside the running one (found through
 * /proc/self/exe: the driver runs its commands so, and `unitsync replay`
 * its transform) into OUT (SIZE bytes); -1 with err_set() when this
 * program cannot find its own directory.  Whether the program exists is
 * the caller's question.
 */
int cli_program_path(const char *name, char *out, size_t size);

/*
 * Who runs this, for a history's changed_by and an approval's approver
 * when no --by names them: the operating-system account of the effective
 * uid, from the password database (getpwuid(3)), else "uid N"; never
 * $USER, which cron, systemd and containers do not set, and anyone can.
 * Into OUT (SIZE bytes, cut to fit).
 */
void cli_account(char *out, size_t size);

/*
 * Print S, text from an export or another outside source, onto FP with
 * each control character (below 0x20, and DEL) as '?': a name holding a
 * line break must not print a line of its own that a script reading the
 * output would take for the program's (a forged "snapshot ..." line), nor
 * move a terminal's cursor.
 */
void cli_put_clean(FILE *fp, const char *s);

#endif
