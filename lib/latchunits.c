#include "latchunits.h"
#include "err.h"
#include "exitcode.h"
#include "latch.h"
#include "log.h"
#include "mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A server that never stops paging is broken; so many pages of units is
 * more than any building has. */
#define MAX_PAGES 100000

void latchunits_init(struct latchunits *u)
{
	memset(u, 0, sizeof(*u));
}

static void clear_units(struct latchunits *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].uuid);
		free(u->v[i].name);
	}
	u->n = 0;
}

void latchunits_release(struct latchunits *u)
{
	clear_units(u);
	free(u->v);
	memset(u, 0, sizeof(*u));
}

static int cmp_unit(const struct latchunits_unit *a, const char *name, const char *uuid)
{
	int c = strcmp(a->name, name);

	return c ? c : strcmp(a->uuid, uuid);
}

static int cmp_units(const void *va, const void *vb)
{
	const struct latchunits_unit *a = va, *b = vb;

	return cmp_unit(a, b->name, b->uuid);
}

/*
 * Sort the N elements of V (SIZE bytes each) by CMP and keep one of each
 * run of equal ones, DROP freeing the rest: an element added while its
 * list was paged may show up on two pages.  Returns the count kept.
 */
static size_t sort_unique(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *),
			  void (*drop)(void *))
{
	char *b = v;
	size_t kept = 0;

	if (n)
		qsort(v, n, size, cmp);
	for (size_t i = 0; i < n; i++) {
		if (kept && !cmp(b + (kept - 1) * size, b + i * size)) {
			drop(b + i * size);
			continue;
		}
		if (kept != i)
			memcpy(b + kept * size, b + i * size, size);
		kept++;
	}
	return kept;
}

static void drop_unit(void *p)
{
	struct latchunits_unit *x = p;

	free(x->uuid);
	free(x->name);
}

/* Append without keeping the order (latchunits_list() sorts once). */
static int append(struct latchunits *u, const char *uuid, const char *name)
{
	char *cu, *cn;

	if (mem_grow((void **)&u->v, u->n, &u->cap, sizeof(*u->v), 128) < 0)
		return -1;
	cu = strdup(uuid);
	cn = strdup(name);
	if (!cu || !cn) {
		free(cu);
		free(cn);
		err_set("out of memory");
		return -1;
	}
	u->v[u->n].uuid = cu;
	u->v[u->n].name = cn;
	u->n++;
	return 0;
}

