/*
 * unitsync-reconcile - the live Latch state of a property's building
 * against tonight's decision and unitsync's ledger (unitsync-reconcile(1);
 * issue 19).
 *
 * Reads every unit of the building, every resident of each (all pages)
 * and each resident's user through lib/latchunits, the client, retries
 * and token handling load uses; compares them in lib/reconcile; writes
 * DIR/reconcile.csv and DIR/SHA256SUMS (through lib/durable and
 * lib/rundir, as a run directory's), prints a line per kind.  Nothing is
 * changed, in Latch or in the state database.
 *
 * --repair also writes a run directory DIR/RUN_ID for `unitsync load`,
 * as transform writes one (delta.csv, exceptions.csv, manifest.json,
 * SHA256SUMS; hidden until recorded, then renamed; recorded through
 * lib/ledger in one transaction): an ASSIGN with reason `reasserted` for
 * each removed_outside and missing_in_latch pair, after a USER_CREATE for
 * a person with no Latch user.  It reads the decision's input snapshots
 * and supersedes the decision for the property, so it is refused while
 * the safety guard holds the decision (4) or its removals are not loaded
 * (1): it never sends what the guard holds, nor delays a removal.
 */
#include "cli.h"
#include "config.h"
#include "db.h"
#include "durable.h"
#include "err.h"
#include "exitcode.h"
#include "latch.h"
#include "latchunits.h"
#include "ledger.h"
#include "log.h"
#include "progress.h"
#include "reconcile.h"
#include "rundir.h"
#include "sha256.h"
#include "stg.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: unitsync reconcile --property P [--out DIR] [--repair]\n"
	"\n"
	"Compare the live Latch state of a property's building with tonight's decision and\n"
	"unitsync's ledger; write DIR/reconcile.csv and DIR/SHA256SUMS. Exit 0: Latch matches;\n"
	"1: drift found.\n"
	"\n"
	"  --property P             the property\n"
	"  --out DIR                where reconcile.csv goes (default ./reconcile)\n"
	"  --repair                 also write a run directory in DIR that assigns again the\n"
	"                           removed_outside and missing_in_latch pairs, for unitsync load\n"
	"  --config FILE            Latch settings (default $UNITSYNC_CONFIG)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/* Write DIR/reconcile.csv and DIR/SHA256SUMS; -1 with err_set(). */
