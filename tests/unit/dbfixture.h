/*
 * dbfixture.h - the cmocka fixture of unit tests that need a fresh state
 * database: a temporary folder holding DIR/u.db, opened (and migrated) with
 * db_open(), removed with its WAL files afterwards.  Header only: each test
 * program includes it once, and passes db_setup/db_teardown to
 * cmocka_unit_test_setup_teardown().
 */
#ifndef UNITSYNC_TESTS_DBFIXTURE_H
#define UNITSYNC_TESTS_DBFIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"

struct fixture {
	char dir[64];
	char path[128]; /* DIR/u.db */
	sqlite3 *db;    /* open on PATH, owned */
};

static int db_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/unitsync-unit.XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/u.db", fx->dir);
	if (db_open(fx->path, 1, &fx->db) < 0) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int db_teardown(void **state)
{
	struct fixture *fx = *state;
	char p[160];

	db_close(fx->db);
	unlink(fx->path);
	snprintf(p, sizeof(p), "%s-wal", fx->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", fx->path);
	unlink(p);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

#endif