int latchunits_add(struct latchunits *u, const char *uuid, const char *name)
{
	size_t lo = 0, hi = u->n;
	struct latchunits_unit added;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_unit(&u->v[mid], name, uuid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (append(u, uuid, name) < 0)
		return -1;
	added = u->v[u->n - 1];
	memmove(&u->v[lo + 1], &u->v[lo], (u->n - 1 - lo) * sizeof(*u->v));
	u->v[lo] = added;
	return 0;
}

size_t latchunits_find(const struct latchunits *u, const char *name, size_t *count)
{
	size_t lo = 0, hi = u->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(u->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < u->n && !strcmp(u->v[end].name, name); end++)
		;
	*count = end - lo;
	return lo;
}

int latchunits_key(const char *building, const char *name, char key[SHA256_HEX_LEN + 1])
{
	struct sha256 h;

	if (sha256_init(&h) < 0)
		return -1;
	sha256_update(&h, building, strlen(building));
	sha256_update(&h, ":", 1);
	sha256_update(&h, name, strlen(name));
	sha256_final(&h, key);
	return 0;
}

/* What a final reply means, described with err_set(). */
static enum latchunits_status classify(const char *method, const char *path,
				       const struct latch_resp *resp, int attempts)
{
	const char *code = latch_error_code(resp);
	long s = resp->status;

	if (s == 0) {
		err_set("%s %s: no reply (%s) after %d attempt%s", method, path, resp->error,
			attempts, attempts == 1 ? "" : "s");
		return LATCHUNITS_TEMPFAIL;
	}
	if (latch_retryable(resp)) {
		err_set("%s %s answered %ld %s after %d attempt%s", method, path, s, code, attempts,
			attempts == 1 ? "" : "s");
		return LATCHUNITS_TEMPFAIL;
	}
	err_set("%s %s answered %ld %s", method, path, s, code);
	if (s == 401 || s == 403)
		return LATCHUNITS_AUTH;
	if (s == 404)
		return LATCHUNITS_NOT_FOUND;
	if (s == 409 && !strcmp(code, "UNIT_ALREADY_EXISTS"))
		return LATCHUNITS_EXISTS;
	if (s >= 400 && s < 500)
		return LATCHUNITS_REJECTED;
	return LATCHUNITS_BAD_REPLY;
}

/*
 * Send one request, again while the reply is retryable and RETRY allows:
 * LATCHUNITS_OK with the last reply in RESP (free it), else the status of
 * what went wrong (RESP freed).
 */
static enum latchunits_status unit_request(struct latch *l, const char *method, const char *path,
					   const char *body, const char *key, int retry,
					   struct latch_resp *resp)
{
	enum latchunits_status st = LATCHUNITS_OK;
	int attempt = 1;

	for (;; attempt++) {
		double wait;

		if (latch_request(l, method, path, body, key, resp) < 0 && !resp->curl_error) {
			/* no token: the token endpoint was tried several times already */
			err_prefix("%s %s", method, path);
			st = l->auth_failed ? LATCHUNITS_AUTH : LATCHUNITS_TEMPFAIL;
			break;
		}
		if (!latch_retryable(resp) || !retry || attempt >= l->max_attempts)
			break;
		wait = latch_backoff(attempt, resp->retry_after);
		if (resp->status)
			log_warn("%s %s answered %ld %s; trying again in %.1f s", method, path,
				 resp->status, latch_error_code(resp), wait);
		else
			log_warn("%s %s: no reply (%s); trying again in %.1f s", method, path,
				 resp->error, wait);
		latch_resp_free(resp);
		latch_pause(l, wait);
	}
	if (st == LATCHUNITS_OK && (resp->status == 0 || latch_retryable(resp)))
		st = classify(method, path, resp, attempt);
	if (st != LATCHUNITS_OK)
		latch_resp_free(resp);
	return st;
}

/*
 * Is RESP what lib/latch.h's contract table calls success for KIND?  A
 * refused request is classify()'d; a success status whose body is off the
 * contract is LATCHUNITS_BAD_REPLY.  BODY (NULL: not wanted): the success
 * body's JSON object, parsed once (latch_reply_take()), the caller's to
 * json_decref(); a success without one is LATCHUNITS_BAD_REPLY.  WANT_ID,
 * when not NULL, is the id the body's id member must be (lib/latch.h).
 */
static enum latchunits_status check_reply(enum latch_kind kind, const char *method,
					  const char *path, const struct latch_resp *resp,
					  const char *want_id, json_t **body)
{
	switch (latch_reply_take(kind, resp, want_id, body)) {
	case LATCH_REPLY_OK:
	case LATCH_REPLY_ALREADY:
		if (body && !*body) {
			/* no kind read here has an "already so" without a body */
			err_set("%s %s: no reply body", method, path);
			return LATCHUNITS_BAD_REPLY;
		}
		return LATCHUNITS_OK;
	case LATCH_REPLY_BAD:
		err_prefix("%s %s", method, path);
		return LATCHUNITS_BAD_REPLY;
	default:
		return classify(method, path, resp, 1);
	}
}

/* The next page token of page J (owned) or NULL in *NEXT: none when the
 * member is missing, null or "" (the last page); a token that is not a
 * string is a malformed reply, not the last page (review rv23: a number
 * ended the listing there, its later units taken for missing). */
static enum latchunits_status next_token(json_t *j, char **next)
{
	json_t *tok = json_object_get(j, "nextPageToken");

	*next = NULL;
	if (tok && !json_is_null(tok) && !json_is_string(tok)) {
		err_set("the reply's nextPageToken is not a string");
		return LATCHUNITS_BAD_REPLY;
	}
	if (json_is_string(tok) && *json_string_value(tok)) {
		*next = strdup(json_string_value(tok));
		if (!*next) {
			err_set("out of memory");
			return LATCHUNITS_BAD_REPLY;
		}
	}
	return LATCHUNITS_OK;
}

/* Append the units of one page J (its array ITEMS) to CTX, a struct latchunits. */
static enum latchunits_status take_units(const char *path, json_t *items, void *ctx)
{
	struct latchunits *u = ctx;
	json_t *unit;
	size_t i;

	json_array_foreach(items, i, unit)
	{
		const char *name = json_string_value(json_object_get(unit, "name"));
		char uuid[LATCH_MAX_ID + 1];

		if (latch_take_id(json_object_get(unit, "uuid"), "uuid", uuid, sizeof(uuid)) < 0 ||
		    !name) {
			if (!name)
				err_set("no name");
			err_prefix("GET %s: unit %zu of the page", path, i + 1);
			return LATCHUNITS_BAD_REPLY;
		}
		if (append(u, uuid, name) < 0)
			return LATCHUNITS_BAD_REPLY;
	}
	return LATCHUNITS_OK;
}

/*
 * GET BASE (an escaped path) asking for pages of l->page_size
 * (?pageSize=), then each next page (&pageToken=), until a page has no
 * nextPageToken: each page's array MEMBER (reply KIND) goes to
 * TAKE(path, array, CTX).  A page shorter than asked is no end: only a
 * page without nextPageToken is.  *PAGES counts the pages fetched.  WHAT
 * names the listing in messages ("building 'b1'").
 */
static enum latchunits_status
list_pages(struct latch *l, const char *base, enum latch_kind kind, const char *member,
	   const char *what, enum latchunits_status (*take)(const char *, json_t *, void *),
	   void *ctx, long *pages)
{
	enum latchunits_status st = LATCHUNITS_BAD_REPLY;
	struct latch_resp resp = { 0 };
	char *token = NULL, *et = NULL, *next = NULL;
	char path[4096];
	json_t *j = NULL, *items;

	*pages = 0;
	for (;;) {
		int len;

		if (token) {
			free(et);
			et = latch_escape(l, token);
			if (!et) {
				err_set("out of memory");
				goto out;
			}
			len = snprintf(path, sizeof(path), "%s?pageSize=%d&pageToken=%s", base,
				       l->page_size, et);
		} else {
			len = snprintf(path, sizeof(path), "%s?pageSize=%d", base, l->page_size);
		}
		if (len < 0 || (size_t)len >= sizeof(path)) {
			err_set("%s: the request path is too long", what);
			st = LATCHUNITS_REJECTED;
			goto out;
		}
		st = unit_request(l, "GET", path, NULL, NULL, 1, &resp);
		if (st != LATCHUNITS_OK)
			goto out;
		/* the page parsed once: by the contract's check */
		st = check_reply(kind, "GET", path, &resp, NULL, &j);
		if (st != LATCHUNITS_OK)
			goto out;
		st = LATCHUNITS_BAD_REPLY;
		(*pages)++;
		items = json_object_get(j, member);
		if (!json_is_array(items)) {
			err_set("GET %s: the reply has no %s array", path, member);
			goto out;
		}
		if (take(path, items, ctx) != LATCHUNITS_OK)
			goto out;
		if (next_token(j, &next) != LATCHUNITS_OK) {
			err_prefix("GET %s", path);
			goto out;
		}
		json_decref(j);
		j = NULL;
		latch_resp_free(&resp);
		if (!next)
			break;
		if (token && !strcmp(token, next)) {
			err_set("GET %s: the next page token is this page's", path);
			goto out;
		}
		if (*pages >= MAX_PAGES) {
			err_set("%s: more than %d pages of %s", what, MAX_PAGES, member);
			goto out;
		}
		free(token);
		token = next;
		next = NULL;
	}
	st = LATCHUNITS_OK;
out:
	json_decref(j);
	latch_resp_free(&resp);
	free(et);
	free(token);
	free(next);
	return st;
}

/* "/v1/PREFIX/ID/SUFFIX" with ID escaped into OUT (SIZE bytes); WHAT names it. */
static enum latchunits_status make_path(struct latch *l, char *out, size_t size, const char *prefix,
					const char *id, const char *suffix, const char *what)
{
	char *e = latch_escape(l, id);
	int len;

	if (!e) {
		err_set("out of memory");
		return LATCHUNITS_BAD_REPLY;
	}
	len = snprintf(out, size, "/v1/%s/%s%s", prefix, e, suffix);
	free(e);
	if (len < 0 || (size_t)len >= size) {
		err_set("%s '%s': the request path is too long", what, id);
		return LATCHUNITS_REJECTED;
	}
	return LATCHUNITS_OK;
}

enum latchunits_status latchunits_list(struct latch *l, const char *building, struct latchunits *u)
{
	enum latchunits_status st;
	char base[4096], what[512];

	clear_units(u);
	u->pages = 0;
	snprintf(what, sizeof(what), "building '%s'", building);
	st = make_path(l, base, sizeof(base), "buildings", building, "/units", "building");
	if (st == LATCHUNITS_OK)
		st = list_pages(l, base, LATCH_UNITS_LIST, "units", what, take_units, u, &u->pages);
	if (st != LATCHUNITS_OK) {
		clear_units(u);
		return st;
	}
	u->n = sort_unique(u->v, u->n, sizeof(*u->v), cmp_units, drop_unit);
	return LATCHUNITS_OK;
}

void latchunits_residents_release(struct latchunits_residents *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].user);
		free(r->v[i].assigned_by);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Append the residents of one page (ITEMS) to CTX, a struct latchunits_residents. */
