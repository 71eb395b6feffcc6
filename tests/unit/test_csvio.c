/*
 * test_csvio.c - lib/csvio.h: RFC 4180 reading (quoting, CRLF, line
 * numbers of records that span lines, BOM, errors) and writing; and
 * lib/encoding.h under it: UTF-8 validation, Windows-1252 and UTF-16
 * decoding, forced encodings, per-record transcoded / undecodable flags.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"
#include "encoding.h"
#include "err.h"

#define MAX_ROWS 16
#define MAX_FIELDS 16

/* Copies of what the reader handed to the callback. */
struct rows {
	size_t n;                         /* records seen */
	size_t nf[MAX_ROWS];              /* fields per record */
	char *f[MAX_ROWS][MAX_FIELDS];    /* field copies, owned */
	size_t len[MAX_ROWS][MAX_FIELDS]; /* reported byte lengths */
	long line[MAX_ROWS];              /* reported start lines */
	int transcoded[MAX_ROWS];         /* reported transcoded flags */
	long undecodable[MAX_ROWS];       /* reported undecodable lines */
	size_t stop_at;                   /* 1-based record to fail on; 0: never */
	size_t total;                     /* records seen, also past MAX_ROWS */
	int count_only;                   /* only count records */
};

static int collect(const struct csvio_row *row, void *ctx)
{
	struct rows *r = ctx;

	r->total++;
	if (r->count_only)
		return 0;
	if (r->n == MAX_ROWS || row->n > MAX_FIELDS) {
		err_set("test buffer too small");
		return -1;
	}
	r->nf[r->n] = row->n;
	r->line[r->n] = row->line;
	r->transcoded[r->n] = row->transcoded;
	r->undecodable[r->n] = row->undecodable;
	for (size_t i = 0; i < row->n; i++) {
		r->f[r->n][i] = malloc(row->lens[i] + 1);
		assert_non_null(r->f[r->n][i]);
		memcpy(r->f[r->n][i], row->fields[i], row->lens[i] + 1);
		r->len[r->n][i] = row->lens[i];
	}
	r->n++;
	if (r->stop_at && r->n == r->stop_at) {
		err_set("stopped at record %zu", r->n);
		return -1;
	}
	return 0;
}

static void rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		for (size_t j = 0; j < r->nf[i]; j++)
			free(r->f[i][j]);
	memset(r, 0, sizeof(*r));
}

/* Read the LEN bytes of TEXT as file "t.csv" into R. */
static int read_bytes(const char *text, size_t len, struct rows *r)
{
	FILE *fp = fmemopen((void *)text, len, "r");
	int rc;

	assert_non_null(fp);
	rc = csvio_read(fp, "t.csv", collect, r);
	fclose(fp);
	return rc;
}

static int read_text(const char *text, struct rows *r)
{
	return read_bytes(text, strlen(text), r);
}

/* Read the LEN bytes of TEXT decoded as ENCODING into R. */
static int read_encoded(const char *text, size_t len, const char *encoding, struct rows *r)
{
	FILE *fp = fmemopen((void *)text, len, "r");
	int rc;

	assert_non_null(fp);
	rc = csvio_read_encoded(fp, "t.csv", encoding, collect, r, NULL, 0, NULL);
	fclose(fp);
	return rc;
}

static void csvio_read_splits_records_into_fields(void **state)
{
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_text("id,name,unit\n1,,3\n", &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.nf[0], 3);
	assert_string_equal(r.f[0][0], "id");
	assert_string_equal(r.f[0][1], "name");
	assert_string_equal(r.f[0][2], "unit");
	assert_int_equal(r.nf[1], 3);
	assert_string_equal(r.f[1][0], "1");
	assert_string_equal(r.f[1][1], "");
	assert_int_equal(r.len[1][1], 0);
	assert_string_equal(r.f[1][2], "3");
	assert_int_equal(r.line[0], 1);
	assert_int_equal(r.line[1], 2);
	rows_free(&r);
}

static void csvio_read_reads_a_last_record_without_newline(void **state)
{
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_text("a,b\nc,d", &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.f[1][0], "c");
	assert_string_equal(r.f[1][1], "d");
	assert_int_equal(r.line[1], 2);
	rows_free(&r);
}

