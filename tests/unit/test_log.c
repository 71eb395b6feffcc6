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
#include "progress.h"

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

/* Run FN(ARG) with text logs and return what reached standard error (malloc'd). */
static char *captured(void (*fn)(void *), void *arg)
{
	FILE *cap = tmpfile();
	int saved = dup(2);
	char *out = calloc(1, 65536);
	size_t n;

	assert_non_null(cap);
	assert_non_null(out);
	fflush(stderr);
	assert_int_equal(dup2(fileno(cap), 2), 2);
	log_init("test", LOG_TEXT);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(cap);
	n = fread(out, 1, 65535, cap);
	out[n] = '\0';
	fclose(cap);
	return out;
}

static void warn_n_times(void *arg)
{
	struct log_limit l = { 0 };
	long n = *(long *)arg;

	for (long i = 1; i <= n; i++)
		log_limited(&l, "row %ld rejected", i);
	log_limit_end(&l, "rows rejected");
}

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void past_the_limit_one_summary_line(void **state)
{
	long n = LOG_LIMIT;
	char *out = captured(warn_n_times, &n);

	(void)state;
	assert_int_equal(lines(out), LOG_LIMIT);
	assert_null(strstr(out, "in all"));
	free(out);
	n = 100000;
	out = captured(warn_n_times, &n);
	assert_int_equal(lines(out), LOG_LIMIT + 1);
	assert_non_null(strstr(out, "test: warning: row 20 rejected\n"));
	assert_null(strstr(out, "row 21 rejected"));
	assert_non_null(
		strstr(out, "test: warning: 100000 rows rejected in all (the first 20 shown)\n"));
	free(out);
}

static void progress_line_says_done_total_rate_and_eta(void **state)
{
	struct progress p = { .what = "load", .unit = "requests", .total = 5000, .done = 1200 };
	char buf[256];

	(void)state;
	p.started = 100;
	progress_format(&p, 104, buf, sizeof(buf));
	/* 1200 in 4 s: 300/s; 3800 left: 12.67 s */
	assert_string_equal(buf, "load: 1200/5000 requests (24%), 300/s, ETA 0:13");
	progress_format(&p, 100.5, buf, sizeof(buf));
	assert_string_equal(buf,
			    "load: 1200/5000 requests (24%)"); /* no rate in the first second */
	p = (struct progress){ .what = "extract",
			       .unit = "bytes",
			       .total = 48300000,
			       .done = 12000000,
			       .started = 0 };
	progress_format(&p, 2, buf, sizeof(buf));
	assert_string_equal(buf, "extract: 12.0 of 48.3 MB (24%), 6.0 MB/s, ETA 0:06");
	p.total = 0;
	progress_format(&p, 2, buf, sizeof(buf));
	assert_string_equal(buf, "extract: 12.0 MB, 6.0 MB/s");
	p = (struct progress){
		.what = "load", .unit = "requests", .total = 14400000, .done = 7200000, .started = 0
	};
	progress_format(&p, 3600, buf, sizeof(buf));
	assert_string_equal(buf, "load: 7200000/14400000 requests (50%), 2000/s, ETA 1:00:00");
}

static void progress_is_off_without_a_terminal(void **state)
{
	struct progress p;

	(void)state;
	/* the test's standard error is a file or a pipe under make */
	if (isatty(2))
		skip();
	progress_start(&p, "load", "requests", 10);
	assert_int_equal(p.on, 0);
	progress_update(&p, 5);
	assert_int_equal(p.drawn, 0);
	progress_end(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_escapes_control_characters),
		cmocka_unit_test(past_the_limit_one_summary_line),
		cmocka_unit_test(progress_line_says_done_total_rate_and_eta),
		cmocka_unit_test(progress_is_off_without_a_terminal),
		cmocka_unit_test(text_keeps_utf8_and_escapes_invalid_bytes),
		cmocka_unit_test(json_line_holds_newlines_and_invalid_bytes),
		cmocka_unit_test(a_long_message_is_cut_on_a_character),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
