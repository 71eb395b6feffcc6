/*
 * unitsync-units - the Latch units of a building (docs/ARCHITECTURE.md §1, §9): list
 * them, create one, and create many from a CSV file or from the PMS units
 * of a property, mapping each to its PMS unit.
 *
 * Bulk creation is safe to rerun: the building's units are listed first
 * and a name the building has is not created again, and each create
 * carries Idempotency-Key = hex SHA-256 of "building:name"
 * (latchunits_key()), so a create whose reply was lost is not made twice.
 * A file is checked whole, against the building and the mapping, before
 * anything is created.  Mapping follows `unitsync map add`'s rules
 * (lib/unitmap.h): one PMS unit -> one Latch unit, never two PMS units
 * onto one Latch unit, every change in map_history.
 *
 * Unit names are compared as bytes, as Latch keeps them unique per
 * building: "0101" and "101" are different units.
 */
#include "cli.h"
#include "config.h"
#include "csvio.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "latch.h"
#include "latchunits.h"
#include "log.h"
#include "sha256.h"
#include "stg.h"
#include "unitmap.h"
#include "unitname.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync units list (--building B | --property P)\n"
	"       unitsync units create (--building B | --property P) NAME\n"
	"       unitsync units import-csv (--building B | --property P) [--by NAME] FILE\n"
	"       unitsync units import-pms --property P [--dry-run] [--by NAME]\n"
	"\n"
	"List and create the Latch units of a building; create them in bulk from a CSV file\n"
	"or from the PMS units of a property, and map them.\n"
	"\n"
	"  --building B             the Latch building (its uuid)\n"
	"  --property P             the property: its Latch building and its unit mapping\n"
	"  --by NAME                who makes the mapping changes, for the history (default: the account running it)\n"
	"  --dry-run                import-pms: print what would be created and mapped, change nothing\n"
	"  --config FILE            configuration file with the [latch] settings\n"
	"                           (default $UNITSYNC_CONFIG)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n"
	"\n"
	"CSV (import-csv): a header line naming the column name and, to map, pms_unit_id.\n";

/* Import problems kept for the report; the rest are only counted. */
#define MAX_PROBLEMS 20

/* What every verb works with. */
struct units {
	const char *building;   /* --building, or the property's Latch building */
	char *building_owned;   /* the property's Latch building, owned */
	const char *property;   /* --property, or NULL */
	const char *by;         /* changed_by: --by, else cli_account() */
	int dry_run;            /* --dry-run */
	sqlite3 *db;            /* the state database, open when --property is given */
	struct latch api;       /* the Latch API client */
	struct latchunits have; /* the building's units, once listed */
};

/* One reason a file or a plan is rejected. */
struct problem {
	long line; /* the line it names, to report in file order (0: none) */
	char *msg; /* owned; NULL when out of memory */
};

struct problems {
	struct problem v[MAX_PROBLEMS]; /* the first found */
	size_t n;                       /* all problems, also those not kept */
};

static void problem(struct problems *p, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct problems *p, long line, const char *fmt, ...)
{
	if (p->n < MAX_PROBLEMS) {
		char msg[1024];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		p->v[p->n].line = line;
		p->v[p->n].msg = strdup(msg);
	}
	p->n++;
}

static int cmp_problem(const void *va, const void *vb)
{
	const struct problem *a = va, *b = vb;

	return (a->line > b->line) - (a->line < b->line);
}

/* Log every kept problem in line order, then the count: the file PATH
 * is rejected, or (PATH NULL) the mapping. */
static void problems_report(struct problems *p, const char *path)
{
	size_t kept = p->n < MAX_PROBLEMS ? p->n : MAX_PROBLEMS;

	qsort(p->v, kept, sizeof(p->v[0]), cmp_problem);
	for (size_t i = 0; i < kept; i++)
		log_error("%s", p->v[i].msg ? p->v[i].msg : "out of memory");
	if (p->n > MAX_PROBLEMS)
		log_error("... and %zu more problems", p->n - MAX_PROBLEMS);
	if (path)
		log_error("'%s' rejected: %zu problem%s, nothing created", path, p->n,
			  p->n == 1 ? "" : "s");
	else
		log_error("%zu problem%s: nothing mapped (rerun to map the units created)", p->n,
			  p->n == 1 ? "" : "s");
}

static void problems_release(struct problems *p)
{
	for (size_t i = 0; i < p->n && i < MAX_PROBLEMS; i++)
		free(p->v[i].msg);
	p->n = 0;
}

/* The exit code for a failed database call: busy means rerun later. */
static int db_fail(sqlite3 *db)
{
	log_error("%s", err_msg());
	return db_exit_code(db);
}

