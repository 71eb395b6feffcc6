/*
 * test_stg.c - lib/stg.h: rows staged on the staging thread (stg_async())
 * are the rows staged without it, and a database error of that thread
 * comes back to the caller; lib/handoff.h passes its two slots in turn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "err.h"
#include "handoff.h"
#include "stg.h"

/* More rows than two of the staging thread's batches hold. */
#define PEOPLE 5000

/* A temporary folder with an export file and two state databases. */
struct fixture {
	char dir[64];
	char export[128]; /* DIR/export.csv */
	char db[2][128];  /* DIR/a.db, DIR/b.db */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	FILE *fp;

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_stg.XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->export, sizeof(fx->export), "%s/export.csv", fx->dir);
	snprintf(fx->db[0], sizeof(fx->db[0]), "%s/a.db", fx->dir);
	snprintf(fx->db[1], sizeof(fx->db[1]), "%s/b.db", fx->dir);
	fp = fopen(fx->export, "w");
	if (!fp) {
		rmdir(fx->dir);
		free(fx);
		return -1;
	}
	fputs("the export's bytes: only its digest is read\n", fp);
	fclose(fp);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char path[160];

	for (int i = 0; i < 2; i++)
		for (const char *ext = ""; ext; ext = !*ext                  ? "-wal"
						      : !strcmp(ext, "-wal") ? "-shm"
									     : NULL) {
			snprintf(path, sizeof(path), "%s%s", fx->db[i], ext);
			unlink(path);
		}
	unlink(fx->export);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A new state database at PATH knowing properties P1 and P2. */
static sqlite3 *new_db(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(db_open(path, 1, &db), 0);
	assert_int_equal(db_exec(db,
				 "INSERT INTO property (property_id, created_at, updated_at) "
				 "VALUES ('P1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), "
				 "('P2', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"),
			 0);
	return db;
}

/*
 * Stage the same rows: PEOPLE people, two to a unit, two of them with a
 * second row (a transfer; one right after the first, one 3,000 rows
 * later), one given again without REPEAT on another unit (a row of its
 * own), one given again as it was without REPEAT (skipped), one given
 * again without REPEAT on its unit with another status (rejected), a
 * unit list's row naming a unit twice (skipped once), three rejects and two
 * skipped rows; then three people of P2, one of them twice (a transfer).  BREAK_ONE: person 1000 has no role (NOT NULL), so that
 * the database refuses it.  Returns the first negative result of a call,
 * else 0.
 */