static enum latchunits_status take_residents(const char *path, json_t *items, void *ctx)
{
	struct latchunits_residents *r = ctx;
	json_t *res;
	size_t i;

	json_array_foreach(items, i, res)
	{
		const char *by = json_string_value(json_object_get(res, "assignedBy"));
		char user[LATCH_MAX_ID + 1];
		char *cu, *cb;

		if (latch_take_id(json_object_get(res, "userUuid"), "userUuid", user,
				  sizeof(user)) < 0) {
			err_prefix("GET %s: resident %zu of the page", path, i + 1);
			return LATCHUNITS_BAD_REPLY;
		}
		if (mem_grow((void **)&r->v, r->n, &r->cap, sizeof(*r->v), 16) < 0)
			return LATCHUNITS_BAD_REPLY;
		cu = strdup(user);
		cb = strdup(by ? by : "");
		if (!cu || !cb) {
			free(cu);
			free(cb);
			err_set("out of memory");
			return LATCHUNITS_BAD_REPLY;
		}
		r->v[r->n].user = cu;
		r->v[r->n].assigned_by = cb;
		r->n++;
	}
	return LATCHUNITS_OK;
}

static void drop_resident(void *p)
{
	struct latchunits_resident *x = p;

	free(x->user);
	free(x->assigned_by);
}

