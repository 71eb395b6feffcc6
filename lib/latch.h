/*
 * latch.h - a client for the Latch partner API contract (docs/ARCHITECTURE.md §9),
 * over libcurl.
 *
 * Conventions follow Latch/DOOR's public partner API: JSON over HTTPS,
 * /v1 paths, a partner token from an OAuth2 client-credentials endpoint
 * (RFC 6749 §4.4) sent as "Authorization: Bearer" (RFC 6750), errors as
 * {"message":"CODE"}.  Tokens are cached until 30 s before they expire
 * and fetched again once when a request comes back 401 or 403 (a token
 * expired or forgotten); the same answer to the fresh token means the
 * credentials are refused (callers exit 78).  A token request answered
 * with a retryable status (429, 503, ...) or not answered is tried again
 * up to max_attempts times, after latch_backoff(): Retry-After honoured,
 * as for every other request.  With deadline set, no
 * exchange, the token's included, lasts past it (the load's --budget).
 *
 * TLS peer and host verification are always on, except for a loopback
 * host (the simulator).  The client secret is held in memory only, sent
 * only in the token request body, and never logged.
 */
#ifndef UNITSYNC_LATCH_H
#define UNITSYNC_LATCH_H

#include <signal.h>
#include <stddef.h>
#include <time.h>

struct config;
struct json_t; /* jansson's json_t */

/*
 * Seconds an exchange in flight may still take once the caller's stop flag
 * is set (SIGTERM): long enough for a reply on its way to land (and be
 * journaled), short enough that a stopped load ends within 5 s however
 * slow the server is.  An exchange cut there has an unknown outcome: the
 * load leaves its row inflight, and the next load sends it again with the
 * same Idempotency-Key.
 */
#define LATCH_STOP_GRACE 2.0

/*
 * Largest reply body read.  A longer reply is not read further: the
 * transfer stops there, the exchange still counts as a reply (its status
 * is kept) and latch_resp.truncated is set, so that callers fail it
 * instead of parsing half a document.  A hostile or broken server cannot
 * make the client hold more than this per request.
 */
#define LATCH_MAX_BODY (1024 * 1024)

/* Longest Latch id (userUuid, assignedBy) accepted from a reply, in bytes. */
#define LATCH_MAX_ID 255

/* Longest access token accepted from the token endpoint, in bytes. */
#define LATCH_MAX_TOKEN 8192

/* Shortest and longest token lifetime believed, in seconds (expires_in
 * outside is clamped; a missing or non-integer one counts as 300). */
#define LATCH_MIN_TTL 1
#define LATCH_MAX_TTL 86400

struct latch {
	void *curl;                  /* CURL *, owned, reused for keep-alive */
	const struct config *cfg;    /* borrowed: URLs and credentials */
	char *token;                 /* current access token, owned */
	time_t token_expiry;         /* when to fetch a new one */
	long timeout_ms;             /* per request, connect included */
	long requests;               /* requests sent, tokens included */
	int auth_failed;             /* the token endpoint refused the credentials */
	long token_generation;       /* counts tokens fetched, to spot a stale 403 */
	double deadline;             /* CLOCK_MONOTONIC seconds no exchange may outlast
				     (the token fetch included); 0: none.  Set by the caller */
	volatile sig_atomic_t *stop; /* borrowed, set by the caller, NULL for none: once
					non-zero (a signal), exchanges end LATCH_STOP_GRACE
					seconds later and no backoff pause goes on */
	double stop_seen; /* CLOCK_MONOTONIC seconds an exchange first saw *stop; 0: not yet */
	int max_attempts; /* tries of one request (the token's too); LATCH_ATTEMPTS by
			     latch_init(), the caller may change it */
	int page_size;    /* the pageSize a listing asks for: config_page_size() of cfg
			     by latch_init() (lib/config.h) */
};

/* One HTTP exchange's outcome. */
struct latch_resp {
	long status;    /* HTTP status; 0 when no reply came */
	int curl_error; /* CURLcode; 0 when a reply came */
	char *body;     /* reply body, NUL-terminated, owned */
	size_t len;
	int truncated;    /* body was longer than LATCH_MAX_BODY */
	long retry_after; /* seconds from Retry-After, -1 when absent */
	char error[256];  /* transport error text */
};

/*
 * One request prepared on a curl easy handle, for curl multi: the caller
 * adds EASY to its multi handle and, when it completes, calls
 * latch_call_finish() with the CURLcode.  Owns its URL, headers (the
 * bearer token among them), body and reply.
 */
