/*
 * metrics.h - the night's outcome as Prometheus metrics (issue 20), for
 * the monitoring an operations team already scrapes.
 *
 * Format: the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): one
 * "# HELP" and one "# TYPE" line per family, then its samples; label
 * values escaped (backslash, double quote, line feed).  Every family is a
 * gauge: the file describes the last night, and node_exporter's textfile
 * collector (the convention this file follows) reads it whole on every
 * scrape.  The families, their labels and where each value comes from:
 *
 *   unitsync_last_run_timestamp_seconds        when the night ended (Unix time)
 *   unitsync_last_run_exit_code                the night's exit code (unitsync-nightly(1));
 *                                              absent when not given
 *   unitsync_last_success_timestamp_seconds    when the newest run whose load finished
 *                                              (run.load_status 'done') ended: every pair
 *                                              of that run applied; absent before the first
 *   unitsync_stage_duration_seconds{stage}     each stage's wall time, as the caller measured it
 *   unitsync_run_info{run_id,as_of,status}     1, for the run the night made (lib/runstatus's
 *                                              status word); the families below are that
 *                                              run's and are absent when the night made none
 *   unitsync_delta_rows{property,op,reason}    its delta rows (delta_history)
 *   unitsync_exceptions{property,kind}         its exceptions.csv rows (run_exception)
 *   unitsync_guard_held{property}              1 when the safety guard held the property and
 *                                              nobody has approved the run yet, else 0
 *                                              (run_input.guard, run.approved_at)
 *   unitsync_load_rows{property,outcome}       its delta rows by what load made of them: the
 *                                              journal's state (done, failed, pending,
 *                                              inflight, superseded), or "unsent" for a row
 *                                              load never journaled (held, not loaded yet)
 *
 * Families and samples come in a fixed order (samples sorted by their
 * labels), so the same state gives the same bytes.
 */
#ifndef UNITSYNC_METRICS_H
#define UNITSYNC_METRICS_H

#include <sqlite3.h>
#include <stdio.h>
#include <time.h>

/* One stage's wall time: NAME (e.g. "extract") and SECONDS (>= 0). */
struct metrics_stage {
	const char *name;
	double seconds;
};

/* What the caller knows of the night; the rest is read from the database. */
struct metrics_night {
	time_t ended;                       /* when the night ended */
	int exit_code;                      /* its exit code, -1 when not known */
	const char *run_id;                 /* the run it made, NULL when none */
	const struct metrics_stage *stages; /* N_STAGES stage durations, borrowed */
	size_t n_stages;
};

/*
 * Write the night N's metrics from DB to FP; with DB NULL (the database
 * cannot be opened: a night that failed for it) only the night's own
 * families, the last run's time, exit code and stages.  Returns 0, or -1 with
 * err_set(): "database: ..." on a read error (the caller's exit code is
 * db_exit_code()), "no run 'ID' in the state database" when N->run_id is
 * not recorded, or a write error on FP.  Nothing of DB is changed.
 */
int metrics_write(sqlite3 *db, const struct metrics_night *n, FILE *fp);

#endif
