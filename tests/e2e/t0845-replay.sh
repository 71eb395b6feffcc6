#!/usr/bin/env bash
# t0845-replay: what transform reads that changes after a run is kept as
# it stood (migration 9: property_history, assignment_history,
# person_user_history, snapshot_extraction, run_inflight, run.clock_at,
# run.approved_last_run), and `unitsync replay RUN_DIR` rebuilds every run
# of a three-night scenario (a loaded night; a mapping and a policy change,
# then a night the guard holds, approved and loaded; a night whose export
# is the same file extracted again) byte for byte; a hand-edited delta.csv
# is a difference (exit 1, a unified diff), a pruned snapshot makes a run
# unreplayable (65, named by prune and by replay) (issue 19).
. "$(dirname "$0")/lib.sh"
test_plan 10

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
row() { # row UNIT PERSON
	echo "oak,$1,$2,H$2,primary,current,F$2,L$2,$2@example.com,,2024-01-01,"
}
night() { # night NOW FILE [transform options]: extract, transform (3: stale) and load at NOW
	now=$1 file=$2 &&
	shift 2 &&
	UNITSYNC_NOW=$now unitsync extract-csv "$file" >/dev/null &&
	{ UNITSYNC_NOW=$now unitsync transform --out runs "$@" >t.out || [ $? = 3 ]; } &&
	tail -n 1 t.out >>runs.list &&
	{ unitsync load "$(tail -n 1 t.out)" >load.out || [ $? = 4 ]; }
}
q() { sqlite3 "$UNITSYNC_DB" "$@"; }

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in 1 2 3 4 5 6 7; do echo "b-oak,L$u,Unit $u"; done
} >seed.csv && test_init_db oak &&
	for u in 1 2 3 4; do unitsync map add --offline --property oak $u L$u >/dev/null || exit 1; done) ||
	exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'property add and set keep each version of the policy, with who and the newest run' '
	USER=alice unitsync property set oak --guard-max 9 >/dev/null &&
	q "SELECT guard_max, changed_by, last_run FROM property_history WHERE property_id = '"'"'oak'"'"' ORDER BY id" >actual &&
	printf "|unknown|\n9|%s|\n" "$(id -un)" >expect &&
	sed "1s/^|[^|]*|/|unknown|/" actual >actual.1 &&
	test_cmp expect actual.1
'

test_expect_success 'night 1 (no --as-of: the clock): the run records the instant it judged at; load keeps each effect' '
	{ echo $H; row 1 P1; row 2 P2; row 3 P3; } >n1.csv &&
	night 2026-06-01T06:00:00Z n1.csv &&
	run1=$(basename "$(tail -n 1 runs.list)") &&
	test "$(q "SELECT clock_at, as_of FROM run WHERE run_id = '"'"'$run1'"'"'")" = "2026-06-01T06:00:00Z|2026-06-01" &&
	test "$(q "SELECT count(*) FROM assignment_history WHERE pms_unit_id IS NOT NULL AND last_run = '"'"'$run1'"'"'")" = 3 &&
	test "$(q "SELECT count(*) FROM person_user_history WHERE last_run = '"'"'$run1'"'"'")" = 3 &&
	test "$(q "SELECT count(*) FROM snapshot_extraction")" = 1
'

test_expect_success 'a remap and a policy change; night 2 removes three (held), approved and loaded: removals and the approval are kept' '
	unitsync map remove --property oak 3 >/dev/null &&
	unitsync map add --offline --property oak 3 L7 >/dev/null &&
	unitsync property set oak --guard-max 1 >/dev/null &&
	{ echo $H; row 3 P3; row 4 P4; } >n2.csv &&
	night 2026-06-02T06:00:00Z n2.csv --as-of 2026-06-02 &&
	run2=$(tail -n 1 runs.list) &&
	grep "\"verdict\": \"held\"" "$run2/manifest.json" &&
	unitsync approve "$run2" >/dev/null &&
	unitsync load "$run2" >load.out &&
	test "$(q "SELECT approved_last_run FROM run WHERE run_id = '"'"'$(basename "$run2")'"'"'")" = "$(basename "$run2")" &&
	q "SELECT pms_person_id, latch_unit_id FROM assignment_history WHERE pms_unit_id IS NULL ORDER BY 1, 2" >actual &&
	printf "P1|L1\nP2|L2\nP3|L3\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'night 3: the same file, four days old, extracted again is another extraction of its snapshot (stale)' '
	touch -d "2026-05-30 12:00" n2.csv &&
	night 2026-06-03T06:00:00Z n2.csv &&
	grep "^stale_export,oak,.*90 hours before the run" "$(tail -n 1 runs.list)/exceptions.csv" &&
	test "$(q "SELECT count(*) FROM snapshot_extraction GROUP BY snapshot_id ORDER BY snapshot_id" | tr "\n" " ")" = "1 2 "
'

test_expect_success 'a run made while an effect was inflight records it (run_inflight)' '
	unitsync init --copy-to inflight.db >/dev/null &&
	sqlite3 inflight.db "UPDATE journal SET state = '"'"'inflight'"'"' WHERE rowid = (SELECT rowid FROM journal
		WHERE op = '"'"'ASSIGN'"'"' ORDER BY run_id DESC, seq DESC LIMIT 1)" &&
	{ UNITSYNC_NOW=2026-06-04T06:00:00Z unitsync --db inflight.db transform --out runs-inflight >t4.out ||
		[ $? = 3 ]; } &&
	test "$(sqlite3 inflight.db "SELECT count(*) FROM run_inflight WHERE run_id = (SELECT max(run_id) FROM run)")" = 1
