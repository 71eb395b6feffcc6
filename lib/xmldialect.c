/*
 * xmldialect.c - dialect detection, the staging loop and the helpers the
 * dialect readers share (xmldialect.h, xmldialect_int.h).
 */
#include "xmldialect.h"
#include "err.h"
#include "xmldialect_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Envelope elements read before a file is called of no known dialect. */
#define ENVELOPE_MAX_ELEMENTS 256

/* Copied into messages listing the codes a file holds. */
#define CODES_SHOWN 8

static const char supported[] =
	"supported: Yardi ResidentTransactions 2.0, GetUnitInformation and "
	"GetPropertyConfigurations, MITS ILS feeds (PhysicalProperty), or one of them in an "
	"envelope";

/*
 * The reader X has just opened an element: is it the root of a dialect?
 * *OPS is set to that dialect's reader, or NULL.  Reads on into the
 * element when its name alone does not tell: the first Property of a
 * PhysicalProperty holds RT_Customer rows (Yardi unit list) or not (ILS
 * feed); the first Property of a Properties list has a Code (Yardi
 * property list) or not.  -1 on a parse error.
 */
static int classify(struct xmlx *x, const struct dialect_ops **ops)
{
	int depth = x->depth, is_properties;
	enum xmlx_event ev;

	*ops = NULL;
	if (!strcmp(x->stack[depth - 1], "ResidentTransactions")) {
		*ops = &dialect_yardi_rt2;
		return 0;
	}
	is_properties = !strcmp(x->stack[depth - 1], "Properties");
	if (!is_properties && strcmp(x->stack[depth - 1], "PhysicalProperty") != 0)
		return 0;
	while ((ev = xmlx_next(x)) != XMLX_END_OF_FILE) {
		if (ev == XMLX_ERROR)
			return -1;
		/* the root, or a first Property without children, closed */
		if (ev == XMLX_END && (x->depth == depth || (x->depth == depth + 1 &&
							     !strcmp(x->stack[depth], "Property"))))
			break;
		if (ev != XMLX_START)
			continue;
		if (x->depth == depth + 1 && strcmp(x->stack[depth], "Property") != 0) {
			if (is_properties)
				return 0;
			continue; /* an ILS feed's Management comes first */
		}
		if (x->depth != depth + 2)
			continue;
		if (is_properties) {
			if (!strcmp(x->stack[depth + 1], "Code")) {
				*ops = &dialect_yardi_properties;
				return 0;
			}
			continue;
		}
		*ops = !strcmp(x->stack[depth + 1], "RT_Customer") ? &dialect_yardi_units
								   : &dialect_mits_ils;
		return 0;
	}
	/* a PhysicalProperty with no Property in it: an ILS feed listing nothing */
	if (!is_properties)
		*ops = &dialect_mits_ils;
	return 0;
}

static int is_root_name(const char *name)
{
	return !strcmp(name, "ResidentTransactions") || !strcmp(name, "PhysicalProperty") ||
	       !strcmp(name, "Properties");
}

static void set_doc(struct dialect_doc *doc, const struct dialect_ops *ops, const char *root,
		    int depth, int enveloped)
{
	doc->ops = ops;
	snprintf(doc->name, sizeof(doc->name), "%s%s", enveloped ? "envelope+" : "", ops->name);
	doc->unit_list = ops->unit_list;
	doc->lists_properties = ops->lists_properties;
	snprintf(doc->root, sizeof(doc->root), "%s", root);
	doc->root_depth = depth;
}

/* Read the rest of the envelope X: it must be well-formed to the end. */
static int drain(struct xmlx *x)
{
	enum xmlx_event ev;

	while ((ev = xmlx_next(x)) != XMLX_END_OF_FILE)
		if (ev == XMLX_ERROR)
			return -1;
	return 0;
}

/* Classify the escaped document DOC->inner. */
static int detect_inner(const char *path, struct dialect_doc *doc)
{
	const struct dialect_ops *ops = NULL;
	struct xmlx x;
	char root[64];
	int line, rc = -1;

	if (xmlx_open_memory(&x, path, doc->inner_element, doc->inner_line, doc->inner,
			     doc->inner_len) < 0)
		goto out;
	if (xmlx_next(&x) != XMLX_START) {
		if (!err_msg()[0])
			err_set("%s: no root element", x.origin);
		goto out;
	}
	snprintf(root, sizeof(root), "%s", x.stack[0]);
	line = xmlx_line(&x);
	if (classify(&x, &ops) < 0)
		goto out;
	if (!ops) {
		err_set("%s line %d: unsupported XML dialect (root element '%s'); %s", x.origin,
			line, root, supported);
		goto out;
	}
	set_doc(doc, ops, root, 1, 1);
	rc = 0;
out:
	xmlx_close(&x);
	return rc;
}