/* Log a failed API call (err_msg()) and choose the exit code. */
static int api_fail(const struct units *u, enum latchunits_status st)
{
	switch (st) {
	case LATCHUNITS_OK:
		return US_EXIT_OK;
	case LATCHUNITS_AUTH:
		log_error("%s (check the [latch] client_id and secret)", err_msg());
		return US_EXIT_CONFIG;
	case LATCHUNITS_NOT_FOUND:
		log_error("%s: Latch has no building '%s'%s", err_msg(), u->building,
			  u->property ? " (see 'unitsync property show')" : "");
		return US_EXIT_DATAERR;
	case LATCHUNITS_EXISTS:
	case LATCHUNITS_REJECTED:
		log_error("%s", err_msg());
		return US_EXIT_DATAERR;
	case LATCHUNITS_TEMPFAIL:
	case LATCHUNITS_BAD_REPLY:
		break;
	}
	log_error("%s; rerun later", err_msg());
	return US_EXIT_TEMPFAIL;
}

/* Identifiers are TEXT: any non-empty string without control characters. */
static int id_valid(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Is S (LEN bytes) well-formed UTF-8 (RFC 3629)? */
static int utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t k;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= len || (s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* Why S (LEN bytes) cannot name a Latch unit, or NULL when it can. */
static const char *name_problem(const char *s, size_t len)
{
	if (!len)
		return "is empty";
	if (strlen(s) != len)
		return "holds a NUL byte";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "holds a control character";
	if (s[0] == ' ' || s[len - 1] == ' ')
		return "begins or ends with a blank";
	if (!utf8_valid((const unsigned char *)s, len))
		return "is not UTF-8";
	return NULL;
}

/* Write S for a TAB-separated line: backslash, and control characters as
 * \xHH, escaped, so that each unit is one line of two fields. */
static void put_field(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

/* ------------------------------------------------------------ list, create */

static int units_list(struct units *u)
{
	enum latchunits_status st = latchunits_list(&u->api, u->building, &u->have);

	if (st != LATCHUNITS_OK)
		return api_fail(u, st);
	for (size_t i = 0; i < u->have.n; i++) {
		put_field(u->have.v[i].uuid);
		putchar('\t');
		put_field(u->have.v[i].name);
		putchar('\n');
	}
	log_info("building '%s': %zu units (%ld page%s)", u->building, u->have.n, u->have.pages,
		 u->have.pages == 1 ? "" : "s");
	return US_EXIT_OK;
}

/*
 * An Idempotency-Key for one `units create`: new for each run (a second
 * run must see the 409 rather than a replay of the first), the same for
 * the retries within it.
 */
static int run_key(const char *building, const char *name, char key[SHA256_HEX_LEN + 1])
{
	unsigned char nonce[16];
	struct sha256 h;

	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memset(nonce, 0, sizeof(nonce));
		memcpy(nonce, &ts, sizeof(ts) < sizeof(nonce) ? sizeof(ts) : sizeof(nonce));
		nonce[15] ^= (unsigned char)getpid();
	}
	if (sha256_init(&h) < 0)
		return -1;
	sha256_update(&h, building, strlen(building));
	sha256_update(&h, ":", 1);
	sha256_update(&h, name, strlen(name));
	sha256_update(&h, ":", 1);
	sha256_update(&h, nonce, sizeof(nonce));
	sha256_final(&h, key);
	return 0;
}

static int units_create(struct units *u, const char *name)
{
	char key[SHA256_HEX_LEN + 1], *uuid = NULL;
	enum latchunits_status st;
	size_t at, count;

	if (run_key(u->building, name, key) < 0) {
		log_error("%s", err_msg());
		return US_EXIT_CONFIG;
	}
	st = latchunits_create(&u->api, u->building, name, key, &uuid);
	if (st == LATCHUNITS_EXISTS) {
		/* name the unit in the way */
		st = latchunits_list(&u->api, u->building, &u->have);
		if (st != LATCHUNITS_OK)
			return api_fail(u, st);
		at = latchunits_find(&u->have, name, &count);
		if (count)
			log_error("building '%s' already has a unit named '%s': %s", u->building,
				  name, u->have.v[at].uuid);
		else
			log_error("building '%s' already has a unit named '%s' (Latch said so, "
				  "but does not list it)",
				  u->building, name);
		return US_EXIT_DATAERR;
	}
	if (st != LATCHUNITS_OK)
		return api_fail(u, st);
	printf("%s\n", uuid);
	log_info("building '%s': created unit '%s'", u->building, name);
	free(uuid);
	return US_EXIT_OK;
}

/* ---------------------------------------------------------------- import */

/* One Latch unit to have, and the PMS unit to map to it. */
struct wanted {
	char *name;  /* the Latch unit's name, owned */
	char *pms;   /* the PMS unit to map to it, owned; NULL: none */
	long line;   /* import-csv: the line it starts on */
	int repeat;  /* the same as an earlier entry: ignored */
	int skip;    /* import-pms: left out, with a warning */
	char *uuid;  /* the Latch unit once known, owned */
	int created; /* this run created it */
};

struct wanted_list {
	struct wanted *v; /* owned array */
	size_t n, cap;
};

static struct wanted *wanted_add(struct wanted_list *w, const char *name, const char *pms,
				 long line)
{
	struct wanted *x;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct wanted *v = realloc(w->v, cap * sizeof(*v));

		if (!v)
			goto oom;
		w->v = v;
		w->cap = cap;
	}
	x = &w->v[w->n++];
	memset(x, 0, sizeof(*x));
	x->line = line;
	x->name = strdup(name);
	x->pms = pms ? strdup(pms) : NULL;
	if (!x->name || (pms && !x->pms))
		goto oom;
	return x;
oom:
	err_set("out of memory");
	return NULL;
}

static void wanted_release(struct wanted_list *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].name);
		free(w->v[i].pms);
		free(w->v[i].uuid);
	}
	free(w->v);
	memset(w, 0, sizeof(*w));
}