static int cmp_residents(const void *va, const void *vb)
{
	const struct latchunits_resident *a = va, *b = vb;

	return strcmp(a->user, b->user);
}

enum latchunits_status latchunits_residents(struct latch *l, const char *unit,
					    struct latchunits_residents *r)
{
	enum latchunits_status st;
	char base[4096], what[512];

	latchunits_residents_release(r);
	snprintf(what, sizeof(what), "unit '%s'", unit);
	st = make_path(l, base, sizeof(base), "units", unit, "/residents", "unit");
	if (st == LATCHUNITS_OK)
		st = list_pages(l, base, LATCH_RESIDENTS_LIST, "residents", what, take_residents, r,
				&r->pages);
	if (st != LATCHUNITS_OK) {
		latchunits_residents_release(r);
		return st;
	}
	r->n = sort_unique(r->v, r->n, sizeof(*r->v), cmp_residents, drop_resident);
	return LATCHUNITS_OK;
}

/* A string member KEY of J, copied into *OUT (NULL when absent, null or ""). */
static int take_string(json_t *j, const char *key, char **out)
{
	const char *v = json_string_value(json_object_get(j, key));

	*out = NULL;
	if (!v || !*v)
		return 0;
	*out = strdup(v);
	if (!*out) {
		err_set("out of memory");
		return -1;
	}
	return 0;
}

