#include "reconcile.h"
#include "db.h"
#include "delta.h"
#include "err.h"
#include "latch.h"
#include "latchunits.h"
#include "progress.h"
#include "csvio.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const reconcile_kinds[] = {
	[RECONCILE_KEY_WITHOUT_LEASE] = "key_without_lease",
	[RECONCILE_REMOVED_OUTSIDE] = "removed_outside",
	[RECONCILE_MISSING_IN_LATCH] = "missing_in_latch",
	[RECONCILE_OCCUPIED_UNMAPPED_UNIT] = "occupied_unmapped_unit",
	[RECONCILE_USER_CONTACT_CHANGED] = "user_contact_changed",
	[RECONCILE_N_KINDS] = NULL,
};

/* The scratch tables: what Latch holds (rc_unit, rc_resident, rc_user),
 * the decision's pairs (rc_x: not wanted any more; rc_ar: its ASSIGNs),
 * its PMS records (rc_pms) and the rows found (rc_drift). */
static const char scratch_sql[] =
	"DROP TABLE IF EXISTS temp.rc_unit; DROP TABLE IF EXISTS temp.rc_resident;"
	"DROP TABLE IF EXISTS temp.rc_user; DROP TABLE IF EXISTS temp.rc_x;"
	"DROP TABLE IF EXISTS temp.rc_ar; DROP TABLE IF EXISTS temp.rc_pms;"
	"DROP TABLE IF EXISTS temp.rc_drift;"
	"CREATE TEMP TABLE rc_unit (uuid TEXT PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TEMP TABLE rc_resident (unit TEXT NOT NULL, user TEXT NOT NULL,"
	"  assigned_by TEXT NOT NULL, PRIMARY KEY (unit, user));"
	"CREATE TEMP TABLE rc_user (user TEXT PRIMARY KEY, email TEXT, phone TEXT);"
	"CREATE TEMP TABLE rc_x (person TEXT NOT NULL, unit TEXT NOT NULL, user TEXT,"
	"  why TEXT NOT NULL);"
	"CREATE TEMP TABLE rc_ar (person TEXT NOT NULL, pms_unit TEXT NOT NULL, unit TEXT NOT NULL,"
	"  user TEXT, detail TEXT NOT NULL);"
	"CREATE TEMP TABLE rc_pms (person TEXT PRIMARY KEY, seq INTEGER, pms_unit TEXT,"
	"  email TEXT, phone TEXT, first_name TEXT, last_name TEXT);"
	"CREATE TEMP TABLE rc_drift (kind_no INTEGER NOT NULL, kind TEXT NOT NULL,"
	"  latch_unit_id TEXT NOT NULL, latch_user_id TEXT NOT NULL, email TEXT NOT NULL,"
	"  pms_unit_id TEXT NOT NULL, pms_person_id TEXT NOT NULL, detail TEXT NOT NULL);";

/*
 * The comparison, in order, each statement bound with ?1 the property and
 * ?2 the decision run ("" for none).  The kind numbers are enum
 * reconcile_kind's.
 */
