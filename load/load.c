/*
 * unitsync-load - apply a run directory to the Latch API, exactly once
 * (unitsync-load(1); docs/ARCHITECTURE.md §2).
 *
 * Every delta row has a journal row in the state database.  Before a
 * request leaves, its row is marked inflight and committed; after a 2xx
 * the row is marked done in the same transaction that records the effect
 * (the Latch user matched or created, the assignment made or removed).  A
 * load killed at any moment therefore resumes where it stopped: done rows
 * are skipped, inflight rows are sent again with the same Idempotency-Key
 * (hex SHA-256 of "DELTA_SHA256:SEQ:RUN_ID", see row_key()), so Latch
 * applies each effect once.
 *
 * An effect an earlier run's load left inflight is settled by this run
 * (one definition, in lib/ledger.h): its journal row becomes superseded once this
 * run confirms the same effect, and a USER_CREATE this run sends for a
 * person whose earlier USER_CREATE is unconfirmed carries that request's
 * Idempotency-Key, so that Latch replays the first user instead of making
 * a second (issue 15, item 10).  Latch refuses that key (422) when the
 * resident's e-mail, phone or name changed in between: the earlier body is
 * then replayed under it to learn what that request made (replay_earlier()).
 *
 * Concurrency: the delta is read as a stream of people (a person's rows
 * are consecutive: USER_CREATE, then ASSIGN, then UNASSIGN).  Up to
 * 4 x --concurrency people are applied at once over curl multi with
 * --concurrency kept-alive connections, one request on each (pump());
 * each person's rows go strictly in order, so a transfer's
 * ASSIGN is confirmed before its UNASSIGN leaves (make before break).  A
 * person whose row failed has the rest of their rows failed too: a transfer
 * never removes the old unit when the new one was not granted.  Memory is
 * bounded by the number of people in flight, not by the size of the delta.
 *
 * Missing Latch units (issue 17): before any request leaves, the units of
 * the Latch building of each property with ASSIGN rows to send are listed,
 * one paged listing per building (list_units(), lib/latchunits.h).  An
 * ASSIGN to a unit not listed fails unsent as exception latch_unit_missing
 * (load-report.csv), and so does a USER_CREATE whose person's ASSIGNs all
 * go to such units: the check comes before the user is made, so no Latch
 * user exists for a resident with no unit.  One listing up front was
 * chosen over deferring user creation: it costs a few requests per
 * building rather than one per person, and keeps each person's rows in
 * delta order.  A PUT answered 404 UNIT_NOT_FOUND (a unit deleted since
 * the listing, or a property without a building, which is not checked)
 * fails the same way.  A failed row is not retried by this load; the next
 * run asks again.
 *
 * Journal writes happen on one thread, batched per turn of the event loop:
 * results of the requests that completed and the inflight marks of the
 * requests about to leave are committed together, before they leave.
 * The WAL is checkpointed on a thread of its own (db_checkpointer_start(),
 * lib/db.h), not inside those commits.
 */
#include "cli.h"
#include "config.h"
#include "csvio.h"
#include "db.h"
#include "delta.h"
#include "durable.h"
#include "err.h"
#include "exitcode.h"
#include "latch.h"
#include "latchunits.h"
#include "ledger.h"
#include "log.h"
#include "mem.h"
#include "progress.h"
#include "rules.h"
#include "rundir.h"
#include "sha256.h"
#include "shard.h"
#include "stg.h"
#include "unitmap.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync load RUN_DIR [--dry-run] [--property P] [--concurrency N] [--rate R]\n"
	"\n"
	"Apply a run directory's delta to the Latch API; resumable, each effect applied once.\n"
	"\n"
	"  --dry-run                print the requests without sending them\n"
	"  --property P             only the rows of property P\n"
	"  --shard K/N              only the rows of shard K of N's properties\n"
	"  --concurrency N          connections in parallel (default 16)\n"
	"  --rate R                 at most R requests per second (default: unlimited)\n"
	"  --max-attempts N         tries per request before giving up for this load (default 8)\n"
	"  --budget SECONDS         stop the load after this long, token included; rerun resumes\n"
	"                           (default 900)\n"
	"  --config FILE            Latch settings (default $UNITSYNC_CONFIG)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* A delta row copied out of the reader; its strings live in buf. */
struct row {
	struct delta_row d; /* fields point into buf */
	char *buf;          /* owned */
	char key[65];       /* Idempotency-Key: the journal's once the row is journaled */
};

/* What a slot's current request is doing. */
enum step {
	STEP_NONE,     /* nothing in flight: pick the next row */
	STEP_LOOKUP,   /* USER_CREATE: GET /v1/users?email= (?phone= without e-mail) */
	STEP_CREATE,   /* USER_CREATE: POST /v1/users */
	STEP_RELOOKUP, /* USER_CREATE: GET after 409 EMAIL_ALREADY_EXISTS */
	STEP_REPLAY,   /* USER_CREATE: POST, under the borrowed key, of a body an earlier
			* run sent with it (after 422 IDEMPOTENCY_KEY_REUSED) */
	STEP_USER_GET, /* USER_CREATE: GET /v1/users/{user} of the user a replay named */
	STEP_PUT,      /* ASSIGN */
	STEP_DELETE,   /* UNASSIGN */
};

/* An earlier run's USER_CREATE row sent under the key a row borrowed. */
struct earlier {
	struct row row; /* its delta row, as its run directory has it */
	char run[64];   /* its run id */
};

/* One person being applied: their rows, in order, over one easy handle. */
struct slot {
	CURL *easy;             /* owned, reused: keeps its connection alive */
	struct latch_call call; /* the request in flight or due */
	struct row *rows;       /* the person's rows, owned */
	size_t n, cap;          /* rows held, allocated */
	size_t cur;             /* the row being applied */
	enum step step;         /* what the current request is */
	int busy;               /* holds a person */
	int in_multi;           /* the easy handle is in the multi handle */
	int due;                /* a request is ready to leave at wake */
	int attempt;            /* tries of the current request */
	int token_retried;      /* a 401 or 403 was already answered with a new token */
	int inflight;           /* the current row is journaled inflight by this load */
	double wake;            /* monotonic seconds: not before */
	int failed;             /* a row of this person failed: the later ones fail too */
	int missing;            /* an ASSIGN of this person failed as latch_unit_missing:
				 * their UNASSIGNs fail (make before break), their
				 * other ASSIGNs go on */
	char user[256];         /* the person's Latch user, once known */
	int manual;             /* the ASSIGN found the resident assigned by someone else */
	struct earlier *prior;  /* the USER_CREATE's borrowed key was sent before with
				 * these other bodies (replay_earlier()), oldest
				 * first; owned */
	size_t n_prior;         /* bodies in prior */
	size_t cap_prior;       /* allocated */
	size_t at_prior;        /* the one STEP_REPLAY sends */
	long replayed;          /* the HTTP status its replay answered */
};

struct load {
	sqlite3 *db;        /* borrowed */
	struct rundir run;  /* the verified run directory */
	struct latch api;   /* token and settings; blocking calls */
	CURLM *multi;       /* owned */
	struct slot *slots; /* owned, n_slots of them */
	int n_slots;
	int connections;           /* --concurrency: requests handed to curl at most */
	int next_slot;             /* the slot pump() offers a connection first (round robin) */
	struct slot pending;       /* the person being read from the delta */
	const char *only_property; /* --property or NULL */
	struct shard shard;        /* --shard K/N; n == 0: every property */
	int dry_run;
	double rate;      /* requests per second; 0 = unlimited */
	double bucket;    /* token bucket level */
	double bucket_at; /* when it was last filled */
	int max_attempts;
	double deadline; /* retry budget end, monotonic seconds */
	long done, failed, held, already, superseded;
	json_t *newer;             /* property -> newer run id, for superseded properties */
	json_t *units;             /* property -> {"building", "found", "units": {uuid: true}}:
			       * the Latch units of its building, listed once at
			       * the start (list_units()); a property absent is
			       * not checked; owned */
	int tempfail;              /* retries exhausted or API unreachable */
	int fatal;                 /* credentials refused or database error: stop */
	char refused[512];         /* why the API refused the credentials, once it did */
	int approved;              /* `unitsync approve` released the held properties */
	int in_tx;                 /* a journal transaction is open */
	int stopped;               /* on_row gave up: the delta is not to blame */
	struct ledger ledger;      /* the journal and the applied state, owned */
	FILE *report;              /* load-report.csv being written, borrowed */
	struct log_limit failures; /* failed-row warnings: the first 20, then a count */
	struct log_limit give_ups; /* rows left for a rerun: the same */
	struct progress progress;  /* rows settled of the delta's, on a terminal only */
};

/* Rows settled so far, whichever way: the progress line's count. */
static long long settled(const struct load *l)
{
	return (long long)l->done + l->failed + l->held + l->already + l->superseded;
}

/*
 * The exit code of a load that ran to its end, from its counts: 75 wins over
 * 1, 1 over 4 (see EXIT STATUS in docs/unitsync-load.1).  A --dry-run's
 * counts are what the load would count, so it exits as the load would.
 */
