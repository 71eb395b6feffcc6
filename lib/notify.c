#include "notify.h"
#include "date.h"
#include "db.h"
#include "digest.h"
#include "err.h"
#include "html.h"
#include "latch.h"
#include "log.h"
#include "sha256.h"
#include "smtp.h"
#include "webhook.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One delivery being made: which digest, by which channel, to whom. */
struct delivery {
	const char *run_id;
	const char *property;
	const char *channel; /* "email" or "webhook" */
	const char *target;  /* what is recorded as the target */
	char message_id[160];
};

/* The property's section of the configuration, or NULL. */
static const struct config_property *property_of(const struct config *c, const char *id)
{
	for (const struct config_property *p = c->properties; p; p = p->next)
		if (!strcmp(p->id, id))
			return p;
	return NULL;
}

/* D's Message-ID: one per property per night (notify.h). */
static void message_id(struct delivery *d, const struct config *c, const char *as_of)
{
	const char *at = c->smtp_from ? strchr(c->smtp_from, '@') : NULL;
	char hex[SHA256_HEX_LEN + 1] = "";

	sha256_hex(d->property, strlen(d->property), hex);
	snprintf(d->message_id, sizeof(d->message_id), "<unitsync.%s.%.24s@%s>", as_of, hex,
		 at ? at + 1 : "unitsync.invalid");
}

/* Was D sent already?  1 yes, 0 no, -1 database error. */
static int sent_before(sqlite3 *db, const struct delivery *d)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (db_prepare(db,
		       "SELECT 1 FROM notification WHERE message_id = ?1 AND channel = ?2 AND "
		       "target = ?3 AND status = 'sent'",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, d->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d->channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, d->target, -1, SQLITE_STATIC);
	r = db_row(st);
	sqlite3_finalize(st);
	return r;
}

/* Record D's outcome: STATUS after ATTEMPTS tries, DETAIL the last failure. */
static int record(sqlite3 *db, const struct delivery *d, const char *status, int attempts,
		  const char *detail)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc = -1;

	db_now(now, sizeof(now));
	if (db_begin(db) < 0)
		return -1;
	if (db_prepare(db,
		       "INSERT INTO notification (message_id, channel, target, run_id, property_id, "
		       "status, attempts, detail, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		       "?8, ?9) ON CONFLICT (message_id, channel, target) DO UPDATE SET "
		       "run_id = ?4, status = ?6, attempts = attempts + ?7, detail = ?8, "
		       "updated_at = ?9",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, d->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d->channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, d->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, d->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, d->property, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, attempts);
	db_bind_text_or_null(st, 8, detail);
	sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(db, "recording a notification");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc == 0 && db_commit(db) < 0)
		rc = -1;
	if (rc < 0)
		db_rollback(db);
	return rc;
}

