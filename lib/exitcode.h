/*
 * exitcode.h - the exit codes every unitsync program uses (docs/ARCHITECTURE.md §6,
 * listed in each man page).  The 6x/7x values are sysexits(3)'s.
 */
#ifndef UNITSYNC_EXITCODE_H
#define UNITSYNC_EXITCODE_H

enum us_exit {
	US_EXIT_OK = 0,        /* everything done */
	US_EXIT_FAILED = 1,    /* some operations failed permanently */
	US_EXIT_USAGE = 2,     /* bad command line */
	US_EXIT_STALE = 3,     /* the run was written, but a property's export is stale */
	US_EXIT_HELD = 4,      /* held by the safety guard, needs approval */
	US_EXIT_DATAERR = 65,  /* EX_DATAERR: input rejected */
	US_EXIT_CORRUPT = 74,  /* EX_IOERR: the state database is corrupt; restore from backup */
	US_EXIT_TEMPFAIL = 75, /* EX_TEMPFAIL: API down, lock held, disk full; rerun resumes */
	US_EXIT_CONFIG = 78,   /* EX_CONFIG: configuration at fault (or no state database) */
};

#endif
