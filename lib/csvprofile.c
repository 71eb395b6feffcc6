/*
 * csvprofile.c - the PMS CSV export profiles and their rows (csvprofile.h).
 */
#include "csvprofile.h"
#include "csvio.h"
#include "date.h"
#include "err.h"
#include "extract.h"
#include "log.h"
#include "sha256.h"
#include "status.h"

#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Fields a CSV column can give. */
enum field {
	F_PROPERTY,
	F_PERSON,
	F_HOUSEHOLD,
	F_UNIT,
	F_ROLE,
	F_STATUS,
	F_FIRST,
	F_LAST,
	F_EMAIL,
	F_PHONE,
	F_MOVE_IN,
	F_MOVE_OUT,
	F_EXPECTED_OUT,
	F_LEASE_FROM,
	F_LEASE_TO,
	F_NAME,         /* a whole name: "First Last" or "Last, First" */
	F_UNIT_LABEL,   /* the unit as people write it ("101"), beside a stable F_UNIT */
	F_UNIT_TYPE,    /* garage, parking, storage, ... mark a non-dwelling unit */
	F_GROUP,        /* the PMS's own property (AppFolio "Property"): scopes the unit */
	F_LAYOUT,       /* BD/BA: read only to tell heading rows from vacant units */
	F_MOVE_OUT_ANY, /* a move-out date: actual for past residents, else expected */
	N_FIELDS
};

/* Canonical field names, as messages show them. */
static const char *const field_names[N_FIELDS] = {
	[F_PROPERTY] = "property_id",
	[F_PERSON] = "pms_person_id",
	[F_HOUSEHOLD] = "household_id",
	[F_UNIT] = "pms_unit_id",
	[F_ROLE] = "role",
	[F_STATUS] = "status",
	[F_FIRST] = "first_name",
	[F_LAST] = "last_name",
	[F_EMAIL] = "email",
	[F_PHONE] = "phone",
	[F_MOVE_IN] = "move_in",
	[F_MOVE_OUT] = "move_out",
	[F_EXPECTED_OUT] = "expected_move_out",
	[F_LEASE_FROM] = "lease_from",
	[F_LEASE_TO] = "lease_to",
	[F_NAME] = "name",
	[F_UNIT_LABEL] = "unit",
	[F_UNIT_TYPE] = "unit_type",
	[F_GROUP] = "pms_property",
	[F_LAYOUT] = "layout",
	[F_MOVE_OUT_ANY] = "move_out",
};

/* The date fields, in the order their errors are reported. */
static const enum field date_fields[] = { F_MOVE_IN,    F_MOVE_OUT, F_EXPECTED_OUT,
					  F_LEASE_FROM, F_LEASE_TO, F_MOVE_OUT_ANY };

/* The identifier fields Excel can damage, and whether a unit code. */
static const struct {
	enum field field;
	int unit; /* a unit code: also refused when it became a date */
} id_fields[] = {
	{ F_UNIT, 1 },
	{ F_UNIT_LABEL, 1 },
	{ F_PERSON, 0 },
	{ F_HOUSEHOLD, 0 },
};

enum need {
	OPTIONAL,
	REQUIRED,
	REQUIRED_WITHOUT_PROPERTY, /* required unless --property is given */
};

#define MAX_ALIASES 4

/* One field of a profile: the header names that give it, best first. */
struct profile_column {
	enum field field;
	enum need need;
	const char *aliases[MAX_ALIASES]; /* compared folded (fold()); NULL ends */
};

/* A row is a total when the cell of FIELD matches RE (POSIX ERE, any case). */
struct pattern {
	enum field field;
	const char *re;
};

/* What a profile's layout holds besides its columns. */
enum profile_flag {
	P_HEADINGS = 1 << 0,      /* a row with only a unit cell is a property heading */
	P_VACANT_ROWS = 1 << 1,   /* a unit row without a resident is a vacant unit */
	P_DERIVE_PERSON = 1 << 2, /* rows without a person id get a derived one */
	P_REPEATS_SKIP = 1 << 3,  /* a person listed again (another event) is skipped */
	P_CONTINUATION = 1 << 4,  /* a row without unit or resident continues the one above */
	P_NOTICE_FROM_MOVE_OUT = 1 << 5, /* current with a move-out date is on notice */
};

