/*
 * fuzz_extract_xml - the XML extract path as it runs: the input is written
 * to a file and unitsync-extract-xml's own main() (extract/extract-xml.c
 * compiled with -Dmain=extract_xml_main) detects its dialect and stages it
 * into a fresh state database.  Any exit code is fine; a crash, a
 * sanitizer report or a leak is not.
 */
#include "fuzz.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>

int extract_xml_main(int argc, char **argv);

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
	char *args[] = { "unitsync-extract-xml", "--db", db, "--property", "p1", file, NULL };

	fuzz_fresh_db("xml.db", db);
	fuzz_write("input.xml", data, size, file);
	optind = 0; /* glibc: start getopt afresh */
	extract_xml_main((int)(sizeof(args) / sizeof(args[0])) - 1, args);
	fuzz_reopen_stdout();
	return 0;
}
