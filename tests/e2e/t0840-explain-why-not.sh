#!/usr/bin/env bash
# t0840-explain-why-not: every run stores its exceptions.csv rows and each
# property's safety guard verdict (run_exception, run_input.guard), and
# `unitsync explain` tells, night by night, what happened to a person and
# why, the nights they got nothing included: held (duplicate e-mail),
# unmapped unit, not in the export, the guard holding the property, no
# change.  A database made before migration 7 is migrated by init, and
# explain says its runs' exceptions were not recorded (issue 19).  A
# property no run read: said so (0); one the database does not have (a
# typo): 65 naming it; so is a person id nothing in the database names,
# with where explain looked and which property has the id.
. "$(dirname "$0")/lib.sh"
test_plan 13

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
row() { # row UNIT PERSON [EMAIL]
	echo "oak,$1,$2,H$2,primary,current,F$2,L$2,${3:-$2@example.com},,2024-01-01,"
}
night() { # night FILE: extract FILE, transform, load; run dir appended to runs.list
	unitsync extract-csv "$1" >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out runs >t.out &&
	tail -n 1 t.out >>runs.list &&
	{ unitsync load "$(tail -n 1 t.out)" >load.out || [ $? = 4 ]; }
}
# explain_of PERSON [DB]: explain's output without run ids and source details
explain_of() {
	unitsync --db "${2:-$UNITSYNC_DB}" explain --property oak --person "$1" |
		sed -e 's/^run [^,]*, as of/run, as of/' -e '/^    from snapshot/d'
}

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in 1 2 3 4 5 6; do echo "b-oak,L$u,Unit $u"; done
} >seed.csv && unitsync init >/dev/null &&
	unitsync property add oak --guard-percent 100 >/dev/null &&
	for u in 1 2 3 4 5; do unitsync map add --offline --property oak $u L$u >/dev/null || exit 1; done) ||
	exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'night 1: P2 shares an e-mail with P3 (both held), P4 lives in unmapped unit 6' '
	{ echo $H; row 1 P1; row 2 P2 same@example.com; row 3 P3 same@example.com; row 6 P4; } >n1.csv &&
	night n1.csv &&
	grep "^duplicate_email,oak,2,P2," "$(tail -n 1 runs.list)/exceptions.csv" &&
	grep "^unmapped_unit,oak,6,P4," "$(tail -n 1 runs.list)/exceptions.csv"
'

test_expect_success 'night 2: P2 fixed, unit 6 mapped, P5 moves in: they get access' '
	unitsync map add --offline --property oak 6 L6 >/dev/null &&
	{ echo $H; row 1 P1; row 2 P2; row 3 P3 same@example.com; row 6 P4; row 5 P5; } >n2.csv &&
	night n2.csv &&
	grep "^[0-9]*,ASSIGN,oak,2,L2,P2," "$(tail -n 1 runs.list)/delta.csv" &&
	grep "^[0-9]*,ASSIGN,oak,6,L6,P4," "$(tail -n 1 runs.list)/delta.csv"
'

test_expect_success 'night 3: the same export; night 4: P1 and P5 leave, P6 moves into unmapped 7, the guard (max 1) holds oak' '
	night n2.csv &&
	unitsync property set oak --guard-max 1 >/dev/null &&
	{ echo $H; row 2 P2; row 3 P3 same@example.com; row 6 P4; row 7 P6; } >n4.csv &&
	night n4.csv &&
	grep "\"verdict\": \"held\"" "$(tail -n 1 runs.list)/manifest.json" &&
	test "$(wc -l <runs.list)" = 4
'

test_expect_success 'each run stores exactly its exceptions.csv rows, in order' '
	for run in $(cat runs.list); do
		id=$(basename "$run") &&
		python3 - "$UNITSYNC_DB" "$id" "$run/exceptions.csv" <<-\EOF || return 1
		import csv, sqlite3, sys
		db, run, path = sys.argv[1:]
		def cell(s):  # the spreadsheet neutralisation of lib/delta.c
		    return "'"'"'" + s if s and s[0] in "=+-@\t\r" else s
		rows = sqlite3.connect(db).execute(
		    "SELECT kind, property_id, pms_unit_id, pms_person_id, detail FROM run_exception"
		    " WHERE run_id = ? ORDER BY seq", (run,)).fetchall()
		want = list(csv.reader(open(path, newline="")))[1:]
		got = [[r[0]] + [cell(v) for v in r[1:]] for r in rows]
		if got != want:
		    sys.exit("%s: %r != %r" % (run, got, want))
		EOF
		true
	done &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM run_exception WHERE pms_person_id = '"'"'P2'"'"'")" = 1