static void csvio_read_unquotes_commas_quotes_and_newlines(void **state)
{
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_text("\"Lee, Ann\",\"say \"\"hi\"\"\",\"two\nlines\",\"\"\n", &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.nf[0], 4);
	assert_string_equal(r.f[0][0], "Lee, Ann");
	assert_string_equal(r.f[0][1], "say \"hi\"");
	assert_int_equal(r.len[0][1], strlen("say \"hi\""));
	assert_string_equal(r.f[0][2], "two\nlines");
	assert_string_equal(r.f[0][3], "");
	rows_free(&r);
}

static void csvio_read_accepts_crlf_line_ends(void **state)
{
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_text("a,b\r\nc,\"d\r\ne\"\r\nf,g\r\n", &r), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.f[0][1], "b");
	assert_string_equal(r.f[1][0], "c");
	/* a line break inside quotes is data and kept as written */
	assert_string_equal(r.f[1][1], "d\r\ne");
	assert_string_equal(r.f[2][1], "g");
	assert_int_equal(r.line[0], 1);
	assert_int_equal(r.line[1], 2);
	assert_int_equal(r.line[2], 4);
	rows_free(&r);
}

static void csvio_read_gives_the_line_a_multiline_record_starts_on(void **state)
{
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_text("h1,h2\n\"x\ny\nz\",w\nlast,row\n\"p\n\",\"q\n\"\nend,end\n",
				   &r),
			 0);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.line[0], 1);
	assert_int_equal(r.line[1], 2);
	assert_string_equal(r.f[1][0], "x\ny\nz");
	assert_int_equal(r.line[2], 5);
	assert_string_equal(r.f[2][0], "last");
	assert_int_equal(r.line[3], 6);
	assert_int_equal(r.line[4], 9);
	assert_string_equal(r.f[4][0], "end");
	rows_free(&r);
}

static void csvio_read_drops_a_utf8_bom(void **state)
{
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_text("\xEF\xBB\xBFid,name\n1,Ann\n", &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.f[0][0], "id");
	assert_int_equal(r.len[0][0], 2);
	assert_int_equal(r.line[0], 1);
	assert_int_equal(r.line[1], 2);
	rows_free(&r);
}

static void csvio_read_keeps_a_nul_byte_and_reports_its_length(void **state)
{
	static const char text[] = "a\0b,c\n";
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_bytes(text, sizeof(text) - 1, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.len[0][0], 3);
	assert_memory_equal(r.f[0][0], "a\0b", 3);
	assert_string_equal(r.f[0][1], "c");
	rows_free(&r);
}

static void csvio_read_rejects_an_unterminated_quote_naming_its_line(void **state)
{
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_text("a,b\nc,d\ne,\"never closed\nmore\nlines\n", &r), -1);
	assert_non_null(strstr(err_msg(), "'t.csv' line 3"));
	assert_non_null(strstr(err_msg(), "unterminated"));
	rows_free(&r);
}

static void csvio_read_rejects_a_stray_quote_naming_its_line(void **state)
{
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_text("a,b\nc,d\"e\n", &r), -1);
	assert_non_null(strstr(err_msg(), "'t.csv' line 2"));
	rows_free(&r);
}

static void csvio_read_stops_when_the_callback_fails(void **state)
{
	struct rows r = { .stop_at = 2 };

	(void)state;
	assert_int_equal(read_text("1\n2\n3\n4\n5\n", &r), -1);
	assert_int_equal(r.n, 2);
	assert_string_equal(err_msg(), "stopped at record 2");
	rows_free(&r);

	/* also when the failing record is the last, unterminated one */
	r.stop_at = 2;
	assert_int_equal(read_text("1\n2", &r), -1);
	assert_int_equal(r.n, 2);
	assert_string_equal(err_msg(), "stopped at record 2");
	rows_free(&r);
}