struct latch_call {
	char url[4096];
	void *headers;          /* struct curl_slist *, owned */
	char *body;             /* owned copy */
	long token_generation;  /* the token this call carries */
	struct latch_resp resp; /* the outcome, owned */
};

int latch_init(struct latch *l, const struct config *cfg);
void latch_release(struct latch *l);

/*
 * Send METHOD PATH (relative to base_url, starting "/v1") with an optional
 * JSON BODY and Idempotency-Key (a 401 or 403 is sent once more with a
 * fresh token).  Returns 0 when an HTTP reply came (any status: judge it
 * with latch_reply_check()), -1 when none came (resp->curl_error,
 * resp->error) or the token could not be had (err_set()).  Free RESP with
 * latch_resp_free() in every case.
 */
int latch_request(struct latch *l, const char *method, const char *path, const char *body,
		  const char *idempotency_key, struct latch_resp *resp);

void latch_resp_free(struct latch_resp *resp);

/* A valid token, fetched when missing or about to expire; -1 with err_set()
 * (l->auth_failed tells refused credentials from an unreachable endpoint). */
int latch_token(struct latch *l);

/* Is L's token there and not about to expire (latch_token() would not
 * fetch one, a blocking exchange with its retries)? */
int latch_token_valid(const struct latch *l);

/* A reply said 401 or 403 to a call carrying token GENERATION: fetch a new token
 * before the next call (once, however many calls saw it). */
void latch_token_expired(struct latch *l, long generation);

/* Prepare CALL on the curl easy handle EASY (see struct latch_call). */
int latch_call_prepare(struct latch *l, struct latch_call *call, void *easy, const char *method,
		       const char *path, const char *body, const char *idempotency_key);

/* Record a completed call's outcome (CURL_CODE as curl reported it):
 * 0 when an HTTP reply came, -1 when none did (call->resp.error). */
int latch_call_finish(struct latch_call *call, void *easy, int curl_code);

/* Free what CALL owns; it may be prepared again. */
void latch_call_release(struct latch_call *call);

/* Is this outcome worth retrying (unitsync-load(1), Retries)? Connect errors,
 * timeouts, 408, 425, 429, 500, 502, 503, 504. */
int latch_retryable(const struct latch_resp *resp);

/*
 * The one backoff of every retried exchange (issue 17): the token endpoint
 * (latch_token), the units calls (lib/latchunits.h) and load's /v1
 * requests.  Seconds to wait after ATTEMPT tries (1: the first one failed)
 * of a request whose last reply said Retry-After RETRY_AFTER seconds (-1:
 * it said none):
 * - RETRY_AFTER when given, at most LATCH_MAX_RETRY_AFTER (a server asking
 *   for hours is asked again after that; the caller's budget still rules);
 * - else full jitter (AWS Architecture Blog, "Exponential Backoff and
 *   Jitter"): uniform in [0, min(LATCH_BACKOFF_CEILING, LATCH_BACKOFF_BASE
 *   * 2^(ATTEMPT-1))], drawn with random() (the caller seeds it).
 */
#define LATCH_BACKOFF_BASE 0.1
#define LATCH_BACKOFF_CEILING 30.0
#define LATCH_MAX_RETRY_AFTER 300
double latch_backoff(int attempt, long retry_after);

/* Tries of one request before giving up (struct latch's max_attempts
 * unless the caller sets it: load's --max-attempts). */
#define LATCH_ATTEMPTS 8

/*
 * Sleep SECONDS, all of them: a signal that interrupts the sleep does not
 * cut it short (nanosleep resumes with what is left), unless L's stop flag
 * is set, which ends it within 0.1 s.  0 when slept in full, -1 when
 * stopped.
 */
int latch_pause(struct latch *l, double seconds);