/* A PMS export layout. */
struct csvprofile {
	const char *name;                     /* --profile NAME, and the snapshot's dialect */
	const struct profile_column *columns; /* static table */
	size_t n;                             /* entries in columns */
	int header_rows;                      /* 1, or 2 when the header is split over two */
	int preamble;                         /* title rows allowed before the header */
	unsigned flags;                       /* enum profile_flag */
	const char *default_status;           /* status of a resident row when the
					       * export has no status column, or NULL */
	const struct pattern *totals;         /* total rows; NULL-terminated by re */
	const char *const *banners;           /* section banners giving the status of the
					       * rows below (first cell); NULL-terminated */
	const char *const *tail;              /* a first cell after which every row is a
					       * summary to skip; NULL-terminated */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct profile_column generic_columns[] = {
	{ F_PROPERTY, REQUIRED_WITHOUT_PROPERTY, { "property_id" } },
	{ F_UNIT, REQUIRED, { "pms_unit_id" } },
	{ F_PERSON, REQUIRED, { "pms_person_id" } },
	{ F_HOUSEHOLD, OPTIONAL, { "household_id" } },
	{ F_ROLE, OPTIONAL, { "role" } },
	{ F_STATUS, REQUIRED, { "status" } },
	{ F_FIRST, OPTIONAL, { "first_name" } },
	{ F_LAST, OPTIONAL, { "last_name" } },
	{ F_EMAIL, OPTIONAL, { "email" } },
	{ F_PHONE, OPTIONAL, { "phone" } },
	{ F_MOVE_IN, OPTIONAL, { "move_in" } },
	{ F_MOVE_OUT, OPTIONAL, { "move_out" } },
	{ F_EXPECTED_OUT, OPTIONAL, { "expected_move_out" } },
	{ F_LEASE_FROM, OPTIONAL, { "lease_from" } },
	{ F_LEASE_TO, OPTIONAL, { "lease_to" } },
};

/*
 * AppFolio Rent Roll (Reports > Rent Roll, exported as CSV): one row per
 * unit, grouped under a heading row per property ("Name - Address"),
 * groups closed by "69 Units,,,,95.7% Occupied" and the file by "Total 609
 * Units"; single-family homes have an empty Unit cell.  Statuses: Current,
 * Notice, Evict, Vacant-Rented, Vacant-Unrented.
 */
static const struct profile_column appfolio_rent_roll_columns[] = {
	{ F_UNIT_LABEL, REQUIRED, { "Unit" } },
	{ F_NAME, REQUIRED, { "Tenant" } },
	{ F_STATUS, OPTIONAL, { "Status" } },
	{ F_UNIT_TYPE, OPTIONAL, { "Unit Type" } },
	{ F_LAYOUT, OPTIONAL, { "BD/BA", "Bed/Bath" } },
	{ F_GROUP, OPTIONAL, { "Property" } },
	{ F_MOVE_IN, OPTIONAL, { "Move-in" } },
	{ F_MOVE_OUT_ANY, OPTIONAL, { "Move-out" } },
	{ F_LEASE_FROM, OPTIONAL, { "Lease From" } },
	{ F_LEASE_TO, OPTIONAL, { "Lease To", "Lease Expires" } },
	{ F_EMAIL, OPTIONAL, { "Email", "Emails" } },
	{ F_PHONE, OPTIONAL, { "Phone Numbers", "Phone" } },
};

static const struct pattern appfolio_rent_roll_totals[] = {
	{ F_UNIT_LABEL, "^(total )?[0-9]+ units?$" },
	{ F_UNIT_LABEL, "^total$" },
	{ F_STATUS, "^[0-9]+([.][0-9]+)?% occupied$" },
	{ N_FIELDS, NULL },
};

/*
 * AppFolio Tenant Tickler: one row per tenant event (move-in, notice,
 * move-out, lease end) in a date range, so a tenant appears once per
 * event; the tenant's columns are the same on each.
 */
static const struct profile_column appfolio_tickler_columns[] = {
	{ F_PERSON, REQUIRED, { "Tenant ID" } },
	{ F_UNIT, REQUIRED, { "Unit ID" } },
	{ F_NAME, REQUIRED, { "Tenant" } },
	{ F_STATUS, REQUIRED, { "Tenant Status" } },
	{ F_HOUSEHOLD, OPTIONAL, { "Occupancy ID" } },
	{ F_UNIT_LABEL, OPTIONAL, { "Unit" } },
	{ F_GROUP, OPTIONAL, { "Property" } },
	{ F_EMAIL, OPTIONAL, { "Tenant Email" } },
	{ F_PHONE, OPTIONAL, { "Tenant Phone Number" } },
	{ F_LEASE_FROM, OPTIONAL, { "Lease From" } },
	{ F_LEASE_TO, OPTIONAL, { "Lease To" } },
	{ F_MOVE_IN, OPTIONAL, { "Move In Date" } },
	{ F_MOVE_OUT_ANY, OPTIONAL, { "Move Out Date" } },
};

/*
 * Yardi Voyager "Rent Roll with Lease Charges" saved as CSV: title rows
 * (report name, property, "As Of = MM/DD/YYYY", month), a header split
 * over two rows ("Unit" over "Sq Ft", "Lease" over "Expiration"), the
 * sections "Current/Notice/Vacant Residents" and "Future
 * Residents/Applicants", one more row per charge code under each unit,
 * "Total" rows and a "Summary Groups" tail.  Resident is the tenant code
 * (t0000123); vacant units say VACANT.
 */
static const struct profile_column yardi_rent_roll_columns[] = {
	{ F_UNIT, REQUIRED, { "Unit" } },
	{ F_PERSON, REQUIRED, { "Resident" } },
	{ F_NAME, REQUIRED, { "Name" } },
	{ F_UNIT_TYPE, OPTIONAL, { "Unit Type" } },
	{ F_MOVE_IN, OPTIONAL, { "Move In" } },
	{ F_LEASE_TO, OPTIONAL, { "Lease Expiration" } },
	{ F_MOVE_OUT_ANY, OPTIONAL, { "Move Out" } },
};

static const struct pattern yardi_rent_roll_totals[] = {
	{ F_UNIT, "^(grand )?totals?( |:|$)" },
	{ N_FIELDS, NULL },
};

static const char *const yardi_rent_roll_banners[] = {
	"Current/Notice/Vacant Residents",
	"Future Residents/Applicants",
	NULL,
};

static const char *const yardi_rent_roll_tail[] = { "Summary Groups", NULL };

static const struct csvprofile profiles[] = {
	{ "generic", generic_columns, COUNT(generic_columns), 1, 0, 0, NULL, NULL, NULL, NULL },
	{ "appfolio-rent-roll", appfolio_rent_roll_columns, COUNT(appfolio_rent_roll_columns), 1, 0,
	  P_HEADINGS | P_VACANT_ROWS | P_DERIVE_PERSON, "Current", appfolio_rent_roll_totals, NULL,
	  NULL },
	{ "appfolio-tenant-tickler", appfolio_tickler_columns, COUNT(appfolio_tickler_columns), 1,
	  0, P_DERIVE_PERSON | P_REPEATS_SKIP, NULL, NULL, NULL, NULL },
	{ "yardi-rent-roll", yardi_rent_roll_columns, COUNT(yardi_rent_roll_columns), 2, 8,
	  P_VACANT_ROWS | P_DERIVE_PERSON | P_CONTINUATION | P_NOTICE_FROM_MOVE_OUT, NULL,
	  yardi_rent_roll_totals, yardi_rent_roll_banners, yardi_rent_roll_tail },
};

const char csvprofile_names[] =
	"generic, appfolio-rent-roll, appfolio-tenant-tickler, yardi-rent-roll";

/*
 * Words (folded) that say a row holds no resident: unit statuses of
 * AppFolio (Vacant-Unrented), RealPage and Entrata, and what Yardi writes
 * in the Resident and Name cells of a unit nobody rents.  Vacant-Rented
 * and Vacant-Leased are not here: they carry the future resident, if any.
 */
static const char *const vacancy_words[] = {
	"vacant",
	"vacantunrented",
	"vacantunrentedready",
	"vacantunrentednotready",
	"vacantready",
	"vacantnotready",
	"vacantunleased",
	"model",
	"down",
	"admin",
	NULL,
};

/* Excel damage to identifiers: the digits of a long number are lost. */
static const char sci_notation_re[] = "^[0-9]+([.][0-9]+)?e[+-][0-9]+$";
/* ... and a unit code such as 1-1 or JAN-1 became a date. */
static const char *const date_damage_re[] = {
	"^[0-9]{1,2}-(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)$",
	"^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)-[0-9]{1,4}$",
	NULL,
};

/* Rejected rows logged one by one per file; the rest are counted. */

/* A header: one row, or two merged cell by cell. */
struct header {
	char **cells; /* trimmed cell texts, owned */
	size_t n;     /* cells */
	long line;    /* the line the header starts on */
};

/* Which column gives each field, for one profile and header. */
struct binding {
	long col[N_FIELDS];  /* column of each field, -1 when absent */
	int alias[N_FIELDS]; /* index of the alias that matched */
	int score;           /* fields bound */
};

struct extract {
	struct stg *stg;                  /* the snapshot, once begun; borrowed */
	struct csvprofile_result *res;    /* borrowed: what S borrows lives there */
	sqlite3 *db;                      /* borrowed */
	const struct stat *st;            /* the file as opened, borrowed */
	const struct csvprofile *profile; /* chosen (static); NULL under auto until the header */
	const char *property;             /* --property, NULL when the file names properties */
	const char *path;                 /* the file as named on the command line */
	const char *encoding;             /* --encoding, "auto" by default */
	size_t ncols;                     /* header fields; 0 until the header is read */
	long col[N_FIELDS];               /* column of each field, -1 when absent */
	char *col_name[N_FIELDS];         /* that column's header text, owned */
	char *buf;                        /* the record's field values, owned, reused */
	size_t cap;                       /* bytes allocated at buf */
	char *work;                       /* split names and derived ids, owned, reused */
	size_t work_cap;                  /* bytes allocated at work */
	char *heading;                    /* the property heading in force, owned, or NULL */
	char *section;                    /* the section banner in force, owned, or NULL */
	struct header prev;               /* the record before, while a two-row header may
					* start there (owned) */
	long before_header;               /* records read before the header */
	long preamble;                    /* of those, title rows (skipped) */
	int reused;                       /* the file was staged before: reading stopped */
	int in_tail;                      /* past the summary tail marker */
	int after_data;                   /* the row before was a data row (is_heading()) */
	long last_total;                  /* the line of the last total row, 0 none */
	long data_after_total;            /* the first data row after it, 0 none */
	long transcoded;                  /* rows but the header holding transcoded lines */
	int prev_transcoded;              /* e->prev was counted in transcoded */
	char first_error[1024];           /* why no header was found (no_header_error()) */
	char first_found[1024];           /* the cells of line 1, listed */
	int closest;                      /* how near first_error's profile came to fit */
	long fits_with_property;          /* a row that would be a profile's header
					   * with --property (its line), else 0 */
	int db_failed;                    /* a staging call failed: the database's fault */
	long cut_line;                    /* the record being staged is the file's last and
					* no line break ends it: its line, else 0 */
	FILE *fp;                         /* the file, borrowed: its offset is the progress */
	const struct csvprofile_opts *o;  /* borrowed */
	long rows;                        /* records read */
};

/* Compiled patterns, by the address of their source text (static strings). */
static struct {
	const char *src;
	regex_t re;
	int ok;
} pattern_cache[16];
static size_t n_patterns;

/* Does S match the extended regular expression SRC, ignoring case? */
static int pattern_match(const char *src, const char *s)
{
	size_t i;

	for (i = 0; i < n_patterns; i++)
		if (pattern_cache[i].src == src)
			break;
	if (i == n_patterns) {
		if (n_patterns == COUNT(pattern_cache))
			return 0; /* the tables above are smaller: cannot happen */
		pattern_cache[i].src = src;
		pattern_cache[i].ok = regcomp(&pattern_cache[i].re, src,
					      REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0;
		n_patterns++;
	}
	return pattern_cache[i].ok && regexec(&pattern_cache[i].re, s, 0, NULL, 0) == 0;
}

void csvprofile_cleanup(void)
{
	for (size_t i = 0; i < n_patterns; i++)
		if (pattern_cache[i].ok)
			regfree(&pattern_cache[i].re);
	n_patterns = 0;
}

/*
 * Fold the LEN bytes at S to a key: ASCII letters lower-cased, digits and
 * non-ASCII bytes kept, everything else dropped ("Move-in" -> "movein").
 */
static void fold(const char *s, size_t len, char *key, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c >= 0x80)
			key[n++] = (char)tolower(c);
	}
	key[n] = '\0';
}

