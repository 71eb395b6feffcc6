/*
 * shard.h - splitting a portfolio across machines (docs/ARCHITECTURE.md §10).
 *
 * A property is independent of every other, so shard K of N (0 <= K < N)
 * is the set of properties whose id hashes to K: FNV-1a 64 of the id's
 * bytes, modulo N.  The hash is fixed forever (changing it would move
 * properties between shards, and so between state databases), does not
 * depend on the machine, and spreads ids evenly enough for N up to the
 * thousands.
 */
#ifndef UNITSYNC_SHARD_H
#define UNITSYNC_SHARD_H

/* A shard selection; n == 0 means "everything". */
struct shard {
	unsigned k; /* this shard, 0-based */
	unsigned n; /* number of shards */
};

/* Parse "K/N" with 0 <= K < N <= 100000; -1 with err_set(). */
int shard_parse(const char *s, struct shard *out);

/* The shard (0..n-1) of PROPERTY_ID among N. */
unsigned shard_of(const char *property_id, unsigned n);

/* Does SHARD select PROPERTY_ID?  Always true for n == 0. */
int shard_has(const struct shard *shard, const char *property_id);

#endif
