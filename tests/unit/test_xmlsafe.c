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

static void write_doc(const struct fixture *fx, const char *text)
{
	FILE *fp = fopen(fx->path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
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

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(xmlx_next_gives_start_and_end_events_in_document_order),
		T(xmlx_at_matches_local_name_suffixes),
		T(xmlx_end_keeps_the_element_on_the_stack_until_the_next_call),
		T(xmlx_self_closing_element_gives_start_then_end),
		T(xmlx_text_is_trimmed),
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
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
