/*
 * xmlsafe.h - a libxml2 streaming reader (xmlTextReader) that is safe on
 * hostile files, plus the helpers extractors share.
 *
 * Safe by construction: entities are never substituted (no
 * XML_PARSE_NOENT), no DTD is loaded (no XML_PARSE_DTDLOAD), the network is
 * off (XML_PARSE_NONET), the external entity loader refuses every URL, and
 * a document type declaration is refused outright: PMS exports have none,
 * and refusing it closes billion-laughs and XXE at once.  The declared
 * encoding is honoured by libxml2 itself.
 *
 * Elements are matched by local name, whatever their namespace prefix
 * (Yardi puts MITS elements in a namespace of the exporter's choosing).
 */
#ifndef UNITSYNC_XMLSAFE_H
#define UNITSYNC_XMLSAFE_H

#include <libxml/xmlreader.h>
#include <stddef.h>

#define XMLX_MAX_DEPTH 64

/* A reader with the element path kept as a stack of local names. */
struct xmlx {
	xmlTextReaderPtr r;          /* owned */
	const char *path;            /* the file, borrowed, for messages */
	char *stack[XMLX_MAX_DEPTH]; /* local names from the root, owned */
	int depth;                   /* elements open */
	char *text;                  /* text of the element being read, owned */
	size_t text_len, text_cap;
	char error[512]; /* first parser error, with its line */
	long size;       /* file size in bytes, to tell truncation */
	int error_code;  /* libxml2's code of the first error */
	int pop;         /* the last event was END: pop on the next call */
	int pending_end; /* the last START was <a/>: its END is next */
};

/* Event kinds xmlx_next() returns. */
enum xmlx_event {
	XMLX_END_OF_FILE = 0,
	XMLX_START, /* an element opened (stack includes it) */
	XMLX_END,   /* an element closed; text holds its trimmed text; the
		       * stack still includes it until the next call */
	XMLX_ERROR = -1,
};

int xmlx_open(struct xmlx *x, const char *path);
void xmlx_close(struct xmlx *x);

/* Next start or end of an element; -1 with err_set() ("'FILE' line N: ..."). */
enum xmlx_event xmlx_next(struct xmlx *x);

/* Does the element stack end with the '/'-separated local names SUFFIX? */
int xmlx_at(const struct xmlx *x, const char *suffix);

/* Trimmed text of the element just closed ("" when none). */
const char *xmlx_text(const struct xmlx *x);

/* The current element's attribute NAME (malloc'd, caller frees) or NULL. */
char *xmlx_attr(struct xmlx *x, const char *name);

/* Line of the current node in the file. */
int xmlx_line(const struct xmlx *x);

#endif
