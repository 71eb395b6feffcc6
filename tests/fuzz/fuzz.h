/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share (`make fuzz`).
 *
 * Each target is one fuzz_NAME.c defining LLVMFuzzerTestOneInput(); it is
 * linked with fuzz.c and the lib/ objects built with clang's
 * -fsanitize=fuzzer-no-link,address,undefined.  Inputs that need a file
 * (the programs read paths) are written into a private temporary
 * directory, under /dev/shm when it exists, removed at exit.
 */
#ifndef UNITSYNC_FUZZ_H
#define UNITSYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The private directory (created on first use; never NULL). */
const char *fuzz_dir(void);

/* Write LEN bytes of DATA to DIR/NAME; its path into PATH (PATH_MAX). */
void fuzz_write(const char *name, const void *data, size_t len, char *path);

/*
 * A state database at the current schema, fresh for this input: DIR/NAME
 * is rewritten from a template made once with db_open(create), and its
 * -wal and -shm files removed.  Its path into PATH (PATH_MAX).
 */
void fuzz_fresh_db(const char *name, char *path);

/* Standard output for the code under test: /dev/null, reopened after a
 * program's main() closed it. */
void fuzz_reopen_stdout(void);

#endif