static int write_files(struct reconcile *rc, const char *dir)
{
	static const char *const names[] = { "reconcile.csv" };
	struct dur_file f;
	char path[PATH_MAX];

	if (dur_mkdir(dir, 0750) < 0 || rundir_dir_trusted(dir) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/reconcile.csv", dir);
	if (dur_open(&f, path, 0640) < 0)
		return -1;
	if (reconcile_write_csv(rc, f.fp) < 0) {
		dur_abort(&f);
		return -1;
	}
	if (dur_commit(&f) < 0)
		return -1;
	return rundir_write_sums(dir, names, 1);
}

/* A repair run being written (--repair); repair_release() frees it. */
struct repair {
	struct reconcile *rc; /* borrowed */
	const char *out;      /* DIR, borrowed */
	struct ledger lg;     /* the run's records, owned */
	char run_id[RUNDIR_ID_SIZE];
	char as_of[16];             /* the decision's */
	char dir[PATH_MAX];         /* DIR/.RUN_ID.PID.partial until published */
	char final[PATH_MAX];       /* DIR/RUN_ID */
	char abs_dir[PATH_MAX];     /* the same, absolute: what the run records */
	struct dur_file df, ef;     /* delta.csv, exceptions.csv until committed */
	json_t *inputs, *policy;    /* the decision's (reconcile_decision()), owned */
	long seq, assigns, creates; /* rows written, ASSIGNs, USER_CREATEs */
	char created[256];          /* the last person given a USER_CREATE */
	int partial, in_tx;         /* the hidden directory, the transaction: undone on failure */
};

/* One pair to assert again: a USER_CREATE first when the person has no
 * Latch user (once a person), then the ASSIGN; recorded as written. */
static int on_pair(const struct reconcile_pair *p, void *ctx)
{
	struct repair *r = ctx;
	struct delta_row d = { 0 };

	d.property_id = r->rc->property;
	d.pms_unit_id = p->pms_unit_id;
	d.pms_person_id = p->pms_person_id;
	d.reason = "reasserted";
	d.group_id = "";
	d.effective_date = r->as_of;
	if (!*p->latch_user_id && strcmp(r->created, p->pms_person_id)) {
		if (!*p->email && !*p->phone) {
			log_warn("person '%s' of property '%s' has no Latch user and neither e-mail "
				 "nor phone: Latch unit '%s' not asserted (missing_contact)",
				 p->pms_person_id, r->rc->property, p->latch_unit_id);
			return 0;
		}
		d.seq = ++r->seq;
		d.op = DELTA_USER_CREATE;
		d.latch_unit_id = d.latch_user_id = "";
		d.email = p->email;
		d.phone = p->phone;
		d.first_name = p->first_name;
		d.last_name = p->last_name;
		delta_write_row(r->df.fp, &d);
		if (ledger_record_delta(&r->lg, &d, 0, NULL) < 0)
			return -1;
		snprintf(r->created, sizeof(r->created), "%s", p->pms_person_id);
		r->creates++;
	}
	d.seq = ++r->seq;
	d.op = DELTA_ASSIGN;
	d.latch_unit_id = p->latch_unit_id;
	d.latch_user_id = p->latch_user_id;
	d.email = d.phone = d.first_name = d.last_name = "";
	delta_write_row(r->df.fp, &d);
	r->assigns++;
	return ledger_record_delta(&r->lg, &d, 0, NULL);
}

/* manifest.json of the repair run, as transform's (docs/ARCHITECTURE.md
 * §8) for its one property, with "repair_of" naming the decision. */
static json_t *repair_manifest(struct repair *r, const char *delta_sha, const char *exc_sha)
{
	json_t *ops = json_pack("{s:I, s:I, s:I}", "USER_CREATE", (json_int_t)r->creates, "ASSIGN",
				(json_int_t)r->assigns, "UNASSIGN", (json_int_t)0);
	json_t *reasons = json_pack("{s:I}", "reasserted", (json_int_t)r->assigns);
	json_t *first = json_array_get(r->inputs, 0), *in, *prop;
	json_int_t people = 0;
	char now[32];
	size_t i;

	json_array_foreach(r->inputs, i, in) people +=
		json_integer_value(json_object_get(in, "people"));
	db_now(now, sizeof(now));
	prop = json_pack("{s:s, s:s, s:O, s:O, s:o, s:I, s:n, s:n, s:n, s:O, s:O, s:{}, s:{s:s}, "
			 "s:s}",
			 "property_id", r->rc->property, "as_of", r->as_of, "timezone",
			 json_object_get(r->policy, "timezone"), "unit_sync",
			 json_object_get(r->policy, "unit_sync"), "snapshot_id",
			 first ? json_incref(json_object_get(first, "snapshot_id")) : json_null(),
			 "people", people, "people_previous_run", "assignments_before",
			 "stale_export", "counts_by_op", ops, "counts_by_reason", reasons,
			 "exceptions_by_kind", "guard", "verdict", "ok", "repair_of",
			 r->rc->run_id);
	return json_pack("{s:s, s:s, s:s, s:s, s:O, s:[o], s:I, s:o, s:o, s:{}, s:{s:s, s:s}, "
			 "s:{s:s, s:[]}, s:s}",
			 "run_id", r->run_id, "as_of", r->as_of, "created_at", now, "tool_version",
			 "unitsync " UNITSYNC_VERSION, "inputs", r->inputs, "properties", prop,
			 "delta_rows", (json_int_t)r->seq, "counts_by_op", ops, "counts_by_reason",
			 reasons, "exceptions_by_kind", "files", "delta.csv", delta_sha,
			 "exceptions.csv", exc_sha, "guard", "verdict", "ok", "held_properties",
			 "repair_of", r->rc->run_id);
}

/* Write manifest.json and SHA256SUMS; MANIFEST_SHA receives the manifest's digest. */
static int repair_files(struct repair *r, char *delta_sha, char *manifest_sha)
{
	static const char *const names[] = { "delta.csv", "exceptions.csv", "manifest.json" };
	char path[PATH_MAX], exc_sha[65];
	long long size;
	json_t *m;
	int rc;

	snprintf(path, sizeof(path), "%s/delta.csv", r->dir);
	if (sha256_file(path, delta_sha, &size) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/exceptions.csv", r->dir);
	if (sha256_file(path, exc_sha, &size) < 0)
		return -1;
	m = repair_manifest(r, delta_sha, exc_sha);
	snprintf(path, sizeof(path), "%s/manifest.json", r->dir);
	rc = rundir_write_json(path, m);
	json_decref(m);
	if (rc < 0 || rundir_write_sums(r->dir, names, 3) < 0)
		return -1;
	return sha256_file(path, manifest_sha, &size);
}

/* Record the run and its inputs (the decision's snapshots), commit, and
 * publish the directory under its name. */
static int repair_record(struct repair *r, const char *delta_sha, const char *manifest_sha)
{
	size_t i = 0;
	json_t *in;

	if (ledger_record_run(&r->lg, r->abs_dir, r->as_of, delta_sha, manifest_sha, r->seq, "ok") <
	    0)
		return -1;
	do {
		in = json_array_get(r->inputs, i);
		if (ledger_record_input(&r->lg, r->rc->property,
					in ? json_integer_value(json_object_get(in, "snapshot_id"))
					   : 0,
					"ok", NULL) < 0)
			return -1;
	} while (++i < json_array_size(r->inputs));
	ledger_release(&r->lg);
	if (db_commit(r->rc->db) < 0)
		return -1;
	r->in_tx = 0;
	/* recorded: from here on the directory is the run's, kept even if the rename fails */
	r->partial = 0;
	if (rename(r->dir, r->final) != 0) {
		err_set("run %s is recorded but '%s' could not be renamed to '%s': %s", r->run_id,
			r->dir, r->final, strerror(errno));
		return -1;
	}
	return dur_sync_dir(r->out) < 0 ? -1 : 0;
}

/* Remove what a failed repair left: its files, its hidden directory, its transaction. */
static void repair_release(struct repair *r)
{
	static const char *const names[] = { "delta.csv", "exceptions.csv", "manifest.json",
					     "SHA256SUMS" };
	char path[PATH_MAX];

	if (r->df.fp)
		dur_abort(&r->df);
	if (r->ef.fp)
		dur_abort(&r->ef);
	ledger_release(&r->lg);
	if (r->in_tx)
		db_rollback(r->rc->db);
	if (r->partial) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", r->dir, names[i]);
			unlink(path);
		}
		rmdir(r->dir);
	}
	json_decref(r->inputs);
	json_decref(r->policy);
}