static const char *const compare_sql[] = {
	/* the PMS records the decision read: one row per person (its first) */
	"INSERT INTO rc_pms SELECT s.pms_person_id, min(s.row_seq), s.pms_unit_id, s.email, s.phone,"
	"  s.first_name, s.last_name FROM stg_person s JOIN run_input ri"
	"  ON ri.snapshot_id = s.snapshot_id AND ri.property_id = s.property_id"
	" WHERE ri.run_id = ?2 AND s.property_id = ?1 GROUP BY s.pms_person_id",
	/* pairs the decision does not want any more: its UNASSIGNs, and the
	 * removals it reported instead of making (someone else's assignment,
	 * unit sync off, a removal deferred a night: repaired, a departed
	 * tenant's key taken early by hand would be given back) */
	"INSERT INTO rc_x SELECT d.pms_person_id, d.latch_unit_id, nullif(j.latch_user_id, ''),"
	"  'UNASSIGN (' || d.reason || ') of run ' || d.run_id || ': '"
	"  || coalesce(j.state, 'not loaded')"
	" FROM delta_history d LEFT JOIN journal j ON j.run_id = d.run_id AND j.seq = d.seq"
	" WHERE d.run_id = ?2 AND d.property_id = ?1 AND d.op = 'UNASSIGN'"
	" UNION ALL SELECT e.pms_person_id, a.latch_unit_id, a.latch_user_id,"
	"  e.kind || ' in run ' || e.run_id || ': ' || e.detail"
	" FROM run_exception e JOIN assignment a ON a.property_id = e.property_id"
	"  AND a.pms_person_id = e.pms_person_id AND a.pms_unit_id = e.pms_unit_id"
	/* with two users' pairs there (a reused id: migration 16), not the
	 * person id's user of now, whose pair the decision keeps */
	"  AND NOT (a.latch_user_id IS (SELECT pu.latch_user_id FROM person_user pu"
	"    WHERE pu.property_id = e.property_id AND pu.pms_person_id = e.pms_person_id)"
	"    AND EXISTS (SELECT 1 FROM assignment b WHERE b.property_id = a.property_id"
	"    AND b.pms_person_id = a.pms_person_id AND b.pms_unit_id = a.pms_unit_id"
	"    AND b.latch_user_id <> a.latch_user_id))"
	" WHERE e.run_id = ?2 AND e.property_id = ?1"
	"  AND e.kind IN ('manual_assignment', 'unit_sync_disabled', 'removal_deferred')",
	/* the decision's ASSIGNs, with the Latch user they went (or would go) to */
	"INSERT INTO rc_ar SELECT d.pms_person_id, d.pms_unit_id, d.latch_unit_id,"
	"  coalesce(nullif(j.latch_user_id, ''), pu.latch_user_id),"
	"  'ASSIGN (' || d.reason || ') of run ' || d.run_id || ': '"
	"  || CASE WHEN j.state IS NULL THEN 'not loaded'"
	"     ELSE j.state || coalesce(' (HTTP ' || j.http_status || ')', '') END"
	"  || CASE WHEN coalesce(nullif(j.latch_user_id, ''), pu.latch_user_id) IS NULL"
	"     THEN '; the person has no Latch user' ELSE '' END"
	" FROM delta_history d LEFT JOIN journal j ON j.run_id = d.run_id AND j.seq = d.seq"
	" LEFT JOIN person_user pu ON pu.property_id = d.property_id"
	"  AND pu.pms_person_id = d.pms_person_id"
	" WHERE d.run_id = ?2 AND d.property_id = ?1 AND d.op = 'ASSIGN'",
	/* key_without_lease */
	"INSERT INTO rc_drift SELECT 0, 'key_without_lease', r.unit, r.user,"
	"  coalesce(lu.email, ''), m.pms_unit_id,"
	"  coalesce((SELECT x.person FROM rc_x x JOIN assignment a ON a.property_id = ?1"
	"     AND a.pms_person_id = x.person AND a.latch_unit_id = x.unit"
	"     WHERE x.unit = r.unit AND a.latch_user_id = r.user"
	"     AND (x.user IS NULL OR x.user = r.user) ORDER BY 1 LIMIT 1),"
	"   (SELECT pu.pms_person_id FROM person_user pu WHERE pu.property_id = ?1"
	"     AND pu.latch_user_id = r.user ORDER BY 1 LIMIT 1), ''),"
	"  coalesce((SELECT x.why FROM rc_x x JOIN assignment a ON a.property_id = ?1"
	"     AND a.pms_person_id = x.person AND a.latch_unit_id = x.unit"
	"     WHERE x.unit = r.unit AND a.latch_user_id = r.user"
	"     AND (x.user IS NULL OR x.user = r.user) ORDER BY x.person, x.why LIMIT 1),"
	"   'assigned in Latch by ''' || r.assigned_by || ''': no eligible PMS record of PMS unit '''"
	"   || m.pms_unit_id || ''' explains it')"
	" FROM rc_resident r JOIN unit_map m ON m.property_id = ?1 AND m.latch_unit_id = r.unit"
	" LEFT JOIN rc_user lu ON lu.user = r.user"
	" WHERE NOT EXISTS (SELECT 1 FROM assignment a WHERE a.property_id = ?1"
	"   AND a.latch_unit_id = r.unit AND a.latch_user_id = r.user AND NOT EXISTS"
	"   (SELECT 1 FROM rc_x x WHERE x.person = a.pms_person_id AND x.unit = a.latch_unit_id"
	"   AND (x.user IS NULL OR x.user = a.latch_user_id)))"
	" AND NOT EXISTS (SELECT 1 FROM rc_ar ar WHERE ar.unit = r.unit AND ar.user = r.user)",
	/* removed_outside */
	"INSERT INTO rc_drift SELECT 1, 'removed_outside', a.latch_unit_id, a.latch_user_id,"
	"  coalesce(lu.email, pu.email, pm.email, ''), a.pms_unit_id, a.pms_person_id,"
	"  'assigned ' || CASE a.owner WHEN 'manual' THEN 'by someone else before unitsync"
	" (owner manual)' ELSE 'by unitsync' END || ' in run ' || a.run_id"
	"  || '; Latch no longer lists the resident'"
	"  || CASE WHEN NOT EXISTS (SELECT 1 FROM rc_unit u WHERE u.uuid = a.latch_unit_id)"
	"     THEN ' (the unit is not in the property''s Latch building)' ELSE '' END"
	" FROM assignment a LEFT JOIN rc_user lu ON lu.user = a.latch_user_id"
	" LEFT JOIN person_user pu ON pu.property_id = a.property_id"
	"  AND pu.pms_person_id = a.pms_person_id"
	" LEFT JOIN rc_pms pm ON pm.person = a.pms_person_id"
	" WHERE a.property_id = ?1 AND NOT EXISTS (SELECT 1 FROM rc_resident r"
	"   WHERE r.unit = a.latch_unit_id AND r.user = a.latch_user_id)"
	" AND NOT EXISTS (SELECT 1 FROM rc_x x WHERE x.person = a.pms_person_id"
	"   AND x.unit = a.latch_unit_id AND (x.user IS NULL OR x.user = a.latch_user_id))",
	/* missing_in_latch */
	"INSERT INTO rc_drift SELECT 2, 'missing_in_latch', ar.unit, coalesce(ar.user, ''),"
	"  coalesce(lu.email, pm.email, ''), ar.pms_unit, ar.person, ar.detail"
	" FROM rc_ar ar LEFT JOIN rc_pms pm ON pm.person = ar.person"
	" LEFT JOIN rc_user lu ON lu.user = ar.user"
	" WHERE (ar.user IS NULL OR NOT EXISTS (SELECT 1 FROM rc_resident r"
	"   WHERE r.unit = ar.unit AND r.user = ar.user))"
	" AND NOT EXISTS (SELECT 1 FROM assignment a WHERE a.property_id = ?1"
	"   AND a.pms_person_id = ar.person AND a.latch_unit_id = ar.unit"
	"   AND (ar.user IS NULL OR a.latch_user_id = ar.user))",
	/* occupied_unmapped_unit */
	"INSERT INTO rc_drift SELECT 3, 'occupied_unmapped_unit', r.unit, r.user,"
	"  coalesce(lu.email, ''), '',"
	"  coalesce((SELECT pu.pms_person_id FROM person_user pu WHERE pu.property_id = ?1"
	"     AND pu.latch_user_id = r.user ORDER BY 1 LIMIT 1), ''),"
	"  'Latch unit ''' || u.name || ''' has residents and no PMS unit is mapped to it;"
	" assigned by ''' || r.assigned_by || ''''"
	" FROM rc_resident r JOIN rc_unit u ON u.uuid = r.unit"
	" LEFT JOIN rc_user lu ON lu.user = r.user"
	" WHERE NOT EXISTS (SELECT 1 FROM unit_map m WHERE m.latch_unit_id = r.unit)",
	/* user_contact_changed */
	"INSERT INTO rc_drift SELECT DISTINCT 4, 'user_contact_changed', '', pu.latch_user_id,"
	"  coalesce(lu.email, ''), coalesce(pm.pms_unit, ''), pu.pms_person_id,"
	"  'Latch has e-mail ''' || coalesce(lu.email, '') || ''' and phone '''"
	"  || coalesce(lu.phone, '') || '''; the PMS has e-mail ''' || coalesce(pm.email, '')"
	"  || ''' and phone ''' || coalesce(pm.phone, '') || ''''"
	" FROM person_user pu JOIN rc_user lu ON lu.user = pu.latch_user_id"
	" JOIN rc_pms pm ON pm.person = pu.pms_person_id"
	" WHERE pu.property_id = ?1"
	" AND ((coalesce(pm.email, '') <> '' AND lower(coalesce(lu.email, '')) <> lower(pm.email))"
	"  OR (rc_phone_digits(pm.phone) <> ''"
	"   AND (rc_phone_digits(lu.phone) <> '' OR coalesce(pm.email, '') = '')"
	"   AND rc_phone_digits(lu.phone) <> rc_phone_digits(pm.phone)))",
	NULL,
};

