#include "xmlsafe.h"
#include "encoding.h"
#include "handoff.h"
#include "err.h"
#include "sha256.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parserInternals.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every external resource is refused: no XXE, no network, no local files. */
static xmlParserInputPtr refuse_entity(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)id;
	(void)ctxt;
	(void)url;
	return NULL;
}

static void on_error(void *arg, xmlErrorPtr e)
{
	struct xmlx *x = arg;
	size_t n;

	if (x->error[0] || !e)
		return;
	x->error_code = e->code;
	x->error_line = e->line;
	snprintf(x->error, sizeof(x->error), "%s line %d: %s", x->origin, e->line,
		 e->message ? e->message : "malformed XML");
	n = strlen(x->error);
	while (n && (x->error[n - 1] == '\n' || x->error[n - 1] == ' '))
		x->error[--n] = '\0';
}

/*
 * The bytes of a document's prolog, read one code unit at a time from a
 * FILE or from memory.  HEAD holds the bytes read to tell the encoding
 * family and not yet consumed.
 */
struct prolog {
	FILE *fp;               /* borrowed, or NULL */
	const unsigned char *p; /* memory document, borrowed */
	size_t n, i;            /* its size and the next byte */
	unsigned char head[4];  /* first bytes, replayed before the rest */
	int head_n, head_i;     /* how many, and the next */
	int width;              /* bytes per code unit: 1 or 2 */
	int big_endian;         /* for width 2 */
	int check_encoding;     /* the XML declaration's encoding must be one whose
				 * markup bytes are ASCII (a file, not a document
				 * already decoded to UTF-8) */
};

/* The next byte of the document itself, past HEAD. */
static int prolog_raw(struct prolog *s)
{
	if (s->fp)
		return getc(s->fp);
	return s->i < s->n ? s->p[s->i++] : EOF;
}

static int prolog_byte(struct prolog *s)
{
	if (s->head_i < s->head_n)
		return s->head[s->head_i++];
	return prolog_raw(s);
}

/* The next code unit, or EOF. */
static int prolog_unit(struct prolog *s)
{
	int a = prolog_byte(s), b;

	if (a == EOF || s->width == 1)
		return a;
	b = prolog_byte(s);
	if (b == EOF)
		return EOF;
	return s->big_endian ? (a << 8 | b) : (b << 8 | a);
}

static int is_xml_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Tell the encoding family from the first bytes and skip a BOM. */
static int prolog_start(struct xmlx *x, struct prolog *s)
{
	const unsigned char *h = s->head;
	int c;

	while (s->head_n < 4 && (c = prolog_raw(s)) != EOF)
		s->head[s->head_n++] = (unsigned char)c;
	s->head_i = 0;
	s->width = 1;
	if (s->head_n >= 3 && !memcmp(h, "\xEF\xBB\xBF", 3)) {
		s->head_i = 3;
	} else if (s->head_n == 4 &&
		   (!memcmp(h, "\x00\x00\xFE\xFF", 4) || !memcmp(h, "\xFF\xFE\x00\x00", 4) ||
		    !memcmp(h, "\x00\x00\x00<", 4) || !memcmp(h, "<\x00\x00\x00", 4))) {
		err_set("%s: a UTF-32 (UCS-4) document is not accepted", x->origin);
		return -1;
	} else if (s->head_n == 4 && !memcmp(h, "\x4C\x6F\xA7\x94", 4)) {
		err_set("%s: an EBCDIC document is not accepted", x->origin);
		return -1;
	} else if (s->head_n >= 2 && (!memcmp(h, "\xFF\xFE", 2) || !memcmp(h, "\xFE\xFF", 2))) {
		s->width = 2;
		s->big_endian = h[0] == 0xFE;
		s->head_i = 2;
	} else if (s->head_n == 4 && (!memcmp(h, "<\x00?\x00", 4) || !memcmp(h, "\x00<\x00?", 4))) {
		s->width = 2;
		s->big_endian = h[0] == 0;
	}
	return 0;
}

/*
 * Encodings in which "<", "!", "?", "-" and ">" are the ASCII bytes (or
 * UTF-16 code units) the prolog scan looks for, folded to lower-case letters
 * and digits; a name ending in '*' is a prefix.  Others, such as UTF-7
 * ("+ADw-" for "<") or ISO-2022-JP, could hide a document type declaration
 * from the scan.
 */
static const char *const scannable_encodings[] = {
	"utf8",     "utf16",       "utf16le", "utf16be",  "ucs2", "usascii",    "ascii", "latin*",
	"iso8859*", "windows125*", "cp125*",  "shiftjis", "sjis", "windows31j", "cp932", "eucjp",
	"euckr",    "gb2312",      "gbk",     "gb18030",  "big5", "koi8r",      "koi8u",
};

/* Fold NAME into KEY: lower-case letters and digits only. */
static void fold_name(const char *name, char *key, size_t size)
{
	size_t n = 0;

	for (; *name && n + 1 < size; name++)
		if (isalnum((unsigned char)*name))
			key[n++] = (char)tolower((unsigned char)*name);
	key[n] = '\0';
}

/*
 * DECL is the text of the XML declaration (between "<?" and "?>"): refuse
 * an encoding the prolog scan cannot read.  -1 with err_set().
 */
