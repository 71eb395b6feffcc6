/*
 * test_latch.c - lib/latch.h: the parsers of Latch reply bodies and the
 * excerpt of a reply kept in the journal, logs and load-report.csv.  Every
 * reply is untrusted (docs/SECURITY.md): malformed JSON, wrong types,
 * missing fields and ids that are not ids are refused with a reason.  The
 * cases found by tests/fuzz/fuzz_latch_reply.c belong here too.  And the
 * one backoff of every retry (latch_backoff, latch_pause: issue 17).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "err.h"
#include "latch.h"

#define S(lit) lit, sizeof(lit) - 1

static void user_match_finds_the_user_by_email_in_any_case(void **state)
{
	char id[LATCH_MAX_ID + 1];

	(void)state;
	assert_int_equal(latch_parse_user_match(S("{\"users\":[{\"userUuid\":\"u-2\",\"email\":"
						  "\"b@x.org\"},{\"userUuid\":\"u-1\","
						  "\"email\":\"A@X.org\"}],\"nextPageToken\":null}"),
						"a@x.org", id, sizeof(id)),
			 0);
	assert_string_equal(id, "u-1");
	assert_int_equal(latch_parse_user_match(S("{\"users\":[]}"), "a@x.org", id, sizeof(id)), 1);
	assert_string_equal(id, "");
}

/* two users with the e-mail: never guess */
static const char two_users[] = "{\"users\":[{\"userUuid\":\"u-1\",\"email\":\"a@x.org\"},"
				"{\"userUuid\":\"u-2\",\"email\":\"A@x.org\"}]}";

static void user_match_refuses_what_is_not_the_contract(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"{\"users\":[{\"userUuid\":\"u-1\",\"email\":\"a@x.org\"}", /* cut */
		"[]",
		"{\"users\":{}}",
		"{\"users\":[\"a@x.org\"]}",
		"{\"users\":[{\"userUuid\":42,\"email\":\"a@x.org\"}]}",
		"{\"users\":[{\"email\":\"a@x.org\"}]}",
		"{\"users\":[{\"userUuid\":\"\",\"email\":\"a@x.org\"}]}",
		"{\"users\":[{\"userUuid\":\"u 1\",\"email\":\"a@x.org\"}]}",
		"{\"users\":[{\"userUuid\":\"u\\n1\",\"email\":\"a@x.org\"}]}",
		"{\"users\":[{\"userUuid\":\"../../v1/x\\u00e9\",\"email\":\"a@x.org\"}]}",
		two_users,
		/* the same key twice: which one? */
		"{\"users\":[],\"users\":[{\"userUuid\":\"u-1\",\"email\":\"a@x.org\"}]}",
	};
	char id[LATCH_MAX_ID + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_set("%s", "");
		if (latch_parse_user_match(bad[i], strlen(bad[i]), "a@x.org", id, sizeof(id)) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_string_equal(id, "");
		assert_true(*err_msg() != '\0');
	}
}

static void user_match_reads_only_len_bytes(void **state)
{
	/* a NUL inside the body is not the end of the document */
	static const char body[] =
		"{\"users\":[]}\0{\"users\":[{\"userUuid\":\"u\",\"email\":\"a\"}]}";
	char id[LATCH_MAX_ID + 1];

	(void)state;
	assert_int_equal(latch_parse_user_match(body, sizeof(body) - 1, "a", id, sizeof(id)), -1);
}

