/*
 * xmlsafe.h - a streaming XML reader on libxml2's SAX2 push parser that is
 * safe on hostile files, plus the helpers extractors share.
 *
 * The parser is given the document 64 KiB at a time; its callbacks queue
 * the start and end events of that chunk (names interned by libxml2, texts
 * and attribute values copied) and xmlx_next() hands them out one by one,
 * so memory does not grow with the file.  The parser runs on a thread of
 * its own, one batch of events ahead of the caller (two batches at most),
 * so that parsing and staging use two cores; the caller sees the same
 * events, errors and lines as it would without it, and xmlx_close()
 * stops and joins it.  Nothing else of libxml2 runs on that thread.  No tree is built: libxml2's
 * xmlTextReader built and freed a node for every element and text, twice
 * the time of the parse itself (docs/PERFORMANCE.md, extract-xml).
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
 * Ownership: a struct xmlx owns its parser, element stack and text; strings
 * it returns are valid until the next xmlx_next() unless said otherwise.
 *
 * Errors: functions returning int give 0 or -1; -1 and XMLX_ERROR come with
 * err_set() naming the file and line: "'FILE' line N: what", or for a
 * document read from memory "'FILE' (document escaped in <E> at line M)
 * line N: what".
 */
#ifndef UNITSYNC_XMLSAFE_H
#define UNITSYNC_XMLSAFE_H

#include "sha256.h"

#include <libxml/parser.h>
#include <stddef.h>

#define XMLX_MAX_DEPTH 64
#define XMLX_MAX_ATTRS 256                    /* attributes of one start tag */
#define XMLX_MAX_TEXT 10000000u               /* bytes: libxml2's XML_MAX_TEXT_LENGTH */
#define XMLX_MAX_EMBEDDED (64u * 1024 * 1024) /* bytes of one escaped document */

struct xmlx_feed; /* the parser's side (xmlsafe.c) */

/* A reader with the element path kept as a stack of local names. */
struct xmlx {
	struct xmlx_feed *feed;            /* owned: libxml2's push parser, its input
					    * and the events it has queued */
	const char *path;                  /* the file, borrowed, for messages */
	char origin[640];                  /* how messages name the document: "'FILE'" or
					    * "'FILE' (document escaped in <E> at line M)" */
	char ref[640];                     /* source reference prefix: "FILE:" or
					    * "FILE:M<E>:" */
	const char *stack[XMLX_MAX_DEPTH]; /* local names from the root, interned by
					    * libxml2: valid until xmlx_close() */
	size_t stack_len[XMLX_MAX_DEPTH];  /* their lengths */
	int depth;                         /* elements open */
	const char *text;                  /* END: the element's trimmed text, in feed */
	int line;                          /* the line of the current element's start tag */
	size_t max_text;                   /* longest text accepted, bytes */
	char error[1024];                  /* first error, with its line */
	long long size;                    /* document size in bytes, to tell truncation */
	int error_code;                    /* libxml2's code of the first error; -1: the
					    * message is final */
	int error_line;                    /* the line libxml2 gave that error */
	int pop;                           /* the last event was END: pop on the next call */
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

/* The same for the LEN bytes at SUFFIX, for a table of suffixes tested on
 * every element; XMLX_LIT("a/b") gives a literal and its length. */
int xmlx_at_n(const struct xmlx *x, const char *suffix, size_t len);
#define XMLX_LIT(s) (s), sizeof(s) - 1

/* Local name of the element LEVELS above the current one (0 = the current
 * element), or "" above the root. */
const char *xmlx_up(const struct xmlx *x, int levels);

/* Trimmed text of the element just closed ("" when none). */
const char *xmlx_text(const struct xmlx *x);

/* The attribute NAME of the element whose START xmlx_next() just gave
 * (trimmed, malloc'd, caller frees), or NULL (also after an END).  NAME is matched by local name ignoring case, since vendors
 * spell one attribute "Id", "ID" or "id": "Id" finds "x:ID". */
char *xmlx_attr(struct xmlx *x, const char *name);

/* Line of the current element's start tag (its end, '>'), exact however
 * long the file. */
int xmlx_line(const struct xmlx *x);

/* The SHA-256 and size of a file read whole: 0 once xmlx_next() gave
 * XMLX_END_OF_FILE, -1 before or for a document read from memory. */
int xmlx_digest(const struct xmlx *x, char hex[SHA256_HEX_LEN + 1], long long *size);

/* Bytes of the document given to the parser so far (for progress). */
long long xmlx_offset(const struct xmlx *x);

/* Where the current node is, for a reject's source reference: "FILE:LINE",
 * or "FILE:M<E>:LINE" in a document escaped in element E at line M. */
void xmlx_ref(const struct xmlx *x, char *buf, size_t size);

#endif