/* rc_phone_digits(TEXT): latch_phone_digits() in SQL ("" for none or too many). */
static void sql_phone_digits(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *s = sqlite3_value_text(argv[0]);
	char out[LATCH_PHONE_SIZE];

	(void)argc;
	if (!s || latch_phone_digits((const char *)s, out, sizeof(out)) < 0)
		out[0] = '\0';
	sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

/* Prepare SQL, bound with the property (?1) and the decision run (?2)
 * when it names them. */
static int prepare(struct reconcile *rc, const char *sql, sqlite3_stmt **st)
{
	int n;

	if (db_prepare(rc->db, sql, st) < 0)
		return -1;
	n = sqlite3_bind_parameter_count(*st);
	if ((n >= 1 && sqlite3_bind_text(*st, 1, rc->property, -1, SQLITE_STATIC) != SQLITE_OK) ||
	    (n >= 2 && sqlite3_bind_text(*st, 2, rc->run_id, -1, SQLITE_STATIC) != SQLITE_OK)) {
		db_error(rc->db, NULL);
		sqlite3_finalize(*st);
		*st = NULL;
		return -1;
	}
	return 0;
}

/* Run SQL (prepare()'s bindings) to its end. */
static int run(struct reconcile *rc, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (prepare(rc, sql, &st) < 0)
		return -1;
	while ((r = db_row(st)) == 1)
		;
	sqlite3_finalize(st);
	return r;
}

int reconcile_begin(struct reconcile *rc, sqlite3 *db, const char *property)
{
	sqlite3_stmt *st = NULL;
	int ret = -1, r;

	memset(rc, 0, sizeof(*rc));
	rc->db = db;
	rc->property = strdup(property);
	if (!rc->property) {
		err_set("out of memory");
		return -1;
	}
	if (prepare(rc, "SELECT coalesce(latch_building, '') FROM property WHERE property_id = ?1",
		    &st) < 0)
		goto out;
	r = db_row(st);
	if (r <= 0) {
		ret = r < 0 ? -1 : 1;
		goto out;
	}
	if (!*db_col_text(st, 0)) {
		ret = 2;
		goto out;
	}
	rc->building = strdup(db_col_text(st, 0));
	if (!rc->building) {
		err_set("out of memory");
		goto out;
	}
	sqlite3_finalize(st);
	/* the decision: a repair run (every row `reasserted`) decides nothing */
	if (prepare(rc,
		    "SELECT ri.run_id FROM run_input ri WHERE ri.property_id = ?1 AND NOT EXISTS"
		    " (SELECT 1 FROM delta_history d WHERE d.run_id = ri.run_id"
		    "  AND d.reason = 'reasserted') ORDER BY ri.run_id DESC LIMIT 1",
		    &st) < 0)
		goto out;
	r = db_row(st);
	if (r < 0)
		goto out;
	if (r == 1)
		snprintf(rc->run_id, sizeof(rc->run_id), "%s", db_col_text(st, 0));
	if (sqlite3_create_function_v2(db, "rc_phone_digits", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
				       NULL, sql_phone_digits, NULL, NULL, NULL) != SQLITE_OK) {
		db_error(db, NULL);
		goto out;
	}
	if (db_exec(db, scratch_sql) < 0)
		goto out;
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Insert one row of text values VALS (N of them) with SQL. */
static int insert(struct reconcile *rc, const char *sql, const char *const *vals, int n)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (db_prepare(rc->db, sql, &st) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (db_bind_text_or_null(st, i + 1, vals[i]) != SQLITE_OK) {
			db_error(rc->db, NULL);
			sqlite3_finalize(st);
			return -1;
		}
	r = db_row(st);
	sqlite3_finalize(st);
	return r < 0 ? -1 : 0;
}

/* Read the residents of each unit of UNITS into rc_resident. */
static enum latchunits_status read_residents(struct reconcile *rc, struct latch *l,
					     const struct latchunits *units, struct progress *p)
{
	struct latchunits_residents res = { 0 };
	enum latchunits_status st = LATCHUNITS_OK;

	progress_start(p, "reconcile: units", "requests", (long long)units->n);
	for (size_t i = 0; i < units->n && st == LATCHUNITS_OK; i++) {
		const char *u[2] = { units->v[i].uuid, units->v[i].name };

		if (insert(rc, "INSERT OR IGNORE INTO rc_unit (uuid, name) VALUES (?1, ?2)", u, 2) <
		    0) {
			st = LATCHUNITS_BAD_REPLY;
			break;
		}
		st = latchunits_residents(l, units->v[i].uuid, &res);
		/* a unit deleted since the listing has no residents */
		if (st == LATCHUNITS_NOT_FOUND)
			st = LATCHUNITS_OK;
		for (size_t k = 0; st == LATCHUNITS_OK && k < res.n; k++) {
			const char *v[3] = { units->v[i].uuid, res.v[k].user,
					     res.v[k].assigned_by };

			if (insert(rc,
				   "INSERT OR IGNORE INTO rc_resident (unit, user, assigned_by)"
				   " VALUES (?1, ?2, coalesce(?3, ''))",
				   v, 3) < 0)
				st = LATCHUNITS_BAD_REPLY;
			rc->residents++;
		}
		rc->units++;
		progress_update(p, (long long)i + 1);
	}
	progress_end(p);
	latchunits_residents_release(&res);
	return st;
}

/* Read the contact of every resident's user into rc_user. */
static enum latchunits_status read_users(struct reconcile *rc, struct latch *l, struct progress *p)
{
	enum latchunits_status st = LATCHUNITS_BAD_REPLY;
	sqlite3_stmt *st_users = NULL;
	char **users = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (db_prepare(rc->db, "SELECT DISTINCT user FROM rc_resident ORDER BY user", &st_users) <
	    0)
		goto out;
	while ((r = db_row(st_users)) == 1) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			char **v = realloc(users, c * sizeof(*v));

			if (!v) {
				err_set("out of memory");
				goto out;
			}
			users = v;
			cap = c;
		}
		users[n] = strdup(db_col_text(st_users, 0));
		if (!users[n]) {
			err_set("out of memory");
			goto out;
		}
		n++;
	}
	if (r < 0)
		goto out;
	st = LATCHUNITS_OK;
	progress_start(p, "reconcile: users", "requests", (long long)n);
	for (size_t i = 0; i < n && st == LATCHUNITS_OK; i++) {
		char *email = NULL, *phone = NULL;

		st = latchunits_user(l, users[i], &email, &phone);
		if (st == LATCHUNITS_OK) {
			const char *v[3] = { users[i], email, phone };

			if (insert(rc,
				   "INSERT INTO rc_user (user, email, phone) VALUES (?1, ?2, ?3)",
				   v, 3) < 0)
				st = LATCHUNITS_BAD_REPLY;
			rc->users++;
		} else if (st == LATCHUNITS_NOT_FOUND) {
			st = LATCHUNITS_OK; /* deleted since the listing: no contact to compare */
		}
		free(email);
		free(phone);
		progress_update(p, (long long)i + 1);
	}
	progress_end(p);
out:
	sqlite3_finalize(st_users);
	for (size_t i = 0; i < n; i++)
		free(users[i]);
	free(users);
	return st;
}

