#!/usr/bin/env bash
# t0770-schema-drift: a column that carried data last night is gone tonight
# (issue 15 item 7).  extract-csv names the columns it does not read, the
# snapshot records its fields, and transform holds the property by the
# safety guard (schema_changed) until `unitsync approve`; snapshots from
# before the fields were recorded never trigger it.
. "$(dirname "$0")/lib.sh"
test_plan 10

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
export_of() { # export_of HEADER: residents 1..5 of p1; R5, on notice, moved out on 2026-05-01
	echo "$1"
	for i in 1 2 3 4; do
		echo "p1,$i,R$i,H$i,primary,current,F$i,L$i,r$i@example.com,,2024-01-01,"
	done
	echo "p1,5,R5,H5,primary,notice,F5,L5,r5@example.com,,2024-01-01,2026-05-01"
}
residents() { curl -sf "$SIM_URL/_sim/state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["residents"]))'; }
guard() { # guard RUN_DIR: verdict and reasons of p1
	python3 -c 'import json,sys; p=json.load(open(sys.argv[1]+"/manifest.json"))["properties"][0]["guard"]; print(p["verdict"]); [print(w) for w in p.get("why", [])]' "$1"
}

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in 1 2 3 4 5 6; do echo "b1,L$u,Unit $u"; done
} >seed.csv && test_init_db p1 p2 &&
	for u in 1 2 3 4 5 6; do unitsync map add --offline --property p1 "$u" "L$u" >/dev/null || exit 1; done &&
	export_of "$H" | sed "s/,notice,/,current,/; s/,2026-05-01$/,/" >night1.csv &&
	R6=p1,6,R6,H6,primary,current,F6,L6,r6@example.com,,2026-06-02, &&
	{ export_of "$H" && echo "$R6"; } >night4.csv &&
	{ export_of "${H%,move_out},moveout_date" && echo "$R6"; } >night2.csv) || exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'night 1: five residents assigned; the snapshot records its fields' '
	unitsync extract-csv night1.csv >x1.out 2>x1.err && test ! -s x1.err &&
	unitsync transform --as-of 2026-06-01 --out runs >t1.out && run=$(tail -n 1 t1.out) &&
	test "$(guard "$run")" = ok && unitsync load "$run" >l1.out && test "$(residents)" = 5 &&
	unitsync snapshots show 1 >show1.out &&
	grep -x "fields: email,first_name,household_id,last_name,move_in,move_out,phone,pms_person_id,pms_unit_id,role,status" show1.out &&
	grep -x "unknown_columns: (none)" show1.out
'

test_expect_success 'night 2 (R6 moves in): move_out renamed moveout_date: one warning names the column' '
	unitsync extract-csv night2.csv >x2.out 2>x2.err &&
	echo "unitsync-extract-csv: warning: '\''night2.csv'\'': 1 column unitsync does not read: moveout_date" >expect &&
	test_cmp expect x2.err &&
	unitsync snapshots show 2 >show2.out &&
	grep -x "fields: email,first_name,household_id,last_name,move_in,phone,pms_person_id,pms_unit_id,role,status" show2.out &&
	grep -x "unknown_columns: moveout_date" show2.out
'

test_expect_success 'transform holds the property: guard schema_changed, a schema_changed exception' '
	unitsync transform --as-of 2026-06-02 --out runs >t2.out && run=$(tail -n 1 t2.out) && echo "$run" >held.run &&
	guard "$run" >guard.out &&
	printf "%s\n" held "schema_changed: the export lost fields move_out that the previous accepted export carried" >expect &&
	test_cmp expect guard.out &&
	grep "^schema_changed,p1,,,the csv export (generic) lacks fields the previous accepted export carried: move_out;" "$run/exceptions.csv" &&
	grep "\"schema_changed\": 1" "$run/manifest.json"
'

test_expect_success 'load sends nothing for the held run and exits 4' '
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	test_expect_code 4 unitsync load "$(cat held.run)" >l2.out &&
	test "$(curl -sf "$SIM_URL/_sim/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"total\"])")" = 0 &&
	unitsync runs list | grep -P "^$(basename "$(cat held.run)")\t.*\theld\t"
'