/*
 * The replies the contract calls success, one row per request kind
 * (latch_contract[], in lib/latch.c).  Source: Latch's partner API as
 * unitsync uses it (docs/ARCHITECTURE.md §9) and what fixtures/latch-sim answers:
 *
 *   kind                   success                      body of a success
 *   GET  /v1/users?...     200                          object, "users" a list
 *   POST /v1/users         201                          object, "userUuid" an id
 *   PUT  /v1/units/{u}/residents/{user}
 *                          200 (already there), 201     object, "userUuid" the user
 *                          (404 UNIT_NOT_FOUND: no such unit; not success, but
 *                          told apart: LATCH_REPLY_UNIT_MISSING)
 *   DELETE /v1/units/{u}/residents/{user}
 *                          204; 404 RESIDENT_NOT_FOUND  none; an error object
 *                          (already gone)               {"message":"RESIDENT_NOT_FOUND"}
 *   GET  /v1/buildings/{b}/units
 *                          200                          object, "units" a list
 *   POST /v1/buildings/{b}/units
 *                          201                          object, "uuid" an id
 *   GET  /v1/units/{u}/residents
 *                          200                          object, "residents" a list
 *   GET  /v1/users/{user}  200                          object, "userUuid" an id
 *
 * Anything else is not success, whatever it says: a 200 to a DELETE (an
 * HTML page, an error object, half a document), a 404 NOT_FOUND from a
 * misrouted base URL, a PUT answered with something that is not the
 * resident.  A wrong "done" would leave a former tenant with a key.
 *
 * One failure is told apart from the others, since an operator fixes it
 * differently: a PUT answered 404 with the error code UNIT_NOT_FOUND (the
 * code is what separates it from USER_NOT_FOUND and from a misrouted
 * base URL's NOT_FOUND) means Latch has no such unit: the mapping names
 * a unit that does not exist (load reports latch_unit_missing).
 */
enum latch_kind {
	LATCH_USERS_FIND,      /* GET /v1/users?email= or ?phone= */
	LATCH_USER_CREATE,     /* POST /v1/users */
	LATCH_RESIDENT_PUT,    /* PUT /v1/units/{u}/residents/{user} */
	LATCH_RESIDENT_DELETE, /* DELETE /v1/units/{u}/residents/{user} */
	LATCH_UNITS_LIST,      /* GET /v1/buildings/{b}/units */
	LATCH_UNIT_CREATE,     /* POST /v1/buildings/{b}/units */
	LATCH_RESIDENTS_LIST,  /* GET /v1/units/{u}/residents (reconcile) */
	LATCH_USER_GET,        /* GET /v1/users/{user} (reconcile; load: a replayed user) */
	LATCH_N_KINDS
};

/* What a reply is, judged by latch_reply_check(). */
enum latch_verdict {
	LATCH_REPLY_OK,      /* success, status and body as the contract says */
	LATCH_REPLY_ALREADY, /* success: the effect was already there (DELETE 404 RESIDENT_NOT_FOUND) */
	LATCH_REPLY_RETRY,        /* no reply, or a status worth retrying (latch_retryable) */
	LATCH_REPLY_AUTH,         /* 401 or 403: the credentials (or the token) were refused */
	LATCH_REPLY_ERROR,        /* another status: the request was refused as sent */
	LATCH_REPLY_BAD,          /* a success status whose body is off the contract */
	LATCH_REPLY_UNIT_MISSING, /* refused: the request's unit does not exist (PUT 404
				   * UNIT_NOT_FOUND) */
};

/*
 * Judge RESP, the reply to a request of KIND.  WANT_ID, when not NULL, is
 * the id the success body's id member must equal (the user of a PUT).
 * Anything but LATCH_REPLY_OK and LATCH_REPLY_ALREADY comes with err_set():
 * the status and what was wrong ("answered 200, expected 204 or 404
 * RESIDENT_NOT_FOUND: <excerpt>", "malformed reply: ... (HTTP 201): <excerpt>"),
 * printable, at most about 500 bytes; the caller prefixes the request.
 */
enum latch_verdict latch_reply_check(enum latch_kind kind, const struct latch_resp *resp,
				     const char *want_id);

/*
 * latch_reply_check(), and the success body it parsed: with LATCH_REPLY_OK
 * for a request whose success carries a body (an id or a list), *BODY is
 * that JSON object (a new reference, the caller's to json_decref()); else
 * NULL.  For a caller that reads the body next (a page of a listing), so
 * that it is parsed once, not twice.
 */
enum latch_verdict latch_reply_take(enum latch_kind kind, const struct latch_resp *resp,
				    const char *want_id, struct json_t **body);

/* The request of KIND as the contract names it ("DELETE /v1/units/{u}/residents/{user}"). */
const char *latch_kind_name(enum latch_kind kind);

/* The "message" code of an error body, or "" (pointer into a static
 * buffer of the calling thread's own, valid until its next call);
 * bytes outside printable ASCII are shown as '?'. */
const char *latch_error_code(const struct latch_resp *resp);