enum latchunits_status reconcile_read_latch(struct reconcile *rc, struct latch *l,
					    struct progress *p)
{
	struct latchunits units;
	enum latchunits_status st;

	latchunits_init(&units);
	st = latchunits_list(l, rc->building, &units);
	if (st == LATCHUNITS_OK)
		st = read_residents(rc, l, &units, p);
	if (st == LATCHUNITS_OK)
		st = read_users(rc, l, p);
	latchunits_release(&units);
	return st;
}

int reconcile_compare(struct reconcile *rc)
{
	sqlite3_stmt *st = NULL;
	int r;

	for (size_t i = 0; compare_sql[i]; i++)
		if (run(rc, compare_sql[i]) < 0)
			return -1;
	if (db_prepare(rc->db, "SELECT kind_no, count(*) FROM rc_drift GROUP BY kind_no", &st) < 0)
		return -1;
	memset(rc->counts, 0, sizeof(rc->counts));
	while ((r = db_row(st)) == 1) {
		int k = sqlite3_column_int(st, 0);

		if (k >= 0 && k < RECONCILE_N_KINDS)
			rc->counts[k] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return r < 0 ? -1 : 0;
}

int reconcile_write_csv(struct reconcile *rc, FILE *fp)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (db_prepare(rc->db,
		       "SELECT kind, latch_unit_id, latch_user_id, email, pms_unit_id, pms_person_id,"
		       " detail FROM rc_drift ORDER BY kind_no, latch_unit_id, latch_user_id,"
		       " pms_person_id, pms_unit_id, detail",
		       &st) < 0)
		return -1;
	fputs(RECONCILE_HEADER "\n", fp);
	while ((r = db_row(st)) == 1) {
		const char *f[8] = { db_col_text(st, 0), rc->property };

		for (int i = 1; i < 7; i++)
			f[i + 1] = db_col_text(st, i);
		delta_write_safe_row(fp, f, 8);
	}
	sqlite3_finalize(st);
	return r < 0 ? -1 : 0;
}

