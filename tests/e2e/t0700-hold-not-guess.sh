#!/usr/bin/env bash
# t0700-hold-not-guess: where unitsync cannot know, it holds and reports
# instead of removing access, and it never acts twice or on a stale run.
# Each case is one a reviewer found to lock a family out or leave a former
# tenant with a key.
. "$(dirname "$0")/lib.sh"
test_plan 17

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
row() { # row PROPERTY UNIT PERSON STATUS [EMAIL [FIRST [LAST [ROLE [HOUSEHOLD]]]]]
	echo "$1,$2,$3,${9:-H$3},${8:-primary},$4,${6:-F$3},${7:-L$3},${5:-$3@example.com},,2024-01-01,"
}
state() { # Latch residents as "unit email", sorted
	curl -sf "$SIM_URL/_sim/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
email = {u["userUuid"]: u["email"] for u in s["users"]}
for r in s["residents"]:
    print(r["unit"], email[r["userUuid"]])' | sort
}
night() { # night FILE [transform options]: extract FILE, transform, load; run dir in last.run
	f=$1; shift
	unitsync extract-csv --max-reject-percent 50 "$f" >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out runs "$@" >t.out &&
	tail -n 1 t.out >last.run &&
	{ unitsync load "$(cat last.run)" >load.out || [ $? = 4 ]; }
}
delta_ops() { awk -F, 'NR > 1 { print $2, $6, $8 }' "$(cat last.run)/delta.csv"; }

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for p in oak elm pine; do for u in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "b-$p,$p-$u,$p $u"; done; done
} >seed.csv && unitsync init >/dev/null &&
	unitsync property add oak --guard-percent 100 >/dev/null &&
	unitsync property add elm --guard-percent 100 >/dev/null &&
	unitsync property add pine >/dev/null &&
	for p in oak elm pine; do for u in 1 2 3 4 5 6 7 8 9 10 11 12; do
		unitsync map add --offline --property $p $u $p-$u >/dev/null || exit 1; done; done) || exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'night 1: four residents of oak get their units' '
	{ echo $H; for i in 1 2 3 4; do row oak $i P$i current; done; } >n1.csv &&
	night n1.csv &&
	printf "oak-1 P1@example.com\noak-2 P2@example.com\noak-3 P3@example.com\noak-4 P4@example.com\n" >expect &&
	state >actual && test_cmp expect actual
'

test_expect_success 'a row that cannot be read removes nobody for being absent, and says why' '
	{ echo $H; for i in 1 2 3; do row oak $i P$i current; done; echo "oak,4,P4,H4,primary,current,F,L,p4@example.com,,2/30/2024,"; } >n2.csv &&
	night n2.csv &&
	! grep UNASSIGN "$(cat last.run)/delta.csv" &&
	grep "^rejected_rows,oak" "$(cat last.run)/exceptions.csv" &&
	state >actual && test_cmp expect actual
'

test_expect_success 'an unknown lease status holds the resident as they are' '
	{ echo $H; for i in 1 2 3; do row oak $i P$i current; done; row oak 4 P4 Month-to-Month; } >n3.csv &&
	night n3.csv &&
	! grep UNASSIGN "$(cat last.run)/delta.csv" &&
	grep "^unknown_status,oak,4,P4," "$(cat last.run)/exceptions.csv" &&
	state >actual && test_cmp expect actual
'

test_expect_success 'a roommate whose own status says past is not granted by the household' '
	{ echo $H; for i in 1 2 3 4; do row oak $i P$i current; done;
	  row oak 1 R1 past r1@example.com Rita Roe roommate HP1; } >n4.csv &&
	night n4.csv &&
	! grep R1 "$(cat last.run)/delta.csv"
'

