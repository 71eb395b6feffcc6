#include "latch.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "log.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int curl_ready;

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

static size_t on_body(char *data, size_t size, size_t n, void *vr)
{
	struct latch_resp *r = vr;
	size_t len = size * n, keep = len;
	char *b;

	if (r->len + keep > LATCH_MAX_BODY) {
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
	return len;
}

/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
static size_t on_header(char *data, size_t size, size_t n, void *vr)
{
	struct latch_resp *r = vr;
	size_t len = size * n;

	if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		char v[128];
		size_t k = len - 12 < sizeof(v) - 1 ? len - 12 : sizeof(v) - 1;
		char *p = v, *end;
		long secs;

		memcpy(v, data + 12, k);
		v[k] = '\0';
		while (*p == ' ')
			p++;
		p[strcspn(p, "\r\n")] = '\0';
		secs = strtol(p, &end, 10);
		if (end != p && !*end && secs >= 0) {
			r->retry_after = secs;
		} else {
			time_t when = curl_getdate(p, NULL);

			if (when > 0)
				r->retry_after = when > time(NULL) ? (long)(when - time(NULL)) : 0;
		}
	}
	return len;
}

/* Loopback hosts may use self-signed certificates (the simulator). */
static int is_loopback(const char *url)
{
	const char *h = strstr(url, "://");

	if (!h)
		return 0;
	h += 3;
	return !strncmp(h, "127.", 4) || !strncmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5);
}

/*
 * Set EASY up for one exchange: METHOD URL with BODY and HEADERS, the
 * reply going into RESP.  Shared by blocking calls and curl multi.
 */
static void setup(struct latch *l, CURL *c, const char *method, const char *url, const char *body,
		  struct curl_slist *headers, struct latch_resp *resp)
{
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
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, l->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "unitsync/" UNITSYNC_VERSION);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, is_loopback(url) ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, is_loopback(url) ? 0L : 2L);
	l->requests++;
}

/* Record how an exchange ended (CC from curl) into RESP. */
static int finish(CURL *c, CURLcode cc, struct latch_resp *resp)
{
	if (cc != CURLE_OK) {
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
	json_t *req = NULL, *rep = NULL;
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
	for (int attempt = 0; attempt < 5; attempt++) {
		if (exchange(l, "POST", cfg->token_url, body, h, &resp) == 0 &&
		    !latch_retryable(&resp))
			break;
		latch_resp_free(&resp);
		resp.status = 0;
		{
			struct timespec ts = { 0,
					       (long)(200000000L << (attempt < 3 ? attempt : 3)) };

			nanosleep(&ts, NULL);
		}
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
	rep = json_loads(resp.body, 0, NULL);
	latch_resp_free(&resp);
	{
		json_t *tok = json_object_get(rep, "access_token");
		json_t *exp = json_object_get(rep, "expires_in");
		long ttl = json_is_integer(exp) ? (long)json_integer_value(exp) : 300;

		if (!json_is_string(tok)) {
			err_set("token endpoint '%s' sent no access_token", cfg->token_url);
			goto out;
		}
		free(l->token);
		l->token = strdup(json_string_value(tok));
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
	json_decref(rep);
	curl_slist_free_all(h);
	return rc;
}

int latch_token(struct latch *l)
{
	if (l->token && time(NULL) < l->token_expiry)
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
	char auth[2048], idem[160];

	latch_call_release(call);
	if (latch_token(l) < 0)
		return -1;
	snprintf(call->url, sizeof(call->url), "%s%s", l->cfg->base_url, path);
	call->token_generation = l->token_generation;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", l->token);
	call->headers = curl_slist_append(call->headers, auth);
	memset(auth, 0, sizeof(auth));
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
		/* 403: the token expired early; fetch a new one and retry once */
		if (rc < 0 || call.resp.status != 403)
			break;
		latch_token_expired(l, call.token_generation);
	}
	*resp = call.resp;
	memset(&call.resp, 0, sizeof(call.resp));
out:
	latch_call_release(&call);
	return rc;
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

const char *latch_error_code(const struct latch_resp *r)
{
	static char code[128];
	json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
	json_t *m = json_object_get(j, "message");

	snprintf(code, sizeof(code), "%s", json_is_string(m) ? json_string_value(m) : "");
	json_decref(j);
	return code;
}

char *latch_escape(struct latch *l, const char *s)
{
	char *e = curl_easy_escape(l->curl, s, 0);
	char *copy = e ? strdup(e) : NULL;

	curl_free(e);
	return copy;
}
