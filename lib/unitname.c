#include "unitname.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Words that say "the unit is": USPS Publication 28, Appendix C2, and
 * the ways a number is announced. */
static const char *const unit_words[] = {
	"apt", "apartment", "unit", "ste", "suite", "no", "num", "nbr", "number", NULL,
};

/* Words that say "the building is" (USPS Publication 28, Appendix C2,
 * and the spellings PMS exports use). */
static const char *const building_words[] = { "bldg", "bld", "blg", "building", NULL };

/* Longest first word taken as a building without a building word. */
#define SHORT_BUILDING 4

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Letters, digits and every byte of a UTF-8 sequence make words. */
static int is_word_byte(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : (char)c;
}

/* The next word at or after *P: its start in *START and its length (0 at
 * the end); *P moves past it. */
static size_t next_word(const char **p, const char **start)
{
	const char *s = *p;

	while (*s && !is_word_byte((unsigned char)*s))
		s++;
	*start = s;
	while (*s && is_word_byte((unsigned char)*s))
		s++;
	*p = s;
	return (size_t)(s - *start);
}

/* Is the word W (N bytes) one of LIST, letter case aside? */
static int word_in(const char *w, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !strncasecmp(w, *list, n))
			return 1;
	return 0;
}

/* The length of a word of LIST that W starts with, glued to a digit
 * ("Apt101", "Bldg2"); 0 when none. */
static size_t glued(const char *w, size_t n, const char *const *list)
{
	for (; *list; list++) {
		size_t k = strlen(*list);

		if (k < n && !strncasecmp(w, *list, k) && is_digit((unsigned char)w[k]))
			return k;
	}
	return 0;
}

/* A key being built in a caller's buffer. */
struct key {
	char *out;    /* the caller's buffer, NUL-terminated as it grows */
	size_t size;  /* its size in bytes */
	size_t len;   /* bytes written */
	int overflow; /* something did not fit */
};

static void key_init(struct key *k, char *out, size_t size)
{
	k->out = out;
	k->size = size;
	k->len = 0;
	k->overflow = size == 0;
	if (size)
		out[0] = '\0';
}

static void key_put(struct key *k, char c)
{
	if (k->overflow || k->len + 1 >= k->size) {
		k->overflow = 1;
		return;
	}
	k->out[k->len++] = c;
	k->out[k->len] = '\0';
}

/* Append one word, folded, with the leading zeros of its digit runs
 * dropped; a '-' keeps it apart from a digit run of the word before. */
static void key_word(struct key *k, const char *w, size_t n)
{
	size_t i = 0;

	if (n && k->len && is_digit((unsigned char)k->out[k->len - 1]) &&
	    is_digit((unsigned char)w[0]))
		key_put(k, '-');
	while (i < n) {
		size_t j = i;

		if (!is_digit((unsigned char)w[i])) {
			key_put(k, fold((unsigned char)w[i]));
			i++;
			continue;
		}
		while (j < n && is_digit((unsigned char)w[j]))
			j++;
		while (i + 1 < j && w[i] == '0')
			i++;
		for (; i < j; i++)
			key_put(k, w[i]);
	}
}

/* Append every word of S, leaving out unit designators. */
static void key_words(struct key *k, const char *s)
{
	const char *w;
	size_t n;

	while ((n = next_word(&s, &w)) > 0) {
		size_t g;

		if (word_in(w, n, unit_words))
			continue;
		g = glued(w, n, unit_words);
		key_word(k, w + g, n - g);
	}
}

int unitname_normalize(const char *name, char *out, size_t size)
{
	struct key k;

	key_init(&k, out, size);
	key_words(&k, name ? name : "");
	if (k.overflow) {
		if (size)
			out[0] = '\0';
		return -1;
	}
	return (int)k.len;
}

static int has_digit(const char *s)
{
	for (; *s; s++)
		if (is_digit((unsigned char)*s))
			return 1;
	return 0;
}