/* Order entries by name, then PMS unit, then line. */
static int cmp_by_name(const void *va, const void *vb)
{
	const struct wanted *a = *(struct wanted *const *)va, *b = *(struct wanted *const *)vb;
	int c = strcmp(a->name, b->name);

	if (!c)
		c = strcmp(a->pms ? a->pms : "", b->pms ? b->pms : "");
	return c ? c : (a->line > b->line) - (a->line < b->line);
}

static int cmp_by_pms(const void *va, const void *vb)
{
	const struct wanted *a = *(struct wanted *const *)va, *b = *(struct wanted *const *)vb;
	int c = strcmp(a->pms, b->pms);

	return c ? c : (a->line > b->line) - (a->line < b->line);
}

/* A CSV file being read. */
struct csv_import {
	const char *path;       /* the file, for messages */
	int col_name, col_pms;  /* field index of each column; -1: none */
	int have_header;        /* the header line was read */
	const char *property;   /* --property, or NULL: no mapping possible */
	struct wanted_list *w;  /* the rows, borrowed */
	struct problems *probs; /* borrowed */
};

/* Is header field S column NAME?  Case and surrounding blanks ignored. */
static int header_is(const char *s, const char *name)
{
	size_t n = strlen(name);

	while (*s == ' ' || *s == '\t')
		s++;
	if (strncasecmp(s, name, n))
		return 0;
	for (s += n; *s == ' ' || *s == '\t'; s++)
		;
	return *s == '\0';
}

static int read_header(const struct csvio_row *row, struct csv_import *im)
{
	im->col_name = im->col_pms = -1;
	for (size_t i = 0; i < row->n; i++) {
		int *col = header_is(row->fields[i], "name")          ? &im->col_name
			   : header_is(row->fields[i], "pms_unit_id") ? &im->col_pms
								      : NULL;

		if (!col)
			continue;
		if (*col >= 0) {
			err_set("'%s' line %ld: column %s appears twice", im->path, row->line,
				row->fields[i]);
			return -1;
		}
		*col = (int)i;
	}
	if (im->col_name < 0) {
		err_set("'%s' line %ld: no name column (the header names the columns name and, "
			"optionally, pms_unit_id)",
			im->path, row->line);
		return -1;
	}
	im->have_header = 1;
	return 0;
}