static int stage_rows(struct stg *s, int break_one)
{
	char id[32], unit[32], ref[64];
	int rc = 0, r;

	for (int i = 0; i < PEOPLE; i++) {
		struct stg_person p = { 0 };

		snprintf(id, sizeof(id), "T%05d", i);
		snprintf(unit, sizeof(unit), "U%04d", i / 2);
		snprintf(ref, sizeof(ref), "export.csv:%d", i + 2);
		p.property_id = "P1";
		p.pms_person_id = id;
		p.household_id = unit;
		p.pms_unit_id = unit;
		p.role = break_one && i == 1000 ? NULL : i % 2 ? "roommate" : "primary";
		p.status = "current";
		p.first_name = i % 7 ? "Ana" : "";
		p.last_name = "Lee";
		p.email = i % 3 ? NULL : "ana@example.com";
		p.move_in = "2025-01-01";
		p.source_ref = ref;
		p.unit_label = i % 5 ? NULL : "label";
		p.dwelling = i % 11 != 0;
		r = stg_person(s, &p, 1);
		if (r < 0 && !rc)
			rc = r;
		if (i == 100 || i == 200 || i == 300 || i == 400) {
			/* 100 with REPEAT, 300 without but on another unit (a
			 * tickler's transfer): one more row each; 200 without,
			 * as it was: skipped; 400 without, on its unit but
			 * past: rejected, naming the person */
			if (i == 100 || i == 300)
				p.pms_unit_id = "U9999";
			if (i == 400)
				p.status = "past";
			r = stg_person(s, &p, i == 100);
			if (r < 0 && !rc)
				rc = r;
		}
		if (i == 3000) {
			/* a second row of a person staged thousands of rows
			 * before: in another multi-row statement (lib/stg.c
			 * stage_people()) than the first */
			p.pms_person_id = "T00010";
			p.pms_unit_id = "U9999";
			snprintf(ref, sizeof(ref), "export.csv:%d", PEOPLE + 20);
			r = stg_person(s, &p, 1);
			if (r < 0 && !rc)
				rc = r;
		}
	}
	for (int i = 0; i < 4; i++) {
		struct stg_person p = { .property_id = "P2",
					.role = "primary",
					.status = "current" };

		snprintf(id, sizeof(id), "Q%d", i % 3);
		snprintf(ref, sizeof(ref), "export.csv:%d", PEOPLE + 5 + i);
		p.pms_person_id = id;
		p.pms_unit_id = "Q-UNIT";
		p.source_ref = ref;
		r = stg_person(s, &p, 1);
		if (r < 0 && !rc)
			rc = r;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(ref, sizeof(ref), "export.csv:%d", PEOPLE + 10 + i);
		r = i ? stg_reject(s, ref, "a reason")
		      : stg_reject_person(s, ref, "why", "P1", "T00001");
		if (r < 0 && !rc)
			rc = r;
	}
	if ((r = stg_unit_row(s, "P1", "V1", "vacant one", 1)) < 0 ||
	    (r = stg_unit_row(s, "P1", "V1", "vacant one", 1)) < 0 ||
	    (r = stg_unit(s, "P1", "V2", NULL, 0)) < 0)
		rc = rc ? rc : r;
	stg_skip(s);
	stg_skip(s);
	return rc;
}

/* PRAGMA foreign_keys on DB: 1 on, 0 off */
static int foreign_keys(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int on;

	assert_int_equal(db_prepare(db, "PRAGMA foreign_keys", &st), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	on = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return on;
}

static void async_staging_stages_the_same_rows(void **state)
{
	struct fixture *fx = *state;
	struct stg_source src = { .property_id = "P1",
				  .kind = "csv",
				  .dialect = "generic",
				  .path = fx->export,
				  .max_reject_percent = 5.0 };
	char digest[2][SHA256_HEX_LEN + 1];
	long counts[2][4];

	for (int async = 0; async < 2; async++) {
		sqlite3 *db = new_db(fx->db[async]);
		sqlite3_stmt *st = NULL;
		struct stg s;

		assert_int_equal(stg_begin(&s, db, &src), 0);
		/* the staging transaction checks no foreign key: its rows can
		 * only reference its snapshot */
		assert_int_equal(foreign_keys(db), 0);
		if (async) {
			assert_int_equal(stg_async(&s), 0);
			assert_non_null(s.q);
		}
		assert_int_equal(stage_rows(&s, 0), 0);
		assert_int_equal(stg_commit(&s), 0);
		assert_null(s.q);
		/* and the connection checks them again once it has ended */
		assert_int_equal(foreign_keys(db), 1);
		counts[async][0] = s.staged;
		counts[async][1] = s.units;
		counts[async][2] = s.skipped;
		counts[async][3] = s.rejected;
		assert_int_equal(db_prepare(db, "SELECT rows_sha256 FROM snapshot", &st), 0);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		snprintf(digest[async], sizeof(digest[async]), "%s", sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		assert_int_equal(stg_verify(db, s.snapshot_id), 0);
		/* each property's people: its distinct person ids staged */
		assert_int_equal(
			db_prepare(db,
				   "SELECT group_concat(property_id || '=' || people) FROM "
				   "(SELECT property_id, people FROM snapshot_property "
				   "ORDER BY property_id) UNION ALL "
				   "SELECT group_concat(property_id || '=' || n) FROM "
				   "(SELECT property_id, count(DISTINCT pms_person_id) AS n "
				   "FROM stg_person GROUP BY property_id ORDER BY property_id)",
				   &st),
			0);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "P1=5000,P2=3");
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "P1=5000,P2=3");
		sqlite3_finalize(st);
		stg_release(&s);
		db_close(db);
	}
	/* people and the three second rows, P2's four rows; the units of
	 * two people each, U9999, Q-UNIT, V1 and V2; the repeat without
	 * REPEAT, V1's second row and the two stg_skip() */
	assert_int_equal(counts[0][0], PEOPLE + 3 + 4);
	assert_int_equal(counts[0][1], PEOPLE / 2 + 4);
	assert_int_equal(counts[0][2], 4);
	assert_int_equal(counts[0][3], 4);
	assert_memory_equal(counts[0], counts[1], sizeof(counts[0]));
	assert_string_equal(digest[0], digest[1]);
}

