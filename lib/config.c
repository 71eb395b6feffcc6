#include "config.h"
#include "cli.h"
#include "encoding.h"
#include "csvio.h"
#include "err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const config_csv_profiles[] = {
	"auto", "generic", "appfolio-rent-roll", "appfolio-tenant-tickler", "yardi-rent-roll", NULL,
};

/* What a key of a global section holds, and so how its value is checked. */
enum value_kind {
	V_TEXT,      /* any text without control characters */
	V_HTTP_URL,  /* an http:// or https:// URL */
	V_SMTP_URL,  /* an smtp:// (STARTTLS) or smtps:// URL */
	V_PATH,      /* a path, relative to the config file's folder */
	V_ADDRESS,   /* one e-mail address, local@domain */
	V_ADDRESSES, /* e-mail addresses separated by commas */
	V_PAGE_SIZE, /* a whole number from 1 to CONFIG_MAX_PAGE_SIZE */
};

/* A key of a global section: its name, where its value goes in struct
 * config, and its kind. */
struct key_def {
	const char *name;
	size_t offset;
	enum value_kind kind;
};

static const struct key_def latch_defs[] = {
	{ "base_url", offsetof(struct config, base_url), V_HTTP_URL },
	{ "token_url", offsetof(struct config, token_url), V_HTTP_URL },
	{ "client_id", offsetof(struct config, client_id), V_TEXT },
	{ "client_secret_file", offsetof(struct config, client_secret_file), V_PATH },
	{ "audience", offsetof(struct config, audience), V_TEXT },
	{ "page_size", offsetof(struct config, page_size), V_PAGE_SIZE },
	{ NULL, 0, V_TEXT },
};
static const char *const latch_keys[] = {
	"base_url", "token_url", "client_id", "client_secret_file", "audience", "page_size", NULL,
};

/* [notify] (issue 20): where notifications and metrics go */
static const struct key_def notify_defs[] = {
	{ "smtp_url", offsetof(struct config, smtp_url), V_SMTP_URL },
	{ "smtp_from", offsetof(struct config, smtp_from), V_ADDRESS },
	{ "smtp_user", offsetof(struct config, smtp_user), V_TEXT },
	{ "smtp_password_file", offsetof(struct config, smtp_password_file), V_PATH },
	{ "smtp_ca_file", offsetof(struct config, smtp_ca_file), V_PATH },
	{ "webhook_url", offsetof(struct config, webhook_url), V_HTTP_URL },
	{ "webhook_secret_file", offsetof(struct config, webhook_secret_file), V_PATH },
	{ "metrics_file", offsetof(struct config, metrics_file), V_PATH },
	{ "operator_email", offsetof(struct config, operator_email), V_ADDRESSES },
	{ NULL, 0, V_TEXT },
};
static const char *const notify_keys[] = {
	"smtp_url",     "smtp_from",   "smtp_user",           "smtp_password_file",
	"smtp_ca_file", "webhook_url", "webhook_secret_file", "metrics_file",
	NULL,
};

/* The global sections: [latch] and [notify]. */
static const struct section_def {
	const char *name;
	const struct key_def *defs;
	const char *const *keys; /* the names of DEFS, for did-you-mean */
} global_sections[] = {
	{ "latch", latch_defs, latch_keys },
	{ "notify", notify_defs, notify_keys },
};

#define N_GLOBAL_SECTIONS (sizeof(global_sections) / sizeof(global_sections[0]))

static const char *const property_keys[] = {
	"format",
	"profile",
	"source",
	"notify_email",
	"notify_webhook",
	"notify_daily_summary",
	"max_reject_percent",
	"encoding",
	NULL,
};

/* A section header read, to tell a section given twice. */
struct seen_section {
	char *name; /* owned */
	int line;   /* its first header */
	struct seen_section *next;
};

struct parse_state {
	struct config *c;                    /* being filled */
	char *dir;                           /* the config file's folder, owned */
	FILE *fp;                            /* the file, borrowed */
	int line;                            /* the line being parsed */
	int section_line;                    /* the line of the last section header */
	struct seen_section *sections;       /* every header read, owned */
	int key_line[N_GLOBAL_SECTIONS][12]; /* where each key of a global section was set */
	char section[256];                   /* the last unknown section reported */
	int oom;                             /* out of memory: stop */
	struct config_property *last;        /* tail of c->properties */
};

