/*
 * log.h - diagnostics on standard error, as text or as JSON lines.
 *
 * Text: "PROG: LEVEL: message".  JSON (--log-format json): one object per
 * line {"time","level","prog","msg"} for log collectors.  Standard output is
 * never used: it belongs to each program's results.
 */
#ifndef UNITSYNC_LOG_H
#define UNITSYNC_LOG_H

enum log_format {
	LOG_TEXT, /* human-readable lines */
	LOG_JSON, /* one JSON object per line */
};

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

/* Set the program name shown in each line and the format. */
void log_init(const char *prog, enum log_format format);

/* The format set by log_init(). */
enum log_format log_get_format(void);

/* Parse "text" or "json"; -1 (with err_set) on anything else. */
int log_format_parse(const char *s, enum log_format *out);

/* Messages below LEVEL are dropped (default LOG_INFO). */
void log_set_level(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/*
 * At most LOG_LIMIT warnings of one kind (rejected rows, failed requests),
 * then one line for them all: a file with 100k bad rows must not bury the
 * log.  Start with struct log_limit l = { 0 }.
 */
#define LOG_LIMIT 20

struct log_limit {
	long count; /* calls so far, shown or not */
};

/* Warn, the first LOG_LIMIT times; count every call. */
void log_limited(struct log_limit *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Past LOG_LIMIT: one warning "COUNT WHAT in all (the first LOG_LIMIT shown)". */
void log_limit_end(const struct log_limit *l, const char *what);

#endif