static int check_declared_encoding(struct xmlx *x, const char *decl)
{
	const char *p = strstr(decl, "encoding"), *end;
	char name[64], key[64];

	if (!p)
		return 0;
	p += strlen("encoding");
	while (is_xml_space((unsigned char)*p))
		p++;
	if (*p++ != '=')
		return 0; /* malformed: libxml2 says so */
	while (is_xml_space((unsigned char)*p))
		p++;
	if ((*p != '"' && *p != '\'') || !(end = strchr(p + 1, *p)))
		return 0;
	snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
	fold_name(name, key, sizeof(key));
	for (size_t i = 0; i < sizeof(scannable_encodings) / sizeof(scannable_encodings[0]); i++) {
		const char *e = scannable_encodings[i];
		size_t n = strlen(e);

		if (e[n - 1] == '*' ? !strncmp(key, e, n - 1) : !strcmp(key, e))
			return 0;
	}
	err_set("%s line 1: the declared encoding '%s' is not accepted (UTF-8, UTF-16 and "
		"encodings whose markup is ASCII, such as ISO-8859-1 and windows-1252, are)",
		x->origin, name);
	return -1;
}

/*
 * Refuse a document type declaration before libxml2 sees it: its entity
 * declarations are the door to billion laughs, quadratic blowup and XXE,
 * and PMS exports have none.  Scans the whole prolog (BOM, white space,
 * <?...?>, <!--...-->), however long, up to the first element; -1 with
 * err_set() naming the line.  Anything else the prolog holds is left for
 * libxml2 to judge.
 */
static int refuse_doctype(struct xmlx *x, struct prolog *s)
{
	int line = 1, first = 1, c;

	if (prolog_start(x, s) < 0)
		return -1;
	c = prolog_unit(s);
	for (;;) {
		if (is_xml_space(c))
			first = 0;
		while (is_xml_space(c)) {
			line += c == '\n';
			c = prolog_unit(s);
		}
		if (c == EOF) {
			err_set("%s line %d: no root element (only white space, comments or "
				"processing instructions)",
				x->origin, line);
			return -1;
		}
		if (c != '<')
			return 0;
		c = prolog_unit(s);
		if (c == '?') {
			char decl[512];
			size_t len = 0;
			int prev = 0;

			while ((c = prolog_unit(s)) != EOF && !(prev == '?' && c == '>')) {
				line += c == '\n';
				if (len + 1 < sizeof(decl))
					decl[len++] = c < 0x80 ? (char)c : '?';
				prev = c;
			}
			if (c == EOF) {
				err_set("%s line %d: the file ends inside a processing instruction "
					"(truncated)",
					x->origin, line);
				return -1;
			}
			decl[len] = '\0';
			/* only the first thing in a document is its XML declaration */
			if (s->check_encoding && first && !strncmp(decl, "xml", 3) &&
			    is_xml_space((unsigned char)decl[3]) &&
			    check_declared_encoding(x, decl) < 0)
				return -1;
		} else if (c == '!') {
			int d1 = 0, d2 = 0;

			/* before the root, "<!" other than a comment can only be
			 * a document type declaration (or malformed) */
			if (prolog_unit(s) != '-') {
				err_set("%s line %d: a document type declaration is not accepted "
					"(entities and external DTDs are refused)",
					x->origin, line);
				return -1;
			}
			if (prolog_unit(s) != '-')
				return 0;
			while ((c = prolog_unit(s)) != EOF &&
			       !(d1 == '-' && d2 == '-' && c == '>')) {
				line += c == '\n';
				d1 = d2;
				d2 = c;
			}
			if (c == EOF) {
				err_set("%s line %d: the file ends inside a comment (truncated)",
					x->origin, line);
				return -1;
			}
		} else {
			return 0;
		}
		first = 0;
		c = prolog_unit(s);
	}
}

static void init(struct xmlx *x, const char *path)
{
	memset(x, 0, sizeof(*x));
	x->path = path;
	x->max_text = XMLX_MAX_TEXT;
	snprintf(x->origin, sizeof(x->origin), "'%s'", path);
	snprintf(x->ref, sizeof(x->ref), "%s:", path);
	xmlSetExternalEntityLoader(refuse_entity);
}

/* libxml2's options: never NOENT, DTDLOAD, DTDATTR or DTDVALID. */
static int reader_options(int huge)
{
	/* HUGE lifts libxml2's 10 MB limit on one text node for an envelope;
	 * with no DTD there is no entity for it to let grow */
	return XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT | XML_PARSE_BIG_LINES |
	       (huge ? XML_PARSE_HUGE : 0);
}

/*
 * Attributes per start tag, counted in the bytes before libxml2 parses
 * them: libxml2 2.9 checks each attribute of an element against every
 * earlier one, so one element with 100k attributes (a 1 MB file) would
 * take minutes.  An attribute is an '=' outside quotes inside a start
 * tag; comments, CDATA sections, processing instructions and other "<!"
 * markup are skipped to their end.  The document is read in code units
 * of its width (UTF-16 as 16-bit units), so a byte of a multi-byte
 * character is never taken for markup.
 */
enum scan_state {
	SCAN_TEXT,  /* character data */
	SCAN_OPEN,  /* just after '<' */
	SCAN_BANG,  /* just after "<!" */
	SCAN_TAG,   /* inside a start or end tag */
	SCAN_QUOTE, /* inside a quoted attribute value */
	SCAN_SKIP,  /* inside markup that ends with MARK */
};