/* Is S, folded, one of the folded WORDS? */
static int folded_in(const char *s, const char *const *words)
{
	char key[128], w[128];

	if (!*s)
		return 0;
	fold(s, strlen(s), key, sizeof(key));
	if (!*key)
		return 0;
	for (; *words; words++) {
		/* cheap reject before folding the table word */
		if (tolower((unsigned char)**words) != key[0] && isalnum((unsigned char)**words))
			continue;
		fold(*words, strlen(*words), w, sizeof(w));
		if (!strcmp(key, w))
			return 1;
	}
	return 0;
}

const struct csvprofile *csvprofile_find(const char *name)
{
	for (size_t i = 0; i < COUNT(profiles); i++)
		if (!strcmp(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

int csvprofile_pick(const char *name, const struct csvprofile **out)
{
	*out = strcmp(name, "auto") ? csvprofile_find(name) : NULL;
	if (*out || !strcmp(name, "auto"))
		return 0;
	err_set("unknown profile '%s' (known profiles: %s, auto)", name, csvprofile_names);
	return -1;
}

static int profile_reads(const struct csvprofile *p, enum field f)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->columns[i].field == f)
			return 1;
	return 0;
}

/* Append to BUF (SIZE bytes, holding a string) what fits of the formatted text. */
static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

/* The header's cells, quoted and listed, into BUF. */
static void list_cells(const struct header *h, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < h->n; i++)
		append(buf, size, "%s'%s'", i ? ", " : "", h->cells[i]);
}

/* How many cells of H are not empty. */
static size_t filled_cells(const struct header *h)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		n += h->cells[i][0] != '\0';
	return n;
}

static void header_release(struct header *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->cells[i]);
	free(h->cells);
	h->cells = NULL;
	h->n = 0;
}

/*
 * Make H the trimmed cells of ROW, or, with TOP, of TOP's cells joined to
 * ROW's below them ("Unit" over "Sq Ft" is "Unit Sq Ft").
 */
static int header_build(struct header *h, const struct header *top, const struct csvio_row *row)
{
	size_t n = row->n;

	if (top && top->n > n)
		n = top->n;
	h->cells = calloc(n ? n : 1, sizeof(*h->cells));
	if (!h->cells)
		goto oom;
	h->n = n;
	h->line = top ? top->line : row->line;
	for (size_t i = 0; i < n; i++) {
		const char *a = top && i < top->n ? top->cells[i] : "";
		const char *b = "";
		size_t alen = strlen(a), blen = 0;

		if (i < row->n)
			b = csvio_trim(row->fields[i], row->lens[i], &blen);
		h->cells[i] = malloc(alen + blen + 2);
		if (!h->cells[i])
			goto oom;
		memcpy(h->cells[i], a, alen);
		if (alen && blen)
			h->cells[i][alen++] = ' ';
		memcpy(h->cells[i] + alen, b, blen);
		h->cells[i][alen + blen] = '\0';
	}
	return 0;
oom:
	err_set("out of memory");
	return -1;
}

/*
 * Bind profile P to header H.  Returns the number of fields found, or -1
 * when a required column is missing (-3 when that is only the property
 * column, which --property would stand in for), -2 when a column the
 * profile reads appears twice; WHY (SIZE bytes) then says which.  A
 * field two of whose aliases both appear takes the better (earlier) one.
 * Columns the profile does not name are ignored, even when their names
 * repeat (spreadsheets leave blank ones).
 */
static int profile_bind(const struct csvprofile *p, const struct header *h, int have_property,
			struct binding *b, char *why, size_t size)
{
	char missing[512] = "";
	int only_property = 1;

