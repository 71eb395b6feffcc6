/*
 * unitsync-replay - rebuild a past run from what the state database
 * recorded for it, and compare the rebuilt delta.csv and exceptions.csv
 * byte for byte with the run directory's (issue 19: would last month's
 * night come out the same today?).
 *
 * The database is never written: a private copy of it (db_copy(), VACUUM
 * INTO, in a directory of its own under $TMPDIR) is rewound to the moment
 * before the run, from the histories migration 9 keeps (lib/db.h
 * DB_LAST_RUN: a run read every change whose last_run sorts before it) and
 * the mapping's (map_history, run.map_seq): the runs from this one on are
 * forgotten, approvals given since are taken back, the journal rows
 * inflight then are inflight again, and the policy, the mapping, the
 * applied assignments, the Latch users and each snapshot's extraction are
 * as they stood.  unitsync-transform then runs on the copy with the
 * run's inputs (run_input) and options (the manifest's --as-of and
 * export_refused properties; else the clock of the night, run.clock_at, as
 * UNITSYNC_NOW), and the files are
 * compared.  Exit 0 identical, 1 different (a unified diff on standard
 * output), 65 when the run cannot be replayed (said why).
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "rundir.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync replay RUN_DIR\n"
	"\n"
	"Rebuild a past run from what the state database recorded for it and "
	"compare its\n"
	"delta.csv and exceptions.csv byte for byte with RUN_DIR's.\n"
	"\n"
	"  --db PATH                state database that recorded the run (default "
	"$UNITSYNC_DB,\n"
	"                           else ./unitsync.db); never written: a copy is "
	"rewound\n"
	"  --log-format text|json   log format on stderr\n";

/* The most --property or --snapshot options unitsync-transform takes (its MAX_LIST). */
#define REPLAY_MAX_LIST 256

/* The files compared, in the order the diff shows them. */
static const char *const compared[] = { "delta.csv", "exceptions.csv" };

/*
 * Rewind the copy to the moment before run :run (whose map_seq is :seq).
 * Each statement runs once, in order, in one transaction; the journal and
 * approvals first, since run_inflight of :run goes with the later runs.
 */
