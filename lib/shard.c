#include "shard.h"
#include "err.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int shard_parse(const char *s, struct shard *out)
{
	char *end;
	unsigned long k, n;

	errno = 0;
	k = strtoul(s, &end, 10);
	if (end == s || *end != '/' || s[0] == '-')
		goto bad;
	s = end + 1;
	n = strtoul(s, &end, 10);
	if (end == s || *end || s[0] == '-' || errno || n == 0 || n > 100000 || k >= n)
		goto bad;
	out->k = (unsigned)k;
	out->n = (unsigned)n;
	return 0;
bad:
	err_set("'%s' is not a shard K/N with 0 <= K < N", s);
	return -1;
}

unsigned shard_of(const char *property_id, unsigned n)
{
	/* FNV-1a, 64 bits (Fowler, Noll, Vo) */
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)property_id; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (unsigned)(h % n);
}

int shard_has(const struct shard *shard, const char *property_id)
{
	return shard->n == 0 || shard_of(property_id, shard->n) == shard->k;
}
