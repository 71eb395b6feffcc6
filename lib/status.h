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
 *
 * Dwellings: whether a unit is a home (stg_unit.dwelling), from what a
 * PMS writes of it, by one vocabulary for every export.  A unit is no
 * dwelling when one of those texts (its type, its economic status, a
 * placeholder in place of a resident), folded (lower-case letters and
 * digits only), begins with excluded, waitlist, waiting list, parking,
 * garage, carport, storage or locker: the text says what the unit is
 * ("Parking Space", "Storage", "Excluded").  Only the beginning is read,
 * so that a home whose type names something beside it ("Townhome w/
 * Garage", "2BR + Storage") stays a home: a dwelling taken for none is
 * left out of `map unmapped` and `units import-pms` (transform still
 * reports its residents' unit as unmapped), while a garage taken for a
 * dwelling ("Covered Parking") is only listed there once too often.
 * Sources: AppFolio rent roll and Yardi Voyager rent roll "Unit Type";
 * Yardi UnitEconomicStatus and placeholder CustomerIDs (PARK01, WAIT01 in
 * the samples); MITS ILS unit types and economic statuses.
 */
#ifndef UNITSYNC_STATUS_H
#define UNITSYNC_STATUS_H

#include <stddef.h>

/* The normalized status for RAW, or "unknown".  Never NULL. */
const char *status_normalize(const char *raw);

/* Is S one of the normalized status words? */
int status_valid(const char *s);

/* Is a unit whose words are the N strings WORDS (NULL or "" ignored; its
 * type, economic status, placeholder ...) a dwelling (see the top)?  1
 * yes, 0 no. */
int status_dwelling(const char *const *words, size_t n);

/* The normalized role for RAW ("" means primary), or NULL if unknown. */
const char *role_normalize(const char *raw);

#endif
