#include "notify.h"
#include "date.h"
#include "db.h"
#include "digest.h"
#include "err.h"
#include "latch.h"
#include "log.h"
#include "sha256.h"
#include "smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One delivery being made: which digest, by which channel, to whom. */
struct delivery {
	const char *run_id;
	const char *property;
	const char *channel; /* "email" */
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
		err_set("database: recording a notification: %s", sqlite3_errmsg(db));
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

/* E-mail DIG of property P to its recipients; counted into N.  -1: database error. */
static int email(sqlite3 *db, const struct config *c, const struct config_property *p,
		 const struct digest *dig, struct delivery *d, const struct notify_opts *o,
		 struct notify_counts *n)
{
	struct smtp_server srv = { c->smtp_url, c->smtp_from, c->smtp_user, c->smtp_password,
				   c->smtp_ca_file };
	struct smtp_message m = { (const char *const *)p->notify_email,
				  p->n_notify_email,
				  dig->subject,
				  d->message_id,
				  0,
				  dig->text,
				  dig->html };
	char *target = NULL, why[1024] = "";
	size_t len = 0;
	FILE *fp = open_memstream(&target, &len);
	int rc = -1, attempt, transient = 0, ok = 0, r;

	if (!fp) {
		err_set("out of memory");
		return -1;
	}
	for (size_t i = 0; i < p->n_notify_email; i++)
		fprintf(fp, "%s%s", i ? "," : "", p->notify_email[i]);
	if (fclose(fp) != 0) {
		err_set("out of memory");
		goto out;
	}
	d->channel = "email";
	d->target = target;
	if (!o->resend) {
		if ((r = sent_before(db, d)) < 0)
			goto out;
		if (r == 1) {
			log_info("%s: e-mail %s to %s was sent before; not again", d->property,
				 d->message_id, target);
			n->already++;
			rc = 0;
			goto out;
		}
	}
	if (date_now(&m.date) < 0)
		m.date = time(NULL);
	if (o->dry_run) {
		printf("e-mail to %s\nMessage-ID: %s\nSubject: %s\n\n%s\n", target, d->message_id,
		       dig->subject, dig->text);
		n->sent++;
		rc = 0;
		goto out;
	}
	for (attempt = 1;; attempt++) {
		if (smtp_send(&srv, &m, &transient) == 0) {
			ok = 1;
			break;
		}
		snprintf(why, sizeof(why), "%s", err_msg());
		if (!transient || attempt >= o->max_attempts)
			break;
		pause_for(latch_backoff(attempt, -1));
	}
	if (!ok) {
		log_warn("%s: e-mail to %s not sent after %d tr%s: %s", d->property, target,
			 attempt, attempt == 1 ? "y" : "ies", why);
		n->failed++;
		rc = record(db, d, "failed", attempt, why);
		goto out;
	}
	log_info("%s: e-mail %s sent to %s", d->property, d->message_id, target);
	n->sent++;
	rc = record(db, d, "sent", attempt, NULL);
out:
	free(target);
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
	const struct config_property *p = property_of(w->c, property);
	struct delivery d = { .run_id = w->run_id, .property = property };
	struct digest dig = { 0 };
	int rc = -1;

	if (!p || !p->n_notify_email)
		return 0;
	if (!w->c->smtp_url || !w->c->smtp_from) {
		log_warn("%s: notify_email is set but [notify] has no smtp_url and smtp_from; "
			 "no e-mail",
			 property);
		return 0;
	}
	if (digest_build(w->db, w->run_id, property, &dig) < 0)
		goto out;
	if (!dig.needs_person && !p->daily_summary) {
		log_info("%s: nothing needs a person tonight; no message", property);
		w->n->quiet++;
		rc = 0;
		goto out;
	}
	message_id(&d, w->c, dig.as_of);
	rc = email(w->db, w->c, p, &dig, &d, w->o, w->n);
out:
	digest_release(&dig);
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
