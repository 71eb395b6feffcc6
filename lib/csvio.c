#include "csvio.h"
#include "encoding.h"
#include "err.h"

#include <csv.h>
#include <ctype.h>
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
	int line_transcoded;  /* the line being fed was transcoded */
	long line_bad;        /* the line being fed could not be decoded: its number */
	int limit;            /* 1: a field too long, 2: too many fields (failed) */
	char *text;           /* the record's field texts, each NUL-terminated, one
			       * after the other (row.fields point into it once the
			       * record is whole), owned: one buffer, not a malloc a
			       * field (docs/PERFORMANCE.md, extract item 9) */
	size_t text_len, text_cap;
	size_t *at; /* each field's offset in text, owned (row.cap slots) */
};

static void on_field(void *data, size_t len, void *vr)
{
	struct reader *r = vr;
	if (r->failed)
		return;
	/* the documented limits (docs/SECURITY.md), whatever the line length */
	if (len > CSVIO_MAX_FIELD || r->row.n >= CSVIO_MAX_FIELDS) {
		r->failed = 1;
		r->limit = len > CSVIO_MAX_FIELD ? 1 : 2;
		return;
	}
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
		l = realloc(r->at, cap * sizeof(*l));
		if (!l) {
			r->failed = 1;
			err_set("out of memory");
			return;
		}
		r->at = l;
		r->row.cap = cap;
	}
	if (r->text_len + len + 1 > r->text_cap) {
		size_t cap = r->text_cap ? r->text_cap : 4096;
		char *t;

		while (cap < r->text_len + len + 1)
			cap *= 2;
		t = realloc(r->text, cap);
		if (!t) {
			r->failed = 1;
			err_set("out of memory");
			return;
		}
		r->text = t;
		r->text_cap = cap;
	}
	if (len)
		memcpy(r->text + r->text_len, data, len);
	r->text[r->text_len + len] = '\0';
	r->at[r->row.n] = r->text_len;
	r->row.lens[r->row.n] = len;
	r->text_len += len + 1;
	r->row.n++;
}

static void clear_row(struct reader *r)
{
	r->row.n = 0;
	r->text_len = 0;
}

static void on_record(int term, void *vr)
{
	struct reader *r = vr;

	/* libcsv's csv_fini() submits a record cut off by end of file with -1 */
	r->row.unterminated = term == -1;
	/* the text no longer moves: point the fields into it */
	for (size_t i = 0; i < r->row.n; i++)
		r->row.fields[i] = r->text + r->at[i];
	if (!r->failed && r->fn(&r->row, r->ctx) < 0)
		r->failed = 1;
	clear_row(r);
	/* a record that starts later on this same line (after a lone CR)
	 * shares the line's flags */
	r->row.transcoded = r->line_transcoded;
	r->row.undecodable = r->line_bad;
}

int csvio_read_encoded(FILE *fp, const char *name, const char *encoding, csvio_row_fn fn, void *ctx,
		       char *from, size_t from_size, struct csvio_digest *digest)
{
	struct csv_parser p;
	struct reader r = { .fn = fn, .ctx = ctx };
	struct enc_reader enc;
	const char *data;
	size_t len;
	enum enc_how how;
	int rc = -1, got;

	if (enc_open(&enc, fp, name, encoding) < 0)
		return -1;
	if (digest)
		enc.digest = digest->h;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		enc_release(&enc);
		err_set("out of memory");
		return -1;
	}
	while ((got = enc_getline(&enc, &data, &len, &how)) > 0) {
		r.line++;
		r.line_transcoded = how == ENC_TRANSCODED;
		r.line_bad = how == ENC_UNDECODABLE ? r.line : 0;
		r.row.encoding = enc_expected(&enc);
		if (p.pstate == CSV_ROW_NOT_BEGUN) {
			r.row.line = r.line;
			r.row.transcoded = 0;
			r.row.undecodable = 0;
		}
		r.row.transcoded |= r.line_transcoded;
		if (!r.row.undecodable)
			r.row.undecodable = r.line_bad;
		if (p.entry_pos > CSVIO_MAX_FIELD) {
			/* an unterminated quote would otherwise swallow the whole file */
			err_set("'%s' line %ld: a field longer than %d bytes (an unterminated quote?)",
				name, r.row.line, CSVIO_MAX_FIELD);
			goto out;
		}
		if (csv_parse(&p, data, len, on_field, on_record, &r) != len) {
			err_set("'%s' line %ld: %s", name, r.line,
				csv_error(&p) == CSV_EPARSE
					? "malformed quoting (a quote inside an unquoted field, or text after a closing quote)"
					: csv_strerror(csv_error(&p)));
			goto out;
		}
		if (r.limit)
			err_set("'%s' line %ld: %s", name, r.row.line,
				r.limit == 1 ? "a field longer than 1048576 bytes"
					     : "a record of more than 4096 fields");
		if (r.failed)
			goto out;
	}
	if (got < 0)
		goto out;
	if (csv_fini(&p, on_field, on_record, &r) != 0) {
		err_set("'%s' line %ld: unterminated quoted field: the file ends inside its last "
			"record: truncated (or a quote left open)",
			name, r.row.line);
		goto out;
	}
	if (r.failed)
		goto out;
	rc = 0;
out:
	if (digest)
		digest->bytes = enc.bytes;
	if (from)
		snprintf(from, from_size, "%s", enc_source(&enc));
	clear_row(&r);
	free(r.row.fields);
	free(r.row.lens);
	free(r.at);
	free(r.text);
	csv_free(&p);
	enc_release(&enc);
	return rc;
}

int csvio_read(FILE *fp, const char *name, csvio_row_fn fn, void *ctx)
{
	return csvio_read_encoded(fp, name, NULL, fn, ctx, NULL, 0, NULL);
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

const char *csvio_trim(const char *s, size_t len, size_t *out_len)
{
	return enc_trim(s, len, out_len);
}
