/*
 * unitsync-load - apply a run directory to the Latch API, exactly once
 * (DESIGN.md §8).
 *
 * Every delta row has a journal row in the state database.  Before a
 * request leaves, its row is marked inflight and committed; after a 2xx
 * the row is marked done in the same transaction that records the effect
 * (the Latch user matched or created, the assignment made or removed).  A
 * load killed at any moment therefore resumes where it stopped: done rows
 * are skipped, inflight rows are sent again with the same Idempotency-Key
 * (hex SHA-256 of "DELTA_SHA256:SEQ"), so Latch applies each effect once.
 *
 * Rows are applied in delta order, which is per person USER_CREATE, then
 * ASSIGN, then UNASSIGN (make before break for transfers).  A person whose
 * USER_CREATE or ASSIGN failed has the rest of their rows failed too: a
 * transfer never removes the old unit when the new one was not granted.
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
#include "log.h"
#include "rundir.h"
#include "sha256.h"

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
	"usage: unitsync load RUN_DIR [--dry-run] [--property P] [--concurrency N] [--rate R]\n"
	"\n"
	"Apply a run directory's delta to the Latch API; resumable, each effect applied once.\n"
	"\n"
	"  --dry-run                print the requests without sending them\n"
	"  --property P             only the rows of property P\n"
	"  --concurrency N          parallel connections (accepted; this version sends one at a time)\n"
	"  --rate R                 at most R requests per second (default: unlimited)\n"
	"  --max-attempts N         tries per request before giving up for this load (default 8)\n"
	"  --budget SECONDS         stop retrying after this long; rerun resumes (default 900)\n"
	"  --config FILE            Latch settings (default $UNITSYNC_CONFIG)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* What one load does and has done. */
struct load {
	sqlite3 *db;               /* borrowed */
	struct rundir run;         /* the verified run directory */
	struct latch api;          /* the HTTP client */
	const char *only_property; /* --property or NULL */
	int dry_run;
	double rate; /* requests per second; 0 = unlimited */
	int max_attempts;
	time_t deadline;           /* retry budget end */
	struct timespec next_send; /* token bucket: earliest next request */
	char fail_person[512];     /* "property\x1fperson" whose earlier row failed */
	long done, failed, skipped_held, already;
	int tempfail;                       /* retries exhausted or API unreachable */
	int approved;                       /* `unitsync approve` released the held properties */
	int stopped;                        /* a row could neither be applied nor failed */
	sqlite3_stmt *jget, *jput, *jstate; /* journal statements, owned */
	FILE *report;                       /* load-report.csv being written, borrowed */
};

/* ---- journal -------------------------------------------------------- */

static int journal_prepare(struct load *l)
{
	return db_prepare(l->db,
			  "INSERT INTO journal (run_id, seq, op, idempotency_key, state, updated_at) "
			  "VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
			  &l->jput) < 0 ||
			       db_prepare(l->db,
					  "SELECT state, latch_user_id FROM journal WHERE run_id = ? AND seq = ?",
					  &l->jget) < 0 ||
			       db_prepare(l->db,
					  "UPDATE journal SET state = ?3, http_status = ?4, response = ?5, "
					  "latch_user_id = coalesce(?6, latch_user_id), "
					  "attempts = attempts + (?3 = 'inflight'), updated_at = ?7 "
					  "WHERE run_id = ?1 AND seq = ?2",
					  &l->jstate) < 0
		       ? -1
		       : 0;
}