/*
 * --repair: write and record the repair run in OUT (trusted already).  An
 * exit code, logged: US_EXIT_OK with the run's path printed, or nothing
 * to assert; 4 or 1 when refused (reconcile_repair_check()); a database
 * or file failure's.
 */
static int repair(struct reconcile *rc, const char *out)
{
	struct repair r = { .rc = rc, .out = out };
	char why[512], path[PATH_MAX], out_abs[PATH_MAX], delta_sha[65], manifest_sha[65];
	int e, ret;

	if (!rc->counts[RECONCILE_REMOVED_OUTSIDE] && !rc->counts[RECONCILE_MISSING_IN_LATCH]) {
		printf("repair: no pair to assert again, no run written\n");
		return US_EXIT_OK;
	}
	e = reconcile_repair_check(rc, why, sizeof(why));
	if (e != 0) {
		log_error("%s%s", e < 0 ? err_msg() : "no repair run written: ", e < 0 ? "" : why);
		return e < 0 ? db_exit_code(rc->db) : e == 1 ? US_EXIT_HELD : US_EXIT_FAILED;
	}
	if (!realpath(out, out_abs)) {
		err_set("cannot resolve '%s': %s", out, strerror(errno));
		goto fail;
	}
	if (reconcile_decision(rc, r.as_of, sizeof(r.as_of), &r.inputs, &r.policy) < 0 ||
	    rundir_make_id(r.run_id, sizeof(r.run_id)) < 0)
		goto fail;
	snprintf(r.abs_dir, sizeof(r.abs_dir), "%s/%s", out_abs, r.run_id);
	snprintf(r.final, sizeof(r.final), "%s/%s", out, r.run_id);
	snprintf(r.dir, sizeof(r.dir), "%s/.%s.%ld.partial", out, r.run_id, (long)getpid());
	if (dur_mkdir(r.dir, 0750) < 0)
		goto fail;
	r.partial = 1;
	snprintf(path, sizeof(path), "%s/delta.csv", r.dir);
	if (dur_open(&r.df, path, 0640) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/exceptions.csv", r.dir);
	if (dur_open(&r.ef, path, 0640) < 0)
		goto fail;
	delta_write_header(r.df.fp);
	exceptions_write_header(r.ef.fp);
	if (db_begin(rc->db) < 0)
		goto fail;
	r.in_tx = 1;
	ledger_init(&r.lg, rc->db, r.run_id);
	if (reconcile_pairs(rc, on_pair, &r) < 0)
		goto fail;
	if (!r.seq) {
		printf("repair: no pair can be asserted again, no run written\n");
		ret = US_EXIT_OK;
		goto out;
	}
	if (dur_commit(&r.df) < 0 || dur_commit(&r.ef) < 0 ||
	    repair_files(&r, delta_sha, manifest_sha) < 0 ||
	    repair_record(&r, delta_sha, manifest_sha) < 0)
		goto fail;
	printf("repair: %ld ASSIGN, %ld USER_CREATE (reasserted), superseding run %s for %s\n",
	       r.assigns, r.creates, rc->run_id, rc->property);
	printf("%s\n", r.abs_dir);
	ret = US_EXIT_OK;
	goto out;
fail:
	log_error("%s", err_msg());
	ret = db_exit_code(rc->db);
out:
	repair_release(&r);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "repair", no_argument, NULL, 'r' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct config cfg = { 0 };
	struct reconcile rc = { 0 };
	struct latch api;
	struct progress progress;
	enum latchunits_status st;
	const char *property = NULL, *out_dir = "reconcile";
	long drift = 0;
	int ret = US_EXIT_USAGE, opt, api_ready = 0, e, do_repair = 0;
	sqlite3 *db = NULL;

	cli_common_init(&cli, "unitsync-reconcile", usage);
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		switch (opt) {
		case 'p':
			property = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'r':
			do_repair = 1;
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				ret = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	if (optind != argc) {
		cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!property || !*property) {
		cli_usage_error(&cli, "--property is required");
		goto out;
	}
	if (db_open(cli.db_path, 0, &db) < 0) {
		log_error("%s", err_msg());
		ret = db_exit_code(NULL);
		goto out;
	}
	e = reconcile_begin(&rc, db, property);
	if (e == 1 && stg_property_unknown(db, property) == -1)
		e = -1;
	if (e != 0) {
		if (e <= 1)
			log_error("%s", err_msg());
		else
			log_error("property '%s' has no Latch building (set it with 'unitsync "
				  "property set %s --latch-building UUID')",
				  property, property);
		ret = e < 0 ? db_exit_code(db) : e == 1 ? US_EXIT_DATAERR : US_EXIT_CONFIG;
		goto out;
	}
	ret = US_EXIT_CONFIG;
	if (config_load(&cfg, cli.config_path) < 0 || config_require_latch(&cfg) < 0 ||
	    latch_init(&api, &cfg) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	api_ready = 1;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	st = reconcile_read_latch(&rc, &api, &progress);
	if (st != LATCHUNITS_OK) {
		ret = latchunits_exit_code(st);
		log_error("%s; nothing was compared%s", err_msg(),
			  ret == US_EXIT_TEMPFAIL ? ": rerun later" : "");
		goto out;
	}
	if (reconcile_compare(&rc) < 0 || write_files(&rc, out_dir) < 0) {
		log_error("%s", err_msg());
		ret = db_exit_code(db);
		goto out;
	}
	printf("property %s, Latch building %s: %ld unit%s, %ld resident%s, %ld user%s read; "
	       "decision: %s%s\n",
	       property, rc.building, rc.units, rc.units == 1 ? "" : "s", rc.residents,
	       rc.residents == 1 ? "" : "s", rc.users, rc.users == 1 ? "" : "s",
	       *rc.run_id ? "run " : "no run yet", rc.run_id);
	for (int k = 0; k < RECONCILE_N_KINDS; k++) {
		printf("%s: %ld\n", reconcile_kinds[k], rc.counts[k]);
		drift += rc.counts[k];
	}
	printf("%s/reconcile.csv\n", out_dir);
	ret = drift ? US_EXIT_FAILED : US_EXIT_OK;
	if (do_repair && drift) {
		/* the repair's own failure (or refusal) speaks first */
		e = repair(&rc, out_dir);
		if (e != US_EXIT_OK)
			ret = e;
	}
out:
	if (api_ready)
		latch_release(&api);
	reconcile_release(&rc);
	db_close(db);
	config_release(&cfg);
	if (fclose(stdout) != 0 && ret == US_EXIT_OK)
		ret = US_EXIT_CONFIG;
	return ret;
}
