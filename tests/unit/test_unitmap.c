/*
 * test_unitmap.c - lib/unitmap.h: a property's mapped units as transform
 * reads them (unitmap_mapped_units()), found by PMS unit id with
 * unitmap_units_find(): every unit_map row of the property and no other
 * property's, identifiers compared as bytes ("0101" and "101" are two
 * units, README "Identifiers").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "db.h"
#include "dbfixture.h"
#include "unitmap.h"

static void map(sqlite3 *db, const char *property, const char *pms, const char *latch)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(db_prepare(db,
				    "INSERT INTO unit_map (property_id, pms_unit_id, latch_unit_id, "
				    "created_at) VALUES (?, ?, ?, '2026-01-01T00:00:00Z')",
				    &st),
			 0);
	sqlite3_bind_text(st, 1, property, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pms, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, latch, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void test_mapped_units(void **state)
{
	struct fixture *fx = *state;
	struct unitmap_units u;
	const struct unitmap_unit *x;

	map(fx->db, "oak", "101", "L-101");
	map(fx->db, "oak", "0101", "L-0101");
	map(fx->db, "oak", "B 2", "L-B2");
	map(fx->db, "elm", "7", "L-elm-7");
	assert_int_equal(unitmap_mapped_units(fx->db, "oak", &u), 0);
	assert_int_equal(u.n, 3);
	/* sorted by bytes, as unitmap_units_find() searches */
	assert_string_equal(u.v[0].pms_unit_id, "0101");
	assert_string_equal(u.v[1].pms_unit_id, "101");
	assert_string_equal(u.v[2].pms_unit_id, "B 2");
	x = unitmap_units_find(&u, "101");
	assert_non_null(x);
	assert_string_equal(x->latch_unit_id, "L-101");
	x = unitmap_units_find(&u, "0101");
	assert_non_null(x);
	assert_string_equal(x->latch_unit_id, "L-0101");
	assert_null(unitmap_units_find(&u, "1"));
	assert_null(unitmap_units_find(&u, "7")); /* elm's */
	assert_null(unitmap_units_find(&u, ""));
	unitmap_units_release(&u);

	/* a property with no mapping: none, and nothing to find */
	assert_int_equal(unitmap_mapped_units(fx->db, "ash", &u), 0);
	assert_int_equal(u.n, 0);
	assert_null(unitmap_units_find(&u, "101"));
	unitmap_units_release(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mapped_units, db_setup, db_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
