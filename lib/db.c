#include "db.h"
#include "cli.h"
#include "err.h"
#include "exitcode.h"
#include "log.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Migrations, oldest first: the database at version N has had
 * migrations[0..N-1] applied.  Never edit one that has shipped; add one.
 * Every identifier is TEXT (docs/ARCHITECTURE.md §5): '0101' and '101' are different
 * units.  Dates are 'YYYY-MM-DD' text or NULL.
 */
static const char *const migration_1[] = {
	"CREATE TABLE property ("
	"  property_id TEXT PRIMARY KEY,"
	"  latch_building TEXT,"
	"  timezone TEXT NOT NULL DEFAULT 'UTC',"
	"  unit_sync INTEGER NOT NULL DEFAULT 1,"
	"  exclude_status TEXT NOT NULL DEFAULT '',"
	"  grant_lead_days INTEGER,"
	"  revoke_grace_days INTEGER NOT NULL DEFAULT 0,"
	"  guard_percent INTEGER NOT NULL DEFAULT 20,"
	"  guard_max INTEGER,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL);",
	"CREATE TABLE unit_map ("
	"  property_id TEXT NOT NULL,"
	"  pms_unit_id TEXT NOT NULL,"
	"  latch_unit_id TEXT NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  PRIMARY KEY (property_id, pms_unit_id),"
	"  UNIQUE (latch_unit_id));",
	"CREATE TABLE map_history ("
	"  id INTEGER PRIMARY KEY,"
	"  property_id TEXT NOT NULL,"
	"  pms_unit_id TEXT NOT NULL,"
	"  before_latch_unit_id TEXT,"
	"  after_latch_unit_id TEXT,"
	"  changed_by TEXT NOT NULL,"
	"  changed_at TEXT NOT NULL);",
	"CREATE TABLE snapshot ("
	"  snapshot_id INTEGER PRIMARY KEY,"
	"  property_id TEXT NOT NULL," /* --property given, '' when the file names them */
	"  source_kind TEXT NOT NULL," /* csv | xml */
	"  dialect TEXT NOT NULL,"     /* CSV profile or XML dialect */
	"  source_name TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  size_bytes INTEGER NOT NULL,"
	"  rows_staged INTEGER NOT NULL DEFAULT 0,"
	"  rows_skipped INTEGER NOT NULL DEFAULT 0,"
	"  rows_rejected INTEGER NOT NULL DEFAULT 0,"
	"  units_staged INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  extracted_at TEXT NOT NULL,"     /* last time the file was extracted (reuse too) */
	"  extract_order INTEGER NOT NULL," /* increases with every extraction, reuse too */
	"  UNIQUE (sha256, source_kind, dialect, property_id));",
	"CREATE TABLE snapshot_property ("
	"  snapshot_id INTEGER NOT NULL REFERENCES snapshot ON DELETE CASCADE,"
	"  property_id TEXT NOT NULL,"
	"  people INTEGER NOT NULL,"
	"  PRIMARY KEY (snapshot_id, property_id));",
	"CREATE INDEX snapshot_property_by_property ON snapshot_property (property_id, snapshot_id);",
	"CREATE TABLE stg_person ("
	"  snapshot_id INTEGER NOT NULL REFERENCES snapshot ON DELETE CASCADE,"
	"  property_id TEXT NOT NULL,"
	"  pms_person_id TEXT NOT NULL,"
	"  household_id TEXT,"
	"  pms_unit_id TEXT,"
	"  role TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  status_raw TEXT,"
	"  first_name TEXT,"
	"  last_name TEXT,"
	"  email TEXT,"
	"  phone TEXT,"
	"  move_in TEXT,"
	"  move_out TEXT,"
	"  expected_move_out TEXT,"
	"  lease_from TEXT,"
	"  lease_to TEXT,"
	"  source_ref TEXT NOT NULL,"
	"  PRIMARY KEY (snapshot_id, property_id, pms_person_id)) WITHOUT ROWID;",
	"CREATE INDEX stg_person_by_household ON stg_person (snapshot_id, property_id, household_id, role);",
	"CREATE TABLE stg_unit ("
	"  snapshot_id INTEGER NOT NULL REFERENCES snapshot ON DELETE CASCADE,"
	"  property_id TEXT NOT NULL,"
	"  pms_unit_id TEXT NOT NULL,"
	"  label TEXT,"
	"  dwelling INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY (snapshot_id, property_id, pms_unit_id)) WITHOUT ROWID;",
	"CREATE TABLE stg_reject ("
	"  snapshot_id INTEGER NOT NULL REFERENCES snapshot ON DELETE CASCADE,"
	"  source_ref TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  property_id TEXT,"    /* when the row named them: transform holds that */
	"  pms_person_id TEXT);" /* person instead of removing them */
	/* User Sync: the Latch user each PMS person was matched to or created as */,
	"CREATE TABLE person_user ("
	"  property_id TEXT NOT NULL,"
	"  pms_person_id TEXT NOT NULL,"
	"  latch_user_id TEXT NOT NULL,"
	"  email TEXT,"
	"  updated_at TEXT NOT NULL,"
	"  PRIMARY KEY (property_id, pms_person_id));"
	/* assignments unitsync made and Latch confirmed: the diff's left side */,
	"CREATE TABLE assignment ("
	"  property_id TEXT NOT NULL,"
	"  pms_person_id TEXT NOT NULL,"
	"  latch_unit_id TEXT NOT NULL,"
	"  pms_unit_id TEXT NOT NULL,"
	"  latch_user_id TEXT NOT NULL,"
	"  run_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  assigned_at TEXT NOT NULL,"
	/* 'unitsync', or 'manual' when Latch already had it, assigned by someone
	 * else: unitsync never removes those */
	"  owner TEXT NOT NULL DEFAULT 'unitsync',"
	"  PRIMARY KEY (property_id, pms_person_id, latch_unit_id));",
	"CREATE TABLE run ("
	"  run_id TEXT PRIMARY KEY,"
	"  run_dir TEXT NOT NULL,"
	"  as_of TEXT NOT NULL,"
	"  delta_sha256 TEXT NOT NULL,"
	"  manifest_sha256 TEXT NOT NULL,"
	"  map_seq INTEGER NOT NULL DEFAULT 0," /* map_history's last id when made */
	"  delta_rows INTEGER NOT NULL,"
	"  guard TEXT NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  approved_by TEXT,"
	"  approved_at TEXT,"
	"  load_status TEXT,"
	"  loaded_at TEXT);",
	"CREATE TABLE run_input ("
	"  run_id TEXT NOT NULL,"
	"  property_id TEXT NOT NULL,"
	"  snapshot_id INTEGER,"
	"  PRIMARY KEY (run_id, property_id, snapshot_id));"
	/* every delta row ever written, for `unitsync explain` */,
	"CREATE TABLE delta_history ("
	"  run_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  op TEXT NOT NULL,"
	"  property_id TEXT NOT NULL,"
	"  pms_person_id TEXT NOT NULL,"
	"  pms_unit_id TEXT,"
	"  latch_unit_id TEXT,"
	"  reason TEXT NOT NULL,"
	"  group_id TEXT,"
	"  effective_date TEXT NOT NULL,"
	"  snapshot_id INTEGER,"
	"  source_ref TEXT,"
	"  PRIMARY KEY (run_id, seq));",
	"CREATE INDEX delta_history_by_person ON delta_history (property_id, pms_person_id);"
	/* load journal: one row per delta row, written before each request */,
	"CREATE TABLE journal ("
	"  run_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  op TEXT NOT NULL,"
	"  idempotency_key TEXT NOT NULL,"
	"  state TEXT NOT NULL," /* pending | inflight | done | failed | superseded */
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  http_status INTEGER,"
	"  response TEXT,"
	"  latch_user_id TEXT,"
	"  updated_at TEXT NOT NULL,"
	"  PRIMARY KEY (run_id, seq));",
	"CREATE INDEX journal_inflight ON journal (run_id, seq) WHERE state = 'inflight';",
	NULL,
};