'

test_expect_success 'explain P2: held for a shared e-mail, then access, then no change, then the guard' '
	explain_of P2 >actual &&
	cat >expect <<-\EOF &&
	run, as of 2026-06-01:
	  exception duplicate_email, unit 2: e-mail '"'"'same@example.com'"'"' is shared with oak/P3; each is held: no key given or taken for them tonight
	run, as of 2026-06-01:
	  USER_CREATE unit 2 (Latch -), reason move_in, row 1
	    load: done, HTTP 201
	  ASSIGN unit 2 (Latch L2), reason move_in, row 2
	    load: done, HTTP 201
	run, as of 2026-06-01:
	  unit 2, status current, move-in 2024-01-01, move-out -: eligible; no change (already given)
	run, as of 2026-06-01:
	  held by the safety guard: the property'"'"'s deltas not sent until approved (2 removals exceed guard-max 1); not approved
	  unit 2, status current, move-in 2024-01-01, move-out -: eligible; no change (already given)
	EOF
	test_cmp expect actual
'

test_expect_success 'explain P4 (unmapped unit, then mapped) and P5 (not in the export night 1)' '
	explain_of P4 | head -n 4 >actual &&
	cat >expect <<-\EOF &&
	run, as of 2026-06-01:
	  exception unmapped_unit, unit 6: unit '"'"'6'"'"' has no Latch unit mapped
	run, as of 2026-06-01:
	  USER_CREATE unit 6 (Latch -), reason mapping_added, row 5
	EOF
	test_cmp expect actual &&
	explain_of P5 | sed -n 2p >actual &&
	echo "  not in that night'"'"'s export" >expect &&
	test_cmp expect actual
'

test_expect_success 'explain P1: its removal on the held night, with the hold' '
	explain_of P1 >actual &&
	tail -n 3 actual >tail &&
	grep "^  UNASSIGN unit 1 (Latch L1), reason not_in_export" tail &&
	grep "^    load: not loaded" tail &&
	grep "^  held by the safety guard" tail &&
	test "$(grep -c "^run" actual)" = 4
'

test_expect_success 'snapshots export keeps the exceptions of the runs that read the snapshot only' '
	snap=$(sqlite3 "$UNITSYNC_DB" "SELECT min(snapshot_id) FROM snapshot") &&
	unitsync snapshots export "$snap" audit.db >/dev/null &&
	sqlite3 "$UNITSYNC_DB" "SELECT run_id, seq FROM run_exception WHERE run_id IN
		(SELECT run_id FROM run_input WHERE snapshot_id = $snap) ORDER BY 1, 2" >expect &&
	sqlite3 audit.db "SELECT run_id, seq FROM run_exception ORDER BY 1, 2" >actual &&
	test -s expect && test_cmp expect actual &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM run_exception")" -gt "$(wc -l <actual)"
'

test_expect_success 'a database of schema version 6 is refused, then migrated by init' '
	cp "$UNITSYNC_DB" v6.db &&
	sqlite3 v6.db "DROP TABLE run_exception; DROP TABLE snapshot_legacy; DROP TABLE notification; DROP INDEX person_user_by_email; ALTER TABLE run_input DROP COLUMN guard;
		DROP INDEX delta_history_by_run_person; DROP INDEX assignment_by_user;
		CREATE INDEX delta_history_by_person ON delta_history (property_id, pms_person_id);
		ALTER TABLE run_input DROP COLUMN guard_why; DROP TABLE property_history;
		DROP TABLE assignment_history; DROP TABLE person_user_history; DROP TABLE snapshot_extraction;
		DROP TABLE run_inflight; DROP TABLE replay_start; ALTER TABLE run DROP COLUMN clock_at;
		ALTER TABLE run DROP COLUMN approved_last_run;
		ALTER TABLE person_user DROP COLUMN name_key;
		ALTER TABLE snapshot DROP COLUMN rows_digest_version; ALTER TABLE snapshot DROP COLUMN pms_property;
		DROP INDEX stg_reject_of_person; DROP INDEX journal_open; UPDATE schema_version SET version = 6" &&
	test_expect_code 78 unitsync --db v6.db explain --property oak --person P2 2>err &&
	grep "schema version 6" err &&
	unitsync --db v6.db init >init.out &&
	# its snapshots were staged by this build: their digests are version 2
	sqlite3 v6.db "UPDATE snapshot SET rows_digest_version = 2" &&
	grep "schema version $(sqlite3 "$UNITSYNC_DB" "SELECT version FROM schema_version")" init.out &&
	test "$(sqlite3 v6.db "SELECT count(*) FROM run_exception")" = 0 &&
	sqlite3 v6.db "SELECT name FROM sqlite_master WHERE name = '"'"'run_exception_by_run_person'"'"'" |
		grep -x run_exception_by_run_person