test_expect_success 'one e-mail for two different people in two properties: neither synced' '
	{ echo $H; for i in 1 2 3 4; do row oak $i P$i current; done; row oak 5 P5 current same@example.com Ann Lee;
	  row elm 1 E1 current SAME@example.com Bob Kim; } >n5.csv &&
	night n5.csv &&
	grep "^duplicate_email,elm,1,E1," "$(cat last.run)/exceptions.csv" &&
	grep "^duplicate_email,oak,5,P5," "$(cat last.run)/exceptions.csv" &&
	! grep -E ",(P5|E1)," "$(cat last.run)/delta.csv"
'

test_expect_success 'the same e-mail and name in two properties is one person with two homes' '
	{ echo $H; for i in 1 2 3 4; do row oak $i P$i current; done; row oak 5 P5 current same@example.com Ann Lee;
	  row elm 1 E1 current SAME@example.com Ann Lee; } >n6.csv &&
	night n6.csv &&
	! grep duplicate_email "$(cat last.run)/exceptions.csv" &&
	state | grep -ci same@example.com >count && test "$(cat count)" = 2
'

test_expect_success 'a changed e-mail does not stop a transfer: the unit follows the resident' '
	{ echo $H; row oak 1 P1 current; row oak 2 P2 current; row oak 3 P3 current;
	  row oak 9 P4 current p4-new@example.com; row oak 5 P5 current same@example.com Ann Lee;
	  row elm 1 E1 current same@example.com Ann Lee; } >n7.csv &&
	night n7.csv &&
	grep "^email_mismatch,oak,9,P4," "$(cat last.run)/exceptions.csv" &&
	delta_ops >ops && printf "ASSIGN P4 transfer\nUNASSIGN P4 transfer\n" >expect_ops &&
	test_cmp expect_ops ops &&
	state | grep P4@example.com >p4 && test "$(cat p4)" = "oak-9 P4@example.com"
'