/*
 * Transform asks, per person, whether the unit's mapping changed since the
 * property's last run (map_history rows of the unit newer than an id): an
 * index makes that a seek instead of a scan of every newer change.
 */
static const char *const migration_2[] = {
	"CREATE INDEX map_history_by_unit ON map_history (property_id, pms_unit_id, id);",
	/* ... and the property's last run, found without a scan of every run's inputs */
	"CREATE INDEX run_input_by_property ON run_input (property_id, run_id);",
	NULL,
};

/*
 * Stale exports and schema drift (issue 15): a property says after how many
 * nights of a byte-identical export, or how old a file, its export counts
 * as stale; a snapshot records its file's modification time, which of the
 * job's fields its file carried and which columns it did not know.
 */
static const char *const migration_3[] = {
	"ALTER TABLE property ADD COLUMN stale_after_nights INTEGER NOT NULL DEFAULT 3;",
	"ALTER TABLE property ADD COLUMN max_export_age_hours INTEGER NOT NULL DEFAULT 48;",
	/* UTC 'YYYY-MM-DDTHH:MM:SSZ' of the file's mtime when it was last extracted */
	"ALTER TABLE snapshot ADD COLUMN file_mtime TEXT;",
	/* comma list, sorted, of the job's fields the file carried; NULL: not recorded */
	"ALTER TABLE snapshot ADD COLUMN fields TEXT;",
	/* comma list, in file order, of the header columns no profile field reads */
	"ALTER TABLE snapshot ADD COLUMN unknown_columns TEXT;",
	NULL,
};

/*
 * One PMS person id on several rows of a file (a transfer exported as the
 * old and the new lease, a second lease): staged as rows 1, 2, ... of the
 * person (row_seq), merged by transform, never rejected (issue 15).
 */
static const char *const migration_4[] = {
	"CREATE TABLE stg_person_v4 ("
	"  snapshot_id INTEGER NOT NULL REFERENCES snapshot ON DELETE CASCADE,"
	"  property_id TEXT NOT NULL,"
	"  pms_person_id TEXT NOT NULL,"
	"  row_seq INTEGER NOT NULL DEFAULT 1,"
	"  household_id TEXT,"
	"  pms_unit_id TEXT,"
	"  role TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  status_raw TEXT,"
	"  first_name TEXT,"
	"  last_name TEXT,"
	"  email TEXT,"
	"  phone TEXT,"
	"  move_in TEXT,"
	"  move_out TEXT,"
	"  expected_move_out TEXT,"
	"  lease_from TEXT,"
	"  lease_to TEXT,"
	"  source_ref TEXT NOT NULL,"
	"  PRIMARY KEY (snapshot_id, property_id, pms_person_id, row_seq)) WITHOUT ROWID;",
	"INSERT INTO stg_person_v4 (snapshot_id, property_id, pms_person_id, row_seq, household_id,"
	"  pms_unit_id, role, status, status_raw, first_name, last_name, email, phone, move_in,"
	"  move_out, expected_move_out, lease_from, lease_to, source_ref) "
	"SELECT snapshot_id, property_id, pms_person_id, 1, household_id, pms_unit_id, role,"
	"  status, status_raw, first_name, last_name, email, phone, move_in, move_out,"
	"  expected_move_out, lease_from, lease_to, source_ref FROM stg_person;",
	"DROP TABLE stg_person;",
	"ALTER TABLE stg_person_v4 RENAME TO stg_person;",
	"CREATE INDEX stg_person_by_household ON stg_person (snapshot_id, property_id, household_id, role);",
	NULL,
};

/*
 * The phone (its digits) a Latch user was matched or created by: a
 * phone-only resident under a new PMS id is the resident unitsync knows.
 */
static const char *const migration_5[] = {
	"ALTER TABLE person_user ADD COLUMN phone TEXT;",
	"CREATE INDEX person_user_by_phone ON person_user (property_id, phone);",
	NULL,
};

/*
 * A digest of each snapshot's staged rows, taken when it is staged
 * (lib/stg: stg_rows_digest()): transform and rerun refuse a snapshot
 * whose rows were changed behind unitsync's back (issue 17).  NULL for a
 * snapshot staged before this migration: not verifiable, said so.
 */
static const char *const migration_6[] = {
	"ALTER TABLE snapshot ADD COLUMN rows_sha256 TEXT;",
	NULL,
};

