/*
 * csvio.h - CSV in and out, RFC 4180.
 *
 * Reading goes through libcsv in strict mode, streamed one physical line at
 * a time, so memory stays flat whatever the file size; each record is
 * handed to a callback with the physical line it starts on (a quoted field
 * may span lines; CRLF, LF and a mix end lines, and line breaks inside
 * quotes are kept as written).  A UTF-8 byte order mark at the start is
 * dropped.  An unterminated quote at end of file (the file ends inside
 * its last record: truncated), or a stray quote inside an unquoted field,
 * fails the whole read naming the line.  A last record without a line
 * break is handed over with row.unterminated set.
 *
 * csvio_read_encoded() first turns the bytes into UTF-8 lines through
 * encoding.h ("auto": byte order marks, Windows-1252 lines; or a forced
 * encoding) and tells the callback, per record, whether any of its lines
 * was transcoded or could not be decoded; csvio_read() takes the bytes as
 * they are (our own files: deltas, mappings, exceptions).
 *
 * Unquoted fields are trimmed of spaces and tabs (libcsv's default), as
 * spreadsheets pad them; quoted fields are kept exactly.
 *
 * Writing quotes a field when RFC 4180 requires it (comma, quote, CR, LF)
 * or when it starts or ends with a space or tab (so that it reads back
 * the same), doubles embedded quotes and ends rows with LF.
 */
#ifndef UNITSYNC_CSVIO_H
#define UNITSYNC_CSVIO_H

#include <stddef.h>
#include <stdio.h>

struct sha256;

/* Longest field accepted, in bytes; a longer one fails the read. */
#define CSVIO_MAX_FIELD (1024 * 1024)

/* Most fields a record may have (a header of a million columns would
 * otherwise take 100 MB); a wider record fails the read.  The widest real
 * export in ../shared/samples has fewer than 100 columns. */
#define CSVIO_MAX_FIELDS 4096

/* One record.  Fields and the arrays are owned by the reader and valid only
 * during the callback. */
struct csvio_row {
	char **fields;        /* NUL-terminated field texts */
	size_t *lens;         /* byte length of each field (a field may hold a NUL) */
	size_t n;             /* number of fields */
	size_t cap;           /* allocated slots */
	long line;            /* 1-based physical line the record starts on */
	int transcoded;       /* a line of the record was converted to UTF-8 */
	long undecodable;     /* first line of the record that is not valid in
			       * the source encoding (kept as read), 0: none */
	const char *encoding; /* what that line failed to be ("UTF-8 or
			       * Windows-1252", "ISO-8859-1", ...), static to the read */
	int unterminated;     /* the file's last record, and no line break ends
			       * it: complete if many exports omit the final
			       * newline, or cut if the file was truncated;
			       * only the caller can tell which (issue 15 item 8) */
};

/* Called once per record; return 0 to go on, -1 to stop the read (the
 * callback sets err_set() and csvio_read() returns -1). */
typedef int (*csvio_row_fn)(const struct csvio_row *row, void *ctx);

/* Read all of FP; NAME is used in messages ("'NAME' line N: ..."). */
int csvio_read(FILE *fp, const char *name, csvio_row_fn fn, void *ctx);

/*
 * The bytes of a file as csvio_read_encoded() reads them, for a digest of
 * the file taken in the same read (a second read of a 121 MB export was
 * 3% of extract-csv, on the critical path before the first row).
 */
struct csvio_digest {
	struct sha256 *h; /* the caller's, initialised (sha256_init()): gets every
			   * byte read, before any decoding */
	long long bytes;  /* the bytes read: when csvio_read_encoded() returns 0,
			   * every byte from where FP stood to its end */
};

/*
 * Read all of FP decoded as ENCODING ("auto", an iconv name, or NULL for
 * the bytes as they are; see encoding.h).  -1 with err_set() also for an
 * encoding iconv does not know.  When FROM is not NULL it receives what
 * transcoded lines were read as ("Windows-1252", "UTF-16LE", ...; FROM_SIZE
 * bytes), for the caller's summary.  DIGEST, or NULL: the bytes read.
 */
int csvio_read_encoded(FILE *fp, const char *name, const char *encoding, csvio_row_fn fn, void *ctx,
		       char *from, size_t from_size, struct csvio_digest *digest);

/* Where S (LEN bytes) starts and how long it is without the white space
 * around it: enc_trim(), the one trimming rule for values read from
 * files (extract-csv trims every field it stages with it, quoted or not). */
const char *csvio_trim(const char *s, size_t len, size_t *out_len);

/* Write one field, preceded by a comma unless FIRST. */
void csvio_write_field(FILE *fp, const char *s, int first);

/* Write N fields and the LF that ends the row; NULL fields are empty. */
void csvio_write_row(FILE *fp, const char *const *fields, size_t n);

#endif
