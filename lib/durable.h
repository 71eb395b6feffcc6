/*
 * durable.h - files that appear whole or not at all.
 *
 * dur_open() writes to "PATH.tmp.PID" with the requested mode; dur_commit()
 * flushes, fsyncs, renames over PATH and fsyncs the directory, as Redis's
 * rdbSave does, so that a crash leaves either the old file or the new one.
 * dur_abort() removes the temporary file.  Exactly one of dur_commit() or
 * dur_abort() must follow a successful dur_open().
 */
#ifndef UNITSYNC_DURABLE_H
#define UNITSYNC_DURABLE_H

#include <stdio.h>
#include <sys/types.h>

struct dur_file {
	FILE *fp;   /* write here; owned, closed by commit or abort */
	char *path; /* final name, owned */
	char *tmp;  /* temporary name, owned */
};

int dur_open(struct dur_file *f, const char *path, mode_t mode);
int dur_commit(struct dur_file *f);
void dur_abort(struct dur_file *f);

/* fsync the directory DIR so that renames and creations in it persist. */
int dur_sync_dir(const char *dir);

/* Create DIR (one level) with MODE; an existing directory is fine. */
int dur_mkdir(const char *dir, mode_t mode);

#endif