/*
 * Why a person got nothing on a night (issue 19, `unitsync explain`): each
 * run's exceptions.csv rows (row SEQ, 1 up, in the file's order, fields as
 * written there), and each property's safety guard verdict that night
 * ('ok' or 'held', with its reasons).  A run made before this migration
 * has a NULL guard: its exceptions were not recorded.
 */
static const char *const migration_7[] = {
	"CREATE TABLE run_exception ("
	"  run_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  property_id TEXT NOT NULL,"
	"  pms_unit_id TEXT NOT NULL,"
	"  pms_person_id TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  PRIMARY KEY (run_id, seq));",
	"CREATE INDEX run_exception_by_person ON run_exception (property_id, pms_person_id);",
	"ALTER TABLE run_input ADD COLUMN guard TEXT;",
	"ALTER TABLE run_input ADD COLUMN guard_why TEXT;",
	NULL,
};

/*
 * Which snapshots may lack a rows digest: those staged before migration 6,
 * at most the one id recorded here when this migration ran.  A snapshot
 * after it with no digest had it removed behind unitsync's back, and
 * transform refuses it (lib/stg: stg_verify()).
 */
static const char *const migration_8[] = {
	"CREATE TABLE snapshot_legacy (max_snapshot_id INTEGER NOT NULL);",
	"INSERT INTO snapshot_legacy (max_snapshot_id) SELECT coalesce(max(snapshot_id), 0) "
	"FROM snapshot WHERE rows_sha256 IS NULL;",
	NULL,
};

/*
 * Replay (issue 19, `unitsync replay`): what transform reads that changes
 * after a run, kept as it stood at every run.  Each history row is the
 * row of its table after one change, with last_run, the newest run when
 * it was written (DB_LAST_RUN, lib/db.h): the run R read exactly the
 * changes whose last_run sorts before R.  Seeded here with the rows as
 * they are, so a run made after this migration can be rebuilt; replay_start
 * names the newest run made before it (those cannot be: their history
 * was not kept).  Writers: cli/property.c (property_history), lib/stg.c
 * (snapshot_extraction: extraction order, time and file mtime, which a
 * file extracted again changes), lib/ledger.c (assignment_history,
 * person_user_history, the journal rows a run found inflight, the clock
 * a run was judged at, the newest run when a run was approved).
 */
static const char *const migration_9[] = {
	"CREATE TABLE property_history ("
	"  id INTEGER PRIMARY KEY,"
	"  property_id TEXT NOT NULL,"
	"  latch_building TEXT,"
	"  timezone TEXT NOT NULL,"
	"  unit_sync INTEGER NOT NULL,"
	"  exclude_status TEXT NOT NULL,"
	"  grant_lead_days INTEGER,"
	"  revoke_grace_days INTEGER NOT NULL,"
	"  guard_percent INTEGER NOT NULL,"
	"  guard_max INTEGER,"
	"  stale_after_nights INTEGER NOT NULL,"
	"  max_export_age_hours INTEGER NOT NULL,"
	"  changed_by TEXT NOT NULL,"
	"  changed_at TEXT NOT NULL,"
	"  last_run TEXT NOT NULL);",
	"INSERT INTO property_history (property_id, latch_building, timezone, unit_sync,"
	"  exclude_status, grant_lead_days, revoke_grace_days, guard_percent, guard_max,"
	"  stale_after_nights, max_export_age_hours, changed_by, changed_at, last_run) "
	"SELECT property_id, latch_building, timezone, unit_sync, exclude_status, grant_lead_days,"
	"  revoke_grace_days, guard_percent, guard_max, stale_after_nights, max_export_age_hours,"
	"  'schema version 9', updated_at, " DB_LAST_RUN " FROM property ORDER BY property_id;",
	/* pms_unit_id NULL: the assignment was removed */
	"CREATE TABLE assignment_history ("
	"  id INTEGER PRIMARY KEY,"
	"  property_id TEXT NOT NULL,"
	"  pms_person_id TEXT NOT NULL,"
	"  latch_unit_id TEXT NOT NULL,"
	"  pms_unit_id TEXT,"
	"  latch_user_id TEXT,"
	"  run_id TEXT,"
	"  seq INTEGER,"
	"  assigned_at TEXT,"
	"  owner TEXT,"
	"  last_run TEXT NOT NULL);",
	"INSERT INTO assignment_history (property_id, pms_person_id, latch_unit_id, pms_unit_id,"
	"  latch_user_id, run_id, seq, assigned_at, owner, last_run) "
	"SELECT property_id, pms_person_id, latch_unit_id, pms_unit_id, latch_user_id, run_id, seq,"
	"  assigned_at, owner, " DB_LAST_RUN " FROM assignment"
	"  ORDER BY property_id, pms_person_id, latch_unit_id;",
	"CREATE TABLE person_user_history ("
	"  id INTEGER PRIMARY KEY,"
	"  property_id TEXT NOT NULL,"
	"  pms_person_id TEXT NOT NULL,"
	"  latch_user_id TEXT NOT NULL,"
	"  email TEXT,"
	"  phone TEXT,"
	"  updated_at TEXT NOT NULL,"
	"  last_run TEXT NOT NULL);",
	"INSERT INTO person_user_history (property_id, pms_person_id, latch_user_id, email, phone,"
	"  updated_at, last_run) "
	"SELECT property_id, pms_person_id, latch_user_id, email, phone, updated_at, " DB_LAST_RUN
	"  FROM person_user ORDER BY property_id, pms_person_id;",
	"CREATE TABLE snapshot_extraction ("
	"  id INTEGER PRIMARY KEY,"
	"  snapshot_id INTEGER NOT NULL REFERENCES snapshot ON DELETE CASCADE,"
	"  extract_order INTEGER NOT NULL,"
	"  extracted_at TEXT NOT NULL,"
	"  file_mtime TEXT,"
	"  last_run TEXT NOT NULL);",
	"CREATE INDEX snapshot_extraction_by_snapshot ON snapshot_extraction (snapshot_id, id);",
	"INSERT INTO snapshot_extraction (snapshot_id, extract_order, extracted_at, file_mtime,"
	"  last_run) SELECT snapshot_id, extract_order, extracted_at, file_mtime, " DB_LAST_RUN
	"  FROM snapshot ORDER BY snapshot_id;",
	/* the journal rows (of earlier runs) inflight when run RUN_ID was made */
	"CREATE TABLE run_inflight ("
	"  run_id TEXT NOT NULL,"
	"  journal_run_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  latch_user_id TEXT,"
	"  PRIMARY KEY (run_id, journal_run_id, seq));",
	/* the instant transform judged export ages and "today" at (lib/date) */
	"ALTER TABLE run ADD COLUMN clock_at TEXT;",
	/* the newest run when this one was approved */
	"ALTER TABLE run ADD COLUMN approved_last_run TEXT;",
	"CREATE TABLE replay_start (last_run TEXT NOT NULL);",
	"INSERT INTO replay_start (last_run) SELECT " DB_LAST_RUN ";",
	NULL,
};