enum latchunits_status latchunits_user(struct latch *l, const char *user, char **email,
				       char **phone)
{
	enum latchunits_status st;
	struct latch_resp resp = { 0 };
	char path[4096];
	json_t *j = NULL;

	*email = *phone = NULL;
	st = make_path(l, path, sizeof(path), "users", user, "", "user");
	if (st != LATCHUNITS_OK)
		return st;
	st = unit_request(l, "GET", path, NULL, NULL, 1, &resp);
	if (st != LATCHUNITS_OK)
		return st;
	/* the user asked for, not another one (review rv23) */
	st = check_reply(LATCH_USER_GET, "GET", path, &resp, user, &j);
	if (st != LATCHUNITS_OK)
		goto out;
	st = LATCHUNITS_BAD_REPLY;
	if (take_string(j, "email", email) < 0 || take_string(j, "phone", phone) < 0)
		goto out;
	st = LATCHUNITS_OK;
out:
	if (st != LATCHUNITS_OK) {
		free(*email);
		free(*phone);
		*email = *phone = NULL;
	}
	json_decref(j);
	latch_resp_free(&resp);
	return st;
}

enum latchunits_status latchunits_create(struct latch *l, const char *building, const char *name,
					 const char *key, char **uuid)
{
	enum latchunits_status st = LATCHUNITS_BAD_REPLY;
	struct latch_resp resp = { 0 };
	char *eb = latch_escape(l, building), *body = NULL;
	json_t *req = json_pack("{s:s}", "name", name), *j = NULL;
	char path[4096];
	char got[LATCH_MAX_ID + 1];
	int len;

	*uuid = NULL;
	if (!req) {
		/* jansson takes only UTF-8 */
		err_set("unit name '%s' is not UTF-8", name);
		st = LATCHUNITS_REJECTED;
		goto out;
	}
	body = json_dumps(req, JSON_COMPACT);
	if (!eb || !body) {
		err_set("out of memory");
		goto out;
	}
	len = snprintf(path, sizeof(path), "/v1/buildings/%s/units", eb);
	if (len < 0 || (size_t)len >= sizeof(path)) {
		err_set("building '%s': the request path is too long", building);
		st = LATCHUNITS_REJECTED;
		goto out;
	}
	st = unit_request(l, "POST", path, body, key, key != NULL, &resp);
	if (st != LATCHUNITS_OK)
		goto out;
	st = check_reply(LATCH_UNIT_CREATE, "POST", path, &resp, NULL, &j);
	if (st != LATCHUNITS_OK)
		goto out;
	st = LATCHUNITS_BAD_REPLY;
	if (latch_take_id(json_object_get(j, "uuid"), "uuid", got, sizeof(got)) < 0) {
		err_prefix("POST %s", path);
		goto out;
	}
	*uuid = strdup(got);
	if (!*uuid) {
		err_set("out of memory");
		goto out;
	}
	st = LATCHUNITS_OK;
out:
	json_decref(req);
	json_decref(j);
	latch_resp_free(&resp);
	free(eb);
	free(body);
	return st;
}

int latchunits_exit_code(enum latchunits_status st)
{
	switch (st) {
	case LATCHUNITS_OK:
		return US_EXIT_OK;
	case LATCHUNITS_AUTH:
		return US_EXIT_CONFIG;
	case LATCHUNITS_NOT_FOUND:
	case LATCHUNITS_EXISTS:
	case LATCHUNITS_REJECTED:
		return US_EXIT_DATAERR;
	case LATCHUNITS_TEMPFAIL:
	case LATCHUNITS_BAD_REPLY:
		break;
	}
	return US_EXIT_TEMPFAIL;
}

int latchunits_has_uuid(const struct latchunits *u, const char *uuid)
{
	for (size_t i = 0; i < u->n; i++)
		if (!strcmp(u->v[i].uuid, uuid))
			return 1;
	return 0;
}