static void phone_digits_keeps_only_the_digits(void **state)
{
	char out[16], small[4];

	(void)state;
	assert_int_equal(latch_phone_digits("+1 (555) 010-0000", out, sizeof(out)), 11);
	assert_string_equal(out, "15550100000");
	assert_int_equal(latch_phone_digits("n/a", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* too many digits for OUT: refused, not cut (a cut number is another one) */
	assert_int_equal(latch_phone_digits("555-0100", small, sizeof(small)), -1);
	assert_string_equal(small, "");
}

static void user_phone_match_compares_digits_only(void **state)
{
	char id[LATCH_MAX_ID + 1];

	(void)state;
	assert_int_equal(latch_parse_user_phone_match(
				 S("{\"users\":[{\"userUuid\":\"u-2\",\"phone\":\"5550100\"},"
				   "{\"userUuid\":\"u-1\",\"email\":null,\"phone\":\"+1 555.0100\"},"
				   "{\"userUuid\":\"u-3\",\"phone\":null}]}"),
				 "(1) 555-0100", id, sizeof(id)),
			 0);
	assert_string_equal(id, "u-1");
	assert_int_equal(latch_parse_user_phone_match(S("{\"users\":[{\"userUuid\":\"u-2\","
							"\"phone\":\"15550100\"}]}"),
						      "5550100", id, sizeof(id)),
			 1);
	assert_string_equal(id, "");
	/* a phone without digits is nobody's, even a user's without digits */
	assert_int_equal(latch_parse_user_phone_match(
				 S("{\"users\":[{\"userUuid\":\"u-2\",\"phone\":\"none\"}]}"), "-",
				 id, sizeof(id)),
			 1);
}

/* two users with the phone, written differently: never guess */
static const char two_phones[] = "{\"users\":[{\"userUuid\":\"u-1\",\"phone\":\"+1 555 0100\"},"
				 "{\"userUuid\":\"u-2\",\"phone\":\"1-555-0100\"}]}";

static void user_phone_match_refuses_two_users_and_bad_replies(void **state)
{
	static const char *const bad[] = {
		"",
		"{\"users\":{}}",
		"{\"users\":[\"15550100\"]}",
		"{\"users\":[{\"phone\":\"15550100\"}]}",
		"{\"users\":[{\"userUuid\":\"u 1\",\"phone\":\"15550100\"}]}",
		two_phones,
		/* malformed even when the phone has no digits */
		"not json",
	};
	char id[LATCH_MAX_ID + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *phone = i + 1 == sizeof(bad) / sizeof(bad[0]) ? "" : "15550100";

		err_set("%s", "");
		if (latch_parse_user_phone_match(bad[i], strlen(bad[i]), phone, id, sizeof(id)) !=
		    -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_string_equal(id, "");
		assert_true(*err_msg() != '\0');
	}
	assert_int_equal(latch_parse_user_phone_match(S("{\"users\":[{\"userUuid\":\"u-1\","
							"\"phone\":\"1\"},{\"userUuid\":"
							"\"u-2\",\"phone\":\"1\"}]}"),
						      "1", id, sizeof(id)),
			 -1);
	assert_string_equal(err_msg(), "reply lists two users with the phone");
}

static void user_uuid_and_assigned_by_need_valid_ids(void **state)
{
	char id[LATCH_MAX_ID + 1], small[4], long_id[LATCH_MAX_ID + 60];

	(void)state;
	assert_int_equal(latch_parse_user_uuid(S("{\"userUuid\":\"5f0c-11\",\"email\":\"a\"}"), id,
					       sizeof(id)),
			 0);
	assert_string_equal(id, "5f0c-11");
	assert_int_equal(latch_parse_user_uuid(S("{\"userUuid\":null}"), id, sizeof(id)), -1);
	assert_int_equal(latch_parse_user_uuid(S("{}"), id, sizeof(id)), -1);
	assert_int_equal(latch_parse_user_uuid(S("\"u-1\""), id, sizeof(id)), -1);
	/* an id longer than the caller's buffer is refused, not cut */
	assert_int_equal(latch_parse_user_uuid(S("{\"userUuid\":\"u-12345\"}"), small,
					       sizeof(small)),
			 -1);
	assert_int_equal(latch_parse_assigned_by(S("{\"userUuid\":\"u\",\"assignedBy\":\"demo\"}"),
						 id, sizeof(id)),
			 0);
	assert_string_equal(id, "demo");
	assert_int_equal(latch_parse_assigned_by(S("{\"userUuid\":\"u\"}"), id, sizeof(id)), -1);
	assert_int_equal(latch_parse_assigned_by(S("{\"assignedBy\":[\"demo\"]}"), id, sizeof(id)),
			 -1);
	/* longer than LATCH_MAX_ID */
	snprintf(long_id, sizeof(long_id), "{\"assignedBy\":\"%0*d\"}", LATCH_MAX_ID + 40, 0);
	assert_int_equal(latch_parse_assigned_by(long_id, strlen(long_id), id, sizeof(id)), -1);
}

static void id_valid_takes_printable_ascii_without_blanks(void **state)
{
	(void)state;
	assert_true(latch_id_valid("0b3c6a1e-2f55-4e7c-9d1a-7c4a3f2e9b10"));
	assert_true(latch_id_valid("u_1:x"));
	assert_false(latch_id_valid(""));
	assert_false(latch_id_valid(NULL));
	assert_false(latch_id_valid("a b"));
	assert_false(latch_id_valid("a\tb"));
	assert_false(latch_id_valid("a\x7f"));
	assert_false(latch_id_valid("caf\xc3\xa9"));
}

static void token_is_printable_and_its_lifetime_clamped(void **state)
{
	char *token = NULL;
	long ttl = 0;

	(void)state;
	assert_int_equal(latch_parse_token(S("{\"access_token\":\"abc.def\",\"expires_in\":3600}"),
					   &token, &ttl),
			 0);
	assert_string_equal(token, "abc.def");
	assert_int_equal(ttl, 3600);
	free(token);
	assert_int_equal(latch_parse_token(S("{\"access_token\":\"t\",\"expires_in\":-5}"), &token,
					   &ttl),
			 0);
	assert_int_equal(ttl, LATCH_MIN_TTL);
	free(token);
	assert_int_equal(latch_parse_token(S("{\"access_token\":\"t\",\"expires_in\":"
					     "9223372036854775807}"),
					   &token, &ttl),
			 0);
	assert_int_equal(ttl, LATCH_MAX_TTL);
	free(token);
	assert_int_equal(latch_parse_token(S("{\"access_token\":\"t\",\"expires_in\":\"60\"}"),
					   &token, &ttl),
			 0);
	assert_int_equal(ttl, 300);
	free(token);
	/* a token that would end the Authorization header line */
	assert_int_equal(latch_parse_token(S("{\"access_token\":\"t\\r\\nX-Evil: 1\"}"), &token,
					   &ttl),
			 -1);
	assert_null(token);
	assert_int_equal(latch_parse_token(S("{\"access_token\":\"\"}"), &token, &ttl), -1);
	assert_int_equal(latch_parse_token(S("{\"access_token\":7}"), &token, &ttl), -1);
	assert_int_equal(latch_parse_token(S("{\"token\":\"t\"}"), &token, &ttl), -1);
	assert_int_equal(latch_parse_token(S("<html>"), &token, &ttl), -1);
}

static void error_code_is_printable(void **state)
{
	struct latch_resp r = { 0 };
	char body[] = "{\"message\":\"EMAIL\\u001b[2J\\nX\"}";

	(void)state;
	r.body = body;
	r.len = strlen(body);
	assert_string_equal(latch_error_code(&r), "EMAIL?[2J?X");
	r.truncated = 1;
	assert_string_equal(latch_error_code(&r), "");
}

/* A reply of STATUS with BODY, for latch_reply_check(). */
static struct latch_resp reply_of(long status, const char *body)
{
	struct latch_resp r = { 0 };

	r.status = status;
	r.body = (char *)body;
	r.len = strlen(body);
	r.retry_after = -1;
	return r;
}

static void reply_check_takes_only_the_contract(void **state)
{
	struct latch_resp r;

	(void)state;
	/* DELETE: 204, or 404 RESIDENT_NOT_FOUND; nothing else */
	r = reply_of(204, "");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_DELETE, &r, NULL), LATCH_REPLY_OK);
	r = reply_of(404, "{\"message\":\"RESIDENT_NOT_FOUND\"}");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_DELETE, &r, NULL), LATCH_REPLY_ALREADY);
	r = reply_of(404, "{\"message\":\"NOT_FOUND\"}");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_DELETE, &r, NULL), LATCH_REPLY_ERROR);
	assert_non_null(strstr(err_msg(),
			       "answered 404 NOT_FOUND, expected 204 or 404 RESIDENT_NOT_FOUND"));
	r = reply_of(404, "<html>RESIDENT_NOT_FOUND</html>");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_DELETE, &r, NULL), LATCH_REPLY_ERROR);
	r = reply_of(200, "<html>deleted</html>");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_DELETE, &r, NULL), LATCH_REPLY_BAD);
	assert_non_null(strstr(err_msg(), "answered 200, expected 204"));
	r = reply_of(200, "{\"message\":\"INTERNAL\"}");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_DELETE, &r, NULL), LATCH_REPLY_BAD);
	/* PUT: 200 or 201 with the resident, that user */
	r = reply_of(201, "{\"userUuid\":\"u-1\",\"assignedBy\":\"c\"}");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_PUT, &r, "u-1"), LATCH_REPLY_OK);
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_PUT, &r, "u-2"), LATCH_REPLY_BAD);
	/* PUT 404: only UNIT_NOT_FOUND says the unit does not exist */
	r = reply_of(404, "{\"message\":\"UNIT_NOT_FOUND\"}");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_PUT, &r, "u-1"),
			 LATCH_REPLY_UNIT_MISSING);
	assert_non_null(strstr(err_msg(), "answered 404 UNIT_NOT_FOUND"));
	r = reply_of(404, "{\"message\":\"USER_NOT_FOUND\"}");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_PUT, &r, "u-1"), LATCH_REPLY_ERROR);
	r = reply_of(404, "{\"message\":\"NOT_FOUND\"}");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_PUT, &r, "u-1"), LATCH_REPLY_ERROR);
	r = reply_of(404, "<html>UNIT_NOT_FOUND</html>");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_PUT, &r, "u-1"), LATCH_REPLY_ERROR);
	r = reply_of(404, "{\"message\":\"UNIT_NOT_FOUND\"}");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_DELETE, &r, NULL), LATCH_REPLY_ERROR);
	r = reply_of(201, "[\"assigned\"]");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_PUT, &r, "u-1"), LATCH_REPLY_BAD);
	assert_non_null(
		strstr(err_msg(), "malformed reply: reply is not a JSON object (HTTP 201)"));
	/* POST /v1/users: 201 with a userUuid */
	r = reply_of(201, "{\"userUuid\":\"u-1\"}");
	assert_int_equal(latch_reply_check(LATCH_USER_CREATE, &r, NULL), LATCH_REPLY_OK);
	r = reply_of(200, "{\"userUuid\":\"u-1\"}");
	assert_int_equal(latch_reply_check(LATCH_USER_CREATE, &r, NULL), LATCH_REPLY_BAD);
	r = reply_of(201, "{\"message\":\"CREATED\"}");
	assert_int_equal(latch_reply_check(LATCH_USER_CREATE, &r, NULL), LATCH_REPLY_BAD);
	/* lists */
	r = reply_of(200, "{\"users\":[]}");
	assert_int_equal(latch_reply_check(LATCH_USERS_FIND, &r, NULL), LATCH_REPLY_OK);
	r = reply_of(200, "{\"units\":{}}");
	assert_int_equal(latch_reply_check(LATCH_UNITS_LIST, &r, NULL), LATCH_REPLY_BAD);
	/* credentials, retries, other refusals */
	r = reply_of(401, "{\"message\":\"UNAUTHORIZED\"}");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_DELETE, &r, NULL), LATCH_REPLY_AUTH);
	r = reply_of(503, "");
	assert_int_equal(latch_reply_check(LATCH_RESIDENT_DELETE, &r, NULL), LATCH_REPLY_RETRY);
	r = reply_of(422, "{\"message\":\"IDEMPOTENCY_KEY_REUSED\"}");
	assert_int_equal(latch_reply_check(LATCH_USER_CREATE, &r, NULL), LATCH_REPLY_ERROR);
}