'

test_expect_success 'a database of schema version 8 is migrated: histories seeded, its runs before replay_start' '
	unitsync init --copy-to v8.db >/dev/null &&
	sqlite3 v8.db "DROP TABLE property_history; DROP TABLE assignment_history; DROP TABLE person_user_history;
		DROP TABLE snapshot_extraction; DROP TABLE run_inflight; DROP TABLE replay_start;
		ALTER TABLE run DROP COLUMN clock_at; ALTER TABLE run DROP COLUMN approved_last_run;
		DROP TABLE notification; DROP INDEX person_user_by_email;
		DROP INDEX delta_history_by_run_person; DROP INDEX run_exception_by_run_person;
		DROP INDEX assignment_by_user; ALTER TABLE person_user DROP COLUMN name_key;
		ALTER TABLE snapshot DROP COLUMN rows_digest_version; ALTER TABLE snapshot DROP COLUMN pms_property;
		DROP INDEX stg_reject_of_person; DROP INDEX journal_open;
		CREATE INDEX delta_history_by_person ON delta_history (property_id, pms_person_id);
		CREATE INDEX run_exception_by_person ON run_exception (property_id, pms_person_id);
		UPDATE schema_version SET version = 8 WHERE version >= 9; DELETE FROM schema_version WHERE version > 8" &&
	unitsync --db v8.db init >init.out &&
	# its snapshots were staged by this build: their digests are version 2
	sqlite3 v8.db "UPDATE snapshot SET rows_digest_version = 2" &&
	grep "schema version $(sqlite3 "$UNITSYNC_DB" "SELECT max(version) FROM schema_version")" init.out &&
	test "$(sqlite3 v8.db "SELECT last_run FROM replay_start")" = "$(sqlite3 v8.db "SELECT max(run_id) FROM run")" &&
	test "$(sqlite3 v8.db "SELECT count(*) FROM assignment_history")" = "$(sqlite3 v8.db "SELECT count(*) FROM assignment")" &&
	test "$(sqlite3 v8.db "SELECT count(*) FROM person_user_history")" = "$(sqlite3 v8.db "SELECT count(*) FROM person_user")" &&
	test "$(sqlite3 v8.db "SELECT count(*) FROM property_history")" = 1
'

test_expect_success 'after a timezone, grace and mapping change, replay rebuilds each run of the three nights byte for byte, the database untouched' '
	unitsync property set oak --timezone America/Los_Angeles --revoke-grace-days 3 >/dev/null &&
	unitsync map remove --property oak 4 >/dev/null &&
	sqlite3 "$UNITSYNC_DB" .dump >dump.before &&
	for run in $(cat runs.list); do
		unitsync replay "$run" >out || return 1
		echo "run $(basename "$run"): delta.csv and exceptions.csv are identical to their replay" >expect &&
		test_cmp expect out || return 1
	done &&
	sqlite3 "$UNITSYNC_DB" .dump >dump.after &&
	test_cmp dump.before dump.after &&
	sqlite3 inflight.db "UPDATE journal SET state = '"'"'done'"'"' WHERE state = '"'"'inflight'"'"'" &&
	unitsync --db inflight.db replay "$(tail -n 1 t4.out)" >out &&
	grep "identical to their replay" out &&
	grep ",reapply," "$(tail -n 1 t4.out)/delta.csv"
'

test_expect_success 'a hand-edited delta.csv is a difference: exit 1, a unified diff on stdout' '
	run1=$(head -n 1 runs.list) &&
	cp "$run1/delta.csv" delta.keep &&
	sed -i "s/P2@example.com/P9@example.com/" "$run1/delta.csv" &&
	test_expect_code 1 unitsync replay "$run1" >diff.out 2>err &&
	grep -x -- "--- $run1/delta.csv" diff.out &&
	grep -x -- "+++ replayed delta.csv" diff.out &&
	grep -- "^-.*P9@example.com" diff.out &&
	grep -- "^+.*P2@example.com" diff.out &&
	grep "delta.csv differs from its replay" err &&
	cp delta.keep "$run1/delta.csv" &&
	unitsync replay "$run1" >/dev/null
'

test_expect_success 'prune names the runs it makes unreplayable; replay then exits 65 naming the snapshot' '
	run1=$(head -n 1 runs.list) && id1=$(basename "$run1") &&
	mkdir archive && mv "$run1" archive/ &&
	unitsync snapshots prune --keep 1 --dry-run >dry.out &&
	grep -x "  run $id1 could then no longer be replayed (it read snapshot 1)" dry.out &&
	unitsync snapshots prune --keep 1 >prune.out &&
	grep -x "deleted snapshot 1 (n1.csv)" prune.out &&
	grep -x "  run $id1 can no longer be replayed (it read snapshot 1)" prune.out &&
	grep -x "1 run(s) no longer replayable (unitsync replay)" prune.out &&
	test_expect_code 65 unitsync replay "archive/$id1" >out 2>err &&
	grep "run $id1 cannot be replayed: snapshot 1 (n1.csv), which it read for property oak, was pruned" err &&
	test_cmp /dev/null out
'

test_expect_success 'a run made before schema version 9, or no run of the database, cannot be replayed (65)' '
	test_expect_code 65 unitsync --db v8.db replay "$(sed -n 2p runs.list)" 2>err &&
	grep "made before schema version 9" err &&
	mkdir -p nowhere/20260101T000000.000000Z-abcdef &&
	test_expect_code 65 unitsync replay nowhere/20260101T000000.000000Z-abcdef 2>err &&
	grep "is not a run this state database recorded" err &&
	test_expect_code 2 unitsync replay 2>err
'
