/*
 * unitsync-extract-xml - stage XML exports from a PMS.
 *
 * Dialects, detected from the root element:
 *   yardi-rt2   Yardi ResidentTransactions 2.0 (ItfResidentTransactions20,
 *               MITS 2.0 Customer elements): households (RT_Customer) with
 *               their residents, roommates and unit.
 *
 * Streaming: one household is held in memory at a time, so memory does not
 * grow with the file.  Each file is one snapshot, committed whole or not at
 * all.  SSNs, birth dates, charges and rent are never read into a record.
 */
#include "cli.h"
#include "date.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "status.h"
#include "stg.h"
#include "xmlsafe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: unitsync extract-xml --property P [--max-reject-percent N] FILE...\n"
	"\n"
	"Stage XML exports (Yardi ResidentTransactions 2.0) as snapshots of property P.\n"
	"\n"
	"  --property P             the unitsync property the file belongs to\n"
	"  --max-reject-percent N   reject the whole file past N% rejected rows (default 5)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/* Fields of one MITS Customer, owned strings (NULL = absent). */
enum cust_field {
	F_ID,
	F_TYPE,
	F_UNIT,
	F_FIRST,
	F_LAST,
	F_EMAIL,
	F_PHONE,
	F_ACTUAL_IN,
	F_EXPECTED_IN,
	F_ACTUAL_OUT,
	F_EXPECTED_OUT,
	F_LEASE_FROM,
	F_LEASE_TO,
	N_FIELDS
};

struct customer {
	char *f[N_FIELDS]; /* owned values */
	int line;          /* line of <Customer> */
};

/* One RT_Customer: a household (lease) and its people. */
struct household {
	char *id;           /* RT_Customer/CustomerID, owned */
	char *unit;         /* RT_Customer/RT_Unit/UnitID, owned */
	struct customer *c; /* owned array */
	size_t n, cap;
	int line; /* line of <RT_Customer> */
};

/* Leaf element (suffix below Customer) -> field.  MITS 2.0 names. */
static const struct {
	const char *path;
	enum cust_field field;
} customer_leaves[] = {
	{ "Customer/CustomerID", F_ID },
	{ "Customer/Property/UnitID", F_UNIT },
	{ "Customer/Name/FirstName", F_FIRST },
	{ "Customer/Name/LastName", F_LAST },
	{ "Address/Email", F_EMAIL },
	{ "Customer/Email", F_EMAIL },
	{ "Phone/PhoneNumber", F_PHONE },
	{ "Lease/ActualMoveIn", F_ACTUAL_IN },
	{ "Lease/ExpectedMoveInDate", F_EXPECTED_IN },
	{ "Lease/ActualMoveOut", F_ACTUAL_OUT },
	{ "Lease/ExpectedMoveOutDate", F_EXPECTED_OUT },
	{ "Lease/LeaseFromDate", F_LEASE_FROM },
	{ "Lease/LeaseToDate", F_LEASE_TO },
};

static void household_clear(struct household *h)
{
	for (size_t i = 0; i < h->n; i++)
		for (int k = 0; k < N_FIELDS; k++)
			free(h->c[i].f[k]);
	free(h->id);
	free(h->unit);
	h->id = h->unit = NULL;
	h->n = 0;
}

static void set_field(char **dst, const char *v)
{
	/* the first non-empty value wins: a second Address's Email does not
	 * replace the first */
	if (*dst || !*v)
		return;
	*dst = strdup(v);
}

struct extract {
	struct xmlx x;        /* the reader */
	struct stg stg;       /* the snapshot */
	const char *property; /* --property */
	const char *path;     /* the file */
	char *pms_property;   /* PropertyID/Identification/PrimaryID, owned */
	struct household h;   /* household being read */
	int in_household;
	int in_customer;
};

/* Parse a date field; on error record the reject reason in WHY. */
static int parse_date(const char *raw, const char *what, char out[DATE_LEN + 1], char *why,
		      size_t size)
{
	if (date_parse(raw ? raw : "", out) == 0)
		return 0;
	snprintf(why, size, "%s: %s", what, err_msg());
	return -1;
}

/*
 * Parse date FIELD of C.  Yardi gives roommates 0001-01-01 placeholders (or
 * nothing): a date C lacks is the head of household's, whose lease it is.
 */
static int pick_date(const struct customer *c, const struct customer *head, enum cust_field field,
		     const char *what, char out[DATE_LEN + 1], char *why, size_t size)
{
	if (parse_date(c->f[field], what, out, why, size) < 0)
		return -1;
	if (!out[0] && head && head != c)
		return parse_date(head->f[field], what, out, why, size);
	return 0;
}

