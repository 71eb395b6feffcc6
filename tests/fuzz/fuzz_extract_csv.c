/*
 * fuzz_extract_csv - the CSV extract path as it runs: the input is written
 * to a file and unitsync-extract-csv's own main() (extract/extract-csv.c
 * compiled with -Dmain=extract_csv_main) stages it into a fresh state
 * database with --profile auto, which tries every profile's header.
 * Any exit code is fine; a crash, a sanitizer report or a leak is not.
 */
#include "fuzz.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>

int extract_csv_main(int argc, char **argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_reopen_stdout();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char db[PATH_MAX], file[PATH_MAX];
	char *args[] = { "unitsync-extract-csv",
			 "--db",
			 db,
			 "--property",
			 "p1",
			 "--profile",
			 "auto",
			 file,
			 NULL };

	fuzz_fresh_db("csv.db", db);
	fuzz_write("input.csv", data, size, file);
	optind = 0; /* glibc: start getopt afresh */
	extract_csv_main((int)(sizeof(args) / sizeof(args[0])) - 1, args);
	fuzz_reopen_stdout();
	return 0;
}
