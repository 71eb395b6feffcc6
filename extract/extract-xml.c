/*
 * unitsync-extract-xml - stage XML exports from a PMS.
 *
 * The dialect (lib/xmldialect.h) is told from the root element and its
 * first children: Yardi ResidentTransactions 2.0 (residents), Yardi
 * GetUnitInformation and MITS ILS feeds (unit lists), Yardi
 * GetPropertyConfigurations (a property list: nothing staged), each also
 * inside an envelope.  Every file is read with the safe streaming reader of
 * lib/xmlsafe.h and staged as one snapshot, committed whole or not at all.
 */
#include "cli.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "extract.h"
#include "log.h"
#include "stg.h"
#include "xmldialect.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: unitsync extract-xml [--property P] [--pms-property CODE] [--max-reject-percent N] "
	"FILE...\n"
	"\n"
	"Stage XML exports (Yardi ResidentTransactions 2.0, GetUnitInformation,\n"
	"GetPropertyConfigurations; MITS ILS feeds; any of them in an envelope) as\n"
	"snapshots, one per file.\n"
	"\n"
	"  --property P             the unitsync property the file belongs to (default: the\n"
	"                           PMS property code the file names)\n"
	"  --pms-property CODE      stage only PMS property CODE of a file listing several\n"
	"  --max-reject-percent N   reject the whole file past N% rejected rows (default 5)\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

/* Rejected rows logged per file; the rest are only counted. */

/* What one file's extraction needs. */
struct job {
	const char *property;     /* --property, or NULL: the file's PMS codes */
	const char *pms_property; /* --pms-property, or NULL */
	double max_reject;        /* --max-reject-percent */
	struct log_limit rejects; /* rejected-row warnings of the current file: the first 20 */
};

static void on_reject(void *arg, const char *ref, const char *why)
{
	struct job *j = arg;

	log_limited(&j->rejects, "%s: %s; row rejected", ref, why);
}

/*
 * Stage one file: tell its dialect, open its snapshot (or find it staged
 * before), read it into the snapshot and commit.  Returns an exit code.
 */
