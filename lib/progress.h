/*
 * progress.h - one status line for long work, on a terminal only.
 *
 * "load: 1200/5000 requests (24%), 310/s, ETA 0:12" or "extract: 12.0 of
 * 48.3 MB (24%)", redrawn in place on standard error at most four times a
 * second, and cleared when the work ends or a log line is written (lib/log
 * calls progress_clear() first).  Off, and every call a no-op, unless
 * standard error is a terminal, TERM is not "dumb" and logs are text: cron,
 * systemd, pipes and JSON log collectors never see it.
 */
#ifndef UNITSYNC_PROGRESS_H
#define UNITSYNC_PROGRESS_H

struct progress {
	int on;           /* drawing: a terminal, text logs */
	int drawn;        /* a line is on the screen now */
	const char *what; /* "load", "extract": borrowed */
	const char *unit; /* "requests", or "bytes" (shown as MB) */
	long long total;  /* units of the whole work, 0: unknown */
	long long done;   /* units done so far */
	double started;   /* monotonic seconds at progress_start() */
	double last_draw; /* monotonic seconds of the last redraw */
};

/* Start a status line for WHAT, TOTAL units of UNIT (0: unknown). */
void progress_start(struct progress *p, const char *what, const char *unit, long long total);

/* DONE units are done: redraw when a quarter second has passed. */
void progress_update(struct progress *p, long long done);

/* Clear the line (the work is over, or a log line follows). */
void progress_end(struct progress *p);

/* Clear whichever line is on the screen, if any (for lib/log). */
void progress_clear(void);

/* Format the status line of P into BUF (SIZE bytes) at NOW seconds:
 * exposed for the unit test. */
void progress_format(const struct progress *p, double now, char *buf, unsigned size);

#endif
