#include "status.h"

#include <ctype.h>
#include <string.h>

struct word {
	const char *raw;  /* key: lower case, letters and digits only */
	const char *norm; /* normalized word */
};

static const struct word statuses[] = {
	/* the normalized words themselves */
	{ "applicant", "applicant" },
	{ "future", "future" },
	{ "current", "current" },
	{ "notice", "notice" },
	{ "eviction", "eviction" },
	{ "past", "past" },
	{ "cancelled", "cancelled" },
	{ "denied", "denied" },
	{ "waitlist", "waitlist" },
	{ "unknown", "unknown" },
	/* Yardi ResidentTransactions Customer/@Type and Voyager words */
	{ "currentresident", "current" },
	{ "formerresident", "past" },
	{ "futureresident", "future" },
	{ "noticeresident", "notice" },
	{ "applicantresident", "applicant" },
	{ "canceledapplicant", "cancelled" },
	{ "cancelledapplicant", "cancelled" },
	{ "deniedapplicant", "denied" },
	{ "former", "past" },
	/* MITS / RealPage / Entrata / RentCafe words */
	{ "occupied", "current" },
	{ "occupiednonotice", "current" },
	{ "onnotice", "notice" },
	{ "noticetovacate", "notice" },
	{ "ntv", "notice" },
	{ "evict", "eviction" },
	{ "evicted", "past" },
	{ "undereviction", "eviction" },
	{ "movedout", "past" },
	{ "moveout", "past" },
	{ "vacated", "past" },
	{ "previous", "past" },
	{ "canceled", "cancelled" },
	{ "cancel", "cancelled" },
	{ "approved", "future" },
	{ "approvedapplicant", "future" },
	{ "pending", "applicant" },
	{ "guestcard", "applicant" },
	{ "prospect", "applicant" },
	{ "rejected", "denied" },
	{ "declined", "denied" },
	{ "waitlisted", "waitlist" },
	{ "waitinglist", "waitlist" },
	/* AppFolio rent roll (Status: the unit's; a tenant's row under
	 * Notice-Rented is the one leaving, the next tenant has a row of its
	 * own) and tenant tickler event words (review rv18 #6) */
	{ "vacantrented", "future" },
	{ "noticerented", "notice" },
	{ "noticeunrented", "notice" },
	{ "evictionfiled", "eviction" },
	/* Yardi Voyager rent roll section banners (the status of the rows below) */
	{ "currentnoticevacantresidents", "current" },
	{ "futureresidentsapplicants", "future" },
	{ "currentresidents", "current" },
	{ "noticeresidents", "notice" },
	{ "futureresidents", "future" },
	{ "pastresidents", "past" },
	{ "applicants", "applicant" },
	/* Entrata / RealPage OneSite resident and unit words */
	{ "pastresident", "past" },
	{ "occupiedntv", "notice" },
	{ "occupiedntvl", "notice" },
	{ "ntvl", "notice" },
	{ "vacantleased", "future" },
};

static const struct word roles[] = {
	{ "", "primary" },
	{ "primary", "primary" },
	{ "head", "primary" },
	{ "headofhousehold", "primary" },
	{ "leaseholder", "primary" },
	{ "tenant", "primary" },
	{ "resident", "primary" },
	{ "roommate", "roommate" },
	{ "coresident", "roommate" },
	{ "cotenant", "roommate" },
	{ "customer", "roommate" }, /* Yardi: an additional lease holder */
	{ "occupant", "occupant" },
	{ "otheroccupant", "occupant" },
	{ "authorizedoccupant", "occupant" },
	{ "guarantor", "guarantor" },
	{ "cosigner", "guarantor" },
	{ "minor", "minor" },
	{ "child", "minor" },
	{ "dependent", "minor" },
};

/* Fold RAW to its key: lower case letters and digits, nothing else. */
static void fold(const char *raw, char *key, size_t size)
{
	size_t n = 0;

	for (; *raw && n + 1 < size; raw++)
		if (isalnum((unsigned char)*raw))
			key[n++] = (char)tolower((unsigned char)*raw);
	key[n] = '\0';
}

static const char *lookup(const struct word *t, size_t n, const char *raw)
{
	char key[64];

	fold(raw ? raw : "", key, sizeof(key));
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].raw, key))
			return t[i].norm;
	return NULL;
}

const char *status_normalize(const char *raw)
{
	const char *s = lookup(statuses, sizeof(statuses) / sizeof(statuses[0]), raw);

	return s ? s : "unknown";
}

int status_valid(const char *s)
{
	/* every normalized word maps to itself in the table */
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (!strcmp(statuses[i].raw, s) && !strcmp(statuses[i].norm, s))
			return 1;
	return 0;
}

const char *role_normalize(const char *raw)
{
	return lookup(roles, sizeof(roles) / sizeof(roles[0]), raw);
}

/* Does WORD, folded to lower-case letters and digits, start with PREFIX? */
static int folded_prefix(const char *word, const char *prefix)
{
	for (; *word && *prefix; word++) {
		if (!isalnum((unsigned char)*word))
			continue;
		if (tolower((unsigned char)*word) != *prefix)
			return 0;
		prefix++;
	}
	return !*prefix;
}

int status_dwelling(const char *const *words, size_t n)
{
	/* folded; see status.h for where each comes from */
	static const char *const not_dwelling[] = {
		"excluded", "waitlist", "waitinglist", "parking",
		"garage",   "carport",  "storage",     "locker",
	};

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; words[i] && k < sizeof(not_dwelling) / sizeof(not_dwelling[0]);
		     k++)
			if (folded_prefix(words[i], not_dwelling[k]))
				return 0;
	return 1;
}
