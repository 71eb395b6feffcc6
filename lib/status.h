/*
 * status.h - lease statuses and household roles, normalized.
 *
 * Statuses (README "Rules"): applicant future current notice eviction past
 * cancelled denied waitlist unknown.  Roles: primary roommate occupant
 * guarantor minor.
 *
 * One table maps what PMSs write to these words, compared case- and
 * space-insensitively ("Current Resident", "current_resident" and
 * "CURRENT-RESIDENT" are one key).  Sources: Yardi ResidentTransactions 2.0
 * Customer/@Type ("current resident", "former resident", "future
 * resident", "applicant"); MITS 2.0 lease statuses; AppFolio rent roll
 * statuses (Current, Notice, Evict); RealPage/Entrata words; RentCafe
 * "Occupied No Notice".  A value the table does not know maps to
 * "unknown" and the caller keeps the raw text.
 */
#ifndef UNITSYNC_STATUS_H
#define UNITSYNC_STATUS_H

/* The normalized status for RAW, or "unknown".  Never NULL. */
const char *status_normalize(const char *raw);

/* Is S one of the normalized status words? */
int status_valid(const char *s);

/* The normalized role for RAW ("" means primary), or NULL if unknown. */
const char *role_normalize(const char *raw);

#endif