/* Stage one customer of the household; rejected rows are recorded. */
static int stage_customer(struct extract *e, const struct customer *c, const struct customer *head)
{
	char in[DATE_LEN + 1], out[DATE_LEN + 1], exp_out[DATE_LEN + 1], from[DATE_LEN + 1],
		to[DATE_LEN + 1], why[768], ref[1024];
	const char *type = c->f[F_TYPE] ? c->f[F_TYPE] : "";
	const char *role = "primary", *status, *status_raw = type;
	const char *unit;
	struct stg_person p = { 0 };
	int rc;

	snprintf(ref, sizeof(ref), "%s:%d", e->path, c->line);
	if (!c->f[F_ID]) {
		return stg_reject(&e->stg, ref, "customer without a CustomerID");
	}
	/* Yardi: Type="customer" is another person on the household's lease */
	if (!strcmp(type, "customer") && head && head != c) {
		role = "roommate";
		status = status_normalize(head->f[F_TYPE]);
		status_raw = head->f[F_TYPE];
	} else {
		status = status_normalize(type);
	}
	unit = c->f[F_UNIT] ? c->f[F_UNIT] : e->h.unit;
	if (!unit && head)
		unit = head->f[F_UNIT];
	if (pick_date(c, head, F_ACTUAL_IN, "ActualMoveIn", in, why, sizeof(why)) < 0 ||
	    (!in[0] &&
	     pick_date(c, head, F_EXPECTED_IN, "ExpectedMoveInDate", in, why, sizeof(why)) < 0) ||
	    pick_date(c, head, F_ACTUAL_OUT, "ActualMoveOut", out, why, sizeof(why)) < 0 ||
	    pick_date(c, head, F_EXPECTED_OUT, "ExpectedMoveOutDate", exp_out, why, sizeof(why)) <
		    0 ||
	    pick_date(c, head, F_LEASE_FROM, "LeaseFromDate", from, why, sizeof(why)) < 0 ||
	    pick_date(c, head, F_LEASE_TO, "LeaseToDate", to, why, sizeof(why)) < 0)
		return stg_reject(&e->stg, ref, why);
	if (!unit) {
		return stg_reject(&e->stg, ref,
				  "customer without a unit (no Property/UnitID or RT_Unit/UnitID)");
	}
	p.property_id = e->property;
	p.pms_person_id = c->f[F_ID];
	p.household_id = e->h.id ? e->h.id : (head ? head->f[F_ID] : NULL);
	p.pms_unit_id = unit;
	p.role = role;
	p.status = status;
	p.status_raw = status_raw;
	p.first_name = c->f[F_FIRST];
	p.last_name = c->f[F_LAST];
	p.email = c->f[F_EMAIL];
	p.phone = c->f[F_PHONE];
	p.move_in = in;
	p.move_out = out;
	p.expected_move_out = exp_out;
	p.lease_from = from;
	p.lease_to = to;
	p.source_ref = ref;
	rc = stg_person(&e->stg, &p);
	if (rc == 1) {
		snprintf(why, sizeof(why), "person '%s' appears twice in the file", c->f[F_ID]);
		return stg_reject(&e->stg, ref, why);
	}
	if (rc < 0)
		return -1;
	return stg_unit(&e->stg, e->property, unit, unit, 1);
}

/* A household closed: stage its people.  The head of household is the
 * Customer whose id is the RT_Customer's, else the first that is not a
 * Yardi "customer" (roommate). */
static int stage_household(struct extract *e)
{
	const struct customer *head = NULL;

	for (size_t i = 0; i < e->h.n && !head; i++)
		if (e->h.id && e->h.c[i].f[F_ID] && !strcmp(e->h.c[i].f[F_ID], e->h.id))
			head = &e->h.c[i];
	for (size_t i = 0; i < e->h.n && !head; i++)
		if (!e->h.c[i].f[F_TYPE] || strcmp(e->h.c[i].f[F_TYPE], "customer"))
			head = &e->h.c[i];
	if (e->h.n == 0) {
		/* RT_Customer with only charges (GetResidentsLeaseCharges) */
		if (e->h.unit && stg_unit(&e->stg, e->property, e->h.unit, e->h.unit, 1) < 0)
			return -1;
		stg_skip(&e->stg);
		return 0;
	}
	for (size_t i = 0; i < e->h.n; i++)
		if (stage_customer(e, &e->h.c[i], head) < 0)
			return -1;
	return 0;
}