/* Sleep SECONDS (the backoff between tries). */
static void pause_for(double seconds)
{
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* One channel's way of making a delivery: 0 delivered, -1 with err_set(),
 * *TRANSIENT and *RETRY_AFTER (seconds, -1 none) saying whether to try again. */
typedef int (*send_fn)(void *ctx, int *transient, long *retry_after);

/* The e-mail of a digest. */
struct email {
	struct smtp_server srv;
	struct smtp_message m;
};

static int send_email(void *ctx, int *transient, long *retry_after)
{
	struct email *e = ctx;

	*retry_after = -1;
	return smtp_send(&e->srv, &e->m, transient);
}

/* The webhook call of a digest. */
struct hook {
	const char *url;
	const char *secret;
	const char *id;
	char *body; /* owned */
};

static int send_hook(void *ctx, int *transient, long *retry_after)
{
	struct hook *h = ctx;

	return webhook_post(h->url, h->secret, h->id, h->body, strlen(h->body), transient,
			    retry_after);
}

/*
 * Deliver D by SEND (CTX): not again when sent before (unless resend),
 * printed as PREVIEW under dry_run, else tried while transient up to
 * o->max_attempts times with the load's backoff, then recorded.  Counted
 * into N.  0, or -1 on a database error.  DB NULL (a job failure told
 * without its database): nothing checked or recorded.
 */
static int deliver(sqlite3 *db, const struct delivery *d, const char *preview, send_fn send,
		   void *ctx, const struct notify_opts *o, struct notify_counts *n)
{
	char why[1024] = "";
	int attempt, transient = 0, r;
	long retry_after = -1;

	if (db && !o->resend) {
		if ((r = sent_before(db, d)) < 0)
			return -1;
		if (r == 1) {
			log_info("%s: %s %s to %s was sent before; not again", d->property,
				 d->channel, d->message_id, d->target);
			n->already++;
			return 0;
		}
	}
	if (o->dry_run) {
		printf("%s\n", preview);
		n->sent++;
		return 0;
	}
	for (attempt = 1;; attempt++) {
		if (send(ctx, &transient, &retry_after) == 0) {
			log_info("%s: %s %s sent to %s", d->property, d->channel, d->message_id,
				 d->target);
			n->sent++;
			return db ? record(db, d, "sent", attempt, NULL) : 0;
		}
		snprintf(why, sizeof(why), "%s", err_msg());
		if (!transient || attempt >= o->max_attempts)
			break;
		pause_for(latch_backoff(attempt, retry_after));
	}
	log_warn("%s: %s to %s not sent after %d tr%s: %s", d->property, d->channel, d->target,
		 attempt, attempt == 1 ? "y" : "ies", why);
	n->failed++;
	return db ? record(db, d, "failed", attempt, why) : 0;
}

/* What is told, however it is sent. */
struct news {
	const char *subject;
	const char *text; /* plain text */
	const char *html; /* a whole HTML document */
	const char *json; /* the webhook body */
};

/* E-mail NEWS to the N_TO addresses TO.  -1: database error. */
static int email(sqlite3 *db, const struct config *c, char *const *to, size_t n_to,
		 const struct news *news, struct delivery *d, const struct notify_opts *o,
		 struct notify_counts *n)
{
	struct email e = { { c->smtp_url, c->smtp_from, c->smtp_user, c->smtp_password,
			     c->smtp_ca_file },
			   { (const char *const *)to, n_to, news->subject, d->message_id, 0,
			     news->text, news->html } };
	char *target = NULL, *preview = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&target, &len);
	int rc = -1;

	if (!fp) {
		err_set("out of memory");
		return -1;
	}
	for (size_t i = 0; i < n_to; i++)
		fprintf(fp, "%s%s", i ? "," : "", to[i]);
	if (fclose(fp) != 0 || asprintf(&preview, "e-mail to %s\nMessage-ID: %s\nSubject: %s\n\n%s",
					target, d->message_id, news->subject, news->text) < 0) {
		preview = NULL;
		err_set("out of memory");
		goto out;
	}
	if (date_now(&e.m.date) < 0)
		e.m.date = time(NULL);
	d->channel = "email";
	d->target = target;
	rc = deliver(db, d, preview, send_email, &e, o, n);
	d->target = NULL;
out:
	free(preview);
	free(target);
	return rc;
}

/*
 * The webhook body of DIG (notify.h, "Webhook body"): version 1, kind
 * "digest".  NULL: out of memory.
 */
static char *hook_body(const struct delivery *d, const struct digest *dig)
{
	char *text = NULL, *body = NULL;
	json_t *j;

	if (asprintf(&text, "%s\n\n%s", dig->subject, dig->text) < 0)
		return NULL;
	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:{s:I, s:I, s:I}, s:I, "
		      "s:I, s:I, s:s, s:s}",
		      "version", 1, "kind", "digest", "source", "unitsync", "run_id", d->run_id,
		      "property_id", d->property, "as_of", dig->as_of, "message_id", d->message_id,
		      "needs_person", dig->needs_person, "held", dig->held, "changes",
		      "USER_CREATE", (json_int_t)dig->changes[0], "ASSIGN",
		      (json_int_t)dig->changes[1], "UNASSIGN", (json_int_t)dig->changes[2],
		      "exceptions", (json_int_t)dig->exceptions, "failed", (json_int_t)dig->failed,
		      "drift", (json_int_t)dig->drift, "subject", dig->subject, "text", text);
	if (j)
		body = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	free(text);
	return body;
}

/* Post NEWS to the webhook URL.  -1: database error. */
static int hook(sqlite3 *db, const struct config *c, const char *url, const struct news *news,
		struct delivery *d, const struct notify_opts *o, struct notify_counts *n)
{
	struct hook h = { url, c->webhook_secret, d->message_id, NULL };
	char name[256], *preview = NULL;
	int rc = -1;

