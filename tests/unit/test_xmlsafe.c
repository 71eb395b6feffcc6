/*
 * test_xmlsafe.c - lib/xmlsafe.h: the event stream, suffix matching by
 * local name, text, and refusal of hostile or broken documents.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "xmlsafe.h"

/* A temporary folder holding one document. */
struct fixture {
	char dir[64];
	char path[128]; /* DIR/doc.xml */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_xmlsafe.XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/doc.xml", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void write_bytes(const struct fixture *fx, const void *bytes, size_t len)
{
	FILE *fp = fopen(fx->path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(bytes, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void write_doc(const struct fixture *fx, const char *text)
{
	write_bytes(fx, text, strlen(text));
}

/* Append "S:name" or "E:name" for each event to LOG; return the last
 * event (END_OF_FILE or ERROR).  At most LIMIT events are read. */
static enum xmlx_event run_events(struct xmlx *x, char *log, size_t size, int limit)
{
	enum xmlx_event e = XMLX_ERROR;
	size_t len = 0;

	log[0] = '\0';
	for (int i = 0; i < limit; i++) {
		e = xmlx_next(x);
		if (e != XMLX_START && e != XMLX_END)
			return e;
		len += (size_t)snprintf(log + len, size - len, "%s%c:%s", len ? " " : "",
					e == XMLX_START ? 'S' : 'E', x->stack[x->depth - 1]);
		assert_true(len < size);
	}
	fail_msg("more than %d events", limit);
	return e;
}

static const char yardi_doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<y:PhysicalProperty xmlns:y=\"http://my-company.com/namespace\">\n"
				"  <y:Property>\n"
				"    <y:Customers>\n"
				"      <y:Customer Type=\"current resident\">\n"
				"        <y:Name>\n"
				"          Ann Lee \t\n"
				"        </y:Name>\n"
				"        <y:Flag/>\n"
				"        <Unit>101</Unit>\n"
				"      </y:Customer>\n"
				"    </y:Customers>\n"
				"  </y:Property>\n"
				"</y:PhysicalProperty>\n";

static void xmlx_next_gives_start_and_end_events_in_document_order(void **state)
{
	struct fixture *fx = *state;
	struct xmlx x;
	char log[1024];

	write_doc(fx, yardi_doc);
	assert_int_equal(xmlx_open(&x, fx->path), 0);
	assert_int_equal(run_events(&x, log, sizeof(log), 100), XMLX_END_OF_FILE);
	assert_string_equal(log,
			    "S:PhysicalProperty S:Property S:Customers S:Customer S:Name E:Name "
			    "S:Flag E:Flag S:Unit E:Unit E:Customer E:Customers E:Property "
			    "E:PhysicalProperty");
	/* and it stays at the end */
	assert_int_equal(xmlx_next(&x), XMLX_END_OF_FILE);
	xmlx_close(&x);
}

static void xmlx_at_matches_local_name_suffixes(void **state)
{
	struct fixture *fx = *state;
	struct xmlx x;
	enum xmlx_event e;
	int seen = 0;

	write_doc(fx, yardi_doc);
	assert_int_equal(xmlx_open(&x, fx->path), 0);
	while ((e = xmlx_next(&x)) == XMLX_START || e == XMLX_END) {
		if (e != XMLX_START || strcmp(x.stack[x.depth - 1], "Name") != 0)
			continue;
		seen = 1;
		assert_true(xmlx_at(&x, "Name"));
		assert_true(xmlx_at(&x, "Customer/Name"));
		assert_true(xmlx_at(&x, "Customers/Customer/Name"));
		assert_true(xmlx_at(&x, "PhysicalProperty/Property/Customers/Customer/Name"));
		assert_false(xmlx_at(&x, "y:Name"));
		assert_false(xmlx_at(&x, "ame"));
		assert_false(xmlx_at(&x, "Names"));
		assert_false(xmlx_at(&x, "Customer"));
		assert_false(xmlx_at(&x, "Customers/Name"));
		assert_false(xmlx_at(&x, "Property/Customer/Name"));
		assert_false(xmlx_at(&x, "Root/PhysicalProperty/Property/Customers/Customer/Name"));
	}
	assert_int_equal(e, XMLX_END_OF_FILE);
	assert_true(seen);
	xmlx_close(&x);
}

static void xmlx_end_keeps_the_element_on_the_stack_until_the_next_call(void **state)
{
	struct fixture *fx = *state;
	struct xmlx x;
	enum xmlx_event e;
	int seen = 0;

	write_doc(fx, yardi_doc);
	assert_int_equal(xmlx_open(&x, fx->path), 0);
	while ((e = xmlx_next(&x)) == XMLX_START || e == XMLX_END) {
		if (e == XMLX_END && xmlx_at(&x, "Customer/Unit")) {
			seen = 1;
			assert_int_equal(x.depth, 5);
			assert_string_equal(xmlx_text(&x), "101");
			assert_int_equal(xmlx_next(&x), XMLX_END);
			assert_true(xmlx_at(&x, "Customers/Customer"));
			assert_int_equal(x.depth, 4);
		}
	}
	assert_true(seen);
	xmlx_close(&x);
}

static void xmlx_self_closing_element_gives_start_then_end(void **state)
{
	struct fixture *fx = *state;
	struct xmlx x;
	char *attr;

	write_doc(fx, "<r><a/><b id=\"7\" /><c></c></r>");
	assert_int_equal(xmlx_open(&x, fx->path), 0);
	assert_int_equal(xmlx_next(&x), XMLX_START);
	assert_true(xmlx_at(&x, "r"));
	assert_int_equal(xmlx_next(&x), XMLX_START);
	assert_true(xmlx_at(&x, "r/a"));
	assert_int_equal(xmlx_next(&x), XMLX_END);
	assert_true(xmlx_at(&x, "r/a"));
	assert_string_equal(xmlx_text(&x), "");
	assert_int_equal(xmlx_next(&x), XMLX_START);
	assert_true(xmlx_at(&x, "r/b"));
	attr = xmlx_attr(&x, "id");
	assert_non_null(attr);
	assert_string_equal(attr, "7");
	free(attr);
	assert_null(xmlx_attr(&x, "missing"));
	assert_int_equal(xmlx_next(&x), XMLX_END);
	assert_true(xmlx_at(&x, "r/b"));
	assert_int_equal(xmlx_next(&x), XMLX_START);
	assert_true(xmlx_at(&x, "r/c"));
	assert_int_equal(xmlx_next(&x), XMLX_END);
	assert_true(xmlx_at(&x, "r/c"));
	assert_string_equal(xmlx_text(&x), "");
	assert_int_equal(xmlx_next(&x), XMLX_END);
	assert_true(xmlx_at(&x, "r"));
	assert_int_equal(x.depth, 1);
	assert_int_equal(xmlx_next(&x), XMLX_END_OF_FILE);
	xmlx_close(&x);
}

/* The text of the END of element SUFFIX (a copy, caller frees). */
static char *text_at_end(const struct fixture *fx, const char *suffix)
{
	struct xmlx x;
	enum xmlx_event e;
	char *got = NULL;

	assert_int_equal(xmlx_open(&x, fx->path), 0);
	while ((e = xmlx_next(&x)) == XMLX_START || e == XMLX_END)
		if (e == XMLX_END && xmlx_at(&x, suffix) && !got)
			got = strdup(xmlx_text(&x));
	if (e != XMLX_END_OF_FILE)
		fail_msg("xmlx_next: %s", err_msg());
	xmlx_close(&x);
	assert_non_null(got);
	return got;
}

static void xmlx_text_is_trimmed(void **state)
{
	struct fixture *fx = *state;
	char *t;

	write_doc(fx, yardi_doc);
	t = text_at_end(fx, "Customer/Name");
	assert_string_equal(t, "Ann Lee");
	free(t);
}

/* U+00A0 around a value (&#160; or the bytes) is trimmed as in a CSV field
 * (enc_trim()): the same id from either file is the same id */
static void xmlx_text_loses_no_break_spaces_at_its_ends(void **state)
{
	struct fixture *fx = *state;
	char *t;

	write_doc(fx, "<r><n>&#160; R1\xC2\xA0</n></r>");
	t = text_at_end(fx, "r/n");
	assert_string_equal(t, "R1");
	free(t);
}

static void xmlx_text_decodes_predefined_entities_and_cdata(void **state)
{
	struct fixture *fx = *state;
	char *t;

	write_doc(fx,
		  "<r><n> Smith &amp; Jones &#233;&lt;1&gt; </n><m><![CDATA[ a<b&c ]]></m></r>");
	t = text_at_end(fx, "r/n");
	assert_string_equal(t, "Smith & Jones \xC3\xA9<1>");
	free(t);
	t = text_at_end(fx, "r/m");
	assert_string_equal(t, "a<b&c");
	free(t);
}

/* An element holding only elements has no text of its own. */
static void xmlx_text_of_an_element_excludes_its_children(void **state)
{
	struct fixture *fx = *state;
	char *t;

	write_doc(fx, yardi_doc);
	t = text_at_end(fx, "Customers/Customer");
	assert_string_equal(t, "");
	free(t);
	t = text_at_end(fx, "PhysicalProperty");
	assert_string_equal(t, "");
	free(t);
}

static void xmlx_line_gives_the_line_of_the_current_element(void **state)
{
	struct fixture *fx = *state;
	struct xmlx x;
	enum xmlx_event e;
	int line = 0;

	write_doc(fx, yardi_doc);
	assert_int_equal(xmlx_open(&x, fx->path), 0);
	while ((e = xmlx_next(&x)) == XMLX_START || e == XMLX_END)
		if (e == XMLX_START && xmlx_at(&x, "Customer/Unit"))
			line = xmlx_line(&x);
	assert_int_equal(e, XMLX_END_OF_FILE);
	assert_int_equal(line, 10);
	xmlx_close(&x);
}

/* Open and read the whole document; it must fail with a message holding
 * WANT, within SECONDS, and no text may contain LEAK. */
static void assert_refused(const struct fixture *fx, const char *want, double seconds,
			   const char *leak)
{
	struct timespec t0, t1;
	struct xmlx x;
	enum xmlx_event e;
	double took;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* refusing the file at open time is as good as refusing it later */
	e = xmlx_open(&x, fx->path) == 0 ? XMLX_START : XMLX_ERROR;
	for (int i = 0; i < 1000 && e != XMLX_ERROR; i++) {
		e = xmlx_next(&x);
		if (e != XMLX_START && e != XMLX_END)
			break;
		if (leak && strstr(xmlx_text(&x), leak))
			fail_msg("text '%s' holds '%s'", xmlx_text(&x), leak);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	xmlx_close(&x);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(e, XMLX_ERROR);
	if (!strstr(err_msg(), fx->path) || !strstr(err_msg(), want))
		fail_msg("message '%s' lacks the file or '%s'", err_msg(), want);
	if (leak && strstr(err_msg(), leak))
		fail_msg("message '%s' holds '%s'", err_msg(), leak);
	if (took > seconds)
		fail_msg("took %.2fs, more than %.2fs", took, seconds);
}

/* Billion laughs: lol9 expands to 10^9 "lol". */
#define LOL(n, m) "  <!ENTITY lol" #n " \"" m m m m m m m m m m "\">\n"
#define LOLZ_DTD                                                                               \
	"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n  <!ENTITY lol \"lol\">\n" LOL(2, "&lol;") \
		LOL(3, "&lol2;") LOL(4, "&lol3;") LOL(5, "&lol4;") LOL(6, "&lol5;")            \
			LOL(7, "&lol6;") LOL(8, "&lol7;") LOL(9, "&lol8;") "]>\n"

static void xmlx_refuses_entity_declarations_quickly(void **state)
{
	struct fixture *fx = *state;

	/* referenced in content */
	write_doc(fx, LOLZ_DTD "<lolz><a>&lol9;</a></lolz>\n");
	assert_refused(fx, "line ", 1.0, "lollol");

	/* and in an attribute, which libxml2 expands while parsing */
	write_doc(fx, LOLZ_DTD "<lolz a=\"&lol9;\">&lol9;</lolz>\n");
	assert_refused(fx, "line ", 1.0, "lollol");
}

static void xmlx_refuses_external_entities_without_reading_them(void **state)
{
	struct fixture *fx = *state;

	write_doc(fx, "<?xml version=\"1.0\"?>\n"
		      "<!DOCTYPE r [\n"
		      "  <!ENTITY x SYSTEM \"file:///etc/passwd\">\n"
		      "]>\n"
		      "<r><a>&x;</a><b>after</b></r>\n");
	assert_refused(fx, "document type declaration", 1.0, "root:");

	/* an external DTD, and a parameter entity */
	write_doc(fx, "<?xml version=\"1.0\"?>\n"
		      "<!DOCTYPE r SYSTEM \"file:///etc/passwd\">\n"
		      "<r><a>x</a></r>\n");
	assert_refused(fx, "document type declaration", 1.0, "root:");
	write_doc(fx, "<?xml version=\"1.0\"?>\n"
		      "<!DOCTYPE r [\n"
		      "  <!ENTITY % p SYSTEM \"file:///etc/passwd\">\n"
		      "  %p;\n"
		      "]>\n"
		      "<r><a>x</a></r>\n");
	assert_refused(fx, "line ", 1.0, "root:");
}

static void xmlx_refuses_undeclared_entities(void **state)
{
	struct fixture *fx = *state;

	write_doc(fx, "<r>\n<n>&nbsp;</n></r>\n");
	assert_refused(fx, "line 2", 1.0, NULL);
}

/* Open and read the whole document, which must fail; return the line
 * number in the message ("'PATH' line N: ..."), failing if there is none. */
static int error_line(const struct fixture *fx)
{
	char want[200];
	const char *p;
	struct xmlx x;
	enum xmlx_event e;

	e = xmlx_open(&x, fx->path) == 0 ? XMLX_START : XMLX_ERROR;
	while (e != XMLX_ERROR && ((e = xmlx_next(&x)) == XMLX_START || e == XMLX_END))
		;
	xmlx_close(&x);
	assert_int_equal(e, XMLX_ERROR);
	snprintf(want, sizeof(want), "'%s' line ", fx->path);
	p = strstr(err_msg(), want);
	if (!p)
		fail_msg("message '%s' does not start with %s", err_msg(), want);
	return (int)strtol(p + strlen(want), NULL, 10);
}

static void xmlx_reports_a_truncated_document_with_file_and_line(void **state)
{
	struct fixture *fx = *state;

	write_doc(fx, "<?xml version=\"1.0\"?>\n<r>\n  <a>1</a>\n  <b>Smith, A");
	assert_int_equal(error_line(fx), 4);
	write_doc(fx, "<?xml version=\"1.0\"?>\n<r>\n  <a>1</a>\n  <b>2</b>\n  <c x=\"");
	assert_int_equal(error_line(fx), 5);
}

/* A file cut short at a line end, as an interrupted download leaves it. */
static void xmlx_says_truncated_when_the_file_ends_inside_an_element(void **state)
{
	struct fixture *fx = *state;

	write_doc(fx, "<?xml version=\"1.0\"?>\n<r>\n  <a>1</a>\n  <b>2</b>\n");
	assert_true(error_line(fx) >= 4);
	if (!strstr(err_msg(), "truncated"))
		fail_msg("message '%s' does not say the file is truncated", err_msg());
}

static void xmlx_reports_mismatched_tags_with_their_line(void **state)
{
	struct fixture *fx = *state;

	write_doc(fx, "<r>\n<a>1</a>\n<b>2</c>\n</r>\n");
	assert_int_equal(error_line(fx), 3);
}

static void xmlx_refuses_elements_nested_too_deep(void **state)
{
	struct fixture *fx = *state;
	char doc[(XMLX_MAX_DEPTH + 1) * 8 + 16];
	size_t len = 0;

	for (int i = 0; i <= XMLX_MAX_DEPTH; i++)
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "<a>");
	for (int i = 0; i <= XMLX_MAX_DEPTH; i++)
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "</a>");
	write_doc(fx, doc);
	assert_refused(fx, "deeper than", 1.0, NULL);
}

/*
 * Messages xmlx_next() writes itself must name the line of the node they
 * are about; the parser reads ahead of the reader by up to a chunk.
 */
static void xmlx_errors_name_the_line_of_the_offending_node(void **state)
{
	struct fixture *fx = *state;
	char doc[8192];
	size_t len = 0;

	/* the 65th <a> opens on line 66; 40 more lines follow it */
	len += (size_t)snprintf(doc + len, sizeof(doc) - len, "<?xml version=\"1.0\"?>\n");
	for (int i = 0; i <= XMLX_MAX_DEPTH; i++)
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "<a>\n");
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "text\n");
	for (int i = 0; i <= XMLX_MAX_DEPTH; i++)
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "</a>\n");
	write_doc(fx, doc);
	assert_int_equal(error_line(fx), XMLX_MAX_DEPTH + 2);