static int on_start(struct extract *e)
{
	struct xmlx *x = &e->x;

	if (xmlx_at(x, "RT_Customer")) {
		household_clear(&e->h);
		e->h.line = xmlx_line(x);
		e->in_household = 1;
		return 0;
	}
	if (e->in_household && xmlx_at(x, "Customers/Customer")) {
		struct customer *c;

		if (e->h.n == e->h.cap) {
			size_t cap = e->h.cap ? e->h.cap * 2 : 8;
			struct customer *nc = realloc(e->h.c, cap * sizeof(*nc));

			if (!nc) {
				err_set("out of memory");
				return -1;
			}
			e->h.c = nc;
			e->h.cap = cap;
		}
		c = &e->h.c[e->h.n++];
		memset(c, 0, sizeof(*c));
		c->line = xmlx_line(x);
		c->f[F_TYPE] = xmlx_attr(x, "Type");
		e->in_customer = 1;
	}
	return 0;
}

static int on_end(struct extract *e)
{
	struct xmlx *x = &e->x;
	const char *t = xmlx_text(x);

	if (!e->in_household) {
		if (xmlx_at(x, "PropertyID/Identification/PrimaryID") && *t) {
			if (e->pms_property && strcmp(e->pms_property, t)) {
				err_set("'%s' line %d: the file holds more than one property ('%s' and '%s'); "
					"export one property per file",
					e->path, xmlx_line(x), e->pms_property, t);
				return -1;
			}
			if (!e->pms_property)
				e->pms_property = strdup(t);
		}
		return 0;
	}
	if (xmlx_at(x, "RT_Customer")) {
		e->in_household = 0;
		return stage_household(e);
	}
	if (e->in_customer) {
		struct customer *c = &e->h.c[e->h.n - 1];

		if (xmlx_at(x, "Customers/Customer")) {
			e->in_customer = 0;
			return 0;
		}
		for (size_t i = 0; i < sizeof(customer_leaves) / sizeof(customer_leaves[0]); i++)
			if (xmlx_at(x, customer_leaves[i].path)) {
				set_field(&c->f[customer_leaves[i].field], t);
				break;
			}
		return 0;
	}
	if (xmlx_at(x, "RT_Customer/CustomerID"))
		set_field(&e->h.id, t);
	else if (xmlx_at(x, "RT_Customer/RT_Unit/UnitID"))
		set_field(&e->h.unit, t);
	return 0;
}

/* Read the root element's local name to choose the dialect. */
static int detect_dialect(const char *path, const char **dialect)
{
	struct xmlx x;
	int rc = -1;

	if (xmlx_open(&x, path) < 0)
		return -1;
	if (xmlx_next(&x) != XMLX_START) {
		if (!err_msg()[0] || !strstr(err_msg(), path))
			err_set("'%s': no root element", path);
		goto out;
	}
	if (!strcmp(x.stack[0], "ResidentTransactions")) {
		*dialect = "yardi-rt2";
		rc = 0;
		goto out;
	}
	err_set("'%s' line %d: unsupported XML dialect (root element '%s'); "
		"supported: Yardi ResidentTransactions 2.0",
		path, xmlx_line(&x), x.stack[0]);
out:
	xmlx_close(&x);
	return rc;
}

/* Stage one file.  Returns an exit code. */
static int extract_file(sqlite3 *db, const char *property, const char *path, double max_reject)
{
	struct extract e = { .property = property, .path = path };
	struct stg_source src = { .property_id = property, .kind = "xml", .path = path };
	enum xmlx_event ev;
	int rc = US_EXIT_DATAERR, b;

	err_set("%s", "");
	if (detect_dialect(path, &src.dialect) < 0)
		goto out;
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
	if (xmlx_open(&e.x, path) < 0)
		goto out;
	while ((ev = xmlx_next(&e.x)) != XMLX_END_OF_FILE) {
		if (ev == XMLX_ERROR)
			goto out;
		if ((ev == XMLX_START ? on_start(&e) : on_end(&e)) < 0)
			goto out;
	}
	b = stg_commit(&e.stg, max_reject);
	if (b < 0) {
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
	xmlx_close(&e.x);
	household_clear(&e.h);
	free(e.h.c);
	free(e.pms_property);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "max-reject-percent", required_argument, NULL, 'r' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	const char *property = NULL;
	double max_reject = 5.0;
	sqlite3 *db = NULL;
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-extract-xml", usage);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		int c;

		switch (opt) {
		case 'p':
			property = optarg;
			break;
		case 'r':
			max_reject = strtod(optarg, &end);
			if (end == optarg || *end || max_reject < 0 || max_reject > 100) {
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
	if (!property || !*property) {
		cli_usage_error(&cli, "--property is required");
		goto out;
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
		int r = extract_file(db, property, argv[i], max_reject);

		if (r != US_EXIT_OK && (rc == US_EXIT_OK || r == US_EXIT_CONFIG))
			rc = r;
	}
out:
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
