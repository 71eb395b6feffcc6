/*
 * unitsync-extract-csv - stage CSV exports from a PMS.
 *
 * A profile says which header names (aliases) give which field of the
 * normalized person record (DESIGN.md §5); headers are matched by name,
 * case-insensitively with surrounding spaces trimmed, in any order, and
 * columns a profile does not name are never read into a record (so SSNs,
 * birth dates, charges and rent are dropped at parse time).  Profiles:
 *   generic   property_id,pms_unit_id,pms_person_id,household_id,role,
 *             status,first_name,last_name,email,phone,move_in,move_out
 *             and, when present, expected_move_out,lease_from,lease_to
 *
 * Streaming: csvio_read() hands over one record at a time and only the
 * profile's fields of that record are copied, so memory does not grow with
 * the file.  Each file is one snapshot, committed whole or not at all.
 */
#include "cli.h"
#include "csvio.h"
#include "date.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "status.h"
#include "stg.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: unitsync extract-csv [--property P] [--profile NAME] [--max-reject-percent N] FILE...\n"
	"\n"
	"Stage CSV exports as snapshots, one per file.\n"
	"\n"
	"  --property P             the unitsync property the rows belong to; may be left out\n"
	"                           when the file has a property_id column\n"
	"  --profile NAME           the export's header names (default generic)\n"
	"  --max-reject-percent N   reject the whole file past N% rejected rows (default 5)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n"
	"\n"
	"profiles: generic\n";

/* Fields of the normalized person record a CSV column can give. */
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
};

/* The date fields, in the order their errors are reported. */
static const enum field date_fields[] = { F_MOVE_IN, F_MOVE_OUT, F_EXPECTED_OUT, F_LEASE_FROM,
					  F_LEASE_TO };

enum need {
	OPTIONAL,
	REQUIRED,
	REQUIRED_WITHOUT_PROPERTY, /* required unless --property is given */
};

#define MAX_ALIASES 8

/* One field of a profile: the header names that give it. */
struct profile_column {
	enum field field;
	enum need need;
	const char *aliases[MAX_ALIASES]; /* compared case-insensitively; NULL ends */
};

/* A PMS export layout: a table of field -> header aliases. */
struct profile {
	const char *name;                     /* --profile NAME, and the snapshot's dialect */
	const struct profile_column *columns; /* static table */
	size_t n;
};

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

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct profile profiles[] = {
	{ "generic", generic_columns, COUNT(generic_columns) },
};

struct extract {
	struct stg stg;                /* the snapshot */
	const struct profile *profile; /* borrowed, static */
	const char *property;          /* --property, NULL when the file names properties */
	const char *path;              /* the file as named on the command line */
	size_t ncols;                  /* header fields; 0 until the header is read */
	long col[N_FIELDS];            /* column of each field, -1 when absent */
	char *col_name[N_FIELDS];      /* that column's header text, trimmed, owned */
	char *buf;                     /* the record's field values, owned, reused */
	size_t cap;                    /* bytes allocated at buf */
	int db_failed;                 /* a staging call failed: the database's fault */
};

/* Where S (LEN bytes) starts and how long it is without surrounding spaces. */
static const char *trim(const char *s, size_t len, size_t *out_len)
{
	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	*out_len = len;
	return s;
}