	memset(b, 0, sizeof(*b));
	for (int f = 0; f < N_FIELDS; f++)
		b->col[f] = -1;
	for (size_t i = 0; i < h->n; i++) {
		char key[128], alias[128];

		fold(h->cells[i], strlen(h->cells[i]), key, sizeof(key));
		if (!*key)
			continue;
		for (size_t c = 0; c < p->n; c++) {
			const struct profile_column *pc = &p->columns[c];

			for (int k = 0; k < MAX_ALIASES && pc->aliases[k]; k++) {
				fold(pc->aliases[k], strlen(pc->aliases[k]), alias, sizeof(alias));
				if (strcmp(key, alias))
					continue;
				if (b->col[pc->field] >= 0 && b->alias[pc->field] == k) {
					snprintf(why, size,
						 "column '%s' appears twice in the header (columns "
						 "%ld and %zu both give %s)",
						 h->cells[i], b->col[pc->field] + 1, i + 1,
						 field_names[pc->field]);
					return -2;
				}
				if (b->col[pc->field] < 0 || b->alias[pc->field] > k) {
					b->score += b->col[pc->field] < 0;
					b->col[pc->field] = (long)i;
					b->alias[pc->field] = k;
				}
			}
		}
	}
	for (size_t c = 0; c < p->n; c++) {
		const struct profile_column *pc = &p->columns[c];

		if (b->col[pc->field] >= 0 || pc->need == OPTIONAL ||
		    (pc->need == REQUIRED_WITHOUT_PROPERTY && have_property))
			continue;
		append(missing, sizeof(missing), "%s'%s'", missing[0] ? ", " : "", pc->aliases[0]);
		for (int k = 1; k < MAX_ALIASES && pc->aliases[k]; k++)
			append(missing, sizeof(missing), " or '%s'", pc->aliases[k]);
		if (pc->need == REQUIRED_WITHOUT_PROPERTY)
			append(missing, sizeof(missing), " (or give --property)");
		else
			only_property = 0;
	}
	if (missing[0]) {
		snprintf(why, size, "missing required column %s", missing);
		return only_property ? -3 : -1;
	}
	return b->score;
}

/*
 * Record a rejected row, naming its PROPERTY and PERSON when the row says
 * who it is (NULL or "": nobody).  -1 when the database fails, and when
 * the row is the file's last with no line break after it: a record cut
 * off by the end of the file means the file was truncated, and the
 * residents after the cut would otherwise be removed as not in the export,
 * so the whole file is rejected (issue 15 item 8).  A last record without
 * a line break that reads well is complete: many exports omit the final
 * newline.
 */