/*
 * The root ROOT at line LINE is no dialect's: look inside it, as an
 * envelope, for a dialect's root element or for an element whose text is
 * an escaped document.
 */
static int detect_envelope(const char *path, const char *root, int line, struct dialect_doc *doc)
{
	const struct dialect_ops *ops = NULL;
	enum xmlx_event ev;
	struct xmlx x;
	int elements = 0, rc = -1;

	if (xmlx_open_envelope(&x, path) < 0)
		goto out;
	while ((ev = xmlx_next(&x)) != XMLX_END_OF_FILE) {
		if (ev == XMLX_ERROR)
			goto out;
		if (ev == XMLX_START) {
			char name[64];
			int depth = x.depth;

			if (++elements > ENVELOPE_MAX_ELEMENTS)
				break;
			if (depth == 1 || !is_root_name(x.stack[depth - 1]))
				continue;
			snprintf(name, sizeof(name), "%s", x.stack[depth - 1]);
			if (classify(&x, &ops) < 0)
				goto out;
			if (!ops)
				continue;
			set_doc(doc, ops, name, depth, 1);
			rc = drain(&x);
			goto out;
		}
		if (xmlx_text(&x)[0] == '<') {
			doc->inner_len = strlen(xmlx_text(&x));
			doc->inner = malloc(doc->inner_len + 1);
			if (!doc->inner) {
				err_set("out of memory");
				goto out;
			}
			memcpy(doc->inner, xmlx_text(&x), doc->inner_len + 1);
			snprintf(doc->inner_element, sizeof(doc->inner_element), "%s",
				 x.stack[x.depth - 1]);
			doc->inner_line = xmlx_line(&x);
			if (drain(&x) < 0)
				goto out;
			rc = detect_inner(path, doc);
			goto out;
		}
	}
	err_set("'%s' line %d: unsupported XML dialect (root element '%s'); %s", path, line, root,
		supported);
out:
	xmlx_close(&x);
	return rc;
}

int dialect_detect(const char *path, struct dialect_doc *doc)
{
	const struct dialect_ops *ops = NULL;
	struct xmlx x;
	char root[64];
	int line, rc = -1;

	memset(doc, 0, sizeof(*doc));
	err_set("%s", "");
	if (xmlx_open(&x, path) < 0)
		goto out;
	if (xmlx_next(&x) != XMLX_START) {
		if (!err_msg()[0])
			err_set("'%s': no root element", path);
		goto out;
	}
	snprintf(root, sizeof(root), "%s", x.stack[0]);
	line = xmlx_line(&x);
	if (classify(&x, &ops) < 0)
		goto out;
	if (ops) {
		set_doc(doc, ops, root, 1, 0);
		rc = 0;
		goto out;
	}
	xmlx_close(&x);
	rc = detect_envelope(path, root, line, doc);
out:
	xmlx_close(&x);
	if (rc < 0)
		dialect_doc_release(doc);
	return rc;
}

void dialect_doc_release(struct dialect_doc *doc)
{
	free(doc->inner);
	memset(doc, 0, sizeof(*doc));
}

int dialect_level(const struct dialect_run *r)
{
	return r->x.depth - r->doc->root_depth;
}

int dialect_keep(char **dst, const char *v)
{
	if (*dst || !v || !*v)
		return 0;
	*dst = strdup(v);
	if (!*dst) {
		err_set("out of memory");
		return -1;
	}
	return 0;
}

void dialect_drop(char **p)
{
	free(*p);
	*p = NULL;
}

/* Append CODE to the distinct codes seen, unless it is there; *KEPT is
 * the kept copy. */
static int remember_code(struct dialect_run *r, const char *code, const char **kept)
{
	for (size_t i = 0; i < r->ncodes; i++)
		if (!strcmp(r->codes[i], code)) {
			*kept = r->codes[i];
			return 0;
		}
	if (r->ncodes == r->codes_cap) {
		size_t cap = r->codes_cap ? r->codes_cap * 2 : 8;
		char **c = realloc(r->codes, cap * sizeof(*c));

		if (!c) {
			err_set("out of memory");
			return -1;
		}
		r->codes = c;
		r->codes_cap = cap;
	}
	r->codes[r->ncodes] = strdup(code);
	if (!r->codes[r->ncodes]) {
		err_set("out of memory");
		return -1;
	}
	*kept = r->codes[r->ncodes++];
	r->first_code = r->codes[0];
	r->res->properties = (long)r->ncodes;
	return 0;
}

/* "'a', 'b', 'c'": the first CODES_SHOWN codes seen. */
static void list_codes(const struct dialect_run *r, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->ncodes && i < CODES_SHOWN && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s'%s'", i ? ", " : "",
					r->codes[i]);
	if (r->ncodes > CODES_SHOWN && len < size)
		snprintf(buf + len, size - len, " and %zu more", r->ncodes - CODES_SHOWN);
}

