/*
 * latch.h - a client for the Latch partner API contract (DESIGN.md §9),
 * over libcurl.
 *
 * Conventions follow Latch/DOOR's public partner API: JSON over HTTPS,
 * /v1 paths, a partner token from an OAuth2 client-credentials endpoint
 * (RFC 6749 §4.4) sent as "Authorization: Bearer" (RFC 6750), errors as
 * {"message":"CODE"}.  Tokens are cached until 30 s before they expire
 * and fetched again once when a request comes back 403 (expired token).
 *
 * TLS peer and host verification are always on, except for a loopback
 * host (the simulator).  The client secret is held in memory only, sent
 * only in the token request body, and never logged.
 */
#ifndef UNITSYNC_LATCH_H
#define UNITSYNC_LATCH_H

#include <stddef.h>
#include <time.h>

struct config;

/* Largest reply body kept; longer replies are cut and flagged. */
#define LATCH_MAX_BODY (1024 * 1024)

struct latch {
	void *curl;               /* CURL *, owned, reused for keep-alive */
	const struct config *cfg; /* borrowed: URLs and credentials */
	char *token;              /* current access token, owned */
	time_t token_expiry;      /* when to fetch a new one */
	long timeout_ms;          /* per request, connect included */
	long requests;            /* requests sent, tokens included */
	int auth_failed;          /* the token endpoint refused the credentials */
	long token_generation;    /* counts tokens fetched, to spot a stale 403 */
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
 * JSON BODY and Idempotency-Key.  Returns 0 when an HTTP reply came (any
 * status: look at resp->status), -1 when none came (resp->curl_error,
 * resp->error) or the token could not be had (err_set()).  Free RESP with
 * latch_resp_free() in every case.
 */
int latch_request(struct latch *l, const char *method, const char *path, const char *body,
		  const char *idempotency_key, struct latch_resp *resp);

void latch_resp_free(struct latch_resp *resp);

/* A valid token, fetched when missing or about to expire; -1 with err_set()
 * (l->auth_failed tells refused credentials from an unreachable endpoint). */
int latch_token(struct latch *l);

/* A reply said 403 to a call carrying token GENERATION: fetch a new token
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

/* Is this outcome worth retrying (DESIGN.md §8)? Connect errors,
 * timeouts, 408, 425, 429, 500, 502, 503, 504. */
int latch_retryable(const struct latch_resp *resp);

/* The "message" code of an error body, or "" (pointer into a static buffer). */
const char *latch_error_code(const struct latch_resp *resp);

/* Percent-encode S for a query string (malloc'd). */
char *latch_escape(struct latch *l, const char *s);

#endif
