#include "xmlsafe.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

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
	snprintf(x->error, sizeof(x->error), "'%s' line %d: %s", x->path, e->line,
		 e->message ? e->message : "malformed XML");
	n = strlen(x->error);
	while (n && (x->error[n - 1] == '\n' || x->error[n - 1] == ' '))
		x->error[--n] = '\0';
}

/*
 * Refuse a document type declaration before libxml2 sees it: its entity
 * declarations are the door to billion-laughs and XXE, and PMS exports
 * have none.  Scans the prolog (BOM, white space, <?...?>, <!--...-->) of
 * the first 64 KiB; -1 with err_set() naming the line.
 */
static int refuse_doctype(const char *path)
{
	char buf[65536];
	FILE *fp = fopen(path, "rb");
	size_t n, i = 0;
	int line = 1, rc = 0;

	if (!fp)
		return 0; /* the reader reports it */
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if (n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		i = 3;
	while (i < n) {
		const char *end = NULL;

		if (buf[i] == '\n')
			line++;
		if (isspace((unsigned char)buf[i])) {
			i++;
			continue;
		}
		if (!strncmp(buf + i, "<?", 2))
			end = strstr(buf + i, "?>");
		else if (!strncmp(buf + i, "<!--", 4))
			end = strstr(buf + i, "-->");
		else if (!strncmp(buf + i, "<!DOCTYPE", 9)) {
			err_set("'%s' line %d: a document type declaration is not accepted "
				"(entities and external DTDs are refused)",
				path, line);
			rc = -1;
		}
		if (!end)
			break;
		for (const char *p = buf + i; p < end; p++)
			line += *p == '\n';
		i = (size_t)(end - buf) + (buf[i + 1] == '?' ? 2 : 3);
	}
	return rc;
}

int xmlx_open(struct xmlx *x, const char *path)
{
	memset(x, 0, sizeof(*x));
	x->path = path;
	xmlSetExternalEntityLoader(refuse_entity);
	{
		struct stat st;

		if (stat(path, &st) != 0) {
			err_set("cannot open '%s': %s", path, strerror(errno));
			return -1;
		}
		if (st.st_size == 0) {
			err_set("'%s': empty file, expected XML", path);
			return -1;
		}
		x->size = (long)st.st_size;
	}
	if (refuse_doctype(path) < 0)
		return -1;
	x->r = xmlReaderForFile(path, NULL,
				XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT);
	if (!x->r) {
		err_set("cannot open '%s' as XML", path);
		return -1;
	}
	xmlTextReaderSetStructuredErrorHandler(x->r, on_error, x);
	return 0;
}

void xmlx_close(struct xmlx *x)
{
	if (x->r)
		xmlFreeTextReader(x->r);
	for (int i = 0; i < x->depth; i++)
		free(x->stack[i]);
	free(x->text);
	memset(x, 0, sizeof(*x));
}

static int append_text(struct xmlx *x, const char *s)
{
	size_t n = strlen(s);

	if (x->text_len + n + 1 > x->text_cap) {
		size_t cap = (x->text_len + n + 1) * 2;
		char *t = realloc(x->text, cap);

		if (!t)
			return -1;
		x->text = t;
		x->text_cap = cap;
	}
	memcpy(x->text + x->text_len, s, n + 1);
	x->text_len += n;
	return 0;
}

/* Trim white space at both ends of x->text in place. */
static void trim_text(struct xmlx *x)
{
	size_t start = 0, end = x->text_len;

	if (!x->text)
		return;
	while (start < end && isspace((unsigned char)x->text[start]))
		start++;
	while (end > start && isspace((unsigned char)x->text[end - 1]))
		end--;
	memmove(x->text, x->text + start, end - start);
	x->text[end - start] = '\0';
	x->text_len = end - start;
}

enum xmlx_event xmlx_next(struct xmlx *x)
{
	/* an END leaves its element on the stack for the caller; drop it now */
	if (x->pop) {
		free(x->stack[--x->depth]);
		x->pop = 0;
		/* the parent's text is what follows, not the child's */
		x->text_len = 0;
		if (x->text)
			x->text[0] = '\0';
	}
	if (x->pending_end) {
		/* <a/> was reported as START; its END comes without reading */
		x->pending_end = 0;
		x->pop = 1;
		x->text_len = 0;
		if (x->text)
			x->text[0] = '\0';
		return XMLX_END;
	}
	for (;;) {
		int rc = xmlTextReaderRead(x->r);
		int line;

		if (rc == 0 && !x->error[0])
			return XMLX_END_OF_FILE;
		line = xmlTextReaderGetParserLineNumber(x->r);
		if (rc <= 0) {
			const char *what = x->error[0] ? x->error : "malformed XML";

			/* libxml2 may hold the last bytes back: either sign means EOF */
			if (x->depth > 0 && (x->error_code == XML_ERR_DOCUMENT_END ||
					     xmlTextReaderByteConsumed(x->r) >= x->size - 1))
				err_set("%s (the file ends before its elements are closed: truncated)",
					what);
			else if (x->error[0])
				err_set("%s", what);
			else
				err_set("'%s' line %d: %s", x->path, line, what);
			return XMLX_ERROR;
		}
		switch (xmlTextReaderNodeType(x->r)) {
		case XML_READER_TYPE_DOCUMENT_TYPE:
			err_set("'%s' line %d: a document type declaration is not accepted "
				"(entities and external DTDs are refused)",
				x->path, line);
			return XMLX_ERROR;
		case XML_READER_TYPE_ENTITY_REFERENCE:
			err_set("'%s' line %d: entity references are not accepted", x->path,
				xmlx_line(x));
			return XMLX_ERROR;
		case XML_READER_TYPE_ELEMENT: {
			const xmlChar *name = xmlTextReaderConstLocalName(x->r);

			if (x->depth >= XMLX_MAX_DEPTH) {
				err_set("'%s' line %d: elements nested deeper than %d", x->path,
					xmlx_line(x), XMLX_MAX_DEPTH);
				return XMLX_ERROR;
			}
			x->stack[x->depth] = strdup(name ? (const char *)name : "");
			if (!x->stack[x->depth]) {
				err_set("out of memory");
				return XMLX_ERROR;
			}
			x->depth++;
			x->text_len = 0;
			if (x->text)
				x->text[0] = '\0';
			x->pending_end = xmlTextReaderIsEmptyElement(x->r) == 1;
			return XMLX_START;
		}
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE: {
			const xmlChar *v = xmlTextReaderConstValue(x->r);

			if (v && append_text(x, (const char *)v) < 0) {
				err_set("out of memory");
				return XMLX_ERROR;
			}
			break;
		}
		case XML_READER_TYPE_END_ELEMENT:
			if (x->depth == 0)
				break;
			trim_text(x);
			x->pop = 1;
			return XMLX_END;
		default:
			break;
		}
	}
}

int xmlx_at(const struct xmlx *x, const char *suffix)
{
	const char *end = suffix + strlen(suffix);
	int i = x->depth - 1;

	while (end > suffix) {
		const char *start = end;
		size_t n;

		while (start > suffix && start[-1] != '/')
			start--;
		n = (size_t)(end - start);
		if (i < 0 || strlen(x->stack[i]) != n || memcmp(x->stack[i], start, n) != 0)
			return 0;
		i--;
		end = start > suffix ? start - 1 : start;
	}
	return 1;
}

const char *xmlx_text(const struct xmlx *x)
{
	return x->text ? x->text : "";
}

char *xmlx_attr(struct xmlx *x, const char *name)
{
	xmlChar *v = xmlTextReaderGetAttribute(x->r, (const xmlChar *)name);
	char *s;

	if (!v)
		return NULL;
	s = strdup((const char *)v);
	xmlFree(v);
	return s;
}

int xmlx_line(const struct xmlx *x)
{
	/* the node's own line: the parser's line runs ahead of the reader */
	xmlNodePtr n = xmlTextReaderCurrentNode(x->r);
	long line = n ? xmlGetLineNo(n) : -1;

	return line > 0 ? (int)line : xmlTextReaderGetParserLineNumber(x->r);
}
