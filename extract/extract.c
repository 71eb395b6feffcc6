/*
 * unitsync-extract - stage the exports a list names, in one process: the
 * night's extract (pipelines/nightly.sh) without a program start and a
 * database open per property.  The list is what `unitsync config
 * properties --extract-options` prints; each group of it is staged as
 * unitsync-extract-csv or unitsync-extract-xml would stage it
 * (lib/extract.h's extract_batch()).
 */
#include "cli.h"
#include "csvprofile.h"
#include "exitcode.h"
#include "extract.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: unitsync extract LIST\n"
	"\n"
	"Stage the exports LIST names, one snapshot per file, in one process.\n"
	"LIST ('-': standard input) holds a line per file, tab-separated, as\n"
	"'unitsync config properties --extract-options' prints them:\n"
	"PROPERTY FORMAT PROFILE MAX_REJECT_PERCENT ENCODING FILE ('-' for a threshold\n"
	"or an encoding: the default).\n"
	"Consecutive lines of one property and the same options are staged as one\n"
	"extract-csv or extract-xml run, then 'extract PROPERTY: exit N' printed.\n"
	"\n"
	"  --db PATH                state database (default $UNITSYNC_DB, else ./unitsync.db)\n"
	"  --log-format text|json   log format on stderr\n";

int main(int argc, char **argv)
{
	static const struct extract_readers readers = { .csv = extract_csv_file,
							.xml = extract_xml_file };
	struct cli_common cli;
	int rc = US_EXIT_USAGE, end;
	FILE *in = NULL;

	cli_common_init(&cli, "unitsync-extract", usage);
	xmlInitParser();
	end = cli_common_only(&cli, argc, argv);
	if (end != 0) {
		if (end == 1)
			rc = US_EXIT_OK;
		goto out;
	}
	if (argc - optind != 1) {
		cli_usage_error(&cli, argc == optind ? "no LIST given" : "one LIST, not %d",
				argc - optind);
		goto out;
	}
	in = strcmp(argv[optind], "-") ? fopen(argv[optind], "r") : stdin;
	if (!in) {
		log_error("cannot open '%s': %s; nothing staged", argv[optind], strerror(errno));
		goto out;
	}
	rc = extract_batch(&cli, in, strcmp(argv[optind], "-") ? argv[optind] : "standard input",
			   &readers);
out:
	if (in && in != stdin)
		fclose(in);
	csvprofile_cleanup();
	/* libxml2's global tables, so that valgrind sees every block freed */
	xmlCleanupParser();
	if (fclose(stdout) != 0 && rc == US_EXIT_OK)
		rc = US_EXIT_CONFIG;
	return rc;
}