static int outcome_code(const struct load *l)
{
	return l->tempfail                  ? US_EXIT_TEMPFAIL
	       : l->failed || l->superseded ? US_EXIT_FAILED
	       : l->held                    ? US_EXIT_HELD
					    : US_EXIT_OK;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- journal -------------------------------------------------------- */

static int tx_begin(struct load *l)
{
	if (l->in_tx)
		return 0;
	if (db_begin(l->db) < 0)
		return -1;
	l->in_tx = 1;
	return ledger_tx_begin(&l->ledger);
}

static int tx_commit(struct load *l)
{
	if (!l->in_tx)
		return 0;
	l->in_tx = 0;
	ledger_tx_end(&l->ledger);
	return db_commit(l->db);
}

/*
 * The journal state of row R, creating it as pending on first sight; R's
 * key becomes the one journaled (the key a resumed request must carry).
 */
static int journal_state(struct load *l, struct row *r, char *state, size_t size)
{
	/* a first sight writes the row: under the write lock (db_begin) */
	if (tx_begin(l) < 0)
		return -1;
	return ledger_journal_state(&l->ledger, r->d.seq, r->d.op, r->key, state, size);
}

/* Set row SEQ's state inside the open transaction; KEY, when not NULL,
 * is the Idempotency-Key the row is sent with from now on. */
static int journal_set(struct load *l, long seq, const char *state, long http_status,
		       const char *response, const char *user, const char *key)
{
	return ledger_journal_set(&l->ledger, seq, state, http_status, response, user, key);
}

/*
 * Mark row R done and record its effect, in one transaction with the
 * journal: the journal and the applied state never disagree.
 */
static int record_done(struct load *l, const struct row *r, long status, const char *user,
		       int manual)
{
	if (tx_begin(l) < 0)
		return -1;
	return ledger_record_effect(&l->ledger, &r->d, status, user, manual);
}

/*
 * Row R is a USER_CREATE about to be sent for the first time: when an
 * earlier run's USER_CREATE for the person is unconfirmed (sent, no answer:
 * Latch may have made the user), R takes that request's Idempotency-Key, the
 * oldest if there are several, so that Latch's idempotency replays the user
 * it made instead of making a second one.  R keeps its own key otherwise.
 */
static int take_unconfirmed_key(struct load *l, struct row *r)
{
	char run[64];
	int found = ledger_unconfirmed_create(&l->ledger, r->d.property_id, r->d.pms_person_id, run,
					      sizeof(run), r->key);

	if (found == 1)
		log_info("row %ld USER_CREATE %s/%s: run %s left its USER_CREATE unconfirmed; "
			 "sent again with that request's Idempotency-Key",
			 r->d.seq, r->d.property_id, r->d.pms_person_id, run);
	return found;
}

/* A row of load-report.csv; KIND is the row's exception kind
 * (exception_kinds[] in lib/delta.c), or NULL. */
static void report_row(struct load *l, const struct row *r, const char *state, long status,
		       const char *detail, const char *kind)
{
	char seq[32], st[32];
	const char *f[8];

	snprintf(seq, sizeof(seq), "%ld", r->d.seq);
	snprintf(st, sizeof(st), "%ld", status);
	f[0] = seq;
	f[1] = delta_op_name(r->d.op);
	f[2] = r->d.property_id;
	f[3] = r->d.pms_person_id;
	f[4] = state;
	f[5] = status ? st : "";
	f[6] = detail;
	f[7] = kind ? kind : "";
	if (l->report)
		csvio_write_row(l->report, f, 8);
}

/* Row R of slot S failed for good: journal, report (as exception KIND
 * when not NULL), and fail the person. */
static int fail_row(struct load *l, struct slot *s, const struct row *r, long status,
		    const char *detail, const char *kind)
{
	if (status)
		log_limited(&l->failures, "row %ld %s %s/%s failed: HTTP %ld %s", r->d.seq,
			    delta_op_name(r->d.op), r->d.property_id, r->d.pms_person_id, status,
			    detail);
	else
		log_limited(&l->failures, "row %ld %s %s/%s failed: %s", r->d.seq,
			    delta_op_name(r->d.op), r->d.property_id, r->d.pms_person_id, detail);
	if (kind && !strcmp(kind, "latch_unit_missing"))
		s->missing = 1;
	else
		s->failed = 1;
	l->failed++;
	report_row(l, r, "failed", status, detail, kind);
	if (tx_begin(l) < 0)
		return -1;
	return journal_set(l, r->d.seq, "failed", status, detail, NULL, NULL);
}

/* The Latch user User Sync recorded for the row's person ("" if none). */
static int person_user(struct load *l, const struct row *r, char *user, size_t size)
{
	sqlite3_stmt *st = NULL;

	user[0] = '\0';
	if (*r->d.latch_user_id) {
		snprintf(user, size, "%s", r->d.latch_user_id);
		return 0;
	}
	if (db_prepare(l->db,
		       "SELECT latch_user_id FROM person_user WHERE property_id = ? AND pms_person_id = ?",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, r->d.property_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->d.pms_person_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(user, size, "%s", db_col_text(st, 0));
	sqlite3_finalize(st);
	return 0;
}

/* ---- requests ------------------------------------------------------- */

/* Has a newer run than this one been made for PROPERTY? */
static int property_superseded(struct load *l, const char *property)
{
	return json_object_get(l->newer, property) != NULL;
}

/* ledger_newer_runs() callback: remember and say that PROPERTY is NEWER's now. */
static int on_newer(const char *property, const char *newer, void *ctx)
{
	struct load *l = ctx;

	log_warn("property %s: run %s is newer than this one; this run's rows for it are "
		 "not sent",
		 property, newer);
	return json_object_set_new(l->newer, property, json_string(newer)) < 0;
}

/*
 * Name in a warning each property of the run that the safety guard holds
 * (manifest.json, not approved) and that this load would otherwise send
 * (--property, --shard, no newer run) but that has no row held back: a
 * night whose only news is a dropped column or a shrunken export exits as
 * a night with nothing to send (0), but says the property is held (new
 * user nu9: "0 held by the safety guard" and nothing else), as the
 * night's digest does (unitsync-notify(1)).
 */
static void held_properties(struct load *l)
{
	json_t *props = json_object_get(l->run.manifest, "properties"), *p, *n;
	const char *op;
	size_t i;

	if (l->approved)
		return;
	json_array_foreach(props, i, p)
	{
		const char *id = json_string_value(json_object_get(p, "property_id"));
		json_int_t rows = 0;

		json_object_foreach(json_object_get(p, "counts_by_op"), op, n) rows +=
			json_integer_value(n);
		if (!id || rows || (l->only_property && strcmp(l->only_property, id)) ||
		    !shard_has(&l->shard, id) || property_superseded(l, id) ||
		    !rundir_property_held(&l->run, id))
			continue;
		if (rundir_property_older(&l->run, id))
			log_warn("property %s is held by the safety guard, with nothing of it to send "
				 "tonight: " RUNDIR_OLDER_ADVICE,
				 id);
		else
			log_warn("property %s is held by the safety guard (see the run's "
				 "manifest.json), with nothing of it to send tonight",
				 id);
	}
}

/*
 * Say what to do about the L->held rows not sent (WOULD: a dry run's "would
 * not be sent"): a property held for an older export wants the current
 * export (rundir_property_older(): approved, the old file would be loaded:
 * review nu13 #1); any other hold, a review and `unitsync approve`.
 */
static void held_advice(struct load *l, int would)
{
	json_t *props = json_object_get(l->run.manifest, "properties"), *p;
	size_t i;
	int other = 0;

	json_array_foreach(props, i, p)
	{
		const char *id = json_string_value(json_object_get(p, "property_id"));

		if (!id || (l->only_property && strcmp(l->only_property, id)) ||
		    !shard_has(&l->shard, id) || property_superseded(l, id) ||
		    !rundir_property_held(&l->run, id))
			continue;
		if (rundir_property_older(&l->run, id))
			log_warn("property %s is held, its rows %s: " RUNDIR_OLDER_ADVICE, id,
				 would ? "would not be sent" : "not sent");
		else
			other = 1;
	}
	if (other)
		log_warn("%ld row%s of held properties %s; review the run and 'unitsync approve %s'",
			 l->held, l->held == 1 ? "" : "s",
			 would ? "would not be sent" : "were not sent", l->run.dir);
}

/* Find the properties of this run that a newer run has taken over. */
static int find_newer_runs(struct load *l)
{
	l->newer = json_object();
	return l->newer ? ledger_newer_runs(l->db, l->run.run_id, on_newer, l) : -1;
}

/*
 * Is the row's user looked up by phone: no e-mail, and a phone with digits
 * (one with none cannot match anyone: the user is created straight away;
 * one with too many fails its row when the lookup is built, in send_due)?
 */
static int has_phone(const struct delta_row *d)
{
	char digits[LATCH_PHONE_SIZE];

	return !*d->email && latch_phone_digits(d->phone, digits, sizeof(digits)) != 0;
}

/* The contract (lib/latch.h) of the request STEP sends. */
static enum latch_kind step_kind(enum step step)
{
	switch (step) {
	case STEP_CREATE:
	case STEP_REPLAY:
		return LATCH_USER_CREATE;
	case STEP_PUT:
		return LATCH_RESIDENT_PUT;
	case STEP_DELETE:
		return LATCH_RESIDENT_DELETE;
	case STEP_USER_GET:
		return LATCH_USER_GET;
	default:
		return LATCH_USERS_FIND;
	}
}

/* Make slot S's current step's request due now. */
static void make_due(struct slot *s, enum step step)
{
	s->step = step;
	s->due = 1;
	s->attempt = 0;
	s->token_retried = 0;
	s->wake = 0;
}

/* Forget the earlier bodies slot S gathered for its USER_CREATE (s->prior). */
static void free_prior(struct slot *s)
{
	for (size_t i = 0; i < s->n_prior; i++)
		free(s->prior[i].row.buf);
	free(s->prior);
	s->prior = NULL;
	s->n_prior = s->cap_prior = s->at_prior = 0;
}

/* Slot S holds no person any more (finished, abandoned on a stop or an error). */
static void slot_free_person(struct slot *s)
{
	free_prior(s);
	for (size_t i = 0; i < s->n; i++)
		free(s->rows[i].buf);
	s->n = s->cur = 0;
	s->busy = 0;
	s->step = STEP_NONE;
	s->due = 0;
	s->failed = 0;
	s->missing = 0;
	s->user[0] = '\0';
}

/* ---- Latch units ---------------------------------------------------- */

/* Will this load send rows of PROPERTY (its filters, supersession, guard)? */
static int property_sent(struct load *l, const char *property)
{
	return (!l->only_property || !strcmp(l->only_property, property)) &&
	       shard_has(&l->shard, property) && !property_superseded(l, property) &&
	       (l->approved || !rundir_property_held(&l->run, property));
}

/*
 * BUILDING's listing, ended with ST (its units in HAVE), as a units entry
 * of l->units into *ENTRY (new reference).  A building Latch does not
 * know is an entry with no units ("found" false): its properties' ASSIGNs
 * fail alone.  An exit code, logged: credentials refused 78, no usable
 * reply 75.  WHY is the listing's error (err_msg() when it ended).
 */
static int listed_building(struct load *l, const char *building, enum latchunits_status st,
			   const struct latchunits *have, const char *why, json_t **entry)
{
	json_t *set = json_object();
	int rc = US_EXIT_OK;

	for (size_t i = 0; st == LATCHUNITS_OK && set && i < have->n; i++)
		json_object_set_new(set, have->v[i].uuid, json_true());
	if (st == LATCHUNITS_OK)
		log_info("Latch building '%s': %zu units, %ld page%s", building, have->n,
			 have->pages, have->pages == 1 ? "" : "s");
	else if (st == LATCHUNITS_NOT_FOUND)
		log_error("%s: Latch has no building '%s': the ASSIGNs of its properties fail "
			  "(latch_unit_missing); see 'unitsync property show'",
			  why, building);
	else {
		if (st == LATCHUNITS_AUTH)
			snprintf(l->refused, sizeof(l->refused), "%s", why);
		rc = latchunits_exit_code(st);
		log_error("%s; nothing was sent%s", why,
			  rc == US_EXIT_TEMPFAIL ? ": rerun later" : "");
	}
	*entry = json_pack("{s:s, s:b, s:o}", "building", building, "found", st == LATCHUNITS_OK,
			   "units", set ? set : json_object());
	if (rc == US_EXIT_OK && !*entry) {
		log_error("out of memory");
		rc = US_EXIT_TEMPFAIL;
	}
	return rc;
}

/*
 * The buildings list_units() lists at once: each lister thread takes the
 * next building not taken and pages through it on a struct latch of its
 * own (its own connection) carrying the token fetched once for all.
 * Guarded by mu: next and stop.
 */
struct listing {
	pthread_mutex_t mu;
	size_t next;                    /* the next building to take */
	int stop;                       /* a listing failed: take no more */
	size_t n;                       /* buildings */
	char **building;                /* owned array of owned ids */
	struct latchunits *have;        /* owned, one a building */
	enum latchunits_status *status; /* one a building; LATCHUNITS_TEMPFAIL until listed */
	char (*why)[512];               /* a failed listing's err_msg() */
	int *listed;                    /* 1 once the building was listed (or failed) */
};

struct lister {
	struct listing *ls; /* borrowed */
	struct latch api;   /* owned: its own curl handle, a copy of the token */
	pthread_t thread;
	int started;
};

static void *lister_run(void *arg)
{
	struct lister *w = arg;
	struct listing *ls = w->ls;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&ls->mu);
		i = ls->stop ? ls->n : ls->next++;
		pthread_mutex_unlock(&ls->mu);
		if (i >= ls->n)
			break;
		ls->status[i] = latchunits_list(&w->api, ls->building[i], &ls->have[i]);
		if (ls->status[i] != LATCHUNITS_OK) {
			snprintf(ls->why[i], sizeof(ls->why[i]), "%s", err_msg());
			/* a failure stops the others; a building Latch lacks does not,
			 * nor does it take back another's stop */
			pthread_mutex_lock(&ls->mu);
			if (ls->status[i] != LATCHUNITS_NOT_FOUND)
				ls->stop = 1;
			pthread_mutex_unlock(&ls->mu);
		}
		ls->listed[i] = 1;
	}
	return NULL;
}

/*
 * List the buildings of LS, up to WORKERS at once.  The token is fetched
 * here first, once: a refused or unreachable token endpoint ends every
 * listing as the first building's would have (the same message), without
 * asking again.  -1 out of memory.
 */
static int list_buildings(struct load *l, struct listing *ls, int workers)
{
	struct lister *w;
	int n = 0;

	if (latch_token(&l->api) < 0) {
		char *e = latch_escape(&l->api, ls->building[0]);

		err_prefix("GET /v1/buildings/%s/units", e ? e : ls->building[0]);
		free(e);
		ls->status[0] = l->api.auth_failed ? LATCHUNITS_AUTH : LATCHUNITS_TEMPFAIL;
		snprintf(ls->why[0], sizeof(ls->why[0]), "%s", err_msg());
		ls->listed[0] = 1;
		return 0;
	}
	if (workers > (int)ls->n)
		workers = (int)ls->n;
	w = calloc((size_t)workers, sizeof(*w));
	if (!w)
		return -1;
	for (; n < workers; n++) {
		struct latch *a = &w[n].api;

		w[n].ls = ls;
		if (latch_init(a, l->api.cfg) < 0 || !(a->token = strdup(l->api.token)))
			break;
		a->token_expiry = l->api.token_expiry;
		a->token_generation = l->api.token_generation;
		a->timeout_ms = l->api.timeout_ms;
		a->deadline = l->api.deadline;
		a->stop = l->api.stop;
		a->max_attempts = l->api.max_attempts;
	}
	if (n == 0) {
		if (workers > 0)
			latch_release(&w[0].api);
		free(w);
		return -1;
	}
	/* the first lister is this thread; a thread that cannot start leaves its share to the others */
	for (int k = 1; k < n; k++)
		w[k].started = pthread_create(&w[k].thread, NULL, lister_run, &w[k]) == 0;
	lister_run(&w[0]);
	for (int k = 0; k < n; k++) {
		if (w[k].started)
			pthread_join(w[k].thread, NULL);
		l->api.requests += w[k].api.requests;
		latch_release(&w[k].api);
	}
	if (n < workers)
		latch_release(&w[n].api);
	free(w);
	return 0;
}

static void listing_release(struct listing *ls)
{
	for (size_t i = 0; i < ls->n; i++) {
		free(ls->building[i]);
		latchunits_release(&ls->have[i]);
	}
	free(ls->building);
	free(ls->have);
	free(ls->status);
	free(ls->why);
	free(ls->listed);
	pthread_mutex_destroy(&ls->mu);
}

/*
 * List, before any request leaves, the Latch units of the building of each
 * property this load sends ASSIGNs for (manifest counts), one paged listing
 * per building, up to --concurrency buildings at once (with 40 buildings
 * of 1,000 units, 400 pages: one after another they cost 400 round trips
 * before the first PUT): an ASSIGN to a unit not listed then fails as
 * latch_unit_missing unsent, and a person whose ASSIGNs all go to such
 * units gets no Latch user (only_missing_units()).  A property without a
 * Latch building is not checked (a warning says so): its missing units are
 * found by the PUT's 404 UNIT_NOT_FOUND, after the user was made.  The
 * outcomes are taken in the manifest's order, the first failure ending
 * the load as it would one listing after another.  An exit code, logged.
 */
static int list_units(struct load *l)
{
	json_t *props = json_object_get(l->run.manifest, "properties"), *p;
	json_t *by_building = json_object(), *building_of = json_object();
	struct listing ls = { .n = 0 };
	size_t n_props = json_array_size(props), i, *of = NULL;
	int rc = US_EXIT_OK;

	pthread_mutex_init(&ls.mu, NULL);
	l->units = json_object();
	ls.building = calloc(n_props + 1, sizeof(*ls.building));
	ls.have = calloc(n_props + 1, sizeof(*ls.have));
	ls.status = calloc(n_props + 1, sizeof(*ls.status));
	ls.why = calloc(n_props + 1, sizeof(*ls.why));
	ls.listed = calloc(n_props + 1, sizeof(*ls.listed));
	of = calloc(n_props + 1, sizeof(*of));
	if (!l->units || !by_building || !building_of || !ls.building || !ls.have || !ls.status ||
	    !ls.why || !ls.listed || !of) {
		log_error("out of memory");
		rc = US_EXIT_TEMPFAIL;
		goto out;
	}
	/* the buildings to list, each once, in the manifest's order; OF: the
	 * building of each property checked, n_props for none */
	json_array_foreach(props, i, p)
	{
		const char *id = json_string_value(json_object_get(p, "property_id"));
		json_t *assigns = json_object_get(json_object_get(p, "counts_by_op"), "ASSIGN");
		char *building = NULL;
		json_t *known;

		of[i] = n_props;
		if (!id || json_integer_value(assigns) <= 0 || !property_sent(l, id))
			continue;
		if (unitmap_property(l->db, id, &building) < 0) {
			log_error("%s", err_msg());
			rc = db_exit_code(l->db);
			goto out;
		}
		if (!building) {
			log_warn("property %s has no Latch building: its Latch units are not checked "
				 "before its residents' Latch users are made "
				 "('unitsync property set %s --latch-building UUID')",
				 id, id);
			continue;
		}
		known = json_object_get(building_of, building);
		if (known) {
			of[i] = (size_t)json_integer_value(known);
			free(building);
			continue;
		}
		latchunits_init(&ls.have[ls.n]);
		ls.status[ls.n] = LATCHUNITS_TEMPFAIL;
		json_object_set_new(building_of, building, json_integer((json_int_t)ls.n));
		of[i] = ls.n;
		ls.building[ls.n++] = building;
	}
	if (ls.n > 0 && list_buildings(l, &ls, l->connections) < 0) {
		log_error("out of memory");
		rc = US_EXIT_TEMPFAIL;
		goto out;
	}
	for (size_t b = 0; b < ls.n && rc == US_EXIT_OK; b++) {
		json_t *entry = NULL;

		/* a building not listed comes after a failure: the load ends there */
		if (!ls.listed[b])
			break;
		rc = listed_building(l, ls.building[b], ls.status[b], &ls.have[b], ls.why[b],
				     &entry);
		if (rc == US_EXIT_OK)
			json_object_set_new(by_building, ls.building[b], entry);
		else
			json_decref(entry);
	}
	/* each property checked gets its building's entry */
	json_array_foreach(props, i, p)
	{
		json_t *entry =
			of[i] < ls.n ? json_object_get(by_building, ls.building[of[i]]) : NULL;

		if (rc == US_EXIT_OK && entry)
			json_object_set(l->units,
					json_string_value(json_object_get(p, "property_id")),
					entry);
	}
out:
	free(of);
	listing_release(&ls);
	json_decref(building_of);
	json_decref(by_building);
	return rc;
}

/*
 * Is row R's Latch unit missing from its property's Latch building, as
 * listed at the start of this load?  1, with WHY (SIZE bytes) saying so;
 * 0 when it is there or the property is not checked.
 */
static int unit_missing(struct load *l, const struct row *r, char *why, size_t size)
{
	json_t *e = json_object_get(l->units, r->d.property_id);
	const char *b = json_string_value(json_object_get(e, "building"));

	if (!e || json_object_get(json_object_get(e, "units"), r->d.latch_unit_id))
		return 0;
	if (json_is_true(json_object_get(e, "found")))
		snprintf(why, size,
			 "Latch unit '%s' does not exist in Latch building '%s' of property '%s' "
			 "(listed at the start of this load): not sent",
			 r->d.latch_unit_id, b, r->d.property_id);
	else
		snprintf(why, size,
			 "Latch has no building '%s' (property '%s'): Latch unit '%s' not sent", b,
			 r->d.property_id, r->d.latch_unit_id);
	return 1;
}

/*
 * Slot S's current row is a USER_CREATE: do the person's ASSIGNs all go to
 * missing units (unit_missing())?  Then the user would be made for
 * nothing (a Latch user with no unit, and one more account to remove
 * later): 1, with WHY saying so.  0 when an ASSIGN goes to a unit Latch
 * has or was not checked, or when the person has no ASSIGN.
 */
static int only_missing_units(struct load *l, const struct slot *s, char *why, size_t size)
{
	const char *first = NULL;
	char tmp[512];
	long n = 0;

	for (size_t k = s->cur + 1; k < s->n; k++) {
		const struct row *r = &s->rows[k];

		if (r->d.op != DELTA_ASSIGN)
			continue;
		if (!unit_missing(l, r, tmp, sizeof(tmp)))
			return 0;
		if (!first)
			first = r->d.latch_unit_id;
		n++;
	}
	if (!n)
		return 0;
	snprintf(why, size,
		 "no Latch user made: the %ld Latch unit%s to assign (first '%s') %s not in the "
		 "property's Latch building",
		 n, n == 1 ? "" : "s", first, n == 1 ? "is" : "are");
	return 1;
}

/*
 * The first request of USER_CREATE row D (journal state STATE; LENT: its
 * key is an earlier run's unconfirmed create's).  With an e-mail, a first
 * send creates at once: POST /v1/users answers 409 EMAIL_ALREADY_EXISTS
 * for an e-mail a user has, in any letter case (../shared/DESIGN.md §9),
 * and the user is then looked up (STEP_RELOOKUP): one request for a new
 * resident instead of two, the same user for a known one.  It looks up
 * first when a POST of this person may have left before with another body
 * under the same key (a resumed row, a lent key: Latch would answer 422
 * IDEMPOTENCY_KEY_REUSED, not the user), and for a phone alone (a phone
 * has no 409: a second user would be made).
 */
static enum step first_user_step(const struct delta_row *d, const char *state, int lent)
{
	if (*d->email)
		return !strcmp(state, "pending") && !lent ? STEP_CREATE : STEP_LOOKUP;
	return has_phone(d) ? STEP_LOOKUP : STEP_CREATE;
}

/*
 * Move slot S to its next row that needs a request, journaling those that
 * need none (already done, failed before, held, another property).  Frees
 * the slot when the person is finished.
 */
static int advance_rows(struct load *l, struct slot *s)
{
	for (; s->cur < s->n; s->cur++) {
		struct row *r = &s->rows[s->cur];
		char state[16], why[512];
		int lent;

		if ((l->only_property && strcmp(l->only_property, r->d.property_id)) ||
		    !shard_has(&l->shard, r->d.property_id))
			continue;
		if (property_superseded(l, r->d.property_id)) {
			/* a newer run of this property decided afresh: this one must not act */
			l->superseded++;
			report_row(l, r, "superseded", 0, "a newer run of this property exists",
				   NULL);
			continue;
		}
		if (!l->approved && rundir_property_held(&l->run, r->d.property_id)) {
			l->held++;
			continue;
		}
		if (stop_requested) {
			l->tempfail = 1;
			break;
		}
		if (journal_state(l, r, state, sizeof(state)) < 0)
			return -1;
		if (!strcmp(state, "done")) {
			l->already++;
			if (r->d.op == DELTA_USER_CREATE &&
			    person_user(l, r, s->user, sizeof(s->user)) < 0)
				return -1;
			continue;
		}
		if (!strcmp(state, "failed")) {
			s->failed = 1;
			l->failed++;
			report_row(l, r, "failed", 0, "failed in an earlier load", NULL);
			continue;
		}
		if (!strcmp(state, "superseded")) {
			/* a newer run of this property decided afresh: this one must not act */
			l->superseded++;
			report_row(l, r, "superseded", 0, "a newer run of this property exists",
				   NULL);
			s->failed = 1;
			continue;
		}
		/* before the person's failure: a missing unit is told as such */
		if (r->d.op == DELTA_ASSIGN && unit_missing(l, r, why, sizeof(why))) {
			if (fail_row(l, s, r, 0, why, "latch_unit_missing") < 0)
				return -1;
			continue;
		}
		if (s->failed || (s->missing && r->d.op == DELTA_UNASSIGN)) {
			if (fail_row(l, s, r, 0, "an earlier row of this person failed", NULL) < 0)
				return -1;
			continue;
		}
		if (r->d.op != DELTA_USER_CREATE && !*s->user &&
		    person_user(l, r, s->user, sizeof(s->user)) < 0)
			return -1;
		if (r->d.op != DELTA_USER_CREATE && !*s->user) {
			if (fail_row(l, s, r, 0,
				     "the person has no Latch user (USER_CREATE missing or failed)",
				     NULL) < 0)
				return -1;
			continue;
		}
		if (r->d.op == DELTA_USER_CREATE && only_missing_units(l, s, why, sizeof(why))) {
			if (fail_row(l, s, r, 0, why, "latch_unit_missing") < 0)
				return -1;
			continue;
		}
		/* a first send: an earlier run's unconfirmed create lends its key */
		lent = 0;
		if (r->d.op == DELTA_USER_CREATE && !strcmp(state, "pending") &&
		    (lent = take_unconfirmed_key(l, r)) < 0)
			return -1;
		/* journaled inflight by pump(), just before the request leaves */
		s->inflight = 0;
		if (r->d.op == DELTA_USER_CREATE)
			make_due(s, first_user_step(&r->d, state, lent));
		else
			make_due(s, r->d.op == DELTA_ASSIGN ? STEP_PUT : STEP_DELETE);
		return 0;
	}
	/* the person is finished (or abandoned on a stop) */
	slot_free_person(s);
	return 0;
}

/*
 * advance_rows(), and on a journal error (the database locked past the
 * busy timeout, read-only, full) abandon the person and free the slot: a
 * slot left busy with nothing due would keep apply() waiting for ever
 * (issue 16).  Their rows stay as journaled; a rerun resumes them.
 */
static int advance(struct load *l, struct slot *s)
{
	if (advance_rows(l, s) == 0)
		return 0;
	l->fatal = 1;
	if (!s->in_multi)
		slot_free_person(s);
	return -1;
}

/* The body of POST /v1/users for row D (malloc'd JSON, compact), or NULL
 * when a field is not UTF-8: what load sends and what --dry-run prints. */
static char *user_body(const struct delta_row *d)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "firstName", d->first_name, "lastName",
				d->last_name, "email", d->email, "phone", d->phone);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;

	json_decref(req);
	return body;
}

