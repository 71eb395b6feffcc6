#include "encoding.h"
#include "err.h"
#include "sha256.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes read from the file at a time. */
#define CHUNK (64 * 1024)

#define NO_CD ((iconv_t)-1)

size_t enc_utf8_seq(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c = len ? p[0] : 0, cp, min;
	size_t n;

	if (!len)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1;
		cp = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2;
		cp = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0; /* continuation byte, C0/C1 overlong lead, or past F4 */
	}
	if (len <= n)
		return 0;
	for (size_t i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n + 1;
}

int enc_utf8_valid(const char *s, size_t len)
{
	size_t k;

	for (size_t i = 0; i < len; i += k)
		if (!(k = (unsigned char)s[i] < 0x80 ? 1 : enc_utf8_seq(s + i, len - i)))
			return 0;
	return 1;
}

static int ascii_only(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] & 0x80)
			return 0;
	return 1;
}

static int is_utf8_name(const char *name)
{
	return !strcasecmp(name, "UTF-8") || !strcasecmp(name, "UTF8");
}

int enc_known(const char *name)
{
	iconv_t cd;

	if (!strcasecmp(name, "auto") || is_utf8_name(name))
		return 1;
	cd = iconv_open("UTF-8", name);
	if (cd == NO_CD)
		return 0;
	iconv_close(cd);
	return 1;
}

int enc_check(const char *name)
{
	if (enc_known(name))
		return 0;
	err_set("unknown encoding '%s' (auto, or a name iconv -l lists)", name);
	return -1;
}

/*
 * Does NAME write the characters a CSV is made of (CR, LF, comma, quote,
 * letters, digits, space) as the same single ASCII bytes?  Then lines can
 * be found before decoding and ASCII lines need none; UTF-16 and friends
 * fail this and are decoded as one stream.
 */
static int ascii_compatible(const char *name)
{
	static const char probe[] = "\r\n,\"AZaz09 ";
	char in[sizeof(probe)], out[64], *ip = in, *op = out;
	size_t il = sizeof(probe) - 1, ol = sizeof(out);
	iconv_t cd = iconv_open(name, "UTF-8");
	int ok;

	if (cd == NO_CD)
		return 0;
	memcpy(in, probe, sizeof(probe));
	ok = iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 &&
	     iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1 &&
	     (size_t)(op - out) == sizeof(probe) - 1 && !memcmp(out, probe, sizeof(probe) - 1);
	iconv_close(cd);
	return ok;
}

int enc_open(struct enc_reader *r, FILE *fp, const char *name, const char *encoding)
{
	memset(r, 0, sizeof(*r));
	r->fp = fp;
	r->name = name;
	r->cd = r->fallback = NO_CD;
	snprintf(r->from, sizeof(r->from), "UTF-8");
	snprintf(r->valid, sizeof(r->valid), "UTF-8");
	if (!encoding) {
		r->mode = ENC_MODE_RAW;
		return 0;
	}
	r->mode = ENC_MODE_LINES;
	r->ascii_safe = 1;
	if (!strcasecmp(encoding, "auto")) {
		r->fallback = iconv_open("UTF-8", "WINDOWS-1252");
		if (r->fallback == NO_CD) {
			err_set("iconv cannot convert from Windows-1252: %s", strerror(errno));
			return -1;
		}
		r->check_utf8 = 1;
		r->detect_bom = 1;
		snprintf(r->from, sizeof(r->from), "Windows-1252");
		snprintf(r->valid, sizeof(r->valid), "UTF-8 or Windows-1252");
		return 0;
	}
	if (is_utf8_name(encoding)) {
		r->check_utf8 = 1;
		return 0;
	}
	r->cd = iconv_open("UTF-8", encoding);
	if (r->cd == NO_CD) {
		err_set("unknown encoding '%s' (iconv -l lists the known ones)", encoding);
		return -1;
	}
	snprintf(r->from, sizeof(r->from), "%s", encoding);
	snprintf(r->valid, sizeof(r->valid), "%s", encoding);
	if (!ascii_compatible(encoding)) {
		r->mode = ENC_MODE_STREAM;
		r->ascii_safe = 0;
		r->in = malloc(CHUNK);
		if (!r->in) {
			iconv_close(r->cd);
			err_set("out of memory");
			return -1;
		}
	}
	return 0;
}

/* Make room for NEED more bytes at r->buf, moving what is unread to the front. */
static int buf_reserve(struct enc_reader *r, size_t need)
{
	if (r->buf_pos) {
		memmove(r->buf, r->buf + r->buf_pos, r->buf_len - r->buf_pos);
		r->buf_len -= r->buf_pos;
		r->buf_pos = 0;
	}
	if (r->buf_len + need > r->buf_cap) {
		size_t cap = r->buf_cap ? r->buf_cap : CHUNK;
		char *nb;

		while (cap < r->buf_len + need)
			cap *= 2;
		nb = realloc(r->buf, cap);
		if (!nb) {
			err_set("out of memory");
			return -1;
		}
		r->buf = nb;
		r->buf_cap = cap;
	}
	return 0;
}

