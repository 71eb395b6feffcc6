/*
 * extract_xml.c - one XML file staged as one snapshot (extract.h), read with
 * lib/xmldialect: apart from the rest of the driver, so that a program links
 * only the reader it runs.
 */
#include "xmldialect.h"
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

int extract_xml_file(sqlite3 *db, const char *path, struct extract_job *j)
{
	struct dialect_opts o = { .property = j->property,
				  .pms_property = j->pms_property,
				  .out = stdout,
				  .on_reject = extract_on_reject,
				  .arg = j };
	struct stg_source src = {
		.property_id = j->property,
		.kind = "xml",
		.path = path,
		.max_reject_percent = j->max_reject,
	};
	struct dialect_result res = { 0 };
	struct dialect_doc doc = { 0 };
	struct stg stg = { 0 };
	struct stat st;
	char dialect[160], *listing = NULL;
	size_t listing_len = 0;
	FILE *fp;
	int rc = US_EXIT_DATAERR, b;

	j->rejects.count = 0;
	/* held open to the end, so that the file checked is the file read */
	fp = extract_open(path, &st);
	if (!fp)
		goto out;
	if (dialect_detect(path, &doc) < 0)
		goto out;
	/* a file cut down to one of its properties is another snapshot */
	if (j->pms_property)
		snprintf(dialect, sizeof(dialect), "%s:%s", doc.name, j->pms_property);
	else
		snprintf(dialect, sizeof(dialect), "%s", doc.name);
	src.dialect = dialect;
	src.unit_list = doc.unit_list;
	src.pms_chosen = j->pms_property != NULL;
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
		/* -2: its snapshot was over tonight's reject threshold */
		rc = b == -2 ? US_EXIT_DATAERR : db_exit_code(db);
		goto out;
	}
	if (b == 1) {
		extract_reused(&stg, path, src.dialect);
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
	if (res.digested && (b = stg_digested(&stg, res.sha256, res.bytes)) < 0) {
		if (b == -1)
			rc = db_exit_code(db);
		goto out;
	}
	/* a property list names every property, none is its own */
	src.pms_property = doc.lists_properties ? NULL : res.pms_code;
	/*
	 * A resident export of P whose households hold nobody says nothing of
	 * who lives where; staged as P's export with no residents, transform
	 * judges P on nothing tonight (property_missing), rather than on P's
	 * other files alone, which would take this file's residents for gone
	 * (review rv17 #3a: a residents file replaced by a charges report).
	 */
	if (res.no_residents)
		log_warn("'%s': its households hold no resident (lease charges only): not a "
			 "resident list; %s",
			 path,
			 j->property ? "its property has no residents in it, and changes nothing "
				       "tonight"
				     : "it names no property");
	rc = extract_finish(&stg, db, path, &st, j, "");
	if (rc == US_EXIT_OK && doc.unit_list)
		log_info("'%s' (%s) is a %s: it stages no residents", path, src.dialect,
			 doc.lists_properties ? "property list" : "unit list");
out:
	if (rc != US_EXIT_OK)
		log_error("%s; nothing staged from '%s'", err_msg(), path);
	stg_release(&stg);
	dialect_doc_release(&doc);
	free(listing);
	if (fp)
		fclose(fp);
	return rc;
}