int unitname_split(const char *name, char *building, size_t bsize, char *unit, size_t usize)
{
	const char *p = name ? name : "", *w, *b = NULL, *rest = NULL;
	size_t n, bn = 0, g;
	struct key kb, ku;

	/* unit designators before the building ("Apt B-101") say nothing */
	while ((n = next_word(&p, &w)) > 0 && word_in(w, n, unit_words))
		;
	if (n == 0) {
		/* nothing but designators */
	} else if (word_in(w, n, building_words)) {
		bn = next_word(&p, &b);
		rest = p;
	} else if ((g = glued(w, n, building_words)) > 0) {
		b = w + g;
		bn = n - g;
		rest = p;
	} else if (n <= SHORT_BUILDING && *p) {
		b = w;
		bn = n;
		rest = p;
	}
	if (bn) {
		key_init(&kb, building, bsize);
		key_word(&kb, b, bn);
		key_init(&ku, unit, usize);
		key_words(&ku, rest);
		if (kb.overflow || ku.overflow)
			goto overflow;
		if (ku.len && has_digit(unit))
			return 1;
	}
	key_init(&kb, building, bsize);
	if (kb.overflow || unitname_normalize(name, unit, usize) < 0)
		goto overflow;
	return 0;
overflow:
	if (bsize)
		building[0] = '\0';
	if (usize)
		unit[0] = '\0';
	return -1;
}

/* What unitname_match() needs of one name, worked out once. */
struct keys {
	const char *name;            /* borrowed; "" for NULL */
	char norm[UNITNAME_MAX];     /* normalized key; "" when none */
	char building[UNITNAME_MAX]; /* building prefix, normalized; "" when none */
	char unit[UNITNAME_MAX];     /* the unit without its building, normalized */
	int has_building;            /* unitname_split() found a building */
};

static void keys_fill(struct keys *k, const char *name)
{
	int r;

	k->name = name ? name : "";
	if (unitname_normalize(k->name, k->norm, sizeof(k->norm)) < 0)
		k->norm[0] = '\0';
	r = unitname_split(k->name, k->building, sizeof(k->building), k->unit, sizeof(k->unit));
	k->has_building = r == 1;
	if (r < 0)
		k->unit[0] = '\0';
}

/* The rule by which exact or normalized hold, else UNITNAME_NONE. */
static enum unitname_rule strong_rule(const struct keys *p, const struct keys *l)
{
	if (*p->name && !strcmp(p->name, l->name))
		return UNITNAME_EXACT;
	if (*p->norm && !strcmp(p->norm, l->norm))
		return UNITNAME_NORMALIZED;
	return UNITNAME_NONE;
}

/* Does unit-number hold?  One side at least has a building, and two
 * buildings named differently are different units. */
static int unit_number(const struct keys *p, const struct keys *l)
{
	if (!*p->unit || strcmp(p->unit, l->unit))
		return 0;
	if (!p->has_building && !l->has_building)
		return 0;
	return !(p->has_building && l->has_building && strcmp(p->building, l->building));
}

enum unitname_rule unitname_compare(const char *p, const char *l)
{
	struct keys k[2];
	enum unitname_rule r;

	keys_fill(&k[0], p);
	keys_fill(&k[1], l);
	r = strong_rule(&k[0], &k[1]);
	if (r == UNITNAME_NONE && unit_number(&k[0], &k[1]))
		r = UNITNAME_UNIT_NUMBER;
	return r;
}

const char *unitname_rule_name(enum unitname_rule rule)
{
	switch (rule) {
	case UNITNAME_EXACT:
		return "exact";
	case UNITNAME_NORMALIZED:
		return "normalized";
	case UNITNAME_UNIT_NUMBER:
		return "unit-number";
	case UNITNAME_NONE:
		break;
	}
	return "none";
}

double unitname_confidence(enum unitname_rule rule)
{
	switch (rule) {
	case UNITNAME_EXACT:
		return 1.0;
	case UNITNAME_NORMALIZED:
		return 0.9;
	case UNITNAME_UNIT_NUMBER:
		return 0.6;
	case UNITNAME_NONE:
		break;
	}
	return 0.0;
}

/* A growing array of pairs. */
struct pairs {
	struct unitname_pair *v; /* owned */
	size_t n, cap;
};