struct attrscan {
	int width, big_endian; /* code unit: 1 or 2 bytes, and its byte order */
	int part;              /* first byte of a 16-bit unit split across reads, or -1 */
	enum scan_state state;
	int quote;            /* the quote that opened the value */
	const char *mark;     /* SCAN_SKIP's end: "-->", "]]>", "?>" or ">" */
	size_t matched;       /* units of MARK seen */
	long line, tag_line;  /* width 2: the current line, and the open tag's */
	long long offset;     /* width 1: bytes fed so far */
	long long tag_offset; /* width 1: where the open tag's '<' is (its line
			       * is counted only for a message) */
	unsigned attrs;       /* attributes of the open tag so far */
};

static void attrscan_init(struct attrscan *a, int width, int big_endian)
{
	memset(a, 0, sizeof(*a));
	a->width = width;
	a->big_endian = big_endian;
	a->part = -1;
	a->line = 1;
}

static void scan_skip(struct attrscan *a, const char *mark)
{
	a->state = SCAN_SKIP;
	a->mark = mark;
	a->matched = 0;
}

/* One code unit C; -1 when the open tag has too many attributes. */
static int attrscan_unit(struct attrscan *a, int c)
{
	if (c == '\n')
		a->line++;
	switch (a->state) {
	case SCAN_TEXT:
		if (c == '<') {
			a->state = SCAN_OPEN;
			a->tag_line = a->line;
		}
		break;
	case SCAN_OPEN:
		if (c == '!') {
			a->state = SCAN_BANG;
		} else if (c == '?') {
			scan_skip(a, "?>");
		} else {
			a->state = SCAN_TAG;
			a->attrs = 0;
		}
		break;
	case SCAN_BANG:
		scan_skip(a, c == '-' ? "-->" : c == '[' ? "]]>" : ">");
		break;
	case SCAN_TAG:
		if (c == '"' || c == '\'') {
			a->state = SCAN_QUOTE;
			a->quote = c;
		} else if (c == '>') {
			a->state = SCAN_TEXT;
		} else if (c == '=' && ++a->attrs > XMLX_MAX_ATTRS) {
			return -1;
		}
		break;
	case SCAN_QUOTE:
		if (c == a->quote)
			a->state = SCAN_TAG;
		break;
	case SCAN_SKIP:
		if (c == a->mark[a->matched]) {
			if (!a->mark[++a->matched])
				a->state = SCAN_TEXT;
		} else if (c == a->mark[0]) {
			/* "--->" and "]]]>" still end: keep a doubled opening */
			a->matched = a->matched == 2 && a->mark[1] == a->mark[0] ? 2 : 1;
		} else {
			a->matched = 0;
		}
		break;
	}
	return 0;
}

/*
 * The same for the LEN bytes at P of a document of 1-byte code units, the
 * usual case, with the same states: character data, quoted values and the
 * inside of skipped markup are passed over with memchr(), a tag's bytes in
 * a tight loop, and lines are not counted (attrscan_line() counts them for
 * a message).  Every byte used to go through attrscan_unit(): 7% of
 * extract-xml (docs/PERFORMANCE.md).
 */
static int attrscan_bytes(struct attrscan *a, const unsigned char *p, size_t len)
{
	const unsigned char *start = p, *end = p + len, *q;

	while (p < end) {
		switch (a->state) {
		case SCAN_TEXT:
			q = memchr(p, '<', (size_t)(end - p));
			if (!q) {
				p = end;
				break;
			}
			a->state = SCAN_OPEN;
			a->tag_offset = a->offset + (q - start);
			p = q + 1;
			break;
		case SCAN_TAG:
			while (p < end && a->state == SCAN_TAG) {
				int c = *p++;

				if (c == '>') {
					a->state = SCAN_TEXT;
				} else if (c == '"' || c == '\'') {
					a->state = SCAN_QUOTE;
					a->quote = c;
				} else if (c == '=' && ++a->attrs > XMLX_MAX_ATTRS) {
					return -1;
				}
			}
			break;
		case SCAN_QUOTE:
			q = memchr(p, a->quote, (size_t)(end - p));
			p = q ? q + 1 : end;
			if (q)
				a->state = SCAN_TAG;
			break;
		case SCAN_SKIP:
			if (a->matched == 0) {
				q = memchr(p, a->mark[0], (size_t)(end - p));
				if (!q) {
					p = end;
					break;
				}
				p = q;
			}
			/* fall through */
		default:
			if (attrscan_unit(a, *p++) < 0)
				return -1;
		}
	}
	a->offset += (long long)len;
	return 0;
}

/* The LEN bytes at P, in order; -1 as attrscan_unit(). */
static int attrscan_feed(struct attrscan *a, const unsigned char *p, size_t len)
{
	if (a->width == 1)
		return attrscan_bytes(a, p, len);
	for (size_t i = 0; i < len; i++) {
		int c = p[i];

		if (a->part < 0) {
			a->part = c;
			continue;
		}
		c = a->big_endian ? (a->part << 8 | c) : (c << 8 | a->part);
		a->part = -1;
		if (attrscan_unit(a, c) < 0)
			return -1;
	}
	return 0;
}

/* Lines before the LEN bytes at P. */
static long count_lines(const char *p, size_t len)
{
	long n = 0;
	const char *q;

	while ((q = memchr(p, '\n', len))) {
		n++;
		len -= (size_t)(q + 1 - p);
		p = q + 1;
	}
	return n;
}