/*
 * Notifications (issue 20): every digest delivered or tried, by e-mail or
 * webhook.  MESSAGE_ID is one per property per night (lib/notify), so that
 * a rerun of the night sends nothing twice; TARGET the recipients, or the
 * webhook's host with a digest of its URL (a webhook URL is often a
 * secret).  STATUS 'sent' or 'failed', with the last failure in DETAIL.
 */
static const char *const migration_10[] = {
	"CREATE TABLE notification ("
	"  message_id TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  run_id TEXT NOT NULL,"
	"  property_id TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL,"
	"  detail TEXT,"
	"  updated_at TEXT NOT NULL,"
	"  PRIMARY KEY (message_id, channel, target));",
	NULL,
};

/*
 * Latch users by e-mail (issue 18): transform finds the Latch user a
 * record's e-mail (any letter case) was matched to, for residents whose
 * PMS id has none, with one seek instead of keying every user of the
 * property in a temp table each night.
 */
static const char *const migration_11[] = {
	"CREATE INDEX person_user_by_email ON person_user (property_id, lower(email));",
	NULL,
};

/*
 * The history's person indexes by run first (issue 18): `unitsync explain`
 * asks for one person in one run at a time (run_id, property, person), and
 * a night's delta_history and run_exception rows, written in that order,
 * then land side by side at the end of each index.  Keyed by person first,
 * each night's row of a person went into the leaf holding that person's
 * year of rows: a page read and written per row (at 100k people after 365
 * runs, 6,600 exceptions and 1,400 delta rows a night; docs/PERFORMANCE.md).
 */
static const char *const migration_12[] = {
	"CREATE INDEX delta_history_by_run_person ON delta_history "
	"(run_id, property_id, pms_person_id);",
	"CREATE INDEX run_exception_by_run_person ON run_exception "
	"(run_id, property_id, pms_person_id);",
	"DROP INDEX delta_history_by_person;",
	"DROP INDEX run_exception_by_person;",
	NULL,
};

/*
 * Each property's assignments by Latch user (issue 18): transform's diff
 * reads the pairs unitsync holds in resident order, and a resident with a
 * Latch user is keyed by it, so this order is the diff's; covering, so the
 * pairs are read from the index alone (they were copied into a temp table
 * and indexed there every night: a tenth of transform's instructions).
 */
static const char *const migration_13[] = {
	"CREATE INDEX assignment_by_user ON assignment "
	"(property_id, latch_user_id, latch_unit_id, pms_person_id, pms_unit_id, owner);",
	NULL,
};

/*
 * The name of the person a Latch user was made or found for (rules_name_key():
 * letter case, blanks and word order aside), recorded by load with the
 * e-mail and phone: evidence of who the user is when a PMS person id later
 * gives another e-mail (transform's identity_changed: a reused id is another
 * person; the same name with a new e-mail is the same).  The users recorded
 * before get the name their person id last had in a staged export while
 * giving the user's e-mail (a reused id gives another); none (pruned, or a
 * phone-only user): NULL, unknown.  unitsync_name_key() is db_open()'s.
 */
static const char *const migration_14[] = {
	"ALTER TABLE person_user ADD COLUMN name_key TEXT;",
	"ALTER TABLE person_user_history ADD COLUMN name_key TEXT;",
	/* each id's newest name for each e-mail (max(): the bare columns are
	 * its row's) */
	"CREATE TEMP TABLE name_of AS SELECT property_id, pms_person_id, lower(email) AS email,"
	"  first_name, last_name, max(snapshot_id) FROM stg_person"
	"  WHERE email IS NOT NULL AND email <> ''"
	"  GROUP BY property_id, pms_person_id, lower(email);",
	"CREATE INDEX temp.name_of_key ON name_of (property_id, pms_person_id, email);",
	"UPDATE person_user SET name_key = nullif((SELECT unitsync_name_key(n.first_name,"
	"  n.last_name) FROM temp.name_of n WHERE n.property_id = person_user.property_id"
	"  AND n.pms_person_id = person_user.pms_person_id"
	"  AND n.email = lower(person_user.email)), '');",
	"DROP TABLE temp.name_of;",
	NULL,
};

/*
 * Migration 15: who a Latch user was recorded for, whenever (issue 15; a
 * new user's trial, nu8): load refuses a user found by a newcomer's
 * e-mail or phone that was recorded for a person of another name
 * (ledger_user_holder()), also when that person's id has since been given
 * to someone else, whose user replaced theirs in person_user: the
 * history keeps them.  Indexes by user for that check, which scanned
 * person_user; the history's rows from before migration 14 get the name
 * key their person_user row was given then.
 */
static const char *const migration_15[] = {
	"CREATE INDEX IF NOT EXISTS person_user_by_user ON person_user (latch_user_id);",
	"CREATE INDEX IF NOT EXISTS person_user_history_by_user ON person_user_history (latch_user_id);",
	"UPDATE person_user_history SET name_key = (SELECT u.name_key FROM person_user u"
	"  WHERE u.property_id = person_user_history.property_id"
	"  AND u.pms_person_id = person_user_history.pms_person_id"
	"  AND u.latch_user_id = person_user_history.latch_user_id)"
	"  WHERE name_key IS NULL;",
	NULL,
};

