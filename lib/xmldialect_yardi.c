/*
 * xmldialect_yardi.c - Yardi Voyager's ItfResidentTransactions20 replies
 * (xmldialect.h): ResidentTransactions 2.0 (yardi-rt2), GetUnitInformation
 * (yardi-units) and GetPropertyConfigurations (yardi-properties).
 *
 * Source of the shapes: the Voyager 6.0 sandbox replies in
 * ../shared/samples/pms/yardi-voyager-pyx4j and the MITS Resident
 * Transactions 2.0 schema they name (Itf_MITS_ResidentTransactions2.0.xsd).
 */
#include "cli.h"
#include "date.h"
#include "err.h"
#include "status.h"
#include "xmldialect_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- yardi-rt2 ------------------------------------------------------- */

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
	char ref[700];     /* where its <Customer> is, for rejects */
};

/* One RT_Customer: a household (lease) and its people. */
struct household {
	char *id;           /* RT_Customer/CustomerID, owned */
	char *unit;         /* RT_Customer/RT_Unit/UnitID, owned */
	char *econ;         /* the unit's UnitEconomicStatus(Description), owned */
	struct customer *c; /* owned array */
	size_t n, cap;
	char ref[700]; /* where its <RT_Customer> is */
};

/*
 * Leaf element (suffix below Customer) -> field.  MITS 2.0 names.  Nothing
 * else of a Customer is read: Identification (SSN), DateOfBirth, Lease
 * rents and every RTServiceTransactions charge stay in the file.
 */
#define LEAF(path, field)             \
	{                             \
		XMLX_LIT(path), field \
	}
static const struct {
	const char *path;
	size_t len;
	enum cust_field field;
} customer_leaves[] = {
	LEAF("Customer/CustomerID", F_ID),
	LEAF("Customer/Property/UnitID", F_UNIT),
	LEAF("Customer/Name/FirstName", F_FIRST),
	LEAF("Customer/Name/LastName", F_LAST),
	LEAF("Address/Email", F_EMAIL),
	LEAF("Customer/Email", F_EMAIL),
	LEAF("Phone/PhoneNumber", F_PHONE),
	LEAF("Lease/ActualMoveIn", F_ACTUAL_IN),
	LEAF("Lease/ExpectedMoveInDate", F_EXPECTED_IN),
	LEAF("Lease/ActualMoveOut", F_ACTUAL_OUT),
	LEAF("Lease/ExpectedMoveOutDate", F_EXPECTED_OUT),
	LEAF("Lease/LeaseFromDate", F_LEASE_FROM),
	LEAF("Lease/LeaseToDate", F_LEASE_TO),
};
#undef LEAF

struct rt2 {
	struct household h; /* household being read */
	int in_household;   /* inside an RT_Customer */
	int in_customer;    /* inside one of its Customers/Customer */
	char *code;         /* the Property's PropertyID/Identification/PrimaryID */
	int named;          /* dialect_property() was told the current Property */
	long customers;     /* Customer elements in the file */
};

static void household_clear(struct household *h)
{
	for (size_t i = 0; i < h->n; i++)
		for (int k = 0; k < N_FIELDS; k++)
			free(h->c[i].f[k]);
	dialect_drop(&h->id);
	dialect_drop(&h->unit);
	dialect_drop(&h->econ);
	h->n = 0;
}

/* Parse a date field; on error write the reject reason in WHY. */
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
 * nothing): a date such a member lacks is the head of household's, whose
 * lease it is (HEAD NULL: none is).  A date C has is C's own: the head's
 * move-out is not a roommate's who stays, nor the head's move-in a
 * roommate's who arrives later (review rv18 #1, #2).
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

/*
 * C's move-in into IN: its own ActualMoveIn, else its own
 * ExpectedMoveInDate, else (HEAD given) the head's, in the same order.
 */
static int pick_move_in(const struct customer *c, const struct customer *head,
			char in[DATE_LEN + 1], char *why, size_t size)
{
	if (pick_date(c, NULL, F_ACTUAL_IN, "ActualMoveIn", in, why, size) < 0)
		return -1;
	if (!in[0] && pick_date(c, NULL, F_EXPECTED_IN, "ExpectedMoveInDate", in, why, size) < 0)
		return -1;
	if (!in[0] && head && head != c)
		return pick_move_in(head, NULL, in, why, size);
	return 0;
}

/*
 * The role a Customer/@Type names when it is no lease status: Yardi's
 * "customer" is another lease holder (roommate); "guarantor", "occupant"
 * are roles too.  NULL when TYPE is a status, or primary, or unknown.
 */