static int add_problem(struct config *c, int line, const char *property, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int property_section(const char *section, char *id, size_t size);

/* What section header H ("[name]...") names, trimmed, into NAME. */
static void header_name(const char *h, char *name, size_t size)
{
	const char *end = strchr(h, ']');
	size_t n;

	h++;
	if (!end)
		end = h + strlen(h);
	while (h < end && (*h == ' ' || *h == '\t'))
		h++;
	while (end > h && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - h) < size - 1 ? (size_t)(end - h) : size - 1;
	memcpy(name, h, n);
	name[n] = '\0';
}

/*
 * A section header at ps->line: a section given twice is a problem (the
 * second would silently merge into the first, or override it: a token_url
 * sending the secret elsewhere).  0, or -1 out of memory.
 */
static int section_seen(struct parse_state *ps, const char *header)
{
	char name[256], id[256];
	struct seen_section *sec;

	ps->section_line = ps->line;
	header_name(header, name, sizeof(name));
	for (sec = ps->sections; sec; sec = sec->next)
		if (!strcmp(sec->name, name))
			break;
	if (!sec) {
		sec = calloc(1, sizeof(*sec));
		if (!sec || !(sec->name = strdup(name))) {
			free(sec);
			return -1;
		}
		sec->line = ps->line;
		sec->next = ps->sections;
		ps->sections = sec;
		return 0;
	}
	return add_problem(ps->c, ps->line, property_section(name, id, sizeof(id)) == 0 ? id : NULL,
			   "section [%s] given twice (first at line %d)", name, sec->line);
}

/* ini_reader: fgets, counting lines (a line longer than the buffer is
 * read in pieces: counted once). */
static char *read_line(char *str, int num, void *arg)
{
	struct parse_state *ps = arg;
	char *r = fgets(str, num, ps->fp);
	size_t n;

	if (!r)
		return NULL;
	ps->line++;
	n = strlen(str);
	if (n + 1 == (size_t)num && str[n - 1] != '\n' && !feof(ps->fp)) {
		/* longer than inih's buffer: the rest would be read as a line of
		 * its own (a commented-out "source = ..." made live); refuse it */
		int c;

		while ((c = getc(ps->fp)) != EOF && c != '\n')
			;
		if (add_problem(ps->c, ps->line, NULL, "line longer than %d bytes", num - 2) < 0)
			ps->oom = 1;
		snprintf(str, (size_t)num, ";\n");
		return str;
	}
	{
		const char *c = str;

		while (*c == ' ' || *c == '\t')
			c++;
		if (*c == '[' && section_seen(ps, c) < 0)
			ps->oom = 1;
	}
	return r;
}

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

/* Add a problem at LINE of C's file; PROPERTY NULL: fatal.  -1: out of memory. */
static int add_problem(struct config *c, int line, const char *property, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int add_problem(struct config *c, int line, const char *property, const char *fmt, ...)
{
	struct config_problem *pr = calloc(1, sizeof(*pr)), **tail = &c->problems;
	char msg[1024], where[64] = "";
	va_list ap;

	if (!pr)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(where, sizeof(where), " line %d", line);
	pr->line = line;
	if (asprintf(&pr->message, "config '%s'%s: %s", c->path ? c->path : "(environment)", where,
		     msg) < 0)
		pr->message = NULL;
	pr->property = property ? strdup(property) : NULL;
	if (!pr->message || (property && !pr->property)) {
		free(pr->message);
		free(pr->property);
		free(pr);
		return -1;
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = pr;
	if (!property)
		c->fatal++;
	return 0;
}

static int in_list(const char *name, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

/* Resolve V against the config file's folder unless it is absolute. */
static char *resolve(const char *dir, const char *v)
{
	size_t n;
	char *s;

	if (v[0] == '/' || !dir)
		return strdup(v);
	n = strlen(dir) + strlen(v) + 2;
	s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", dir, v);
	return s;
}

/* The property id in a section named 'property "ID"', or NULL. */
static int property_section(const char *section, char *id, size_t size)
{
	const char *q;
	size_t n;

	if (strncmp(section, "property", 8) != 0)
		return -1;
	section += 8;
	while (*section == ' ')
		section++;
	if (*section != '"')
		return -1;
	section++;
	q = strrchr(section, '"');
	if (!q || q[1] || q == section)
		return -1;
	n = (size_t)(q - section);
	if (n >= size)
		return -1;
	memcpy(id, section, n);
	id[n] = '\0';
	return 0;
}

static struct config_property *find_or_add(struct parse_state *ps, const char *id)
{
	struct config_property *p;

	for (p = ps->c->properties; p; p = p->next)
		if (!strcmp(p->id, id))
			return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->id = strdup(id);
	p->format = strdup("csv");
	p->profile = strdup("generic");
	p->line = ps->section_line;
	if (!p->id || !p->format || !p->profile) {
		free(p->id);
		free(p->format);
		free(p->profile);
		free(p);
		return NULL;
	}
	if (ps->last)
		ps->last->next = p;
	else
		ps->c->properties = p;
	ps->last = p;
	return p;
}

/* A value the nightly pipeline splits on tabs and lines must hold neither. */
static int plain_value(const char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Is S one e-mail address as unitsync sends to: local@domain, the local
 * part of printable ASCII without blanks or the characters that separate
 * or quote addresses in a header (RFC 5322 3.4.1's dot-atom, loosely), the
 * domain of letters, digits, '-' and '.' with a dot (RFC 1035 names).
 */
static int valid_address(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || strchr(at + 1, '@') || !at[1] || !strchr(at + 1, '.') ||
	    strlen(s) > 254)
		return 0;
	for (const char *c = s; c < at; c++)
		if (*c <= ' ' || *c > '~' || strchr("<>()[]\\,;:\"", *c))
			return 0;
	for (const char *c = at + 1; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			return 0;
	return at[1] != '.' && at[strlen(at) - 1] != '.';
}

/* Is V of KIND?  0, or -1 with the reason in WHY. */
static int check_value(enum value_kind kind, const char *v, char *why, size_t size)
{
	if (!*v || !plain_value(v)) {
		snprintf(why, size, "%s", *v ? "a control character in the value" : "empty value");
		return -1;
	}
	if (kind == V_HTTP_URL && strncmp(v, "https://", 8) && strncmp(v, "http://", 7)) {
		snprintf(why, size, "'%s' is not an http:// or https:// URL", v);
		return -1;
	}
	if (kind == V_SMTP_URL && strncmp(v, "smtp://", 7) && strncmp(v, "smtps://", 8)) {
		snprintf(why, size, "'%s' is not an smtp:// (STARTTLS) or smtps:// URL", v);
		return -1;
	}
	if (kind == V_SMTP_URL) {
		const char *host = strstr(v, "://") + 3;
		size_t n = strcspn(host, "/?#");

		/* user:password@host would print the password in every message
		 * that names the server (and in config show) */
		if (memchr(host, '@', n)) {
			snprintf(why, size,
				 "credentials in the URL: put the user in smtp_user and "
				 "the password in smtp_password_file");
			return -1;
		}
		if (!n || *host == ':') {
			snprintf(why, size, "'%s' names no host", v);
			return -1;
		}
	}
	if (kind == V_ADDRESS && !valid_address(v)) {
		snprintf(why, size, "'%s' is not an e-mail address (local@domain)", v);
		return -1;
	}
	if (kind == V_PAGE_SIZE) {
		int n;

		if (cli_parse_uint(v, &n) < 0 || n < 1 || n > CONFIG_MAX_PAGE_SIZE) {
			snprintf(why, size, "'%s' is not a whole number from 1 to %d", v,
				 CONFIG_MAX_PAGE_SIZE);
			return -1;
		}
	}
	if (kind == V_ADDRESSES) {
		char **list;
		size_t n;
		int r = config_split_addresses(v, &list, &n, why, size);

		config_free_addresses(list, n);
		return r == 0 ? 0 : -1;
	}
	return 0;
}

/* A key of global section SEC ([latch], [notify]): 0, or -1 out of memory. */
static int section_value(struct parse_state *ps, size_t sec, const char *name, const char *value)
{
	const struct section_def *d = &global_sections[sec];
	struct config *c = ps->c;
	char hint[128], keys[512], why[512];
	size_t i;

	if (!strcmp(d->name, "latch") && !strcmp(name, "client_secret"))
		/* a secret in a world-readable config is a leak waiting to happen */
		return add_problem(c, ps->line, NULL,
				   "[latch] client_secret: a secret is never read from the "
				   "configuration file; put it in client_secret_file (mode 0600) "
				   "or UNITSYNC_CLIENT_SECRET");
	for (i = 0; d->defs[i].name && strcmp(name, d->defs[i].name); i++)
		;
	if (!d->defs[i].name) {
		cli_did_you_mean(name, d->keys, hint, sizeof(hint));
		cli_join_names(d->keys, keys, sizeof(keys));
		return add_problem(c, ps->line, NULL, "[%s] unknown key '%s'%s (expected %s)",
				   d->name, name, hint, keys);
	}
	if (ps->key_line[sec][i])
		return add_problem(c, ps->line, NULL, "[%s] %s given twice (first at line %d)",
				   d->name, name, ps->key_line[sec][i]);
	ps->key_line[sec][i] = ps->line;
	if (check_value(d->defs[i].kind, value, why, sizeof(why)) < 0)
		return add_problem(c, ps->line, NULL, "[%s] %s: %s", d->name, name, why);
	{
		char **dst = (char **)((char *)c + d->defs[i].offset);
		char *v = d->defs[i].kind == V_PATH ? resolve(ps->dir, value) : strdup(value);

		if (!v)
			return -1;
		free(*dst);
		*dst = v;
	}
	return 0;
}

int config_split_addresses(const char *value, char ***out, size_t *n, char *why, size_t size)
{
	char *copy = strdup(value), *save = NULL, *tok;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!copy) {
		snprintf(why, size, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t len;
		char *t = (char *)csvio_trim(tok, strlen(tok), &len), **list;

		t[len] = '\0';
		if (check_value(V_ADDRESS, t, why, size) < 0) {
			rc = 1;
			break;
		}
		list = realloc(*out, (*n + 1) * sizeof(*list));
		if (list)
			*out = list;
		if (!list || !(list[*n] = strdup(t))) {
			snprintf(why, size, "out of memory");
			rc = -1;
			break;
		}
		(*n)++;
	}
	if (rc == 0 && !*n) {
		snprintf(why, size, "no address");
		rc = 1;
	}
	free(copy);
	if (rc != 0) {
		config_free_addresses(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void config_free_addresses(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Where key NAME of P was set (0: not yet), for "given twice"; NULL for
 * source, which repeats, and for a key that is none of P's. */
static int *key_line(struct config_property *p, const char *name)
{
	return !strcmp(name, "format")                 ? &p->format_line
	       : !strcmp(name, "profile")              ? &p->profile_line
	       : !strcmp(name, "max_reject_percent")   ? &p->max_reject_line
	       : !strcmp(name, "encoding")             ? &p->encoding_line
	       : !strcmp(name, "notify_email")         ? &p->notify_line[0]
	       : !strcmp(name, "notify_webhook")       ? &p->notify_line[1]
	       : !strcmp(name, "notify_daily_summary") ? &p->notify_line[2]
						       : NULL;
}

/* A key of [property "ID"]: 0, or -1 out of memory. */
static int property_value(struct parse_state *ps, const char *id, const char *name,
			  const char *value)
{
	struct config_property *p = find_or_add(ps, id);
	char hint[128], names[512];
	const int *first = p ? key_line(p, name) : NULL;
	int rc;

	if (!p)
		return -1;
	if (!in_list(name, property_keys)) {
		cli_did_you_mean(name, property_keys, hint, sizeof(hint));
		rc = add_problem(ps->c, ps->line, id,
				 "[property \"%s\"] unknown key '%s'%s (expected format, profile, "
				 "source, max_reject_percent, encoding, notify_email, notify_webhook "
				 "or notify_daily_summary)",
				 id, name, hint);
	} else if (!*value || !plain_value(value)) {
		rc = add_problem(ps->c, ps->line, id, "[property \"%s\"] %s: %s", id, name,
				 *value ? "a control character in the value" : "empty value");
	} else if (first && *first) {
		rc = add_problem(ps->c, ps->line, id,
				 "[property \"%s\"] %s given twice (first at line %d)", id, name,
				 *first);
	} else if (!strcmp(name, "max_reject_percent")) {
		double pct;

		p->max_reject_line = ps->line;
		/* extract's own parser (extract_reject_percent()): the same values */
		rc = cli_parse_number(value, 0, 100, &pct) < 0
			     ? add_problem(ps->c, ps->line, id,
					   "[property \"%s\"] max_reject_percent: '%s' is not a "
					   "number from 0 to 100",
					   id, value)
			     : set_str(&p->max_reject, value);
	} else if (!strcmp(name, "encoding")) {
		p->encoding_line = ps->line;
		rc = enc_check(value) < 0
			     ? add_problem(ps->c, ps->line, id, "[property \"%s\"] encoding: %s",
					   id, err_msg())
			     : set_str(&p->encoding, value);
	} else if (!strcmp(name, "notify_email")) {
		char why[512];
		int r = config_split_addresses(value, &p->notify_email, &p->n_notify_email, why,
					       sizeof(why));

		p->notify_line[0] = ps->line;
		rc = r > 0 ? add_problem(ps->c, ps->line, id, "[property \"%s\"] notify_email: %s",
					 id, why)
			   : r;
	} else if (!strcmp(name, "notify_webhook")) {
		char why[512];

		p->notify_line[1] = ps->line;
		rc = check_value(V_HTTP_URL, value, why, sizeof(why)) < 0
			     ? add_problem(ps->c, ps->line, id,
					   "[property \"%s\"] notify_webhook: %s", id, why)
			     : set_str(&p->notify_webhook, value);
	} else if (!strcmp(name, "notify_daily_summary")) {
		p->notify_line[2] = ps->line;
		p->daily_summary = !strcmp(value, "yes");
		rc = strcmp(value, "yes") && strcmp(value, "no")
			     ? add_problem(ps->c, ps->line, id,
					   "[property \"%s\"] notify_daily_summary: '%s' is not yes "
					   "or no",
					   id, value)
			     : 0;
	} else if (!strcmp(name, "format")) {
		p->format_line = ps->line;
		if (strcmp(value, "xml") && strcmp(value, "csv"))
			rc = add_problem(ps->c, ps->line, id,
					 "[property \"%s\"] format: '%s' is not csv or xml", id,
					 value);
		else
			rc = set_str(&p->format, value);
	} else if (!strcmp(name, "profile")) {
		p->profile_line = ps->line;
		if (!in_list(value, config_csv_profiles)) {
			cli_did_you_mean(value, config_csv_profiles, hint, sizeof(hint));
			cli_join_names(config_csv_profiles, names, sizeof(names));
			rc = add_problem(ps->c, ps->line, id,
					 "[property \"%s\"] profile: unknown CSV profile '%s'%s "
					 "(expected %s)",
					 id, value, hint, names);
		} else {
			rc = set_str(&p->profile, value);
		}
	} else {
		char **s = realloc(p->sources, (p->n_sources + 1) * sizeof(*s));

		if (!s)
			return -1;
		p->sources = s;
		s[p->n_sources] = resolve(ps->dir, value);
		if (!s[p->n_sources])
			return -1;
		p->n_sources++;
		rc = 0;
	}
	return rc;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	char id[256];
	size_t sec;
	int rc;

	for (sec = 0; sec < N_GLOBAL_SECTIONS && strcmp(section, global_sections[sec].name); sec++)
		;
	if (sec < N_GLOBAL_SECTIONS) {
		rc = section_value(ps, sec, name, value);
	} else if (property_section(section, id, sizeof(id)) == 0) {
		if (id[0] == '-' || !plain_value(id)) {
			rc = strcmp(ps->section, section)
				     ? add_problem(ps->c, ps->section_line, NULL,
						   "[%s]: a property id may not start with '-' "
						   "or hold a control character",
						   section)
				     : 0;
			snprintf(ps->section, sizeof(ps->section), "%s", section);
		} else {
			rc = property_value(ps, id, name, value);
		}
	} else if (!*section) {
		rc = add_problem(ps->c, ps->line, NULL, "key '%s' outside any section", name);
	} else {
		/* one problem per unknown section, not one per key */
		rc = strcmp(ps->section, section)
			     ? add_problem(ps->c, ps->section_line, NULL,
					   "unknown section [%s] (expected [latch], [notify] or "
					   "[property \"ID\"])",
					   section)
			     : 0;
		snprintf(ps->section, sizeof(ps->section), "%s", section);
	}
	if (rc < 0)
		ps->oom = 1;
	return rc == 0;
}

/* Problems of a whole section, known once the file is read. */
static int check_sections(struct config *c)
{
	for (struct config_property *p = c->properties; p; p = p->next) {
		struct config_problem *pr;

		if (!p->n_sources &&
		    add_problem(c, p->line, p->id, "[property \"%s\"] has no source", p->id) < 0)
			return -1;
		if (!strcmp(p->format, "xml") && p->profile_line &&
		    add_problem(c, p->profile_line, p->id,
				"[property \"%s\"] profile: a CSV profile, but format is xml",
				p->id) < 0)
			return -1;
		/* an XML file says its own encoding (its declaration, XML 1.0 §4.3.3) */
		if (!strcmp(p->format, "xml") && p->encoding_line &&
		    add_problem(c, p->encoding_line, p->id,
				"[property \"%s\"] encoding: for a CSV file, but format is xml (an "
				"XML file declares its own)",
				p->id) < 0)
			return -1;
		p->problems = 0;
		for (pr = c->problems; pr; pr = pr->next)
			p->problems += pr->property && !strcmp(pr->property, p->id);
	}
	return 0;
}

static int override(char **dst, const char *env)
{
	const char *v = getenv(env);

	if (v && *v)
		return set_str(dst, v);
	return 0;
}

/* The line that set KEY of global section SECTION, 0 when none did. */
static int key_line_of(const struct parse_state *ps, const char *section, const char *key)
{
	for (size_t sec = 0; sec < N_GLOBAL_SECTIONS; sec++)
		if (!strcmp(global_sections[sec].name, section))
			for (size_t i = 0; global_sections[sec].defs[i].name; i++)
				if (!strcmp(global_sections[sec].defs[i].name, key))
					return ps->key_line[sec][i];
	return 0;
}

int config_load(struct config *c, const char *path)
{
	struct parse_state ps = { .c = c };
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (path) {
		char *copy = strdup(path);
		char abs[PATH_MAX];
		FILE *fp;
		int line;

		/* sources are relative to the config file, wherever we run from */
		if (copy && realpath(dirname(copy), abs)) {
			free(copy);
			copy = strdup(abs);
		} else if (copy) {
			free(copy);
			copy = strdup(path);
			if (copy) {
				char *d = strdup(dirname(copy));

				free(copy);
				copy = d;
			}
		}
		if (!copy || !(ps.dir = strdup(copy))) {
			free(copy);
			err_set("out of memory");
			goto out;
		}
		free(copy);
		c->path = strdup(path);
		if (!c->path) {
			err_set("out of memory");
			goto out;
		}
		fp = fopen(path, "r");
		if (!fp) {
			err_set("cannot open config '%s': %s", path, strerror(errno));
			goto out;
		}
		ps.fp = fp;
		/* no indented continuation lines (inih's option, read at run
		 * time): an indented "xml" under "format = csv" would change it */
		ini_allow_multiline = false;
		line = ini_parse_stream(read_line, &ps, on_value, &ps);
		fclose(fp);
		if (ps.oom || line == -2 || check_sections(c) < 0) {
			err_set("out of memory");
			goto out;
		}
		/* the handler never fails but for memory: LINE is a syntax error */
		if (line > 0 &&
		    add_problem(c, line, NULL, "syntax error (expected [section] or key = value)") <
			    0) {
			err_set("out of memory");
			goto out;
		}
		if (c->fatal) {
			const struct config_problem *pr = c->problems;

			while (pr->property)
				pr = pr->next;
			err_set("%s", pr->message);
			goto out;
		}
	}
	for (const struct seen_section *sec = ps.sections; sec; sec = sec->next)
		if (!strcmp(sec->name, "notify"))
			c->notify_line = sec->line;
	c->secret_line[0] = key_line_of(&ps, "latch", "client_secret_file");
	c->secret_line[1] = key_line_of(&ps, "notify", "smtp_password_file");
	c->secret_line[2] = key_line_of(&ps, "notify", "webhook_secret_file");
	c->smtp_user_line = key_line_of(&ps, "notify", "smtp_user");
	if (override(&c->base_url, "UNITSYNC_LATCH_URL") < 0 ||
	    override(&c->token_url, "UNITSYNC_TOKEN_URL") < 0 ||
	    override(&c->client_id, "UNITSYNC_CLIENT_ID") < 0 ||
	    override(&c->client_secret_file, "UNITSYNC_CLIENT_SECRET_FILE") < 0 ||
	    override(&c->client_secret, "UNITSYNC_CLIENT_SECRET") < 0 ||
	    override(&c->smtp_password, "UNITSYNC_SMTP_PASSWORD") < 0 ||
	    override(&c->webhook_secret, "UNITSYNC_WEBHOOK_SECRET") < 0 ||
	    override(&c->metrics_file, "UNITSYNC_METRICS_FILE") < 0) {
		err_set("out of memory");
		goto out;
	}
	rc = 0;
out:
	for (struct seen_section *sec = ps.sections, *nx; sec; sec = nx) {
		nx = sec->next;
		free(sec->name);
		free(sec);
	}
	free(ps.dir);
	return rc;
}

int config_page_size(const struct config *c)
{
	int n;

	/* checked by config_load(): a whole number in range */
	if (!c || !c->page_size || cli_parse_uint(c->page_size, &n) < 0)
		return CONFIG_PAGE_SIZE;
	return n;
}

/*
 * The secret WHAT from the first line of PATH (trailing white space
 * dropped) into *OUT; PATH must not be readable by group or others, as
 * ssh requires of private keys.  0, or -1 with err_set().
 */
static int read_secret(const char *path, const char *what, char **out)
{
	char line[1024];
	struct stat st;
	FILE *fp;
	size_t n;

	fp = fopen(path, "r");
	if (!fp) {
		err_set("cannot open %s file '%s': %s", what, path, strerror(errno));
		return -1;
	}
	/* as ssh does with private keys: a secret others can read is not one */
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 077)) {
		err_set("%s file '%s' is readable by others (mode %04o): chmod 600 it", what, path,
			(unsigned)(st.st_mode & 07777));
		fclose(fp);
		return -1;
	}
	if (!fgets(line, sizeof(line), fp))
		line[0] = '\0';
	fclose(fp);
	n = strlen(line);
	while (n && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	if (!n) {
		err_set("%s file '%s' is empty", what, path);
		return -1;
	}
	*out = strdup(line);
	memset(line, 0, sizeof(line));
	if (!*out) {
		err_set("out of memory");
		return -1;
	}
	return 0;
}

/* The secret files, in the order of c->secret_line[]. */
static const struct {
	const char *key; /* "[section] key" */
	const char *env; /* the variable naming the file instead, or NULL */
} secret_files[] = {
	{ "[latch] client_secret_file", "UNITSYNC_CLIENT_SECRET_FILE" },
	{ "[notify] smtp_password_file", NULL },
	{ "[notify] webhook_secret_file", NULL },
};

/*
 * Where secret file I (secret_files[]) was named, as the start of a
 * message into BUF: "[latch] client_secret_file: " with its line in
 * *LINE, or "UNITSYNC_CLIENT_SECRET_FILE: " when the environment named it.
 */
static const char *secret_where(const struct config *c, size_t i, int *line, char *buf, size_t size)
{
	const char *env = secret_files[i].env ? getenv(secret_files[i].env) : NULL;

	*line = 0;
	if (env && *env) {
		snprintf(buf, size, "%s: ", secret_files[i].env);
	} else {
		snprintf(buf, size, "%s: ", secret_files[i].key);
		*line = c->secret_line[i];
	}
	return buf;
}

/*
 * err_msg() (why secret file I could not be used) as a message naming
 * the configuration file, line and key: "config 'F' line N: [latch]
 * client_secret_file: ..." (or the environment variable).
 */
static void secret_error(const struct config *c, size_t i)
{
	char bare[1024], where[64];
	int line;

	snprintf(bare, sizeof(bare), "%s", err_msg());
	secret_where(c, i, &line, where, sizeof(where));
	if (line)
		err_set("config '%s' line %d: %s%s", c->path, line, where, bare);
	else if (c->path)
		err_set("config '%s': %s%s", c->path, where, bare);
	else
		err_set("%s%s", where, bare);
}

/* The client secret, the reason it is not there in err_msg() as read_secret()
 * gives it (the file, not the key that named it). */
static int client_secret(struct config *c)
{
	if (c->client_secret)
		return 0;
	if (!c->client_secret_file) {
		err_set("no client secret: set [latch] client_secret_file or UNITSYNC_CLIENT_SECRET");
		return -1;
	}
	return read_secret(c->client_secret_file, "client secret", &c->client_secret);
}

int config_read_secret(struct config *c)
{
	if (client_secret(c) == 0)
		return 0;
	if (c->client_secret_file)
		secret_error(c, 0);
	return -1;
}

/* Does any property, or [notify], name a webhook? */
static int has_webhook(const struct config *c)
{
	if (c->webhook_url)
		return 1;
	for (const struct config_property *p = c->properties; p; p = p->next)
		if (p->notify_webhook)
			return 1;
	return 0;
}

int config_read_notify_secrets(struct config *c)
{
	if (c->smtp_user && !c->smtp_password) {
		if (!c->smtp_password_file) {
			if (c->smtp_user_line)
				err_set("config '%s' line %d: [notify] smtp_user is set but no "
					"password: set smtp_password_file or UNITSYNC_SMTP_PASSWORD",
					c->path, c->smtp_user_line);
			else
				err_set("[notify] smtp_user is set but no password: set "
					"smtp_password_file or UNITSYNC_SMTP_PASSWORD");
			return -1;
		}
		if (read_secret(c->smtp_password_file, "SMTP password", &c->smtp_password) < 0) {
			secret_error(c, 1);
			return -1;
		}
	}
	if (has_webhook(c) && !c->webhook_secret) {
		if (!c->webhook_secret_file) {
			err_set("%s%s%sa webhook is configured but no signing key: set [notify] "
				"webhook_secret_file or UNITSYNC_WEBHOOK_SECRET",
				c->path ? "config '" : "", c->path ? c->path : "",
				c->path ? "': " : "");
			return -1;
		}
		if (read_secret(c->webhook_secret_file, "webhook secret", &c->webhook_secret) < 0) {
			secret_error(c, 2);
			return -1;
		}
	}
	return 0;
}

/* What the API needs, and what to say when it is missing. */
static const struct {
	size_t offset; /* of the char * in struct config */
	const char *missing;
} latch_required[] = {
	{ offsetof(struct config, base_url),
	  "no Latch API URL: set [latch] base_url or UNITSYNC_LATCH_URL" },
	{ offsetof(struct config, token_url),
	  "no token URL: set [latch] token_url or UNITSYNC_TOKEN_URL" },
	{ offsetof(struct config, client_id),
	  "no client id: set [latch] client_id or UNITSYNC_CLIENT_ID" },
};

static const char *latch_setting(const struct config *c, size_t i)
{
	return *(char *const *)((const char *)c + latch_required[i].offset);
}

int config_require_latch(struct config *c)
{
	for (size_t i = 0; i < sizeof(latch_required) / sizeof(latch_required[0]); i++)
		if (!latch_setting(c, i)) {
			err_set("%s", latch_required[i].missing);
			return -1;
		}
	return config_read_secret(c);
}

int config_property_problem(struct config *c, struct config_property *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (add_problem(c, p->line, p->id, "%s", msg) < 0)
		return -1;
	p->problems++;
	return 0;
}

int config_check_latch(struct config *c)
{
	int added = 0;

	for (size_t i = 0; i < sizeof(latch_required) / sizeof(latch_required[0]); i++)
		if (!latch_setting(c, i) &&
		    add_problem(c, 0, NULL, "%s", latch_required[i].missing) == 0)
			added++;
	if (client_secret(c) < 0) {
		char where[64] = "";
		int line = 0;

		if (c->client_secret_file)
			secret_where(c, 0, &line, where, sizeof(where));
		if (add_problem(c, line, NULL, "%s%s", where, err_msg()) == 0)
			added++;
	}
	return added;
}

/* PATH's folder must exist; PATH, when there, must be a regular file we
 * can read.  0, or the message of what is wrong in WHY. */
static int path_problem(const char *path, char *why, size_t size)
{
	char *copy = strdup(path);
	struct stat st;
	int rc = 0;

	if (!copy) {
		snprintf(why, size, "out of memory");
		return -1;
	}
	if (stat(dirname(copy), &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, size, "its folder does not exist");
		rc = -1;
	} else if (stat(path, &st) != 0) {
		rc = 0; /* not there yet: tonight's export may still be on its way */
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(why, size, "not a regular file");
		rc = -1;
	} else if (access(path, R_OK) != 0) {
		snprintf(why, size, "not readable: %s", strerror(errno));
		rc = -1;
	}
	free(copy);
	return rc;
}

int config_check_paths(struct config *c)
{
	int added = 0;
	char why[256];

	for (struct config_property *p = c->properties; p; p = p->next) {
		for (size_t i = 0; i < p->n_sources; i++) {
			if (path_problem(p->sources[i], why, sizeof(why)) == 0)
				continue;
			if (add_problem(c, 0, p->id, "[property \"%s\"] source '%s': %s", p->id,
					p->sources[i], why) < 0)
				return added;
			p->path_problems++;
			added++;
		}
	}
	if (c->client_secret_file && path_problem(c->client_secret_file, why, sizeof(why)) != 0) {
		char where[64];
		int line;

		secret_where(c, 0, &line, where, sizeof(where));
		if (add_problem(c, line, NULL, "%s'%s': %s", where, c->client_secret_file, why) ==
		    0)
			added++;
	}
	/* [notify]'s files are not checked here: a problem there is never
	 * worth stopping a night for; unitsync notify and metrics report it */
	return added;
}

int config_notify_configured(const struct config *c)
{
	if (c->notify_line)
		return 1;
	for (const struct config_property *p = c->properties; p; p = p->next)
		if (p->n_notify_email || p->notify_webhook)
			return 1;
	return 0;
}

void config_release(struct config *c)
{
	struct config_property *p, *next;

	free(c->path);
	free(c->base_url);
	free(c->token_url);
	free(c->client_id);
	if (c->client_secret) {
		memset(c->client_secret, 0, strlen(c->client_secret));
		free(c->client_secret);
	}
	free(c->client_secret_file);
	free(c->audience);
	free(c->page_size);
	free(c->smtp_url);
	free(c->smtp_from);
	free(c->smtp_user);
	free(c->smtp_password_file);
	if (c->smtp_password) {
		memset(c->smtp_password, 0, strlen(c->smtp_password));
		free(c->smtp_password);
	}
	free(c->smtp_ca_file);
	free(c->webhook_url);
	free(c->webhook_secret_file);
	if (c->webhook_secret) {
		memset(c->webhook_secret, 0, strlen(c->webhook_secret));
		free(c->webhook_secret);
	}
	free(c->metrics_file);
	free(c->operator_email);
	for (struct config_problem *pr = c->problems, *nx; pr; pr = nx) {
		nx = pr->next;
		free(pr->property);
		free(pr->message);
		free(pr);
	}
	for (p = c->properties; p; p = next) {
		next = p->next;
		free(p->id);
		free(p->format);
		free(p->profile);
		free(p->max_reject);
		free(p->encoding);
		for (size_t i = 0; i < p->n_sources; i++)
			free(p->sources[i]);
		free(p->sources);
		config_free_addresses(p->notify_email, p->n_notify_email);
		free(p->notify_webhook);
		free(p);
	}
	memset(c, 0, sizeof(*c));
}