/* The journal state of row SEQ, creating it as pending on first sight. */
static int journal_state(struct load *l, const struct delta_row *r, const char *key, char *state,
			 size_t size)
{
	char now[32];

	db_now(now, sizeof(now));
	sqlite3_reset(l->jput);
	sqlite3_bind_text(l->jput, 1, l->run.run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(l->jput, 2, r->seq);
	sqlite3_bind_text(l->jput, 3, delta_op_name(r->op), -1, SQLITE_STATIC);
	sqlite3_bind_text(l->jput, 4, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(l->jput, 5, now, -1, SQLITE_STATIC);
	if (sqlite3_step(l->jput) != SQLITE_DONE)
		goto db_error;
	sqlite3_reset(l->jget);
	sqlite3_bind_text(l->jget, 1, l->run.run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(l->jget, 2, r->seq);
	if (sqlite3_step(l->jget) != SQLITE_ROW)
		goto db_error;
	snprintf(state, size, "%s", db_col_text(l->jget, 0));
	return 0;
db_error:
	err_set("journal: %s", sqlite3_errmsg(l->db));
	return -1;
}

/* Set row SEQ's state; autocommitted unless the caller holds a transaction. */
static int journal_set(struct load *l, long seq, const char *state, long http_status,
		       const char *response, const char *user)
{
	char now[32];

	db_now(now, sizeof(now));
	sqlite3_reset(l->jstate);
	sqlite3_bind_text(l->jstate, 1, l->run.run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(l->jstate, 2, seq);
	sqlite3_bind_text(l->jstate, 3, state, -1, SQLITE_STATIC);
	if (http_status)
		sqlite3_bind_int64(l->jstate, 4, http_status);
	else
		sqlite3_bind_null(l->jstate, 4);
	db_bind_text_or_null(l->jstate, 5, response);
	db_bind_text_or_null(l->jstate, 6, user);
	sqlite3_bind_text(l->jstate, 7, now, -1, SQLITE_STATIC);
	if (sqlite3_step(l->jstate) != SQLITE_DONE) {
		err_set("journal: %s", sqlite3_errmsg(l->db));
		return -1;
	}
	return 0;
}

/* Run SQL with text parameters (NULL-terminated list); for small updates. */
static int exec_params(sqlite3 *db, const char *sql, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	const char *v;
	int i = 1, rc = -1;

	if (db_prepare(db, sql, &st) < 0)
		return -1;
	va_start(ap, sql);
	while ((v = va_arg(ap, const char *)) != NULL)
		sqlite3_bind_text(st, i++, v, -1, SQLITE_TRANSIENT);
	va_end(ap);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	else
		err_set("database: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

/*
 * Mark row R done and record its effect in one transaction: the journal
 * and the applied state never disagree.
 */
static int commit_done(struct load *l, const struct delta_row *r, long status, const char *user)
{
	char now[32], seq[32];
	int rc = -1;

	db_now(now, sizeof(now));
	snprintf(seq, sizeof(seq), "%ld", r->seq);
	if (db_exec(l->db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (journal_set(l, r->seq, "done", status, NULL, user) < 0)
		goto out;
	switch (r->op) {
	case DELTA_USER_CREATE:
		if (exec_params(l->db,
				"INSERT INTO person_user (property_id, pms_person_id, latch_user_id, email, "
				"updated_at) VALUES (?1, ?2, ?3, nullif(?4, ''), ?5) "
				"ON CONFLICT (property_id, pms_person_id) DO UPDATE SET "
				"latch_user_id = ?3, email = nullif(?4, ''), updated_at = ?5",
				r->property_id, r->pms_person_id, user, r->email, now, NULL) < 0)
			goto out;
		break;
	case DELTA_ASSIGN:
		if (exec_params(
			    l->db,
			    "INSERT INTO assignment (property_id, pms_person_id, latch_unit_id, pms_unit_id, "
			    "latch_user_id, run_id, seq, assigned_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
			    "ON CONFLICT DO UPDATE SET pms_unit_id = ?4, latch_user_id = ?5, run_id = ?6, "
			    "seq = ?7, assigned_at = ?8",
			    r->property_id, r->pms_person_id, r->latch_unit_id, r->pms_unit_id,
			    user, l->run.run_id, seq, now, NULL) < 0)
			goto out;
		break;
	case DELTA_UNASSIGN:
		if (exec_params(l->db,
				"DELETE FROM assignment WHERE property_id = ? AND pms_person_id = ? "
				"AND latch_unit_id = ?",
				r->property_id, r->pms_person_id, r->latch_unit_id, NULL) < 0)
			goto out;
		break;
	}
	if (db_exec(l->db, "COMMIT") < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		db_exec(l->db, "ROLLBACK");
	return rc;
}

/* ---- requests ------------------------------------------------------- */

/* Token bucket of one request per 1/rate seconds (bursts of one). */
static void pace(struct load *l)
{
	struct timespec now;

	if (l->rate <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < l->next_send.tv_sec ||
	    (now.tv_sec == l->next_send.tv_sec && now.tv_nsec < l->next_send.tv_nsec)) {
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &l->next_send, NULL);
		now = l->next_send;
	}
	{
		long long ns = (long long)(1e9 / l->rate);

		l->next_send.tv_sec = now.tv_sec + (time_t)(ns / 1000000000LL);
		l->next_send.tv_nsec = now.tv_nsec + (long)(ns % 1000000000LL);
		if (l->next_send.tv_nsec >= 1000000000L) {
			l->next_send.tv_sec++;
			l->next_send.tv_nsec -= 1000000000L;
		}
	}
}

/* Sleep MS milliseconds unless a stop is requested. */
static void nap(long ms)
{
	while (ms > 0 && !stop_requested) {
		long step = ms > 200 ? 200 : ms;
		struct timespec ts = { step / 1000, (step % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/*
 * Send one request, retrying what DESIGN.md §8 calls temporary with
 * full-jitter exponential backoff (AWS architecture blog, "Exponential
 * Backoff and Jitter"), honouring Retry-After.  Returns 0 with a final
 * reply in RESP, or -1 when retries ran out (l->tempfail set).
 */
static int send_retrying(struct load *l, const char *method, const char *path, const char *body,
			 const char *key, struct latch_resp *resp)
{
	for (int attempt = 0;; attempt++) {
		long cap_ms, wait_ms;

		pace(l);
		if (latch_request(&l->api, method, path, body, key, resp) < 0 &&
		    !resp->curl_error) {
			/* no token: refused credentials are for a person to fix (78);
			 * an unreachable token endpoint is for a rerun (75) */
			if (!l->api.auth_failed)
				l->tempfail = 1;
			return -1;
		}
		if (!latch_retryable(resp))
			return 0;
		if (attempt + 1 >= l->max_attempts || time(NULL) >= l->deadline || stop_requested) {
			log_warn("%s %s: giving up for now after %d attempts (%s)", method, path,
				 attempt + 1, resp->status ? "HTTP error" : resp->error);
			l->tempfail = 1;
			return -1;
		}
		cap_ms = 250L << (attempt < 7 ? attempt : 7);
		if (cap_ms > 30000)
			cap_ms = 30000;
		wait_ms = random() % (cap_ms + 1);
		if (resp->retry_after >= 0)
			wait_ms = (resp->retry_after > 300 ? 300 : resp->retry_after) * 1000L;
		log_debug("%s %s: %ld %s, retrying in %ld ms", method, path, resp->status,
			  resp->error, wait_ms);
		latch_resp_free(resp);
		nap(wait_ms);
	}
}

/* The Latch user whose e-mail is EMAIL (any letter case), into OUT. */
static int find_user(struct load *l, const char *email, char *out, size_t size, long *status)
{
	char *esc = latch_escape(&l->api, email);
	char path[1024];
	struct latch_resp resp;
	json_t *j = NULL, *users, *u;
	size_t i;
	int rc = -1;

	out[0] = '\0';
	if (!esc) {
		err_set("out of memory");
		return -1;
	}
	snprintf(path, sizeof(path), "/v1/users?email=%s", esc);
	free(esc);
	if (send_retrying(l, "GET", path, NULL, NULL, &resp) < 0)
		goto out;
	*status = resp.status;
	if (resp.status != 200) {
		err_set("GET /v1/users answered %ld %s", resp.status, latch_error_code(&resp));
		goto out;
	}
	j = json_loads(resp.body, 0, NULL);
	users = json_object_get(j, "users");
	if (!json_is_array(users)) {
		err_set("GET /v1/users: reply has no users array");
		goto out;
	}
	json_array_foreach(users, i, u)
	{
		const char *e = json_string_value(json_object_get(u, "email"));
		const char *id = json_string_value(json_object_get(u, "userUuid"));

		if (e && id && !strcasecmp(e, email)) {
			snprintf(out, size, "%s", id);
			break;
		}
	}
	rc = 0;
out:
	json_decref(j);
	latch_resp_free(&resp);
	return rc;
}

/*
 * USER_CREATE: match an existing Latch user by e-mail, else create one;
 * 409 EMAIL_ALREADY_EXISTS means someone created it meanwhile: match again.
 */
static int user_create(struct load *l, const struct delta_row *r, const char *key, char *user,
		       size_t size, long *status, char *detail, size_t dsize)
{
	struct latch_resp resp = { 0 };
	json_t *req = NULL, *rep = NULL;
	char *body = NULL;
	int rc = -1;

	if (*r->email) {
		if (find_user(l, r->email, user, size, status) < 0)
			goto out;
		if (*user) {
			rc = 0;
			goto out;
		}
	}
	req = json_pack("{s:s, s:s, s:s, s:s}", "firstName", r->first_name, "lastName",
			r->last_name, "email", r->email, "phone", r->phone);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body) {
		err_set("out of memory");
		goto out;
	}
	if (send_retrying(l, "POST", "/v1/users", body, key, &resp) < 0)
		goto out;
	*status = resp.status;
	if (resp.status == 409 && !strcmp(latch_error_code(&resp), "EMAIL_ALREADY_EXISTS") &&
	    *r->email) {
		if (find_user(l, r->email, user, size, status) < 0)
			goto out;
		rc = *user ? 0 : 1;
		if (rc)
			snprintf(detail, dsize,
				 "409 EMAIL_ALREADY_EXISTS but no user has that e-mail");
		goto out;
	}
	if (resp.status != 200 && resp.status != 201) {
		snprintf(detail, dsize, "%.200s", resp.body ? resp.body : "");
		rc = 1;
		goto out;
	}
	rep = json_loads(resp.body, 0, NULL);
	if (!json_is_string(json_object_get(rep, "userUuid"))) {
		snprintf(detail, dsize, "reply has no userUuid");
		rc = 1;
		goto out;
	}
	snprintf(user, size, "%s", json_string_value(json_object_get(rep, "userUuid")));
	rc = 0;
out:
	json_decref(req);
	json_decref(rep);
	free(body);
	latch_resp_free(&resp);
	return rc;
}

/* The Latch user of a person, as User Sync recorded it. */
static int person_user(struct load *l, const struct delta_row *r, char *user, size_t size)
{
	sqlite3_stmt *st = NULL;

	user[0] = '\0';
	if (*r->latch_user_id) {
		snprintf(user, size, "%s", r->latch_user_id);
		return 0;
	}
	if (db_prepare(l->db,
		       "SELECT latch_user_id FROM person_user WHERE property_id = ? AND pms_person_id = ?",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, r->property_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->pms_person_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(user, size, "%s", db_col_text(st, 0));
	sqlite3_finalize(st);
	return 0;
}

static void report_row(struct load *l, const struct delta_row *r, const char *state, long status,
		       const char *detail)
{
	char seq[32], st[32];
	const char *f[7];

	snprintf(seq, sizeof(seq), "%ld", r->seq);
	snprintf(st, sizeof(st), "%ld", status);
	f[0] = seq;
	f[1] = delta_op_name(r->op);
	f[2] = r->property_id;
	f[3] = r->pms_person_id;
	f[4] = state;
	f[5] = status ? st : "";
	f[6] = detail;
	if (l->report)
		csvio_write_row(l->report, f, 7);
}

static int fail_row(struct load *l, const struct delta_row *r, long status, const char *detail)
{
	if (status)
		log_warn("row %ld %s %s/%s failed: HTTP %ld %s", r->seq, delta_op_name(r->op),
			 r->property_id, r->pms_person_id, status, detail);
	else
		log_warn("row %ld %s %s/%s failed: %s", r->seq, delta_op_name(r->op),
			 r->property_id, r->pms_person_id, detail);
	snprintf(l->fail_person, sizeof(l->fail_person), "%s\x1f%s", r->property_id,
		 r->pms_person_id);
	l->failed++;
	report_row(l, r, "failed", status, detail);
	return journal_set(l, r->seq, "failed", status, detail, NULL);
}

/* Apply one delta row. */
static int apply_row_inner(const struct delta_row *r, void *vl)
{
	struct load *l = vl;
	char key_src[128], key[65], state[16], user[256] = "", path[1024], who[512],
					       detail[512] = "";
	struct latch_resp resp = { 0 };
	long status = 0;
	int rc = -1, res;

	if (l->only_property && strcmp(l->only_property, r->property_id))
		return 0;
	if (!l->approved && rundir_property_held(&l->run, r->property_id)) {
		l->skipped_held++;
		return 0;
	}
	if (stop_requested) {
		l->tempfail = 1;
		err_set("stopped by a signal; rerun to resume");
		return -1;
	}
	snprintf(key_src, sizeof(key_src), "%s:%ld", l->run.delta_sha256, r->seq);
	if (sha256_hex(key_src, strlen(key_src), key) < 0)
		return -1;
	if (l->dry_run) {
		if (r->op == DELTA_USER_CREATE)
			printf("%ld POST /v1/users {\"email\":\"%s\",\"phone\":\"%s\"} (after GET /v1/users?email=) "
			       "Idempotency-Key: %s\n",
			       r->seq, r->email, r->phone, key);
		else
			printf("%ld %s /v1/units/%s/residents/%s Idempotency-Key: %s\n", r->seq,
			       r->op == DELTA_ASSIGN ? "PUT" : "DELETE", r->latch_unit_id,
			       *r->latch_user_id ? r->latch_user_id : "{user of the person}", key);
		return 0;
	}
	if (journal_state(l, r, key, state, sizeof(state)) < 0)
		return -1;
	if (!strcmp(state, "done")) {
		l->already++;
		return 0;
	}
	if (!strcmp(state, "failed")) {
		snprintf(l->fail_person, sizeof(l->fail_person), "%s\x1f%s", r->property_id,
			 r->pms_person_id);
		l->failed++;
		report_row(l, r, "failed", 0, "failed in an earlier load");
		return 0;
	}
	snprintf(who, sizeof(who), "%s\x1f%s", r->property_id, r->pms_person_id);
	if (!strcmp(who, l->fail_person))
		return fail_row(l, r, 0, "an earlier row of this person failed");
	if (r->op != DELTA_USER_CREATE) {
		if (person_user(l, r, user, sizeof(user)) < 0)
			return -1;
		if (!*user)
			return fail_row(l, r, 0,
					"the person has no Latch user (USER_CREATE missing or failed)");
	}
	/* the effect may leave now: commit inflight before sending */
	if (journal_set(l, r->seq, "inflight", 0, NULL, NULL) < 0)
		return -1;
	switch (r->op) {
	case DELTA_USER_CREATE:
		res = user_create(l, r, key, user, sizeof(user), &status, detail, sizeof(detail));
		if (res < 0) {
			if (l->tempfail || l->api.auth_failed)
				goto tempfail;
			return fail_row(l, r, status, err_msg());
		}
		if (res > 0)
			return fail_row(l, r, status, detail);
		break;
	case DELTA_ASSIGN:
	case DELTA_UNASSIGN: {
		char *u = latch_escape(&l->api, r->latch_unit_id);
		char *p = latch_escape(&l->api, user);
		int ok;

		snprintf(path, sizeof(path), "/v1/units/%s/residents/%s", u ? u : "", p ? p : "");
		free(u);
		free(p);
		if (send_retrying(l, r->op == DELTA_ASSIGN ? "PUT" : "DELETE", path, NULL, key,
				  &resp) < 0)
			goto tempfail;
		status = resp.status;
		ok = r->op == DELTA_ASSIGN ? status == 200 || status == 201
					   : status == 204 || status == 200 || status == 404;
		if (!ok) {
			snprintf(detail, sizeof(detail), "%.300s", resp.body ? resp.body : "");
			latch_resp_free(&resp);
			return fail_row(l, r, status, detail);
		}
		latch_resp_free(&resp);
		break;
	}
	}
	if (commit_done(l, r, status, user) < 0)
		return -1;
	l->done++;
	return 0;
tempfail:
	latch_resp_free(&resp);
	if (!l->api.auth_failed)
		err_set("Latch API unavailable or retries exhausted at row %ld; rerun to resume",
			r->seq);
	rc = -1;
	return rc;
}

/*
 * The delta_read callback.  A failure here is never the delta's fault:
 * it is the API (tempfail), the credentials, or the state database.
 */
static int apply_row(const struct delta_row *r, void *vl)
{
	struct load *l = vl;

	if (apply_row_inner(r, vl) == 0)
		return 0;
	l->stopped = 1;
	return -1;
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
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct config cfg = { 0 };
	struct load l = { .max_attempts = 8 };
	struct dur_file report = { 0 };
	int rc = US_EXIT_USAGE, opt, concurrency = 4, budget = 900, api_ready = 0;
	char path[PATH_MAX + 32];
	struct sigaction sa;

	cli_common_init(&cli, "unitsync-load", usage);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		int c;

		switch (opt) {
		case 'n':
			l.dry_run = 1;
			break;
		case 'p':
			l.only_property = optarg;
			break;
		case 'c':
		case 'm':
		case 'b':
			if (cli_parse_uint(optarg, opt == 'c'   ? &concurrency
						   : opt == 'm' ? &l.max_attempts
								: &budget) < 0 ||
			    (opt != 'b' && (opt == 'c' ? concurrency : l.max_attempts) < 1)) {
				cli_usage_error(&cli,
						"--%s takes a positive whole number, not '%s'",
						opt == 'c'   ? "concurrency"
						: opt == 'm' ? "max-attempts"
							     : "budget",
						optarg);
				goto out;
			}
			break;
		case 'r':
			l.rate = strtod(optarg, &end);
			if (*end || l.rate < 0) {
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
	(void)concurrency;
	if (rundir_open(&l.run, argv[optind]) < 0) {
		log_error("%s", err_msg());
		rc = US_EXIT_DATAERR;
		goto out;
	}
	rc = US_EXIT_CONFIG;
	if (config_load(&cfg, cli.config_path) < 0 ||
	    (!l.dry_run && config_require_latch(&cfg) < 0)) {
		log_error("%s", err_msg());
		goto out;
	}
	if (db_open(cli.db_path, 0, &l.db) < 0 || journal_prepare(&l) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	{
		sqlite3_stmt *st = NULL;

		if (db_prepare(l.db,
			       "SELECT approved_at FROM run WHERE run_id = ? AND approved_at IS NOT NULL",
			       &st) < 0) {
			log_error("%s", err_msg());
			goto out;
		}
		sqlite3_bind_text(st, 1, l.run.run_id, -1, SQLITE_STATIC);
		l.approved = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	if (!l.dry_run) {
		if (latch_init(&l.api, &cfg) < 0) {
			log_error("%s", err_msg());
			goto out;
		}
		api_ready = 1;
		snprintf(path, sizeof(path), "%s/load-report.csv", l.run.dir);
		if (dur_open(&report, path, 0640) < 0) {
			log_error("%s", err_msg());
			goto out;
		}
		l.report = report.fp;
		fputs("seq,op,property_id,pms_person_id,state,http_status,detail\n", l.report);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	l.deadline = time(NULL) + budget;

	if (delta_read(l.run.delta_path, apply_row, &l) < 0) {
		log_error("%s", err_msg());
		rc = l.tempfail ? US_EXIT_TEMPFAIL : l.stopped ? US_EXIT_CONFIG : US_EXIT_DATAERR;
		goto out;
	}
	if (l.dry_run) {
		rc = US_EXIT_OK;
		goto out;
	}
	printf("run %s: %ld done, %ld already done, %ld failed, %ld held by the safety guard (%ld requests)\n",
	       l.run.run_id, l.done, l.already, l.failed, l.skipped_held, l.api.requests);
	rc = l.failed ? US_EXIT_FAILED : l.skipped_held ? US_EXIT_HELD : US_EXIT_OK;
	{
		const char *status = rc == US_EXIT_OK       ? "done"
				     : rc == US_EXIT_FAILED ? "failed"
							    : "held";
		char now[32];

		db_now(now, sizeof(now));
		exec_params(l.db, "UPDATE run SET load_status = ?, loaded_at = ? WHERE run_id = ?",
			    status, now, l.run.run_id, NULL);
	}
	if (l.skipped_held)
		log_warn("rows of held properties were not sent; review the run and 'unitsync approve %s'",
			 l.run.dir);
out:
	if (report.fp) {
		if (dur_commit(&report) < 0)
			log_warn("%s", err_msg());
	}
	sqlite3_finalize(l.jget);
	sqlite3_finalize(l.jput);
	sqlite3_finalize(l.jstate);
	if (api_ready)
		latch_release(&l.api);
	rundir_release(&l.run);
	config_release(&cfg);
	db_close(l.db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
