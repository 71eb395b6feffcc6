/*
 * fuzz_latch_reply - every parser of Latch reply bodies (lib/latch.h),
 * which is all load does with a reply: the user lookup (match by e-mail),
 * the userUuid of a created user, the assignedBy of an assignment, the
 * token endpoint's reply, the error code, the Retry-After value and the
 * excerpt kept in the journal and load-report.csv.
 *
 * Input: the e-mail to look for, a newline, then the reply body.  Checks
 * beyond "no crash": an id a parser returns is valid (latch_id_valid());
 * an excerpt is NUL-terminated within its size, holds no control
 * character and is valid UTF-8.
 */
#include "fuzz.h"
#include "latch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_id(int rc, const char *id, const char *what)
{
	if (rc == 0 && !latch_id_valid(id)) {
		fprintf(stderr, "fuzz_latch_reply: %s returned an invalid id\n", what);
		abort();
	}
}

/* Is S (LEN bytes) valid UTF-8 without control characters? */
static int clean_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t k = p[i] < 0x80 ? 1 : p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;

		if (p[i] < 0x20 || p[i] == 0x7f || (p[i] >= 0x80 && p[i] < 0xc2) || i + k > len)
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

static void check_excerpt(const struct latch_resp *r, size_t size)
{
	char out[600];

	memset(out, 'X', sizeof(out));
	latch_reply_excerpt(r, out, size);
	if (!memchr(out, '\0', size) || out[size] != 'X') {
		fprintf(stderr, "fuzz_latch_reply: excerpt overran %zu bytes\n", size);
		abort();
	}
	if (!clean_text(out, strlen(out))) {
		fprintf(stderr, "fuzz_latch_reply: excerpt is not clean text\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size < 320 ? size : 320);
	size_t elen = nl ? (size_t)(nl - data) : 0;
	char email[320], id[LATCH_MAX_ID + 1], small[8], *token = NULL;
	struct latch_resp r = { 0 };
	long ttl;
	int rc;

	memcpy(email, data, elen);
	email[elen] = '\0';
	data += nl ? elen + 1 : 0;
	size -= nl ? elen + 1 : 0;
	/* the body as latch.c keeps it: NUL-terminated, LEN bytes (NULs inside) */
	r.body = malloc(size + 1);
	if (!r.body)
		abort();
	memcpy(r.body, data, size);
	r.body[size] = '\0';
	r.len = size;
	r.status = 200;

	rc = latch_parse_user_match(r.body, r.len, email, id, sizeof(id));
	check_id(rc, id, "latch_parse_user_match");
	rc = latch_parse_user_uuid(r.body, r.len, id, sizeof(id));
	check_id(rc, id, "latch_parse_user_uuid");
	rc = latch_parse_assigned_by(r.body, r.len, id, sizeof(id));
	check_id(rc, id, "latch_parse_assigned_by");
	/* an id buffer too small for the id is refused, not overrun */
	latch_parse_user_uuid(r.body, r.len, small, sizeof(small));
	if (latch_parse_token(r.body, r.len, &token, &ttl) == 0) {
		if (!token || ttl < LATCH_MIN_TTL || ttl > LATCH_MAX_TTL ||
		    strlen(token) > LATCH_MAX_TOKEN || strpbrk(token, "\r\n ")) {
			fprintf(stderr, "fuzz_latch_reply: a bad token was accepted\n");
			abort();
		}
		free(token);
	}
	for (const char *c = latch_error_code(&r); *c; c++)
		if (*c < 0x20 || *c > 0x7e) {
			fprintf(stderr, "fuzz_latch_reply: error code holds a control character\n");
			abort();
		}
	latch_parse_retry_after(r.body, 1700000000);
	check_excerpt(&r, 1);
	check_excerpt(&r, 7);
	check_excerpt(&r, 64);
	check_excerpt(&r, 512);
	r.truncated = 1;
	check_excerpt(&r, 40);
	check_excerpt(&r, 512);
	free(r.body);
	return 0;
}