static const char *type_role(const char *type)
{
	const char *role;

	if (!type || strcmp(status_normalize(type), "unknown") != 0)
		return NULL;
	role = role_normalize(type);
	return role && strcmp(role, "primary") != 0 ? role : NULL;
}

/* Stage one customer of the household; rejected rows are recorded. */
static int stage_customer(struct dialect_run *r, struct rt2 *t, const struct customer *c,
			  const struct customer *head)
{
	char in[DATE_LEN + 1], out[DATE_LEN + 1], exp_out[DATE_LEN + 1], from[DATE_LEN + 1],
		to[DATE_LEN + 1], why[768];
	const char *type = c->f[F_TYPE] ? c->f[F_TYPE] : "";
	const char *role = "primary", *status, *status_raw = type, *unit;
	const struct customer *dates_of = head; /* whose dates C lacks are taken */
	const char *econ[] = { t->h.econ };
	struct stg_person p = { 0 };

	if (!c->f[F_ID])
		return dialect_reject(r, c->ref, "customer without a CustomerID");
	/* a roommate, guarantor ... takes the household's lease status, and
	 * the dates it lacks; a customer with a status of its own has dates
	 * of its own only */
	if (type_role(type) && head && head != c) {
		role = type_role(type);
		status = status_normalize(head->f[F_TYPE]);
		status_raw = head->f[F_TYPE];
	} else {
		status = status_normalize(type);
		dates_of = NULL;
	}
	unit = c->f[F_UNIT] ? c->f[F_UNIT] : t->h.unit;
	if (!unit && head)
		unit = head->f[F_UNIT];
	if (pick_move_in(c, dates_of, in, why, sizeof(why)) < 0 ||
	    pick_date(c, dates_of, F_ACTUAL_OUT, "ActualMoveOut", out, why, sizeof(why)) < 0 ||
	    pick_date(c, dates_of, F_EXPECTED_OUT, "ExpectedMoveOutDate", exp_out, why,
		      sizeof(why)) < 0 ||
	    pick_date(c, dates_of, F_LEASE_FROM, "LeaseFromDate", from, why, sizeof(why)) < 0 ||
	    pick_date(c, dates_of, F_LEASE_TO, "LeaseToDate", to, why, sizeof(why)) < 0)
		return dialect_reject_person(r, c->ref, why, c->f[F_ID]);
	if (!unit)
		return dialect_reject_person(
			r, c->ref, "customer without a unit (no Property/UnitID or RT_Unit/UnitID)",
			c->f[F_ID]);
	if (!r->property_id)
		return dialect_reject(r, c->ref, dialect_no_property);
	p.property_id = r->property_id;
	p.pms_person_id = c->f[F_ID];
	p.household_id = t->h.id ? t->h.id : (head ? head->f[F_ID] : NULL);
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
	p.source_ref = c->ref;
	p.dwelling = status_dwelling(econ, 1);
	/* a person on two leases (a transfer): rows of their own, merged by
	 * transform; the unit is staged with them */
	if (stg_person(r->stg, &p, 1) < 0) {
		r->res->db_failed = 1;
		return -1;
	}
	return 0;
}

/*
 * A household closed: stage its people.  The head of household is the
 * Customer whose id is the RT_Customer's, else the first whose type is no
 * role word (Yardi's "customer" is a roommate).
 */
static int stage_household(struct dialect_run *r, struct rt2 *t)
{
	const struct customer *head = NULL;
	const char *econ[] = { t->h.econ };

	if (!r->selected) {
		dialect_skip(r);
		return 0;
	}
	for (size_t i = 0; i < t->h.n && !head; i++)
		if (t->h.id && t->h.c[i].f[F_ID] && !strcmp(t->h.c[i].f[F_ID], t->h.id))
			head = &t->h.c[i];
	for (size_t i = 0; i < t->h.n && !head; i++)
		if (!type_role(t->h.c[i].f[F_TYPE]))
			head = &t->h.c[i];
	if (t->h.n == 0) {
		/* an RT_Customer with only charges (GetResidentsLeaseCharges) */
		if (t->h.unit &&
		    dialect_unit(r, t->h.ref, t->h.unit, NULL, status_dwelling(econ, 1)) < 0)
			return -1;
		dialect_skip(r);
		return 0;
	}
	for (size_t i = 0; i < t->h.n; i++)
		if (stage_customer(r, t, &t->h.c[i], head) < 0)
			return -1;
	return 0;
}

