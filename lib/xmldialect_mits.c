/*
 * xmldialect_mits.c - MITS ILS marketing feeds 3.0 and 4.x (mits-ils,
 * xmldialect.h): the unit inventory of each Property.
 *
 * Each vendor names the unit its own way; the id is the first of, in the
 * unit's record (Unit, else the ILS_Unit itself):
 *
 *   1. Information/UnitID            MITS 3.0/4.x, Vaultware, Property Link
 *   2. Identification IDType=UnitID  Property Solutions (IDValue child)
 *   3. UnitID                        RentCafe's flat ILS_Unit
 *   4. Identification without IDType AppFolio 4.x (IDValue attribute)
 *   5. the Id or IDValue attribute   of the Unit or ILS_Unit
 *
 * falling back to the enclosing ILS_Unit's for a Unit that has none.  The
 * label is the unit's MarketingName ("3F", "02222"), else the id.  The PMS
 * property code is Property/[PropertyID/]Identification/PrimaryID, else a
 * PropertyID/Identification of IDType PrimaryID or property (or none:
 * IDValue attribute or child), else Property/@IDValue.  Nothing about
 * rent, fees, deposits or availability is read.
 *
 * Sources: ../shared/samples/pms/mits-doomspork and ils-feeds-bozzuto.
 */
#include "err.h"
#include "status.h"
#include "xmldialect_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where a unit id came from, best first. */
enum id_source {
	ID_INFO,  /* Information/UnitID */
	ID_TYPED, /* Identification IDType="UnitID" */
	ID_CHILD, /* UnitID */
	ID_PLAIN, /* Identification without IDType */
	ID_ATTR,  /* Id / IDValue attribute */
	N_IDS
};

/* A unit record: a Unit, or an ILS_Unit without one. */
struct record {
	char *id[N_IDS]; /* candidates, owned */
	char *label;     /* MarketingName, owned */
	char *econ[2];   /* UnitEconomicStatus, ...Description, owned */
	int level;       /* its depth below the root */
	char ref[700];   /* where it opened */
};

/* Which id an open Identification feeds. */
enum ident_owner {
	IDENT_NONE,
	IDENT_TYPED,    /* a record's, IDType="UnitID" */
	IDENT_PLAIN,    /* a record's, no IDType */
	IDENT_PROPERTY, /* the property's */
};

/* PMS property code candidates, best first. */
enum code_source {
	CODE_PRIMARY_ID, /* Identification/PrimaryID */
	CODE_IDENT,      /* PropertyID/Identification IDValue */
	CODE_ATTR,       /* Property/@IDValue */
	N_CODES
};

struct ils {
	char *code[N_CODES]; /* the current Property's code candidates, owned */
	int in_property;     /* inside a Property */
	int named;           /* dialect_property() was told it */
	int in_ils;          /* inside an ILS_Unit */
	int in_unit;         /* inside a Unit of it */
	int had_unit;        /* the ILS_Unit held a Unit */
	struct record ils;   /* the ILS_Unit */
	struct record unit;  /* the Unit */
	enum ident_owner ident;
	int ident_level;          /* depth of the open Identification */
	struct record *ident_rec; /* the record it identifies */
};

static void record_clear(struct record *rec)
{
	for (int i = 0; i < N_IDS; i++)
		dialect_drop(&rec->id[i]);
	dialect_drop(&rec->label);
	dialect_drop(&rec->econ[0]);
	dialect_drop(&rec->econ[1]);
}

/* Open record REC at the current element: its Id / IDValue attribute. */
static int record_open(struct dialect_run *r, struct record *rec)
{
	char *v = xmlx_attr(&r->x, "Id");

	record_clear(rec);
	if (!v)
		v = xmlx_attr(&r->x, "IDValue");
	rec->id[ID_ATTR] = v && *v ? v : NULL;
	if (v && !*v)
		free(v);
	rec->level = dialect_level(r);
	xmlx_ref(&r->x, rec->ref, sizeof(rec->ref));
	r->res->records++;
	return 0;
}

static const char *first_id(const struct record *rec)
{
	for (int i = 0; rec && i < N_IDS; i++)
		if (rec->id[i])
			return rec->id[i];
	return NULL;
}

/* Tell dialect_property() which property the units that follow are of. */
static int name_property(struct dialect_run *r, struct ils *s)
{
	const char *code = NULL;

	for (int i = 0; i < N_CODES && !code; i++)
		code = s->code[i];
	s->named = 1;
	return dialect_property(r, code);
}

/* A record closed: stage its unit, with FALLBACK's id and label. */
static int stage_record(struct dialect_run *r, const struct record *rec,
			const struct record *fallback)
{
	const char *id = first_id(rec) ? first_id(rec) : first_id(fallback);
	const char *label = rec->label ? rec->label : (fallback ? fallback->label : NULL);
	const char *words[] = { rec->econ[0], rec->econ[1], fallback ? fallback->econ[0] : NULL,
				fallback ? fallback->econ[1] : NULL };

	if (!r->selected) {
		dialect_skip(r);
		return 0;
	}
	if (!id)
		return dialect_reject(r, rec->ref,
				      "unit without an id (no UnitID, Identification or Id)");
	return dialect_unit(r, rec->ref, id, label, status_dwelling(words, 4));
}

