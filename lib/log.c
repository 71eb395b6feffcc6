#include "log.h"
#include "encoding.h"
#include "err.h"
#include "progress.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_prog = "unitsync";
static enum log_format log_fmt = LOG_TEXT;
static enum log_level log_min = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warning", "error" };

void log_init(const char *prog, enum log_format format)
{
	log_prog = prog;
	log_fmt = format;
}

enum log_format log_get_format(void)
{
	return log_fmt;
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (!strcmp(s, "text")) {
		*out = LOG_TEXT;
		return 0;
	}
	if (!strcmp(s, "json")) {
		*out = LOG_JSON;
		return 0;
	}
	err_set("unknown log format '%s' (expected text or json)", s);
	return -1;
}

void log_set_level(enum log_level level)
{
	log_min = level;
}

/*
 * Make the LEN bytes at IN safe to print into OUT (SIZE bytes, at least 5):
 * a message quotes what a file or an API said, and a resident's name must
 * not forge a log line.  Bytes that are not UTF-8 become \xNN, so a JSON
 * line stays valid; for text (TEXT set) so do the C0 and C1 control
 * characters and DEL (JSON escapes them itself).  What does not fit is
 * left out, whole characters at a time.
 */
static void log_clean(const char *in, size_t len, int text, char *out, size_t size)
{
	size_t o = 0, k;

	for (size_t i = 0; i < len; i += k) {
		unsigned c = (unsigned char)in[i];
		char esc[5];
		const char *put = in + i;
		size_t n;

		k = enc_utf8_seq(in + i, len - i);
		n = k;
		if (!k || (text && (c < 0x20 || c == 0x7f ||
				    (c == 0xC2 && (unsigned char)in[i + 1] < 0xA0)))) {
			/* invalid: one byte at a time; a C1 control: its two bytes */
			k = k ? k : 1;
			if (o + 4 * k >= size)
				break;
			for (size_t j = 0; j < k; j++, o += 4) {
				snprintf(esc, sizeof(esc), "\\x%02X", (unsigned char)in[i + j]);
				memcpy(out + o, esc, 4);
			}
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(out + o, put, n);
		o += n;
	}
	out[o] = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char raw[2048], msg[4 * 2048];
	va_list ap;
	size_t n;
	int len;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	len = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	n = len < 0 ? 0 : (size_t)len;
	if (n >= sizeof(raw)) {
		/* cut: leave out a character the cut split, rather than escape it */
		size_t start = n = sizeof(raw) - 1;

		while (start > 0 && n - start < 3 && ((unsigned char)raw[start - 1] & 0xC0) == 0x80)
			start--;
		if (start > 0 && (unsigned char)raw[start - 1] >= 0xC0)
			start--;
		if (start < n && !enc_utf8_seq(raw + start, n - start))
			n = start;
	}
	log_clean(raw, n, log_fmt == LOG_TEXT, msg, sizeof(msg));

	if (log_fmt == LOG_JSON) {
		char when[32];
		time_t now = time(NULL);
		struct tm tm;
		json_t *o;
		char *line;

		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		o = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "level", level_names[level],
			      "prog", log_prog, "msg", msg);
		line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (line)
			fprintf(stderr, "%s\n", line);
		free(line);
		json_decref(o);
		return;
	}
	progress_clear(); /* a status line on the terminal gives way */
	if (level == LOG_INFO)
		fprintf(stderr, "%s: %s\n", log_prog, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, level_names[level], msg);
}

void log_limited(struct log_limit *l, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (++l->count > LOG_LIMIT)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s", msg);
}

void log_limit_end(const struct log_limit *l, const char *what)
{
	if (l->count > LOG_LIMIT)
		log_warn("%ld %s in all (the first %d shown)", l->count, what, LOG_LIMIT);
}