static int rt2_start(struct dialect_run *r, void *state)
{
	struct rt2 *t = state;
	struct xmlx *x = &r->x;

	if (dialect_level(r) == 1 && xmlx_at(x, "Property")) {
		dialect_drop(&t->code);
		t->named = 0;
		return 0;
	}
	if (dialect_level(r) == 2 && xmlx_at(x, "Property/RT_Customer")) {
		if (!t->named && dialect_property(r, t->code) < 0)
			return -1;
		t->named = 1;
		household_clear(&t->h);
		xmlx_ref(x, t->h.ref, sizeof(t->h.ref));
		r->res->records++;
		t->in_household = 1;
		return 0;
	}
	if (t->in_household && xmlx_at(x, "RT_Customer/Customers/Customer")) {
		struct customer *c;

		if (t->h.n == t->h.cap) {
			size_t cap = t->h.cap ? t->h.cap * 2 : 8;
			struct customer *nc = realloc(t->h.c, cap * sizeof(*nc));

			if (!nc) {
				err_set("out of memory");
				return -1;
			}
			t->h.c = nc;
			t->h.cap = cap;
		}
		c = &t->h.c[t->h.n++];
		memset(c, 0, sizeof(*c));
		xmlx_ref(x, c->ref, sizeof(c->ref));
		c->f[F_TYPE] = xmlx_attr(x, "Type");
		t->customers++;
		t->in_customer = 1;
	}
	return 0;
}

static int rt2_end(struct dialect_run *r, void *state)
{
	struct rt2 *t = state;
	struct xmlx *x = &r->x;
	const char *v = xmlx_text(x);

	if (!t->in_household) {
		if (dialect_level(r) == 4 &&
		    xmlx_at(x, "Property/PropertyID/Identification/PrimaryID"))
			return dialect_keep(&t->code, v);
		if (dialect_level(r) == 1 && xmlx_at(x, "Property") && !t->named) {
			t->named = 1;
			return dialect_property(r, t->code);
		}
		return 0;
	}
	if (dialect_level(r) == 2 && xmlx_at(x, "RT_Customer")) {
		t->in_household = 0;
		return stage_household(r, t);
	}
	if (t->in_customer) {
		struct customer *c = &t->h.c[t->h.n - 1];

		if (xmlx_at(x, "Customers/Customer")) {
			t->in_customer = 0;
			return 0;
		}
		for (size_t i = 0; i < sizeof(customer_leaves) / sizeof(customer_leaves[0]); i++)
			if (xmlx_at_n(x, customer_leaves[i].path, customer_leaves[i].len))
				return dialect_keep(&c->f[customer_leaves[i].field], v);
		return 0;
	}
	if (xmlx_at(x, "RT_Customer/CustomerID"))
		return dialect_keep(&t->h.id, v);
	if (xmlx_at(x, "RT_Customer/RT_Unit/UnitID"))
		return dialect_keep(&t->h.unit, v);
	if (xmlx_at(x, "RT_Unit/Unit/Information/UnitEconomicStatusDescription") ||
	    xmlx_at(x, "RT_Unit/Unit/Information/UnitEconomicStatus"))
		return dialect_keep(&t->h.econ, v);
	return 0;
}

static int rt2_finish(struct dialect_run *r, void *state)
{
	struct rt2 *t = state;

	/* households but nobody in them: lease charges, not a resident list */
	r->res->no_residents = r->res->records > 0 && t->customers == 0;
	return 0;
}

static void rt2_release(void *state)
{
	struct rt2 *t = state;

	household_clear(&t->h);
	free(t->h.c);
	free(t->code);
}

const struct dialect_ops dialect_yardi_rt2 = {
	.name = "yardi-rt2",
	.state_size = sizeof(struct rt2),
	.start = rt2_start,
	.end = rt2_end,
	.finish = rt2_finish,
	.release = rt2_release,
};

/* ---- yardi-units ----------------------------------------------------- */

/* One RT_Customer row of GetUnitInformation: a unit and who leases it. */
struct unit_row {
	char *unit;      /* RT_Unit/UnitID, owned */
	char *info_unit; /* RT_Unit/Unit/Information/UnitID, owned */
	char *customer;  /* CustomerID: a person's id or a placeholder, owned */
	char *econ;      /* UnitEconomicStatusDescription, owned */
	char *econ_code; /* UnitEconomicStatus, owned */
	char *property;  /* Unit/PropertyPrimaryID, owned */
	char ref[700];   /* where the row is */
	int in_row;
};

static void unit_row_clear(struct unit_row *u)
{
	dialect_drop(&u->unit);
	dialect_drop(&u->info_unit);
	dialect_drop(&u->customer);
	dialect_drop(&u->econ);
	dialect_drop(&u->econ_code);
	dialect_drop(&u->property);
}

static int units_start(struct dialect_run *r, void *state)
{
	struct unit_row *u = state;

	if (dialect_level(r) == 2 && xmlx_at(&r->x, "Property/RT_Customer")) {
		unit_row_clear(u);
		xmlx_ref(&r->x, u->ref, sizeof(u->ref));
		r->res->records++;
		u->in_row = 1;
	}
	return 0;
}