/*
 * The line of the open tag: counted as it went for 2-byte code units,
 * else in the document's first a->tag_offset bytes, read again from the
 * file FP (without moving its position) or taken from BUF.
 */
static long attrscan_line(const struct attrscan *a, FILE *fp, const char *buf)
{
	char block[65536];
	long long at = 0;
	long line = 1;

	if (a->width != 1)
		return a->tag_line;
	if (buf)
		return 1 + count_lines(buf, (size_t)a->tag_offset);
	while (at < a->tag_offset) {
		size_t want = a->tag_offset - at < (long long)sizeof(block)
				      ? (size_t)(a->tag_offset - at)
				      : sizeof(block);
		ssize_t got = pread(fileno(fp), block, want, (off_t)at);

		if (got <= 0)
			break;
		line += count_lines(block, (size_t)got);
		at += got;
	}
	return line;
}

static void attrs_error(struct xmlx *x, long line, char *buf, size_t size)
{
	snprintf(buf, size, "%s line %ld: a start tag with more than %d attributes", x->origin,
		 line, XMLX_MAX_ATTRS);
}

/* Bytes given to libxml2's parser at a time. */
#define FEED_CHUNK 65536

/* One event the parser reported, waiting for xmlx_next(). */
struct event {
	enum xmlx_event kind;
	const char *name; /* local name, interned in the parser's dictionary */
	size_t name_len;
	int line;           /* of the element's start tag */
	size_t text;        /* END: its trimmed text, an offset in buf */
	size_t attr, nattr; /* START: its attributes in attrs */
};

/* An attribute of a queued START. */
struct attr {
	const char *name; /* local name, interned */
	size_t value;     /* its value as libxml2 gave it, an offset in buf */
	size_t len;
};

enum feed_state {
	FEED_READING,
	FEED_EOF,
	FEED_FAILED
};

/* The events of a chunk or more of the document, with their texts. */
struct batch {
	struct event *ev; /* owned */
	size_t n_ev, cap_ev;
	struct attr *attrs; /* their attributes, owned */
	size_t n_attr, cap_attr;
	char *buf; /* their texts and attribute values, owned */
	size_t buf_len, buf_cap;
	long long fed;         /* bytes given to the parser once it was filled */
	enum feed_state state; /* the parser's, once it was filled */
};

/*
 * The parser's side of a reader: libxml2's push parser (SAX2, no tree is
 * built), what it reads, and two batches of the events its callbacks
 * queued.  A thread of its own parses into one batch while xmlx_next()
 * hands out the other's events: parsing and what the caller does with
 * the events (staging) run on two cores.  Without the thread (it could
 * not be started) xmlx_next() fills each batch itself.
 *
 * The parser thread alone touches the parser's fields (ctxt to chunk, and
 * x->error, x->error_code); a batch changes hands under the mutex, and
 * the caller reads x->error only once the batch filled last is its.
 */
struct xmlx_feed {
	xmlSAXHandler sax;
	xmlParserCtxtPtr ctxt; /* owned */
	FILE *fp;              /* the file, owned, or NULL */
	const char *mem;       /* or the document in memory, borrowed */
	size_t mem_len, mem_pos;
	struct attrscan scan;            /* a file's attributes, counted as it is read */
	struct sha256 sha;               /* and its digest, taken as it is read */
	int hashing;                     /* sha holds a context */
	char digest[SHA256_HEX_LEN + 1]; /* the file's, once read whole, or "" */
	long long fed;                   /* bytes given to the parser */
	enum feed_state state;
	struct batch *fill; /* the batch the callbacks append to */
	char *cur;          /* the text of the element being parsed, owned */
	size_t cur_len, cur_cap;
	const char *names[XMLX_MAX_DEPTH]; /* the elements open in the parser */
	int lines[XMLX_MAX_DEPTH];         /* and their lines */
	int depth;
	char chunk[FEED_CHUNK];

	struct batch b[2];
	int read_i;             /* the caller's: the batch it reads */
	int read_full;          /* and it saw that batch full */
	size_t next_ev;         /* and its next event */
	size_t attr_at, attr_n; /* the current START's attributes (xmlx_attr) */
	int started;            /* the first xmlx_next() came */
	int threaded;           /* the parser thread runs */
	struct handoff ho;      /* batch i is full (filled, not yet read whole):
				 * ho.full[i]; xmlx_close() quits it */
	pthread_t thread;
};

/* The line the parser is at. */
static int parser_line(const struct xmlx *x)
{
	const xmlParserCtxtPtr c = x->feed->ctxt;

	return c && c->input ? c->input->line : 0;
}

/* Refuse the document with the message FMT: the parser stops at once and
 * xmlx_next() gives XMLX_ERROR once the events before it are read. */
static void fail(struct xmlx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct xmlx *x, const char *fmt, ...)
{
	va_list ap;

	if (!x->error[0]) {
		va_start(ap, fmt);
		vsnprintf(x->error, sizeof(x->error), fmt, ap);
		va_end(ap);
		x->error_code = -1;
	}
	x->feed->state = FEED_FAILED;
	if (x->feed->ctxt)
		xmlStopParser(x->feed->ctxt);
}