static void enc_utf8_valid_follows_rfc_3629(void **state)
{
	(void)state;
	assert_true(enc_utf8_valid("plain ascii", 11));
	assert_true(enc_utf8_valid("a\0b", 3));
	assert_true(enc_utf8_valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8F\xA0", 14));
	assert_true(enc_utf8_valid("\xF4\x8F\xBF\xBF", 4));  /* U+10FFFF */
	assert_false(enc_utf8_valid("\xC0\x80", 2));         /* overlong NUL */
	assert_false(enc_utf8_valid("\xE0\x80\xAF", 3));     /* overlong '/' */
	assert_false(enc_utf8_valid("\xED\xA0\x80", 3));     /* a surrogate */
	assert_false(enc_utf8_valid("\xF4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_false(enc_utf8_valid("caf\xC3", 4));          /* cut short */
	assert_false(enc_utf8_valid("Jos\xE9 Pe\xF1"
				    "a",
				    9)); /* Windows-1252 */
	assert_false(enc_utf8_valid("\x80", 1));
}

static void assert_trims_to(const char *in, const char *want)
{
	size_t len;
	const char *t = enc_trim(in, strlen(in), &len);

	if (len != strlen(want) || memcmp(t, want, len) != 0)
		fail_msg("'%s' trimmed to '%.*s', not '%s'", in, (int)len, t, want);
}

/* Unicode's white space (and a stray byte order mark) around a value goes,
 * as ASCII's does; inside it, and characters that only end alike, stay. */
static void enc_trim_removes_unicode_white_space_at_the_ends(void **state)
{
	(void)state;
	assert_trims_to(" \t101\r\n", "101");
	assert_trims_to("\xC2\xA0"
			"101"
			"\xC2\xA0",
			"101"); /* U+00A0 */
	assert_trims_to("\xE2\x80\xAF"
			"R1"
			"\xE3\x80\x80",
			"R1"); /* U+202F, U+3000 */
	assert_trims_to("\xEF\xBB\xBF"
			"R1 \xE2\x80\x83",
			"R1"); /* U+FEFF, U+2003 */
	assert_trims_to("\xC2\xA0 \xC2\xA0", "");
	assert_trims_to("Apt\xC2\xA0"
			"2",
			"Apt\xC2\xA0"
			"2");                            /* inner: kept */
	assert_trims_to("voil\xC3\xA0", "voil\xC3\xA0"); /* U+00E0 ends in A0 */
	assert_trims_to("\xE2\x80\x8B"
			"R1",
			"\xE2\x80\x8B"
			"R1");               /* U+200B: no space */
	assert_trims_to("R1\xC2", "R1\xC2"); /* a cut sequence */
}

static void csvio_read_encoded_transcodes_windows_1252_lines(void **state)
{
	static const char text[] = "id,name\n1,Zo\xC3\xAB\n2,Jos\xE9\n3,\x93q\x94\n";
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_encoded(text, sizeof(text) - 1, "auto", &r), 0);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.f[1][1], "Zo\xC3\xAB");
	assert_int_equal(r.transcoded[1], 0);
	assert_string_equal(r.f[2][1], "Jos\xC3\xA9");
	assert_int_equal(r.transcoded[2], 1);
	assert_string_equal(r.f[3][1], "\xE2\x80\x9Cq\xE2\x80\x9D");
	assert_int_equal(r.transcoded[3], 1);
	assert_int_equal(r.undecodable[3], 0);
	rows_free(&r);
}

static void csvio_read_encoded_flags_a_line_of_no_encoding(void **state)
{
	/* 0x81 is undefined in Windows-1252: the record is flagged, the read
	 * goes on, and the line number is that of the bad line */
	static const char text[] = "id,name\n1,\"two\nB\x81n\"\n2,ok\n";
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_encoded(text, sizeof(text) - 1, "auto", &r), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.line[1], 2);
	assert_int_equal(r.undecodable[1], 3);
	assert_int_equal(r.undecodable[2], 0);
	assert_string_equal(r.f[2][1], "ok");
	rows_free(&r);
}

static void csvio_read_encoded_forced_utf8_transcodes_nothing(void **state)
{
	static const char text[] = "id,name\n1,Jos\xE9\n";
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_encoded(text, sizeof(text) - 1, "UTF-8", &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.transcoded[1], 0);
	assert_int_equal(r.undecodable[1], 2);
	assert_memory_equal(r.f[1][1], "Jos\xE9", 4);
	rows_free(&r);
}

static void csvio_read_encoded_forced_latin1_converts_every_line(void **state)
{
	static const char text[] = "id,name\r\n1,Jos\xE9\r\n2,Ann\r\n";
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_encoded(text, sizeof(text) - 1, "ISO-8859-1", &r), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.f[1][1], "Jos\xC3\xA9");
	assert_int_equal(r.transcoded[1], 1);
	assert_int_equal(r.transcoded[2], 0); /* ASCII: nothing to convert */
	rows_free(&r);
}

