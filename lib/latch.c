#include "latch.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "log.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int curl_ready;

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds left before l->deadline (LONG_MAX without one; 0 when spent). */
static long ms_left(const struct latch *l)
{
	double left;

	if (l->deadline <= 0)
		return LONG_MAX;
	left = (l->deadline - mono_now()) * 1000;
	return left <= 0 ? 0 : left > (double)LONG_MAX ? LONG_MAX : (long)left;
}

int latch_init(struct latch *l, const struct config *cfg)
{
	memset(l, 0, sizeof(*l));
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			err_set("cannot initialise libcurl");
			return -1;
		}
		curl_ready = 1;
	}
	l->cfg = cfg;
	l->timeout_ms = 30000;
	l->max_attempts = LATCH_ATTEMPTS;
	l->page_size = config_page_size(cfg);
	l->curl = curl_easy_init();
	if (!l->curl) {
		err_set("cannot initialise libcurl");
		return -1;
	}
	return 0;
}

void latch_release(struct latch *l)
{
	if (l->curl)
		curl_easy_cleanup(l->curl);
	if (l->token) {
		memset(l->token, 0, strlen(l->token));
		free(l->token);
	}
	memset(l, 0, sizeof(*l));
}

void latch_resp_free(struct latch_resp *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

/*
 * Keep at most LATCH_MAX_BODY bytes; past that, flag the reply truncated
 * and stop the transfer (returning less than was handed in makes curl
 * end it with CURLE_WRITE_ERROR, which finish() takes as a reply).
 */
static size_t on_body(char *data, size_t size, size_t n, void *vr)
{
	struct latch_resp *r = vr;
	size_t len = size * n, keep = len;
	char *b;

	if (r->truncated)
		return 0;
	if (keep > LATCH_MAX_BODY - r->len) {
		keep = LATCH_MAX_BODY - r->len;
		r->truncated = 1;
	}
	b = realloc(r->body, r->len + keep + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, data, keep);
	r->len += keep;
	b[r->len] = '\0';
	r->body = b;
	return r->truncated ? 0 : len;
}

long latch_parse_retry_after(const char *value, time_t now)
{
	char v[128], *p = v, *end;
	long secs;
	time_t when;

	snprintf(v, sizeof(v), "%s", value);
	while (*p == ' ' || *p == '\t')
		p++;
	p[strcspn(p, "\r\n")] = '\0';
	for (size_t k = strlen(p); k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'); k--)
		p[k - 1] = '\0';
	if (!*p)
		return -1;
	if (*p >= '0' && *p <= '9') {
		errno = 0;
		secs = strtol(p, &end, 10);
		if (*end)
			return -1;
		return errno == ERANGE ? LONG_MAX : secs;
	}
	when = curl_getdate(p, NULL);
	if (when <= 0)
		return -1;
	return when > now ? (long)(when - now) : 0;
}

/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
static size_t on_header(char *data, size_t size, size_t n, void *vr)
{
	struct latch_resp *r = vr;
	size_t len = size * n;

	if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		char v[128];
		size_t k = len - 12 < sizeof(v) - 1 ? len - 12 : sizeof(v) - 1;
		long secs;

		memcpy(v, data + 12, k);
		v[k] = '\0';
		secs = latch_parse_retry_after(v, time(NULL));
		if (secs >= 0)
			r->retry_after = secs;
	}
	return len;
}

/*
 * Loopback hosts may use self-signed certificates (the simulator).  The
 * host is read by curl's own URL parser, the one that connects, so that
 * "https://127.0.0.1@evil.example/" or "https://localhost.evil.example/"
 * keep verification on.
 */
int latch_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	struct in_addr a;
	int yes = 0;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		yes = !strcasecmp(host, "localhost") || !strcmp(host, "[::1]") ||
		      (inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127);
	curl_free(host);
	curl_url_cleanup(u);
	return yes;
}

/* Has the caller's stop flag been set for LATCH_STOP_GRACE seconds? */
static int stop_due(struct latch *l)
{
	if (!l->stop || !*l->stop)
		return 0;
	if (l->stop_seen <= 0)
		l->stop_seen = mono_now();
	return mono_now() - l->stop_seen >= LATCH_STOP_GRACE;
}