int reconcile_pairs(struct reconcile *rc, int (*fn)(const struct reconcile_pair *pair, void *ctx),
		    void *ctx)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (db_prepare(rc->db,
		       "SELECT d.kind, d.latch_unit_id, min(d.latch_user_id), d.pms_unit_id,"
		       " d.pms_person_id, coalesce(pm.email, ''), coalesce(pm.phone, ''),"
		       " coalesce(pm.first_name, ''), coalesce(pm.last_name, '')"
		       " FROM rc_drift d LEFT JOIN rc_pms pm ON pm.person = d.pms_person_id"
		       " WHERE d.kind_no IN (1, 2) GROUP BY d.latch_unit_id, d.pms_person_id"
		       " ORDER BY d.pms_person_id, d.latch_unit_id",
		       &st) < 0)
		return -1;
	while ((r = db_row(st)) == 1) {
		struct reconcile_pair p = {
			db_col_text(st, 0), db_col_text(st, 1), db_col_text(st, 2),
			db_col_text(st, 3), db_col_text(st, 4), db_col_text(st, 5),
			db_col_text(st, 6), db_col_text(st, 7), db_col_text(st, 8),
		};

		if (fn(&p, ctx) != 0) {
			r = -1;
			break;
		}
	}
	sqlite3_finalize(st);
	return r < 0 ? -1 : 0;
}