/*
 * The Latch user row R of slot S is for: the one the row names (transform
 * wrote the pair's user), else the person's (made or found by their
 * USER_CREATE in this load, or recorded).  The UNASSIGN of a pair held on
 * another user than the one made for the person tonight (a reused PMS id:
 * the former tenant's) goes to that user: sent for the new one, Latch
 * answered 404 (nothing to remove) and the former tenant kept the key
 * while the ledger recorded it removed (reviewer, 2026-12-06).
 */
static const char *row_user(const struct slot *s, const struct row *r)
{
	return *r->d.latch_user_id ? r->d.latch_user_id : s->user;
}

/*
 * The Latch user S->user that row R's lookup found by its e-mail or phone:
 * is it recorded for another resident, of another name than R's (the name
 * the user was made for, migration 14)?  Latch holds one user per e-mail:
 * taking it would put two people on one account, each with a key to the
 * other's home (a departed tenant's e-mail given to a newcomer, a replayed
 * create recorded the same night).  1 yes (that one in OTHER), 0 no, -1 a
 * database error.
 */
static int found_for_other(struct load *l, const struct slot *s, const struct row *r, char *other,
			   size_t size)
{
	char *name = rules_name_key_new(r->d.first_name, r->d.last_name);
	int held;

	if (!name)
		return -1;
	/* no name: unknown, like no other (not a name every holder's differs from) */
	held = *name ? ledger_user_holder(&l->ledger, s->user, r->d.property_id, r->d.pms_person_id,
					  name, other, size)
		     : 0;
	free(name);
	return held;
}