/* curl's progress callback (at least once a second, even when idle): a
 * non-zero return ends the exchange (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *vl, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stop_due(vl);
}

/*
 * Set EASY up for one exchange: METHOD URL with BODY and HEADERS, the
 * reply going into RESP.  Shared by blocking calls and curl multi.
 */
static void setup(struct latch *l, CURL *c, const char *method, const char *url, const char *body,
		  struct curl_slist *headers, struct latch_resp *resp)
{
	int verify;
	long timeout = l->timeout_ms, left = ms_left(l);

	/* no exchange outlasts the caller's budget (0 would mean no limit) */
	if (left < timeout)
		timeout = left > 0 ? left : 1;
	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (!strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, l);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "unitsync/" UNITSYNC_VERSION);
	verify = !latch_is_loopback(url);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	l->requests++;
}

/* Record how an exchange ended (CC from curl) into RESP. */
static int finish(CURL *c, CURLcode cc, struct latch_resp *resp)
{
	/* a body cut at LATCH_MAX_BODY (on_body) is a reply, flagged truncated */
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && resp->truncated)) {
		resp->curl_error = (int)cc;
		snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(cc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body)
		resp->body = calloc(1, 1);
	return 0;
}

/* One blocking exchange without token handling. */
static int exchange(struct latch *l, const char *method, const char *url, const char *body,
		    struct curl_slist *headers, struct latch_resp *resp)
{
	setup(l, l->curl, method, url, body, headers, resp);
	return finish(l->curl, curl_easy_perform(l->curl), resp);
}

/* Fetch a token by client credentials (RFC 6749 §4.4). */
static int fetch_token(struct latch *l)
{
	const struct config *cfg = l->cfg;
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct latch_resp resp;
	json_t *req = NULL;
	char *body = NULL;
	int rc = -1;

	req = json_pack("{s:s, s:s, s:s, s:s}", "client_id", cfg->client_id, "client_secret",
			cfg->client_secret, "audience", cfg->audience ? cfg->audience : "",
			"grant_type", "client_credentials");
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body) {
		err_set("out of memory");
		goto out;
	}
	memset(&resp, 0, sizeof(resp));
	/* a 429 or 503 says when to come back: the same backoff as every request */
	for (int attempt = 1;; attempt++) {
		double wait;

		if (ms_left(l) == 0)
			break;
		if (exchange(l, "POST", cfg->token_url, body, h, &resp) == 0 &&
		    !latch_retryable(&resp))
			break;
		wait = latch_backoff(attempt, resp.retry_after);
		/* out of tries, or a pause that would end past the budget */
		if (attempt >= l->max_attempts || (double)ms_left(l) <= wait * 1000)
			break;
		if (resp.status)
			log_warn("token endpoint '%s' answered %ld %s; trying again in %.1f s",
				 cfg->token_url, resp.status, latch_error_code(&resp), wait);
		else
			log_warn("token endpoint '%s': no reply (%s); trying again in %.1f s",
				 cfg->token_url, resp.error, wait);
		latch_resp_free(&resp);
		if (latch_pause(l, wait) < 0) {
			err_set("token endpoint '%s': stopped by a signal", cfg->token_url);
			goto out;
		}
	}
	if (resp.status != 200 && ms_left(l) == 0 && !resp.status) {
		err_set("token endpoint '%s': no answer within the load's budget", cfg->token_url);
		latch_resp_free(&resp);
		goto out;
	}
	if (resp.status != 200) {
		/* refused credentials are a configuration error, not a bad night */
		l->auth_failed = resp.status == 400 || resp.status == 401 || resp.status == 403;
		if (resp.status)
			err_set("token endpoint '%s' answered %ld %s", cfg->token_url, resp.status,
				latch_error_code(&resp));
		else
			err_set("token endpoint '%s' unreachable", cfg->token_url);
		latch_resp_free(&resp);
		goto out;
	}
	{
		char *token = NULL;
		long ttl;

		if (resp.truncated || latch_parse_token(resp.body, resp.len, &token, &ttl) < 0) {
			err_set("token endpoint '%s' sent no usable access_token: %s",
				cfg->token_url, resp.truncated ? "reply too long" : err_msg());
			latch_resp_free(&resp);
			goto out;
		}
		latch_resp_free(&resp);
		if (l->token) {
			memset(l->token, 0, strlen(l->token));
			free(l->token);
		}
		l->token = token;
		l->token_generation++;
		l->token_expiry = time(NULL) + (ttl > 60 ? ttl - 30 : ttl / 2);
	}
	rc = l->token ? 0 : -1;
