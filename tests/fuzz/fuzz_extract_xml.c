/*
 * fuzz_extract_xml - the XML extract path as unitsync-extract-xml runs it:
 * the input is written to a file and the extract driver's
 * extract_xml_file() (lib/extract.h, reading with lib/xmldialect.h)
 * detects its dialect and stages it into a fresh state database as
 * property p1, then commits it (or rejects it whole).  Any exit code is
 * fine; a crash, a sanitizer report or a leak is not.
 */
#include "db.h"
#include "extract.h"
#include "fuzz.h"

#include <libxml/parser.h>
#include <limits.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	fuzz_reopen_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct extract_job j = { .property = "p1", .max_reject = EXTRACT_MAX_REJECT_DEFAULT };
	char path[PATH_MAX], file[PATH_MAX];
	sqlite3 *db = NULL;

	fuzz_fresh_db("xml.db", path);
	fuzz_write("input.xml", data, size, file);
	if (db_open(path, 0, &db) < 0)
		abort();
	extract_xml_file(db, file, &j);
	db_close(db);
	return 0;
}