static const char *const rewind_sql[] = {
	/* the journal: inflight exactly the rows the run found inflight */
	"UPDATE journal SET state = 'pending' WHERE state = 'inflight'",
	"UPDATE journal SET state = 'inflight', latch_user_id = (SELECT i.latch_user_id "
	"  FROM run_inflight i WHERE i.run_id = :run AND i.journal_run_id = journal.run_id "
	"  AND i.seq = journal.seq) "
	"WHERE (run_id, seq) IN (SELECT journal_run_id, seq FROM run_inflight WHERE run_id = :run)",
	/* approvals given since */
	"UPDATE run SET approved_by = NULL, approved_at = NULL, approved_last_run = NULL "
	"WHERE approved_last_run >= :run",
	/* the run and every later one */
	"DELETE FROM journal WHERE run_id >= :run",
	"DELETE FROM delta_history WHERE run_id >= :run",
	"DELETE FROM run_exception WHERE run_id >= :run",
	"DELETE FROM run_input WHERE run_id >= :run",
	"DELETE FROM run_inflight WHERE run_id >= :run",
	"DELETE FROM run WHERE run_id >= :run",
	/* the policy, the applied state and the Latch users: the last version before */
	"DELETE FROM property",
	"INSERT INTO property (property_id, latch_building, timezone, unit_sync, exclude_status, "
	"  grant_lead_days, revoke_grace_days, guard_percent, guard_max, stale_after_nights, "
	"  max_export_age_hours, created_at, updated_at) "
	"SELECT property_id, latch_building, timezone, unit_sync, exclude_status, grant_lead_days, "
	"  revoke_grace_days, guard_percent, guard_max, stale_after_nights, max_export_age_hours, "
	"  changed_at, changed_at FROM (SELECT *, row_number() OVER (PARTITION BY property_id "
	"  ORDER BY id DESC) AS n FROM property_history WHERE last_run < :run) WHERE n = 1",
	"DELETE FROM assignment",
	/* each pair as its last change left it: a later row of the same pair
	 * (its user's, migration 16) replaces it, and so does any later row of
	 * the person and unit written under the older key (up to
	 * assignment_legacy), or a removal that named no user */
	"INSERT INTO assignment (property_id, pms_person_id, latch_unit_id, pms_unit_id, "
	"  latch_user_id, run_id, seq, assigned_at, owner) "
	"SELECT x.property_id, x.pms_person_id, x.latch_unit_id, x.pms_unit_id, x.latch_user_id, "
	"  x.run_id, x.seq, x.assigned_at, x.owner FROM assignment_history x "
	"WHERE x.last_run < :run AND x.pms_unit_id IS NOT NULL AND NOT EXISTS (SELECT 1 "
	"  FROM assignment_history r WHERE r.property_id = x.property_id "
	"  AND r.pms_person_id = x.pms_person_id AND r.latch_unit_id = x.latch_unit_id "
	"  AND r.id > x.id AND r.last_run < :run AND (r.latch_user_id IS x.latch_user_id "
	"  OR r.latch_user_id IS NULL OR r.id <= (SELECT max(max_history_id) "
	"  FROM assignment_legacy)))",
	"DELETE FROM person_user",
	"INSERT INTO person_user (property_id, pms_person_id, latch_user_id, email, phone, "
	"  updated_at, name_key) "
	"SELECT property_id, pms_person_id, latch_user_id, email, phone, updated_at, name_key "
	"FROM ("
	"  SELECT *, row_number() OVER (PARTITION BY property_id, pms_person_id ORDER BY id DESC) "
	"  AS n FROM person_user_history WHERE last_run < :run) WHERE n = 1",
	/* the mapping: each unit changed since as its first later change found it */
	"CREATE TEMP TABLE then_map AS SELECT h.property_id, h.pms_unit_id, "
	"  h.before_latch_unit_id AS latch_unit_id, h.changed_at FROM map_history h "
	"  WHERE h.id = (SELECT min(x.id) FROM map_history x WHERE x.property_id = h.property_id "
	"  AND x.pms_unit_id = h.pms_unit_id AND x.id > :seq)",
	"DELETE FROM unit_map WHERE (property_id, pms_unit_id) IN "
	"  (SELECT property_id, pms_unit_id FROM temp.then_map)",
	"INSERT INTO unit_map (property_id, pms_unit_id, latch_unit_id, created_at) "
	"SELECT property_id, pms_unit_id, latch_unit_id, changed_at FROM temp.then_map "
	"  WHERE latch_unit_id IS NOT NULL",
	"DELETE FROM map_history WHERE id > :seq",
	/* each snapshot's last extraction before the run (newest file, file age) */
	"UPDATE snapshot SET (extract_order, extracted_at, file_mtime) = (SELECT e.extract_order, "
	"  e.extracted_at, e.file_mtime FROM snapshot_extraction e "
	"  WHERE e.snapshot_id = snapshot.snapshot_id AND e.last_run < :run "
	"  ORDER BY e.id DESC LIMIT 1) "
	"WHERE EXISTS (SELECT 1 FROM snapshot_extraction e "
	"  WHERE e.snapshot_id = snapshot.snapshot_id AND e.last_run < :run)",
	/* a snapshot first staged after the run did not exist for it: the
	 * newest export of a property the run left out, which transform
	 * compares contacts with, is the one before (unitsync-transform(1)) */
	"UPDATE snapshot SET status = 'after_run' WHERE NOT EXISTS (SELECT 1 "
	"  FROM snapshot_extraction e WHERE e.snapshot_id = snapshot.snapshot_id "
	"  AND e.last_run < :run)",
};

/* What one replay holds; replay_release() frees it. */
struct replay {
	const char *dir;        /* RUN_DIR, borrowed from argv */
	char run_id[128];       /* its name: the run id transform gave it */
	char clock_at[32];      /* the instant the run judged at (run.clock_at) */
	long long map_seq;      /* map_history's last id when the run was made */
	json_t *manifest;       /* RUN_DIR/manifest.json, owned */
	char **argv;            /* unitsync-transform's command line, owned */
	int argc, cap;          /* used and allocated entries of argv */
	char tmp[PATH_MAX];     /* the private directory: the copy, the rebuilt run */
	char rebuilt[PATH_MAX]; /* the rebuilt run directory */
};