	/* the document type declaration is on line 2 */
	len = (size_t)snprintf(doc, sizeof(doc),
			       "<?xml version=\"1.0\"?>\n"
			       "<!DOCTYPE r SYSTEM \"r.dtd\">\n<r>\n");
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "<a>%d</a>\n", i);
	snprintf(doc + len, sizeof(doc) - len, "</r>\n");
	write_doc(fx, doc);
	assert_int_equal(error_line(fx), 2);
}

static void xmlx_open_fails_on_a_missing_or_empty_file(void **state)
{
	struct fixture *fx = *state;
	struct xmlx x;

	assert_int_equal(xmlx_open(&x, fx->path), -1);
	assert_non_null(strstr(err_msg(), fx->path));
	xmlx_close(&x);
	write_doc(fx, "");
	assert_int_equal(xmlx_open(&x, fx->path), -1);
	assert_non_null(strstr(err_msg(), fx->path));
	xmlx_close(&x);
}

/* A document of LINES lines "x" between <r> and what follows: the prolog
 * or content goes past any fixed window. */
static char *padded(const char *head, size_t lines, const char *tail)
{
	size_t len = strlen(head) + lines * 2 + strlen(tail) + 1;
	char *doc = malloc(len), *p;

	assert_non_null(doc);
	p = doc + snprintf(doc, len, "%s", head);
	for (size_t i = 0; i < lines; i++) {
		*p++ = 'x';
		*p++ = '\n';
	}
	snprintf(p, len - (size_t)(p - doc), "%s", tail);
	return doc;
}