/*
 * Migration 16: the applied pairs keyed by their Latch user as well
 * (Latch applies (unit, user) pairs).  One pair a (property, PMS person
 * id, Latch unit) made a reused id's newcomer gaining a unit the former
 * resident still held under the id replace the former one's pair: a
 * removal that failed that night then left the former tenant a key no
 * later night saw (reviewers rv7 w3, rv8).  The history's rows up to
 * assignment_legacy.max_history_id were written under the old key: a
 * later row of the same person and unit, whatever its user, replaced them
 * (cli/replay.c).
 */
static const char *const migration_16[] = {
	"CREATE TABLE assignment_v16 ("
	"  property_id TEXT NOT NULL,"
	"  pms_person_id TEXT NOT NULL,"
	"  latch_unit_id TEXT NOT NULL,"
	"  pms_unit_id TEXT NOT NULL,"
	"  latch_user_id TEXT NOT NULL,"
	"  run_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  assigned_at TEXT NOT NULL,"
	"  owner TEXT NOT NULL DEFAULT 'unitsync',"
	"  PRIMARY KEY (property_id, pms_person_id, latch_unit_id, latch_user_id));",
	"INSERT INTO assignment_v16 (property_id, pms_person_id, latch_unit_id, pms_unit_id,"
	"  latch_user_id, run_id, seq, assigned_at, owner) "
	"SELECT property_id, pms_person_id, latch_unit_id, pms_unit_id, latch_user_id, run_id, seq,"
	"  assigned_at, owner FROM assignment;",
	"DROP TABLE assignment;",
	"ALTER TABLE assignment_v16 RENAME TO assignment;",
	"CREATE INDEX assignment_by_user ON assignment "
	"(property_id, latch_user_id, latch_unit_id, pms_person_id, pms_unit_id, owner);",
	"CREATE INDEX IF NOT EXISTS assignment_history_by_pair ON assignment_history "
	"(property_id, pms_person_id, latch_unit_id, id);",
	"CREATE TABLE IF NOT EXISTS assignment_legacy (max_history_id INTEGER NOT NULL);",
	"INSERT INTO assignment_legacy (max_history_id) SELECT coalesce(max(id), 0) "
	"FROM assignment_history;",
	NULL,
};

/*
 * Migration 17: the pairs the older key lost, recorded again.  Under one
 * pair a (property, person id, Latch unit), a newcomer's ASSIGN on a
 * reused id replaced the former resident's pair, which no removal had
 * ended: Latch kept that key and no night saw it (reviewer rv9's upk5).
 * Each such pair, as its last row in assignment_history left it, comes
 * back (no later row of its user, and no removal, only other users' pairs
 * over it); the next run removes it if nobody wants it.  A history row
 * records it, so that replay sees it from here on.
 */
static const char *const migration_17[] = {
	"CREATE TEMP TABLE lost AS SELECT x.* FROM assignment_history x"
	"  WHERE x.pms_unit_id IS NOT NULL AND x.latch_user_id IS NOT NULL"
	"  AND x.id <= (SELECT max(max_history_id) FROM assignment_legacy)"
	"  AND NOT EXISTS (SELECT 1 FROM assignment_history r"
	"    WHERE r.property_id = x.property_id AND r.pms_person_id = x.pms_person_id"
	"    AND r.latch_unit_id = x.latch_unit_id AND r.id > x.id"
	"    AND (r.latch_user_id IS x.latch_user_id"
	/* a removal of no user ended the pair recorded just before it: the
	 * other user's, when it had replaced this one (rv10's mg) */
	"    OR (r.pms_unit_id IS NULL AND r.latch_user_id IS NULL"
	"    AND (SELECT b.latch_user_id FROM assignment_history b"
	"      WHERE b.property_id = r.property_id AND b.pms_person_id = r.pms_person_id"
	"      AND b.latch_unit_id = r.latch_unit_id AND b.id < r.id"
	"      ORDER BY b.id DESC LIMIT 1) IS x.latch_user_id)))"
	"  AND NOT EXISTS (SELECT 1 FROM assignment a WHERE a.property_id = x.property_id"
	"    AND a.pms_person_id = x.pms_person_id AND a.latch_unit_id = x.latch_unit_id"
	"    AND a.latch_user_id = x.latch_user_id);",
	"INSERT INTO assignment (property_id, pms_person_id, latch_unit_id, pms_unit_id,"
	"  latch_user_id, run_id, seq, assigned_at, owner)"
	"  SELECT property_id, pms_person_id, latch_unit_id, pms_unit_id, latch_user_id, run_id,"
	"  seq, assigned_at, owner FROM temp.lost;",
	"INSERT INTO assignment_history (property_id, pms_person_id, latch_unit_id, pms_unit_id,"
	"  latch_user_id, run_id, seq, assigned_at, owner, last_run)"
	"  SELECT property_id, pms_person_id, latch_unit_id, pms_unit_id, latch_user_id, run_id,"
	"  seq, assigned_at, owner, " DB_LAST_RUN " FROM temp.lost ORDER BY id;",
	"DROP TABLE temp.lost;",
	NULL,
};

/*
 * The version of each snapshot's rows digest (lib/rowsdigest.h): NULL,
 * version 1, for the snapshots staged before this migration; 2 for those
 * since, whose person and unit rows are hashed as they are staged
 * (issue 18).  Both versions verify.
 */
static const char *const migration_18[] = {
	"ALTER TABLE snapshot ADD COLUMN rows_digest_version INTEGER;",
	NULL,
};

/*
 * The PMS property code an XML export's rows named (NULL: a CSV export, or
 * staged before): a file of another PMS property staged with --property P
 * is refused (review rv16 #2; lib/stg.h, pms_property).
 */
static const char *const migration_19[] = {
	"ALTER TABLE snapshot ADD COLUMN pms_property TEXT;",
	NULL,
};

/*
 * The rejected rows of a snapshot that named a person, found by the person:
 * transform's older-export check asks, for each resident the last accepted
 * export had and tonight's lacks, whether a rejected row of tonight's named
 * them (a scan of every snapshot's rejects each: review rv19 #7).
 */
static const char *const migration_20[] = {
	"CREATE INDEX stg_reject_of_person ON stg_reject (snapshot_id, property_id, "
	"pms_person_id) WHERE pms_person_id IS NOT NULL;",
	NULL,
};