static int reject(struct extract *e, const char *ref, const char *why, const char *property,
		  const char *person)
{
	int rc;

	if (e->cut_line) {
		err_set("'%s' line %ld: file ends inside its last record: truncated (%s)", e->path,
			e->cut_line, why);
		return -1;
	}
	rc = person && *person ? stg_reject_person(e->stg, ref, why, property, person)
			       : stg_reject(e->stg, ref, why);
	if (rc < 0) {
		e->db_failed = 1;
		return -1;
	}
	if (e->o->on_reject)
		e->o->on_reject(e->o->arg, ref, why);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Does a column of profile P read the header cell CELL? */
static int profile_reads_cell(const struct csvprofile *p, const char *cell)
{
	char key[128], alias[128];

	fold(cell, strlen(cell), key, sizeof(key));
	for (size_t c = 0; c < p->n; c++)
		for (int k = 0; k < MAX_ALIASES && p->columns[c].aliases[k]; k++) {
			fold(p->columns[c].aliases[k], strlen(p->columns[c].aliases[k]), alias,
			     sizeof(alias));
			if (!strcmp(key, alias))
				return 1;
		}
	return 0;
}

/*
 * Schema drift (issue 15 item 7): note in e->res->fields the job's fields header
 * H gives (property_id left out: it says where, not who) and in e->res->unknown
 * the columns the profile does not read, and name those in one warning, so
 * that a renamed column ("moveout_date") is seen the night it happens.
 * Empty header cells are not columns.  -1 when out of memory.
 */
static int note_columns(struct extract *e, const struct header *h)
{
	const char *names[N_FIELDS] = { NULL };
	size_t n = 0, unknown = 0, len = 1;
	char *shown = NULL;
	int rc = -1;

	for (int f = 0; f < N_FIELDS; f++)
		if (e->col[f] >= 0 && f != F_PROPERTY)
			names[n++] = field_names[f];
	qsort(names, n, sizeof(names[0]), by_name);
	e->res->fields[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(names[i], names[i - 1]))
			append(e->res->fields, sizeof(e->res->fields), "%s%s", i ? "," : "",
			       names[i]);

	for (size_t i = 0; i < h->n; i++)
		len += strlen(h->cells[i]) + 2;
	e->res->unknown = calloc(len, 1);
	shown = calloc(len, 1);
	if (!e->res->unknown || !shown) {
		err_set("out of memory");
		goto out;
	}
	for (size_t i = 0; i < h->n; i++) {
		if (!h->cells[i][0] || profile_reads_cell(e->profile, h->cells[i]))
			continue;
		append(e->res->unknown, len, "%s%s", unknown ? "," : "", h->cells[i]);
		append(shown, len, "%s%s", unknown ? ", " : "", h->cells[i]);
		unknown++;
	}
	if (unknown)
		log_warn("'%s': %zu column%s unitsync does not read: %s", e->path, unknown,
			 unknown == 1 ? "" : "s", shown);
	else {
		free(e->res->unknown);
		e->res->unknown = NULL;
	}
	rc = 0;
out:
	free(shown);
	return rc;
}

/*
 * The header is known: open the snapshot (its dialect is the profile) and
 * count the title rows above the header as skipped.  Returns 0, or -1 to
 * stop the read: an error (err_set()), or e->reused when the file was
 * staged before.
 */
static int begin(struct extract *e)
{
	int b;

	/* a forced encoding stages other text from the same bytes: it is part
	 * of the dialect, so that the same file read otherwise is not reused */
	if (strcasecmp(e->encoding, "auto")) {
		size_t n;

		snprintf(e->res->dialect, sizeof(e->res->dialect), "%s+%s", e->profile->name,
			 e->encoding);
		n = strlen(e->profile->name);
		for (char *c = e->res->dialect + n; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		e->res->src.dialect = e->res->dialect;
	} else {
		e->res->src.dialect = e->profile->name;
	}
	b = stg_begin(e->stg, e->db, &e->res->src);
	if (b < 0) {
		/* -2: its snapshot was over tonight's reject threshold */
		e->db_failed = b == -1;
		return -1;
	}
	if (b == 1) {
		e->reused = 1;
		return -1;
	}
	if (!extract_same_file(e->path, e->st)) {
		err_set("'%s' changed while it was being read", e->path);
		return -1;
	}
	for (long i = 0; i < e->preamble; i++)
		stg_skip(e->stg);
	e->stg->fields = e->res->fields;
	e->stg->unknown_columns = e->res->unknown;
	/* the rows are staged on a thread of their own while this one reads */
	return stg_async(e->stg);
}

/* Log the report date a title row gives ("As Of = 03/15/2025"). */
static void note_as_of(const struct extract *e, const struct csvio_row *row)
{
	for (size_t i = 0; i < row->n; i++) {
		const char *s = row->fields[i];
		char date[DATE_LEN + 1];

		if (strncasecmp(s, "as of", 5))
			continue;
		s += 5;
		while (*s == ' ' || *s == '=' || *s == ':')
			s++;
		if (date_parse(s, date) == 0 && date[0])
			log_info("'%s' line %ld: the report is as of %s", e->path, row->line, date);
	}
}

/* Does any field of ROW hold a NUL byte?  Its 1-based index, else 0. */
static size_t nul_field(const struct csvio_row *row)
{
	for (size_t i = 0; i < row->n; i++)
		if (strlen(row->fields[i]) != row->lens[i])
			return i + 1;
	return 0;
}

/*
 * Why no header was found, as the file's error: for a profile whose header
 * must be the first row, what that row lacks; under auto, that no profile
 * fits, with the closest one's complaint; always the columns of line 1.
 * A row that only lacked the property column is a missing --property
 * (RES->needs_property).
 */
static void no_header_error(const struct extract *e)
{
	if (e->fits_with_property) {
		/* the file is fine; the command lacks what it needs */
		e->res->needs_property = 1;
		err_set("'%s' line %ld: no property column ('%s') and no --property: give "
			"--property P, the unitsync property the rows belong to",
			e->path, e->fits_with_property, field_names[F_PROPERTY]);
	} else if (e->profile && e->profile->preamble == 0)
		err_set("'%s' line 1: %s; the header has %s", e->path, e->first_error,
			e->first_found);
	else if (e->profile)
		err_set("'%s': no header row for the %s profile in the first %ld rows (%s); line "
			"1 has %s",
			e->path, e->profile->name, e->before_header, e->first_error,
			e->first_found);
	else if (e->closest > 1)
		err_set("'%s' line 1: the header fits no profile (closest: %s); the header has %s",
			e->path, e->first_error, e->first_found);
	else
		err_set("'%s' line 1: the header fits no profile (none of %s finds its columns); "
			"the header has %s",
			e->path, csvprofile_names, e->first_found);
}

/*
 * A record before the header: is the header this record (or the record
 * before and this one, for a two-row header)?  Under auto every profile is
 * tried and the one that finds the most of its columns wins.  A record
 * that is no header while some profile still allows title rows above its
 * header is kept as a title row; otherwise the file is rejected, naming
 * the columns found.
 */
static int find_header(struct extract *e, const struct csvio_row *row)
{
	const struct csvprofile *best = NULL;
	const struct header *best_h = NULL;
	struct header one = { 0 }, two = { 0 };
	struct binding bind, best_bind = { 0 };
	char why[1024];
	int more = 0, rc = -1;
	long k = ++e->before_header;
	size_t nul = nul_field(row);

	if (nul) {
		err_set("'%s' line %ld: the header holds a NUL byte (in column %zu); a UTF-16 file "
			"without a byte order mark? (give --encoding UTF-16LE or UTF-16BE)",
			e->path, row->line, nul);
		return -1;
	}
	if (row->undecodable) {
		err_set("'%s' line %ld: the header is not valid %s (give --encoding)", e->path,
			row->undecodable, row->encoding);
		return -1;
	}
	if (header_build(&one, NULL, row) < 0 ||
	    (e->prev.cells && header_build(&two, &e->prev, row) < 0))
		goto out;
	if (k == 1)
		list_cells(&one, e->first_found, sizeof(e->first_found));
	for (size_t i = 0; i < (e->profile ? 1 : COUNT(profiles)); i++) {
		const struct csvprofile *p = e->profile ? e->profile : &profiles[i];
		const struct header *h = p->header_rows == 2 ? &two : &one;
		long title_rows = k - p->header_rows;
		int score;

		if (title_rows + 1 <= p->preamble)
			more = 1; /* its header may still start on a later row */
		if (title_rows < 0 || title_rows > p->preamble || !h->cells)
			continue;
		/* a title row ("Month Year = 03/2025") is one cell: it is never
		 * the top of a header, even when the header row below completes it */
		if (p->header_rows == 2 && filled_cells(&e->prev) < 2)
			continue;
		score = profile_bind(p, h, e->property != NULL, &bind, why, sizeof(why));
		if (score == -3 && !e->fits_with_property)
			e->fits_with_property = row->line;
		if (score < 0) {
			/* the complaint kept is a repeated column, else the one of
			 * the profile that found the most of its columns */
			int weight = score == -2 ? N_FIELDS + 2 : bind.score + 1;

			if (weight > e->closest) {
				snprintf(e->first_error, sizeof(e->first_error), "%s%s%s",
					 e->profile ? "" : p->name, e->profile ? "" : ", ", why);
				e->closest = weight;
			}
			continue;
		}
		if (!best || score > best_bind.score) {
			best = p;
			best_bind = bind;
			best_h = h;
		}
	}
	if (!best) {
		if (more) {
			header_release(&e->prev);
			e->prev = one;
			one.cells = NULL;
			one.n = 0;
			note_as_of(e, row);
			/* a title row counts as transcoded like any other, unless it
			 * turns out to be the top of a two-row header */
			e->transcoded += row->transcoded;
			e->prev_transcoded = row->transcoded;
			rc = 0;
		} else {
			no_header_error(e);
		}
		goto out;
	}
	if (!e->profile)
		log_info("'%s': profile auto chose %s (header line %ld, %d of its columns)",
			 e->path, best->name, best_h->line, best_bind.score);
	e->profile = best;
	if (!e->property && !profile_reads(best, F_PROPERTY)) {
		e->res->needs_property = 1;
		err_set("'%s': %s exports name no unitsync property: give --property P, the "
			"unitsync property the rows belong to",
			e->path, best->name);
		goto out;
	}
	e->preamble = k - best->header_rows;
	if (best->header_rows == 2)
		e->transcoded -= e->prev_transcoded;
	e->ncols = best_h->n;
	for (int f = 0; f < N_FIELDS; f++) {
		e->col[f] = best_bind.col[f];
		if (e->col[f] >= 0) {
			e->col_name[f] = strdup(best_h->cells[e->col[f]]);
			if (!e->col_name[f]) {
				err_set("out of memory");
				goto out;
			}
		}
	}
	header_release(&e->prev);
	if (note_columns(e, best_h) < 0)
		goto out;
	rc = begin(e);
out:
	header_release(&one);
	header_release(&two);
	return rc;
}

/* Room for at least NEED bytes at *BUF (*CAP bytes allocated, owned). */
static int reserve(char **buf, size_t *cap, size_t need)
{
	if (need > *cap) {
		char *nb = realloc(*buf, need);

		if (!nb) {
			err_set("out of memory");
			return -1;
		}
		*buf = nb;
		*cap = need;
	}
	return 0;
}

/*
 * Copy the record's profile fields, trimmed, into e->buf: V[f] is field f's
 * value, "" when the file has no such column.
 */
static int copy_fields(struct extract *e, const struct csvio_row *row, const char *v[N_FIELDS])
{
	size_t need = 0, at = 0;

	for (int f = 0; f < N_FIELDS; f++)
		if (e->col[f] >= 0)
			need += row->lens[e->col[f]] + 1;
	if (reserve(&e->buf, &e->cap, need) < 0)
		return -1;
	for (int f = 0; f < N_FIELDS; f++) {
		const char *s;
		size_t len;

		v[f] = "";
		if (e->col[f] < 0)
			continue;
		s = csvio_trim(row->fields[e->col[f]], row->lens[e->col[f]], &len);
		memcpy(e->buf + at, s, len);
		e->buf[at + len] = '\0';
		v[f] = e->buf + at;
		at += len + 1;
	}
	return 0;
}

/* Replace *SLOT (owned) by a copy of S. */
static int set_text(char **slot, const char *s)
{
	char *copy = strdup(s);

	if (!copy) {
		err_set("out of memory");
		return -1;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/* Is the row a total ("69 Units", "Total 609 Units", "95.7% Occupied")? */
static int is_total(const struct extract *e, const char *v[N_FIELDS])
{
	const struct pattern *t = e->profile->totals;

	for (; t && t->re; t++)
		if (e->col[t->field] >= 0 && v[t->field][0] && pattern_match(t->re, v[t->field]))
			return 1;
	return 0;
}

/* The unit cell as people write it: the label, else the unit id. */
static const char *unit_cell(const struct extract *e, const char *v[N_FIELDS])
{
	return e->col[F_UNIT_LABEL] >= 0 ? v[F_UNIT_LABEL] : v[F_UNIT];
}

/*
 * A property heading: a unit cell and nothing else the profile reads,
 * written as AppFolio labels a property ("Property 01 - 101 Example St
 * Anytown, CA 90000": a name, " - ", an address), wherever it stands (an
 * export may run its groups together: review rv19 #3); or, at the start
 * of a group (after the header, a blank row or a total), any name (a
 * space, longer than a unit code, or no digit: "Maple").  A vacant unit in
 * an export without BD/BA or Status columns is a unit cell alone too: a
 * code ("101", "103a") anywhere, any other label among data rows ("Apt 2",
 * "B": review rv20 #4) is that unit (rv18 #4: read as a heading, it
 * renamed every unit after it).
 */
static int is_heading(const struct extract *e, const char *v[N_FIELDS])
{
	enum field lead = e->col[F_UNIT_LABEL] >= 0 ? F_UNIT_LABEL : F_UNIT;
	const char *cell = v[lead];

	if (!(e->profile->flags & P_HEADINGS) || !cell[0])
		return 0;
	if (!strstr(cell, " - ") && !strstr(cell, ", ") &&
	    (e->after_data ||
	     (!strpbrk(cell, " \t") && strlen(cell) <= 24 && strpbrk(cell, "0123456789"))))
		return 0;
	for (int f = 0; f < N_FIELDS; f++)
		if (f != (int)lead && v[f][0])
			return 0;
	return 1;
}

/*
 * Split a whole NAME into FIRST and LAST inside OUT (at least
 * strlen(NAME) + 2 bytes): "Last, First" at the comma, else the last word
 * is the last name ("Kyle S. Bailey" -> "Kyle S." + "Bailey").  A household
 * "A & B Lee" splits the same way ("A & B" + "Lee").
 */
static void split_name(const char *name, char *out, const char **first, const char **last)
{
	size_t len = strlen(name), n;
	const char *comma = strchr(name, ','), *s;
	char *a = out, *b;

	if (comma) {
		s = csvio_trim(name, (size_t)(comma - name), &n);
		memcpy(a, s, n);
		a[n] = '\0';
		*last = a;
		b = a + n + 1;
		s = csvio_trim(comma + 1, len - (size_t)(comma - name) - 1, &n);
		memcpy(b, s, n);
		b[n] = '\0';
		*first = b;
		return;
	}
	n = len;
	while (n && !isspace((unsigned char)name[n - 1]))
		n--;
	s = csvio_trim(name, n, &n);
	memcpy(a, s, n);
	a[n] = '\0';
	*first = a;
	b = a + n + 1;
	s = csvio_trim(name + (s - name) + n, len - (size_t)(s - name) - n, &n);
	memcpy(b, s, n);
	b[n] = '\0';
	*last = b;
}

/*
 * Append NAME folded for an id to OUT: lower-case words of letters and
 * digits (non-ASCII bytes kept), one space between ("Tenant017  Example"
 * and "TENANT017 EXAMPLE" are "tenant017 example").
 */
static void fold_name(const char *name, char *out)
{
	size_t n = strlen(out);
	int gap = 0, any = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (isalnum(*p) || *p >= 0x80) {
			if (gap && any)
				out[n++] = ' ';
			out[n++] = (char)tolower(*p);
			gap = 0;
			any = 1;
		} else {
			gap = 1;
		}
	}
	out[n] = '\0';
}

/* Excel damage to identifier V of field F: a reason into WHY, else 0. */
static int excel_damage(const struct extract *e, int unit, enum field f, const char *v, char *why,
			size_t size)
{
	if (!v[0])
		return 0;
	/* both kinds of damage need an 'e' or a '-': most ids have neither,
	 * and skipping the regular expressions for them halves this check */
	if (!strpbrk(v, "eE-"))
		return 0;
	if (pattern_match(sci_notation_re, v)) {
		snprintf(why, size,
			 "%s '%s' is in scientific notation: a spreadsheet rounded the identifier "
			 "(export it as text)",
			 e->col_name[f], v);
		return 1;
	}
	for (int i = 0; unit && date_damage_re[i]; i++)
		if (pattern_match(date_damage_re[i], v)) {
			snprintf(why, size,
				 "%s '%s' looks like a date a spreadsheet made of a unit code "
				 "(export it as text)",
				 e->col_name[f], v);
			return 1;
		}
	return 0;
}

/*
 * Rows of the layout, not of residents: totals (which also close the
 * heading and section above them), section banners, property headings and
 * charge lines.  1 when ROW is one (counted as skipped), 0 when it is
 * data, -1 on failure.
 */
static int layout_row(struct extract *e, const struct csvio_row *row, const char *v[N_FIELDS])
{
	const struct csvprofile *pr = e->profile;

	if (is_total(e, v)) {
		free(e->heading);
		free(e->section);
		e->heading = e->section = NULL;
		e->last_total = row->line;
		e->data_after_total = 0;
	} else if (pr->banners && folded_in(row->fields[0], pr->banners)) {
		size_t len;
		const char *s = csvio_trim(row->fields[0], row->lens[0], &len);
		char *copy = strndup(s, len);

		if (!copy) {
			err_set("out of memory");
			return -1;
		}
		free(e->section);
		e->section = copy;
	} else if (is_heading(e, v)) {
		if (set_text(&e->heading, unit_cell(e, v)) < 0)
			return -1;
	} else if (!(pr->flags & P_CONTINUATION) || unit_cell(e, v)[0] || v[F_UNIT][0] ||
		   v[F_PERSON][0] || v[F_NAME][0] || v[F_FIRST][0] || v[F_LAST][0]) {
		return 0;
	}
	stg_skip(e->stg);
	return 1;
}

/* The identifiers of a data row, stable or derived (see the top of the file). */
struct row_ids {
	const char *unit;   /* pms_unit_id; "" when there is none */
	const char *label;  /* the unit as people write it */
	const char *first;  /* first name, split from a whole name if need be */
	const char *last;   /* last name */
	const char *person; /* pms_person_id; "" when there is none */
	int derived_unit;   /* unit is made from the label, not a stable id */
};

/* Fill IDS for the row whose values are V, in e->work. */
static int row_ids(struct extract *e, const char *v[N_FIELDS], struct row_ids *ids)
{
	const char *group = v[F_GROUP][0] ? v[F_GROUP] : e->heading ? e->heading : "";
	size_t need;
	char *w;

	ids->label = unit_cell(e, v);
	need = (strlen(group) + strlen(ids->label) + strlen(v[F_UNIT]) + strlen(v[F_NAME]) +
		strlen(v[F_FIRST]) + strlen(v[F_LAST]) + 16) *
	       3;
	if (reserve(&e->work, &e->work_cap, need) < 0)
		return -1;
	w = e->work;
	ids->derived_unit = !(e->col[F_UNIT] >= 0 && v[F_UNIT][0]);
	if (!ids->derived_unit) {
		ids->unit = v[F_UNIT];
	} else {
		snprintf(w, need, "%s%s%s", group, group[0] && ids->label[0] ? " / " : "",
			 ids->label);
		ids->unit = w;
		w += strlen(w) + 1;
	}
	if (!ids->label[0])
		ids->label = group[0] ? group : ids->unit;

	ids->first = v[F_FIRST];
	ids->last = v[F_LAST];
	if (e->col[F_NAME] >= 0 && !ids->first[0] && !ids->last[0]) {
		split_name(v[F_NAME], w, &ids->first, &ids->last);
		w = (char *)ids->last + strlen(ids->last) + 1;
	}

	ids->person = v[F_PERSON];
	if (!ids->person[0] && (e->profile->flags & P_DERIVE_PERSON) && ids->unit[0] &&
	    (v[F_NAME][0] || ids->first[0] || ids->last[0])) {
		snprintf(w, need - (size_t)(w - e->work), "%s / ", ids->unit);
		fold_name(v[F_NAME][0] ? v[F_NAME] : ids->first, w);
		if (!v[F_NAME][0] && ids->first[0] && ids->last[0])
			append(w, need - (size_t)(w - e->work), " ");
		if (!v[F_NAME][0])
			fold_name(ids->last, w);
		ids->person = w;
	}
	return 0;
}

/* The name of the unit column, for messages. */
static const char *unit_column(const struct extract *e)
{
	return e->col_name[F_UNIT_LABEL] ? e->col_name[F_UNIT_LABEL] : e->col_name[F_UNIT];
}

/*
 * The status of a resident row: the row's own, else that of the section
 * banner above it, else the profile's default; a single move-out date is
 * the actual one for past residents and the expected one for the others.
 */
static const char *row_status(const struct extract *e, const char *v[N_FIELDS],
			      char dates[N_FIELDS][DATE_LEN + 1], const char **raw)
{
	const char *status;

	*raw = v[F_STATUS];
	if (e->col[F_STATUS] < 0 && e->section)
		*raw = e->section;
	status = status_normalize(*raw);
	if (e->col[F_STATUS] < 0 && !e->section && e->profile->default_status) {
		status = status_normalize(e->profile->default_status);
		*raw = "";
	}
	if (dates[F_MOVE_OUT_ANY][0]) {
		if (!strcmp(status, "past") && !dates[F_MOVE_OUT][0])
			memcpy(dates[F_MOVE_OUT], dates[F_MOVE_OUT_ANY], DATE_LEN + 1);
		else if (strcmp(status, "past") && !dates[F_EXPECTED_OUT][0])
			memcpy(dates[F_EXPECTED_OUT], dates[F_MOVE_OUT_ANY], DATE_LEN + 1);
	}
	if ((e->profile->flags & P_NOTICE_FROM_MOVE_OUT) && !strcmp(status, "current") &&
	    dates[F_EXPECTED_OUT][0])
		status = "notice";
	return status;
}

/*
 * Stage one data record, or reject or skip it.  A rejected row names its
 * person when the row says who it is (so that transform holds them), and
 * nobody when it cannot be trusted to (a broken row, a damaged id).
 */
static int stage_row(struct extract *e, const struct csvio_row *row)
{
	char dates[N_FIELDS][DATE_LEN + 1], why[768], ref[4200];
	const char *v[N_FIELDS], *property, *role, *status_raw, *known;
	const struct csvprofile *pr = e->profile;
	struct stg_person p = { 0 };
	struct row_ids ids;
	int blank = 1, rc, vacant_status, vacant_word, no_resident;
	size_t nul;

	snprintf(ref, sizeof(ref), "%s:%ld", e->path, row->line);
	e->cut_line = row->unterminated ? row->line : 0;
	if (row->transcoded)
		e->transcoded++;
	for (size_t i = 0; i < row->n && blank; i++) {
		size_t len;

		csvio_trim(row->fields[i], row->lens[i], &len);
		blank = len == 0;
	}
	/* a summary tail ends the data: it and every row after it are skipped */
	if (!blank && pr->tail && row->n && folded_in(row->fields[0], pr->tail))
		e->in_tail = 1;
	if (blank || e->in_tail) {
		e->after_data = 0;
		stg_skip(e->stg);
		return 0;
	}
	if (row->n != e->ncols) {
		snprintf(why, sizeof(why), "%zu fields where the header has %zu", row->n, e->ncols);
		return reject(e, ref, why, NULL, NULL);
	}
	nul = nul_field(row);
	if (nul) {
		snprintf(why, sizeof(why), "field %zu holds a NUL byte", nul);
		return reject(e, ref, why, NULL, NULL);
	}
	if (row->undecodable) {
		snprintf(why, sizeof(why), "line %ld is not valid %s", row->undecodable,
			 row->encoding);
		return reject(e, ref, why, NULL, NULL);
	}
	if (copy_fields(e, row, v) < 0)
		return -1;
	rc = layout_row(e, row, v);
	e->after_data = rc == 0;
	if (rc == 0 && e->last_total && !e->data_after_total)
		e->data_after_total = row->line;
	if (rc != 0)
		return rc < 0 ? -1 : 0;

	property = v[F_PROPERTY][0] ? v[F_PROPERTY] : e->property;
	if (!property)
		return reject(e, ref, "empty property_id (and no --property given)", NULL, NULL);
	if (e->property && strcmp(property, e->property)) {
		snprintf(why, sizeof(why), "property_id '%s' is not --property '%s'", property,
			 e->property);
		return reject(e, ref, why, property, v[F_PERSON]);
	}
	if (row_ids(e, v, &ids) < 0)
		return -1;
	/* the person an id-damaged row is: only a stable id that is intact */
	known = v[F_PERSON];
	for (size_t i = 0; i < COUNT(id_fields); i++) {
		enum field f = id_fields[i].field;

		if (!excel_damage(e, id_fields[i].unit, f, v[f], why, sizeof(why)))
			continue;
		return reject(e, ref, why, property, f == F_PERSON ? NULL : known);
	}
	known = ids.person;

	/* a vacant unit: stage the unit, nobody in it */
	vacant_status = e->col[F_STATUS] >= 0 && folded_in(v[F_STATUS], vacancy_words);
	vacant_word = folded_in(v[F_PERSON], vacancy_words) || folded_in(v[F_NAME], vacancy_words);
	no_resident = !v[F_PERSON][0] && !v[F_NAME][0] && !v[F_FIRST][0] && !v[F_LAST][0];
	if ((pr->flags & P_VACANT_ROWS) && (vacant_status || vacant_word || no_resident)) {
		if (vacant_status && !no_resident && !vacant_word) {
			snprintf(why, sizeof(why),
				 "status '%s' says the unit is vacant, but the row names a "
				 "resident",
				 v[F_STATUS]);
			return reject(e, ref, why, property, known);
		}
		if (!ids.unit[0]) {
			snprintf(why, sizeof(why), "empty %s and no property heading above the row",
				 unit_column(e));
			return reject(e, ref, why, property, NULL);
		}
		if (stg_unit(e->stg, property, ids.unit, ids.label,
			     status_dwelling(&v[F_UNIT_TYPE], 1)) < 0) {
			e->db_failed = 1;
			return -1;
		}
		return 0;
	}

	if (!ids.person[0]) {
		snprintf(why, sizeof(why), "empty %s",
			 e->col_name[F_PERSON] ? e->col_name[F_PERSON] : field_names[F_PERSON]);
		return reject(e, ref, why, property, NULL);
	}
	if (!ids.unit[0]) {
		if (e->col[F_UNIT] >= 0 && e->col[F_UNIT_LABEL] < 0)
			snprintf(why, sizeof(why), "empty %s", e->col_name[F_UNIT]);
		else
			snprintf(why, sizeof(why), "empty %s and no property heading above the row",
				 unit_column(e));
		return reject(e, ref, why, property, known);
	}
	role = role_normalize(v[F_ROLE]);
	if (!role) {
		snprintf(why, sizeof(why),
			 "unknown role '%s' (expected primary, roommate, occupant, guarantor or minor)",
			 v[F_ROLE]);
		return reject(e, ref, why, property, known);
	}
	for (size_t i = 0; i < COUNT(date_fields); i++) {
		enum field f = date_fields[i];

		if (date_parse(v[f], dates[f]) < 0) {
			snprintf(why, sizeof(why), "%s: %s", e->col_name[f], err_msg());
			return reject(e, ref, why, property, known);
		}
	}

	p.property_id = property;
	p.pms_person_id = ids.person;
	p.household_id = v[F_HOUSEHOLD][0] ? v[F_HOUSEHOLD] : ids.person;
	p.pms_unit_id = ids.unit;
	p.role = role;
	p.status = row_status(e, v, dates, &status_raw);
	p.status_raw = status_raw;
	p.first_name = ids.first;
	p.last_name = ids.last;
	p.email = v[F_EMAIL];
	p.phone = v[F_PHONE];
	p.move_in = dates[F_MOVE_IN];
	p.move_out = dates[F_MOVE_OUT];
	p.expected_move_out = dates[F_EXPECTED_OUT];
	p.lease_from = dates[F_LEASE_FROM];
	p.lease_to = dates[F_LEASE_TO];
	p.source_ref = ref;
	p.unit_label = ids.label;
	p.dwelling = status_dwelling(&v[F_UNIT_TYPE], 1);
	/* the tickler lists a tenant once per event: the first row wins (the
	 * others are skipped); other profiles' repeats are rows of their own
	 * (a transfer, a second lease) */
	if (stg_person(e->stg, &p, !(pr->flags & P_REPEATS_SKIP)) < 0) {
		e->db_failed = 1;
		return -1;
	}
	return 0;
}

/* csvio_read_encoded() callback: title rows and the header, then data. */
static int on_row(const struct csvio_row *row, void *ctx)
{
	struct extract *e = ctx;

	/* ftello may cost a system call: every 4096 records, on a terminal only */
	if (e->o->progress && e->o->progress->on && ++e->rows % 4096 == 0)
		progress_update(e->o->progress, (long long)ftello(e->fp));
	if (!e->ncols)
		return find_header(e, row);
	return stage_row(e, row);
}

void csvprofile_result_release(struct csvprofile_result *res)
{
	free(res->unknown);
	res->unknown = NULL;
}

int csvprofile_stage(FILE *fp, const char *path, const struct stat *st, sqlite3 *db, struct stg *s,
		     const struct csvprofile_opts *o, struct csvprofile_result *res)
{
	struct extract e = {
		.stg = s,
		.res = res,
		.db = db,
		.st = st,
		.profile = o->profile,
		.property = o->property,
		.path = path,
		.encoding = o->encoding,
		.fp = fp,
		.o = o,
	};
	struct sha256 h;
	struct csvio_digest dg = { .h = &h };
	char hex[SHA256_HEX_LEN + 1];
	int rc = -1, b;

	res->src.property_id = o->property;
	res->src.max_reject_percent = o->max_reject_percent;
	res->src.kind = "csv";
	res->src.path = path;
	/* the file is digested as it is read (stg_digested()), not read twice */
	res->src.digest_later = 1;
	for (int f = 0; f < N_FIELDS; f++)
		e.col[f] = -1;
	if (sha256_init(&h) < 0)
		return -1;
	err_set("%s", "");
	if (csvio_read_encoded(fp, path, o->encoding, on_row, &e, res->from, sizeof(res->from),
			       &dg) < 0) {
		if (e.reused) {
			res->reused = 1;
			rc = 0;
		}
		goto out;
	}
	/* a snapshot begun (the header was found) gets the digest of all of it */
	sha256_final(&h, hex);
	dg.h = NULL;
	if (s->open && (b = stg_digested(s, hex, dg.bytes)) < 0) {
		e.db_failed = b == -1;
		goto out;
	}
	if (!e.ncols) {
		if (e.before_header)
			no_header_error(&e);
		else
			err_set("'%s': empty file, no header line", path);
		goto out;
	}
	if (e.data_after_total && !e.in_tail) {
		/* a report that closes each group with a total ends with one:
		 * data rows after the last total are a group cut off by the end
		 * of the file, and the groups after it would be taken as gone
		 * (review rv18 #5) */
		err_set("'%s' line %ld: file ends with rows after its last total row (line %ld), "
			"without the total that closes their group: truncated",
			path, e.data_after_total, e.last_total);
		goto out;
	}
	rc = 0;
out:
	if (dg.h)
		sha256_final(&h, hex); /* frees its context */
	res->db_failed = e.db_failed;
	res->transcoded = e.transcoded;
	for (int f = 0; f < N_FIELDS; f++)
		free(e.col_name[f]);
	header_release(&e.prev);
	free(e.buf);
	free(e.work);
	free(e.heading);
	free(e.section);
	return rc;
}