/* The prolog is scanned whole, not its first 64 KiB only. */
static void xmlx_refuses_a_doctype_after_a_long_prolog(void **state)
{
	struct fixture *fx = *state;
	char *doc =
		padded("<?xml version=\"1.0\"?>\n<!--\n", 50000,
		       "-->\n<?pi a?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
		       "<r>&x;</r>\n");

	write_doc(fx, doc);
	free(doc);
	assert_refused(fx, "document type declaration", 1.0, "root:");
	assert_int_equal(error_line(fx), 50005);
}

/* UTF-16 with a BOM (either order) and without one, as libxml2 reads them */
static void xmlx_refuses_a_doctype_in_utf16(void **state)
{
	static const char text[] = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n"
				   "<!DOCTYPE r [<!ENTITY a \"b\">]>\n<r>&a;</r>\n";
	struct fixture *fx = *state;
	unsigned char doc[2 * sizeof(text) + 2];

	for (int order = 0; order < 4; order++) {
		size_t n = 0;
		int big = order & 1, bom = order < 2;

		if (bom) {
			doc[n++] = big ? 0xFE : 0xFF;
			doc[n++] = big ? 0xFF : 0xFE;
		}
		for (size_t i = 0; i < sizeof(text) - 1; i++) {
			doc[n++] = big ? 0 : (unsigned char)text[i];
			doc[n++] = big ? (unsigned char)text[i] : 0;
		}
		write_bytes(fx, doc, n);
		assert_refused(fx, "document type declaration", 1.0, NULL);
		assert_int_equal(error_line(fx), 2);
	}
}

