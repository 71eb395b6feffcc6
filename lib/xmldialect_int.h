/*
 * xmldialect_int.h - what the dialect readers of xmldialect.h share; not
 * for use outside lib/xmldialect*.c.
 *
 * dialect_stage() feeds each reader the start and end events inside its
 * root element; a reader keeps its own state (one household or one unit at
 * a time, so memory does not grow with the file) and stages through the
 * helpers below, which apply the PMS property selection and count rejects
 * and skips.
 */
#ifndef UNITSYNC_XMLDIALECT_INT_H
#define UNITSYNC_XMLDIALECT_INT_H

#include "stg.h"
#include "xmldialect.h"
#include "xmlsafe.h"

/* One dialect_stage() call. */
struct dialect_run {
	struct xmlx x;                 /* the reader, owned */
	struct stg *stg;               /* borrowed; NULL when only reading */
	const struct dialect_doc *doc; /* borrowed */
	const struct dialect_opts *o;  /* borrowed */
	struct dialect_result *res;    /* borrowed, filled in */
	const char *path;              /* the file, borrowed */
	char **codes;                  /* distinct PMS property codes seen, owned */
	size_t ncodes, codes_cap;
	const char *first_code;  /* codes[0] */
	const char *property_id; /* property_id of the rows that follow: opts->property,
				  * else the current PMS code (in codes); NULL when
				  * neither names one */
	int selected;            /* the current property's rows are staged */
	int found;               /* opts->pms_property was seen */
};

/* A dialect's reader. */
struct dialect_ops {
	const char *name;     /* as in xmldialect.h */
	int unit_list;        /* stages units only */
	int lists_properties; /* stages nothing */
	size_t state_size;    /* bytes of state, zeroed before the first event */
	int (*start)(struct dialect_run *r, void *state);  /* an element opened */
	int (*end)(struct dialect_run *r, void *state);    /* an element closed */
	int (*finish)(struct dialect_run *r, void *state); /* after the root closed */
	void (*release)(void *state);                      /* free what state owns */
};

extern const struct dialect_ops dialect_yardi_rt2;
extern const struct dialect_ops dialect_yardi_units;
extern const struct dialect_ops dialect_yardi_properties;
extern const struct dialect_ops dialect_mits_ils;

/*
 * The rows that follow belong to PMS property CODE (NULL or "" when the
 * file does not say): select them or not, and set r->property_id.  With
 * opts->property and without opts->pms_property a second, different code
 * fails (-1 with err_set()): the file holds more than property P.
 */
int dialect_property(struct dialect_run *r, const char *code);

/* Record a rejected row at REF; -1 only when the database fails. */
int dialect_reject(struct dialect_run *r, const char *ref, const char *why);

/* The same for a row of person PERSON (of r->property_id), whom transform
 * then holds as they were rather than treat as gone (stg_reject_person()). */
int dialect_reject_person(struct dialect_run *r, const char *ref, const char *why,
			  const char *person);

/* Count a row that is not staged (another property's, a repeated unit). */
void dialect_skip(struct dialect_run *r);

/* Stage unit ID of r->property_id (LABEL NULL = ID) from the row at REF; a
 * unit staged before in this snapshot counts as a skipped row, one of no
 * named property is rejected.  -1 on database error. */
int dialect_unit(struct dialect_run *r, const char *ref, const char *id, const char *label,
		 int dwelling);

/* Why a row of no named property is rejected. */
extern const char dialect_no_property[];

/* Keep the first non-empty value: *DST = copy of V unless *DST is set or V
 * is empty.  -1 when out of memory. */
int dialect_keep(char **dst, const char *v);

/* Free *P and set it to NULL. */
void dialect_drop(char **p);

/* Depth of the element that just opened or closed, relative to the
 * dialect's root (the root is 0). */
int dialect_level(const struct dialect_run *r);

#endif