/* csvio_read() callback: the header, then one unit per record. */
static int on_row(const struct csvio_row *row, void *ctx)
{
	struct csv_import *im = ctx;
	const char *name, *pms = NULL, *why;
	size_t nlen, plen = 0;

	if (!im->have_header)
		return read_header(row, im);
	name = (size_t)im->col_name < row->n ? row->fields[im->col_name] : "";
	nlen = (size_t)im->col_name < row->n ? row->lens[im->col_name] : 0;
	why = name_problem(name, nlen);
	if (why) {
		problem(im->probs, row->line, "'%s' line %ld: the name %s", im->path, row->line,
			why);
		return 0;
	}
	if (im->col_pms >= 0 && (size_t)im->col_pms < row->n) {
		char *f = row->fields[im->col_pms];
		const char *t = csvio_trim(f, row->lens[im->col_pms], &plen);

		/* the PMS unit id as extract stages it: trimmed (csvio_trim());
		 * blanks only are no PMS unit, as an empty field */
		memmove(f, t, plen);
		f[plen] = '\0';
		pms = plen ? f : NULL;
	}
	if (pms) {
		if (strlen(pms) != plen || !id_valid(pms)) {
			problem(im->probs, row->line,
				"'%s' line %ld: the pms_unit_id holds a control character",
				im->path, row->line);
			return 0;
		}
		if (!im->property) {
			problem(im->probs, row->line,
				"'%s' line %ld: pms_unit_id '%s' needs --property (whose PMS unit is "
				"it?)",
				im->path, row->line, pms);
			return 0;
		}
	}
	return wanted_add(im->w, name, pms, row->line) ? 0 : -1;
}

/*
 * Checks that need only the file: a name given twice with different PMS
 * units, a PMS unit given two names.  A row repeated as it is is ignored.
 */
static int check_file(const char *path, struct wanted_list *w, struct problems *probs)
{
	struct wanted **idx = malloc((w->n ? w->n : 1) * sizeof(*idx));
	size_t n = 0;

	if (!idx) {
		err_set("out of memory");
		return -1;
	}
	for (size_t i = 0; i < w->n; i++)
		idx[i] = &w->v[i];
	qsort(idx, w->n, sizeof(*idx), cmp_by_name);
	for (size_t i = 1; i < w->n; i++) {
		struct wanted *a = idx[i - 1], *b = idx[i];

		if (strcmp(a->name, b->name))
			continue;
		if (!a->pms == !b->pms && (!a->pms || !strcmp(a->pms, b->pms))) {
			b->repeat = 1;
			continue;
		}
		problem(probs, a->line,
			"'%s' lines %ld and %ld: unit '%s' is given two PMS units ('%s' and '%s')",
			path, a->line, b->line, a->name, a->pms ? a->pms : "",
			b->pms ? b->pms : "");
	}
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].pms && !w->v[i].repeat)
			idx[n++] = &w->v[i];
	qsort(idx, n, sizeof(*idx), cmp_by_pms);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(idx[i - 1]->pms, idx[i]->pms))
			problem(probs, idx[i - 1]->line,
				"'%s' lines %ld and %ld: PMS unit '%s' is given two Latch units ('%s' "
				"and '%s')",
				path, idx[i - 1]->line, idx[i]->line, idx[i]->pms, idx[i - 1]->name,
				idx[i]->name);
	free(idx);
	return 0;
}

/* "line N: " for messages about an import-csv row, "" for import-pms. */
static const char *where(const char *path, const struct wanted *x, char *buf, size_t size)
{
	if (!path)
		return "";
	snprintf(buf, size, "'%s' line %ld: ", path, x->line);
	return buf;
}

/*
 * Resolve each entry against the building's units (u->have) and the
 * mapping: x->uuid for a name the building has.  A mapping the rules
 * forbid (a Latch unit mapped from another PMS unit) is a problem
 * (import-csv: PATH names the file) or, for import-pms (PATH NULL), a
 * warning that leaves the entry out.  -1 on a database error.
 */
static int resolve(struct units *u, struct unitmap *m, const char *path, struct wanted_list *w,
		   struct problems *probs)
{
	char *op = NULL, *opms = NULL, buf[1200];
	int rc = -1;

	for (size_t i = 0; i < w->n; i++) {
		struct wanted *x = &w->v[i];
		size_t count, at = latchunits_find(&u->have, x->name, &count);
		const char *why = NULL;
		char msg[1024];

		if (x->repeat || x->skip)
			continue;
		free(x->uuid);
		x->uuid = NULL;
		if (count) {
			/* several of that name: it exists; mapping it is refused below */
			x->uuid = strdup(u->have.v[at].uuid);
			if (!x->uuid) {
				err_set("out of memory");
				goto out;
			}
		}
		if (!x->pms)
			continue;
		if (count > 1) {
			snprintf(msg, sizeof(msg),
				 "building '%s' has %zu units named '%s': map PMS unit '%s' by hand "
				 "('unitsync map add')",
				 u->building, count, x->name, x->pms);
			why = msg;
		}
		if (!why && x->uuid) {
			if (unitmap_owner(m, x->uuid, &op, &opms) < 0)
				goto out;
			if (op && (strcmp(op, u->property) || strcmp(opms, x->pms))) {
				snprintf(msg, sizeof(msg),
					 "Latch unit '%s' (%s) is already mapped from PMS unit '%s' of "
					 "property '%s'; cannot also map PMS unit '%s' to it",
					 x->name, x->uuid, opms, op, x->pms);
				why = msg;
			}
			free(op);
			free(opms);
			op = opms = NULL;
		}
		if (!why)
			continue;
		if (path) {
			problem(probs, x->line, "%s%s", where(path, x, buf, sizeof(buf)), why);
		} else {
			log_warn("%s; left out", why);
			x->skip = 1;
		}
	}
	rc = 0;
out:
	free(op);
	free(opms);
	return rc;
}