/* An Identification opened inside a record or a PropertyID. */
static int identification(struct dialect_run *r, struct ils *s)
{
	struct record *rec = s->in_unit ? &s->unit : (s->in_ils ? &s->ils : NULL);
	char *type = xmlx_attr(&r->x, "IDType");
	char *value = xmlx_attr(&r->x, "IDValue");
	int rc = 0;

	s->ident = IDENT_NONE;
	s->ident_level = dialect_level(r);
	s->ident_rec = rec;
	if (rec && dialect_level(r) == rec->level + 1) {
		if (type && !strcasecmp(type, "UnitID")) {
			s->ident = IDENT_TYPED;
			rc = dialect_keep(&rec->id[ID_TYPED], value);
		} else if (!type) {
			s->ident = IDENT_PLAIN;
			rc = dialect_keep(&rec->id[ID_PLAIN], value);
		}
	} else if (!s->in_ils && dialect_level(r) == 3 &&
		   xmlx_at(&r->x, "PropertyID/Identification") &&
		   (!type || !strcasecmp(type, "PrimaryID") || !strcasecmp(type, "property"))) {
		s->ident = IDENT_PROPERTY;
		rc = dialect_keep(&s->code[CODE_IDENT], value);
	}
	free(type);
	free(value);
	return rc;
}

static int ils_start(struct dialect_run *r, void *state)
{
	struct ils *s = state;
	struct xmlx *x = &r->x;
	int level = dialect_level(r);

	if (level == 1 && xmlx_at(x, "Property")) {
		char *v = xmlx_attr(x, "IDValue");
		int rc;

		for (int i = 0; i < N_CODES; i++)
			dialect_drop(&s->code[i]);
		s->in_property = 1;
		s->named = 0;
		rc = dialect_keep(&s->code[CODE_ATTR], v);
		free(v);
		return rc;
	}
	if (!s->in_property)
		return 0;
	if (level == 2 && xmlx_at(x, "ILS_Unit")) {
		if (!s->named && name_property(r, s) < 0)
			return -1;
		s->in_ils = 1;
		s->had_unit = 0;
		return record_open(r, &s->ils);
	}
	if (s->in_ils && !s->in_unit &&
	    ((level == 3 && xmlx_at(x, "ILS_Unit/Unit")) ||
	     (level == 4 && xmlx_at(x, "ILS_Unit/Units/Unit")))) {
		if (!s->had_unit)
			r->res->records--; /* the ILS_Unit is no record of its own */
		s->in_unit = 1;
		s->had_unit = 1;
		return record_open(r, &s->unit);
	}
	if (xmlx_at(x, "Identification"))
		return identification(r, s);
	return 0;
}

static int ils_end(struct dialect_run *r, void *state)
{
	struct ils *s = state;
	struct xmlx *x = &r->x;
	struct record *rec = s->in_unit ? &s->unit : (s->in_ils ? &s->ils : NULL);
	const char *v = xmlx_text(x);
	int level = dialect_level(r);

	if (!s->in_property)
		return 0;
	if (s->in_unit && level == s->unit.level) {
		s->in_unit = 0;
		return stage_record(r, &s->unit, &s->ils);
	}
	if (s->in_ils && level == 2) {
		s->in_ils = 0;
		return s->had_unit ? 0 : stage_record(r, &s->ils, NULL);
	}
	if (level == 1) {
		s->in_property = 0;
		return s->named ? 0 : name_property(r, s);
	}
	if (s->ident != IDENT_NONE && level == s->ident_level + 1 &&
	    xmlx_at(x, "Identification/IDValue")) {
		if (s->ident == IDENT_PROPERTY)
			return dialect_keep(&s->code[CODE_IDENT], v);
		return dialect_keep(&s->ident_rec->id[s->ident == IDENT_TYPED ? ID_TYPED : ID_PLAIN],
				    v);
	}
	if (level == s->ident_level && xmlx_at(x, "Identification"))
		s->ident = IDENT_NONE;
	if (rec) {
		if (level == rec->level + 2 && xmlx_at(x, "Information/UnitID"))
			return dialect_keep(&rec->id[ID_INFO], v);
		if (level == rec->level + 1 && xmlx_at(x, "UnitID"))
			return dialect_keep(&rec->id[ID_CHILD], v);
		if (level == rec->level + 1 && xmlx_at(x, "MarketingName"))
			return dialect_keep(&rec->label, v);
		if (xmlx_at(x, "UnitEconomicStatus"))
			return dialect_keep(&rec->econ[0], v);
		if (xmlx_at(x, "UnitEconomicStatusDescription"))
			return dialect_keep(&rec->econ[1], v);
		return 0;
	}
	if (!s->in_ils &&
	    ((level == 3 && xmlx_at(x, "Property/Identification/PrimaryID")) ||
	     (level == 4 && xmlx_at(x, "Property/PropertyID/Identification/PrimaryID"))))
		return dialect_keep(&s->code[CODE_PRIMARY_ID], v);
	return 0;
}

static int ils_finish(struct dialect_run *r, void *state)
{
	(void)r;
	(void)state;
	return 0;
}

static void ils_release(void *state)
{
	struct ils *s = state;

	for (int i = 0; i < N_CODES; i++)
		dialect_drop(&s->code[i]);
	record_clear(&s->ils);
	record_clear(&s->unit);
}

const struct dialect_ops dialect_mits_ils = {
	.name = "mits-ils",
	.unit_list = 1,
	.state_size = sizeof(struct ils),
	.start = ils_start,
	.end = ils_end,
	.finish = ils_finish,
	.release = ils_release,
};