int reconcile_repair_check(struct reconcile *rc, char *why, size_t size)
{
	sqlite3_stmt *st = NULL;
	int r, ret = -1;

	if (!*rc->run_id) {
		snprintf(why, size, "property '%s' has no run yet: nothing to repair from",
			 rc->property);
		return 3;
	}
	if (prepare(rc,
		    "SELECT coalesce((SELECT min(i.guard) FROM run_input i WHERE i.run_id = ?2"
		    "  AND i.property_id = ?1), r.guard) = 'held' AND r.approved_by IS NULL,"
		    " (SELECT count(*) FROM delta_history d LEFT JOIN journal j"
		    "  ON j.run_id = d.run_id AND j.seq = d.seq WHERE d.run_id = ?2"
		    "  AND d.property_id = ?1 AND d.op = 'UNASSIGN'"
		    "  AND coalesce(j.state, 'pending') IN ('pending', 'inflight'))"
		    " FROM run r WHERE r.run_id = ?2",
		    &st) < 0)
		return -1;
	r = db_row(st);
	if (r < 0)
		goto out;
	ret = 0;
	if (r == 1 && sqlite3_column_int(st, 0)) {
		snprintf(why, size,
			 "run %s is held by the safety guard for property '%s' and not approved: "
			 "review it ('unitsync report'), then 'unitsync approve' and 'unitsync load' "
			 "it",
			 rc->run_id, rc->property);
		ret = 1;
	} else if (r == 1 && sqlite3_column_int(st, 1)) {
		snprintf(why, size,
			 "%d UNASSIGN row%s of run %s for property '%s' %s not loaded yet: "
			 "'unitsync load' it first (a repair run would supersede it)",
			 sqlite3_column_int(st, 1), sqlite3_column_int(st, 1) == 1 ? "" : "s",
			 rc->run_id, rc->property, sqlite3_column_int(st, 1) == 1 ? "is" : "are");
		ret = 2;
	}
out:
	sqlite3_finalize(st);
	return ret;
}

