/*
 * err.h - the last error message of the calling thread.
 *
 * Library functions in lib/ return 0 / -1 (or an enum) and describe a
 * failure with err_set(); the program that called them prints err_msg()
 * and chooses the exit code.  Messages follow git's style: lower case, no
 * full stop, the subject quoted ("cannot open 'x': No such file").
 *
 * Ownership: the message lives in thread-local storage owned by this
 * module; err_msg() returns a pointer that stays valid until the next
 * err_set() on the same thread.
 */
#ifndef UNITSYNC_ERR_H
#define UNITSYNC_ERR_H

/* Replace the current message (printf-style, truncated at 1 KiB). */
void err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prefix the current message with "PREFIX: " (printf-style). */
void err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The current message; "" when none was set. */
const char *err_msg(void);

#endif
