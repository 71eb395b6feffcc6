/*
 * encoding.h - the lines of a text file, as UTF-8, streamed.
 *
 * PMS exports arrive in whatever encoding the PMS or the spreadsheet that
 * last saved them used: UTF-8 with or without a byte order mark, Windows-1252
 * (Excel's "CSV" on US Windows), UTF-16 with a byte order mark (Excel's
 * "Unicode text").  An enc_reader hands over one physical line at a time
 * (up to and including its LF), converted to UTF-8 with glibc iconv(3), so
 * that a CSV parser sees UTF-8 and memory stays flat whatever the file
 * size: at most one line (ENC_MAX_LINE) and one read chunk are held.
 *
 * The ENCODING given to enc_open() chooses how bytes are read:
 *
 *   NULL      as they are; a UTF-8 byte order mark at the start is dropped.
 *   "auto"    a byte order mark decides: UTF-8 (dropped), UTF-16LE or
 *             UTF-16BE (the whole file is decoded).  Without one, a line
 *             that is valid UTF-8 is kept as it is, and a line that is not
 *             is read as Windows-1252 and flagged ENC_TRANSCODED; a line
 *             that is neither is flagged ENC_UNDECODABLE.
 *   NAME      any name iconv_open(3) knows (`iconv -l`), forced: every
 *             line is converted from NAME.  Lines holding only ASCII pass
 *             unchanged when NAME is ASCII-compatible; other lines that
 *             convert are ENC_TRANSCODED, those that do not ENC_UNDECODABLE.
 *             "UTF-8" converts nothing and flags invalid lines.  Encodings
 *             that are not ASCII-compatible (UTF-16, UTF-32, ...) are
 *             decoded as one stream; a byte sequence invalid there fails
 *             the read, as the line ends can no longer be trusted.
 *
 * A U+FEFF at the very start of the decoded text is dropped in every mode.
 * An undecodable line is handed over as read (its bytes unchanged), so the
 * caller can reject the record it belongs to and go on.
 *
 * Errors: enc_open() fails (-1, err_set()) for an encoding iconv does not
 * know; enc_getline() fails for a read error, a line longer than
 * ENC_MAX_LINE, or a broken stream-decoded file.  Messages name the file
 * and line as "'NAME' line N: ...".
 *
 * Ownership: the reader borrows FP and NAME; enc_release() frees what
 * enc_open() allocated (it does not close FP).  A line handed over stays
 * valid until the next enc_getline() or enc_release().
 */
#ifndef UNITSYNC_ENCODING_H
#define UNITSYNC_ENCODING_H

#include <iconv.h>
#include <stddef.h>
#include <stdio.h>

struct sha256;

/* Longest physical line accepted, in bytes, before and after decoding. */
#define ENC_MAX_LINE (16 * 1024 * 1024)

/* What enc_getline() did to a line. */
enum enc_how {
	ENC_KEPT,        /* the bytes are as read (valid UTF-8 when checked) */
	ENC_TRANSCODED,  /* converted to UTF-8 from another encoding */
	ENC_UNDECODABLE, /* not valid in the source encoding; bytes as read */
};

/* How a reader decodes: chosen by enc_open(), and by the byte order mark. */
enum enc_mode {
	ENC_MODE_RAW,    /* bytes as they are */
	ENC_MODE_LINES,  /* line by line (ASCII-compatible sources) */
	ENC_MODE_STREAM, /* the whole file through iconv (UTF-16, ...) */
};

struct enc_reader {
	FILE *fp;              /* borrowed */
	const char *name;      /* borrowed, for messages */
	enum enc_mode mode;    /* how bytes become lines */
	iconv_t cd;            /* source -> UTF-8, (iconv_t)-1 when none */
	iconv_t fallback;      /* Windows-1252 -> UTF-8 for "auto", else (iconv_t)-1 */
	int check_utf8;        /* LINES without cd: flag or transcode invalid UTF-8 */
	int ascii_safe;        /* ASCII-only lines need no conversion */
	int detect_bom;        /* "auto": the first bytes may switch to STREAM */
	char from[64];         /* what ENC_TRANSCODED lines were read as */
	char valid[96];        /* what a line must be to decode, for messages */
	char *in;              /* STREAM: raw bytes read, not yet decoded (owned) */
	size_t in_len;         /* bytes held at in */
	char *buf;             /* decoded (or raw) bytes not yet handed out (owned) */
	size_t buf_pos;        /* first byte at buf not yet handed out */
	size_t buf_len;        /* bytes held at buf */
	size_t buf_cap;        /* bytes allocated at buf */
	char *conv;            /* LINES: the converted line handed out (owned) */
	size_t conv_cap;       /* bytes allocated at conv */
	long line;             /* physical lines handed out so far */
	int eof;               /* FP is exhausted */
	int started;           /* the first bytes were looked at */
	struct sha256 *digest; /* the caller's, or NULL: every byte read from FP is
				* added to it as it is read, before decoding */
	long long bytes;       /* bytes read from FP */
};

/*
 * Start reading FP (named NAME in messages) with ENCODING (see above).
 * Returns 0, or -1 with err_set() when iconv does not know ENCODING (the
 * reader then needs no enc_release()).
 */
int enc_open(struct enc_reader *r, FILE *fp, const char *name, const char *encoding);

/*
 * The next physical line: 1 with *LINE (LEN bytes, not NUL-terminated, the
 * LF included when there is one) and *HOW set; 0 at end of file; -1 with
 * err_set() on failure.
 */
int enc_getline(struct enc_reader *r, const char **line, size_t *len, enum enc_how *how);

/* What lines flagged ENC_TRANSCODED were converted from ("Windows-1252"
 * under "auto" without a byte order mark, "UTF-16LE" after one, or the
 * forced NAME), for messages. */
const char *enc_source(const struct enc_reader *r);

/* What an ENC_UNDECODABLE line failed to be ("UTF-8 or Windows-1252",
 * "UTF-8", NAME), for messages. */
const char *enc_expected(const struct enc_reader *r);

/* Free what the reader holds (not FP). */
void enc_release(struct enc_reader *r);

/*
 * Where the LEN bytes of UTF-8 text at S start and how long they are
 * without the white space around them: the one trimming rule for values
 * read from files (extract's CSV fields and XML text and attributes, `map
 * import` and `units` ids), so that an id means the same unit whichever
 * file it came from.  White space: the C locale's isspace() (space, tab,
 * CR, LF, VT, FF), Unicode's other White_Space characters (U+0085, U+00A0
 * no-break space, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
 * U+3000), and U+FEFF (a byte order mark left inside a file by joining
 * two).  Spreadsheets and HTML-made exports pad cells with U+00A0 (review
 * rv18 #8: an id with one was another person).  Inner white space is kept.
 */
const char *enc_trim(const char *s, size_t len, size_t *out_len);

/* Are the LEN bytes at S valid UTF-8 (RFC 3629: no overlong forms,
 * surrogates or code points past U+10FFFF)?  NUL bytes are valid. */
int enc_utf8_valid(const char *s, size_t len);

/* The length (1 to 4) of the valid UTF-8 sequence that starts the LEN
 * bytes at S, by the same rules; 0 when they start with none (an invalid
 * or cut sequence, or LEN 0). */
size_t enc_utf8_seq(const char *s, size_t len);

/* Does iconv know the encoding NAME (a --encoding check)? */
int enc_known(const char *name);

/* The same, for a message: 0, or -1 with err_set("unknown encoding ...
 * (auto, or a name iconv -l lists)"). */
int enc_check(const char *name);

#endif
