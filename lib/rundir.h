/*
 * rundir.h - a run directory as transform wrote it (docs/ARCHITECTURE.md §8):
 * delta.csv, exceptions.csv, manifest.json and SHA256SUMS.
 *
 * rundir_open() checks, before anything trusts the files, that SHA256SUMS
 * lists exactly those three files with the digests they have now, and that
 * the manifest names the same digests for delta.csv and exceptions.csv: a
 * file changed after transform is refused (tamper evidence).  Each file is
 * opened once, without following a symbolic link, and digested and parsed
 * through that one descriptor; the directory and the files must be owned by
 * this user (or root) and writable by no one else (issue 16: another local user who
 * could swap delta.csv between the check and the read could get a stranger
 * a key).
 */
#ifndef UNITSYNC_RUNDIR_H
#define UNITSYNC_RUNDIR_H

#include <jansson.h>
#include <limits.h>
#include <sqlite3.h>
#include <stddef.h>

struct rundir {
	char dir[PATH_MAX];        /* the directory as given */
	char delta_path[PATH_MAX]; /* DIR/delta.csv, for messages */
	int dirfd;                 /* the directory, open; owned */
	int delta_fd;              /* delta.csv as checked: read it here (delta_read_fd) */
	char delta_sha256[65];     /* its digest, checked */
	char manifest_sha256[65];  /* manifest.json's digest, checked */
	json_t *manifest;          /* parsed manifest.json, owned */
	const char *run_id;        /* from the manifest, borrowed from it */
};

/* Is directory DIR owned by this user (or root) and writable by no one else (what
 * rundir_open() asks of a run directory; transform of its --out)?  0, or
 * -1 with err_set() saying why not. */
int rundir_dir_trusted(const char *dir);

/* Open and verify DIR; -1 with err_set() naming what does not match. */
int rundir_open(struct rundir *r, const char *dir);

/*
 * Is the run one DB made, with the delta and manifest transform recorded?
 * A run directory rewritten with fresh checksums, or brought from another
 * database, is refused: -1 with err_set() (a preview's run directory:
 * rundir_preview_error()'s message).  Otherwise returns whether
 * `unitsync approve` released it (1) or not (0).
 */
int rundir_check_recorded(const struct rundir *r, sqlite3 *db);

/*
 * Is DIR (a path as given, or a run id) a preview's run directory: one that
 * nightly.sh --dry-run or rerun.sh --dry-run wrote to OUT/preview/RUN_ID
 * (docs/unitsync-nightly.1, Rehearsals), recorded only in the private copy
 * of the state database the dry run worked on and deleted at exit?  Known
 * by where it sits, so ask only about a run this database did not record.
 * 1 with err_set() saying so (the message every program that takes a run
 * prints for it), else 0 and nothing set.
 */
int rundir_preview_error(const char *dir);

/*
 * The newest run of DB, newer than R, that covers a property of R: into
 * NEWER (run id) and PROPERTY; 1 when there is one, 0 when R is the newest
 * for all its properties, -1 on error.
 */
int rundir_superseded_by(const struct rundir *r, sqlite3 *db, char *newer, size_t newer_size,
			 char *property, size_t property_size);

/*
 * Take R's run directory for this process alone, at once or not at all:
 * flock(2) LOCK_EX | LOCK_NB on the directory's own descriptor (no lock
 * file to leave behind; the kernel drops the lock when the process ends,
 * a crash or SIGKILL included).  `unitsync load` takes it, so that two
 * loaders never send one run's requests side by side (issue 17).  -1 with
 * err_set() naming the directory when another process holds it (or the
 * file system cannot lock): a temporary failure, exit 75.
 */
int rundir_lock(struct rundir *r);

/* The guard verdict of PROPERTY_ID in the manifest: 1 held, 0 ok. */
int rundir_property_held(const struct rundir *r, const char *property_id);

/* Is PROPERTY_ID held for an older export (the manifest's guard reasons
 * name older_export)?  Approving it would load the old file: what to do
 * is extract the current export (RUNDIR_OLDER_ADVICE; review nu13 #1). */
int rundir_property_older(const struct rundir *r, const char *property_id);
#define RUNDIR_OLDER_ADVICE                                                              \
	"tonight's export looks older than the last accepted one (older_export): put "   \
	"the current export in the drop and run the night again; approve this run only " \
	"if that old export is meant (approved, it undoes the moves its reason names)"

void rundir_release(struct rundir *r);

/*
 * Write DIR/SHA256SUMS (`sha256sum -c` compatible, through lib/durable)
 * over the N files NAMES of DIR, in that order: transform's run
 * directories (delta.csv, exceptions.csv, manifest.json) and reconcile's
 * (reconcile.csv).  -1 with err_set() when a file cannot be read or the
 * sums written.
 */
int rundir_write_sums(const char *dir, const char *const *names, size_t n);

/* Write OBJ (NULL: out of memory) to PATH as manifest.json is written:
 * indented by two, keys sorted, a final LF, through lib/durable (mode
 * 0640).  -1 with err_set(). */
int rundir_write_json(const char *path, json_t *obj);

/*
 * A new run id into OUT (SIZE bytes, at least RUNDIR_ID_SIZE): the UTC
 * time to the microsecond and six hex digits of a digest of the time and
 * the process id, "YYYYMMDDTHHMMSS.ffffffZ-hhhhhh", so that run ids sort
 * in time (transform's runs and reconcile's repair runs).  -1 with
 * err_set() when the digest fails.
 */
#define RUNDIR_ID_SIZE 64
int rundir_make_id(char *out, size_t size);

#endif
