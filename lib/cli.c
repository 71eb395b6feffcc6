#include "cli.h"
#include "err.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * main()'s arguments, which glibc passes to ELF constructors as well: with
 * JSON logs getopt's own (text) messages are off, and ours must name the
 * option it refused; --log-format is also found here, before getopt runs,
 * so that even an error earlier on the command line is a JSON line.
 */
static int cli_argc;
static char **cli_argv;

__attribute__((constructor)) static void cli_capture(int argc, char **argv, char **envp)
{
	(void)envp;
	cli_argc = argc;
	cli_argv = argv;
}

/* The --log-format given on the command line, if any (the last one wins,
 * as with getopt); NULL when none. */
static const char *argv_log_format(void)
{
	const char *found = NULL;

	for (int i = 1; i < cli_argc && cli_argv && cli_argv[i]; i++) {
		if (!strcmp(cli_argv[i], "--"))
			break;
		if (!strcmp(cli_argv[i], "--log-format") && i + 1 < cli_argc)
			found = cli_argv[++i];
		else if (!strncmp(cli_argv[i], "--log-format=", 13))
			found = cli_argv[i] + 13;
	}
	return found;
}

/* Start logging in format F: getopt reports bad options itself only as text. */
static void start_log(const char *prog, enum log_format f)
{
	log_init(prog, f);
	opterr = f == LOG_TEXT;
}

void cli_common_init(struct cli_common *c, const char *prog, const char *usage)
{
	const char *env;
	enum log_format f = LOG_TEXT;

	memset(c, 0, sizeof(*c));
	c->prog = prog;
	c->usage = usage;
	env = getenv("UNITSYNC_DB");
	c->db_path = env && *env ? env : "unitsync.db";
	env = getenv("UNITSYNC_CONFIG");
	c->config_path = env && *env ? env : NULL;
	const char *bad = NULL;

	env = getenv("UNITSYNC_LOG_FORMAT");
	if (env && *env && log_format_parse(env, &f) < 0) {
		f = LOG_TEXT;
		bad = env;
	}
	env = argv_log_format();
	if (env && log_format_parse(env, &f) < 0)
		f = LOG_TEXT; /* cli_common_option() reports it */
	start_log(prog, f);
	if (bad && !env)
		log_warn("UNITSYNC_LOG_FORMAT='%s' is not text or json: logging text", bad);
}

int cli_common_option(struct cli_common *c, int opt, const char *arg)
{
	enum log_format f;

	switch (opt) {
	case CLI_OPT_DB:
		c->db_path = arg;
		return 0;
	case CLI_OPT_CONFIG:
		c->config_path = arg;
		return 0;
	case CLI_OPT_LOG_FORMAT:
		if (log_format_parse(arg, &f) < 0) {
			cli_usage_error(c, "%s", err_msg());
			return 2;
		}
		start_log(c->prog, f);
		return 0;
	case CLI_OPT_HELP:
	case 'h':
		fputs(c->usage, stdout);
		return 1;
	case CLI_OPT_VERSION:
		printf("%s (unitsync) %s\n", c->prog, UNITSYNC_VERSION);
		return 1;
	case '?':
		if (log_get_format() == LOG_TEXT) {
			/* getopt_long has already said what was wrong */
			fprintf(stderr, "usage: see '%s --help'\n", c->prog);
		} else {
			const char *bad =
				optind > 0 && optind <= cli_argc ? cli_argv[optind - 1] : "";

			if (strncmp(bad, "--", 2) && optopt > 0 && optopt < 0x80)
				cli_usage_error(c, "option '-%c' is unknown or needs a value",
						optopt);
			else
				cli_usage_error(c,
						"option '%s' is unknown, needs a value or takes none",
						bad);
		}
		return 2;
	default:
		return -1;
	}
}

void cli_usage_error(const struct cli_common *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_get_format() == LOG_JSON) {
		log_error("%s (usage: see '%s --help')", msg, c->prog);
		return;
	}
	fprintf(stderr, "%s: %s\nusage: see '%s --help'\n", c->prog, msg, c->prog);
}