/* A row closed: stage its unit.  The CustomerID is never staged: this is a
 * unit list, and a placeholder such as "Vacant Unrented Not Ready" is no
 * person. */
static int stage_unit_row(struct dialect_run *r, struct unit_row *u)
{
	const char *words[] = { u->econ, u->econ_code, u->customer };
	const char *id = u->unit ? u->unit : u->info_unit;

	if (dialect_property(r, u->property) < 0)
		return -1;
	if (!r->selected) {
		dialect_skip(r);
		return 0;
	}
	if (!id)
		return dialect_reject(r, u->ref, "unit row without a UnitID");
	/* the Unit's MarketingName is the property's, not the unit's: no label */
	return dialect_unit(r, u->ref, id, NULL, status_dwelling(words, 3));
}

static int units_end(struct dialect_run *r, void *state)
{
	struct unit_row *u = state;
	struct xmlx *x = &r->x;
	const char *v = xmlx_text(x);

	if (!u->in_row)
		return 0;
	if (dialect_level(r) == 2) {
		u->in_row = 0;
		return stage_unit_row(r, u);
	}
	if (xmlx_at(x, "RT_Customer/CustomerID"))
		return dialect_keep(&u->customer, v);
	if (xmlx_at(x, "RT_Customer/RT_Unit/UnitID"))
		return dialect_keep(&u->unit, v);
	if (xmlx_at(x, "RT_Unit/Unit/Information/UnitID"))
		return dialect_keep(&u->info_unit, v);
	if (xmlx_at(x, "Unit/Information/UnitEconomicStatusDescription"))
		return dialect_keep(&u->econ, v);
	if (xmlx_at(x, "Unit/Information/UnitEconomicStatus"))
		return dialect_keep(&u->econ_code, v);
	if (xmlx_at(x, "RT_Unit/Unit/PropertyPrimaryID"))
		return dialect_keep(&u->property, v);
	return 0;
}

static int units_finish(struct dialect_run *r, void *state)
{
	(void)r;
	(void)state;
	return 0;
}

static void units_release(void *state)
{
	unit_row_clear(state);
}

const struct dialect_ops dialect_yardi_units = {
	.name = "yardi-units",
	.unit_list = 1,
	.state_size = sizeof(struct unit_row),
	.start = units_start,
	.end = units_end,
	.finish = units_finish,
	.release = units_release,
};

/* ---- yardi-properties ------------------------------------------------ */

/* One Properties/Property: a PMS property's code and name. */
struct property_row {
	char *code;    /* Code, owned */
	char *name;    /* MarketingName, owned */
	char ref[700]; /* where it is */
};

static int props_start(struct dialect_run *r, void *state)
{
	struct property_row *p = state;

	if (dialect_level(r) == 1 && xmlx_at(&r->x, "Property")) {
		dialect_drop(&p->code);
		dialect_drop(&p->name);
		xmlx_ref(&r->x, p->ref, sizeof(p->ref));
		r->res->records++;
	}
	return 0;
}

static int props_end(struct dialect_run *r, void *state)
{
	struct property_row *p = state;
	const char *v = xmlx_text(&r->x);

	if (dialect_level(r) == 2 && xmlx_at(&r->x, "Property/Code"))
		return dialect_keep(&p->code, v);
	if (dialect_level(r) == 2 && xmlx_at(&r->x, "Property/MarketingName"))
		return dialect_keep(&p->name, v);
	if (dialect_level(r) != 1 || !xmlx_at(&r->x, "Property"))
		return 0;
	if (!p->code)
		return dialect_reject(r, p->ref, "property without a Code");
	/* listed, never staged: a property list says nothing about property P */
	fputs("property ", r->o->out);
	cli_put_clean(r->o->out, p->code);
	if (p->name) {
		fputs(": ", r->o->out);
		cli_put_clean(r->o->out, p->name);
	}
	fputc('\n', r->o->out);
	r->res->properties++;
	dialect_skip(r);
	return 0;
}

static int props_finish(struct dialect_run *r, void *state)
{
	(void)state;
	/* every code is listed: one --pms-property is no reason to fail */
	r->found = 1;
	return 0;
}

static void props_release(void *state)
{
	struct property_row *p = state;

	dialect_drop(&p->code);
	dialect_drop(&p->name);
}

const struct dialect_ops dialect_yardi_properties = {
	.name = "yardi-properties",
	.unit_list = 1,
	.lists_properties = 1,
	.state_size = sizeof(struct property_row),
	.start = props_start,
	.end = props_end,
	.finish = props_finish,
	.release = props_release,
};