static void csvio_read_encoded_decodes_utf16_after_a_byte_order_mark(void **state)
{
	/* "id,name\r\n1,\"Zoë\r\nNg\"\r\n" in UTF-16LE, then in UTF-16BE */
	static const char le[] =
		"\xFF\xFEi\0d\0,\0n\0a\0m\0e\0\r\0\n\0001\0,\0\"\0Z\0o\0\xEB\0\r\0\n\0"
		"N\0g\0\"\0\r\0\n\0";
	static const char be[] =
		"\xFE\xFF\0i\0d\0,\0n\0a\0m\0e\0\r\0\n\0001\0,\0\"\0Z\0o\0\xEB\0\r\0\n"
		"\0N\0g\0\"\0\r\0\n";
	const char *const texts[] = { le, be };
	const size_t lens[] = { sizeof(le) - 1, sizeof(be) - 1 };

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct rows r = { 0 };

		assert_int_equal(read_encoded(texts[i], lens[i], "auto", &r), 0);
		assert_int_equal(r.n, 2);
		assert_string_equal(r.f[0][0], "id");
		assert_string_equal(r.f[1][1], "Zo\xC3\xAB\r\nNg");
		assert_int_equal(r.transcoded[1], 1);
		assert_int_equal(r.line[1], 2);
		rows_free(&r);
	}
}

static void csvio_read_encoded_decodes_utf16_across_read_chunks(void **state)
{
	/* surrogate pairs (4 bytes) after a 2-byte mark: the 64 KiB reads
	 * split one of them, which must be carried to the next read */
	size_t n = 40000, len = 10 + n * 4, at = 0;
	char *text = malloc(len);
	struct rows r = { 0 };

	(void)state;
	assert_non_null(text);
	memcpy(text + at, "\xFF\xFEx\0\n\0", 6);
	at += 6;
	memcpy(text + at, "y\0,\0", 4);
	at += 4;
	for (size_t i = 0; i < n; i++, at += 4)
		memcpy(text + at, "\x3C\xD8\xE0\xDF", 4); /* U+1F3E0 */
	assert_int_equal(at, len);
	assert_int_equal(read_encoded(text, len, "auto", &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.nf[1], 2);
	assert_int_equal(r.len[1][1], n * 4);
	assert_memory_equal(r.f[1][1], "\xF0\x9F\x8F\xA0", 4);
	assert_memory_equal(r.f[1][1] + (n - 1) * 4, "\xF0\x9F\x8F\xA0", 4);
	rows_free(&r);
	free(text);
}

static void csvio_read_encoded_fails_on_a_truncated_utf16_file(void **state)
{
	static const char text[] = "\xFF\xFEi\0d\0\n\0001\0\n\0x";
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_encoded(text, sizeof(text) - 1, "auto", &r), -1);
	assert_non_null(strstr(err_msg(), "'t.csv' line 3: the file ends inside a character"));
	rows_free(&r);
}

static void csvio_read_encoded_refuses_an_unknown_encoding(void **state)
{
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(read_encoded("a\n", 2, "NO-SUCH-CHARSET", &r), -1);
	assert_non_null(strstr(err_msg(), "unknown encoding 'NO-SUCH-CHARSET'"));
	assert_false(enc_known("NO-SUCH-CHARSET"));
	assert_true(enc_known("auto"));
	assert_true(enc_known("windows-1252"));
	assert_int_equal(r.n, 0);
}

static void csvio_read_refuses_a_line_longer_than_the_limit(void **state)
{
	size_t len = ENC_MAX_LINE + 10;
	char *text = malloc(len);
	struct rows r = { .count_only = 1 };

	(void)state;
	assert_non_null(text);
	memset(text, 'a', len);
	memcpy(text, "h\nb", 3);
	assert_int_equal(read_bytes(text, len, &r), -1);
	assert_non_null(strstr(err_msg(), "'t.csv' line 2: longer than"));
	assert_int_equal(r.total, 1);
	free(text);
}

/* Run the writer into a string (caller frees). */
static char *write_rows(const char *const *fields, size_t n_per_row, size_t n_rows)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&buf, &size);

	assert_non_null(fp);
	for (size_t i = 0; i < n_rows; i++)
		csvio_write_row(fp, fields + i * n_per_row, n_per_row);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static void csvio_write_row_quotes_only_when_needed(void **state)
{
	static const char *const f[] = {
		"plain", "with,comma", "with \"quote\"", "line\nbreak", "cr\rhere", "", NULL, "end",
	};
	char *out;

	(void)state;
	out = write_rows(f, sizeof(f) / sizeof(f[0]), 1);
	assert_string_equal(out, "plain,\"with,comma\",\"with \"\"quote\"\"\",\"line\nbreak\","
				 "\"cr\rhere\",,,end\n");
	free(out);
}