static void async_staging_error_comes_back(void **state)
{
	struct fixture *fx = *state;
	struct stg_source src = { .property_id = "P1",
				  .kind = "csv",
				  .dialect = "generic",
				  .path = fx->export,
				  .max_reject_percent = 5.0 };
	sqlite3 *db = new_db(fx->db[0]);
	sqlite3_stmt *st = NULL;
	struct stg s;

	assert_int_equal(stg_begin(&s, db, &src), 0);
	assert_int_equal(stg_async(&s), 0);
	err_set("%s", "");
	/* the thread fails in the first batch; the caller hears of it when
	 * it hands over the second and waits for the first back */
	assert_int_equal(stage_rows(&s, 1), -1);
	assert_non_null(strstr(err_msg(), "database"));
	/* and the calls after it fail too, the commit with them */
	err_set("%s", "");
	assert_int_equal(stg_unit(&s, "P1", "W1", NULL, 1), -1);
	assert_non_null(strstr(err_msg(), "database"));
	assert_int_equal(stg_commit(&s), -1);
	stg_release(&s);
	assert_null(s.q);
	assert_int_equal(foreign_keys(db), 1); /* on again after the rollback */
	assert_int_equal(db_prepare(db, "SELECT count(*) FROM snapshot", &st), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	db_close(db);
}

/* A consumer of 100 slots' numbers, through two slots. */
struct relay {
	struct handoff ho;
	int slot[2];
	int got[100];
	int n;
};

static void *consume(void *arg)
{
	struct relay *r = arg;

	for (int i = 0;; i ^= 1) {
		if (handoff_wait_full(&r->ho, i) < 0)
			break;
		r->got[r->n++] = r->slot[i];
		handoff_done(&r->ho, i);
	}
	return NULL;
}

static void handoff_passes_slots_in_turn(void **state)
{
	struct relay r = { 0 };
	pthread_t t;

	(void)state;
	handoff_init(&r.ho);
	assert_int_equal(pthread_create(&t, NULL, consume, &r), 0);
	for (int k = 0; k < 100; k++) {
		assert_int_equal(handoff_wait_empty(&r.ho, k % 2), 0);
		r.slot[k % 2] = k;
		handoff_give(&r.ho, k % 2);
	}
	/* both slots back: the consumer read all of them */
	assert_int_equal(handoff_wait_empty(&r.ho, 0), 0);
	assert_int_equal(handoff_wait_empty(&r.ho, 1), 0);
	handoff_quit(&r.ho);
	pthread_join(t, NULL);
	assert_int_equal(r.n, 100);
	for (int k = 0; k < 100; k++)
		assert_int_equal(r.got[k], k);
	/* after a quit a wait returns at once, whatever the slot */
	assert_int_equal(handoff_wait_empty(&r.ho, 0), -1);
	assert_int_equal(handoff_wait_full(&r.ho, 0), -1);
	handoff_release(&r.ho);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(async_staging_stages_the_same_rows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(async_staging_error_comes_back, setup, teardown),
		cmocka_unit_test(handoff_passes_slots_in_turn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
