/*
 * test_smtp.c - lib/smtp.h's message format (RFC 5322, MIME, RFC 2047):
 * CRLF line ends only, no body line over 76 bytes or starting with '.',
 * the headers unitsync promises (Message-ID, Auto-Submitted), a subject
 * that is not ASCII as encoded-words that decode to it, the parts in
 * base64 that decode to the text given (LF made CRLF).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

static const struct smtp_server server = { "smtp://127.0.0.1:1", "unitsync@example.com", NULL, NULL,
					   NULL };

/* Base64 of LEN bytes of S decoded into OUT (at least LEN bytes); its length. */
static int unbase64(const char *s, size_t len, unsigned char *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);

	assert_true(n >= 0);
	while (len && s[len - 1] == '=') {
		n--;
		len--;
	}
	return n;
}

static char *format(const struct smtp_message *m)
{
	char *msg = NULL;
	size_t len = 0;

	assert_int_equal(smtp_format(&server, m, &msg, &len), 0);
	assert_int_equal(strlen(msg), len);
	return msg;
}

static void lines_are_crlf_and_short(void **state)
{
	static const char *const to[] = { "a@example.com", "b@example.org" };
	char text[4000];
	struct smtp_message m = {
		to, 2, "plain subject", "<id.1@example.com>", 0, text, "<p>x</p>"
	};
	char *msg, *line, *body;

	(void)state;
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	text[100] = '\n';
	text[200] = '.';
	msg = format(&m);
	for (char *c = msg; *c; c++)
		if (*c == '\n')
			assert_true(c > msg && c[-1] == '\r');
	assert_non_null(strstr(msg, "\r\nTo: <a@example.com>,\r\n <b@example.org>\r\n"));
	assert_non_null(strstr(msg, "\r\nMessage-ID: <id.1@example.com>\r\n"));
	assert_non_null(strstr(msg, "\r\nAuto-Submitted: auto-generated\r\n"));
	assert_non_null(strstr(msg, "\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	assert_non_null(strstr(msg, "\r\nSubject: plain subject\r\n"));
	body = strstr(msg, "\r\n\r\n");
	assert_non_null(body);
	for (line = body + 4; *line;) {
		char *end = strstr(line, "\r\n");

		assert_non_null(end);
		assert_true(end - line <= 76);
		assert_true(*line != '.');
		line = end + 2;
	}
	free(msg);
}

static void subject_not_ascii_is_encoded_words(void **state)
{
	static const char *const to[] = { "a@example.com" };
	/* 30 two-byte characters: more than one encoded-word */
	static const char subject[] =
		"[unitsync] Résidence Étoile: ééééééééééééééééééééééééééééééé";
	struct smtp_message m = { to, 1, subject, "<i@x.org>", 0, "t", "h" };
	char *msg = format(&m), *p, decoded[256] = "";
	size_t n = 0;

	(void)state;
	p = strstr(msg, "\r\nSubject: ");
	assert_non_null(p);
	p += 11;
	/* each word =?UTF-8?B?...?= at most 75 characters, folded by CRLF SP */
	while (strncmp(p, "=?UTF-8?B?", 10) == 0) {
		char *end = strstr(p + 10, "?=");
		unsigned char out[128];
		int w;

		assert_non_null(end);
		assert_true(end + 2 - p <= 75);
		w = unbase64(p + 10, (size_t)(end - p - 10), out);
		memcpy(decoded + n, out, (size_t)w);
		n += (size_t)w;
		p = end + 2;
		if (strncmp(p, "\r\n ", 3) == 0)
			p += 3;
	}
	assert_true(strncmp(p, "\r\n", 2) == 0);
	decoded[n] = '\0';
	assert_string_equal(decoded, subject);
	free(msg);
}

static void parts_decode_to_the_text(void **state)
{
	static const char *const to[] = { "a@example.com" };
	struct smtp_message m = {
		to, 1, "s", "<i@x.org>", 0, "line one\nl\xc3\xa9ne two\n", "<b>h\xc3\xa9</b>"
	};
	char *msg = format(&m), *p, *end, b64[512] = "";
	unsigned char out[512];
	int n;

	(void)state;
	p = strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n");
	assert_non_null(p);
	p = strstr(p, "\r\n\r\n") + 4;
	end = strstr(p, "\r\n--");
	assert_non_null(end);
	for (char *c = p; c < end; c++)
		if (*c != '\r' && *c != '\n')
			strncat(b64, c, 1);
	n = unbase64(b64, strlen(b64), out);
	out[n] = '\0';
	assert_string_equal((char *)out, "line one\r\nl\xc3\xa9ne two\r\n");
	assert_non_null(strstr(msg, "Content-Type: text/html; charset=utf-8\r\n"));
	assert_non_null(strstr(msg, "\r\n--=_unitsync_alternative_=--\r\n"));
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_are_crlf_and_short),
		cmocka_unit_test(subject_not_ascii_is_encoded_words),
		cmocka_unit_test(parts_decode_to_the_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
