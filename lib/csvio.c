#include "csvio.h"
#include "err.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

/* libcsv's parser state before the first byte of a record (libcsv.c). */
#define CSV_ROW_NOT_BEGUN 0

struct reader {
	struct csvio_row row; /* record being assembled */
	csvio_row_fn fn;      /* the caller's callback */
	void *ctx;            /* its context */
	long line;            /* physical line being fed */
	int failed;           /* callback asked to stop, or out of memory */
};

static void on_field(void *data, size_t len, void *vr)
{
	struct reader *r = vr;
	char *copy;

	if (r->failed)
		return;
	if (r->row.n == r->row.cap) {
		size_t cap = r->row.cap ? r->row.cap * 2 : 32;
		char **f = realloc(r->row.fields, cap * sizeof(*f));
		size_t *l;

		if (!f) {
			r->failed = 1;
			err_set("out of memory");
			return;
		}
		r->row.fields = f;
		l = realloc(r->row.lens, cap * sizeof(*l));
		if (!l) {
			r->failed = 1;
			err_set("out of memory");
			return;
		}
		r->row.lens = l;
		r->row.cap = cap;
	}
	copy = malloc(len + 1);
	if (!copy) {
		r->failed = 1;
		err_set("out of memory");
		return;
	}
	if (len)
		memcpy(copy, data, len);
	copy[len] = '\0';
	r->row.fields[r->row.n] = copy;
	r->row.lens[r->row.n] = len;
	r->row.n++;
}

static void clear_row(struct reader *r)
{
	for (size_t i = 0; i < r->row.n; i++)
		free(r->row.fields[i]);
	r->row.n = 0;
}

static void on_record(int term, void *vr)
{
	struct reader *r = vr;

	(void)term;
	if (!r->failed && r->fn(&r->row, r->ctx) < 0)
		r->failed = 1;
	clear_row(r);
}

int csvio_read(FILE *fp, const char *name, csvio_row_fn fn, void *ctx)
{
	struct csv_parser p;
	struct reader r = { .fn = fn, .ctx = ctx };
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = -1;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		err_set("out of memory");
		return -1;
	}
	while ((len = getline(&buf, &cap, fp)) > 0) {
		const char *data = buf;

		r.line++;
		if (r.line == 1 && len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) {
			data += 3;
			len -= 3;
		}
		if (p.pstate == CSV_ROW_NOT_BEGUN)
			r.row.line = r.line;
		if (p.entry_pos > CSVIO_MAX_FIELD) {
			/* an unterminated quote would otherwise swallow the whole file */
			err_set("'%s' line %ld: a field longer than %d bytes (an unterminated quote?)",
				name, r.row.line, CSVIO_MAX_FIELD);
			goto out;
		}
		if (csv_parse(&p, data, (size_t)len, on_field, on_record, &r) != (size_t)len) {
			err_set("'%s' line %ld: %s", name, r.line,
				csv_error(&p) == CSV_EPARSE
					? "malformed quoting (a quote inside an unquoted field, or text after a closing quote)"
					: csv_strerror(csv_error(&p)));
			goto out;
		}
		if (r.failed)
			goto out;
	}
	if (ferror(fp)) {
		err_set("cannot read '%s'", name);
		goto out;
	}
	if (csv_fini(&p, on_field, on_record, &r) != 0) {
		err_set("'%s' line %ld: unterminated quoted field (the file is truncated or malformed)",
			name, r.row.line);
		goto out;
	}
	if (r.failed)
		goto out;
	rc = 0;
out:
	clear_row(&r);
	free(r.row.fields);
	free(r.row.lens);
	free(buf);
	csv_free(&p);
	return rc;
}

void csvio_write_field(FILE *fp, const char *s, int first)
{
	if (!first)
		fputc(',', fp);
	if (!s)
		return;
	/* the reader trims unquoted fields, so edge spaces need quotes too */
	if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && s[0] != '\t' &&
	    (!*s || (s[strlen(s) - 1] != ' ' && s[strlen(s) - 1] != '\t'))) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

void csvio_write_row(FILE *fp, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		csvio_write_field(fp, fields[i], i == 0);
	fputc('\n', fp);
}