/* Append a copy of S to R's transform command line. */
static int arg_add(struct replay *r, const char *s)
{
	if (r->argc + 2 > r->cap) {
		int cap = r->cap ? r->cap * 2 : 32;
		char **a = realloc(r->argv, (size_t)cap * sizeof(*a));

		if (!a)
			goto oom;
		r->argv = a;
		r->cap = cap;
	}
	if (!(r->argv[r->argc] = strdup(s)))
		goto oom;
	r->argv[++r->argc] = NULL;
	return 0;
oom:
	err_set("out of memory");
	return -1;
}

/* nftw(): remove one entry of the private directory, its contents first. */
static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void replay_release(struct replay *r)
{
	for (int i = 0; i < r->argc; i++)
		free(r->argv[i]);
	free(r->argv);
	json_decref(r->manifest);
	if (r->tmp[0])
		nftw(r->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Find the run RUN_DIR is (its name is the run id) and what a replay needs
 * of it: 1 and a message logged when it cannot be replayed, 0 when it can,
 * -1 on a database error.
 */
static int find_run(struct replay *r, sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	char path[PATH_MAX], hex[65] = "", *base, copy[PATH_MAX];
	long long size;
	json_error_t jerr;
	int rc = -1;

	/* "runs/ID/", "." inside it: the directory's own name */
	if (!realpath(r->dir, copy))
		snprintf(copy, sizeof(copy), "%s", r->dir);
	while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = '\0';
	base = basename(copy);
	snprintf(r->run_id, sizeof(r->run_id), "%s", base);
	if (db_prepare(db,
		       "SELECT manifest_sha256, clock_at, map_seq, (SELECT last_run FROM replay_start) "
		       "FROM run WHERE run_id = ?",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, r->run_id, -1, SQLITE_STATIC);
	switch (db_row(st)) {
	case 1:
		break;
	case 0:
		if (rundir_preview_error(r->dir))
			log_error("%s", err_msg());
		else
			log_error("'%s' is not a run this state database recorded (no run '%s'; "
				  "see 'unitsync runs list')",
				  r->dir, r->run_id);
		rc = 1;
		goto out;
	default:
		goto out;
	}
	if (sqlite3_column_type(st, 1) == SQLITE_NULL ||
	    strcmp(r->run_id, db_col_text(st, 3)) <= 0) {
		log_error("run %s cannot be replayed: it was made before schema version 9 kept the "
			  "history a replay needs (policy, assignments, Latch users as they stood)",
			  r->run_id);
		rc = 1;
		goto out;
	}
	snprintf(r->clock_at, sizeof(r->clock_at), "%s", db_col_text(st, 1));
	r->map_seq = sqlite3_column_int64(st, 2);
	/* the manifest says which options the run had: the one recorded only */
	snprintf(path, sizeof(path), "%s/manifest.json", r->dir);
	if (sha256_file(path, hex, &size) < 0) {
		log_error("run %s cannot be replayed: %s", r->run_id, err_msg());
		rc = 1;
		goto out;
	}
	if (strcmp(hex, db_col_text(st, 0))) {
		log_error("run %s cannot be replayed: '%s' is not the manifest the run recorded, so "
			  "its options are not known",
			  r->run_id, path);
		rc = 1;
		goto out;
	}
	if (!(r->manifest = json_load_file(path, 0, &jerr))) {
		log_error("run %s cannot be replayed: '%s' line %d: %s", r->run_id, path, jerr.line,
			  jerr.text);
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* The file name the manifest gives snapshot ID, or "a file no longer named". */
static const char *source_name(const struct replay *r, long long id)
{
	json_t *in;
	size_t i;

	json_array_foreach(json_object_get(r->manifest, "inputs"), i,
			   in) if (json_integer_value(json_object_get(in, "snapshot_id")) ==
				   id) return json_string_value(json_object_get(in, "source_name"));
	return "a file no longer named";
}

/*
 * Build transform's command line from the run's inputs: each property it
 * read and each snapshot, --snapshots-only (a property none covers was
 * missing that night), the run's --as-of.  1 (logged) when the run cannot
 * be replayed: a snapshot it read was pruned, or a snapshot covers one of
 * its properties that read others that night (transform could not be told).
 */
static int inputs(struct replay *r, sqlite3 *db, const char *transform, const char *copy)
{
	sqlite3_stmt *st = NULL;
	const char *last = "";
	char *prev = NULL;
	json_t *as_of = json_object_get(r->manifest, "as_of"), *jp;
	int rc = -1, got, gone = 0, n_props = 0, n_snaps = 0;
	size_t k;

	if (arg_add(r, transform) < 0 || arg_add(r, "--db") < 0 || arg_add(r, copy) < 0 ||
	    arg_add(r, "--snapshots-only") < 0)
		return -1;
	if (json_is_string(as_of) &&
	    (arg_add(r, "--as-of") < 0 || arg_add(r, json_string_value(as_of)) < 0))
		return -1;
	/* the properties whose export extract refused that night (nightly.sh
	 * told transform, and the manifest says so): worded as they were */
	json_array_foreach(json_object_get(r->manifest, "properties"), k, jp)
	{
		json_t *id = json_object_get(jp, "property_id");

		if (json_is_true(json_object_get(jp, "export_refused")) && json_is_string(id) &&
		    (arg_add(r, "--export-refused") < 0 || arg_add(r, json_string_value(id)) < 0))
			return -1;
	}
	if (db_prepare(db,
		       "SELECT ri.property_id, ri.snapshot_id, s.snapshot_id IS NULL FROM run_input ri "
		       "LEFT JOIN snapshot s ON s.snapshot_id = ri.snapshot_id WHERE ri.run_id = ? "
		       "ORDER BY ri.property_id, ri.snapshot_id",
		       &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, r->run_id, -1, SQLITE_STATIC);
	while ((got = db_row(st)) == 1) {
		long long id = sqlite3_column_int64(st, 1);
		char num[32];

		if (strcmp(last, db_col_text(st, 0))) {
			free(prev);
			if (!(prev = strdup(db_col_text(st, 0)))) {
				err_set("out of memory");
				goto out;
			}
			last = prev;
			if (++n_props > REPLAY_MAX_LIST || arg_add(r, "--property") < 0 ||
			    arg_add(r, prev) < 0)
				goto many;
		}
		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue; /* the property had no export that night */
		if (sqlite3_column_int(st, 2)) {
			log_error("run %s cannot be replayed: snapshot %lld (%s), which it read for "
				  "property %s, was pruned",
				  r->run_id, id, source_name(r, id), prev);
			gone = 1;
			continue;
		}
		snprintf(num, sizeof(num), "%lld", id);
		if (++n_snaps > REPLAY_MAX_LIST || arg_add(r, "--snapshot") < 0 ||
		    arg_add(r, num) < 0)
			goto many;
	}
	if (got < 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (gone) {
		rc = 1;
		goto out;
	}
	/* transform reads, for a property, every --snapshot that covers it */
	if (db_prepare(db,
		       "SELECT sp.snapshot_id, sp.property_id FROM snapshot_property sp "
		       "WHERE sp.snapshot_id IN (SELECT snapshot_id FROM run_input WHERE run_id = ?1) "
		       "AND sp.property_id IN (SELECT property_id FROM run_input WHERE run_id = ?1) "
		       "AND NOT EXISTS (SELECT 1 FROM run_input ri WHERE ri.run_id = ?1 "
		       "  AND ri.property_id = sp.property_id AND ri.snapshot_id = sp.snapshot_id) "
		       "ORDER BY 1, 2",
		       &st) < 0)
		goto out;
	sqlite3_bind_text(st, 1, r->run_id, -1, SQLITE_STATIC);
	if ((got = db_row(st)) < 0)
		goto out;
	if (got == 1) {
		log_error("run %s cannot be replayed: snapshot %lld covers property %s too, which "
			  "read other snapshots that night (transform cannot be given those inputs)",
			  r->run_id, sqlite3_column_int64(st, 0), db_col_text(st, 1));
		rc = 1;
		goto out;
	}
	rc = 0;
	goto out;
many:
	if (n_props <= REPLAY_MAX_LIST && n_snaps <= REPLAY_MAX_LIST)
		goto out; /* out of memory */
	log_error("run %s cannot be replayed: it read more than %d %s, more than transform "
		  "takes on its command line",
		  r->run_id, REPLAY_MAX_LIST,
		  n_snaps > REPLAY_MAX_LIST ? "snapshots" : "properties");
	rc = 1;
out:
	free(prev);
	sqlite3_finalize(st);
	return rc;
}

/* Rewind the copy at PATH to the moment before the run (rewind_sql). */
static int rewind_copy(struct replay *r, const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db_open(path, 0, &db) < 0 || db_begin(db) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(rewind_sql) / sizeof(rewind_sql[0]); i++) {
		int k;

		if (db_prepare(db, rewind_sql[i], &st) < 0)
			goto out;
		if ((k = sqlite3_bind_parameter_index(st, ":run")) > 0)
			sqlite3_bind_text(st, k, r->run_id, -1, SQLITE_STATIC);
		if ((k = sqlite3_bind_parameter_index(st, ":seq")) > 0)
			sqlite3_bind_int64(st, k, r->map_seq);
		if (sqlite3_step(st) != SQLITE_DONE) {
			err_set("rewinding the copy '%s': %s", path, sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (db_commit(db) < 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc < 0 && db)
		db_rollback(db);
	db_close(db);
	return rc;
}

/*
 * Run unitsync-transform (R->argv) with the night's clock, its standard
 * output into OUT; the rebuilt run directory (its last line) into
 * R->rebuilt.  Returns transform's exit code, or -1 when it could not run.
 */
static int run_transform(struct replay *r, const char *out)
{
	char line[PATH_MAX] = "";
	FILE *fp;
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err_set("cannot start '%s': %s", r->argv[0], strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		/* the night's clock, and this program's log format for transform's lines */
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
		    setenv("UNITSYNC_NOW", r->clock_at, 1) < 0 ||
		    setenv("UNITSYNC_LOG_FORMAT", log_get_format() == LOG_JSON ? "json" : "text",
			   1) < 0)
			_exit(US_EXIT_CONFIG);
		execv(r->argv[0], r->argv);
		log_error("cannot run '%s': %s", r->argv[0], strerror(errno));
		_exit(US_EXIT_CONFIG);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
		err_set("'%s' did not finish", r->argv[0]);
		return -1;
	}
	/* the last line transform printed is its run directory */
	if ((fp = fopen(out, "r"))) {
		while (fgets(line, sizeof(line), fp)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(r->rebuilt, sizeof(r->rebuilt), "%s", line);
		}
		fclose(fp);
	}
	return WEXITSTATUS(status);
}

/* Are files A and B byte for byte the same?  1 yes, 0 no, -1 (err_set) unreadable. */
static int same_bytes(const char *a, const char *b)
{
	FILE *fa = NULL, *fb = NULL;
	char ba[65536], bb[65536];
	int rc = -1;

	if (!(fa = fopen(a, "rb")) || !(fb = fopen(b, "rb"))) {
		err_set("cannot read '%s': %s", fa ? b : a, strerror(errno));
		goto out;
	}
	for (;;) {
		size_t na = fread(ba, 1, sizeof(ba), fa), nb = fread(bb, 1, sizeof(bb), fb);

		if (na != nb || memcmp(ba, bb, na)) {
			rc = 0;
			break;
		}
		if (na == 0) {
			rc = ferror(fa) || ferror(fb) ? -1 : 1;
			if (rc < 0)
				err_set("cannot read '%s' or '%s'", a, b);
			break;
		}
	}
out:
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return rc;
}

/* diff -u STORED REBUILT onto standard output, labelled for the reader. */
static void show_diff(const char *stored, const char *rebuilt, const char *name)
{
	char label[PATH_MAX + 32];
	pid_t pid;
	int status;

	snprintf(label, sizeof(label), "replayed %s", name);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execlp("diff", "diff", "-u", "--label", stored, "--label", label, stored, rebuilt,
		       (char *)NULL);
		log_error("cannot run diff: %s", strerror(errno));
		_exit(2);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
}

int main(int argc, char **argv)
{
	struct cli_common cli;
	struct replay r = { 0 };
	sqlite3 *db = NULL;
	char transform[PATH_MAX], copy[PATH_MAX], out[PATH_MAX], runs[PATH_MAX];
	const char *tmpdir = getenv("TMPDIR");
	int rc = US_EXIT_USAGE, end, s, differ = 0;

	cli_common_init(&cli, "unitsync-replay", usage);
	end = cli_common_only(&cli, argc, argv);
	if (end != 0) {
		if (end == 1)
			rc = US_EXIT_OK;
		goto out;
	}
	if (optind + 1 != argc) {
		cli_usage_error(&cli, "expected one RUN_DIR");
		goto out;
	}
	r.dir = argv[optind];
	rc = US_EXIT_CONFIG;
	if (cli_program_path("transform", transform, sizeof(transform)) < 0)
		goto fail;
	if (db_open(cli.db_path, 0, &db) < 0) {
		rc = db_exit_code(NULL);
		goto fail;
	}
	rc = US_EXIT_DATAERR;
	if ((s = find_run(&r, db)) != 0)
		goto stop;
	snprintf(r.tmp, sizeof(r.tmp), "%s/unitsync-replay.XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(r.tmp)) {
		err_set("cannot make a directory in '%s': %s", tmpdir && *tmpdir ? tmpdir : "/tmp",
			strerror(errno));
		r.tmp[0] = '\0';
		rc = US_EXIT_TEMPFAIL;
		goto fail;
	}
	snprintf(copy, sizeof(copy), "%s/state.db", r.tmp);
	snprintf(out, sizeof(out), "%s/transform.out", r.tmp);
	snprintf(runs, sizeof(runs), "%s/runs", r.tmp);
	if ((s = inputs(&r, db, transform, copy)) != 0)
		goto stop;
	if (arg_add(&r, "--out") < 0 || arg_add(&r, runs) < 0)
		goto dbfail;
	/* a private copy: the state database is never written */
	if (db_copy(db, copy) < 0)
		goto dbfail;
	if (rewind_copy(&r, copy) < 0)
		goto dbfail;
	s = run_transform(&r, out);
	if (s < 0) {
		rc = US_EXIT_CONFIG;
		goto fail;
	}
	if (s != US_EXIT_OK && s != US_EXIT_STALE) {
		log_error("run %s cannot be replayed: transform exited %d on the rewound copy (its "
			  "message above)",
			  r.run_id, s);
		rc = s;
		goto out;
	}
	for (size_t i = 0; i < sizeof(compared) / sizeof(compared[0]); i++) {
		char stored[PATH_MAX], rebuilt[PATH_MAX];
		int same;

		snprintf(stored, sizeof(stored), "%s/%s", r.dir, compared[i]);
		snprintf(rebuilt, sizeof(rebuilt), "%s/%s", r.rebuilt, compared[i]);
		if ((same = same_bytes(stored, rebuilt)) < 0) {
			rc = US_EXIT_DATAERR;
			goto fail;
		}
		if (!same) {
			log_error("run %s: %s differs from its replay", r.run_id, stored);
			show_diff(stored, rebuilt, compared[i]);
			differ = 1;
		}
	}
	if (differ) {
		rc = US_EXIT_FAILED;
		goto out;
	}
	printf("run %s: delta.csv and exceptions.csv are identical to their replay\n", r.run_id);
	rc = US_EXIT_OK;
	goto out;
stop:
	if (s > 0)
		goto out; /* said why */
dbfail:
	rc = db_exit_code(db);
fail:
	log_error("%s", err_msg());
out:
	replay_release(&r);
	db_close(db);
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
