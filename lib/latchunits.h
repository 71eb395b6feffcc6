/*
 * latchunits.h - the units of a Latch building, over lib/latch.h
 * (docs/ARCHITECTURE.md §9: GET and POST /v1/buildings/{b}/units).
 *
 *   GET  /v1/buildings/{b}/units?pageSize=N[&pageToken=T]
 *        -> {"units":[{"uuid","name"}],"nextPageToken"}
 *   POST /v1/buildings/{b}/units {"name"} -> 201 {"uuid","name"}
 *        409 {"message":"UNIT_ALREADY_EXISTS"}: names are unique per building
 *
 * And, for `unitsync reconcile`, what Latch holds in them:
 *
 *   GET  /v1/units/{u}/residents?pageSize=N[&pageToken=T]
 *        -> {"residents":[{"userUuid","assignedBy"}],"nextPageToken"}
 *   GET  /v1/users/{user} -> {"userUuid","email","phone",...}
 *        404 {"message":"USER_NOT_FOUND"}
 *
 * latchunits_list() follows nextPageToken until a page has none, and
 * keeps the units sorted by name, then uuid (bytes compared: "0101" and
 * "101" are different names).  Both listings ask for pages of the struct
 * latch's page_size ([latch] page_size, default CONFIG_PAGE_SIZE: see
 * config_page_size() in lib/config.h for why); that is only a request, a
 * page with fewer and a nextPageToken is followed as any other.
 *
 * Retries (latch_retryable(), lib/latch.h): connect errors, timeouts, 408, 425, 429, 500,
 * 502, 503 and 504 are tried again, up to the struct latch's max_attempts
 * times in all, after latch_backoff() (lib/latch.h: full jitter, or
 * Retry-After when the reply has one, capped), the one backoff of every
 * caller.  An expired token (403)
 * or 401 is renewed and the request sent once more by latch_request().  A POST
 * is retried only with an Idempotency-Key, so that a create whose reply
 * was lost is never made twice.
 *
 * Success is what lib/latch.h's contract table says (latch_reply_check():
 * a list 200 with its "units" array, a create 201 with the unit's uuid);
 * a success status whose body is off the contract is LATCHUNITS_BAD_REPLY.
 *
 * Errors: each call returns an enum latchunits_status and, for anything
 * but LATCHUNITS_OK, describes it with err_set() ("GET /v1/... answered
 * 404 BUILDING_NOT_FOUND").  The caller picks the exit code.
 *
 * Ownership: a struct latchunits owns its array and every string in it;
 * latchunits_release() frees them.  The struct latch is borrowed.
 */
#ifndef UNITSYNC_LATCHUNITS_H
#define UNITSYNC_LATCHUNITS_H

#include "sha256.h"

#include <stddef.h>

struct latch;

enum latchunits_status {
	LATCHUNITS_OK = 0,
	LATCHUNITS_TEMPFAIL,  /* no reply, or only retryable ones: a rerun may work */
	LATCHUNITS_AUTH,      /* the token endpoint or the API refused the credentials */
	LATCHUNITS_NOT_FOUND, /* 404: no such building */
	LATCHUNITS_EXISTS,    /* create: 409, a unit of that name exists */
	LATCHUNITS_REJECTED,  /* another 4xx: the request was refused as sent */
	LATCHUNITS_BAD_REPLY, /* a reply that is not what §9 says, or out of memory */
};

/* One Latch unit. */
struct latchunits_unit {
	char *uuid; /* owned */
	char *name; /* owned */
};

/* The units of one building. */
struct latchunits {
	struct latchunits_unit *v; /* owned array, sorted by name then uuid */
	size_t n, cap;
	long pages; /* pages the last latchunits_list() fetched */
};

void latchunits_init(struct latchunits *u);
void latchunits_release(struct latchunits *u);

/*
 * The exit code (lib/exitcode.h) of a failed call, the same for every
 * program: the credentials refused, 78; no such building, or a request
 * refused as sent, 65; no usable reply, 75 (a rerun may work).
 */
int latchunits_exit_code(enum latchunits_status st);

/* Replace U's contents with every unit of BUILDING. */
enum latchunits_status latchunits_list(struct latch *l, const char *building, struct latchunits *u);

/*
 * Create a unit NAME in BUILDING; *UUID receives its uuid (malloc'd).
 * KEY is the Idempotency-Key to send, or NULL for none (then the POST
 * is not retried).
 */
enum latchunits_status latchunits_create(struct latch *l, const char *building, const char *name,
					 const char *key, char **uuid);

/* One resident of a Latch unit. */
struct latchunits_resident {
	char *user;        /* userUuid, owned */
	char *assigned_by; /* who assigned it ("" when the reply did not say), owned */
};

/* The residents of one unit. */
struct latchunits_residents {
	struct latchunits_resident *v; /* owned array, sorted by user */
	size_t n, cap;
	long pages; /* pages the last latchunits_residents() fetched */
};

/* Free R's contents; R (zeroed, or filled by latchunits_residents()) may be reused. */
void latchunits_residents_release(struct latchunits_residents *r);

/* Replace R's contents with every resident of Latch unit UNIT, every page
 * (LATCHUNITS_NOT_FOUND: no such unit). */
enum latchunits_status latchunits_residents(struct latch *l, const char *unit,
					    struct latchunits_residents *r);

/* The contact of Latch user USER: *EMAIL and *PHONE (malloc'd, NULL when
 * the user has none; the caller frees them).  LATCHUNITS_NOT_FOUND: no
 * such user. */
enum latchunits_status latchunits_user(struct latch *l, const char *user, char **email,
				       char **phone);

/* Does U hold a unit whose uuid is UUID?  Linear: for one look-up; a
 * caller with many builds its own index. */
int latchunits_has_uuid(const struct latchunits *u, const char *uuid);

/* Add a unit to U, keeping the order; -1 with err_set() when out of memory. */
int latchunits_add(struct latchunits *u, const char *uuid, const char *name);

/* The index of the first unit named NAME, and in *COUNT how many have
 * that name (0: none, and the index is where it would go). */
size_t latchunits_find(const struct latchunits *u, const char *name, size_t *count);

/* The Idempotency-Key of creating NAME in BUILDING: hex SHA-256 of
 * "BUILDING:NAME", the same on every run; -1 with err_set() on failure. */
int latchunits_key(const char *building, const char *name, char key[SHA256_HEX_LEN + 1]);

#endif