/* Build and hand the due request of slot S to curl multi: 0 sent, 1 the
 * row cannot be sent (err_set()), -1 no token or curl failed. */
static int send_due(struct load *l, struct slot *s)
{
	const struct row *r = &s->rows[s->cur];
	char path[2048], *body = NULL, *u = NULL, *p = NULL;
	const char *method = "GET";
	const char *key = r->key;
	char digits[LATCH_PHONE_SIZE];
	int rc = -1, len = 0;

	switch (s->step) {
	case STEP_LOOKUP:
	case STEP_RELOOKUP:
		key = NULL; /* a read: nothing to make idempotent */
		if (*r->d.email) {
			u = curl_easy_escape(s->easy, r->d.email, 0);
			len = snprintf(path, sizeof(path), "/v1/users?email=%s", u ? u : "");
			break;
		}
		if (latch_phone_digits(r->d.phone, digits, sizeof(digits)) < 0) {
			rc = 1; /* this row only */
			goto out;
		}
		u = curl_easy_escape(s->easy, digits, 0);
		len = snprintf(path, sizeof(path), "/v1/users?phone=%s", u ? u : "");
		break;
	case STEP_CREATE:
	case STEP_REPLAY:
		method = "POST";
		len = snprintf(path, sizeof(path), "/v1/users");
		body = user_body(s->step == STEP_REPLAY ? &s->prior[s->at_prior].row.d : &r->d);
		if (!body) {
			/* jansson refuses strings that are not UTF-8: this row only */
			err_set("the user's fields cannot be sent as JSON (not UTF-8?)");
			rc = 1;
			goto out;
		}
		break;
	case STEP_USER_GET:
		key = NULL; /* a read */
		u = curl_easy_escape(s->easy, s->user, 0);
		len = snprintf(path, sizeof(path), "/v1/users/%s", u ? u : "");
		break;
	case STEP_PUT:
	case STEP_DELETE:
		method = s->step == STEP_PUT ? "PUT" : "DELETE";
		u = curl_easy_escape(s->easy, r->d.latch_unit_id, 0);
		p = curl_easy_escape(s->easy, row_user(s, r), 0);
		len = snprintf(path, sizeof(path), "/v1/units/%s/residents/%s", u ? u : "",
			       p ? p : "");
		break;
	case STEP_NONE:
		goto out;
	}
	/* an id curl could not escape */
	if (s->step != STEP_CREATE && s->step != STEP_REPLAY &&
	    (!u || ((s->step == STEP_PUT || s->step == STEP_DELETE) && !p))) {
		err_set("out of memory");
		goto out;
	}
	/* a cut path would address another resource: this row only */
	if (len < 0 || (size_t)len >= sizeof(path)) {
		err_set("the row's ids make a request path over %zu bytes: not sent",
			sizeof(path) - 1);
		rc = 1;
		goto out;
	}
	if (latch_call_prepare(&l->api, &s->call, s->easy, method, path, body, key) < 0) {
		if (l->api.auth_failed)
			l->fatal = 1;
		else
			l->tempfail = 1;
		goto out;
	}
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	if (curl_multi_add_handle(l->multi, s->easy) != CURLM_OK) {
		err_set("cannot start a request");
		goto out;
	}
	s->in_multi = 1;
	s->due = 0;
	s->attempt++;
	rc = 0;
out:
	curl_free(u);
	curl_free(p);
	free(body);
	return rc;
}

/* ---- a borrowed key Latch holds for another body -------------------- */

static int row_key(const char *delta_sha256, long seq, const char *run_id, char out[65]);
static int copy_row(const struct delta_row *d, const struct rundir *run, struct row *out);

/* Does row R carry a borrowed key (an earlier run's unconfirmed USER_CREATE's), not its own? */
static int key_borrowed(const struct load *l, const struct row *r)
{
	char own[65];

	return row_key(l->run.delta_sha256, r->d.seq, l->run.run_id, own) == 0 &&
	       strcmp(own, r->key) != 0;
}

/* Who row D describes, for messages: "name 'A B', e-mail 'x', phone 'y'" (the fields it has). */
static void contact_text(const struct delta_row *d, char *out, size_t size)
{
	snprintf(out, size, "name '%s%s%s'%s%s%s%s%s%s", d->first_name,
		 *d->first_name && *d->last_name ? " " : "", d->last_name,
		 *d->email ? ", e-mail '" : "", d->email, *d->email ? "'" : "",
		 *d->phone ? ", phone '" : "", d->phone, *d->phone ? "'" : "");
}

/* delta_read callback of earlier_row(): copy row SEQ, then stop. */
struct find_row {
	long seq;
	const struct rundir *run;
	struct row *out;
	int found;
};

static int on_prior_row(const struct delta_row *d, void *ctx)
{
	struct find_row *f = ctx;

	if (d->seq != f->seq)
		return 0;
	if (d->op != DELTA_USER_CREATE) {
		err_set("%s: row %ld is no USER_CREATE", f->run->delta_path, d->seq);
		return -1;
	}
	if (copy_row(d, f->run, f->out) < 0)
		return -1;
	f->found = 1;
	return -1; /* nothing more to read */
}