int reconcile_decision(struct reconcile *rc, char *as_of, size_t size, json_t **inputs,
		       json_t **policy)
{
	sqlite3_stmt *st = NULL;
	int r = -1;

	*inputs = json_array();
	*policy = NULL;
	if (!*inputs || prepare(rc,
				"SELECT r.as_of, p.timezone, p.unit_sync FROM run r, property p"
				" WHERE r.run_id = ?2 AND p.property_id = ?1",
				&st) < 0)
		goto out;
	r = db_row(st);
	if (r == 1) {
		snprintf(as_of, size, "%s", db_col_text(st, 0));
		*policy = json_pack("{s:s, s:b}", "timezone", db_col_text(st, 1), "unit_sync",
				    sqlite3_column_int(st, 2));
	}
	sqlite3_finalize(st);
	st = NULL;
	if (r != 1 || !*policy) {
		if (r == 0 || (r == 1 && !*policy))
			err_set(r ? "out of memory" : "run %s is not recorded", rc->run_id);
		r = -1;
		goto out;
	}
	if (prepare(rc,
		    "SELECT s.snapshot_id, s.source_name, s.sha256, s.dialect,"
		    " coalesce(sp.people, 0) FROM run_input i JOIN snapshot s"
		    " ON s.snapshot_id = i.snapshot_id LEFT JOIN snapshot_property sp"
		    " ON sp.snapshot_id = s.snapshot_id AND sp.property_id = i.property_id"
		    " WHERE i.run_id = ?2 AND i.property_id = ?1 ORDER BY s.snapshot_id",
		    &st) < 0) {
		r = -1;
		goto out;
	}
	while ((r = db_row(st)) == 1) {
		json_t *in = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "snapshot_id",
				       (json_int_t)sqlite3_column_int64(st, 0), "property_id",
				       rc->property, "source_name", db_col_text(st, 1), "sha256",
				       db_col_text(st, 2), "dialect", db_col_text(st, 3), "people",
				       (json_int_t)sqlite3_column_int64(st, 4));

		if (!in || json_array_append_new(*inputs, in) < 0) {
			err_set("out of memory");
			r = -1;
			break;
		}
	}
out:
	sqlite3_finalize(st);
	if (r < 0) {
		json_decref(*inputs);
		json_decref(*policy);
		*inputs = *policy = NULL;
		return -1;
	}
	return 0;
}

void reconcile_release(struct reconcile *rc)
{
	free(rc->property);
	free(rc->building);
	rc->property = rc->building = NULL;
}

/* reconcile_count_file()'s reading. */
struct count_file {
	const char *path, *property;
	long *counts;
};

int reconcile_csv_row(const struct csvio_row *row, const char *path)
{
	int k;

	if (row->line == 1) {
		char header[256];
		size_t len = 0;

		for (size_t i = 0; i < row->n && len < sizeof(header); i++)
			len += (size_t)snprintf(header + len, sizeof(header) - len, "%s%s",
						i ? "," : "", row->fields[i]);
		if (strcmp(header, RECONCILE_HEADER)) {
			err_set("'%s' line 1: not the header of a reconcile.csv", path);
			return -1;
		}
		return RECONCILE_N_KINDS;
	}
	for (k = 0; k < RECONCILE_N_KINDS && strcmp(row->fields[0], reconcile_kinds[k]); k++)
		;
	if (row->n != 8 || k == RECONCILE_N_KINDS) {
		err_set("'%s' line %ld: not a reconcile.csv row", path, row->line);
		return -1;
	}
	return k;
}

static int count_row(const struct csvio_row *row, void *vc)
{
	struct count_file *cf = vc;
	int k = reconcile_csv_row(row, cf->path);

	if (k < 0)
		return -1;
	if (k < RECONCILE_N_KINDS && !strcmp(row->fields[1], cf->property))
		cf->counts[k]++;
	return 0;
}

int reconcile_count_file(const char *path, const char *property, long counts[RECONCILE_N_KINDS])
{
	struct count_file cf = { path, property, counts };
	FILE *fp = fopen(path, "r");
	int rc;

	if (!fp) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	rc = csvio_read(fp, path, count_row, &cf);
	fclose(fp);
	return rc < 0 ? -1 : 0;
}