test_expect_success 'an assignment made by hand in Latch is never removed by unitsync' '
	uuid=$(curl -sf "$SIM_URL/_sim/state" | python3 -c "import json,sys; print([u[\"userUuid\"] for u in json.load(sys.stdin)[\"users\"] if u[\"email\"]==\"P3@example.com\"][0])") &&
	curl -sf -X PUT -H "Authorization: Bearer $(curl -sf -d "{\"client_id\":\"demo\",\"client_secret\":\"demo-secret\",\"grant_type\":\"client_credentials\"}" "$SIM_URL/oauth/token" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"access_token\"])")" \
		-d "{\"assignedBy\":\"building-manager\"}" "$SIM_URL/v1/units/oak-10/residents/$uuid" >/dev/null &&
	{ echo $H; row oak 1 P1 current; row oak 2 P2 current; row oak 10 P3 current;
	  row oak 9 P4 current p4-new@example.com; row oak 5 P5 current same@example.com Ann Lee;
	  row elm 1 E1 current same@example.com Ann Lee; } >n8.csv &&
	night n8.csv &&
	{ echo $H; row oak 1 P1 current; row oak 2 P2 current; row oak 10 P3 past;
	  row oak 9 P4 current p4-new@example.com; row oak 5 P5 current same@example.com Ann Lee;
	  row elm 1 E1 current same@example.com Ann Lee; } >n9.csv &&
	night n9.csv &&
	grep "^manual_assignment,oak,10,P3," "$(cat last.run)/exceptions.csv" &&
	state | grep -x "oak-10 P3@example.com"
'

test_expect_success 'a run directory rewritten with fresh checksums is refused' '
	run=$(cat last.run) && cp -r "$run" forged &&
	sed -i "s/oak-3/oak-11/" forged/delta.csv &&
	python3 -c "
import hashlib, json
m = json.load(open(\"forged/manifest.json\"))
m[\"files\"][\"delta.csv\"] = hashlib.sha256(open(\"forged/delta.csv\",\"rb\").read()).hexdigest()
json.dump(m, open(\"forged/manifest.json\",\"w\"))" &&
	(cd forged && sha256sum delta.csv exceptions.csv manifest.json >SHA256SUMS) &&
	test_expect_code 65 unitsync load forged 2>err && grep "does not match" err
'

test_expect_success 'a held run is refused once a newer run of its property exists' '
	{ echo $H; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do row pine $i T$i current; done; } >full.csv &&
	{ echo $H; row pine 1 T1 current; } >cut.csv &&
	unitsync extract-csv full.csv >/dev/null &&
	unitsync transform --property pine --as-of 2026-06-01 --out runs >f.out &&
	unitsync load "$(tail -n 1 f.out)" >/dev/null &&
	unitsync extract-csv cut.csv >/dev/null &&
	unitsync transform --property pine --as-of 2026-06-01 --out runs >held.out &&
	held=$(tail -n 1 held.out) &&
	grep -q "\"verdict\": \"held\"" "$held/manifest.json" &&
	test_expect_code 4 unitsync load "$held" >/dev/null &&
	unitsync extract-csv full.csv >/dev/null &&
	unitsync transform --property pine --as-of 2026-06-01 --out runs >f2.out &&
	test_expect_code 65 unitsync approve "$held" >approve.out 2>&1 && grep superseded approve.out &&
	test_expect_code 1 unitsync load "$held" >load.out 2>err &&
	grep "11 superseded" load.out && grep "is newer" err &&
	test "$(state | grep -c "^pine-")" = 12
'

test_expect_success 'two runs with byte-identical deltas do not share Idempotency-Keys' '
	{ echo $H; row elm 2 M1 current m1@example.com; } >in.csv &&
	{ echo $H; row elm 2 M1 past m1@example.com; } >out.csv &&
	# back in: a new export (CR LF bytes), not the first sent again (older_export)
	sed "s/\$/\r/" in.csv >in2.csv &&
	for f in in out in2; do unitsync extract-csv "$f.csv" >/dev/null &&
		unitsync transform --property elm --as-of 2026-06-01 --out runs >r.out &&
		unitsync load "$(tail -n 1 r.out)" >/dev/null || exit 1; done &&
	state | grep -x "elm-2 m1@example.com"
'

test_expect_success 'an effect a crashed load left unconfirmed is asserted again next night' '
	{ echo $H; row elm 3 Q1 current q1@example.com; } >q1.csv &&
	unitsync extract-csv q1.csv >/dev/null &&
	unitsync transform --property elm --as-of 2026-06-01 --out runs >q.out &&
	unitsync load "$(tail -n 1 q.out)" >/dev/null &&
	{ echo $H; row elm 4 Q1 current q1@example.com; } >q2.csv &&
	unitsync extract-csv q2.csv >/dev/null &&
	unitsync transform --property elm --as-of 2026-06-01 --out runs >q2.out &&
	curl -sf -X POST -d "{\"drop_rate\":1,\"methods\":\"PUT\"}" "$SIM_URL/_sim/faults" >/dev/null &&
	{ unitsync load --max-attempts 1 "$(tail -n 1 q2.out)" >/dev/null 2>&1; true; } &&
	curl -sf -X POST -d "{\"drop_rate\":0,\"methods\":\"\"}" "$SIM_URL/_sim/faults" >/dev/null &&
	state | grep -x "elm-4 q1@example.com" &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT op FROM journal WHERE state = '"'"'inflight'"'"'")" = ASSIGN &&
	{ echo $H; row elm 4 Q1 past q1@example.com; } >q3.csv &&
	unitsync extract-csv q3.csv >/dev/null &&
	unitsync transform --property elm --as-of 2026-06-01 --out runs >q3.out &&
	grep "UNASSIGN,elm,4,elm-4,Q1" "$(tail -n 1 q3.out)/delta.csv" &&
	grep "UNASSIGN,elm,3,elm-3,Q1" "$(tail -n 1 q3.out)/delta.csv" &&
	unitsync load "$(tail -n 1 q3.out)" >/dev/null &&
	! state | grep q1@example.com
'

test_expect_success 'a file extracted again is the newest export again' '
	unitsync extract-csv q1.csv >out && grep reused out &&
	unitsync transform --property elm --as-of 2026-06-01 --out runs >t.out &&
	grep "ASSIGN,elm,3,elm-3,Q1" "$(tail -n 1 t.out)/delta.csv"
'

test_expect_success 'nightly.sh handles property ids with spaces and wildcards' '
	unitsync property add "Oak Park" >/dev/null && unitsync property add "*" >/dev/null &&
	{ echo "$H"; echo "Oak Park,1,S1,HS1,primary,current,S,One,s1@example.com,,2024-01-01,"; } >park.csv &&
	{ echo "$H"; echo "*,1,W1,HW1,primary,current,W,One,w1@example.com,,2024-01-01,"; } >star.csv &&
	printf "[property \"Oak Park\"]\nsource = park.csv\n[property \"*\"]\nsource = star.csv\n" >n.ini &&
	"$TOP/pipelines/nightly.sh" --config n.ini --db "$UNITSYNC_DB" --out runs --as-of 2026-06-01 >nightly.out 2>&1 &&
	grep "^Oak Park: " nightly.out && grep "^\*: " nightly.out
'
test_expect_success 'a long e-mail (1,200 characters) two people share, in any case: neither synced' '
	long=$(printf "%01200d" 0 | tr 0 a) &&
	{ echo $H; row pine 1 L1 current "$long@example.com" Ann Lee;
	  row pine 2 L2 current "$(echo "$long" | tr a A)@EXAMPLE.com" Bob Kim; } >long.csv &&
	night long.csv &&
	grep "^duplicate_email,pine,1,L1," "$(cat last.run)/exceptions.csv" &&
	grep "^duplicate_email,pine,2,L2," "$(cat last.run)/exceptions.csv" &&
	! grep -E ",(L1|L2)," "$(cat last.run)/delta.csv"
'

test_expect_success 'two long names alike in their first 300 characters, one e-mail: two people, neither synced' '
	first=$(printf "%0300d" 0 | tr 0 n) &&
	{ echo $H; row pine 1 N1 current n@example.com "$first" Lee;
	  row pine 2 N2 current N@Example.com "$first" Kim; } >names.csv &&
	night names.csv &&
	grep "^duplicate_email,pine,1,N1," "$(cat last.run)/exceptions.csv" &&
	grep "^duplicate_email,pine,2,N2," "$(cat last.run)/exceptions.csv" &&
	! grep -E ",(N1|N2)," "$(cat last.run)/delta.csv"
'

test_expect_success 'a dry run of a superseded run never loaded exits 1, as its load does' '
	{ echo $H; row pine 3 D1 current d1@example.com; } >d.csv &&
	unitsync extract-csv d.csv >/dev/null &&
	unitsync transform --property pine --as-of 2026-06-01 --out runs >d1.out &&
	unitsync transform --property pine --as-of 2026-06-01 --out runs >d2.out &&
	old=$(tail -n 1 d1.out) && new=$(tail -n 1 d2.out) &&
	test_expect_code 1 unitsync load --dry-run "$old" >dry.out 2>dry.err &&
	grep "D1.*(superseded by a newer run: not sent)$" dry.out &&
	grep "rows\{0,1\} would not be sent: superseded by a newer run (the load would exit 1)" dry.err &&
	test_expect_code 1 unitsync load "$old" >load.out &&
	grep " 0 done, .* [1-9][0-9]* superseded" load.out &&
	{ unitsync load --dry-run "$new" >dry2.out 2>&1; echo $? >dry.rc; } &&
	! grep superseded dry2.out &&
	{ unitsync load "$new" >/dev/null 2>&1; echo $? >load.rc; } &&
	test_cmp dry.rc load.rc
'

[ $failed -eq 0 ]