/*
 * Row SEQ of run RUN_ID's delta, read from its run directory DIR (checked as
 * load checks its own: checksums, ownership, the digests this database
 * recorded) into OUT: 0, or -1 with err_set() saying why it cannot be had.
 */
static int earlier_row(struct load *l, const char *run_id, const char *dir, long seq,
		       struct row *out)
{
	struct rundir rd;
	struct find_row f = { seq, &rd, out, 0 };
	int rc = -1;

	if (rundir_open(&rd, dir) < 0)
		goto out;
	if (strcmp(rd.run_id, run_id)) {
		err_set("run directory '%s' holds run '%s', not '%s'", dir, rd.run_id, run_id);
		goto out;
	}
	if (rundir_check_recorded(&rd, l->db) < 0)
		goto out;
	if (delta_read_fd(rd.delta_fd, rd.delta_path, on_prior_row, &f) == 0)
		err_set("%s: no row %ld", rd.delta_path, seq);
	rc = f.found ? 0 : -1;
out:
	rundir_release(&rd);
	return rc;
}

/* ledger_key_senders() callback of replay_earlier(): keep each earlier body
 * that is neither the row's own nor one kept already. */
struct senders {
	struct load *l;
	struct slot *s;
	char *mine;    /* the row's body, owned */
	char why[512]; /* why an earlier body could not be read ("" if all could) */
};

static int on_sender(const char *run_id, long seq, const char *run_dir, void *ctx)
{
	struct senders *g = ctx;
	struct slot *s = g->s;
	struct earlier e = { .row = { .buf = NULL } };
	char *body = NULL;
	int same;

	if (earlier_row(g->l, run_id, run_dir, seq, &e.row) < 0) {
		if (!*g->why)
			snprintf(g->why, sizeof(g->why), "%s", err_msg());
		free(e.row.buf);
		return 0;
	}
	snprintf(e.run, sizeof(e.run), "%s", run_id);
	body = user_body(&e.row.d);
	same = !body || !strcmp(body, g->mine);
	for (size_t k = 0; k < s->n_prior && !same; k++) {
		char *b = user_body(&s->prior[k].row.d);

		same = b && !strcmp(b, body);
		free(b);
	}
	free(body);
	if (same) {
		free(e.row.buf);
		return 0;
	}
	if (mem_grow((void **)&s->prior, s->n_prior, &s->cap_prior, sizeof(*s->prior), 2) < 0) {
		free(e.row.buf);
		return -1;
	}
	s->prior[s->n_prior++] = e;
	return 0;
}

static int undecided(struct slot *s, const char *why, char *detail, size_t size);

/*
 * Slot S's USER_CREATE was refused 422 IDEMPOTENCY_KEY_REUSED under a
 * borrowed key: Latch holds the key for a request an earlier run sent with
 * another body (the resident's e-mail, phone or name changed since).  That
 * request's outcome is unknown to unitsync: it may have made a Latch user
 * for the resident.  The bodies sent before under the key (ledger_key_senders(),
 * each from its run directory) are gathered; sent again under the same key,
 * the one Latch holds is replayed, applying nothing (the 422 shows the key
 * is held), and its reply tells what that request did (on_done(),
 * STEP_REPLAY).  0: STEP_REPLAY is due; 1: nothing to replay, DETAIL (SIZE
 * bytes) says why and how to fix it; -1 on a database error or out of memory.
 */
static int replay_earlier(struct load *l, struct slot *s, char *detail, size_t size)
{
	const struct row *r = &s->rows[s->cur];
	struct senders g = { l, s, user_body(&r->d), "" };
	char run[64] = "", key[LEDGER_KEY_SIZE] = "";
	int rc = -1;

	free_prior(s);
	if (!g.mine) {
		err_set("out of memory");
		goto out;
	}
	/* the run the key is of: nothing sent it before that run */
	if (ledger_unconfirmed_create(&l->ledger, r->d.property_id, r->d.pms_person_id, run,
				      sizeof(run), key) < 0)
		goto out;
	if (strcmp(key, r->key))
		run[0] = '\0';
	if (ledger_key_senders(&l->ledger, r->d.property_id, r->d.pms_person_id, r->key, run,
			       on_sender, &g) < 0)
		goto out;
	if (s->n_prior == 0) {
		rc = undecided(s,
			       *g.why ? g.why
				      : "no earlier request under it had another body than this one",
			       detail, size);
		goto out;
	}
	log_info("row %ld USER_CREATE %s/%s: Latch holds the borrowed Idempotency-Key for "
		 "another body (the resident's contact changed since run %s sent it): replaying "
		 "the earlier request%s to learn what it did",
		 r->d.seq, r->d.property_id, r->d.pms_person_id, s->prior[0].run,
		 s->n_prior > 1 ? "s" : "");
	make_due(s, STEP_REPLAY);
	rc = 0;
out:
	free(g.mine);
	return rc;
}

/* DETAIL for a USER_CREATE whose borrowed key Latch holds for a request
 * unitsync cannot replay (WHY): the resident, the contact sent before
 * (when known) and now, and what a person does about it.  Returns 1. */
static int undecided(struct slot *s, const char *why, char *detail, size_t size)
{
	const struct row *r = &s->rows[s->cur];
	char was[600] = "not known", now[600], digits[LATCH_PHONE_SIZE];
	const char *fix;

	if (s->n_prior)
		contact_text(&s->prior[0].row.d, was, sizeof(was));
	contact_text(&r->d, now, sizeof(now));
	if (*r->d.email)
		fix = "give the Latch user made for them (GET /v1/users?email= with the earlier "
		      "e-mail) the new e-mail (PATCH /v1/users/{user}), or create one with it: "
		      "the next run finds it by e-mail and records it";
	else if (latch_phone_digits(r->d.phone, digits, sizeof(digits)) > 0)
		fix = "give the Latch user made for them the new phone (PATCH /v1/users/{user}), "
		      "or create one with it: the next run finds it by phone and records it";
	else
		fix = "give the resident an e-mail (or a phone with digits) in the PMS, and the "
		      "Latch user made for them, if any, the same: the next run finds it";
	snprintf(detail, size,
		 "resident %s/%s: Latch holds this USER_CREATE's Idempotency-Key (borrowed from "
		 "an earlier run's request left unconfirmed) for another request (422 "
		 "IDEMPOTENCY_KEY_REUSED) and %s, so whether Latch made them a user cannot be "
		 "told; contact sent before: %s; now: %s; to fix: %s%s",
		 r->d.property_id, r->d.pms_person_id, why, was, now,
		 s->n_prior ? ""
			    : "restore that run directory (the next run replays its request), or ",
		 fix);
	return 1;
}

/*
 * The replayed earlier request (slot S's at_prior) made Latch user
 * s->user (its reply, HTTP STATUS, replayed by key), which GET
 * /v1/users/{user} showed still exists: the resident's user.
 * Recorded as the row's effect with the contact it was made with (so that
 * transform reports an e-mail changed since as email_mismatch, as for any
 * known user), the earlier rows under the key settled with that answer,
 * and the journal saying so.  Inside the load's transaction.
 */
static int adopt_replayed(struct load *l, struct slot *s, long status)
{
	const struct row *r = &s->rows[s->cur];
	const struct earlier *e = &s->prior[s->at_prior];
	struct delta_row d = r->d;
	char was[600], now[600], note[1600], settled[256];

	d.email = e->row.d.email;
	d.phone = e->row.d.phone;
	contact_text(&e->row.d, was, sizeof(was));
	contact_text(&r->d, now, sizeof(now));
	snprintf(note, sizeof(note),
		 "Latch user %s was made by run %s's USER_CREATE (%s), replayed under its "
		 "Idempotency-Key (HTTP %ld): recorded for the resident, now %s",
		 s->user, e->run, was, status, now);
	snprintf(settled, sizeof(settled), "replayed by run %s: made Latch user %s", l->run.run_id,
		 s->user);
	log_warn("row %ld USER_CREATE %s/%s: %s", r->d.seq, r->d.property_id, r->d.pms_person_id,
		 note);
	if (tx_begin(l) < 0 ||
	    ledger_settle_key(&l->ledger, r->d.property_id, r->d.pms_person_id, r->key, status,
			      settled) < 0 ||
	    ledger_record_effect(&l->ledger, &d, status, s->user, 0) < 0)
		return -1;
	return journal_set(l, r->d.seq, "done", status, note, s->user, NULL);
}

/*
 * The replayed earlier request (HTTP STATUS) left the resident no user:
 * refused as sent (409 EMAIL_ALREADY_EXISTS, 400), or its user deleted
 * since; WHAT says which.  The earlier rows under the borrowed key are
 * settled with that answer, and the row goes on under its own key
 * (journaled before it leaves, in this transaction): the resident is
 * created as they are now, from scratch.
 */
static int rekey(struct load *l, struct slot *s, long status, const char *what)
{
	struct row *r = &s->rows[s->cur];
	const struct earlier *e = &s->prior[s->at_prior];
	char note[512];

	snprintf(note, sizeof(note), "replayed by run %s: HTTP %ld: %s", l->run.run_id, status,
		 what);
	log_warn("row %ld USER_CREATE %s/%s: run %s's USER_CREATE, replayed under its "
		 "Idempotency-Key (HTTP %ld): %s; sent with this row's own key",
		 r->d.seq, r->d.property_id, r->d.pms_person_id, e->run, status, what);
	if (tx_begin(l) < 0 ||
	    ledger_settle_key(&l->ledger, r->d.property_id, r->d.pms_person_id, r->key, status,
			      note) < 0 ||
	    row_key(l->run.delta_sha256, r->d.seq, l->run.run_id, r->key) < 0 ||
	    journal_set(l, r->d.seq, "inflight", 0, NULL, NULL, r->key) < 0)
		return -1;
	free_prior(s);
	make_due(s, STEP_CREATE);
	return 0;
}

/*
 * A request of slot S completed (CODE from curl): retry it, move to the
 * next step, or settle the row.  The wait before a retry is
 * latch_backoff()'s, the one backoff of every caller: full jitter,
 * Retry-After honoured up to LATCH_MAX_RETRY_AFTER.
 */