/* latch_reply_take(): the body it judged, only with a success that has one */
static void reply_take_gives_the_body_it_parsed(void **state)
{
	struct latch_resp r;
	json_t *j = (json_t *)&r; /* not NULL: each call must set it */

	(void)state;
	r = reply_of(200, "{\"units\":[{\"uuid\":\"x\",\"name\":\"1\"}],\"nextPageToken\":\"t\"}");
	assert_int_equal(latch_reply_take(LATCH_UNITS_LIST, &r, NULL, &j), LATCH_REPLY_OK);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "units")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "nextPageToken")), "t");
	json_decref(j);
	r = reply_of(201, "{\"userUuid\":\"u-1\"}");
	assert_int_equal(latch_reply_take(LATCH_RESIDENT_PUT, &r, "u-1", &j), LATCH_REPLY_OK);
	assert_string_equal(json_string_value(json_object_get(j, "userUuid")), "u-1");
	json_decref(j);
	/* judged off the contract, refused, or without a body: nothing */
	j = (json_t *)&r;
	r = reply_of(201, "{\"userUuid\":\"u-1\"}");
	assert_int_equal(latch_reply_take(LATCH_RESIDENT_PUT, &r, "u-2", &j), LATCH_REPLY_BAD);
	assert_null(j);
	j = (json_t *)&r;
	r = reply_of(200, "{\"units\":{}}");
	assert_int_equal(latch_reply_take(LATCH_UNITS_LIST, &r, NULL, &j), LATCH_REPLY_BAD);
	assert_null(j);
	j = (json_t *)&r;
	r = reply_of(404, "{\"message\":\"RESIDENT_NOT_FOUND\"}");
	assert_int_equal(latch_reply_take(LATCH_RESIDENT_DELETE, &r, NULL, &j),
			 LATCH_REPLY_ALREADY);
	assert_null(j);
	j = (json_t *)&r;
	r = reply_of(204, "");
	assert_int_equal(latch_reply_take(LATCH_RESIDENT_DELETE, &r, NULL, &j), LATCH_REPLY_OK);
	assert_null(j);
	j = (json_t *)&r;
	r = reply_of(503, "");
	assert_int_equal(latch_reply_take(LATCH_UNITS_LIST, &r, NULL, &j), LATCH_REPLY_RETRY);
	assert_null(j);
}

