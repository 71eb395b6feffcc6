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

/*
 * Is the process that left a name ending in ".PID" (a dur_open()
 * temporary, a transform's partial run directory) gone?  PID is the text
 * after the last '.' of NAME up to END (NULL: the end of NAME): 1 gone,
 * 0 alive or not a process id.
 */
int dur_owner_gone(const char *name, const char *end);

/* Remove, in DIR, every dur_open() temporary of file BASE ("BASE.tmp.PID")
 * whose process is gone: what a killed writer left.  Returns how many. */
int dur_clean_stale(const char *dir, const char *base);

#endif