/*
 * Reply parsers.  Every reply is untrusted input: a body that is not
 * JSON, has the wrong shape or types, or holds an id that is not an id
 * (latch_id_valid()) makes the parser return -1 with err_set() saying
 * what was wrong; none of them crashes, reads past LEN, or keeps a
 * pointer into BODY.  BODY is LEN bytes (a NUL inside fails the parse).
 */

/* BODY (LEN bytes) as a JSON object, duplicate keys refused: owned by the
 * caller (json_decref), or NULL. */
struct json_t *latch_parse_object(const char *body, size_t len);

/* V, a member WHAT of a reply, as an id (latch_id_valid) into OUT (SIZE
 * bytes): 0, or -1 when it is missing or not an id. */
int latch_take_id(const struct json_t *v, const char *what, char *out, size_t size);

/* Is S an id a reply may carry: 1 to LATCH_MAX_ID bytes of printable
 * ASCII, no blank (they go into URL paths, the journal and reports)? */
int latch_id_valid(const char *s);

/*
 * GET /v1/users?email= reply {"users":[{"userUuid","email",...}],...}:
 * the userUuid of the user whose e-mail is EMAIL (ASCII case-insensitive)
 * into OUT (SIZE > LATCH_MAX_ID).  0 found; 1 no user has it; -1 the body
 * is malformed, the matching user has no valid userUuid, or two users
 * have the e-mail (never guess which one is the resident's).
 */
int latch_parse_user_match(const char *body, size_t len, const char *email, char *out, size_t size);

/*
 * The digits of PHONE into OUT (SIZE bytes), everything else left out:
 * how unitsync compares phone numbers and what it sends as ?phone= (issue
 * 15, item 10: "+1 (555) 010-0000" is "15550100000"; no country code is
 * added or removed, so "(555) 010-0000" is another number).  Returns the
 * number of digits (0: PHONE has none), or -1 with err_set() when they do
 * not fit in OUT.
 */
int latch_phone_digits(const char *phone, char *out, size_t size);

/* A buffer for latch_phone_digits(): phone numbers of up to 127 digits
 * (E.164 allows 15; a longer one fails its row rather than being cut). */
#define LATCH_PHONE_SIZE 128

/*
 * GET /v1/users?phone= reply, shaped as for ?email=: the userUuid of the
 * user whose "phone" has the digits of PHONE (latch_phone_digits) into OUT
 * (SIZE > LATCH_MAX_ID).  0 found; 1 no user has it (a PHONE without
 * digits matches nobody); -1 the body is malformed, the matching user has
 * no valid userUuid, or two users have the phone (never guess which one
 * is the resident's).
 */
int latch_parse_user_phone_match(const char *body, size_t len, const char *phone, char *out,
				 size_t size);

/* POST /v1/users reply {"userUuid",...}: 0 with OUT set, or -1. */
int latch_parse_user_uuid(const char *body, size_t len, char *out, size_t size);

/* PUT /v1/units/{u}/residents/{user} reply {"userUuid","assignedBy"}:
 * 0 with OUT set to who made the assignment, or -1. */
int latch_parse_assigned_by(const char *body, size_t len, char *out, size_t size);

/*
 * Token endpoint reply {"access_token","expires_in",...}: 0 with *TOKEN
 * (malloc'd: the caller wipes and frees it) and *TTL (seconds, clamped to
 * LATCH_MIN_TTL..LATCH_MAX_TTL), or -1.  A token must be 1 to
 * LATCH_MAX_TOKEN bytes of printable ASCII: it goes into a header line.
 */
int latch_parse_token(const char *body, size_t len, char **token, long *ttl);

/*
 * Retry-After (RFC 9110 §10.2.3) header VALUE: delay-seconds or an
 * HTTP-date, as seconds from NOW; -1 when it is neither.
 */
long latch_parse_retry_after(const char *value, time_t now);

/*
 * A short, printable excerpt of RESP's body for logs, the journal and
 * load-report.csv: at most SIZE - 1 bytes, control characters and bytes
 * that are not UTF-8 shown as \xHH, cut on a character boundary, with
 * "..." when cut and " (reply over LATCH_MAX_BODY, not read)" when the
 * body was truncated.
 */
void latch_reply_excerpt(const struct latch_resp *resp, char *out, size_t size);

/* Is URL's host the loopback interface (localhost, 127.0.0.0/8, [::1])?
 * Only there is TLS verification off (self-signed simulator). */
int latch_is_loopback(const char *url);

/* Percent-encode S for a query string (malloc'd). */
char *latch_escape(struct latch *l, const char *s);

#endif
