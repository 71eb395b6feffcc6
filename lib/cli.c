#include "cli.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_common_init(struct cli_common *c, const char *prog, const char *usage)
{
	const char *env;

	memset(c, 0, sizeof(*c));
	c->prog = prog;
	c->usage = usage;
	env = getenv("UNITSYNC_DB");
	c->db_path = env && *env ? env : "unitsync.db";
	env = getenv("UNITSYNC_CONFIG");
	c->config_path = env && *env ? env : NULL;
	log_init(prog, LOG_TEXT);
	env = getenv("UNITSYNC_LOG_FORMAT");
	if (env && *env) {
		enum log_format f;

		if (log_format_parse(env, &f) == 0)
			log_init(prog, f);
	}
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
		log_init(c->prog, f);
		return 0;
	case CLI_OPT_HELP:
	case 'h':
		fputs(c->usage, stdout);
		return 1;
	case CLI_OPT_VERSION:
		printf("%s (unitsync) %s\n", c->prog, UNITSYNC_VERSION);
		return 1;
	case '?':
		/* getopt_long has already said what was wrong */
		fprintf(stderr, "usage: see '%s --help'\n", c->prog);
		return 2;
	default:
		return -1;
	}
}

void cli_usage_error(const struct cli_common *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: see '%s --help'\n", c->prog);
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

/* Levenshtein distance of A and B, at most 32 bytes each (else a large number). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33];

	if (la > 32 || lb > 32)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *cli_nearest_name(const char *name, const char *const *names)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; names[i]; i++) {
		size_t d = distance(name, names[i]);

		if (d > 0 && d < best_d) {
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