/*
 * The journal rows still open (pending or inflight), found by run: `runs
 * list --unfinished`, which nightly.sh waits for before anything else,
 * read every journal row of each run it looked at to count them (a night
 * 0 of 100k units has 324k rows: 0.15-0.2 s of every night; issue 18).
 */
static const char *const migration_21[] = {
	"CREATE INDEX journal_open ON journal (run_id, seq) "
	"WHERE state IN ('pending', 'inflight');",
	NULL,
};

/* Each migration: statements run in one transaction, NULL-terminated. */
static const char *const *const migrations[] = {
	migration_1,  migration_2,  migration_3,  migration_4,  migration_5,  migration_6,
	migration_7,  migration_8,  migration_9,  migration_10, migration_11, migration_12,
	migration_13, migration_14, migration_15, migration_16, migration_17, migration_18,
	migration_19, migration_20, migration_21
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The database db_open() last opened (named by the corruption message). */
static char opened_path[4096];

/* The schema version db_open() last found in a file, before migrating it. */
static int found_version;

int db_found_version(void)
{
	return found_version;
}
/* The result code of the last db_open() that failed. */
static int open_rc;
/*
 * The last error SQLite logged (SQLITE_CONFIG_LOG) or db_exec() met, for
 * db_exit_code(): a COMMIT that fails on a full disk is not logged, and
 * finalizing another statement afterwards resets sqlite3_errcode().  Per
 * thread: SQLite logs on the thread that met the error (transform verifies
 * its inputs on a second connection and thread).
 */
static _Thread_local int logged_rc;

/*
 * SQLite's error log: every error SQLite meets, including the corruption
 * a read loop would otherwise take for the end of a table.  Corruption
 * ends the process here, before the caller can act on what it read.
 */
static void on_sqlite_log(void *ctx, int code, const char *msg)
{
	int primary = code & 0xff;

	(void)ctx;
	if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
		log_error("state database '%s' is corrupt or not a database (%s): stop using it "
			  "and restore from backup",
			  opened_path, msg);
		_exit(US_EXIT_CORRUPT);
	}
	if (primary != SQLITE_OK && primary != SQLITE_NOTICE && primary != SQLITE_WARNING &&
	    primary != SQLITE_SCHEMA)
		logged_rc = code;
}

int db_exit_code(sqlite3 *db)
{
	int rc = db ? sqlite3_extended_errcode(db) : open_rc;

	if ((rc & 0xff) == SQLITE_OK || (rc & 0xff) == SQLITE_ROW || (rc & 0xff) == SQLITE_DONE)
		rc = logged_rc;
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
		return US_EXIT_TEMPFAIL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return US_EXIT_CORRUPT;
	default:
		return US_EXIT_CONFIG;
	}
}

int db_busy_timeout_ms(void)
{
	const char *v = getenv("UNITSYNC_BUSY_TIMEOUT_MS");
	int ms;

	if (v && cli_parse_uint(v, &ms) == 0 && ms >= 1 && ms <= 600000)
		return ms;
	return 10000;
}

/* How long the busy handler waits now (db_checkpoint() lowers it for a
 * while), and the stop flag of db_busy_stop_on(), NULL for none. */
static int busy_limit_ms = -1;
static volatile sig_atomic_t *busy_stop;

/* The busy handler of every connection: wait in 20 ms steps up to
 * busy_limit_ms, or less once *busy_stop is set (a signal). */
static int on_busy(void *ctx, int count)
{
	(void)ctx;
	if ((busy_stop && *busy_stop) || count * 20 >= busy_limit_ms)
		return 0;
	sqlite3_sleep(20);
	return !(busy_stop && *busy_stop);
}

void db_busy_stop_on(sqlite3 *db, volatile sig_atomic_t *stop)
{
	(void)db;
	busy_stop = stop;
}

void db_checkpoint(sqlite3 *db)
{
	int limit = busy_limit_ms;

	if (!db)
		return;
	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	/* TRUNCATE waits for readers: a second at most, then the passive one stands */
	busy_limit_ms = limit < 1000 ? limit : 1000;
	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	busy_limit_ms = limit;
}

/* DB's WAL hook while a checkpointer watches it: after each commit, with
 * PAGES the frames in the WAL (db.h: db_checkpointer_start()). */