int cli_parse_uint(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	if (!s || *s < '0' || *s > '9') {
		err_set("'%s' is not a non-negative whole number", s ? s : "");
		return -1;
	}
	v = strtol(s, &end, 10);
	if (errno || *end || v > INT_MAX) {
		err_set("'%s' is not a non-negative whole number", s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int cli_parse_number(const char *s, double min, double max, double *out)
{
	const char *p = s;
	char *end;
	double v;

	if (!s)
		s = p = "";
	while (*p >= '0' && *p <= '9')
		p++;
	if (p > s && *p == '.' && p[1] >= '0' && p[1] <= '9')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (p == s || *p) {
		err_set("'%s' is not a number (digits, with an optional fraction)", s);
		return -1;
	}
	v = strtod(s, &end);
	if (*end || v < min || v > max) {
		err_set("'%s' is out of range (%g to %g)", s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Edit distance of A and B, letter case aside, at most 64 bytes each (else
 * a large number): Damerau-Levenshtein in its "optimal string alignment"
 * form, so a swap of two neighbouring letters ("oka" for "oak") is one
 * edit, as a missing, extra or wrong letter is.
 */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[3][65];
	size_t *before = d[0], *prev = d[1], *row = d[2];

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		int ca = tolower((unsigned char)a[i - 1]);
		size_t *t;

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			int cb = tolower((unsigned char)b[j - 1]);
			size_t best = prev[j - 1] + (ca != cb);

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    cb == tolower((unsigned char)a[i - 2]) && before[j - 2] + 1 < best)
				best = before[j - 2] + 1;
			row[j] = best;
		}
		t = before;
		before = prev;
		prev = row;
		row = t;
	}
	return prev[lb];
}

const char *cli_nearest_name(const char *name, const char *const *names)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; names[i]; i++) {
		size_t d = distance(name, names[i]), shorter = strlen(name);

		if (strlen(names[i]) < shorter)
			shorter = strlen(names[i]);
		/* 0: the same letters in another case ("Oak" for "oak"); as many
		 * edits as the shorter has letters: nothing in common ("zz", "a") */
		if (d < best_d && d < shorter && strcmp(name, names[i])) {
			best_d = d;
			best = names[i];
		}
	}
	return best;
}

void cli_did_you_mean(const char *name, const char *const *names, char *buf, size_t size)
{
	const char *best = cli_nearest_name(name, names);

	if (best)
		snprintf(buf, size, " (did you mean '%s'?)", best);
	else if (size)
		buf[0] = '\0';
}

void cli_join_names(const char *const *names, char *buf, size_t size)
{
	size_t used = 0, n = 0;

	while (names[n])
		n++;
	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
					 i == 0       ? ""
					 : i + 1 == n ? " or "
						      : ", ",
					 names[i]);
}

const char *cli_check_verb(const struct cli_common *c, const char *verb, const char *const *verbs)
{
	const char *near;
	char list[256];

	cli_join_names(verbs, list, sizeof(list));
	if (!verb) {
		cli_usage_error(c, "no command given (%s)", list);
		return NULL;
	}
	for (size_t i = 0; verbs[i]; i++)
		if (!strcmp(verb, verbs[i]))
			return verbs[i];
	near = cli_nearest_name(verb, verbs);
	if (near)
		cli_usage_error(c, "unknown command '%s' (expected %s; did you mean '%s'?)", verb,
				list, near);
	else
		cli_usage_error(c, "unknown command '%s' (expected %s)", verb, list);
	return NULL;
}

int cli_program_path(const char *name, char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0) {
		err_set("cannot find my own directory: %s", strerror(errno));
		return -1;
	}
	self[n] = '\0';
	snprintf(out, size, "%s/unitsync-%s", dirname(self), name);
	return 0;
}

void cli_account(char *out, size_t size)
{
	const struct passwd *pw = getpwuid(geteuid());

	if (pw && pw->pw_name && *pw->pw_name)
		snprintf(out, size, "%s", pw->pw_name);
	else
		snprintf(out, size, "uid %ld", (long)geteuid());
}

int cli_common_only(struct cli_common *c, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	int opt, r = 0;

	while (r == 0 && (opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1)
		r = cli_common_option(c, opt, optarg);
	return r;
}

void cli_put_clean(FILE *fp, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, fp);
}