/* Grow *P (of *CAP elements of SIZE bytes) to hold N; -1 out of memory. */
static int grow(void *p, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? *cap : 64;
	void *np;

	if (n <= *cap)
		return 0;
	while (want < n)
		want *= 2;
	np = realloc(*(void **)p, want * size);
	if (!np)
		return -1;
	*(void **)p = np;
	*cap = want;
	return 0;
}

/* Copy the LEN bytes at S into buf, NUL-terminated; its offset, or
 * (size_t)-1 out of memory. */
static size_t keep(struct xmlx *x, const char *s, size_t len)
{
	struct batch *b = x->feed->fill;
	size_t at = b->buf_len;

	if (grow(&b->buf, &b->buf_cap, at + len + 1, 1) < 0) {
		fail(x, "out of memory");
		return (size_t)-1;
	}
	memcpy(b->buf + at, s, len);
	b->buf[at + len] = '\0';
	b->buf_len += len + 1;
	return at;
}

static struct event *queue(struct xmlx *x, enum xmlx_event kind, const char *name, int line)
{
	struct batch *b = x->feed->fill;
	struct event *e;

	if (grow(&b->ev, &b->cap_ev, b->n_ev + 1, sizeof(*b->ev)) < 0) {
		fail(x, "out of memory");
		return NULL;
	}
	e = &b->ev[b->n_ev++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->name = name;
	e->name_len = strlen(name);
	e->line = line;
	return e;
}

static void on_start(void *arg, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
		     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
		     int nb_defaulted, const xmlChar **attributes)
{
	struct xmlx *x = arg;
	struct xmlx_feed *f = x->feed;
	struct batch *b = f->fill;
	const char *name = localname ? (const char *)localname : "";
	int line = parser_line(x), n = nb_attributes; /* the defaulted ones among them */
	struct event *e;

	(void)prefix;
	(void)uri;
	(void)nb_defaulted;
	(void)nb_namespaces;
	(void)namespaces;
	if (f->depth >= XMLX_MAX_DEPTH) {
		fail(x, "%s line %d: elements nested deeper than %d", x->origin, line,
		     XMLX_MAX_DEPTH);
		return;
	}
	e = queue(x, XMLX_START, name, line);
	if (!e)
		return;
	if (grow(&b->attrs, &b->cap_attr, b->n_attr + (size_t)n, sizeof(*b->attrs)) < 0) {
		fail(x, "out of memory");
		return;
	}
	e->attr = b->n_attr;
	for (int i = 0; i < n; i++) {
		const xmlChar *const *a = attributes + 5 * i;
		struct attr *at = &b->attrs[b->n_attr];

		at->name = a[0] ? (const char *)a[0] : "";
		at->len = (size_t)(a[4] - a[3]);
		at->value = keep(x, (const char *)a[3], at->len);
		if (at->value == (size_t)-1)
			return;
		b->n_attr++;
		e->nattr++;
	}
	f->names[f->depth] = name;
	f->lines[f->depth++] = line;
	f->cur_len = 0;
}

/* Trim white space at both ends of the LEN bytes at *S (enc_trim()). */
static size_t trim(const char **s, size_t len)
{
	*s = enc_trim(*s, len, &len);
	return len;
}

static void on_end(void *arg, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct xmlx *x = arg;
	struct xmlx_feed *f = x->feed;
	const char *t = f->cur ? f->cur : "";
	size_t len;
	struct event *e;

	(void)localname;
	(void)prefix;
	(void)uri;
	if (f->depth == 0)
		return;
	f->depth--;
	e = queue(x, XMLX_END, f->names[f->depth], f->lines[f->depth]);
	if (!e)
		return;
	len = trim(&t, f->cur_len);
	e->text = keep(x, t, len);
	/* the parent's text is what follows, not the child's */
	f->cur_len = 0;
}

static void on_text(void *arg, const xmlChar *ch, int len)
{
	struct xmlx *x = arg;
	struct xmlx_feed *f = x->feed;
	size_t n = len > 0 ? (size_t)len : 0;

	if (f->cur_len + n > x->max_text) {
		fail(x, "%s line %d: the text of <%s> is longer than %zu bytes", x->origin,
		     f->depth ? f->lines[f->depth - 1] : parser_line(x),
		     f->depth ? f->names[f->depth - 1] : "", x->max_text);
		return;
	}
	if (grow(&f->cur, &f->cur_cap, f->cur_len + n + 1, 1) < 0) {
		fail(x, "out of memory");
		return;
	}
	memcpy(f->cur + f->cur_len, ch, n);
	f->cur_len += n;
	f->cur[f->cur_len] = '\0';
}

/* The prolog scan refuses these first; libxml2 is never let near one. */
static void on_doctype(void *arg, const xmlChar *name, const xmlChar *external_id,
		       const xmlChar *system_id)
{
	struct xmlx *x = arg;

	(void)name;
	(void)external_id;
	(void)system_id;
	fail(x,
	     "%s line %d: a document type declaration is not accepted (entities and external "
	     "DTDs are refused)",
	     x->origin, parser_line(x));
}

static void on_reference(void *arg, const xmlChar *name)
{
	struct xmlx *x = arg;

	(void)name;
	fail(x, "%s line %d: entity references are not accepted", x->origin, parser_line(x));
}

/*
 * A parser for X whose first bytes are the LEN at HEAD (for libxml2 to
 * tell UTF-16 from UTF-8); -1 with err_set().  No tree is built: the
 * callbacks queue events, and nothing else is asked of libxml2 (no entity
 * is looked up, none is substituted).
 */
static int new_parser(struct xmlx *x, const char *head, int len, int huge)
{
	struct xmlx_feed *f = x->feed;
	xmlSAXHandler *h = &f->sax;

	memset(h, 0, sizeof(*h));
	h->initialized = XML_SAX2_MAGIC;
	h->startElementNs = on_start;
	h->endElementNs = on_end;
	h->characters = on_text;
	h->ignorableWhitespace = on_text;
	h->cdataBlock = on_text;
	h->internalSubset = on_doctype;
	h->externalSubset = on_doctype;
	h->reference = on_reference;
	h->serror = on_error;
	f->ctxt = xmlCreatePushParserCtxt(h, x, head, len, NULL);
	if (!f->ctxt) {
		err_set("%s: cannot read as XML (out of memory)", x->origin);
		return -1;
	}
	xmlCtxtUseOptions(f->ctxt, reader_options(huge));
	f->fed = len;
	return 0;
}

static int new_feed(struct xmlx *x)
{
	x->feed = calloc(1, sizeof(*x->feed));
	if (!x->feed) {
		err_set("out of memory");
		return -1;
	}
	handoff_init(&x->feed->ho);
	return 0;
}

static int open_file(struct xmlx *x, const char *path, int huge)
{
	struct prolog s = { 0 };
	struct stat st;
	char head[4];
	size_t n;

	init(x, path);
	if (huge)
		x->max_text = XMLX_MAX_EMBEDDED;
	s.fp = fopen(path, "rb");
	if (!s.fp || fstat(fileno(s.fp), &st) != 0) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("'%s' is not a regular file", path);
		goto fail;
	}
	if (st.st_size == 0) {
		err_set("'%s': empty file, expected XML", path);
		goto fail;
	}
	x->size = (long long)st.st_size;
	s.check_encoding = 1;
	/* the prolog scanned is the one parsed: the same open file */
	if (refuse_doctype(x, &s) < 0)
		goto fail;
	if (fseek(s.fp, 0, SEEK_SET) != 0) {
		err_set("cannot read '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (new_feed(x) < 0)
		goto fail;
	x->feed->fp = s.fp;
	s.fp = NULL;
	attrscan_init(&x->feed->scan, s.width, s.big_endian);
	/* plain bytes, never decompressed: libxml2's own file reading would
	 * inflate a gzip file whose prolog went unread */
	if (sha256_init(&x->feed->sha) < 0)
		return -1;
	x->feed->hashing = 1;
	n = fread(head, 1, sizeof(head), x->feed->fp);
	sha256_update(&x->feed->sha, head, n);
	if (attrscan_feed(&x->feed->scan, (const unsigned char *)head, n) < 0) {
		err_set("cannot read '%s'", path);
		return -1;
	}
	return new_parser(x, head, (int)n, huge);
fail:
	if (s.fp)
		fclose(s.fp);
	return -1;
}

int xmlx_open(struct xmlx *x, const char *path)
{
	return open_file(x, path, 0);
}

int xmlx_open_envelope(struct xmlx *x, const char *path)
{
	return open_file(x, path, 1);
}

int xmlx_open_memory(struct xmlx *x, const char *path, const char *element, int line,
		     const char *buf, size_t len)
{
	struct attrscan scan;
	struct prolog s = { 0 };
	xmlCharEncodingHandlerPtr utf8;
	int head;

	init(x, path);
	snprintf(x->origin, sizeof(x->origin), "'%s' (document escaped in <%s> at line %d)", path,
		 element, line);
	snprintf(x->ref, sizeof(x->ref), "%s:%d<%s>:", path, line, element);
	if (len == 0) {
		err_set("%s: empty document", x->origin);
		return -1;
	}
	if (len > XMLX_MAX_EMBEDDED) {
		err_set("%s: longer than %u bytes", x->origin, XMLX_MAX_EMBEDDED);
		return -1;
	}
	x->size = (long long)len;
	s.p = (const unsigned char *)buf;
	s.n = len;
	if (refuse_doctype(x, &s) < 0)
		return -1;
	attrscan_init(&scan, 1, 0);
	if (attrscan_feed(&scan, (const unsigned char *)buf, len) < 0) {
		char msg[sizeof(x->error)];

		attrs_error(x, attrscan_line(&scan, NULL, buf), msg, sizeof(msg));
		err_set("%s", msg);
		return -1;
	}
	if (new_feed(x) < 0)
		return -1;
	x->feed->mem = buf;
	x->feed->mem_len = len;
	head = len < 4 ? (int)len : 4;
	x->feed->mem_pos = (size_t)head;
	if (new_parser(x, buf, head, 0) < 0)
		return -1;
	/* the envelope's reader decoded it: UTF-8 whatever it declares */
	xmlCtxtUseOptions(x->feed->ctxt, reader_options(0) | XML_PARSE_IGNORE_ENC);
	utf8 = xmlFindCharEncodingHandler("UTF-8");
	if (utf8)
		xmlSwitchToEncoding(x->feed->ctxt, utf8);
	return 0;
}

void xmlx_close(struct xmlx *x)
{
	struct xmlx_feed *f = x->feed;

	if (f) {
		if (f->threaded) {
			handoff_quit(&f->ho);
			pthread_join(f->thread, NULL);
		}
		if (f->ctxt) {
			if (f->ctxt->myDoc)
				xmlFreeDoc(f->ctxt->myDoc);
			xmlFreeParserCtxt(f->ctxt);
		}
		if (f->fp)
			fclose(f->fp);
		if (f->hashing) {
			char unused[SHA256_HEX_LEN + 1];

			sha256_final(&f->sha, unused);
		}
		for (int i = 0; i < 2; i++) {
			free(f->b[i].ev);
			free(f->b[i].attrs);
			free(f->b[i].buf);
		}
		free(f->cur);
		handoff_release(&f->ho);
		free(f);
	}
	memset(x, 0, sizeof(*x));
}

/* The parser stopped on an error: say what, and where. */
static void parse_failed(struct xmlx *x)
{
	struct xmlx_feed *f = x->feed;
	const char *what = x->error[0] ? x->error : "malformed XML";
	char msg[sizeof(x->error) + 80];

	f->state = FEED_FAILED;
	if (x->error_code == -1)
		return; /* ours, said as it is */
	/* libxml2 may hold the last bytes back: either sign means EOF.  Its
	 * "Extra content at the end of the document" contradicts that: said as
	 * what it is, libxml2's words after (new user nu15 L9); its other
	 * messages ("Comment not terminated") say where the cut fell */
	if (f->depth > 0 &&
	    (x->error_code == XML_ERR_DOCUMENT_END || xmlByteConsumed(f->ctxt) >= x->size - 1)) {
		char at[sizeof(x->error)];
		size_t n =
			(size_t)snprintf(at, sizeof(at), "%s line %d: ", x->origin, x->error_line);

		if (x->error_code == XML_ERR_DOCUMENT_END && x->error[0] &&
		    !strncmp(x->error, at, n))
			snprintf(msg, sizeof(msg),
				 "%sthe file ends before its elements are closed: truncated "
				 "(libxml2: %s)",
				 at, x->error + n);
		else
			snprintf(msg, sizeof(msg),
				 "%s (the file ends before its elements are closed: truncated)",
				 what);
	} else if (x->error[0])
		snprintf(msg, sizeof(msg), "%s", what);
	else
		snprintf(msg, sizeof(msg), "%s line %d: %s", x->origin, parser_line(x), what);
	snprintf(x->error, sizeof(x->error), "%s", msg);
	x->error_code = -1;
}

/* Fill batch B: give the parser the next chunks until it has queued an
 * event or the document ends or fails. */
static void fill(struct xmlx *x, struct batch *b)
{
	struct xmlx_feed *f = x->feed;

	b->n_ev = b->n_attr = b->buf_len = 0;
	f->fill = b;
	while (b->n_ev == 0 && f->state == FEED_READING) {
		const char *p = f->chunk;
		size_t n;
		int end, rc;

		if (f->fp) {
			n = fread(f->chunk, 1, sizeof(f->chunk), f->fp);
			if (n < sizeof(f->chunk) && ferror(f->fp)) {
				fail(x, "cannot read '%s': %s", x->path, strerror(errno));
				break;
			}
			end = n < sizeof(f->chunk) && feof(f->fp);
			sha256_update(&f->sha, f->chunk, n);
			if (end) {
				sha256_final(&f->sha, f->digest);
				f->hashing = 0;
			}
			if (attrscan_feed(&f->scan, (const unsigned char *)f->chunk, n) < 0) {
				char msg[sizeof(x->error)];

				attrs_error(x, attrscan_line(&f->scan, f->fp, NULL), msg,
					    sizeof(msg));
				fail(x, "%s", msg);
				break;
			}
		} else {
			p = f->mem + f->mem_pos;
			n = f->mem_len - f->mem_pos < FEED_CHUNK ? f->mem_len - f->mem_pos
								 : FEED_CHUNK;
			f->mem_pos += n;
			end = f->mem_pos == f->mem_len;
		}
		f->fed += (long long)n;
		rc = xmlParseChunk(f->ctxt, p, (int)n, end);
		if (f->state == FEED_FAILED)
			break; /* refused by a callback */
		if (rc != 0 || (end && x->error[0]))
			parse_failed(x);
		else if (end)
			f->state = FEED_EOF;
	}
	b->fed = f->fed;
	b->state = f->state;
}

/* The parser thread: fill each batch in turn once the caller is done
 * with it, until the document ends or fails, or xmlx_close() comes. */
static void *parse_ahead(void *arg)
{
	struct xmlx *x = arg;
	struct xmlx_feed *f = x->feed;

	for (int i = 0;; i ^= 1) {
		if (handoff_wait_empty(&f->ho, i) < 0)
			break;
		fill(x, &f->b[i]);
		handoff_give(&f->ho, i);
		if (f->b[i].state != FEED_READING)
			break;
	}
	return NULL;
}

/* The batch the caller reads, filled (waiting for the thread if need be). */
static struct batch *filled(struct xmlx *x)
{
	struct xmlx_feed *f = x->feed;
	struct batch *b = &f->b[f->read_i];

	if (!f->started) {
		f->started = 1;
		f->threaded = pthread_create(&f->thread, NULL, parse_ahead, x) == 0;
	}
	if (!f->threaded) {
		if (!f->ho.full[f->read_i]) {
			fill(x, b);
			f->ho.full[f->read_i] = 1;
		}
		return b;
	}
	/* once seen full, a batch stays full until the caller releases it:
	 * the mutex is taken once a batch, not once an event */
	if (f->read_full)
		return b;
	handoff_wait_full(&f->ho, f->read_i);
	f->read_full = 1;
	return b;
}

enum xmlx_event xmlx_next(struct xmlx *x)
{
	struct xmlx_feed *f = x->feed;
	const struct event *e;
	struct batch *b;

	if (!f) {
		err_set("%s: not open", x->origin);
		return XMLX_ERROR;
	}
	/* an END leaves its element on the stack for the caller; drop it now */
	if (x->pop) {
		x->depth--;
		x->pop = 0;
	}
	x->text = "";
	f->attr_n = 0;
	for (b = filled(x); f->next_ev == b->n_ev; b = filled(x)) {
		if (b->state == FEED_EOF)
			return XMLX_END_OF_FILE;
		if (b->state == FEED_FAILED) {
			err_set("%s", x->error[0] ? x->error : "malformed XML");
			return XMLX_ERROR;
		}
		/* read whole: the parser may fill it again */
		handoff_done(&f->ho, f->read_i);
		f->read_full = 0;
		f->read_i ^= 1;
		f->next_ev = 0;
	}
	e = &b->ev[f->next_ev++];
	x->line = e->line;
	if (e->kind == XMLX_END) {
		x->text = b->buf + e->text;
		x->pop = 1;
		return XMLX_END;
	}
	x->stack[x->depth] = e->name;
	x->stack_len[x->depth++] = e->name_len;
	f->attr_at = e->attr;
	f->attr_n = e->nattr;
	return XMLX_START;
}

int xmlx_at_n(const struct xmlx *x, const char *suffix, size_t len)
{
	const char *end = suffix + len;
	int i = x->depth - 1;

	if (!len)
		return 1;
	/* the current element's last byte first: most calls fail there */
	if (i < 0 || x->stack_len[i] == 0 || x->stack[i][x->stack_len[i] - 1] != end[-1])
		return 0;
	while (end > suffix) {
		const char *slash = memrchr(suffix, '/', (size_t)(end - suffix));
		const char *start = slash ? slash + 1 : suffix;
		size_t n = (size_t)(end - start);

		if (i < 0 || x->stack_len[i] != n || memcmp(x->stack[i], start, n) != 0)
			return 0;
		i--;
		end = slash ? slash : suffix;
	}
	return 1;
}

int xmlx_at(const struct xmlx *x, const char *suffix)
{
	return xmlx_at_n(x, suffix, strlen(suffix));
}

const char *xmlx_up(const struct xmlx *x, int levels)
{
	int i = x->depth - 1 - levels;

	return i >= 0 && levels >= 0 ? x->stack[i] : "";
}

const char *xmlx_text(const struct xmlx *x)
{
	return x->text ? x->text : "";
}

char *xmlx_attr(struct xmlx *x, const char *name)
{
	const struct xmlx_feed *f = x->feed;

	for (size_t i = 0; f && i < f->attr_n; i++) {
		const struct batch *b = &f->b[f->read_i];
		const struct attr *a = &b->attrs[f->attr_at + i];
		const char *s = b->buf + a->value;
		size_t len;
		char *out;

		if (strcasecmp(a->name, name) != 0)
			continue;
		len = trim(&s, a->len);
		out = malloc(len + 1);
		if (!out)
			return NULL;
		/* libxml2 hands a '&' of an attribute value (from "&amp;" or
		 * "&#38;") on as "&#38;" when it substitutes no entity */
		for (size_t k = 0, o = 0;; k++) {
			if (k == len) {
				out[o] = '\0';
				break;
			}
			out[o++] = s[k];
			if (s[k] == '&' && len - k >= 5 && !memcmp(s + k, "&#38;", 5))
				k += 4;
		}
		return out;
	}
	return NULL;
}

int xmlx_line(const struct xmlx *x)
{
	return x->feed ? x->line : 0;
}

int xmlx_digest(const struct xmlx *x, char hex[SHA256_HEX_LEN + 1], long long *size)
{
	const struct xmlx_feed *f = x->feed;

	/* the parser thread wrote it before it filled the last batch */
	if (!f || !f->ho.full[f->read_i] || f->b[f->read_i].state != FEED_EOF || !f->digest[0])
		return -1;
	memcpy(hex, f->digest, SHA256_HEX_LEN + 1);
	*size = f->b[f->read_i].fed;
	return 0;
}

long long xmlx_offset(const struct xmlx *x)
{
	return x->feed ? x->feed->b[x->feed->read_i].fed : 0;
}

void xmlx_ref(const struct xmlx *x, char *buf, size_t size)
{
	/* what snprintf("%s%d") writes, without its format parsing: called
	 * for every household and person */
	char digits[16];
	size_t n = 0, len = strlen(x->ref);
	unsigned line = xmlx_line(x) > 0 ? (unsigned)xmlx_line(x) : 0;

	if (!size)
		return;
	do
		digits[n++] = (char)('0' + line % 10);
	while ((line /= 10) && n < sizeof(digits));
	if (len > size - 1)
		len = size - 1;
	memcpy(buf, x->ref, len);
	while (n && len < size - 1)
		buf[len++] = digits[--n];
	buf[len] = '\0';
}