static int extract_file(sqlite3 *db, const char *path, void *arg)
{
	struct job *j = arg;
	struct dialect_opts o = { .property = j->property,
				  .pms_property = j->pms_property,
				  .out = stdout,
				  .on_reject = on_reject,
				  .arg = j };
	struct stg_source src = { .property_id = j->property, .kind = "xml", .path = path };
	struct dialect_result res = { 0 };
	struct dialect_doc doc = { 0 };
	struct stg stg = { 0 };
	struct stat st;
	char dialect[160], *listing = NULL;
	size_t listing_len = 0;
	int rc = US_EXIT_DATAERR, b;

	j->rejects.count = 0;
	if (stat(path, &st) != 0) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	/* a FIFO or a device would be waited on while the nightly lock is held */
	if (!S_ISREG(st.st_mode)) {
		err_set("'%s' is not a regular file (a pipe, a device or a directory?): refused",
			path);
		goto out;
	}
	if (dialect_detect(path, &doc) < 0)
		goto out;
	/* a file cut down to one of its properties is another snapshot */
	if (j->pms_property)
		snprintf(dialect, sizeof(dialect), "%s:%s", doc.name, j->pms_property);
	else
		snprintf(dialect, sizeof(dialect), "%s", doc.name);
	src.dialect = dialect;
	src.unit_list = doc.unit_list;
	/* a file read whole is digested as it is parsed, not read twice */
	src.digest_later = !doc.inner && !doc.lists_properties;
	/* a property list stages nothing: list it even when its snapshot exists,
	 * and only once the whole file is read */
	if (doc.lists_properties) {
		o.out = open_memstream(&listing, &listing_len);
		if (!o.out) {
			err_set("out of memory");
			goto out;
		}
		b = dialect_stage(&doc, path, NULL, &o, &res);
		fclose(o.out);
		o.out = stdout;
		if (b < 0)
			goto out;
		fputs(listing, stdout);
	}
	b = stg_begin(&stg, db, &src);
	if (b < 0) {
		rc = db_exit_code(db);
		goto out;
	}
	if (b == 1) {
		printf("snapshot %lld reused: '%s' (%s) was staged before with sha256 %s\n",
		       stg.snapshot_id, path, src.dialect, stg.sha256);
		rc = US_EXIT_OK;
		goto out;
	}
	if (doc.lists_properties) {
		for (long i = 0; i < res.skipped; i++)
			stg_skip(&stg);
	} else {
		struct progress progress;

		progress_start(&progress, "extract", "bytes", (long long)st.st_size);
		o.progress = &progress;
		/* rows staged on a thread of their own, while the dialect reads on */
		stg_async(&stg);
		b = dialect_stage(&doc, path, &stg, &o, &res);
		progress_end(&progress);
		o.progress = NULL;
		if (b < 0) {
			if (res.db_failed)
				rc = db_exit_code(db);
			goto out;
		}
	}
	if (!extract_same_file(path, &st)) {
		err_set("'%s' changed while it was being read", path);
		goto out;
	}
	if (res.digested && (b = stg_digested(&stg, res.sha256, res.bytes)) < 0) {
		if (b == -1)
			rc = db_exit_code(db);
		goto out;
	}
	if (res.no_residents) {
		/* stg_commit() reads unit_list: no property is said to be empty */
		src.unit_list = 1;
		log_warn("'%s': its households hold no resident (lease charges only): it is not "
			 "taken as a resident list",
			 path);
	}
	log_limit_end(&j->rejects, "rejected rows");
	b = stg_commit(&stg, j->max_reject);
	if (b < 0) {
		/* -2: too many rejects, the input's fault; -1: the database's */
		if (b == -1)
			rc = db_exit_code(db);
		goto out;
	}
	printf("snapshot %lld: '%s' (%s, sha256 %s): %ld people staged, %ld units, %ld rows skipped, "
	       "%ld rejected\n",
	       stg.snapshot_id, path, src.dialect, stg.sha256, stg.staged, stg.units, stg.skipped,
	       stg.rejected);
	if (doc.unit_list)
		log_info("'%s' (%s) is a %s: it stages no residents", path, src.dialect,
			 doc.lists_properties ? "property list" : "unit list");
	rc = US_EXIT_OK;
out:
	if (rc != US_EXIT_OK)
		log_error("%s; nothing staged from '%s'", err_msg(), path);
	stg_release(&stg);
	dialect_doc_release(&doc);
	free(listing);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "property", required_argument, NULL, 'p' },
		{ "pms-property", required_argument, NULL, 'P' },
		{ "max-reject-percent", required_argument, NULL, 'r' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common cli;
	struct job j = { .max_reject = EXTRACT_MAX_REJECT_DEFAULT };
	int rc = US_EXIT_USAGE, opt;

	cli_common_init(&cli, "unitsync-extract-xml", usage);
	xmlInitParser();
	while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTIONS, opts, NULL)) != -1) {
		int c;

		switch (opt) {
		case 'p':
			j.property = optarg;
			break;
		case 'P':
			j.pms_property = optarg;
			break;
		case 'r':
			if (extract_reject_percent(&cli, optarg, &j.max_reject) < 0)
				goto out;
			break;
		default:
			c = cli_common_option(&cli, opt, optarg);
			if (c == 1)
				rc = US_EXIT_OK;
			if (c != 0)
				goto out;
		}
	}
	if (j.property && !*j.property) {
		cli_usage_error(&cli, "--property takes a property id, not ''");
		goto out;
	}
	if (j.pms_property && !*j.pms_property) {
		cli_usage_error(&cli, "--pms-property takes a PMS property code, not ''");
		goto out;
	}
	if (optind >= argc) {
		cli_usage_error(&cli, "no FILE given");
		goto out;
	}
	rc = extract_run(&cli, j.property, argv + optind, argc - optind, extract_file, &j);
out:
	/* libxml2's global tables, so that valgrind sees every block freed */
	xmlCleanupParser();
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