out:
	if (body) {
		memset(body, 0, strlen(body));
		free(body);
	}
	json_decref(req);
	curl_slist_free_all(h);
	return rc;
}

int latch_token_valid(const struct latch *l)
{
	return l->token && time(NULL) < l->token_expiry;
}

int latch_token(struct latch *l)
{
	if (latch_token_valid(l))
		return 0;
	return fetch_token(l);
}

void latch_token_expired(struct latch *l, long generation)
{
	/* only the first reply that saw this token expire throws it away */
	if (generation == l->token_generation)
		l->token_expiry = 0;
}

int latch_call_prepare(struct latch *l, struct latch_call *call, void *easy, const char *method,
		       const char *path, const char *body, const char *idempotency_key)
{
	static const char bearer[] = "Authorization: Bearer ";
	char *auth, idem[160];
	size_t auth_size;

	latch_call_release(call);
	if (latch_token(l) < 0)
		return -1;
	if ((size_t)snprintf(call->url, sizeof(call->url), "%s%s", l->cfg->base_url, path) >=
	    sizeof(call->url)) {
		err_set("request URL longer than %zu bytes", sizeof(call->url) - 1);
		return -1;
	}
	call->token_generation = l->token_generation;
	/* the token was checked to be printable ASCII: it cannot end the header line */
	auth_size = sizeof(bearer) + strlen(l->token);
	auth = malloc(auth_size);
	if (!auth) {
		err_set("out of memory");
		return -1;
	}
	snprintf(auth, auth_size, "%s%s", bearer, l->token);
	call->headers = curl_slist_append(call->headers, auth);
	memset(auth, 0, auth_size);
	free(auth);
	call->headers = curl_slist_append(call->headers, "Accept: application/json");
	if (body) {
		call->headers = curl_slist_append(call->headers, "Content-Type: application/json");
		call->body = strdup(body);
	}
	if (idempotency_key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idempotency_key);
		call->headers = curl_slist_append(call->headers, idem);
	}
	if (!call->headers || (body && !call->body)) {
		err_set("out of memory");
		return -1;
	}
	setup(l, easy, method, call->url, call->body, call->headers, &call->resp);
	return 0;
}

int latch_call_finish(struct latch_call *call, void *easy, int curl_code)
{
	return finish(easy, (CURLcode)curl_code, &call->resp);
}

void latch_call_release(struct latch_call *call)
{
	curl_slist_free_all(call->headers);
	call->headers = NULL;
	free(call->body);
	call->body = NULL;
	latch_resp_free(&call->resp);
}

int latch_request(struct latch *l, const char *method, const char *path, const char *body,
		  const char *idempotency_key, struct latch_resp *resp)
{
	struct latch_call call = { 0 };
	int rc = -1;

	memset(resp, 0, sizeof(*resp));
	for (int round = 0; round < 2; round++) {
		if (latch_call_prepare(l, &call, l->curl, method, path, body, idempotency_key) < 0)
			goto out;
		rc = latch_call_finish(&call, l->curl, curl_easy_perform(l->curl));
		/* 401 or 403: the token expired early or was forgotten; a new one, once */
		if (rc < 0 || (call.resp.status != 401 && call.resp.status != 403))
			break;
		latch_token_expired(l, call.token_generation);
	}
	*resp = call.resp;
	memset(&call.resp, 0, sizeof(call.resp));
out:
	latch_call_release(&call);
	return rc;
}

double latch_backoff(int attempt, long retry_after)
{
	double cap = LATCH_BACKOFF_BASE;

	if (retry_after >= 0)
		return retry_after > LATCH_MAX_RETRY_AFTER ? LATCH_MAX_RETRY_AFTER
							   : (double)retry_after;
	for (int i = 1; i < attempt && cap < LATCH_BACKOFF_CEILING; i++)
		cap *= 2;
	if (cap > LATCH_BACKOFF_CEILING)
		cap = LATCH_BACKOFF_CEILING;
	return cap * ((double)random() / RAND_MAX);
}