/* The line number the unread decoded bytes continue. */
static long pending_line(const struct enc_reader *r)
{
	long n = r->line + 1;

	for (size_t i = r->buf_pos; i < r->buf_len; i++)
		n += r->buf[i] == '\n';
	return n;
}

/* STREAM: decode what r->in holds onto r->buf; AT_END flushes. */
static int decode(struct enc_reader *r, int at_end)
{
	char *ip = r->in;
	size_t il = r->in_len;

	while (il > 0) {
		char *op;
		size_t ol, done;

		if (buf_reserve(r, il * 4 + 16) < 0)
			return -1;
		op = r->buf + r->buf_len;
		ol = r->buf_cap - r->buf_len;
		done = iconv(r->cd, &ip, &il, &op, &ol);
		r->buf_len = (size_t)(op - r->buf);
		if (done != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL && !at_end)
			break; /* a character split across reads: the rest comes next */
		err_set("'%s' line %ld: %s (read as %s)", r->name, pending_line(r),
			errno == EINVAL ? "the file ends inside a character"
					: "bytes that are not valid in the file's encoding",
			r->from);
		return -1;
	}
	memmove(r->in, ip, il);
	r->in_len = il;
	if (at_end) {
		char *op;
		size_t ol;

		if (buf_reserve(r, 16) < 0)
			return -1;
		op = r->buf + r->buf_len;
		ol = r->buf_cap - r->buf_len;
		iconv(r->cd, NULL, NULL, &op, &ol);
		r->buf_len = (size_t)(op - r->buf);
	}
	return 0;
}

/* Read the next chunk; sets r->eof when the file is exhausted. */
static int fill(struct enc_reader *r)
{
	size_t got;

	const char *at;

	if (r->mode != ENC_MODE_STREAM) {
		if (buf_reserve(r, CHUNK) < 0)
			return -1;
		at = r->buf + r->buf_len;
		got = fread(r->buf + r->buf_len, 1, CHUNK, r->fp);
		r->buf_len += got;
	} else {
		at = r->in + r->in_len;
		got = fread(r->in + r->in_len, 1, CHUNK - r->in_len, r->fp);
		r->in_len += got;
	}
	if (r->digest && got)
		sha256_update(r->digest, at, got);
	r->bytes += (long long)got;
	if (ferror(r->fp)) {
		err_set("cannot read '%s': %s", r->name, strerror(errno));
		return -1;
	}
	if (got == 0 || feof(r->fp))
		r->eof = 1;
	if (r->mode == ENC_MODE_STREAM)
		return decode(r, r->eof);
	return 0;
}

/*
 * Look at the first bytes: under "auto" a UTF-16 byte order mark switches
 * the reader to decoding the whole stream.  (FF FE 00 00 would be UTF-32LE;
 * no PMS writes it, and it then reads as UTF-16LE with a NUL, rejected.)
 */
static int start(struct enc_reader *r)
{
	const unsigned char *b;
	const char *utf16;

	r->started = 1;
	if (!r->detect_bom)
		return 0;
	if (fill(r) < 0)
		return -1;
	b = (const unsigned char *)r->buf;
	if (r->buf_len < 2)
		return 0;
	if (b[0] == 0xFF && b[1] == 0xFE)
		utf16 = "UTF-16LE";
	else if (b[0] == 0xFE && b[1] == 0xFF)
		utf16 = "UTF-16BE";
	else
		return 0;
	r->cd = iconv_open("UTF-8", utf16);
	r->in = malloc(CHUNK);
	if (r->cd == NO_CD || !r->in) {
		err_set("cannot decode '%s' as %s: %s", r->name, utf16, strerror(errno));
		return -1;
	}
	r->mode = ENC_MODE_STREAM;
	r->check_utf8 = r->ascii_safe = 0;
	snprintf(r->from, sizeof(r->from), "%s", utf16);
	snprintf(r->valid, sizeof(r->valid), "%s", utf16);
	/* the first read is at most CHUNK bytes: it fits r->in */
	r->in_len = r->buf_len - 2;
	memcpy(r->in, r->buf + 2, r->in_len);
	r->buf_len = r->buf_pos = 0;
	return decode(r, r->eof);
}

