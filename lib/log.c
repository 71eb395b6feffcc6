#include "log.h"
#include "err.h"

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

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

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
	if (level == LOG_INFO)
		fprintf(stderr, "%s: %s\n", log_prog, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, level_names[level], msg);
}