int latch_pause(struct latch *l, double seconds)
{
	double end = mono_now() + seconds, left;

	/* in steps of at most 0.1 s, so that a stop is seen at once; a signal
	 * that interrupts a step does not shorten the whole */
	while ((left = end - mono_now()) > 0) {
		struct timespec ts;

		if (l->stop && *l->stop)
			return -1;
		if (left > 0.1)
			left = 0.1;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
	return l->stop && *l->stop ? -1 : 0;
}

int latch_retryable(const struct latch_resp *r)
{
	if (r->status == 0)
		return 1;
	switch (r->status) {
	case 408:
	case 425:
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return 1;
	default:
		return 0;
	}
}

/* Parse LEN bytes of BODY as JSON; NULL with err_set() when it is not. */
static json_t *parse_json(const char *body, size_t len)
{
	json_error_t je;
	json_t *j;

	if (!body) {
		err_set("empty reply");
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		err_set("reply is not JSON (byte %d: %s)", je.position, je.text);
	return j;
}

json_t *latch_parse_object(const char *body, size_t len)
{
	json_t *j = parse_json(body, len);

	if (j && !json_is_object(j)) {
		err_set("reply is not a JSON object");
		json_decref(j);
		j = NULL;
	}
	return j;
}

const char *latch_error_code(const struct latch_resp *r)
{
	static _Thread_local char code[128]; /* load's building listers call it at once */
	json_t *j = r->body && !r->truncated ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	json_t *m = json_object_get(j, "message");

	snprintf(code, sizeof(code), "%s", json_is_string(m) ? json_string_value(m) : "");
	for (char *p = code; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	json_decref(j);
	return code;
}

/* What the body of a success must be. */
enum contract_body {
	BODY_NONE, /* nothing (204) */
	BODY_ID,   /* a JSON object whose member is an id */
	BODY_LIST, /* a JSON object whose member is a list */
};

/*
 * The one table of expected replies (lib/latch.h lists it, with its
 * source): per request kind, the statuses that mean success and what
 * their body must be, and the one error reply that means "already so".
 */
static const struct contract {
	const char *name;         /* the request, as unitsync-load(1) writes it */
	long ok[2];               /* success statuses (0: unused) */
	enum contract_body body;  /* what a success carries */
	const char *member;       /* the id or list member of that body */
	long already;             /* a status that means the effect is already there (0: none) */
	const char *already_code; /* ... when its error object's "message" is this */
	const char *missing_code; /* the 404 code that means the request's unit does not
				   * exist (NULL: none) */
} latch_contract[LATCH_N_KINDS] = {
	[LATCH_USERS_FIND] = { "GET /v1/users", { 200, 0 }, BODY_LIST, "users", 0, NULL },
	[LATCH_USER_CREATE] = { "POST /v1/users", { 201, 0 }, BODY_ID, "userUuid", 0, NULL },
	[LATCH_RESIDENT_PUT] = { "PUT /v1/units/{u}/residents/{user}",
				 { 200, 201 },
				 BODY_ID,
				 "userUuid",
				 0,
				 NULL,
				 "UNIT_NOT_FOUND" },
	[LATCH_RESIDENT_DELETE] = { "DELETE /v1/units/{u}/residents/{user}",
				    { 204, 0 },
				    BODY_NONE,
				    NULL,
				    404,
				    "RESIDENT_NOT_FOUND" },
	[LATCH_UNITS_LIST] = { "GET /v1/buildings/{b}/units",
			       { 200, 0 },
			       BODY_LIST,
			       "units",
			       0,
			       NULL },
	[LATCH_UNIT_CREATE] = { "POST /v1/buildings/{b}/units",
				{ 201, 0 },
				BODY_ID,
				"uuid",
				0,
				NULL },
	[LATCH_RESIDENTS_LIST] = { "GET /v1/units/{u}/residents",
				   { 200, 0 },
				   BODY_LIST,
				   "residents",
				   0,
				   NULL },
	[LATCH_USER_GET] = { "GET /v1/users/{user}", { 200, 0 }, BODY_ID, "userUuid", 0, NULL },
};

const char *latch_kind_name(enum latch_kind kind)
{
	return kind < LATCH_N_KINDS ? latch_contract[kind].name : "?";
}

/* "204", "200 or 201", "204 or 404 RESIDENT_NOT_FOUND": what C expects, into OUT. */
static void expected(const struct contract *c, char *out, size_t size)
{
	int n = snprintf(out, size, "%ld", c->ok[0]);

	if (c->ok[1] && n > 0 && (size_t)n < size)
		n += snprintf(out + n, size - (size_t)n, " or %ld", c->ok[1]);
	if (c->already && n > 0 && (size_t)n < size)
		snprintf(out + n, size - (size_t)n, " or %ld %s", c->already, c->already_code);
}

enum latch_verdict latch_reply_check(enum latch_kind kind, const struct latch_resp *resp,
				     const char *want_id)
{
	return latch_reply_take(kind, resp, want_id, NULL);
}

enum latch_verdict latch_reply_take(enum latch_kind kind, const struct latch_resp *resp,
				    const char *want_id, json_t **body)
{
	const struct contract *c;
	char want[96], excerpt[256], why[160] = "";
	enum latch_verdict v = LATCH_REPLY_BAD;
	json_t *j = NULL, *m;
	const char *code, *sep;

	if (body)
		*body = NULL;
	if (kind >= LATCH_N_KINDS) {
		err_set("no contract for request kind %d", (int)kind);
		return LATCH_REPLY_BAD;
	}
	c = &latch_contract[kind];
	expected(c, want, sizeof(want));
	latch_reply_excerpt(resp, excerpt, sizeof(excerpt));
	sep = *excerpt ? ": " : "";
	if (resp->status == 0 || latch_retryable(resp)) {
		if (resp->status)
			err_set("answered %ld %s", resp->status, latch_error_code(resp));
		else
			err_set("no reply (%s)", resp->error);
		return LATCH_REPLY_RETRY;
	}
	if (resp->status == 401 || resp->status == 403) {
		err_set("answered %ld %s: the credentials were refused", resp->status,
			latch_error_code(resp));
		return LATCH_REPLY_AUTH;
	}
	if (resp->truncated) {
		err_set("answered %ld with a reply longer than %d bytes: not read", resp->status,
			LATCH_MAX_BODY);
		return LATCH_REPLY_BAD;
	}
	if (c->missing_code && resp->status == 404 &&
	    !strcmp(latch_error_code(resp), c->missing_code)) {
		err_set("answered 404 %s: Latch has no such unit", c->missing_code);
		return LATCH_REPLY_UNIT_MISSING;
	}
	if (c->already && resp->status == c->already) {
		j = latch_parse_object(resp->body, resp->len);
		m = json_object_get(j, "message");
		if (json_is_string(m) && !strcmp(json_string_value(m), c->already_code)) {
			json_decref(j);
			return LATCH_REPLY_ALREADY;
		}
		code = latch_error_code(resp);
		err_set("answered %ld %s, expected %s (a misrouted base URL?)%s%s", resp->status,
			*code ? code : "without an error code", want, sep, excerpt);
		json_decref(j);
		return LATCH_REPLY_ERROR;
	}
	if (resp->status != c->ok[0] && (!c->ok[1] || resp->status != c->ok[1])) {
		err_set("answered %ld, expected %s%s%s", resp->status, want, sep, excerpt);
		return resp->status >= 200 && resp->status < 300 ? LATCH_REPLY_BAD
								 : LATCH_REPLY_ERROR;
	}
	switch (c->body) {
	case BODY_NONE:
		if (resp->len == 0)
			return LATCH_REPLY_OK;
		snprintf(why, sizeof(why), "a body where none belongs");
		break;
	case BODY_ID:
	case BODY_LIST:
		j = latch_parse_object(resp->body, resp->len);
		if (!j) {
			snprintf(why, sizeof(why), "%s", err_msg());
			break;
		}
		m = json_object_get(j, c->member);
		if (c->body == BODY_LIST) {
			if (json_is_array(m))
				v = LATCH_REPLY_OK;
			else
				snprintf(why, sizeof(why), "reply has no \"%s\" list", c->member);
			break;
		}
		{
			char id[LATCH_MAX_ID + 1];

			if (latch_take_id(m, c->member, id, sizeof(id)) < 0)
				snprintf(why, sizeof(why), "%s", err_msg());
			else if (want_id && strcmp(id, want_id))
				snprintf(why, sizeof(why), "reply's %s is another one's",
					 c->member);
			else
				v = LATCH_REPLY_OK;
		}
		break;
	}
	if (v == LATCH_REPLY_OK && body) {
		*body = j;
		return v;
	}
	json_decref(j);
	if (v != LATCH_REPLY_OK)
		err_set("malformed reply: %s (HTTP %ld)%s%s", why, resp->status, sep, excerpt);
	return v;
}

int latch_id_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++)
		if (s[n] <= 0x20 || s[n] > 0x7e || n >= LATCH_MAX_ID)
			return 0;
	return n > 0;
}

/* Copy id V (a JSON value named WHAT) into OUT, or -1 with err_set(). */
int latch_take_id(const json_t *v, const char *what, char *out, size_t size)
{
	const char *s = json_string_value(v);

	if (!v) {
		err_set("reply has no %s", what);
		return -1;
	}
	if (!s || !latch_id_valid(s) || strlen(s) >= size) {
		err_set("reply's %s is not an id (a string of 1 to %d printable characters)", what,
			LATCH_MAX_ID);
		return -1;
	}
	snprintf(out, size, "%s", s);
	return 0;
}

/* Does a user's FIELD value V match what the caller looks for (WANT)? */
typedef int (*user_same_fn)(const char *v, const char *want);

static int same_email(const char *v, const char *want)
{
	return strcasecmp(v, want) == 0;
}

/* WANT is already digits only (latch_phone_digits) */
static int same_phone(const char *v, const char *want)
{
	char digits[LATCH_PHONE_SIZE];

	return latch_phone_digits(v, digits, sizeof(digits)) > 0 && !strcmp(digits, want);
}

/*
 * The one user of a GET /v1/users reply whose FIELD is SAME as WANT (WHAT
 * names the field in messages): 0 with its userUuid in OUT, 1 none, -1
 * malformed or two users.
 */
static int user_match(const char *body, size_t len, const char *field, const char *what,
		      user_same_fn same, const char *want, char *out, size_t size)
{
	json_t *j = parse_json(body, len), *users, *u;
	size_t i;
	int rc = -1, found = 0;

	out[0] = '\0';
	if (!j)
		return -1;
	users = json_object_get(j, "users");
	if (!json_is_array(users)) {
		err_set("reply has no \"users\" list");
		goto out;
	}
	json_array_foreach(users, i, u)
	{
		const char *v = json_string_value(json_object_get(u, field));

		if (!json_is_object(u)) {
			err_set("reply's users[%zu] is not an object", i);
			goto out;
		}
		if (!v || !same(v, want))
			continue;
		if (found) {
			out[0] = '\0';
			err_set("reply lists two users with the %s", what);
			goto out;
		}
		if (latch_take_id(json_object_get(u, "userUuid"), "userUuid", out, size) < 0)
			goto out;
		found = 1;
	}
	rc = found ? 0 : 1;
out:
	json_decref(j);
	return rc;
}

int latch_parse_user_match(const char *body, size_t len, const char *email, char *out, size_t size)
{
	return user_match(body, len, "email", "e-mail", same_email, email, out, size);
}

int latch_phone_digits(const char *phone, char *out, size_t size)
{
	size_t n = 0;

	if (size)
		out[0] = '\0';
	for (; *phone; phone++) {
		if (*phone < '0' || *phone > '9')
			continue;
		if (n + 1 >= size) {
			if (size)
				out[0] = '\0';
			err_set("phone number has more than %zu digits", size ? size - 1 : 0);
			return -1;
		}
		out[n++] = *phone;
	}
	if (size)
		out[n] = '\0';
	return (int)n;
}

int latch_parse_user_phone_match(const char *body, size_t len, const char *phone, char *out,
				 size_t size)
{
	char digits[LATCH_PHONE_SIZE];
	int n = latch_phone_digits(phone, digits, sizeof(digits));

	out[0] = '\0';
	if (n < 0)
		return -1;
	/* the reply is still checked: a malformed one fails even then */
	return user_match(body, len, "phone", "phone", same_phone, n ? digits : "", out, size);
}

int latch_parse_user_uuid(const char *body, size_t len, char *out, size_t size)
{
	json_t *j = latch_parse_object(body, len);
	int rc;

	out[0] = '\0';
	rc = j ? latch_take_id(json_object_get(j, "userUuid"), "userUuid", out, size) : -1;
	json_decref(j);
	return rc;
}

int latch_parse_assigned_by(const char *body, size_t len, char *out, size_t size)
{
	json_t *j = latch_parse_object(body, len);
	int rc;

	out[0] = '\0';
	rc = j ? latch_take_id(json_object_get(j, "assignedBy"), "assignedBy", out, size) : -1;
	json_decref(j);
	return rc;
}

int latch_parse_token(const char *body, size_t len, char **token, long *ttl)
{
	json_t *j = parse_json(body, len), *tok, *exp;
	const char *t;
	size_t n;

	*token = NULL;
	*ttl = 0;
	if (!j)
		return -1;
	tok = json_object_get(j, "access_token");
	exp = json_object_get(j, "expires_in");
	t = json_string_value(tok);
	if (!t) {
		err_set("reply has no access_token string");
		json_decref(j);
		return -1;
	}
	for (n = 0; t[n]; n++)
		if (t[n] < 0x21 || t[n] > 0x7e || n >= LATCH_MAX_TOKEN)
			break;
	if (!n || t[n]) {
		err_set("reply's access_token is not 1 to %d printable characters",
			LATCH_MAX_TOKEN);
		json_decref(j);
		return -1;
	}
	*token = strdup(t);
	if (json_is_integer(exp)) {
		json_int_t v = json_integer_value(exp);

		*ttl = v < LATCH_MIN_TTL   ? LATCH_MIN_TTL
		       : v > LATCH_MAX_TTL ? LATCH_MAX_TTL
					   : (long)v;
	} else {
		*ttl = 300;
	}
	json_decref(j);
	if (!*token) {
		err_set("out of memory");
		return -1;
	}
	return 0;
}

/* Length of the valid UTF-8 sequence (2 to 4 bytes) at P, of N bytes left; 0 if none. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t k;
	unsigned long c;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, c = p[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, past U+10FFFF */
	if ((k == 3 && c < 0x800) || (k == 4 && c < 0x10000) || (c >= 0xd800 && c <= 0xdfff) ||
	    c > 0x10ffff)
		return 0;
	return k;
}