'

test_expect_success 'explain on runs made before the migration: their exceptions were not recorded' '
	explain_of P2 v6.db >actual &&
	cat >expect <<-\EOF &&
	run, as of 2026-06-01:
	  exceptions and the safety guard'"'"'s verdict not recorded (run made before schema version 7); no delta
	run, as of 2026-06-01:
	  USER_CREATE unit 2 (Latch -), reason move_in, row 1
	    load: done, HTTP 201
	  ASSIGN unit 2 (Latch L2), reason move_in, row 2
	    load: done, HTTP 201
	  exceptions and the safety guard'"'"'s verdict not recorded (run made before schema version 7)
	run, as of 2026-06-01:
	  exceptions and the safety guard'"'"'s verdict not recorded (run made before schema version 7); no delta
	run, as of 2026-06-01:
	  exceptions and the safety guard'"'"'s verdict not recorded (run made before schema version 7); no delta
	EOF
	test_cmp expect actual
'

test_expect_success 'a run after the migration is explained in full again' '
	unitsync --db v6.db transform --as-of 2026-06-02 --out runs5 >t5.out &&
	explain_of P2 v6.db | tail -n 3 >actual &&
	cat >expect <<-\EOF &&
	run, as of 2026-06-02:
	  held by the safety guard: the property'"'"'s deltas not sent until approved (2 removals exceed guard-max 1); not approved
	  unit 2, status current, move-in 2024-01-01, move-out -: eligible; no change (already given)
	EOF
	test_cmp expect actual
'

test_expect_success 'a property no run read: said so (0); a property the database lacks: 65 naming it' '
	unitsync property add elm >/dev/null &&
	{ echo $H; echo "elm,1,E1,HE1,primary,current,F,L,e1@example.com,,2024-01-01,"; } >elm.csv &&
	unitsync extract-csv elm.csv >/dev/null &&
	unitsync explain --property elm --person E1 >e1.out 2>e1.err &&
	test "$(cat e1.out)" = "no run ever read property '"'"'elm'"'"'" && test_cmp /dev/null e1.err &&
	test_expect_code 65 unitsync explain --property oka --person P1 >e2.out 2>e2.err &&
	test_cmp /dev/null e2.out &&
	grep -F "unknown property '"'"'oka'"'"' (did you mean '"'"'oak'"'"'? a new property is added with '"'"'unitsync property add oka'"'"')" e2.err
'

test_expect_success 'a person id nothing names: 65 saying where it looked, and which property has the id' '
	test_expect_code 65 unitsync explain --property oak --person P9 >p9.out 2>p9.err &&
	test_cmp /dev/null p9.out &&
	grep -F "unknown person '"'"'P9'"'"' in property '"'"'oak'"'"': not in its 3 staged exports, its rejected rows, the deltas and exceptions of its 4 runs, nor its Latch users and assignments; no other property'"'"'s export has that id either" p9.err &&
	test_expect_code 65 unitsync explain --property elm --person P1 >p1.out 2>p1.err &&
	test_cmp /dev/null p1.out &&
	grep -F "unknown person '"'"'P1'"'"' in property '"'"'elm'"'"': not in its 1 staged export, " p1.err &&
	grep -F "the exports of these properties have that id: oak" p1.err &&
	mv runs runs.archived && unitsync snapshots prune --keep 1 --property oak >/dev/null &&
	test_expect_code 65 unitsync explain --property oak --person P9 2>p9.err &&
	grep -F "(2 exports its runs read are pruned: not looked in)" p9.err &&
	unitsync explain --property oak --person P4 >p4.out &&
	grep "unmapped_unit" p4.out
'