static void retry_after_takes_seconds_or_a_date(void **state)
{
	(void)state;
	assert_int_equal(latch_parse_retry_after(" 120\r\n", 0), 120);
	assert_int_equal(latch_parse_retry_after("0", 0), 0);
	/* Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 */
	assert_int_equal(latch_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412400), 80);
	assert_int_equal(latch_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412500), 0);
	assert_int_equal(latch_parse_retry_after("12abc", 0), -1);
	assert_int_equal(latch_parse_retry_after("", 0), -1);
	assert_int_equal(latch_parse_retry_after("soon", 0), -1);
	assert_true(latch_parse_retry_after("99999999999999999999999", 0) > 0);
}

static void excerpt_is_short_printable_utf8(void **state)
{
	struct latch_resp r = { 0 };
	char body[] = "bad\r\n\x01gateway \\ caf\xc3\xa9 \xff\xc3";
	char out[64];

	(void)state;
	r.body = body;
	r.len = sizeof(body) - 1;
	latch_reply_excerpt(&r, out, sizeof(out));
	assert_string_equal(out, "bad\\x0d\\x0a\\x01gateway \\\\ caf\xc3\xa9 \\xff\\xc3");
	/* cut on a character boundary, and said to be cut */
	latch_reply_excerpt(&r, out, 12);
	assert_string_equal(out, "bad\\x0d...");
	r.truncated = 1;
	latch_reply_excerpt(&r, out, sizeof(out));
	assert_non_null(strstr(out, "(reply over 1 MiB, not read)"));
	latch_reply_excerpt(&r, out, 1);
	assert_string_equal(out, "");
	r.body = NULL;
	r.len = 0;
	r.truncated = 0;
	latch_reply_excerpt(&r, out, sizeof(out));
	assert_string_equal(out, "");
}