static int on_done(struct load *l, struct slot *s, CURLcode code)
{
	struct row *r = &s->rows[s->cur];
	struct latch_resp *resp = &s->call.resp;
	char detail[2048] = "";
	const char *kind = NULL; /* the exception kind of a failure, when it has one */
	enum latch_verdict verdict;
	long status;
	int found;

	curl_multi_remove_handle(l->multi, s->easy);
	s->in_multi = 0;
	latch_call_finish(&s->call, s->easy, (int)code);
	status = resp->status;
	if ((status == 401 || status == 403) && !s->token_retried) {
		/* the token expired early (or was forgotten): a new one, and this request once more */
		latch_token_expired(&l->api, s->call.token_generation);
		s->token_retried = 1;
		s->due = 1;
		s->wake = 0;
		return 0;
	}
	if (status == 401 || status == 403) {
		/*
		 * Refused with a fresh token: the credentials, not the row.  The
		 * load stops (exit 78) and the row stays inflight (it was sent),
		 * the person's other rows as they were: neither failed nor done.
		 */
		latch_reply_check(step_kind(s->step), resp, NULL);
		if (!l->fatal)
			snprintf(l->refused, sizeof(l->refused), "row %ld %s %s/%s: %s %s",
				 r->d.seq, delta_op_name(r->d.op), r->d.property_id,
				 r->d.pms_person_id, latch_kind_name(step_kind(s->step)),
				 err_msg());
		l->fatal = 1;
		s->cur = s->n;
		return advance(l, s);
	}
	if (latch_retryable(resp)) {
		double wait = latch_backoff(s->attempt, resp->retry_after);

		if (s->attempt >= l->max_attempts || now_s() + wait > l->deadline ||
		    stop_requested) {
			/* why this load stops trying: a signal, its --budget, or its tries */
			const char *why = s->attempt >= l->max_attempts ? "giving up for this load"
					  : stop_requested              ? "stopped by a signal"
							   : "out of --budget before the next try";
			char last[160];

			if (status)
				snprintf(last, sizeof(last), "HTTP %ld", status);
			else
				snprintf(last, sizeof(last), "%s", resp->error);
			log_limited(&l->give_ups,
				    "row %ld %s %s/%s: %s after %d attempt%s (the last: %s); a "
				    "rerun resumes it",
				    r->d.seq, delta_op_name(r->d.op), r->d.property_id,
				    r->d.pms_person_id, why, s->attempt, s->attempt == 1 ? "" : "s",
				    last);
			l->tempfail = 1;
			s->cur = s->n; /* abandon the person; the row stays inflight */
			return advance(l, s);
		}
		s->due = 1;
		s->wake = now_s() + wait;
		return 0;
	}
	/*
	 * Every reply is untrusted: a body over LATCH_MAX_BODY, malformed
	 * JSON, a wrong type or a missing field fails the row with the reason
	 * (lib/latch.h parsers); it never creates a user on a lookup it could
	 * not read, nor takes an assignment it cannot attribute for its own.
	 */
	if (resp->truncated) {
		snprintf(detail, sizeof(detail), "HTTP %ld reply longer than %d bytes: not read",
			 status, LATCH_MAX_BODY);
		goto failed;
	}
	/* success is what lib/latch.h's contract table says, status and body */
	verdict = latch_reply_check(step_kind(s->step), resp,
				    s->step == STEP_PUT        ? row_user(s, r)
				    : s->step == STEP_USER_GET ? s->user
							       : NULL);
	if (verdict != LATCH_REPLY_OK && verdict != LATCH_REPLY_ALREADY)
		snprintf(detail, sizeof(detail), "%s: %s", latch_kind_name(step_kind(s->step)),
			 err_msg());
	switch (s->step) {
	case STEP_LOOKUP:
	case STEP_RELOOKUP:
		if (verdict != LATCH_REPLY_OK)
			break;
		found = *r->d.email
				? latch_parse_user_match(resp->body, resp->len, r->d.email, s->user,
							 sizeof(s->user))
				: latch_parse_user_phone_match(resp->body, resp->len, r->d.phone,
							       s->user, sizeof(s->user));
		if (found < 0) {
			/* two users with the e-mail or phone among them: never guess */
			snprintf(detail, sizeof(detail), "GET /v1/users: malformed reply: %s",
				 err_msg());
			break;
		}
		if (found == 0) {
			char other[2 * LATCH_MAX_ID + 8];
			int held = found_for_other(l, s, r, other, sizeof(other));

			if (held < 0)
				return -1;
			/* one account for two people is never taken: a person decides */
			if (!held)
				goto done;
			snprintf(detail, sizeof(detail),
				 "Latch user %s, found by %s '%s', is recorded for %s, a person of "
				 "another name: not taken for two people; give each their own "
				 "e-mail or phone in the PMS (or make the names match if they are "
				 "one person)",
				 s->user, *r->d.email ? "e-mail" : "phone",
				 *r->d.email ? r->d.email : r->d.phone, other);
			s->user[0] = '\0';
			break;
		}
		if (s->step == STEP_RELOOKUP) {
			snprintf(detail, sizeof(detail),
				 "409 EMAIL_ALREADY_EXISTS but no user has that e-mail");
			break;
		}
		make_due(s, STEP_CREATE);
		return 0;
	case STEP_CREATE:
		if (status == 409 && !strcmp(latch_error_code(resp), "EMAIL_ALREADY_EXISTS") &&
		    *r->d.email) {
			make_due(s, STEP_RELOOKUP);
			return 0;
		}
		/* a borrowed key Latch holds for another body: what did that request do? */
		if (status == 422 && !strcmp(latch_error_code(resp), "IDEMPOTENCY_KEY_REUSED") &&
		    key_borrowed(l, r)) {
			int rc = replay_earlier(l, s, detail, sizeof(detail));

			if (rc <= 0)
				return rc;
			break;
		}
		if (verdict != LATCH_REPLY_OK)
			break;
		if (latch_parse_user_uuid(resp->body, resp->len, s->user, sizeof(s->user)) == 0)
			goto done;
		snprintf(detail, sizeof(detail), "POST /v1/users: malformed reply: %s", err_msg());
		break;
	case STEP_REPLAY:
		/* not the body Latch holds: the next one */
		if (status == 422 && !strcmp(latch_error_code(resp), "IDEMPOTENCY_KEY_REUSED")) {
			if (++s->at_prior < s->n_prior) {
				make_due(s, STEP_REPLAY);
				return 0;
			}
			s->at_prior = 0;
			undecided(s, "none of the earlier bodies sent under it is the one it holds",
				  detail, sizeof(detail));
			break;
		}
		/* that request made this user: the resident's */
		if (verdict == LATCH_REPLY_OK) {
			if (latch_parse_user_uuid(resp->body, resp->len, s->user, sizeof(s->user)) <
			    0) {
				snprintf(detail, sizeof(detail),
					 "POST /v1/users (replayed): malformed reply: %s",
					 err_msg());
				break;
			}
			/* does it still exist (not deleted by hand since)? */
			s->replayed = status;
			make_due(s, STEP_USER_GET);
			return 0;
		}
		/* refused as sent: it made nothing */
		if (status == 400 ||
		    (status == 409 && !strcmp(latch_error_code(resp), "EMAIL_ALREADY_EXISTS"))) {
			char what[128];

			snprintf(what, sizeof(what), "%s: no Latch user made",
				 latch_error_code(resp));
			return rekey(l, s, status, what);
		}
		break;
	case STEP_USER_GET:
		if (verdict == LATCH_REPLY_OK) {
			char other[2 * LATCH_MAX_ID + 8];
			int held =
				ledger_user_holder(&l->ledger, s->user, r->d.property_id,
						   r->d.pms_person_id, NULL, other, sizeof(other));

			if (held < 0)
				return -1;
			/* made for this resident, but another one's since (matched by
			 * the e-mail it was made with): one account for two people is
			 * never taken; a person decides */
			if (held) {
				snprintf(detail, sizeof(detail),
					 "Latch user %s, made for this resident by run %s's "
					 "USER_CREATE (replayed under its Idempotency-Key), is "
					 "recorded for %s since: not taken for two people; check "
					 "in Latch whether they are one person",
					 s->user, s->prior[s->at_prior].run, other);
				s->user[0] = '\0';
				break;
			}
			if (adopt_replayed(l, s, s->replayed) < 0)
				return -1;
			l->done++;
			s->cur++;
			s->step = STEP_NONE;
			free_prior(s);
			return advance(l, s);
		}
		/* the user it made was deleted since: as if it had made none */
		if (status == 404 && !strcmp(latch_error_code(resp), "USER_NOT_FOUND")) {
			char what[LATCH_MAX_ID + 128];

			snprintf(what, sizeof(what),
				 "made Latch user %s, deleted since (GET 404 USER_NOT_FOUND)",
				 s->user);
			s->user[0] = '\0';
			return rekey(l, s, s->replayed, what);
		}
		break;
	case STEP_PUT:
		if (verdict == LATCH_REPLY_UNIT_MISSING)
			kind = "latch_unit_missing"; /* the mapping names no unit Latch has */
		if (verdict != LATCH_REPLY_OK)
			break;
		if (status == 201) {
			/* created by this request, the reply the resident: ours */
			s->manual = 0;
			goto done;
		}
		if (status == 200) {
			char by[LATCH_MAX_ID + 1];

			/* already there: ours to remove later only if we made it */
			if (latch_parse_assigned_by(resp->body, resp->len, by, sizeof(by)) < 0) {
				snprintf(detail, sizeof(detail),
					 "PUT: malformed reply, cannot tell who made the "
					 "assignment: %s",
					 err_msg());
				break;
			}
			s->manual = l->api.cfg->client_id && strcmp(by, l->api.cfg->client_id) != 0;
			goto done;
		}
		break;
	case STEP_DELETE:
		/* 204, or 404 RESIDENT_NOT_FOUND: already gone, which is what we wanted;
		 * nothing else, or a former tenant keeps a key while the journal says done */
		if (verdict == LATCH_REPLY_OK || verdict == LATCH_REPLY_ALREADY)
			goto done;
		break;
	case STEP_NONE:
		break;
	}
failed:
	if (fail_row(l, s, r, status, detail, kind) < 0)
		return -1;
	s->cur++;
	s->step = STEP_NONE;
	return advance(l, s);
done:
	if (record_done(l, r, status, row_user(s, r), s->step == STEP_PUT && s->manual) < 0)
		return -1;
	s->manual = 0;
	l->done++;
	s->cur++;
	s->step = STEP_NONE;
	return advance(l, s);
}

/* May a request leave now under --rate?  Token bucket, burst of one per slot. */
static int take_token(struct load *l, double now, double *wait)
{
	if (l->rate <= 0)
		return 1;
	l->bucket += (now - l->bucket_at) * l->rate;
	l->bucket_at = now;
	/* a burst of one request per connection */
	if (l->bucket > l->connections)
		l->bucket = l->connections;
	if (l->bucket >= 1) {
		l->bucket -= 1;
		return 1;
	}
	*wait = (1 - l->bucket) / l->rate;
	return 0;
}

/* Requests handed to curl multi and not yet settled by on_done(). */
static int in_multi(const struct load *l)
{
	int n = 0;

	for (int i = 0; i < l->n_slots; i++)
		n += l->slots[i].in_multi;
	return n;
}

/*
 * One turn of the event loop: send what is due, committing what the
 * journal learned (the last turn's results, this turn's inflight marks)
 * in one transaction before anything leaves; wait for traffic; settle
 * what completed.  Curl is handed at most one request a connection: a
 * request beyond them waits in its slot, not in curl's queue, where curl
 * would set it up twice (once to find no connection free, once when one
 * is), 23% of curl's instructions (docs/PERFORMANCE.md, issue 18: load
 * without latency).  Slots are offered a connection in turn, from the
 * one after the last slot sent.
 */
