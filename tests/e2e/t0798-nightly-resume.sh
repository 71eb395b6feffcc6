#!/usr/bin/env bash
# t0798-nightly-resume: a real night first loads to the end the run an
# earlier night left unfinished (the API down: rows inflight), then makes
# tonight's run; the list of unfinished runs is read beside the state
# database's quick_check, and a failed check stops the night before
# anything of that list is loaded; with nothing left unfinished, the check
# runs beside the extract and a failed one stops the night before anything
# is decided or sent.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || test_skip_all "sqlite3 is not installed"
test_plan 5

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in $(seq 6); do echo "b1,L$u,Unit $u"; done
} >seed.csv && test_init_db p1 &&
	for u in $(seq 6); do unitsync map add --offline --property p1 "$u" "L$u" >/dev/null || exit 1; done &&
	{
		echo $H
		for i in $(seq 6); do
			echo "p1,$i,R$i,H$i,primary,current,F$i,L$i,r$i@example.com,,2024-01-01,"
		done
	} >tonight.csv &&
	printf "[property \"p1\"]\nsource = tonight.csv\n" >nightly.ini) || exit 1
sim_start "$tmp/seed.csv" || exit 1
faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
requests() { curl -sf "$SIM_URL/_sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
residents() { curl -sf "$SIM_URL/_sim/state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["residents"]))'; }
open_rows() { sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM journal WHERE run_id = '$1' AND state IN ('pending', 'inflight')"; }
nightly() { "$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs --as-of 2026-06-01 "$@"; }

test_expect_success 'night 1 with every PUT unanswered: exit 75, its rows left inflight' '
	faults "{\"drop_rate\":1,\"methods\":\"PUT\"}" &&
	test_expect_code 75 nightly >n1.out 2>n1.err &&
	sed -n "s/^run directory: //p" n1.out >n1.run && test -s n1.run &&
	test "$(open_rows "$(basename "$(cat n1.run)")")" -gt 0 &&
	test "$(unitsync runs list --unfinished)" = "$(cat n1.run)"
'

test_expect_success 'a corrupt state database stops night 2 before the unfinished run is loaded' '
	faults "{\"drop_rate\":0}" &&
	cp "$UNITSYNC_DB" good.db && sent=$(requests) &&
	sqlite3 "$UNITSYNC_DB" "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET rootpage = 99999 WHERE name = '\''journal'\''" &&
	test_expect_code 74 nightly >n2.out 2>n2.err &&
	grep "quick_check of the state database" n2.err &&
	! grep -q "finishing an earlier run" n2.err &&
	test "$(requests)" = "$sent" &&
	rm -f "$UNITSYNC_DB-wal" "$UNITSYNC_DB-shm" && cp good.db "$UNITSYNC_DB"
'

test_expect_success 'night 3 finishes night 1 first, then runs tonight (nothing left to do)' '
	nightly >n3.out 2>n3.err &&
	grep "finishing an earlier run first: $(cat n1.run)" n3.err &&
	test "$(open_rows "$(basename "$(cat n1.run)")")" = 0 &&
	test "$(residents)" = 6 &&
	test -z "$(unitsync runs list --unfinished)" &&
	run=$(sed -n "s/^run directory: //p" n3.out) && test -n "$run" && test "$run" != "$(cat n1.run)"
'

# a page no table or free list holds: reads and writes go on, quick_check
# says "Page N is never used"
orphan_page() {
	sqlite3 "$1" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null &&
		python3 - "$1" <<-'EOF'
			import struct, sys
			b = bytearray(open(sys.argv[1], "rb").read())
			size = struct.unpack(">H", b[16:18])[0]
			size = 65536 if size == 1 else size
			b[28:32] = struct.pack(">I", struct.unpack(">I", b[28:32])[0] + 1)
			open(sys.argv[1], "wb").write(bytes(b) + bytes(size))
		EOF
}

test_expect_success 'a corrupt state database found while tonight is extracted: 74, nothing decided or sent' '
	cp "$UNITSYNC_DB" good.db && sent=$(requests) && runs_before=$(ls runs | wc -l) &&
	orphan_page "$UNITSYNC_DB" &&
	unitsync config check --offline >/dev/null &&
	test_expect_code 74 nightly >n4.out 2>n4.err &&
	grep "quick_check of the state database .* nothing decided or sent tonight" n4.err &&
	! grep "^run directory:" n4.out && test "$(ls runs | wc -l)" = "$runs_before" &&
	test "$(requests)" = "$sent" &&
	rm -f "$UNITSYNC_DB-wal" "$UNITSYNC_DB-shm" && cp good.db "$UNITSYNC_DB"
'

# after an upgrade, before 'unitsync init': the check's 78 is a database
# this build cannot open, not a damaged one (new user nu15 L2)
test_expect_success 'a state database at an older schema version: 78, told to migrate, not corrupt' '
	cp "$UNITSYNC_DB" good.db && sent=$(requests) &&
	sqlite3 "$UNITSYNC_DB" "DROP INDEX journal_open;
		DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)" &&
	test_expect_code 78 nightly >n5.out 2>n5.err &&
	grep "cannot be used by this unitsync (exit 78: see above; after an upgrade, run .unitsync init. to migrate it); nothing decided or sent tonight" n5.err &&
	! grep "quick_check" n5.err &&
	test "$(requests)" = "$sent" &&
	unitsync init >/dev/null && nightly >n6.out 2>n6.err &&
	rm -f "$UNITSYNC_DB-wal" "$UNITSYNC_DB-shm" && cp good.db "$UNITSYNC_DB"
'