/*
 * Create the entries the building does not have, in order.  Stops at the
 * first failure and returns its status; *CREATED counts what was made.
 */
static enum latchunits_status create_missing(struct units *u, struct wanted_list *w, long *created)
{
	enum latchunits_status st = LATCHUNITS_OK;

	for (size_t i = 0; i < w->n && st == LATCHUNITS_OK; i++) {
		struct wanted *x = &w->v[i];
		char key[SHA256_HEX_LEN + 1];
		size_t count, at;

		if (x->repeat || x->skip || x->uuid)
			continue;
		if (latchunits_key(u->building, x->name, key) < 0)
			return LATCHUNITS_BAD_REPLY;
		st = latchunits_create(&u->api, u->building, x->name, key, &x->uuid);
		if (st == LATCHUNITS_OK) {
			x->created = 1;
			(*created)++;
			if (latchunits_add(&u->have, x->uuid, x->name) < 0)
				st = LATCHUNITS_BAD_REPLY;
			continue;
		}
		if (st != LATCHUNITS_EXISTS)
			break;
		/* made meanwhile by someone else: take it as found */
		st = latchunits_list(&u->api, u->building, &u->have);
		if (st != LATCHUNITS_OK)
			break;
		at = latchunits_find(&u->have, x->name, &count);
		if (count != 1) {
			err_set("building '%s': unit '%s' exists but is listed %zu times",
				u->building, x->name, count);
			st = LATCHUNITS_BAD_REPLY;
			break;
		}
		x->uuid = strdup(u->have.v[at].uuid);
		if (!x->uuid) {
			err_set("out of memory");
			st = LATCHUNITS_BAD_REPLY;
		}
	}
	return st;
}

/*
 * Map every entry with a PMS unit and a Latch unit, in one transaction,
 * checking the rules again (the mapping may have changed while units were
 * being created).  With REMAP a PMS unit mapped to another Latch unit is
 * remapped (import-csv: the file says so, as `map add` does); without, it
 * is left as it is, with a warning (import-pms maps unmapped units only).
 * *MAPPED counts the mappings added or changed.  Returns an exit code.
 */
static int map_all(struct units *u, struct unitmap *m, struct wanted_list *w, int remap,
		   long *mapped)
{
	char *now = NULL, *op = NULL, *opms = NULL;
	struct problems probs = { 0 };
	int rc = -1; /* -1: a database error */

	*mapped = 0;
	if (db_begin(u->db) < 0)
		return db_fail(u->db);
	for (size_t i = 0; i < w->n; i++) {
		struct wanted *x = &w->v[i];

		if (x->repeat || x->skip || !x->pms || !x->uuid)
			continue;
		if (unitmap_get(m, u->property, x->pms, &now) < 0 ||
		    unitmap_owner(m, x->uuid, &op, &opms) < 0)
			goto out;
		if (op && (strcmp(op, u->property) || strcmp(opms, x->pms))) {
			problem(&probs, x->line,
				"Latch unit '%s' (%s) was mapped from PMS unit '%s' of property '%s' "
				"meanwhile; PMS unit '%s' left unmapped",
				x->name, x->uuid, opms, op, x->pms);
		} else if (now && strcmp(now, x->uuid) && !remap) {
			log_warn("PMS unit '%s' was mapped to Latch unit '%s' meanwhile; left as it is",
				 x->pms, now);
		} else if (!now || strcmp(now, x->uuid)) {
			if (unitmap_set(m, u->property, x->pms, x->uuid, now) < 0)
				goto out;
			if (now)
				log_info("property '%s': PMS unit '%s' -> Latch unit '%s' (changed from "
					 "'%s')",
					 u->property, x->pms, x->uuid, now);
			(*mapped)++;
		}
		free(now);
		free(op);
		free(opms);
		now = op = opms = NULL;
	}
	if (probs.n) {
		problems_report(&probs, NULL);
		rc = US_EXIT_DATAERR;
		goto out;
	}
	if (db_commit(u->db) < 0)
		goto out;
	rc = US_EXIT_OK;
out:
	if (rc < 0) {
		err_prefix("cannot map the units of property '%s'", u->property);
		rc = db_fail(u->db);
	}
	if (rc != US_EXIT_OK) {
		db_rollback(u->db);
		*mapped = 0;
	}
	free(now);
	free(op);
	free(opms);
	problems_release(&probs);
	return rc;
}