static int pump(struct load *l)
{
	double now = now_s(), wait = 1.0;
	int running, n, sent, handed = in_multi(l), first = l->next_slot;
	CURLMsg *m;

	/* a token fetch (a blocking exchange, retried) holds no write lock */
	if (!latch_token_valid(&l->api) && tx_commit(l) < 0)
		return -1;
	for (int k = 0; k < l->n_slots; k++) {
		int i = (first + k) % l->n_slots;
		struct slot *s = &l->slots[i];
		double w;

		if (!s->busy || !s->due || s->in_multi)
			continue;
		if (stop_requested || l->fatal || now >= l->deadline) {
			/* settle only what is already in flight; the budget bounds the load */
			if (!l->fatal)
				l->tempfail = 1;
			s->cur = s->n;
			if (advance(l, s) < 0)
				return -1;
			continue;
		}
		if (s->wake > now) {
			if (s->wake - now < wait)
				wait = s->wake - now;
			continue;
		}
		if (handed >= l->connections)
			continue; /* every connection has a request: curl wakes the poll */
		if (!take_token(l, now, &w)) {
			if (w < wait)
				wait = w;
			continue;
		}
		/* no token (refused: fatal; unreachable: tempfail) stops the whole load */
		sent = send_due(l, s);
		if (sent < 0)
			return -1;
		if (sent == 0) {
			handed++;
			l->next_slot = (i + 1) % l->n_slots;
		}
		if (sent > 0) {
			if (fail_row(l, s, &s->rows[s->cur], 0, err_msg(), NULL) < 0)
				return -1;
			s->cur++;
			s->step = STEP_NONE;
			s->due = 0;
			if (advance(l, s) < 0)
				return -1;
		}
	}
	/*
	 * The rows whose requests are about to leave are journaled inflight
	 * (with their keys) and committed before curl sends anything; a row
	 * whose request never left (no token, a stop) stays as it was.
	 */
	for (int i = 0; i < l->n_slots; i++) {
		struct slot *s = &l->slots[i];
		const struct row *r;

		if (!s->in_multi || s->inflight)
			continue;
		r = &s->rows[s->cur];
		if (tx_begin(l) < 0 ||
		    journal_set(l, r->d.seq, "inflight", 0, NULL, NULL, r->key) < 0)
			return -1;
		s->inflight = 1;
	}
	if (tx_commit(l) < 0)
		return -1;
	if (curl_multi_perform(l->multi, &running) != CURLM_OK) {
		err_set("curl multi failed");
		return -1;
	}
	/*
	 * Wait only while every request handed to curl is still running: one
	 * that this perform completed is settled at once (waiting for the
	 * next reply, or for WAIT when it was the last one, left a finished
	 * load idle for a second).
	 */
	if (running == in_multi(l) && (running || wait > 0))
		curl_multi_poll(l->multi, NULL, 0, (int)(wait * 1000) + 1, NULL);
	curl_multi_perform(l->multi, &running);
	while ((m = curl_multi_info_read(l->multi, &n))) {
		struct slot *s = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		if (on_done(l, s, m->data.result) < 0)
			return -1;
	}
	return 0;
}

static int any_busy(const struct load *l)
{
	for (int i = 0; i < l->n_slots; i++)
		if (l->slots[i].busy)
			return 1;
	return 0;
}

/* Hand the person read so far (l->pending) to a free slot. */
static int submit(struct load *l)
{
	struct slot *free_slot = NULL;

	if (l->pending.n == 0)
		return 0;
	while (!free_slot) {
		for (int i = 0; i < l->n_slots && !free_slot; i++)
			if (!l->slots[i].busy)
				free_slot = &l->slots[i];
		if (!free_slot && pump(l) < 0)
			return -1;
	}
	free(free_slot->rows);
	free_slot->rows = l->pending.rows;
	free_slot->n = l->pending.n;
	free_slot->cap = l->pending.cap;
	free_slot->cur = 0;
	free_slot->busy = 1;
	l->pending.rows = NULL;
	l->pending.n = l->pending.cap = 0;
	return advance(l, free_slot);
}

/*
 * The Idempotency-Key of row SEQ: hex SHA-256 of "DELTA_SHA256:SEQ:RUN_ID".
 * The run id is in it, not only the delta checksum and seq, because
 * two runs can have byte-identical deltas (a person moving out and
 * back in), and Latch must not take the second for a retry of the first.
 */
static int row_key(const char *delta_sha256, long seq, const char *run_id, char out[65])
{
	char src[256];

	snprintf(src, sizeof(src), "%s:%ld:%s", delta_sha256, seq, run_id);
	return sha256_hex(src, strlen(src), out);
}

/* Copy delta row D (valid only during the callback) into a struct row. */
static int copy_row(const struct delta_row *d, const struct rundir *run, struct row *out)
{
	const char *src[] = { d->property_id,   d->pms_unit_id, d->latch_unit_id, d->pms_person_id,
			      d->latch_user_id, d->reason,      d->group_id,      d->effective_date,
			      d->email,         d->phone,       d->first_name,    d->last_name };
	const char **dst[] = { &out->d.property_id,   &out->d.pms_unit_id,    &out->d.latch_unit_id,
			       &out->d.pms_person_id, &out->d.latch_user_id,  &out->d.reason,
			       &out->d.group_id,      &out->d.effective_date, &out->d.email,
			       &out->d.phone,         &out->d.first_name,     &out->d.last_name };
	size_t total = 0, at = 0;

	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		total += strlen(src[i]) + 1;
	out->buf = malloc(total);
	if (!out->buf) {
		err_set("out of memory");
		return -1;
	}
	out->d.seq = d->seq;
	out->d.op = d->op;
	out->d.line = d->line;
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		size_t n = strlen(src[i]) + 1;

		memcpy(out->buf + at, src[i], n);
		*dst[i] = out->buf + at;
		at += n;
	}
	return row_key(run->delta_sha256, d->seq, run->run_id, out->key);
}

/*
 * --dry-run: print what load would do with row D, from the journal and the
 * runs as they are, writing nothing (the database is opened query_only):
 * the request with the Idempotency-Key it would carry (the key journaled
 * for the row, or borrowed from an earlier unconfirmed USER_CREATE), or
 * why it would not be sent.
 */
static int preview_row(struct load *l, const struct delta_row *d)
{
	char key[LEDGER_KEY_SIZE], state[16] = "", run[64];
	const char *why = NULL;
	int found, lent = 0;

	if ((l->only_property && strcmp(l->only_property, d->property_id)) ||
	    !shard_has(&l->shard, d->property_id))
		return 0;
	row_key(l->run.delta_sha256, d->seq, l->run.run_id, key);
	found = ledger_journal_get(&l->ledger, d->seq, key, state, sizeof(state));
	if (found < 0)
		return -1;
	/* counted as advance_rows() counts them: the preview exits as the load would */
	if (property_superseded(l, d->property_id)) {
		why = "superseded by a newer run: not sent";
		l->superseded++;
	} else if (!l->approved && rundir_property_held(&l->run, d->property_id)) {
		why = "held by the safety guard: not sent until approved";
		l->held++;
	} else if (!strcmp(state, "done"))
		why = "already done: not sent again";
	else if (!strcmp(state, "failed")) {
		why = "failed in an earlier load: not sent again";
		l->failed++;
	} else if (!strcmp(state, "superseded")) {
		why = "superseded: not sent";
		l->superseded++;
	} else if (!strcmp(state, "inflight"))
		why = "sent before without a known answer: sent again";
	else if (!found && d->op == DELTA_USER_CREATE &&
		 (lent = ledger_unconfirmed_create(&l->ledger, d->property_id, d->pms_person_id,
						   run, sizeof(run), key)) < 0)
		return -1;
	/* what would be sent, escaped as it would be: a name in the export
	 * cannot forge a line of the preview or reach the terminal raw */
	if (d->op == DELTA_USER_CREATE) {
		char digits[LATCH_PHONE_SIZE] = "";
		char *body = user_body(d), *q = NULL;
		int create = first_user_step(d, found ? state : "pending", lent) == STEP_CREATE;

		if (*d->email && !(q = curl_easy_escape(NULL, d->email, 0))) {
			err_set("out of memory");
			free(body);
			return -1;
		}
		if (q && !create)
			printf("%ld GET /v1/users?email=%s, then if absent ", d->seq, q);
		else if (!q && latch_phone_digits(d->phone, digits, sizeof(digits)) > 0)
			printf("%ld GET /v1/users?phone=%s, then if absent ", d->seq, digits);
		else
			printf("%ld ", d->seq);
		printf("POST /v1/users %s Idempotency-Key: %s",
		       body ? body : "(not sent: a field is not UTF-8)", key);
		if (q && create)
			printf(", then if 409 GET /v1/users?email=%s", q);
		curl_free(q);
		free(body);
	} else {
		char *u = curl_easy_escape(NULL, d->latch_unit_id, 0);
		char *p = *d->latch_user_id ? curl_easy_escape(NULL, d->latch_user_id, 0) : NULL;

		printf("%ld %s /v1/units/%s/residents/%s Idempotency-Key: %s", d->seq,
		       d->op == DELTA_ASSIGN ? "PUT" : "DELETE", u ? u : "",
		       p ? p : "{user of the person}", key);
		curl_free(u);
		curl_free(p);
	}
	if (why)
		printf(" (%s)", why);
	putchar('\n');
	return 0;
}

/* The delta_read callback: gather each person's rows (and each transfer
 * group's), then submit them. */
static int on_row(const struct delta_row *d, void *vl)
{
	struct load *l = vl;
	struct slot *p = &l->pending;

	if (l->dry_run) {
		if (preview_row(l, d) < 0) {
			l->stopped = 1;
			return -1;
		}
		return 0;
	}
	if (stop_requested || l->fatal) {
		l->stopped = 1;
		return -1;
	}
	/* a person's rows, and a transfer group's (one group_id: a resident
	 * re-keyed as they moved has two person ids in it), go as one person:
	 * the old unit is never removed when the new one was not granted */
	if (p->n && (strcmp(p->rows[0].d.property_id, d->property_id) ||
		     (strcmp(p->rows[0].d.pms_person_id, d->pms_person_id) &&
		      (!*d->group_id || strcmp(p->rows[p->n - 1].d.group_id, d->group_id))))) {
		if (submit(l) < 0) {
			l->stopped = 1;
			return -1;
		}
		progress_update(&l->progress, settled(l));
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		struct row *rows = realloc(p->rows, cap * sizeof(*rows));

		if (!rows) {
			err_set("out of memory");
			l->stopped = 1;
			return -1;
		}
		p->rows = rows;
		p->cap = cap;
	}
	if (copy_row(d, &l->run, &p->rows[p->n]) < 0) {
		l->stopped = 1;
		return -1;
	}
	p->n++;
	return 0;
}