/* LINES: convert the N bytes at P with CD into r->conv; -1 if they do not. */
static int convert(struct enc_reader *r, iconv_t cd, const char *p, size_t n, size_t *out_len)
{
	char *ip = (char *)p, *op;
	size_t il = n, ol, need = n * 4 + 16;

	if (need > r->conv_cap) {
		char *nc = realloc(r->conv, need);

		if (!nc) {
			err_set("out of memory");
			return -2;
		}
		r->conv = nc;
		r->conv_cap = need;
	}
	op = r->conv;
	ol = r->conv_cap;
	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return -1;
	*out_len = (size_t)(op - r->conv);
	return 0;
}

int enc_getline(struct enc_reader *r, const char **line, size_t *len, enum enc_how *how)
{
	const char *p, *nl;
	size_t n;

	if (!r->started && start(r) < 0)
		return -1;
	for (;;) {
		/* an empty buffer may be NULL: no arithmetic on it (C11 6.5.6) */
		nl = r->buf_len > r->buf_pos
			     ? memchr(r->buf + r->buf_pos, '\n', r->buf_len - r->buf_pos)
			     : NULL;
		if (nl || r->eof)
			break;
		if (r->buf_len - r->buf_pos > ENC_MAX_LINE) {
			err_set("'%s' line %ld: longer than %d bytes", r->name, r->line + 1,
				ENC_MAX_LINE);
			return -1;
		}
		if (fill(r) < 0)
			return -1;
	}
	if (!nl && r->buf_len == r->buf_pos)
		return 0;
	p = r->buf + r->buf_pos;
	n = nl ? (size_t)(nl - p) + 1 : r->buf_len - r->buf_pos;
	if (n > ENC_MAX_LINE) {
		err_set("'%s' line %ld: longer than %d bytes", r->name, r->line + 1, ENC_MAX_LINE);
		return -1;
	}
	r->buf_pos += n;
	r->line++;
	/* a byte order mark, or U+FEFF decoded from one, is not data */
	if (r->line == 1 && r->cd == NO_CD && n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
		p += 3;
		n -= 3;
	}
	*how = r->mode == ENC_MODE_STREAM ? ENC_TRANSCODED : ENC_KEPT;
	if (r->mode == ENC_MODE_LINES && !(r->ascii_safe && ascii_only(p, n)) &&
	    !(r->cd == NO_CD && enc_utf8_valid(p, n))) {
		iconv_t cd = r->cd != NO_CD ? r->cd : r->fallback;
		size_t out = 0;
		int c = cd != NO_CD ? convert(r, cd, p, n, &out) : -1;

		if (c == -2)
			return -1;
		if (c == 0) {
			p = r->conv;
			n = out;
			*how = ENC_TRANSCODED;
		} else {
			*how = ENC_UNDECODABLE;
		}
	}
	if (r->line == 1 && *how == ENC_TRANSCODED && n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
		p += 3;
		n -= 3;
	}
	*line = p;
	*len = n;
	return 1;
}

const char *enc_source(const struct enc_reader *r)
{
	return r->from;
}

const char *enc_expected(const struct enc_reader *r)
{
	return r->valid;
}

void enc_release(struct enc_reader *r)
{
	if (r->cd != NO_CD)
		iconv_close(r->cd);
	if (r->fallback != NO_CD)
		iconv_close(r->fallback);
	r->cd = r->fallback = NO_CD;
	free(r->in);
	free(r->buf);
	free(r->conv);
	r->in = r->buf = r->conv = NULL;
}

/* The length of the white space character (enc_trim()) the LEN bytes at S
 * start with, 0 when they start with none */
static size_t space_len(const unsigned char *s, size_t len)
{
	unsigned long c;

	if (len && s[0] < 0x80)
		return isspace(s[0]) ? 1 : 0;
	if (len >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0))
		return 2;
	if (len < 3)
		return 0;
	c = (unsigned long)s[0] << 16 | (unsigned long)s[1] << 8 | s[2];
	return c == 0xE19A80 || (c >= 0xE28080 && c <= 0xE2808A) || c == 0xE280A8 ||
			       c == 0xE280A9 || c == 0xE280AF || c == 0xE2819F || c == 0xE38080 ||
			       c == 0xEFBBBF
		       ? 3
		       : 0;
}

const char *enc_trim(const char *s, size_t len, size_t *out_len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;

	while ((n = space_len(u, len)) > 0) {
		u += n;
		len -= n;
	}
	/* the last character: UTF-8's lead bytes (C2, E1-E3, EF) are never
	 * inside another character, so a match is a whole one */
	for (;;) {
		if (len && u[len - 1] < 0x80 && isspace(u[len - 1]))
			n = 1;
		else if (len >= 2 && space_len(u + len - 2, 2) == 2)
			n = 2;
		else if (len >= 3 && space_len(u + len - 3, 3) == 3)
			n = 3;
		else
			break;
		len -= n;
	}
	*out_len = len;
	return (const char *)u;
}