static const struct profile *profile_find(const char *name)
{
	for (size_t i = 0; i < COUNT(profiles); i++)
		if (!strcmp(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

/* The profile column whose alias is the header text NAME (LEN bytes), or NULL. */
static const struct profile_column *profile_match(const struct profile *p, const char *name,
						  size_t len)
{
	for (size_t i = 0; i < p->n; i++)
		for (int k = 0; k < MAX_ALIASES && p->columns[i].aliases[k]; k++) {
			const char *a = p->columns[i].aliases[k];

			if (strlen(a) == len && !strncasecmp(a, name, len))
				return &p->columns[i];
		}
	return NULL;
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

/*
 * Read the header: find each field's column, refuse a header that names a
 * field twice or lacks a required one.  Columns the profile does not name
 * are ignored, even when their names repeat (spreadsheets leave blank ones).
 */
static int read_header(struct extract *e, const struct csvio_row *row)
{
	char missing[512] = "", found[1024] = "";

	for (size_t i = 0; i < row->n; i++) {
		const struct profile_column *c;
		size_t len;
		const char *name;

		if (strlen(row->fields[i]) != row->lens[i]) {
			err_set("'%s' line %ld: header column %zu holds a NUL byte", e->path,
				row->line, i + 1);
			return -1;
		}
		name = trim(row->fields[i], row->lens[i], &len);
		append(found, sizeof(found), "%s'%.*s'", i ? ", " : "", (int)len, name);
		c = profile_match(e->profile, name, len);
		if (!c)
			continue;
		if (e->col[c->field] >= 0) {
			err_set("'%s' line %ld: column '%.*s' appears twice in the header "
				"(columns %ld and %zu both give %s)",
				e->path, row->line, (int)len, name, e->col[c->field] + 1, i + 1,
				field_names[c->field]);
			return -1;
		}
		e->col[c->field] = (long)i;
		e->col_name[c->field] = strndup(name, len);
		if (!e->col_name[c->field]) {
			err_set("out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < e->profile->n; i++) {
		const struct profile_column *c = &e->profile->columns[i];

		if (e->col[c->field] >= 0 || c->need == OPTIONAL ||
		    (c->need == REQUIRED_WITHOUT_PROPERTY && e->property))
			continue;
		append(missing, sizeof(missing), "%s'%s'", missing[0] ? ", " : "", c->aliases[0]);
		for (int k = 1; k < MAX_ALIASES && c->aliases[k]; k++)
			append(missing, sizeof(missing), " or '%s'", c->aliases[k]);
		if (c->need == REQUIRED_WITHOUT_PROPERTY)
			append(missing, sizeof(missing), " (or give --property)");
	}
	if (missing[0]) {
		err_set("'%s' line %ld: missing required column %s; the header has %s", e->path,
			row->line, missing, found);
		return -1;
	}
	e->ncols = row->n;
	return 0;
}

/* Record a rejected row; -1 only when the database fails. */
static int reject(struct extract *e, const char *ref, const char *why)
{
	if (stg_reject(&e->stg, ref, why) < 0) {
		e->db_failed = 1;
		return -1;
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
	if (need > e->cap) {
		char *nb = realloc(e->buf, need);

		if (!nb) {
			err_set("out of memory");
			return -1;
		}
		e->buf = nb;
		e->cap = need;
	}
	for (int f = 0; f < N_FIELDS; f++) {
		const char *s;
		size_t len;

		v[f] = "";
		if (e->col[f] < 0)
			continue;
		s = trim(row->fields[e->col[f]], row->lens[e->col[f]], &len);
		memcpy(e->buf + at, s, len);
		e->buf[at + len] = '\0';
		v[f] = e->buf + at;
		at += len + 1;
	}
	return 0;
}

/* Stage one data record, or reject or skip it. */
static int stage_row(struct extract *e, const struct csvio_row *row)
{
	char dates[N_FIELDS][DATE_LEN + 1], why[768], ref[4200];
	const char *v[N_FIELDS], *property, *role;
	struct stg_person p = { 0 };
	int blank = 1, rc;

	snprintf(ref, sizeof(ref), "%s:%ld", e->path, row->line);
	for (size_t i = 0; i < row->n && blank; i++) {
		size_t len;

		trim(row->fields[i], row->lens[i], &len);
		blank = len == 0;
	}
	if (blank) {
		stg_skip(&e->stg);
		return 0;
	}
	if (row->n != e->ncols) {
		snprintf(why, sizeof(why), "%zu fields where the header has %zu", row->n, e->ncols);
		return reject(e, ref, why);
	}
	for (size_t i = 0; i < row->n; i++)
		if (strlen(row->fields[i]) != row->lens[i]) {
			snprintf(why, sizeof(why), "field %zu holds a NUL byte", i + 1);
			return reject(e, ref, why);
		}
	if (copy_fields(e, row, v) < 0)
		return -1;

	property = v[F_PROPERTY][0] ? v[F_PROPERTY] : e->property;
	if (!property)
		return reject(e, ref, "empty property_id (and no --property given)");
	if (e->property && strcmp(property, e->property)) {
		snprintf(why, sizeof(why), "property_id '%s' is not --property '%s'", property,
			 e->property);
		return reject(e, ref, why);
	}
	if (!v[F_PERSON][0])
		return reject(e, ref, "empty pms_person_id");
	if (!v[F_UNIT][0])
		return reject(e, ref, "empty pms_unit_id");
	role = role_normalize(v[F_ROLE]);
	if (!role) {
		snprintf(why, sizeof(why),
			 "unknown role '%s' (expected primary, roommate, occupant, guarantor or minor)",
			 v[F_ROLE]);
		return reject(e, ref, why);
	}
	for (size_t i = 0; i < COUNT(date_fields); i++) {
		enum field f = date_fields[i];

		if (date_parse(v[f], dates[f]) < 0) {
			snprintf(why, sizeof(why), "%s: %s", e->col_name[f], err_msg());
			return reject(e, ref, why);
		}
	}

	p.property_id = property;
	p.pms_person_id = v[F_PERSON];
	p.household_id = v[F_HOUSEHOLD][0] ? v[F_HOUSEHOLD] : v[F_PERSON];
	p.pms_unit_id = v[F_UNIT];
	p.role = role;
	p.status = status_normalize(v[F_STATUS]);
	p.status_raw = v[F_STATUS];
	p.first_name = v[F_FIRST];
	p.last_name = v[F_LAST];
	p.email = v[F_EMAIL];
	p.phone = v[F_PHONE];
	p.move_in = dates[F_MOVE_IN];
	p.move_out = dates[F_MOVE_OUT];
	p.expected_move_out = dates[F_EXPECTED_OUT];
	p.lease_from = dates[F_LEASE_FROM];
	p.lease_to = dates[F_LEASE_TO];
	p.source_ref = ref;
	rc = stg_person(&e->stg, &p);
	if (rc == 1) {
		snprintf(why, sizeof(why), "person '%s' appears twice in the file", v[F_PERSON]);
		return reject(e, ref, why);
	}
	if (rc < 0 || stg_unit(&e->stg, property, v[F_UNIT], v[F_UNIT], 1) < 0) {
		e->db_failed = 1;
		return -1;
	}
	return 0;
}

/* csvio_read() callback: the first record is the header. */
static int on_row(const struct csvio_row *row, void *ctx)
{
	struct extract *e = ctx;

	if (!e->ncols)
		return read_header(e, row);
	return stage_row(e, row);
}

/* Is the file at PATH still the one open as ST (not replaced or rewritten)? */
static int same_file(const char *path, const struct stat *st)
{
	struct stat now;

	return stat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
	       now.st_size == st->st_size && now.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	       now.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

/* Stage one file.  Returns an exit code. */
static int extract_file(sqlite3 *db, const struct profile *profile, const char *property,
			const char *path, double max_reject)
{
	struct extract e = { .profile = profile, .property = property, .path = path };
	struct stg_source src = {
		.property_id = property, .kind = "csv", .dialect = profile->name, .path = path
	};
	struct stat st;
	FILE *fp;
	int rc = US_EXIT_DATAERR, b;

	for (int f = 0; f < N_FIELDS; f++)
		e.col[f] = -1;
	err_set("%s", "");
	/* the digest is taken by path: hold the file open and check it is the
	 * one digested, so that the snapshot's sha256 is of what was staged */
	fp = fopen(path, "r");
	if (!fp) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set("'%s' is not a regular file", path);
		goto out;
	}
	b = stg_begin(&e.stg, db, &src);
	if (b < 0) {
		rc = US_EXIT_CONFIG;
		goto out;
	}
	if (b == 1) {
		printf("snapshot %lld reused: '%s' (%s) was staged before with sha256 %s\n",
		       e.stg.snapshot_id, path, src.dialect, e.stg.sha256);
		rc = US_EXIT_OK;
		goto out;
	}
	if (!same_file(path, &st)) {
		err_set("'%s' changed while it was being read", path);
		goto out;
	}
	if (csvio_read(fp, path, on_row, &e) < 0) {
		if (e.db_failed)
			rc = US_EXIT_CONFIG;
		goto out;
	}
	if (!e.ncols) {
		err_set("'%s': empty file, no header line", path);
		goto out;
	}
	if (!same_file(path, &st)) {
		err_set("'%s' changed while it was being read", path);
		goto out;
	}
	b = stg_commit(&e.stg, max_reject);
	if (b < 0) {
		/* -2: too many rejects, the input's fault; -1: the database's */
		if (b == -1)
			rc = US_EXIT_CONFIG;
		goto out;
	}
	printf("snapshot %lld: '%s' (%s, sha256 %s): %ld people staged, %ld units, %ld rows skipped, "
	       "%ld rejected\n",
	       e.stg.snapshot_id, path, src.dialect, e.stg.sha256, e.stg.staged, e.stg.units,
	       e.stg.skipped, e.stg.rejected);
	rc = US_EXIT_OK;
out:
	if (rc != US_EXIT_OK)
		log_error("%s; nothing staged from '%s'", err_msg(), path);
	stg_release(&e.stg);
	if (fp)
		fclose(fp);
	for (int f = 0; f < N_FIELDS; f++)
		free(e.col_name[f]);
	free(e.buf);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "profile", required_argument, NULL, 'P' },
		{ "max-reject-percent", required_argument, NULL, 'r' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	const struct profile *profile = &profiles[0];
	const char *property = NULL;
	double max_reject = 5.0;
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-extract-csv", usage);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end, known[256] = "";
		int c;

		switch (opt) {
		case 'p':
			property = optarg;
			if (!*property) {
				cli_usage_error(&cli, "--property needs a property id");
				goto out;
			}
			break;
		case 'P':
			profile = profile_find(optarg);
			if (!profile) {
				for (size_t i = 0; i < COUNT(profiles); i++)
					append(known, sizeof(known), "%s%s", i ? ", " : "",
					       profiles[i].name);
				cli_usage_error(&cli, "unknown profile '%s' (known profiles: %s)",
						optarg, known);
				goto out;
			}
			break;
		case 'r':
			max_reject = strtod(optarg, &end);
			if (!*optarg || *end || max_reject < 0 || max_reject > 100) {
				cli_usage_error(&cli,
						"--max-reject-percent takes 0 to 100, not '%s'",
						optarg);
				goto out;
			}
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				rc = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	if (optind >= argc) {
		cli_usage_error(&cli, "no FILE given");
		goto out;
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_CONFIG;
		goto out;
	}
	rc = US_EXIT_OK;
	for (int i = optind; i < argc; i++) {
		int r = extract_file(db, profile, property, argv[i], max_reject);

		if (r != US_EXIT_OK && (rc == US_EXIT_OK || r == US_EXIT_CONFIG))
			rc = r;
	}
out:
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
