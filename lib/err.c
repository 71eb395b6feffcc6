#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_buf[1024];

void err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
}

void err_prefix(const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(err_buf)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err_buf, sizeof(old));
	snprintf(err_buf, sizeof(err_buf), "%s: %s", prefix, old);
}

const char *err_msg(void)
{
	return err_buf;
}