static int pairs_add(struct pairs *a, size_t p, size_t l, enum unitname_rule rule)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct unitname_pair *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n].pms = p;
	a->v[a->n].latch = l;
	a->v[a->n].rule = rule;
	a->v[a->n].safe = 0;
	a->n++;
	return 0;
}

static int cmp_pair(const void *va, const void *vb)
{
	const struct unitname_pair *a = va, *b = vb;

	if (a->pms != b->pms)
		return a->pms < b->pms ? -1 : 1;
	return (a->latch > b->latch) - (a->latch < b->latch);
}

/*
 * Two passes over every (PMS, Latch) combination: exact and normalized
 * first, counting how many each side gets; then unit-number among the
 * units the first pass left alone, kept only where both sides have one.
 */
int unitname_match(const char *const *pms, size_t n_pms, const char *const *latch, size_t n_latch,
		   struct unitname_pair **out, size_t *n_out)
{
	struct keys *kp = NULL, *kl = NULL;
	size_t *deg_p = NULL, *deg_l = NULL, *weak_p = NULL, *weak_l = NULL;
	struct pairs strong = { 0 }, weak = { 0 }, all = { 0 };
	int rc = -1;

	*out = NULL;
	*n_out = 0;
	kp = malloc((n_pms ? n_pms : 1) * sizeof(*kp));
	kl = malloc((n_latch ? n_latch : 1) * sizeof(*kl));
	deg_p = calloc(n_pms ? n_pms : 1, sizeof(*deg_p));
	deg_l = calloc(n_latch ? n_latch : 1, sizeof(*deg_l));
	weak_p = calloc(n_pms ? n_pms : 1, sizeof(*weak_p));
	weak_l = calloc(n_latch ? n_latch : 1, sizeof(*weak_l));
	if (!kp || !kl || !deg_p || !deg_l || !weak_p || !weak_l)
		goto out;
	for (size_t i = 0; i < n_pms; i++)
		keys_fill(&kp[i], pms[i]);
	for (size_t j = 0; j < n_latch; j++)
		keys_fill(&kl[j], latch[j]);

	for (size_t i = 0; i < n_pms; i++)
		for (size_t j = 0; j < n_latch; j++) {
			enum unitname_rule r = strong_rule(&kp[i], &kl[j]);

			if (r == UNITNAME_NONE)
				continue;
			if (pairs_add(&strong, i, j, r) < 0)
				goto out;
			deg_p[i]++;
			deg_l[j]++;
		}
	for (size_t k = 0; k < strong.n; k++)
		strong.v[k].safe = deg_p[strong.v[k].pms] == 1 && deg_l[strong.v[k].latch] == 1;

	for (size_t i = 0; i < n_pms; i++) {
		if (deg_p[i])
			continue;
		for (size_t j = 0; j < n_latch; j++) {
			if (deg_l[j] || !unit_number(&kp[i], &kl[j]))
				continue;
			if (pairs_add(&weak, i, j, UNITNAME_UNIT_NUMBER) < 0)
				goto out;
			weak_p[i]++;
			weak_l[j]++;
		}
	}

	for (size_t k = 0; k < strong.n; k++) {
		if (pairs_add(&all, strong.v[k].pms, strong.v[k].latch, strong.v[k].rule) < 0)
			goto out;
		all.v[all.n - 1].safe = strong.v[k].safe;
	}
	for (size_t k = 0; k < weak.n; k++)
		if (weak_p[weak.v[k].pms] == 1 && weak_l[weak.v[k].latch] == 1 &&
		    pairs_add(&all, weak.v[k].pms, weak.v[k].latch, UNITNAME_UNIT_NUMBER) < 0)
			goto out;
	if (all.n)
		qsort(all.v, all.n, sizeof(*all.v), cmp_pair);
	*out = all.v;
	*n_out = all.n;
	all.v = NULL;
	rc = 0;
out:
	if (rc < 0)
		err_set("out of memory"); /* the only way to fail */
	free(kp);
	free(kl);
	free(deg_p);
	free(deg_l);
	free(weak_p);
	free(weak_l);
	free(strong.v);
	free(weak.v);
	free(all.v);
	return rc;
}