const char dialect_no_property[] =
	"the file does not name the property of this row: give --property";

int dialect_property(struct dialect_run *r, const char *code)
{
	const char *want = r->o->pms_property, *kept;

	if (!code)
		code = "";
	if (remember_code(r, code, &kept) < 0)
		return -1;
	r->property_id = r->o->property ? r->o->property : (*kept ? kept : NULL);
	if (want) {
		r->selected = !strcmp(code, want);
		r->found |= r->selected;
		return 0;
	}
	r->selected = 1;
	if (r->o->property && strcmp(code, r->first_code) != 0) {
		err_set("%s line %d: the file lists more than one property ('%s' and '%s'); "
			"choose one with --pms-property, or leave out --property to stage each "
			"as itself",
			r->x.origin, xmlx_line(&r->x), r->first_code, code);
		return -1;
	}
	return 0;
}

int dialect_reject(struct dialect_run *r, const char *ref, const char *why)
{
	return dialect_reject_person(r, ref, why, NULL);
}

int dialect_reject_person(struct dialect_run *r, const char *ref, const char *why,
			  const char *person)
{
	if (!r->stg) {
		/* only reading: a row that cannot be taken fails the file */
		err_set("%s: %s", ref, why);
		return -1;
	}
	if (stg_reject_person(r->stg, ref, why, person ? r->property_id : NULL, person) < 0) {
		r->res->db_failed = 1;
		return -1;
	}
	if (r->o->on_reject)
		r->o->on_reject(r->o->arg, ref, why);
	return 0;
}

void dialect_skip(struct dialect_run *r)
{
	if (r->stg)
		stg_skip(r->stg);
	r->res->skipped++;
}

int dialect_unit(struct dialect_run *r, const char *ref, const char *id, const char *label,
		 int dwelling)
{
	if (!r->stg)
		return 0;
	if (!r->property_id)
		return dialect_reject(r, ref, dialect_no_property);
	/* a unit listed twice counts as skipped, in struct stg alone */
	if (stg_unit_row(r->stg, r->property_id, id, label ? label : id, dwelling) < 0) {
		r->res->db_failed = 1;
		return -1;
	}
	return 0;
}

int dialect_stage(const struct dialect_doc *doc, const char *path, struct stg *s,
		  const struct dialect_opts *o, struct dialect_result *res)
{
	struct dialect_run r = { .stg = s, .doc = doc, .o = o, .res = res, .path = path };
	const struct dialect_ops *ops = doc->ops;
	enum xmlx_event ev;
	void *state = calloc(1, ops->state_size ? ops->state_size : 1);
	int inside = 0, done = 0, rc = -1;
	long events = 0;

	memset(res, 0, sizeof(*res));
	if (!state) {
		err_set("out of memory");
		return -1;
	}
	if ((doc->inner ? xmlx_open_memory(&r.x, path, doc->inner_element, doc->inner_line,
					   doc->inner, doc->inner_len)
			: xmlx_open(&r.x, path)) < 0)
		goto out;
	while ((ev = xmlx_next(&r.x)) != XMLX_END_OF_FILE) {
		if (ev == XMLX_ERROR)
			goto out;
		/* a document escaped in an envelope has no offset in the file */
		if (o->progress && o->progress->on && !doc->inner && ++events % 4096 == 0)
			progress_update(o->progress, xmlx_offset(&r.x));
		if (!inside) {
			/* an envelope around the dialect's root is read, not staged */
			if (done || ev != XMLX_START || r.x.depth != doc->root_depth ||
			    strcmp(r.x.stack[r.x.depth - 1], doc->root) != 0)
				continue;
			inside = 1;
		}
		if ((ev == XMLX_START ? ops->start(&r, state) : ops->end(&r, state)) < 0)
			goto out;
		if (ev == XMLX_END && r.x.depth == doc->root_depth) {
			inside = 0;
			done = 1;
		}
	}
	if (ops->finish(&r, state) < 0)
		goto out;
	res->digested = !doc->inner && xmlx_digest(&r.x, res->sha256, &res->bytes) == 0;
	if (o->pms_property && !r.found) {
		char codes[512];

		list_codes(&r, codes, sizeof(codes));
		err_set("%s: no property '%s' in the file (it lists %s)", r.x.origin,
			o->pms_property, r.ncodes ? codes : "none");
		goto out;
	}
	snprintf(res->pms_code, sizeof(res->pms_code), "%s",
		 o->pms_property ? o->pms_property
		 : r.ncodes      ? r.first_code
				 : "");
	rc = 0;
out:
	ops->release(state);
	free(state);
	for (size_t i = 0; i < r.ncodes; i++)
		free(r.codes[i]);
	free(r.codes);
	xmlx_close(&r.x);
	return rc;
}
