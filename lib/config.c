#include "config.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct parse_state {
	struct config *c;             /* being filled */
	char *dir;                    /* the config file's folder, owned */
	char *bad;                    /* first semantic error, owned */
	struct config_property *last; /* tail of c->properties */
};

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -1;
	free(*dst);
	*dst = s;
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

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	struct config *c = ps->c;
	char id[256];

	if (!strcmp(section, "latch")) {
		if (!strcmp(name, "base_url"))
			return set_str(&c->base_url, value) == 0;
		if (!strcmp(name, "token_url"))
			return set_str(&c->token_url, value) == 0;
		if (!strcmp(name, "client_id"))
			return set_str(&c->client_id, value) == 0;
		if (!strcmp(name, "client_secret_file")) {
			char *path = resolve(ps->dir, value);

			free(c->client_secret_file);
			c->client_secret_file = path;
			return path != NULL;
		}
		if (!strcmp(name, "audience"))
			return set_str(&c->audience, value) == 0;
		if (!strcmp(name, "client_secret")) {
			/* a secret in a world-readable config is a leak waiting to happen */
			return 0;
		}
		return 0;
	}
	if (property_section(section, id, sizeof(id)) == 0) {
		struct config_property *p = find_or_add(ps, id);

		if (!p)
			return 0;
		if (!strcmp(name, "format")) {
			if (strcmp(value, "xml") && strcmp(value, "csv"))
				return 0;
			return set_str(&p->format, value) == 0;
		}
		if (!strcmp(name, "profile"))
			return set_str(&p->profile, value) == 0;
		if (!strcmp(name, "source")) {
			char **s = realloc(p->sources, (p->n_sources + 1) * sizeof(*s));

			if (!s)
				return 0;
			p->sources = s;
			s[p->n_sources] = resolve(ps->dir, value);
			if (!s[p->n_sources])
				return 0;
			p->n_sources++;
			return 1;
		}
		return 0;
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
		line = ini_parse_file(fp, on_value, &ps);
		fclose(fp);
		if (line != 0) {
			err_set("config '%s' line %d: unknown section or key, bad value, or syntax error "
				"(client_secret must come from client_secret_file or UNITSYNC_CLIENT_SECRET)",
				path, line);
			goto out;
		}
	}
	if (override(&c->base_url, "UNITSYNC_LATCH_URL") < 0 ||
	    override(&c->token_url, "UNITSYNC_TOKEN_URL") < 0 ||
	    override(&c->client_id, "UNITSYNC_CLIENT_ID") < 0 ||
	    override(&c->client_secret_file, "UNITSYNC_CLIENT_SECRET_FILE") < 0 ||
	    override(&c->client_secret, "UNITSYNC_CLIENT_SECRET") < 0) {
		err_set("out of memory");
		goto out;
	}
	rc = 0;
out:
	free(ps.dir);
	return rc;
}

int config_read_secret(struct config *c)
{
	char line[1024];
	struct stat st;
	FILE *fp;
	size_t n;

	if (c->client_secret)
		return 0;
	if (!c->client_secret_file) {
		err_set("no client secret: set [latch] client_secret_file or UNITSYNC_CLIENT_SECRET");
		return -1;
	}
	fp = fopen(c->client_secret_file, "r");
	if (!fp) {
		err_set("cannot open client secret file '%s': %s", c->client_secret_file,
			strerror(errno));
		return -1;
	}
	/* as ssh does with private keys: a secret others can read is not one */
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 077)) {
		err_set("client secret file '%s' is readable by others (mode %04o): chmod 600 it",
			c->client_secret_file, (unsigned)(st.st_mode & 07777));
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
		err_set("client secret file '%s' is empty", c->client_secret_file);
		return -1;
	}
	c->client_secret = strdup(line);
	memset(line, 0, sizeof(line));
	if (!c->client_secret) {
		err_set("out of memory");
		return -1;
	}
	return 0;
}

int config_require_latch(struct config *c)
{
	if (!c->base_url) {
		err_set("no Latch API URL: set [latch] base_url or UNITSYNC_LATCH_URL");
		return -1;
	}
	if (!c->token_url) {
		err_set("no token URL: set [latch] token_url or UNITSYNC_TOKEN_URL");
		return -1;
	}
	if (!c->client_id) {
		err_set("no client id: set [latch] client_id or UNITSYNC_CLIENT_ID");
		return -1;
	}
	return config_read_secret(c);
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
	for (p = c->properties; p; p = next) {
		next = p->next;
		free(p->id);
		free(p->format);
		free(p->profile);
		for (size_t i = 0; i < p->n_sources; i++)
			free(p->sources[i]);
		free(p->sources);
		free(p);
	}
	memset(c, 0, sizeof(*c));
}
