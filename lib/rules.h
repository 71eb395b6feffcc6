/*
 * rules.h - the eligibility rules: should a PMS record give its resident
 * their unit tonight?  (README "Rules", as changed by issue 15;
 * docs/ARCHITECTURE.md §7.)  Pure functions of the record and the property's policy: no
 * database, no clock; transform calls them per record, and
 * tests/unit/test_rules.c holds one table row per rule.
 *
 * Statuses are the normalized ones of status.h; dates are "YYYY-MM-DD"
 * or "" (none), compared as calendar days in the property's zone.
 */
#ifndef UNITSYNC_RULES_H
#define UNITSYNC_RULES_H

#include <stddef.h>

/* A property's policy for one night; strings borrowed. */
struct rules_policy {
	const char *exclude; /* ",past,notice," form: statuses never given access */
	int lead_days;       /* days of access before move-in for future/applicant; -1: never */
	int grace_days;      /* days a unit is kept after the move-out date */
	const char *as_of;   /* the night's date, YYYY-MM-DD */
};

enum rules_verdict {
	RULES_GRANT, /* should hold the unit tonight */
	RULES_KEEP,  /* moved out, within the grace days: keeps a unit held, gains none */
	RULES_DENY,  /* should not hold it; the reason names the UNASSIGN */
};

/*
 * The verdict for a record with STATUS, MOVE_IN and MOVE_OUT (actual
 * move-out) under P.  *WHY is set to the UNASSIGN reason (a static
 * string: status_excluded, move_out, status_change) for RULES_DENY, and to
 * "move_out" for RULES_KEEP.
 *
 * - An excluded status is denied (status_excluded), whatever its dates.
 * - current, notice, eviction: granted through the move-out day; kept for
 *   the grace days after it; then denied (move_out).
 * - past: already moved out, so denied (move_out), except that with grace
 *   days it is kept through the move-out date plus the grace days: grace
 *   runs from the move-out date whatever the status, as most PMSs set past
 *   on the move-out day.  With no move-out date there is no grace to run.
 * - future, applicant: granted from lead_days before move-in; never
 *   without lead days or a move-in date (status_change).
 * - cancelled, denied, waitlist and anything else: denied (status_change).
 * STATUS "unknown" is not judged here: the caller holds the person.
 */
enum rules_verdict rules_eligible(const struct rules_policy *p, const char *status,
				  const char *move_in, const char *move_out, const char **why);

/*
 * Do the record's status and its move-in date disagree?  1 when (an
 * excluded status never does):
 * - current, notice or eviction, and MOVE_IN is after P's night by more
 *   than the lead days (none: 0): a resident not moved in yet, whom the
 *   status alone would give a key months early;
 * - future or applicant without lead days (never granted before the status
 *   changes), and MOVE_IN has come: the PMS did not change the status, and
 *   the resident would get nothing, with nobody told.
 * The caller holds such a record and reports it (status_conflict), as it
 * does a household member's that disagrees with its primary (new-user
 * report nu11 #1-#2, review rv16 #5).  0 otherwise, or without MOVE_IN.
 */
int rules_dates_disagree(const struct rules_policy *p, const char *status, const char *move_in);

/*
 * Status conflict (issue 15): a roommate, occupant or minor whose own
 * status would give access, in a household whose primary is past,
 * cancelled or denied.  The two records disagree about whether the
 * household lives here: 1 when the member is to be held and reported.
 * ROLE, OWN_STATUS and PRIMARY_STATUS are normalized; PRIMARY_STATUS is ""
 * when the household has no primary in the export.
 */
int rules_status_conflict(const char *role, enum rules_verdict own, const char *primary_status);

/* Is ROLE one that takes the household's status when it has none of its
 * own (roommate, occupant, minor)? */
int rules_household_member(const char *role);

/*
 * Identity (issue 15, after Latch's User Sync, which matches on name and
 * e-mail): the name part of a resident's identity.  (The phone that stands
 * for the e-mail where there is none is compared by its digits:
 * latch_phone_digits() in latch.h.)
 */

/*
 * FIRST and LAST (NULL or "" for none), each trimmed, letters lower-cased
 * (ASCII and the Latin-1 capitals in UTF-8: "JOSÉ" is "josé"), runs of
 * blanks collapsed to one space, joined by one space, the words in byte
 * order (a PMS that swaps first and last name, or puts a word in the other
 * field, names the same person), into OUT (SIZE bytes; OUT may be NULL when
 * SIZE is 0).  Returns the key's whole length in bytes, as snprintf() does:
 * SIZE or more means OUT holds it cut (and unsorted), and a caller comparing
 * names needs a bigger buffer (two names alike in their first SIZE - 1
 * bytes are not one name).  "" for no name: unknown, like no other.
 */
size_t rules_name_key(const char *first, const char *last, char *out, size_t size);

/* rules_name_key() whole, in a string of its own (the caller's to free());
 * NULL with err_set("out of memory"). */
char *rules_name_key_new(const char *first, const char *last);

#endif