test_expect_success 'approve releases it; load then applies it' '
	unitsync approve --by auditor-jane "$(cat held.run)" >approve.out &&
	unitsync load "$(cat held.run)" >l3.out && test "$(residents)" = 6
'

test_expect_success 'the next night with the same columns is not held: the approved run is the baseline' '
	sed "s/,2026-05-01$/,2026-05-02/" night2.csv >night3.csv &&
	unitsync extract-csv night3.csv >x3.out 2>x3.err &&
	unitsync transform --as-of 2026-06-03 --out runs >t3.out && run=$(tail -n 1 t3.out) &&
	test "$(guard "$run")" = ok && ! grep schema_changed "$run/exceptions.csv"
'

test_expect_success 'the column back again: nothing lost, not held; the resident past the move-out loses access' '
	unitsync extract-csv night4.csv >x4.out 2>x4.err &&
	unitsync transform --as-of 2026-06-04 --out runs >t4.out && run=$(tail -n 1 t4.out) &&
	test "$(guard "$run")" = ok && unitsync load "$run" >l4.out &&
	grep ",UNASSIGN,p1,5,L5,R5,.*,move_out," "$run/delta.csv" && test "$(residents)" = 5
'

# a held property with nothing to send: the load exits as a night with
# nothing to send, but says the property is held (new user nu9: it said
# "0 held by the safety guard" and nothing else); the next night with a
# change is held back (exit 4) until approved
test_expect_success 'a night with nothing to change but the column dropped: load says the property is held' '
	{ echo "${H%,move_out},moveout_date" && grep -v -e ",R5," -e "^property_id" night4.csv; } >night4b.csv &&
	unitsync extract-csv night4b.csv >x4b.out 2>x4b.err &&
	unitsync transform --as-of 2026-06-04 --out runs >t4b.out && run=$(tail -n 1 t4b.out) &&
	test "$(guard "$run" | head -n 1)" = held && test "$(wc -l <"$run/delta.csv")" = 1 &&
	unitsync load "$run" >l4b.out 2>l4b.err &&
	grep "warning: property p1 is held by the safety guard (see the run.s manifest.json), with nothing of it to send tonight$" l4b.err &&
	{ cat night4b.csv && echo "p1,6,R7,H6,roommate,current,F7,L7,r7@example.com,,2026-06-04,"; } >night4c.csv &&
	unitsync extract-csv night4c.csv >x4c.out 2>x4c.err &&
	unitsync transform --as-of 2026-06-04 --out runs >t4c.out && run=$(tail -n 1 t4c.out) &&
	test "$(guard "$run" | head -n 1)" = held &&
	test_expect_code 4 unitsync load "$run" >l4c.out 2>l4c.err &&
	! grep "nothing of it to send" l4c.err &&
	unitsync approve --by auditor-jane "$run" >approve4c.out && unitsync load "$run" >l4d.out
'

test_expect_success 'snapshots from before the fields were recorded (NULL) never trigger it' '
	sqlite3 "$UNITSYNC_DB" "UPDATE snapshot SET fields = NULL" &&
	sed "s/,F1,/,Fay,/" night4c.csv >night5.csv &&
	unitsync extract-csv night5.csv >x5.out 2>x5.err &&
	unitsync snapshots show "$(sed -n "s/^snapshot \([0-9]*\):.*/\1/p" x5.out)" | grep -x "fields: .*,role,status" &&
	unitsync transform --as-of 2026-06-05 --out runs >t5.out && run=$(tail -n 1 t5.out) &&
	test "$(guard "$run")" = ok && ! grep schema_changed "$run/exceptions.csv"
'

test_expect_success 'an XML snapshot records the fields its records carried; no unknown columns' '
	unitsync extract-xml --property p2 "$TOP/tests/data/xml/oakwood-rt.xml" >x6.out 2>x6.err &&
	unitsync snapshots show "$(sed -n "s/^snapshot \([0-9]*\):.*/\1/p" x6.out)" >show6.out &&
	grep -x "fields: email,expected_move_out,first_name,household_id,last_name,lease_from,lease_to,move_in,move_out,phone,pms_person_id,pms_unit_id,role,status" show6.out &&
	grep -x "unknown_columns: (none)" show6.out
'
[ $failed -eq 0 ]
