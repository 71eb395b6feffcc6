#include "rules.h"
#include "date.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is(const char *s, const char *word)
{
	return !strcmp(s, word);
}

/* Is STATUS one P's exclude-status lists? */
static int excluded(const struct rules_policy *p, const char *status)
{
	char key[32];

	snprintf(key, sizeof(key), ",%s,", status);
	return strstr(p->exclude, key) != NULL;
}

/* Does STATUS say the resident lives here (until the move-out)? */
static int in_residence(const char *status)
{
	return is(status, "current") || is(status, "notice") || is(status, "eviction");
}

/* Does STATUS say the resident is to move in? */
static int to_move_in(const char *status)
{
	return is(status, "future") || is(status, "applicant");
}

/* Is AS_OF after MOVE_OUT plus DAYS? */
static int past_edge(const char *as_of, const char *move_out, int days)
{
	char edge[DATE_LEN + 1];

	date_add_days(move_out, days, edge);
	return strcmp(as_of, edge) > 0;
}

enum rules_verdict rules_eligible(const struct rules_policy *p, const char *status,
				  const char *move_in, const char *move_out, const char **why)
{
	*why = "";
	if (excluded(p, status)) {
		*why = "status_excluded";
		return RULES_DENY;
	}
	if (is(status, "past")) {
		/* already moved out: only the grace days after the move-out date */
		*why = "move_out";
		if (!*move_out || p->grace_days <= 0 ||
		    past_edge(p->as_of, move_out, p->grace_days))
			return RULES_DENY;
		return RULES_KEEP;
	}
	if (in_residence(status)) {
		if (*move_out && past_edge(p->as_of, move_out, p->grace_days)) {
			*why = "move_out";
			return RULES_DENY;
		}
		/* the move-out day itself is still theirs, then the grace days */
		if (*move_out && past_edge(p->as_of, move_out, 0)) {
			*why = "move_out";
			return RULES_KEEP;
		}
		return RULES_GRANT;
	}
	if (to_move_in(status)) {
		char edge[DATE_LEN + 1];

		*why = "status_change";
		if (p->lead_days < 0 || !*move_in)
			return RULES_DENY;
		date_add_days(move_in, -p->lead_days, edge);
		if (strcmp(p->as_of, edge) < 0)
			return RULES_DENY;
		*why = "";
		return RULES_GRANT;
	}
	*why = "status_change";
	return RULES_DENY;
}

int rules_dates_disagree(const struct rules_policy *p, const char *status, const char *move_in)
{
	char edge[DATE_LEN + 1];

	if (!*move_in || excluded(p, status))
		return 0;
	if (in_residence(status)) {
		date_add_days(move_in, p->lead_days > 0 ? -p->lead_days : 0, edge);
		return strcmp(p->as_of, edge) < 0;
	}
	if (to_move_in(status))
		return p->lead_days < 0 && strcmp(p->as_of, move_in) >= 0;
	return 0;
}

int rules_household_member(const char *role)
{
	return is(role, "roommate") || is(role, "occupant") || is(role, "minor");
}

int rules_status_conflict(const char *role, enum rules_verdict own, const char *primary_status)
{
	return rules_household_member(role) && own != RULES_DENY &&
	       (is(primary_status, "past") || is(primary_status, "cancelled") ||
		is(primary_status, "denied"));
}

/* Append S to OUT at *LEN (the key's length so far, counted past SIZE - 1
 * too), trimmed, folded and collapsed as rules_name_key says. */
static void put_words(const char *s, char *out, size_t size, size_t *len)
{
	int blank = *len > 0; /* a space is owed before the next word */

	for (; s && *s; s++) {
		if (*s == ' ' || *s == '\t') {
			blank = *len > 0;
			continue;
		}
		if (blank) {
			if (*len + 1 < size)
				out[*len] = ' ';
			(*len)++;
		}
		blank = 0;
		if (*len + 1 < size)
			out[*len] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
		(*len)++;
		/* a Latin-1 capital in UTF-8 (U+00C0-U+00DE but the sign U+00D7):
		 * its small letter is 0x20 further, in the same lead byte */
		if ((unsigned char)s[0] == 0xc3 && (unsigned char)s[1] >= 0x80 &&
		    (unsigned char)s[1] <= 0x9e && (unsigned char)s[1] != 0x97) {
			s++;
			if (*len + 1 < size)
				out[*len] = (char)((unsigned char)*s + 0x20);
			(*len)++;
		}
	}
}

/* Reverse N bytes at P. */
static void reverse(char *p, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		char c = p[i];

		p[i] = p[n - 1 - i];
		p[n - 1 - i] = c;
	}
}

/* The LEN-byte key K's words in byte order, in place (a bubble sort of
 * adjacent words, swapped by rotation: names have a few words). */
static void sort_words(char *k, size_t len)
{
	for (int swapped = 1; swapped;) {
		swapped = 0;
		for (size_t i = 0; i < len;) {
			size_t la = strcspn(k + i, " "), lb;
			int c;

			if (i + la >= len)
				break;
			lb = strcspn(k + i + la + 1, " ");
			c = memcmp(k + i, k + i + la + 1, la < lb ? la : lb);
			if (c > 0 || (c == 0 && la > lb)) {
				/* "A B" -> "B A" */
				reverse(k + i, la + 1 + lb);
				reverse(k + i, lb);
				reverse(k + i + lb + 1, la);
				swapped = 1;
				i += lb + 1;
			} else {
				i += la + 1;
			}
		}
	}
}

size_t rules_name_key(const char *first, const char *last, char *out, size_t size)
{
	size_t len = 0;

	put_words(first, out, size, &len);
	put_words(last, out, size, &len);
	if (size)
		out[len < size ? len : size - 1] = '\0';
	if (len < size)
		sort_words(out, len);
	return len;
}

char *rules_name_key_new(const char *first, const char *last)
{
	size_t need = rules_name_key(first, last, NULL, 0) + 1;
	char *key = malloc(need);

	if (!key) {
		err_set("out of memory");
		return NULL;
	}
	rules_name_key(first, last, key, need);
	return key;
}
