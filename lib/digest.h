/*
 * digest.h - one property's news of one run, for the people who must act
 * on it (issue 20): what changed, and what needs a person.
 *
 * Everything comes from the state database (run, run_input,
 * delta_history, run_exception, journal), so a digest can be made again
 * for any run still in the history (`unitsync notify RUN_DIR`).
 *
 * What needs a person (d->needs_person):
 *   - the safety guard holds the property and the run is not approved:
 *     the reasons, and the exact approve and load commands;
 *   - exceptions of the run for the property (exceptions.csv), grouped by
 *     kind, each kind with what to do (the table of README "Exceptions and
 *     what to do about them") and its residents and units, at most
 *     DIGEST_ROWS_PER_KIND of each, then how many more; a stale export is
 *     the kind stale_export;
 *   - delta rows load failed for good (journal "failed");
 *   - Latch drift: rows of the property in the reconcile.csv files given
 *     (unitsync reconcile run that night), counted by kind.
 * removal_deferred alone needs nobody (it waits a night by design).
 *
 * Text from exports (names, ids, details) has its control characters
 * replaced by '?' in the text and is HTML-escaped in the HTML, which is
 * one document with an inline style sheet and no external resources.
 */
#ifndef UNITSYNC_DIGEST_H
#define UNITSYNC_DIGEST_H

#include <sqlite3.h>
#include <stddef.h>

#define DIGEST_ROWS_PER_KIND 20

struct digest {
	int needs_person; /* see above */
	int held;         /* held by the guard, not approved */
	long changes[3];  /* delta rows: USER_CREATE, ASSIGN, UNASSIGN */
	long exceptions;  /* exception rows (all kinds) */
	long failed;      /* delta rows failed for good */
	long drift;       /* reconcile.csv rows of the property */
	char as_of[16];   /* the run's as-of date */
	char *subject;    /* one line, owned */
	char *text;       /* plain text, LF line ends, owned */
	char *html;       /* a whole HTML document, owned */
};

/*
 * The digest of PROPERTY_ID in run RUN_ID into D (zeroed first), with the
 * drift of the N_RECONCILE reconcile.csv files RECONCILE (none: N 0).  0,
 * or -1 with err_set(): "database: ..." (the caller's exit code is
 * db_exit_code()), "no run 'ID' in the state database", "run 'ID' did
 * not read property 'P'", a reconcile.csv unreadable or not one, or out
 * of memory.  Release D with digest_release() either way.
 */
int digest_build(sqlite3 *db, const char *run_id, const char *property_id,
		 const char *const *reconcile, size_t n_reconcile, struct digest *d);

void digest_release(struct digest *d);

/*
 * What to do about exception KIND, one sentence (README's table), or NULL
 * for a kind this build does not know.
 */
const char *digest_hint(const char *kind);

#endif
