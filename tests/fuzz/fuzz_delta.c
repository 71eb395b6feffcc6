/*
 * fuzz_delta - delta_read() (lib/delta.h) on any bytes: every row it hands
 * over must be whole (each field a string), and writing the rows back with
 * delta_write_row() must read back to the same rows (the writer quotes
 * what the reader needs quoted).
 */
#include "delta.h"
#include "fuzz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The rows read, written back. */
struct pass {
	FILE *out;   /* delta_write_row() target, or NULL on the second pass */
	char **rows; /* second pass: the first pass's rows, one string each */
	size_t n, cap;
	size_t at; /* second pass: next row to compare */
};

/* One row as a single string, fields joined by \x1f (never in a field
 * that compares equal by accident: the comparison is of both passes). */
static char *flatten(const struct delta_row *r)
{
	const char *f[] = { r->property_id,   r->pms_unit_id, r->latch_unit_id, r->pms_person_id,
			    r->latch_user_id, r->reason,      r->group_id,      r->effective_date,
			    r->email,         r->phone,       r->first_name,    r->last_name };
	size_t len = 64;
	char *s, *p;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		len += strlen(f[i]) + 1;
	s = malloc(len);
	if (!s)
		abort();
	p = s + snprintf(s, len, "%ld %s", r->seq, delta_op_name(r->op));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		size_t n = strlen(f[i]);

		*p++ = '\x1f';
		memcpy(p, f[i], n);
		p += n;
	}
	*p = '\0';
	return s;
}

static int on_row(const struct delta_row *r, void *vp)
{
	struct pass *ps = vp;
	char *flat = flatten(r);

	if (ps->out) {
		if (ps->n == ps->cap) {
			ps->cap = ps->cap ? ps->cap * 2 : 16;
			ps->rows = realloc(ps->rows, ps->cap * sizeof(*ps->rows));
			if (!ps->rows)
				abort();
		}
		ps->rows[ps->n++] = flat;
		delta_write_row(ps->out, r);
		return 0;
	}
	/* the file written from the first pass reads back row for row */
	if (ps->at >= ps->n || strcmp(ps->rows[ps->at], flat) != 0) {
		fprintf(stderr, "fuzz_delta: row %zu differs after a write and a read\n", ps->at);
		abort();
	}
	ps->at++;
	free(flat);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[PATH_MAX], out[PATH_MAX];
	struct pass ps = { 0 };
	int rc;

	fuzz_write("delta.csv", data, size, in);
	snprintf(out, sizeof(out), "%s/rewritten.csv", fuzz_dir());
	ps.out = fopen(out, "w");
	if (!ps.out)
		abort();
	delta_write_header(ps.out);
	rc = delta_read(in, on_row, &ps);
	if (fclose(ps.out) != 0)
		abort();
	ps.out = NULL;
	if (rc == 0) {
		if (delta_read(out, on_row, &ps) != 0 || ps.at != ps.n) {
			fprintf(stderr, "fuzz_delta: a delta read, written and read again fails\n");
			abort();
		}
	}
	for (size_t i = 0; i < ps.n; i++)
		free(ps.rows[i]);
	free(ps.rows);
	return 0;
}
