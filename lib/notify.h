/*
 * notify.h - tell the right people what a run needs of them (issue 20):
 * one digest per property of the run (lib/digest), by e-mail to the
 * property's notify_email (lib/smtp) and to the webhooks of the
 * configuration, each delivery recorded in the table `notification`, of
 * which this module is the only writer.
 *
 * Which properties: every property the run read.  A property gets nothing
 * when nothing needs a person (digest.h says what does) unless its
 * section says notify_daily_summary = yes.
 *
 * Once per night: a digest's Message-ID is derived from the run's as-of
 * date and the property ("<unitsync.DATE.HASH@DOMAIN>", HASH the first 24
 * hex digits of the SHA-256 of the property id, DOMAIN smtp_from's), so
 * the night's reruns (the job run again after a failure, `unitsync
 * notify` by hand) send nothing a recipient already has: a delivery
 * recorded 'sent' under the same Message-ID, channel and target is not
 * made again unless RESEND.
 *
 * Webhooks ([notify] webhook_url for every property, a property's
 * notify_webhook for its own; lib/webhook signs each call): the body is
 * one JSON object, keys sorted, version 1:
 *   {"version": 1, "source": "unitsync", "run_id", "property_id", "as_of",
 *    "message_id", "needs_person": bool, "held": bool,
 *    "changes": {"USER_CREATE", "ASSIGN", "UNASSIGN"}: rows,
 *    "exceptions": rows, "failed": rows, "subject", "text"}
 * "text" is the subject, a blank line and the digest's plain text, which
 * Slack- and Teams-compatible incoming webhooks show as the message.  A
 * field may be added in version 1; a change of meaning is version 2.
 *
 * Failures: a delivery is tried up to max_attempts times while the
 * failure is transient (lib/smtp), waiting latch_backoff() between tries
 * (the load's backoff), then recorded 'failed' with the reason and
 * reported on stderr; it never stops the other deliveries.
 */
#ifndef UNITSYNC_NOTIFY_H
#define UNITSYNC_NOTIFY_H

#include "config.h"

#include <sqlite3.h>

struct notify_opts {
	int dry_run;      /* print each message that would be sent; send and record nothing */
	int resend;       /* send even what was sent already */
	int max_attempts; /* tries of one delivery, at least 1 */
	const char *const *reconcile; /* reconcile.csv files of the night, for the digests */
	size_t n_reconcile;
};

/* What notify_run() did, by delivery (a property's e-mail, a webhook call). */
struct notify_counts {
	long sent;        /* delivered now */
	long already;     /* sent before under the same Message-ID: not sent again */
	long failed;      /* given up: recorded and reported */
	long quiet;       /* properties with nothing to tell */
	long unaddressed; /* properties with no recipient: no notify_email (or no
			   * SMTP settings) and no webhook */
};

/*
 * Notify about run RUN_ID from DB, as configuration C says (its [notify]
 * section and the properties' notify_ keys; the secrets are read here).
 * 0 when every delivery was made or recorded as failed (N says which),
 * -1 with err_set() on a database error ("database: ...": exit code
 * db_exit_code()) or when the run is unknown or a secret unusable.
 */
int notify_run(sqlite3 *db, struct config *c, const char *run_id, const struct notify_opts *o,
	       struct notify_counts *n);

/*
 * Tell the operators that the job NAME (a systemd unit, a cron job)
 * failed with EXIT_CODE: an e-mail to [notify] operator_email and a POST
 * to [notify] webhook_url (body version 1, "kind": "job_failed", with
 * "job", "host", "exit_code", "at", "subject", "text"), saying what the
 * exit code means and what to do, then LOG (the job's last lines; NULL
 * or "": none).  One message per failure (its Message-ID from the job,
 * exit code, host and second).  DB may be NULL (the failure may be the
 * database's): then nothing is recorded.  0 when every delivery was made
 * or failed (counted in N, failures warned of); -1 with err_set() when a
 * secret is unusable or on a database error.
 */
int notify_job_failure(sqlite3 *db, struct config *c, const char *name, int exit_code,
		       const char *log, const struct notify_opts *o, struct notify_counts *n);

#endif