static void xmlx_reads_utf16_with_a_bom(void **state)
{
	static const char text[] = "<r><n> Zo\xEB </n></r>\n"; /* ë as one Latin-1 code unit */
	struct fixture *fx = *state;
	unsigned char doc[2 * sizeof(text) + 2] = { 0xFF, 0xFE };
	size_t n = 2;
	char *t;

	for (size_t i = 0; i < sizeof(text) - 1; i++) {
		doc[n++] = (unsigned char)text[i];
		doc[n++] = 0;
	}
	write_bytes(fx, doc, n);
	t = text_at_end(fx, "r/n");
	assert_string_equal(t, "Zo\xC3\xAB");
	free(t);
}

static void xmlx_refuses_utf32_and_ebcdic(void **state)
{
	static const unsigned char utf32[] = { 0xFF, 0xFE, 0,   0, '<', 0, 0,   0, 'r', 0,
					       0,    0,    '/', 0, 0,   0, '>', 0, 0,   0 };
	static const unsigned char ebcdic[] = { 0x4C, 0x6F, 0xA7, 0x94, 0x93, 0x40 };
	struct fixture *fx = *state;

	write_bytes(fx, utf32, sizeof(utf32));
	assert_refused(fx, "UTF-32", 1.0, NULL);
	write_bytes(fx, ebcdic, sizeof(ebcdic));
	assert_refused(fx, "EBCDIC", 1.0, NULL);
}

