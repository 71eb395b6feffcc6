/*
 * test_log.c - lib/log.h: what reaches standard error cannot forge a log
 * line or break a JSON line, whatever a message quotes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoding.h"
#include "log.h"

/* Run log_error(MSG) with FORMAT and return what it wrote (malloc'd). */
static char *logged(enum log_format format, const char *msg)
{
	FILE *cap = tmpfile();
	int saved = dup(2);
	char *out = calloc(1, 65536);
	size_t n;

	assert_non_null(cap);
	assert_non_null(out);
	fflush(stderr);
	assert_int_equal(dup2(fileno(cap), 2), 2);
	log_init("test", format);
	log_error("%s", msg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(cap);
	n = fread(out, 1, 65535, cap);
	out[n] = '\0';
	fclose(cap);
	return out;
}

static void text_escapes_control_characters(void **state)
{
	char *out = logged(LOG_TEXT, "name 'Ann\nunitsync: error: forged\r\x1b[2J' \xc2\x85!");

	(void)state;
	assert_string_equal(out, "test: error: name 'Ann\\x0Aunitsync: error: forged\\x0D"
				 "\\x1B[2J' \\xC2\\x85!\n");
	free(out);
}

static void text_keeps_utf8_and_escapes_invalid_bytes(void **state)
{
	char *out = logged(LOG_TEXT, "Zo\xc3\xab \xf0\x9f\x8f\xa0 caf\xe9");

	(void)state;
	assert_string_equal(out, "test: error: Zo\xc3\xab \xf0\x9f\x8f\xa0 caf\\xE9\n");
	free(out);
}

/* The line is one JSON object whose msg is MSG. */
static void assert_json_msg(const char *out, const char *want)
{
	json_error_t e;
	json_t *o;
	const char *nl = strchr(out, '\n');

	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	o = json_loads(out, 0, &e);
	if (!o)
		fail_msg("not JSON (%s): %s", e.text, out);
	assert_string_equal(json_string_value(json_object_get(o, "msg")), want);
	json_decref(o);
}

static void json_line_holds_newlines_and_invalid_bytes(void **state)
{
	char *out = logged(LOG_JSON, "a\nb caf\xe9");

	(void)state;
	assert_json_msg(out, "a\nb caf\\xE9");
	free(out);
}

/* A message longer than the line buffer (2,047 bytes), cut in the middle
 * of a character: the line is still valid, the split character left out. */
static void a_long_message_is_cut_on_a_character(void **state)
{
	char msg[4000], want[2100], *out;

	(void)state;
	memset(msg, 'a', sizeof(msg));
	for (size_t i = 2044; i + 1 < sizeof(msg); i += 2)
		memcpy(msg + i, "\xc3\xa9", 2); /* é at 2044 and 2046: the cut splits the second */
	msg[sizeof(msg) - 1] = '\0';
	memset(want, 'a', 2044);
	memcpy(want + 2044, "\xc3\xa9", 3); /* with its NUL */

	out = logged(LOG_JSON, msg);
	assert_json_msg(out, want);
	free(out);
	out = logged(LOG_TEXT, msg);
	memcpy(want + 2046, "\n", 2);
	assert_string_equal(out + strlen("test: error: "), want);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_escapes_control_characters),
		cmocka_unit_test(text_keeps_utf8_and_escapes_invalid_bytes),
		cmocka_unit_test(json_line_holds_newlines_and_invalid_bytes),
		cmocka_unit_test(a_long_message_is_cut_on_a_character),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
