/*
 * test_html.c - lib/html.h: the five characters HTML gives meaning to are
 * escaped, control characters but LF and TAB become '?', the rest (UTF-8
 * included) is written as it is.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "html.h"

static void assert_html(const char *in, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	html_put(fp, in);
	fclose(fp);
	assert_string_equal(buf, want);
	free(buf);
}

static void escapes_markup_and_control_characters(void **state)
{
	(void)state;
	assert_html("<script>alert('x') & \"y\"</script>",
		    "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
	assert_html("a\x1b[31mb\x7f\r\n\tc", "a?[31mb??\n\tc");
	assert_html("R\xc3\xa9sidence", "R\xc3\xa9sidence");
	assert_html(NULL, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes_markup_and_control_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