static void xmlx_honours_the_declared_encoding(void **state)
{
	struct fixture *fx = *state;
	char *t;

	write_doc(fx, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<r><n>Mu\xF1oz</n></r>\n");
	t = text_at_end(fx, "r/n");
	assert_string_equal(t, "Mu\xC3\xB1oz");
	free(t);
	write_doc(fx, "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<r><n>O\x92"
		      "Brien</n></r>\n");
	t = text_at_end(fx, "r/n");
	assert_string_equal(t, "O\xE2\x80\x99"
			       "Brien");
	free(t);
	/* a BOM and no declaration: UTF-8 */
	write_doc(fx, "\xEF\xBB\xBF<r><n>Zo\xC3\xAB</n></r>");
	t = text_at_end(fx, "r/n");
	assert_string_equal(t, "Zo\xC3\xAB");
	free(t);
}

/* libxml2 would inflate a gzip file by itself, past the prolog check */
static void xmlx_does_not_inflate_a_gzip_file(void **state)
{
	static const unsigned char gz[] = { 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
					    0x03, 0xb3, 0x29, 0xb2, 0xb3, 0x49, 0xb4, 0x33, 0xb4,
					    0xd1, 0x4f, 0xb4, 0xb3, 0xd1, 0x2f, 0xb2, 0xe3, 0x02,
					    0x00, 0xda, 0x9c, 0x08, 0x36, 0x10, 0x00, 0x00, 0x00 };
	struct fixture *fx = *state;

	write_bytes(fx, gz, sizeof(gz)); /* "<r><a>1</a></r>\n", gzipped */
	assert_refused(fx, "line 1", 1.0, NULL);
}

static void xmlx_says_what_a_bad_prolog_lacks(void **state)
{
	struct fixture *fx = *state;

	write_doc(fx, "\n  \n<!-- only a comment -->\n");
	assert_refused(fx, "no root element", 1.0, NULL);
	write_doc(fx, "<?xml version=\"1.0\" enc");
	assert_refused(fx, "ends inside a processing instruction", 1.0, NULL);
	write_doc(fx, "<?xml version=\"1.0\"?>\n<!-- cut");
	assert_refused(fx, "ends inside a comment", 1.0, NULL);
}

static const char escaped_doc[] = "<?xml version=\"1.0\" encoding=\"utf-16\"?>\n"
				  "<r>\n  <n a=\"1\"> Zo\xC3\xAB </n>\n  <m>2</m>\n</r>\n";

/* A document escaped in an envelope, already UTF-8 whatever it declares. */
static void xmlx_open_memory_reads_an_escaped_document(void **state)
{
	struct xmlx x;
	enum xmlx_event e;
	char ref[128];
	int seen = 0;

	(void)state;
	assert_int_equal(xmlx_open_memory(&x, "env.xml", "Response", 7, escaped_doc,
					  strlen(escaped_doc)),
			 0);
	while ((e = xmlx_next(&x)) == XMLX_START || e == XMLX_END) {
		if (e != XMLX_END || !xmlx_at(&x, "r/n"))
			continue;
		seen = 1;
		assert_string_equal(xmlx_text(&x), "Zo\xC3\xAB");
		xmlx_ref(&x, ref, sizeof(ref));
		assert_string_equal(ref, "env.xml:7<Response>:3");
	}
	assert_int_equal(e, XMLX_END_OF_FILE);
	assert_true(seen);
	xmlx_close(&x);
}

static void xmlx_open_memory_refuses_what_a_file_would(void **state)
{
	static const char doctype[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY a \"b\">]>\n"
				      "<r>&a;</r>\n";
	static const char broken[] = "<r>\n<a>\n</r>\n";
	struct xmlx x;
	enum xmlx_event e;

	(void)state;
	assert_int_equal(xmlx_open_memory(&x, "env.xml", "Result", 4, doctype, strlen(doctype)),
			 -1);
	xmlx_close(&x);
	assert_non_null(strstr(err_msg(), "'env.xml' (document escaped in <Result> at line 4) "
					  "line 2: a document type declaration"));
	assert_int_equal(xmlx_open_memory(&x, "env.xml", "Result", 4, broken, strlen(broken)), 0);
	while ((e = xmlx_next(&x)) == XMLX_START || e == XMLX_END)
		;
	xmlx_close(&x);
	assert_int_equal(e, XMLX_ERROR);
	assert_non_null(strstr(err_msg(), "'env.xml' (document escaped in <Result> at line 4) "
					  "line 3: Opening and ending tag mismatch"));
	assert_int_equal(xmlx_open_memory(&x, "env.xml", "Result", 4, "", 0), -1);
	xmlx_close(&x);
}

static void xmlx_attr_is_trimmed_and_found_by_local_name_in_any_case(void **state)
{
	struct fixture *fx = *state;
	struct xmlx x;
	char *v;

	write_doc(fx, "<r xmlns:m=\"urn:m\"><u m:ID=\"  42 \" Type=\"\" "
		      "N=\"a&amp;b&#38;c&lt;d &amp;#38;\"/></r>");
	assert_int_equal(xmlx_open(&x, fx->path), 0);
	assert_int_equal(xmlx_next(&x), XMLX_START);
	assert_int_equal(xmlx_next(&x), XMLX_START);
	v = xmlx_attr(&x, "Id");
	assert_non_null(v);
	assert_string_equal(v, "42");
	free(v);
	v = xmlx_attr(&x, "type");
	assert_non_null(v);
	assert_string_equal(v, "");
	free(v);
	v = xmlx_attr(&x, "n");
	assert_non_null(v);
	assert_string_equal(v, "a&b&c<d &#38;");
	free(v);
	assert_null(xmlx_attr(&x, "m:ID"));
	assert_string_equal(xmlx_up(&x, 0), "u");
	assert_string_equal(xmlx_up(&x, 1), "r");
	assert_string_equal(xmlx_up(&x, 2), "");
	xmlx_close(&x);
}

/* One element's text is bounded, but an envelope's may hold a document. */
static void xmlx_bounds_the_text_of_one_element(void **state)
{
	struct fixture *fx = *state;
	size_t n = XMLX_MAX_TEXT + 1000;
	char *doc = malloc(n + 16);
	struct xmlx x;
	enum xmlx_event e;

	assert_non_null(doc);
	memcpy(doc, "<r><a>", 6);
	memset(doc + 6, 'y', n);
	memcpy(doc + 6 + n, "</a></r>", 9);
	write_doc(fx, doc);
	free(doc);
	assert_refused(fx, "line 1", 5.0, NULL);
	assert_int_equal(xmlx_open_envelope(&x, fx->path), 0);
	while ((e = xmlx_next(&x)) == XMLX_START || e == XMLX_END)
		if (e == XMLX_END && xmlx_at(&x, "r/a"))
			assert_int_equal(strlen(xmlx_text(&x)), n);
	assert_int_equal(e, XMLX_END_OF_FILE);
	xmlx_close(&x);
}

/* Line numbers stay exact in messages of files longer than 65535 lines. */
static void xmlx_names_lines_past_65535(void **state)
{
	struct fixture *fx = *state;
	char *doc = padded("<?xml version=\"1.0\"?>\n<r>\n", 70000, "<a>\n</b>\n</r>\n");

	write_doc(fx, doc);
	free(doc);
	assert_int_equal(error_line(fx), 70004);
}

/* And so do the lines of elements (a reject's source reference), read
 * from the parser as the element starts, not from a reader running ahead. */
static void xmlx_line_is_exact_past_65535(void **state)
{
	struct fixture *fx = *state;
	char *doc = padded("<?xml version=\"1.0\"?>\n<r>\n", 70000, "<a\n k='v'>1</a>\n<b/></r>\n");
	struct xmlx x;

	write_doc(fx, doc);
	free(doc);
	assert_int_equal(xmlx_open(&x, fx->path), 0);
	assert_int_equal(xmlx_next(&x), XMLX_START);
	assert_int_equal(xmlx_line(&x), 2);
	assert_int_equal(xmlx_next(&x), XMLX_START);
	assert_int_equal(xmlx_line(&x), 70004);
	assert_int_equal(xmlx_next(&x), XMLX_END);
	assert_int_equal(xmlx_line(&x), 70004);
	assert_int_equal(xmlx_next(&x), XMLX_START);
	assert_int_equal(xmlx_line(&x), 70005);
	xmlx_close(&x);
}

/* In UTF-7 "<" is "+ADw-": a declaration the prolog scan could not see. */
static void xmlx_refuses_an_encoding_that_hides_markup(void **state)
{
	struct fixture *fx = *state;
	char *t;

	write_doc(fx,
		  "<?xml version=\"1.0\" encoding=\"UTF-7\"?>\n"
		  "+ADw-+ACE-DOCTYPE r +AFsAPAAh-ENTITY a \"b\"+AD4AXQA+-\n+ADw-r+AD4-x+ADw-/r+AD4-\n");
	assert_refused(fx, "declared encoding 'UTF-7' is not accepted", 1.0, NULL);
	write_doc(fx, "<?xml version='1.0' encoding = 'ISO-2022-JP'?><r/>");
	assert_refused(fx, "declared encoding 'ISO-2022-JP'", 1.0, NULL);
	/* the ones PMS exports use are read */
	write_doc(fx, "<?xml version=\"1.0\" encoding=\"iso-8859-15\"?><r><n>\xA4</n></r>");
	t = text_at_end(fx, "r/n");
	assert_string_equal(t, "\xE2\x82\xAC");
	free(t);
}

/*
 * A start tag with more than XMLX_MAX_ATTRS attributes is refused with its
 * line, far into the file (past the first read); an '=' or '>' inside a
 * quoted value, a comment or a CDATA section is no attribute and no end.
 */
static void xmlx_counts_attributes_and_names_the_tag_line(void **state)
{
	struct fixture *fx = *state;
	char tag[XMLX_MAX_ATTRS * 24 + 64], tail[sizeof(tag) + 128];
	size_t len;
	struct xmlx x;
	enum xmlx_event e;
	char *doc;

	for (int many = 0; many < 2; many++) {
		len = (size_t)snprintf(tag, sizeof(tag), "<a");
		for (int i = 0; i < XMLX_MAX_ATTRS + many; i++)
			len += (size_t)snprintf(tag + len, sizeof(tag) - len, "%sv%d='x>=\"'",
						i % 50 ? " " : "\n", i);
		snprintf(tag + len, sizeof(tag) - len, "/>");
		snprintf(tail, sizeof(tail),
			 "<!-- <b x=1 y=2> --><![CDATA[<c x=1>]]><?p q=\"r\"?>\n%s\n</r>\n", tag);
		doc = padded("<?xml version=\"1.0\"?>\n<r>\n", 40000, tail);
		write_doc(fx, doc);
		free(doc);
		if (many) {
			assert_int_equal(error_line(fx), 40004);
			assert_non_null(strstr(err_msg(), "more than 256 attributes"));
			continue;
		}
		assert_int_equal(xmlx_open(&x, fx->path), 0);
		while ((e = xmlx_next(&x)) == XMLX_START || e == XMLX_END)
			;
		assert_int_equal(e, XMLX_END_OF_FILE);
		xmlx_close(&x);
	}
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(xmlx_next_gives_start_and_end_events_in_document_order),
		T(xmlx_at_matches_local_name_suffixes),
		T(xmlx_end_keeps_the_element_on_the_stack_until_the_next_call),
		T(xmlx_self_closing_element_gives_start_then_end),
		T(xmlx_text_is_trimmed),
		T(xmlx_text_loses_no_break_spaces_at_its_ends),
		T(xmlx_text_decodes_predefined_entities_and_cdata),
		T(xmlx_text_of_an_element_excludes_its_children),
		T(xmlx_line_gives_the_line_of_the_current_element),
		T(xmlx_refuses_entity_declarations_quickly),
		T(xmlx_refuses_external_entities_without_reading_them),
		T(xmlx_refuses_undeclared_entities),
		T(xmlx_reports_a_truncated_document_with_file_and_line),
		T(xmlx_says_truncated_when_the_file_ends_inside_an_element),
		T(xmlx_reports_mismatched_tags_with_their_line),
		T(xmlx_refuses_elements_nested_too_deep),
		T(xmlx_errors_name_the_line_of_the_offending_node),
		T(xmlx_open_fails_on_a_missing_or_empty_file),
		T(xmlx_refuses_a_doctype_after_a_long_prolog),
		T(xmlx_refuses_a_doctype_in_utf16),
		T(xmlx_reads_utf16_with_a_bom),
		T(xmlx_refuses_utf32_and_ebcdic),
		T(xmlx_honours_the_declared_encoding),
		T(xmlx_does_not_inflate_a_gzip_file),
		T(xmlx_says_what_a_bad_prolog_lacks),
		T(xmlx_open_memory_reads_an_escaped_document),
		T(xmlx_open_memory_refuses_what_a_file_would),
		T(xmlx_attr_is_trimmed_and_found_by_local_name_in_any_case),
		T(xmlx_bounds_the_text_of_one_element),
		T(xmlx_names_lines_past_65535),
		T(xmlx_line_is_exact_past_65535),
		T(xmlx_refuses_an_encoding_that_hides_markup),
		T(xmlx_counts_attributes_and_names_the_tag_line),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