	webhook_name(url, name, sizeof(name));
	if (!(h.body = strdup(news->json)) ||
	    asprintf(&preview, "webhook %s\n%s", name, h.body) < 0) {
		preview = NULL;
		err_set("out of memory");
		goto out;
	}
	d->channel = "webhook";
	d->target = name;
	rc = deliver(db, d, preview, send_hook, &h, o, n);
	d->target = NULL;
out:
	free(preview);
	free(h.body);
	return rc;
}

/*
 * The properties RUN_ID read, in order, each through FN: read whole
 * first, as FN writes (a write transaction may not begin while a
 * statement reads).
 */
static int each_property(sqlite3 *db, const char *run_id,
			 int (*fn)(const char *property, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	char **ids = NULL;
	size_t n = 0;
	int rc = -1, r;

	if (db_prepare(db,
		       "SELECT DISTINCT property_id FROM run_input WHERE run_id = ?1 ORDER BY 1",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	while ((r = db_row(st)) == 1) {
		char **more = realloc(ids, (n + 1) * sizeof(*ids));

		if (!more || !(more[n] = strdup(db_col_text(st, 0)))) {
			if (more)
				ids = more;
			err_set("out of memory");
			goto out;
		}
		ids = more;
		n++;
	}
	if (r < 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < n; i++)
		if (fn(ids[i], ctx) < 0)
			goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

struct walk {
	sqlite3 *db;
	const struct config *c;
	const char *run_id;
	const struct notify_opts *o;
	struct notify_counts *n;
};

/* each_property() callback: one property's digest, delivered. */
static int one_property(const char *property, void *vw)
{
	struct walk *w = vw;
	const struct config *c = w->c;
	const struct config_property *p = property_of(c, property);
	struct delivery d = { .run_id = w->run_id, .property = property };
	int mail = p && p->n_notify_email, rc = -1;
	const char *hooks[2] = { c->webhook_url, p ? p->notify_webhook : NULL };
	struct digest dig = { 0 };
	struct news news = { 0 };
	char *json = NULL;

	if (mail && (!c->smtp_url || !c->smtp_from)) {
		log_warn("%s: notify_email is set but [notify] has no smtp_url and smtp_from; "
			 "no e-mail",
			 property);
		mail = 0;
	}
	if (!mail && !hooks[0] && !hooks[1]) {
		w->n->unaddressed++;
		return 0;
	}
	if (digest_build(w->db, w->run_id, property, w->o->reconcile, w->o->n_reconcile, &dig) < 0)
		goto out;
	if (!dig.needs_person && !(p && p->daily_summary)) {
		log_info("%s: nothing needs a person tonight; no message", property);
		w->n->quiet++;
		rc = 0;
		goto out;
	}
	message_id(&d, c, dig.as_of);
	news.subject = dig.subject;
	news.text = dig.text;
	news.html = dig.html;
	if ((hooks[0] || hooks[1]) && !(news.json = json = hook_body(&d, &dig))) {
		err_set("out of memory");
		goto out;
	}
	if (mail && email(w->db, c, p->notify_email, p->n_notify_email, &news, &d, w->o, w->n) < 0)
		goto out;
	for (int i = 0; i < 2; i++)
		if (hooks[i] && !(i == 1 && hooks[0] && !strcmp(hooks[0], hooks[1])) &&
		    hook(w->db, c, hooks[i], &news, &d, w->o, w->n) < 0)
			goto out;
	rc = 0;
out:
	free(json);
	digest_release(&dig);
	return rc;
}

/* What a nightly exit code means and what to do (unitsync-nightly(1)). */
static const char *exit_meaning(int code)
{
	switch (code) {
	case 1:
		return "some operations failed for good: see the run's load-report.csv";
	case 2:
		return "usage error: check the job's command line";
	case 3:
		return "a property's export is stale: check the PMS export job and the file drop";
	case 4:
		return "a property is held by the safety guard: review the run, then unitsync "
		       "approve and unitsync load (an older_export: put the current export in the "
		       "drop and run the night again)";
	case 65:
		return "an export file was rejected: see the log, fix the export, rerun";
	case 74:
		return "the state database is corrupt: restore it from backup";
	case 75:
		return "temporary failure (Latch API down, lock held, disk full): it is retried; "
		       "rerun if it keeps failing";
	case 78:
		return "configuration error: run unitsync config check";
	default:
		return "unexpected: see the log";
	}
}

int notify_job_failure(sqlite3 *db, struct config *c, const char *name, int exit_code,
		       const char *log, const struct notify_opts *o, struct notify_counts *n)
{
	struct delivery d = { .run_id = "", .property = "" };
	struct news news = { 0 };
	char **to = NULL, why[512], host[256] = "", when[32], hex[SHA256_HEX_LEN + 1] = "",
	     *subject = NULL, *text = NULL, *html = NULL, *json = NULL, *key = NULL,
	     *hook_text = NULL;
	const char *at = c->smtp_from ? strchr(c->smtp_from, '@') : NULL;
	size_t n_to = 0, hlen = 0;
	FILE *h = NULL;
	json_t *j = NULL;
	time_t now;
	struct tm tm;
	int rc = -1;

	memset(n, 0, sizeof(*n));
	if (!c->operator_email && !c->webhook_url) {
		log_warn("no [notify] operator_email or webhook_url: nobody to tell that %s failed",
			 name);
		return 0;
	}
	if (!o->dry_run && config_read_notify_secrets(c) < 0)
		return -1;
	if (c->operator_email &&
	    config_split_addresses(c->operator_email, &to, &n_to, why, sizeof(why)) != 0) {
		err_set("[notify] operator_email: %s", why);
		return -1;
	}
	if (date_now(&now) < 0)
		now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gethostname(host, sizeof(host) - 1);
	/* one message per failure: the job, its exit code and the second */
	if (asprintf(&key, "%s|%d|%s|%s", name, exit_code, when, host) < 0)
		key = NULL;
	if (!key || sha256_hex(key, strlen(key), hex) < 0)
		goto oom;
	snprintf(d.message_id, sizeof(d.message_id), "<unitsync.failed.%.24s@%s>", hex,
		 at ? at + 1 : "unitsync.invalid");
	d.property = "";
	if (asprintf(&subject, "[unitsync] job %s failed on %s: exit %d", name, host, exit_code) <
		    0 ||
	    asprintf(&text,
		     "unitsync: the job %s failed on %s at %s, exit code %d.\n\n"
		     "What it means: %s.\n%s%s",
		     name, host, when, exit_code, exit_meaning(exit_code),
		     log && *log ? "\nThe job's last log lines:\n\n" : "", log ? log : "") < 0) {
		subject = text = NULL;
		goto oom;
	}
	if (!(h = open_memstream(&html, &hlen)))
		goto oom;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<title>unitsync job failed</title></head><body>\n<pre>",
	      h);
	html_put(h, text);
	fputs("</pre>\n</body></html>\n", h);
	if (fclose(h) != 0) {
		h = NULL;
		goto oom;
	}
	h = NULL;
	/* the webhook's text: the subject, a blank line, the message (as a digest's) */
	if (asprintf(&hook_text, "%s\n\n%s", subject, text) < 0) {
		hook_text = NULL;
		goto oom;
	}
	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "version", 1, "kind",
		      "job_failed", "source", "unitsync", "job", name, "host", host, "exit_code",
		      exit_code, "at", when, "message_id", d.message_id, "subject", subject, "text",
		      hook_text);
	if (!j || !(json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)))
		goto oom;
	news.subject = subject;
	news.text = text;
	news.html = html;
	news.json = json;
	d.run_id = "";
	if (n_to && c->smtp_url && c->smtp_from && email(db, c, to, n_to, &news, &d, o, n) < 0)
		goto out;
	if (n_to && (!c->smtp_url || !c->smtp_from))
		log_warn(
			"operator_email is set but [notify] has no smtp_url and smtp_from; no e-mail");
	if (c->webhook_url && hook(db, c, c->webhook_url, &news, &d, o, n) < 0)
		goto out;
	rc = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	if (h)
		fclose(h);
	json_decref(j);
	config_free_addresses(to, n_to);
	free(key);
	free(hook_text);
	free(subject);
	free(text);
	free(html);
	free(json);
	return rc;
}

int notify_run(sqlite3 *db, struct config *c, const char *run_id, const struct notify_opts *o,
	       struct notify_counts *n)
{
	struct walk w = { db, c, run_id, o, n };

	memset(n, 0, sizeof(*n));
	if (!o->dry_run && config_read_notify_secrets(c) < 0)
		return -1;
	return each_property(db, run_id, one_property, &w);
}
