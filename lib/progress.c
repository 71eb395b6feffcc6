#include "progress.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The line on the screen, for progress_clear(); NULL when none. */
static struct progress *shown;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_start(struct progress *p, const char *what, const char *unit, long long total)
{
	const char *term = getenv("TERM");

	memset(p, 0, sizeof(*p));
	p->what = what;
	p->unit = unit;
	p->total = total > 0 ? total : 0;
	p->started = now_seconds();
	p->on = isatty(STDERR_FILENO) && term && *term && strcmp(term, "dumb") != 0 &&
		log_get_format() == LOG_TEXT;
}

/* "1:02:03" or "2:03" for SECS seconds. */
static void duration(double secs, char *buf, size_t size)
{
	long s = secs < 0 ? 0 : (long)(secs + 0.5);

	if (s >= 3600)
		snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

void progress_format(const struct progress *p, double now, char *buf, unsigned size)
{
	double elapsed = now - p->started, rate = elapsed > 0 ? (double)p->done / elapsed : 0;
	int bytes = !strcmp(p->unit, "bytes");
	size_t n;

	if (bytes)
		n = (size_t)snprintf(buf, size, "%s: %.1f", p->what, (double)p->done / 1e6);
	else
		n = (size_t)snprintf(buf, size, "%s: %lld", p->what, p->done);
	if (n >= size)
		return;
	if (p->total) {
		if (bytes)
			n += (size_t)snprintf(buf + n, size - n, " of %.1f MB (%d%%)",
					      (double)p->total / 1e6,
					      (int)(100 * p->done / p->total));
		else
			n += (size_t)snprintf(buf + n, size - n, "/%lld %s (%d%%)", p->total,
					      p->unit, (int)(100 * p->done / p->total));
	} else {
		n += (size_t)snprintf(buf + n, size - n, " %s", bytes ? "MB" : p->unit);
	}
	if (n >= size || elapsed < 1 || rate <= 0)
		return;
	if (bytes)
		n += (size_t)snprintf(buf + n, size - n, ", %.1f MB/s", rate / 1e6);
	else
		n += (size_t)snprintf(buf + n, size - n, ", %.0f/s", rate);
	if (n < size && p->total && p->done < p->total) {
		char eta[32];

		duration((double)(p->total - p->done) / rate, eta, sizeof(eta));
		snprintf(buf + n, size - n, ", ETA %s", eta);
	}
}

void progress_update(struct progress *p, long long done)
{
	char line[256];
	double now;

	p->done = done;
	if (!p->on)
		return;
	now = now_seconds();
	if (p->drawn && now - p->last_draw < 0.25)
		return;
	p->last_draw = now;
	progress_format(p, now, line, sizeof(line));
	/* carriage return, the line, erase to its end (ECMA-48 EL) */
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	p->drawn = 1;
	shown = p;
}

void progress_end(struct progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = 0;
	}
	if (shown == p)
		shown = NULL;
}

void progress_clear(void)
{
	if (shown)
		progress_end(shown);
}
