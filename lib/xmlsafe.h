/*
 * xmlsafe.h - a libxml2 streaming reader (xmlTextReader) that is safe on
 * hostile files, plus the helpers extractors share.
 *
 * Safe by construction: entities are never substituted (no
 * XML_PARSE_NOENT), no DTD is loaded (no XML_PARSE_DTDLOAD), the network is
 * off (XML_PARSE_NONET), the external entity loader refuses every URL, and
 * a document type declaration is refused outright before libxml2 sees the
 * document: PMS exports have none, and refusing it closes billion laughs,
 * quadratic blowup and XXE at once.  The whole prolog (BOM, white space,
 * processing instructions, comments) is scanned, however long, in the
 * document's own code unit width (UTF-8 and single-byte encodings, UTF-16
 * with or without a BOM); UTF-32 and EBCDIC documents are refused, and so
 * is a declared encoding whose markup bytes are not ASCII (UTF-7's "+ADw-"
 * is "<"), which could hide a declaration from the scan.  Files are read
 * as plain bytes (libxml2 would inflate a gzip file unseen) and XInclude is
 * never processed.
 *
 * The declared encoding is honoured by libxml2 (ISO-8859-1, windows-1252,
 * UTF-16 ...); without a declaration the document is UTF-8.  Every string
 * the reader returns is UTF-8.
 *
 * Elements are matched by local name, whatever their namespace prefix
 * (Yardi puts MITS elements in a namespace of the exporter's choosing).
 * Text and attribute values are returned trimmed of white space.
 *
 * Limits: elements nest at most XMLX_MAX_DEPTH deep; one element's text is
 * at most XMLX_MAX_TEXT bytes (libxml2's own limit), or XMLX_MAX_EMBEDDED
 * in a reader opened with xmlx_open_envelope(), whose one long text is a
 * whole escaped document; a start tag has at most XMLX_MAX_ATTRS
 * attributes, counted in the bytes before libxml2 parses the tag (libxml2
 * 2.9's duplicate check is quadratic in them).
 *
 * Ownership: a struct xmlx owns its reader, element stack and text; strings
 * it returns are valid until the next xmlx_next() unless said otherwise.
 *
 * Errors: functions returning int give 0 or -1; -1 and XMLX_ERROR come with
 * err_set() naming the file and line: "'FILE' line N: what", or for a
 * document read from memory "'FILE' (document escaped in <E> at line M)
 * line N: what".
 */
#ifndef UNITSYNC_XMLSAFE_H
#define UNITSYNC_XMLSAFE_H

#include <libxml/xmlreader.h>
#include <stddef.h>

#define XMLX_MAX_DEPTH 64
#define XMLX_MAX_ATTRS 256                    /* attributes of one start tag */
#define XMLX_MAX_TEXT 10000000u               /* bytes: libxml2's XML_MAX_TEXT_LENGTH */
#define XMLX_MAX_EMBEDDED (64u * 1024 * 1024) /* bytes of one escaped document */

/* A reader with the element path kept as a stack of local names. */
struct xmlx {
	xmlTextReaderPtr r;          /* owned */
	const char *path;            /* the file, borrowed, for messages */
	char origin[640];            /* how messages name the document: "'FILE'" or
				      * "'FILE' (document escaped in <E> at line M)" */
	char ref[640];               /* source reference prefix: "FILE:" or
				      * "FILE:M<E>:" */
	char *stack[XMLX_MAX_DEPTH]; /* local names from the root, owned */
	int depth;                   /* elements open */
	char *text;                  /* text of the element being read, owned */
	size_t text_len, text_cap;
	size_t max_text;  /* longest text accepted, bytes */
	char error[1024]; /* first parser error, with its line */
	long long size;   /* document size in bytes, to tell truncation */
	int error_code;   /* libxml2's code of the first error */
	int pop;          /* the last event was END: pop on the next call */
	int pending_end;  /* the last START was <a/>: its END is next */
};

/* Event kinds xmlx_next() returns. */
enum xmlx_event {
	XMLX_END_OF_FILE = 0,
	XMLX_START, /* an element opened (stack includes it) */
	XMLX_END,   /* an element closed; text holds its trimmed text; the
		       * stack still includes it until the next call */
	XMLX_ERROR = -1,
};

/* Open the file PATH (borrowed until xmlx_close()).  A file that is
 * missing, empty, not regular, or whose prolog holds a document type
 * declaration fails here.  xmlx_close() is safe after a failure. */
int xmlx_open(struct xmlx *x, const char *path);

/* The same, for an envelope whose element text may be a whole escaped
 * document of up to XMLX_MAX_EMBEDDED bytes. */
int xmlx_open_envelope(struct xmlx *x, const char *path);

/*
 * Open the LEN bytes at BUF (borrowed until xmlx_close()) as a document of
 * its own, at most XMLX_MAX_EMBEDDED bytes: the text of
 * element ELEMENT at line LINE of the file PATH, already decoded to UTF-8
 * by the reader of PATH, so any encoding it declares is ignored.  The same
 * refusals apply as for a file.
 */
int xmlx_open_memory(struct xmlx *x, const char *path, const char *element, int line,
		     const char *buf, size_t len);

void xmlx_close(struct xmlx *x);

/* Next start or end of an element; XMLX_ERROR with err_set(). */
enum xmlx_event xmlx_next(struct xmlx *x);

/* Does the element stack end with the '/'-separated local names SUFFIX? */
int xmlx_at(const struct xmlx *x, const char *suffix);

/* Local name of the element LEVELS above the current one (0 = the current
 * element), or "" above the root. */
const char *xmlx_up(const struct xmlx *x, int levels);

/* Trimmed text of the element just closed ("" when none). */
const char *xmlx_text(const struct xmlx *x);

/* The current element's attribute NAME, trimmed (malloc'd, caller frees),
 * or NULL.  NAME is matched by local name ignoring case, since vendors
 * spell one attribute "Id", "ID" or "id": "Id" finds "x:ID". */
char *xmlx_attr(struct xmlx *x, const char *name);

/* Line of the current node in the document (approximate past line
 * 65535 of a long file: the parser's line there). */
int xmlx_line(const struct xmlx *x);

/* Where the current node is, for a reject's source reference: "FILE:LINE",
 * or "FILE:M<E>:LINE" in a document escaped in element E at line M. */
void xmlx_ref(const struct xmlx *x, char *buf, size_t size);

#endif