/* Apply the whole delta; -1 on a fatal error (credentials, database). */
static int apply(struct load *l)
{
	json_t *rows = json_object_get(l->run.manifest, "delta_rows");
	int rc = -1;

	progress_start(&l->progress, "load", "rows", l->dry_run ? 0 : json_integer_value(rows));

	if (delta_read_fd(l->run.delta_fd, l->run.delta_path, on_row, l) < 0) {
		if (!l->stopped)
			return -2; /* the delta itself is malformed */
		if (stop_requested) {
			l->tempfail = 1;
			err_set("stopped by a signal; rerun to resume");
		} else if (!l->fatal && !l->tempfail) {
			l->fatal = 1; /* the database or memory: nothing a rerun fixes by itself */
		}
	} else if (!l->dry_run && submit(l) < 0) {
		goto out;
	}
	while (!l->dry_run && any_busy(l)) {
		if (pump(l) < 0)
			goto out;
		progress_update(&l->progress, settled(l));
	}
	if (tx_commit(l) < 0)
		goto out;
	rc = l->fatal ? -1 : 0;
out:
	if (l->in_tx) {
		/* keep what was learned: results and inflight marks are facts */
		tx_commit(l);
	}
	progress_end(&l->progress);
	log_limit_end(&l->failures, "rows failed (all in load-report.csv)");
	log_limit_end(&l->give_ups, "rows left for a rerun");
	return rc;
}

/*
 * CONCURRENCY connections; four times as many people in flight, so that a
 * person waiting out a backoff does not hold a connection idle (the
 * others' requests wait for a connection in their slots, pump()).
 */
static int load_setup(struct load *l, int concurrency)
{
	l->connections = concurrency;
	l->n_slots = concurrency * 4;
	l->slots = calloc((size_t)l->n_slots, sizeof(*l->slots));
	l->multi = curl_multi_init();
	if (!l->slots || !l->multi) {
		err_set("out of memory");
		return -1;
	}
	curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)concurrency);
	curl_multi_setopt(l->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)concurrency);
	for (int i = 0; i < l->n_slots; i++) {
		l->slots[i].easy = curl_easy_init();
		if (!l->slots[i].easy) {
			err_set("cannot initialise libcurl");
			return -1;
		}
	}
	l->bucket = 1;
	l->bucket_at = now_s();
	/* each request's buffers (curl's, the reply's, SQLite's) are freed and
	 * made again: a heap given back after each faulted its pages in again
	 * for the next (brk: ~5% of the loader's time without latency) */
	mem_keep_heap(MEM_HEAP_KEEP);
	return 0;
}

static void load_release(struct load *l)
{
	for (int i = 0; l->slots && i < l->n_slots; i++) {
		struct slot *s = &l->slots[i];

		if (s->in_multi)
			curl_multi_remove_handle(l->multi, s->easy);
		latch_call_release(&s->call);
		free_prior(s);
		for (size_t k = 0; k < s->n; k++)
			free(s->rows[k].buf);
		free(s->rows);
		if (s->easy)
			curl_easy_cleanup(s->easy);
	}
	for (size_t k = 0; k < l->pending.n; k++)
		free(l->pending.rows[k].buf);
	free(l->pending.rows);
	free(l->slots);
	if (l->multi)
		curl_multi_cleanup(l->multi);
	ledger_release(&l->ledger);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "property", required_argument, NULL, 'p' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "max-attempts", required_argument, NULL, 'm' },
		{ "budget", required_argument, NULL, 'b' },
		{ "shard", required_argument, NULL, 'k' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct config cfg = { 0 };
	struct load l = { .max_attempts = 8 };
	struct dur_file report = { 0 };
	struct db_checkpointer ckpt = { 0 };
	int rc = US_EXIT_USAGE, opt, concurrency = 16, budget = 900, api_ready = 0, applied, known;
	char path[PATH_MAX + 32];
	struct sigaction sa;

	cli_common_init(&cli, "unitsync-load", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c, *target;

		switch (opt) {
		case 'n':
			l.dry_run = 1;
			break;
		case 'p':
			l.only_property = optarg;
			break;
		case 'k':
			if (shard_parse(optarg, &l.shard) < 0) {
				cli_usage_error(&cli, "--shard: %s", err_msg());
				goto out;
			}
			break;
		case 'c':
		case 'm':
		case 'b':
			target = opt == 'c' ? &concurrency : opt == 'm' ? &l.max_attempts : &budget;
			if (cli_parse_uint(optarg, target) < 0 || *target < 1 ||
			    (opt == 'c' && *target > 256)) {
				cli_usage_error(&cli, "--%s takes a whole number%s, not '%s'",
						opt == 'c'   ? "concurrency"
						: opt == 'm' ? "max-attempts"
							     : "budget",
						opt == 'c' ? " from 1 to 256" : " from 1", optarg);
				goto out;
			}
			break;
		case 'r':
			if (cli_parse_number(optarg, 0, 1e6, &l.rate) < 0) {
				cli_usage_error(&cli, "--rate takes requests per second, not '%s'",
						optarg);
				goto out;
			}
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				rc = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	if (optind + 1 != argc) {
		cli_usage_error(&cli, optind >= argc ? "no RUN_DIR given"
						     : "more than one RUN_DIR given");
		goto out;
	}
	if (rundir_open(&l.run, argv[optind]) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_DATAERR;
		goto out;
	}
	/* one loader per run: a second one would send the same requests side by side */
	if (!l.dry_run && rundir_lock(&l.run) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_TEMPFAIL;
		goto out;
	}
	rc = US_EXIT_CONFIG;
	if (config_load(&cfg, cli.config_path) < 0 ||
	    (!l.dry_run && config_require_latch(&cfg) < 0)) {
		log_error("%s", err_msg());
		goto out;
	}
	if (db_open(cli.db_path, 0, &l.db) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(NULL);
		goto out;
	}
	/* a preview changes nothing: SQLite itself refuses any write (issue 17) */
	if (l.dry_run && db_exec(l.db, "PRAGMA query_only = ON") < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(l.db);
		goto out;
	}
	/* SIGTERM must not wait out a lock held by another process */
	db_busy_stop_on(l.db, &stop_requested);
	/* a mistyped --property would send nothing and read as a load done */
	if (l.only_property && (known = stg_property_known(l.db, l.only_property)) < 0) {
		log_error("%s", err_msg());
		rc = known == -1 ? db_exit_code(l.db) : US_EXIT_DATAERR;
		goto out;
	}
	ledger_init(&l.ledger, l.db, l.run.run_id);
	/* the run must be one this database made, unchanged since */
	l.approved = rundir_check_recorded(&l.run, l.db);
	if (l.approved < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_DATAERR;
		goto out;
	}
	if (find_newer_runs(&l) < 0) {
		log_error("%s", err_msg());
		rc = db_exit_code(l.db);
		goto out;
	}
	if (!l.dry_run) {
		if (latch_init(&l.api, &cfg) < 0 || load_setup(&l, concurrency) < 0) {
			log_error("%s", err_msg());
			goto out;
		}
		api_ready = 1;
		/* a checkpoint inside a journal commit would stall every request in flight */
		if (db_checkpointer_start(&ckpt, l.db, cli.db_path) < 0)
			log_warn("%s", err_msg());
		snprintf(path, sizeof(path), "%s/load-report.csv", l.run.dir);
		/* what a killed load left half-written goes */
		dur_clean_stale(l.run.dir, "load-report.csv");
		if (dur_open(&report, path, 0640) < 0) {
			log_error("%s", err_msg());
			goto out;
		}
		l.report = report.fp;
		fputs("seq,op,property_id,pms_person_id,state,http_status,detail,exception\n",
		      l.report);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	l.deadline = now_s() + budget;
	l.api.deadline = l.deadline;  /* the token fetch included */
	l.api.stop = &stop_requested; /* SIGTERM: requests in flight get LATCH_STOP_GRACE s */
	l.api.max_attempts = l.max_attempts; /* the token's tries too */
	if (!l.dry_run) {
		rc = list_units(&l);
		if (rc != US_EXIT_OK)
			goto out;
	}

	applied = apply(&l);
	if (applied == -2) {
		log_error("%s", err_msg());
		rc = US_EXIT_DATAERR;
		goto out;
	}
	if (applied < 0) {
		int db_rc = db_exit_code(l.db);

		log_error("%s", *l.refused ? l.refused : err_msg());
		/* refused credentials are configuration (78); a database busy with
		 * another writer, or full, is a bad moment, not bad config */
		rc = *l.refused                                   ? US_EXIT_CONFIG
		     : (l.tempfail && !l.fatal) || stop_requested ? US_EXIT_TEMPFAIL
								  : db_rc;
		if (rc == US_EXIT_TEMPFAIL && db_rc == US_EXIT_TEMPFAIL)
			log_error("state database '%s' is locked by another process (or full): "
				  "nothing more was sent; rerun to resume",
				  cli.db_path);
		goto out;
	}
	held_properties(&l);
	rc = outcome_code(&l);
	if (l.dry_run) {
		if (l.superseded)
			log_warn("%ld row%s would not be sent: superseded by a newer run "
				 "(the load would exit 1)",
				 l.superseded, l.superseded == 1 ? "" : "s");
		if (l.failed)
			log_warn("%ld row%s failed in an earlier load and would not be sent again "
				 "(the load would exit 1)",
				 l.failed, l.failed == 1 ? "" : "s");
		if (l.held && rundir_preview_error(l.run.dir))
			/* a preview is approved by nobody: the night run for real is (nu12 #4) */
			log_warn("%ld row%s of held properties would not be sent; the run made "
				 "without --dry-run is held alike, and approved then",
				 l.held, l.held == 1 ? "" : "s");
		else if (l.held)
			held_advice(&l, 1);
		goto out;
	}
	printf("run %s: %ld done, %ld already done, %ld failed, %ld held by the safety guard, "
	       "%ld superseded (%ld requests sent)\n",
	       l.run.run_id, l.done, l.already, l.failed, l.held, l.superseded, l.api.requests);
	{
		static const char *const names[] = {
			[US_EXIT_OK] = "done", [US_EXIT_FAILED] = "failed", [US_EXIT_HELD] = "held"
		};
		const char *status = rc == US_EXIT_TEMPFAIL ? "incomplete" : names[rc];

		/* an outcome that could not be recorded (the database locked past
		 * the busy timeout) is the database's exit code: a rerun records it */
		if (db_begin(l.db) < 0 || ledger_run_loaded(l.db, l.run.run_id, status) < 0 ||
		    db_commit(l.db) < 0) {
			log_error("recording the load's outcome: %s", err_msg());
			rc = db_exit_code(l.db);
			db_rollback(l.db);
		}
	}
	if (l.tempfail) {
		/* what stopped it first: a signal, the budget, else the API (each
		 * row given up said its own last answer) */
		if (stop_requested)
			log_warn("stopped by a signal before every row was sent; rerun to resume");
		else if (now_s() >= l.deadline)
			log_warn("out of --budget before every row was sent; rerun to resume");
		else
			log_warn(
				"the Latch API was unavailable or retries ran out; rerun to resume");
	}
	if (l.held)
		held_advice(&l, 0);
out:
	if (report.fp && dur_commit(&report) < 0)
		log_warn("%s", err_msg());
	load_release(&l);
	db_checkpointer_stop(&ckpt);
	if (!stop_requested && !l.dry_run)
		db_checkpoint(l.db); /* the end of the stage: the WAL goes back to zero */
	json_decref(l.newer);
	json_decref(l.units);
	if (api_ready)
		latch_release(&l.api);
	rundir_release(&l.run);
	config_release(&cfg);
	db_close(l.db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