static void csvio_write_field_puts_a_comma_before_all_but_the_first(void **state)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&buf, &size);

	(void)state;
	assert_non_null(fp);
	csvio_write_field(fp, "a", 1);
	csvio_write_field(fp, "\"", 0);
	csvio_write_field(fp, NULL, 0);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(buf, "a,\"\"\"\",");
	free(buf);
}

/* Write ROWS, read them back and compare field by field. */
static void assert_round_trip(const char *const *f, size_t n_per_row, size_t n_rows)
{
	char *text = write_rows(f, n_per_row, n_rows);
	struct rows r = { 0 };

	if (read_text(text, &r) != 0)
		fail_msg("reading back failed: %s", err_msg());
	assert_int_equal(r.n, n_rows);
	for (size_t i = 0; i < n_rows; i++) {
		assert_int_equal(r.nf[i], n_per_row);
		for (size_t j = 0; j < n_per_row; j++) {
			const char *want = f[i * n_per_row + j] ? f[i * n_per_row + j] : "";

			if (strcmp(r.f[i][j], want) != 0)
				fail_msg("row %zu field %zu: wrote '%s', read '%s'", i, j, want,
					 r.f[i][j]);
		}
	}
	rows_free(&r);
	free(text);
}

static void csvio_round_trip_gives_back_what_was_written(void **state)
{
	static const char *const f[] = {
		"P1",   "Lee, Ann", "say \"hi\"", "two\nlines",  "",           NULL, "\"",
		"\"\"", ",",        "\r\n",       "caf\xC3\xA9", "\"quoted\"",
	};

	(void)state;
	assert_round_trip(f, 4, 3);
}

/* Leading and trailing blanks are data: a name exported as " Ann" must
 * read back as written. */
static void csvio_round_trip_keeps_leading_and_trailing_spaces(void **state)
{
	static const char *const f[] = { " Ann", "Lee ", "\tx\t", "a@b.example " };

	(void)state;
	assert_round_trip(f, 4, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csvio_read_splits_records_into_fields),
		cmocka_unit_test(csvio_read_reads_a_last_record_without_newline),
		cmocka_unit_test(csvio_read_unquotes_commas_quotes_and_newlines),
		cmocka_unit_test(csvio_read_accepts_crlf_line_ends),
		cmocka_unit_test(csvio_read_gives_the_line_a_multiline_record_starts_on),
		cmocka_unit_test(csvio_read_drops_a_utf8_bom),
		cmocka_unit_test(csvio_read_keeps_a_nul_byte_and_reports_its_length),
		cmocka_unit_test(csvio_read_rejects_an_unterminated_quote_naming_its_line),
		cmocka_unit_test(csvio_read_rejects_a_stray_quote_naming_its_line),
		cmocka_unit_test(csvio_read_stops_when_the_callback_fails),
		cmocka_unit_test(enc_utf8_valid_follows_rfc_3629),
		cmocka_unit_test(enc_trim_removes_unicode_white_space_at_the_ends),
		cmocka_unit_test(csvio_read_encoded_transcodes_windows_1252_lines),
		cmocka_unit_test(csvio_read_encoded_flags_a_line_of_no_encoding),
		cmocka_unit_test(csvio_read_encoded_forced_utf8_transcodes_nothing),
		cmocka_unit_test(csvio_read_encoded_forced_latin1_converts_every_line),
		cmocka_unit_test(csvio_read_encoded_decodes_utf16_after_a_byte_order_mark),
		cmocka_unit_test(csvio_read_encoded_decodes_utf16_across_read_chunks),
		cmocka_unit_test(csvio_read_encoded_fails_on_a_truncated_utf16_file),
		cmocka_unit_test(csvio_read_encoded_refuses_an_unknown_encoding),
		cmocka_unit_test(csvio_read_refuses_a_line_longer_than_the_limit),
		cmocka_unit_test(csvio_write_row_quotes_only_when_needed),
		cmocka_unit_test(csvio_write_field_puts_a_comma_before_all_but_the_first),
		cmocka_unit_test(csvio_round_trip_gives_back_what_was_written),
		cmocka_unit_test(csvio_round_trip_keeps_leading_and_trailing_spaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