static int on_wal(void *ctx, sqlite3 *db, const char *name, int pages)
{
	struct db_checkpointer *c = ctx;

	if (pages >= DB_WAL_MAX_PAGES) {
		/* the thread cannot get the WAL started over: this commit does,
		 * once the thread's checkpoint (which would refuse this one) ends */
		pthread_mutex_lock(&c->mu);
		c->hold = 1;
		while (c->busy)
			pthread_cond_wait(&c->cv, &c->mu);
		pthread_mutex_unlock(&c->mu);
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
		c->hold = 0;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		return SQLITE_OK;
	}
	if (pages < c->mark - DB_CHECKPOINT_PAGES)
		c->mark = DB_CHECKPOINT_PAGES; /* the WAL started over */
	if (pages >= c->mark) {
		c->mark = pages + DB_CHECKPOINT_PAGES;
		pthread_mutex_lock(&c->mu);
		c->due = 1;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

static void *checkpointer_run(void *arg)
{
	struct db_checkpointer *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while ((!c->due || c->hold) && !c->quit)
			pthread_cond_wait(&c->cv, &c->mu);
		if (!c->due || c->hold)
			break;
		c->due = 0;
		c->busy = 1;
		pthread_mutex_unlock(&c->mu);
		sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		c->checkpoints++;
		pthread_mutex_lock(&c->mu);
		c->busy = 0;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int db_checkpointer_start(struct db_checkpointer *c, sqlite3 *db, const char *path)
{
	memset(c, 0, sizeof(*c));
	if (!sqlite3_threadsafe()) {
		err_set("SQLite is built without threads: checkpoints stay in the commits");
		return -1;
	}
	if (db_open(path, 0, &c->db) < 0)
		return -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, checkpointer_run, c) != 0) {
		err_set("cannot start the checkpoint thread");
		db_checkpointer_stop(c);
		return -1;
	}
	c->running = 1;
	c->writer = db;
	c->mark = DB_CHECKPOINT_PAGES;
	/* replaces the automatic checkpoint, itself a WAL hook */
	sqlite3_wal_hook(db, on_wal, c);
	return 0;
}

long db_checkpointer_stop(struct db_checkpointer *c)
{
	long n;

	if (c->writer)
		sqlite3_wal_autocheckpoint(c->writer, DB_CHECKPOINT_PAGES);
	if (c->running) {
		pthread_mutex_lock(&c->mu);
		c->quit = 1;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	if (c->db) {
		sqlite3_close(c->db);
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
	}
	n = c->checkpoints;
	memset(c, 0, sizeof(*c));
	return n;
}

int db_begin(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;

	while ((st = sqlite3_next_stmt(db, st)))
		if (sqlite3_stmt_busy(st)) {
			err_set("database: internal error: a write transaction begun while a "
				"statement still reads (%.80s)",
				sqlite3_sql(st));
			return -1;
		}
	return db_exec(db, "BEGIN IMMEDIATE");
}

int db_commit(sqlite3 *db)
{
	return db_exec(db, "COMMIT");
}

void db_rollback(sqlite3 *db)
{
	if (db && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int db_quick_check(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	long problems = 0;
	int step, rc = -1;
	char first[512] = "";

	if (db_prepare(db, "PRAGMA quick_check", &st) < 0)
		return -1;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = db_col_text(st, 0);

		if (!strcmp(line, "ok"))
			continue;
		if (!problems++)
			snprintf(first, sizeof(first), "%s", line);
	}
	if (step != SQLITE_DONE) {
		err_set("quick_check: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = problems > 0;
	if (rc)
		err_set("quick_check found %ld problem%s, the first: %s", problems,
			problems == 1 ? "" : "s", first);
out:
	sqlite3_finalize(st);
	return rc;
}

int db_file_kind(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	struct stat sb;
	ssize_t got;
	int fd;

	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			return DB_FILE_MISSING;
		err_set("cannot stat '%s': %s", path, strerror(errno));
		return -1;
	}
	if (sb.st_size == 0)
		return DB_FILE_EMPTY;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	got = read(fd, head, sizeof(head));
	close(fd);
	return got == (ssize_t)sizeof(head) && !memcmp(head, magic, sizeof(head)) ? DB_FILE_SQLITE
										  : DB_FILE_OTHER;
}

int db_schema_version(void)
{
	return N_MIGRATIONS;
}

void db_now(char *buf, unsigned long size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Is DB's last error a lock another process held past the busy timeout? */
static int locked(sqlite3 *db)
{
	int rc = sqlite3_extended_errcode(db) & 0xff;

	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

int db_error(sqlite3 *db, const char *what)
{
	const char *file = sqlite3_db_filename(db, "main");

	if (locked(db))
		err_set("database: %s%s'%s' is locked by another process (%s): retry after the "
			"other unitsync process finishes",
			what ? what : "", what ? ": " : "", file && *file ? file : opened_path,
			sqlite3_errmsg(db));
	else
		err_set("database: %s%s%s", what ? what : "", what ? ": " : "", sqlite3_errmsg(db));
	return -1;
}

int db_exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		logged_rc = sqlite3_extended_errcode(db);
		return db_error(db, NULL);
	}
	return 0;
}

int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK) {
		*out = NULL;
		return db_error(db, NULL);
	}
	return 0;
}

int db_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s)
{
	if (!s || !*s)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

int db_row(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_error(sqlite3_db_handle(st), NULL);
}

const char *db_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? (const char *)s : "";
}

int db_copy(sqlite3 *db, const char *file)
{
	sqlite3_stmt *st = NULL;
	mode_t old;
	int step, rc = -1;

	if (access(file, F_OK) == 0) {
		err_set("'%s' exists; choose a new file", file);
		return -1;
	}
	if (db_prepare(db, "VACUUM INTO ?", &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
	old = umask(077);
	step = sqlite3_step(st);
	umask(old);
	if (step != SQLITE_DONE) {
		err_set("cannot write '%s': %s", file, sqlite3_errmsg(db));
		goto out;
	}
	if (chmod(file, 0600) < 0) {
		err_set("cannot make '%s' private: %s", file, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc < 0)
		unlink(file);
	return rc;
}

/* The version recorded in the database, 0 for a new file. */
static int read_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	*version = 0;
	if (db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)") < 0)
		goto out;
	if (db_prepare(db, "SELECT max(version) FROM schema_version", &st) < 0)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* unitsync_name_key(FIRST, LAST): rules_name_key() (migration 14, transform). */
static void sql_name_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *first = (const char *)sqlite3_value_text(argv[0]);
	const char *last = (const char *)sqlite3_value_text(argv[1]);
	char *key = rules_name_key_new(first, last);

	(void)argc;
	if (!key) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_result_text(ctx, key, -1, free);
}

/*
 * unitsync_frame(V1, V2, ...): the values as one blob, each as its type
 * ('n' NULL, 'i' INTEGER, 'r' REAL, 't' TEXT, 'b' BLOB), its length in
 * bytes (8 bytes, big-endian) and its text (a BLOB's bytes): NULL and ''
 * differ, a TEXT and a BLOB of the same bytes differ, and no separator
 * is ambiguous.  lib/rowsdigest's row digests read a row as one column
 * of this: a column read through the API costs three calls, a fifth of a
 * digest's time each (issue 18, docs/PERFORMANCE.md).  Staging writes
 * NULL, INTEGER and TEXT only: a REAL or a BLOB in a staged table was
 * written behind unitsync's back (reviewer rv11: a BLOB was read as 't'
 * and its change went unseen).
 */
static const char frame_type[] = {
	[SQLITE_INTEGER] = 'i', [SQLITE_FLOAT] = 'r', [SQLITE_TEXT] = 't',
	[SQLITE_BLOB] = 'b',    [SQLITE_NULL] = 'n',
};

unsigned char *db_frame_put(unsigned char *at, char type, const void *text, size_t len)
{
	*at++ = (unsigned char)type;
	for (int b = 0; b < 8; b++)
		*at++ = (unsigned char)((unsigned long long)len >> (56 - 8 * b));
	if (len)
		memcpy(at, text, len);
	return at + len;
}

static void sql_frame(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *text[32];
	size_t len[32], total = 0;
	int type[32];
	unsigned char *blob, *at;

	if (argc > 32) {
		sqlite3_result_error(ctx, "unitsync_frame(): more than 32 values", -1);
		return;
	}
	for (int i = 0; i < argc; i++) {
		/* the type before any conversion; the text, then its length */
		type[i] = sqlite3_value_type(argv[i]);
		text[i] = type[i] == SQLITE_NULL ? NULL : sqlite3_value_text(argv[i]);
		len[i] = text[i] ? (size_t)sqlite3_value_bytes(argv[i]) : 0;
		total += 9 + len[i];
	}
	blob = sqlite3_malloc64(total ? total : 1);
	if (!blob) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	at = blob;
	for (int i = 0; i < argc; i++)
		at = db_frame_put(at, frame_type[type[i]], text[i], len[i]);
	sqlite3_result_blob64(ctx, blob, total, sqlite3_free);
}

/* Apply the migrations past VERSION, each in its own transaction. */
static int migrate(sqlite3 *db, int version)
{
	for (int v = version; v < N_MIGRATIONS; v++) {
		sqlite3_stmt *st = NULL;

		if (db_begin(db) < 0)
			return -1;
		int failed = 0;

		for (const char *const *sql = migrations[v]; *sql && !failed; sql++)
			failed = db_exec(db, *sql) < 0;
		if (failed ||
		    db_prepare(db, "INSERT INTO schema_version (version) VALUES (?)", &st) < 0) {
			err_prefix("migrating to schema version %d", v + 1);
			db_rollback(db);
			return -1;
		}
		sqlite3_bind_int(st, 1, v + 1);
		if (sqlite3_step(st) != SQLITE_DONE) {
			err_set("migrating to schema version %d: %s", v + 1, sqlite3_errmsg(db));
			sqlite3_finalize(st);
			db_rollback(db);
			return -1;
		}
		sqlite3_finalize(st);
		if (db_commit(db) < 0)
			return -1;
	}
	return 0;
}

int db_open(const char *path, int create, sqlite3 **out)
{
	sqlite3 *db = NULL;
	struct stat sb;
	int version;
	int rc = -1;

	*out = NULL;
	open_rc = 0;
	if (!opened_path[0]) { /* before SQLite initialises: its configuration comes first */
		sqlite3_config(SQLITE_CONFIG_LOG, on_sqlite_log, NULL);
		/* no program reads SQLite's memory statistics (nor sets a soft heap
		 * limit, which needs them), and keeping them takes a global mutex on
		 * every allocation: ~2% of extract-xml once it has a parser thread */
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	}
	snprintf(opened_path, sizeof(opened_path), "%s", path);
	/*
	 * An empty file would take the schema of the first command run on it.
	 * Told by stat(), never by opening the file: closing a descriptor of a
	 * database file drops every POSIX lock this process holds on it, those
	 * of a connection already open included (a second connection: load's
	 * checkpointer, transform's verifier), and another process then takes
	 * itself for the last user and deletes the WAL under it: a corrupt
	 * database (SQLite, "How To Corrupt An SQLite Database File" §2.2).
	 */
	if (!create && stat(path, &sb) == 0 && sb.st_size == 0) {
		err_set("state database '%s' is empty (0 bytes): restore it from backup, or "
			"'unitsync init --force' to start anew",
			path);
		open_rc = SQLITE_CANTOPEN;
		goto out;
	}
	if (access(path, F_OK) != 0) {
		int fd;

		if (!create) {
			/* the path named, wherever it came from (--db, UNITSYNC_DB):
			 * a bare 'unitsync init' may make another file (nu8) */
			err_set("no state database at '%s' (run 'unitsync --db %s init' first)",
				path, path);
			open_rc = SQLITE_CANTOPEN;
			goto out;
		}
		/* create it ourselves so that it is 0600 from the first byte */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0) {
			err_set("cannot create '%s': %s", path, strerror(errno));
			open_rc = errno == ENOSPC || errno == EDQUOT ? SQLITE_FULL
				  : errno == EIO                     ? SQLITE_IOERR
								     : SQLITE_CANTOPEN;
			goto out;
		}
		close(fd);
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		err_set("cannot open '%s': %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (sqlite3_create_function(db, "unitsync_name_key", 2,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
				    sql_name_key, NULL, NULL) != SQLITE_OK) {
		db_error(db, "registering unitsync_name_key()");
		goto out;
	}
	if (sqlite3_create_function(db, "unitsync_frame", -1,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
				    sql_frame, NULL, NULL) != SQLITE_OK) {
		db_error(db, "registering unitsync_frame()");
		goto out;
	}
	if (busy_limit_ms < 0)
		busy_limit_ms = db_busy_timeout_ms();
	sqlite3_busy_handler(db, on_busy, NULL);
	if (db_exec(db,
		    "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL") <
	    0)
		goto out_prefix;
	if (read_version(db, &version) < 0)
		goto out_prefix;
	found_version = version;
	if (version > N_MIGRATIONS) {
		err_set("'%s' has schema version %d, newer than this unitsync (%d): use the unitsync "
			"that wrote it, or restore a backup made by this one",
			path, version, N_MIGRATIONS);
		goto out;
	}
	if (version < N_MIGRATIONS) {
		if (!create) {
			err_set("'%s' has schema version %d, this unitsync needs %d (run 'unitsync init' to migrate)",
				path, version, N_MIGRATIONS);
			goto out;
		}
		if (migrate(db, version) < 0)
			goto out_prefix;
	}
	*out = db;
	db = NULL;
	rc = 0;
	goto out;
out_prefix:
	if (!locked(db)) /* that message names the file already */
		err_prefix("'%s'", path);
out:
	if (rc < 0 && !open_rc)
		open_rc = db && sqlite3_extended_errcode(db) ? sqlite3_extended_errcode(db)
							     : SQLITE_ERROR;
	sqlite3_close(db);
	return rc;
}

void db_close(sqlite3 *db)
{
	sqlite3_close(db);
}
