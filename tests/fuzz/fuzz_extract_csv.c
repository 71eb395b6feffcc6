/*
 * fuzz_extract_csv - the CSV extract path as unitsync-extract-csv runs it:
 * the input is written to a file and the extract driver's
 * extract_csv_file() (lib/extract.h, reading with lib/csvprofile.h) stages
 * it into a fresh state database as property p1 with the auto profile,
 * which tries every profile's header, then commits it (or rejects it
 * whole).  Any exit code is fine; a crash, a sanitizer report or a leak
 * is not.
 */
#include "db.h"
#include "extract.h"
#include "fuzz.h"

#include <limits.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_reopen_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct extract_job j = { .property = "p1",
				 .max_reject = EXTRACT_MAX_REJECT_DEFAULT,
				 .profile = NULL,
				 .encoding = "auto" };
	char path[PATH_MAX], file[PATH_MAX];
	sqlite3 *db = NULL;

	fuzz_fresh_db("csv.db", path);
	fuzz_write("input.csv", data, size, file);
	if (db_open(path, 0, &db) < 0)
		abort();
	extract_csv_file(db, file, &j);
	db_close(db);
	return 0;
}
