/*
 * extract_csv.c - one CSV file staged as one snapshot (extract.h), read with
 * lib/csvprofile: apart from the rest of the driver, so that a program links
 * only the reader it runs.
 */
#include "csvprofile.h"
#include "db.h"
#include "err.h"
#include "exitcode.h"
#include "extract.h"
#include "extract_int.h"
#include "log.h"
#include "progress.h"
#include "stg.h"

#include <stdio.h>
#include <stdlib.h>

int extract_csv_file(sqlite3 *db, const char *path, struct extract_job *j)
{
	struct csvprofile_opts o = { .profile = j->profile,
				     .property = j->property,
				     .encoding = j->encoding,
				     .max_reject_percent = j->max_reject,
				     .on_reject = extract_on_reject,
				     .arg = j };
	struct csvprofile_result res = { 0 };
	struct progress progress;
	struct stg stg = { 0 };
	struct stat st;
	char extra[64];
	FILE *fp;
	int rc = US_EXIT_DATAERR;

	j->rejects.count = 0;
	/* the digest is taken by path: hold the file open and check it is the
	 * one digested, so that the snapshot's sha256 is of what was staged */
	fp = extract_open(path, &st);
	if (!fp)
		goto out;
	progress_start(&progress, "extract", "bytes", (long long)st.st_size);
	o.progress = &progress;
	if (csvprofile_stage(fp, path, &st, db, &stg, &o, &res) < 0) {
		progress_end(&progress);
		if (res.db_failed)
			rc = db_exit_code(db);
		else if (res.needs_property)
			rc = US_EXIT_USAGE;
		goto out;
	}
	progress_end(&progress);
	if (res.reused) {
		extract_reused(&stg, path, res.src.dialect);
		rc = US_EXIT_OK;
		goto out;
	}
	snprintf(extra, sizeof(extra), ", %ld transcoded", res.transcoded);
	rc = extract_finish(&stg, db, path, &st, j, extra);
	if (rc == US_EXIT_OK && res.transcoded)
		log_info("'%s': %ld row%s transcoded from %s to UTF-8", path, res.transcoded,
			 res.transcoded == 1 ? "" : "s", res.from);
out:
	if (rc != US_EXIT_OK)
		log_error("%s; nothing staged from '%s'", err_msg(), path);
	stg_release(&stg); /* safe when never begun: stg is zeroed */
	csvprofile_result_release(&res);
	if (fp)
		fclose(fp);
	return rc;
}