static void loopback_is_the_host_not_a_prefix(void **state)
{
	(void)state;
	assert_true(latch_is_loopback("http://127.0.0.1:8080/v1/users"));
	assert_true(latch_is_loopback("https://127.9.9.9/"));
	assert_true(latch_is_loopback("https://localhost/oauth/token"));
	assert_true(latch_is_loopback("https://[::1]:99/"));
	assert_false(latch_is_loopback("https://localhost.evil.example/"));
	assert_false(latch_is_loopback("https://127.0.0.1.evil.example/"));
	assert_false(latch_is_loopback("https://127.0.0.1@evil.example/"));
	assert_false(latch_is_loopback("https://evil.example/?127.0.0.1"));
	assert_false(latch_is_loopback("https://partner-api.example.com/v1"));
	assert_false(latch_is_loopback("not a url"));
}

/* The cap of full jitter after ATTEMPT tries, computed from the rule. */
static double jitter_cap(int attempt)
{
	double cap = LATCH_BACKOFF_BASE;

	for (int i = 1; i < attempt; i++)
		cap = cap * 2 > LATCH_BACKOFF_CEILING ? LATCH_BACKOFF_CEILING : cap * 2;
	return cap;
}

static void backoff_is_full_jitter_doubling_to_a_ceiling(void **state)
{
	(void)state;
	srandom(17);
	for (int attempt = 1; attempt <= 20; attempt++) {
		double cap = jitter_cap(attempt), lo = cap, hi = 0, sum = 0;

		for (int i = 0; i < 4000; i++) {
			double w = latch_backoff(attempt, -1);

			assert_true(w >= 0 && w <= cap);
			lo = w < lo ? w : lo;
			hi = w > hi ? w : hi;
			sum += w;
		}
		/* the whole range, uniformly: not a fixed wait nor "equal jitter" */
		assert_true(lo < cap * 0.01);
		assert_true(hi > cap * 0.99);
		assert_true(sum / 4000 > cap * 0.45 && sum / 4000 < cap * 0.55);
	}
	assert_true(jitter_cap(1) == LATCH_BACKOFF_BASE);
	assert_true(jitter_cap(20) == LATCH_BACKOFF_CEILING);
	/* no overflow for absurd attempt counts, and never below the first cap */
	for (int i = 0; i < 100; i++) {
		assert_true(latch_backoff(INT_MAX, -1) <= LATCH_BACKOFF_CEILING);
		assert_true(latch_backoff(0, -1) <= LATCH_BACKOFF_BASE);
	}
}