void latch_reply_excerpt(const struct latch_resp *r, char *out, size_t size)
{
	static const char more[] = "...";
	static const char cut[] = " (reply over 1 MiB, not read)";
	const unsigned char *p = (const unsigned char *)(r->body ? r->body : "");
	size_t n = r->body ? r->len : 0, at = 0, i = 0;
	size_t reserve = sizeof(more) - 1 + (r->truncated ? sizeof(cut) - 1 : 0);

	if (!size)
		return;
	out[0] = '\0';
	if (size <= reserve + 1)
		reserve = 0;
	while (i < n) {
		char piece[8];
		size_t k, plen;

		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			piece[0] = (char)p[i];
			plen = 1;
			k = 1;
		} else if (p[i] == '\\') {
			piece[0] = piece[1] = '\\';
			plen = 2;
			k = 1;
		} else if ((k = utf8_seq(p + i, n - i)) > 0) {
			memcpy(piece, p + i, k);
			plen = k;
		} else {
			snprintf(piece, sizeof(piece), "\\x%02x", p[i]);
			plen = 4;
			k = 1;
		}
		if (at + plen + reserve + 1 > size)
			break;
		memcpy(out + at, piece, plen);
		at += plen;
		i += k;
	}
	if (i < n && at + sizeof(more) - 1 < size) {
		memcpy(out + at, more, sizeof(more) - 1);
		at += sizeof(more) - 1;
	}
	if (r->truncated && at + sizeof(cut) - 1 < size) {
		memcpy(out + at, cut, sizeof(cut) - 1);
		at += sizeof(cut) - 1;
	}
	out[at] = '\0';
}

char *latch_escape(struct latch *l, const char *s)
{
	char *e = curl_easy_escape(l->curl, s, 0);
	char *copy = e ? strdup(e) : NULL;

	curl_free(e);
	return copy;
}