static int units_import_csv(struct units *u, const char *path)
{
	struct wanted_list w = { 0 };
	struct problems probs = { 0 };
	struct csv_import im = { .path = path, .property = u->property, .w = &w, .probs = &probs };
	struct unitmap m = { 0 };
	enum latchunits_status st;
	long created = 0, existing = 0, mapped = 0;
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
	int rc = US_EXIT_DATAERR, map_rc = US_EXIT_OK;

	if (!fp) {
		log_error("cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	if (csvio_read(fp, path, on_row, &im) < 0) {
		log_error("%s; nothing created", err_msg());
		goto out;
	}
	if (!im.have_header) {
		log_error("'%s' is empty (expected a header line naming the column name)", path);
		goto out;
	}
	if (check_file(path, &w, &probs) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_TEMPFAIL;
		goto out;
	}
	if (probs.n) {
		problems_report(&probs, path);
		goto out;
	}
	st = latchunits_list(&u->api, u->building, &u->have);
	if (st != LATCHUNITS_OK) {
		rc = api_fail(u, st);
		goto out;
	}
	if (u->db && unitmap_init(&m, u->db, u->by) < 0) {
		rc = db_fail(u->db);
		goto out;
	}
	if (resolve(u, &m, path, &w, &probs) < 0) {
		rc = db_fail(u->db);
		goto out;
	}
	if (probs.n) {
		problems_report(&probs, path);
		goto out;
	}
	st = create_missing(u, &w, &created);
	for (size_t i = 0; i < w.n; i++)
		existing += !w.v[i].repeat && w.v[i].uuid && !w.v[i].created;
	if (u->db)
		map_rc = map_all(u, &m, &w, 1, &mapped);
	printf("%ld created, %ld existing, %ld mapped\n", created, existing, mapped);
	rc = st != LATCHUNITS_OK ? api_fail(u, st) : map_rc;
out:
	if (fp && fp != stdin)
		fclose(fp);
	unitmap_release(&m);
	wanted_release(&w);
	problems_release(&probs);
	return rc;
}

/*
 * import-pms: leave out every entry that would create a Latch unit whose
 * name normalizes (lib/unitname.h) like a unit the building has ("411"
 * beside "Apt 411"): that unit is most likely the PMS unit's own door,
 * named by hand, and a twin would take its residents.  Each is warned of
 * with where the PMS unit was staged from and the candidates, for a
 * person to map by hand.  -1 (with err_set()) on a database error.
 */
static int leave_out_ambiguous(struct units *u, struct wanted_list *w)
{
	char(*keys)[UNITNAME_MAX] = NULL;
	char key[UNITNAME_MAX], *src = NULL;
	int rc = -1;

	keys = malloc((u->have.n ? u->have.n : 1) * sizeof(*keys));
	if (!keys) {
		err_set("out of memory");
		goto out;
	}
	/* a name too long to normalize, or nothing but designators, matches nothing */
	for (size_t i = 0; i < u->have.n; i++)
		if (unitname_normalize(u->have.v[i].name, keys[i], sizeof(keys[i])) <= 0)
			keys[i][0] = '\0';
	for (size_t i = 0; i < w->n; i++) {
		struct wanted *x = &w->v[i];
		char cands[1024] = "";
		size_t used = 0, n = 0;

		if (x->repeat || x->skip || x->uuid ||
		    unitname_normalize(x->name, key, sizeof(key)) <= 0)
			continue;
		for (size_t j = 0; j < u->have.n; j++) {
			if (!keys[j][0] || strcmp(keys[j], key))
				continue;
			if (used < sizeof(cands))
				used += (size_t)snprintf(cands + used, sizeof(cands) - used,
							 "%s'%s' (%s)", n ? ", " : "",
							 u->have.v[j].name, u->have.v[j].uuid);
			n++;
		}
		if (!n)
			continue;
		free(src);
		if (unitmap_unit_source(u->db, u->property, x->pms, &src) < 0)
			goto out;
		log_warn("%s%sPMS unit '%s': ambiguous: a new Latch unit '%s' would be named like "
			 "%s of building '%s' (normalized '%s'); nothing created for it (map it by "
			 "hand: 'unitsync map add --property %s %s LATCH_UNIT')",
			 src, *src ? ": " : "", x->pms, x->name, cands, u->building, key,
			 u->property, x->pms);
		x->skip = 1;
	}
	rc = 0;
out:
	free(keys);
	free(src);
	return rc;
}

/*
 * One Latch unit for each unmapped dwelling PMS unit of the property,
 * named by its label; a unit of that name the building has and nobody
 * maps to is mapped instead of made again, and none is made whose name
 * normalizes like one the building has (leave_out_ambiguous()).
 */
static int units_import_pms(struct units *u)
{
	struct unitmap_units pms = { 0 };
	struct wanted_list w = { 0 };
	struct wanted **idx = NULL;
	struct unitmap m = { 0 };
	enum latchunits_status st;
	long created = 0, existing = 0, mapped = 0, skipped = 0, to_map = 0;
	int rc = US_EXIT_CONFIG, map_rc = US_EXIT_OK;

	if (unitmap_staged_units(u->db, u->property, &pms) < 0 ||
	    unitmap_init(&m, u->db, u->by) < 0) {
		rc = db_fail(u->db);
		goto out;
	}
	if (!pms.n) {
		log_error("property '%s' has no staged PMS units (stage its export with 'unitsync "
			  "extract-csv' or 'unitsync extract-xml' first)",
			  u->property);
		rc = US_EXIT_DATAERR;
		goto out;
	}
	for (size_t i = 0; i < pms.n; i++) {
		const struct unitmap_unit *p = &pms.v[i];
		const char *name = p->label, *why;
		struct wanted *x;

		if (!p->dwelling || p->latch_unit_id)
			continue;
		why = name_problem(name, strlen(name));
		if (why && !name_problem(p->pms_unit_id, strlen(p->pms_unit_id))) {
			log_warn("PMS unit '%s': its label '%s' %s; named by its id instead",
				 p->pms_unit_id, name, why);
			name = p->pms_unit_id;
			why = NULL;
		}
		x = wanted_add(&w, name, p->pms_unit_id, (long)i + 1);
		if (!x) {
			log_error("%s", err_msg());
			goto out;
		}
		if (why) {
			log_warn("PMS unit '%s': its name '%s' %s; left out", p->pms_unit_id, name,
				 why);
			x->skip = 1;
		}
	}
	/* two PMS units of one name cannot both have it: a person decides */
	idx = malloc((w.n ? w.n : 1) * sizeof(*idx));
	if (!idx) {
		log_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < w.n; i++)
		idx[i] = &w.v[i];
	qsort(idx, w.n, sizeof(*idx), cmp_by_name);
	for (size_t i = 0, j; i < w.n; i = j) {
		for (j = i + 1; j < w.n && !strcmp(idx[i]->name, idx[j]->name); j++)
			;
		if (j - i < 2)
			continue;
		log_warn("PMS units '%s' and '%s'%s have the same name '%s', and a Latch unit "
			 "name is unique in its building; left out (map them by hand)",
			 idx[i]->pms, idx[i + 1]->pms, j - i > 2 ? " and more" : "", idx[i]->name);
		for (size_t k = i; k < j; k++)
			idx[k]->skip = 1;
	}
	st = latchunits_list(&u->api, u->building, &u->have);
	if (st != LATCHUNITS_OK) {
		rc = api_fail(u, st);
		goto out;
	}
	if (resolve(u, &m, NULL, &w, NULL) < 0 || leave_out_ambiguous(u, &w) < 0) {
		rc = db_fail(u->db);
		goto out;
	}
	for (size_t i = 0; i < w.n; i++) {
		struct wanted *x = &w.v[i];

		skipped += x->skip;
		existing += !x->skip && x->uuid;
		to_map += !x->skip;
		if (!u->dry_run || x->skip)
			continue;
		if (x->uuid)
			printf("map\t%s\t%s\t%s\n", x->pms, x->name, x->uuid);
		else
			printf("create\t%s\t%s\n", x->pms, x->name);
	}
	if (u->dry_run) {
		printf("dry run: %ld to create, %ld existing, %ld to map, %ld skipped\n",
		       to_map - existing, existing, to_map, skipped);
		rc = skipped ? US_EXIT_FAILED : US_EXIT_OK; /* as the import would */
		goto out;
	}
	st = create_missing(u, &w, &created);
	existing = 0;
	for (size_t i = 0; i < w.n; i++)
		existing += !w.v[i].skip && w.v[i].uuid && !w.v[i].created;
	map_rc = map_all(u, &m, &w, 0, &mapped);
	printf("%ld created, %ld existing, %ld mapped, %ld skipped\n", created, existing, mapped,
	       skipped);
	if (st != LATCHUNITS_OK)
		rc = api_fail(u, st);
	else if (map_rc != US_EXIT_OK)
		rc = map_rc;
	else
		rc = skipped ? US_EXIT_FAILED : US_EXIT_OK;
out:
	free(idx);
	unitmap_release(&m);
	unitmap_units_release(&pms);
	wanted_release(&w);
	return rc;
}

int main(int argc, char **argv)
{
	static const char *const verbs[] = { "list", "create", "import-csv", "import-pms", NULL };
	static const struct option opts[] = {
		{ "building", required_argument, NULL, 'b' },
		{ "property", required_argument, NULL, 'p' },
		{ "by", required_argument, NULL, 'y' },
		{ "dry-run", no_argument, NULL, 'n' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct config cfg = { 0 };
	struct units u = { 0 };
	const char *verb, *building = NULL, *by = NULL;
	char account[64];
	int rc = US_EXIT_USAGE, opt, want, api_ready = 0;

	latchunits_init(&u.have);
	cli_common_init(&cli, "unitsync-units", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		switch (opt) {
		case 'b':
			building = optarg;
			break;
		case 'p':
			u.property = optarg;
			break;
		case 'y':
			by = optarg;
			break;
		case 'n':
			u.dry_run = 1;
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				rc = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	verb = cli_check_verb(&cli, optind < argc ? argv[optind++] : NULL, verbs);
	if (!verb)
		goto out;
	want = !strcmp(verb, "create") || !strcmp(verb, "import-csv");
	if (argc - optind != want) {
		if (argc - optind > want)
			cli_usage_error(&cli, "unexpected argument '%s'", argv[optind + want]);
		else
			cli_usage_error(&cli, "%s needs %s", verb,
					!strcmp(verb, "create") ? "NAME" : "FILE");
		goto out;
	}
	if (!strcmp(verb, "import-pms")) {
		if (!u.property || building) {
			cli_usage_error(&cli, "import-pms needs --property (and no --building)");
			goto out;
		}
	} else if (!u.property == !building) {
		cli_usage_error(&cli, "%s needs --building or --property (one of them)", verb);
		goto out;
	}
	if (u.dry_run && strcmp(verb, "import-pms")) {
		cli_usage_error(&cli, "--dry-run goes with import-pms only");
		goto out;
	}
	if (by && strncmp(verb, "import-", 7)) {
		cli_usage_error(&cli, "--by goes with import-csv and import-pms only");
		goto out;
	}
	if ((by && !id_valid(by)) || (u.property && !id_valid(u.property)) ||
	    (building && !id_valid(building))) {
		cli_usage_error(&cli,
				"--by, --property and --building need a value without control "
				"characters");
		goto out;
	}
	if (!strcmp(verb, "create") && name_problem(argv[optind], strlen(argv[optind]))) {
		cli_usage_error(&cli, "the unit name %s",
				name_problem(argv[optind], strlen(argv[optind])));
		goto out;
	}
	if (!by) {
		cli_account(account, sizeof(account));
		by = account;
	}
	u.by = by;
	u.building = building;
	if (u.property) {
		int e;

		if (db_open(cli.db_path, 0, &u.db) < 0) {
			log_error("%s", err_msg());
			rc = db_exit_code(NULL);
			goto out;
		}
		e = unitmap_property(u.db, u.property, &u.building_owned);
		if (e < 0) {
			rc = db_fail(u.db);
			goto out;
		}
		if (!e) {
			rc = stg_property_unknown(u.db, u.property) == -1 ? db_fail(u.db)
									  : US_EXIT_DATAERR;
			if (rc == US_EXIT_DATAERR)
				log_error("%s", err_msg());
			goto out;
		}
		if (!u.building_owned) {
			log_error("property '%s' has no Latch building (set it with 'unitsync "
				  "property set %s --latch-building UUID')",
				  u.property, u.property);
			rc = US_EXIT_CONFIG;
			goto out;
		}
		u.building = u.building_owned;
	}
	if (config_load(&cfg, cli.config_path) < 0 || config_require_latch(&cfg) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	if (latch_init(&u.api, &cfg) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	api_ready = 1;
	if (!strcmp(verb, "list"))
		rc = units_list(&u);
	else if (!strcmp(verb, "create"))
		rc = units_create(&u, argv[optind]);
	else if (!strcmp(verb, "import-csv"))
		rc = units_import_csv(&u, argv[optind]);
	else
		rc = units_import_pms(&u);
out:
	if (api_ready)
		latch_release(&u.api);
	latchunits_release(&u.have);
	free(u.building_owned);
	db_close(u.db);
	config_release(&cfg);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
