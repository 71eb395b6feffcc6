/*
 * unitname.h - unit names as people write them, and which PMS unit is
 * which Latch unit: the rules behind `unitsync map suggest` (docs/ARCHITECTURE.md §1:
 * the tool helps people keep the mapping; it does not keep it for them).
 *
 * A PMS export and a Latch building name one home differently: "101",
 * "Apt #0101", "B-101", "Bldg 2 Apt 101".  Three rules, strongest first,
 * each with the confidence `map suggest` prints:
 *
 *   exact        1.00  the same bytes
 *   normalized   0.90  the same after unitname_normalize()
 *   unit-number  0.60  the same unit once a building prefix is split off
 *                      (unitname_split()), the buildings not differing
 *
 * unitname_normalize(): ASCII letters folded to lower case; every byte
 * that is not an ASCII letter or digit (blanks, '#', '.', '-', '/', ...)
 * separates words and is dropped; the secondary unit designators APT,
 * APARTMENT, UNIT, STE, SUITE (USPS Publication 28, Appendix C2) and the
 * number words NO, NUM, NBR, NUMBER are dropped as words, and as a prefix
 * glued to digits ("Apt101"); leading zeros of every digit run go ("0101"
 * is "101", "0" stays "0").  Words are then joined without a separator,
 * except that two digit runs from different words keep a '-' between them
 * ("1 01" is "1-1", not "11").  Bytes from 0x80 up (UTF-8) are letters and
 * are kept as they are.  So "Apt #0101", "APT 101", "unit 101" and "101"
 * are all "101"; "B-101" and "b101" are "b101".
 *
 * unitname_split(): a building prefix is the building designator BLDG, BLD,
 * BLG or BUILDING (USPS Publication 28, Appendix C2) and the word after
 * it ("Bldg 2 Apt 101", "Building 3 - 101", "Bldg2 101"), or else a first
 * word of at most 4 letters or digits separated from the rest, when the
 * rest holds a digit ("B-101", "01-A101": building "01", unit "A101";
 * "A 204").  A letter glued to the number ("B204") is not split: it may be
 * part of the unit's name.  Unit designators before the prefix are
 * skipped ("Apt B-101").
 *
 * Ambiguity (unitname_match()): a pair is proposed by exact or normalized
 * whenever the rule holds; it is *safe* (may be applied without a person)
 * only when neither side matches anything else by those rules.  A
 * unit-number pair is proposed only when it is the only one for both
 * sides among the units that matched nothing by the stronger rules, and
 * is never safe.  "0101" and "101" are different PMS units (docs/ARCHITECTURE.md §5):
 * with a Latch unit "101", both are proposed and neither is safe.
 *
 * Errors: unitname_normalize() and unitname_split() return -1 when the
 * result would not fit (no err_set(): such a name only matches exactly);
 * unitname_match() returns -1 with err_set() when out of memory.
 * Ownership: callers own every buffer; unitname_match() returns a
 * malloc'd array the caller frees.
 */
#ifndef UNITSYNC_UNITNAME_H
#define UNITSYNC_UNITNAME_H

#include <stddef.h>

/* Room for a normalized key: longer names match exactly or not at all. */
#define UNITNAME_MAX 256

/* The rules, weakest first, so that a stronger rule compares greater. */
enum unitname_rule {
	UNITNAME_NONE,
	UNITNAME_UNIT_NUMBER, /* 0.60 */
	UNITNAME_NORMALIZED,  /* 0.90 */
	UNITNAME_EXACT,       /* 1.00 */
};

/*
 * The normalized key of NAME into OUT (SIZE bytes, NUL-terminated).
 * Returns its length (0: nothing is left, such as for "Apt #"), or -1 when
 * it does not fit.
 */
int unitname_normalize(const char *name, char *out, size_t size);

/*
 * Split NAME into a building and a unit, both normalized.  Returns 1 when
 * a building prefix was found, 0 when not (BUILDING is "", UNIT is the
 * whole name normalized), -1 when a part does not fit.
 */
int unitname_split(const char *name, char *building, size_t bsize, char *unit, size_t usize);

/* The strongest rule by which PMS name P and Latch name L are one unit,
 * ambiguity aside. */
enum unitname_rule unitname_compare(const char *p, const char *l);

/* "exact", "normalized", "unit-number", or "none". */
const char *unitname_rule_name(enum unitname_rule rule);

/* 1.00, 0.90, 0.60, or 0. */
double unitname_confidence(enum unitname_rule rule);

/* One proposed pair: indexes into the arrays given to unitname_match(). */
struct unitname_pair {
	size_t pms;              /* index of the PMS name */
	size_t latch;            /* index of the Latch name */
	enum unitname_rule rule; /* never UNITNAME_NONE */
	int safe;                /* exact or normalized, and both sides match nothing
				   * else by those rules: may be applied unattended */
};

/*
 * Propose pairs between N_PMS PMS names and N_LATCH Latch names (both
 * sides unmapped units; NULL or "" names match nothing) by the rules
 * above.  *OUT (malloc'd, owned by the caller; NULL when there are none)
 * receives *N_OUT pairs ordered by PMS index, then Latch index.  The work
 * is proportional to N_PMS * N_LATCH.
 */
int unitname_match(const char *const *pms, size_t n_pms, const char *const *latch, size_t n_latch,
		   struct unitname_pair **out, size_t *n_out);

#endif