static void backoff_honours_retry_after_up_to_its_cap(void **state)
{
	(void)state;
	assert_true(latch_backoff(1, 0) == 0.0);
	assert_true(latch_backoff(1, 7) == 7.0);
	/* Retry-After rules whatever the attempt: not shortened by jitter */
	assert_true(latch_backoff(12, 2) == 2.0);
	assert_true(latch_backoff(1, LATCH_MAX_RETRY_AFTER) == LATCH_MAX_RETRY_AFTER);
	assert_true(latch_backoff(1, LATCH_MAX_RETRY_AFTER + 1) == LATCH_MAX_RETRY_AFTER);
	assert_true(latch_backoff(3, LONG_MAX) == LATCH_MAX_RETRY_AFTER);
}

static volatile sig_atomic_t alarms, stop_at_alarm, stop_flag;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
	if (stop_at_alarm && alarms >= stop_at_alarm)
		stop_flag = 1;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_sleeps_in_full_through_signals_unless_stopped(void **state)
{
	struct itimerval every = { { 0, 150000 }, { 0, 150000 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	struct latch l;
	double t;

	(void)state;
	memset(&l, 0, sizeof(l));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	/* a signal every 0.15 s interrupts the sleep: it still lasts 1.5 s */
	setitimer(ITIMER_REAL, &every, NULL);
	t = mono();
	assert_int_equal(latch_pause(&l, 1.5), 0);
	assert_true(mono() - t >= 1.5);
	assert_true(alarms >= 5);
	/* a stop flag set during a long pause ends it at once */
	l.stop = &stop_flag;
	alarms = 0;
	stop_at_alarm = 2;
	t = mono();
	assert_int_equal(latch_pause(&l, 30), -1);
	assert_true(mono() - t < 1.0);
	setitimer(ITIMER_REAL, &off, NULL);
	/* and one already set does not sleep at all */
	t = mono();
	assert_int_equal(latch_pause(&l, 5), -1);
	assert_true(mono() - t < 0.2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(user_match_finds_the_user_by_email_in_any_case),
		cmocka_unit_test(user_match_refuses_what_is_not_the_contract),
		cmocka_unit_test(user_match_reads_only_len_bytes),
		cmocka_unit_test(phone_digits_keeps_only_the_digits),
		cmocka_unit_test(user_phone_match_compares_digits_only),
		cmocka_unit_test(user_phone_match_refuses_two_users_and_bad_replies),
		cmocka_unit_test(user_uuid_and_assigned_by_need_valid_ids),
		cmocka_unit_test(id_valid_takes_printable_ascii_without_blanks),
		cmocka_unit_test(token_is_printable_and_its_lifetime_clamped),
		cmocka_unit_test(error_code_is_printable),
		cmocka_unit_test(reply_check_takes_only_the_contract),
		cmocka_unit_test(reply_take_gives_the_body_it_parsed),
		cmocka_unit_test(retry_after_takes_seconds_or_a_date),
		cmocka_unit_test(excerpt_is_short_printable_utf8),
		cmocka_unit_test(loopback_is_the_host_not_a_prefix),
		cmocka_unit_test(backoff_is_full_jitter_doubling_to_a_ceiling),
		cmocka_unit_test(backoff_honours_retry_after_up_to_its_cap),
		cmocka_unit_test(pause_sleeps_in_full_through_signals_unless_stopped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
