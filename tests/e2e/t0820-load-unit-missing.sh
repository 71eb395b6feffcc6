#!/usr/bin/env bash
# t0820-load-unit-missing: a mapping to a Latch unit that does not exist
# (mapped with --offline) fails at load as exception latch_unit_missing in
# load-report.csv, unsent and not retried, and no Latch user is made for a
# resident whose only unit to assign is missing; a PUT answered 404
# UNIT_NOT_FOUND (a property without a Latch building, not checked up
# front) is told the same way (issue 17).  Against latch-sim.
. "$(dirname "$0")/lib.sh"
test_plan 8

# Latch's assignments as "unit email" lines, sorted
residents() {
	curl -sf "$SIM_URL/_sim/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
email = {u["userUuid"]: u["email"] for u in s["users"]}
for r in s["residents"]:
    print(r["unit"], email[r["userUuid"]])' | sort
}
# the e-mails of Latch's users, sorted
latch_emails() {
	curl -sf "$SIM_URL/_sim/state" |
		python3 -c 'import json, sys; [print(u["email"]) for u in json.load(sys.stdin)["users"]]' |
		sort
}

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	printf '%s\n' 'b1,L1,Unit 1' 'b1,L3,Unit 3' 'b1,L5,Unit 5'
} >seed.csv && {
	echo $H
	echo p1,U1,R1,H1,primary,current,A,One,r1@example.com,,2024-01-01,
	echo p1,U2,R2,H2,primary,current,B,Two,r2@example.com,,2024-01-01,
	echo p1,U3,R3,H3,primary,current,C,Three,r3@example.com,,2024-01-01,
	echo p1,U4,R5,H5,primary,current,E,Five,r5@example.com,,2024-01-01,
	echo p1,U5,R5,H5,primary,current,E,Five,r5@example.com,,2024-01-01,
	echo p2,U9,R4,H4,primary,current,D,Four,r4@example.com,,2024-01-01,
} >export.csv &&
	unitsync init >/dev/null &&
	unitsync property add p1 --latch-building b1 >/dev/null &&
	unitsync property add p2 >/dev/null &&
	unitsync map add --offline --property p1 U1 L1 >/dev/null &&
	unitsync map add --offline --property p1 U2 L-gone >/dev/null &&
	unitsync map add --offline --property p1 U3 L3 >/dev/null &&
	unitsync map add --offline --property p1 U4 L-gone4 >/dev/null &&
	unitsync map add --offline --property p1 U5 L5 >/dev/null &&
	unitsync map add --offline --property p2 U9 L-gone9 >/dev/null &&
	unitsync extract-csv export.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t.out) || exit 1
run=$(tail -n 1 "$tmp/t.out")
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'load exits 1; the missing units are latch_unit_missing in load-report.csv' '
	test_expect_code 1 unitsync load "$run" >load.out 2>load.err &&
	r=$run/load-report.csv &&
	head -n 1 "$r" >actual &&
	echo seq,op,property_id,pms_person_id,state,http_status,detail,exception >expect &&
	test_cmp expect actual &&
	grep -q "^[0-9]*,USER_CREATE,p1,R2,failed,,no Latch user made: the 1 Latch unit to assign (first .L-gone.) is not in .*,latch_unit_missing$" "$r" &&
	grep -q "^[0-9]*,ASSIGN,p1,R2,failed,,Latch unit .L-gone. does not exist in Latch building .b1. of property .p1. .*,latch_unit_missing$" "$r" &&
	grep -q "^[0-9]*,ASSIGN,p1,R5,failed,,Latch unit .L-gone4. does not exist.*,latch_unit_missing$" "$r" &&
	grep -q "^[0-9]*,ASSIGN,p2,R4,failed,404,.*UNIT_NOT_FOUND.*,latch_unit_missing$" "$r" &&
	test "$(grep -c ",latch_unit_missing$" "$r")" = 4 &&
	grep -q ": 7 done, 0 already done, 4 failed, 0 held by the safety guard, 0 superseded" load.out
'

test_expect_success 'its dry run exits 1, as a second load would: the failed rows are not sent again' '
	test_expect_code 1 unitsync load --dry-run "$run" >dry.out 2>dry.err &&
	test "$(grep -c "(failed in an earlier load: not sent again)$" dry.out)" = 4 &&
	grep -q "4 rows failed in an earlier load and would not be sent again (the load would exit 1)" dry.err
'

test_expect_success 'no Latch user for the resident whose only unit is missing; the others have theirs' '
	latch_emails >actual &&
	printf "%s\n" r1@example.com r3@example.com r4@example.com r5@example.com >users.expect &&
	test_cmp users.expect actual
'

test_expect_success 'the checked units were listed once; no PUT went to a unit the listing lacked' '
	test "$(sim_replies "GET /v1/buildings/{b}/units" 200)" = 1 &&
	test "$(sim_replies "PUT /v1/units/{u}/residents/{user}" 404)" = 1 &&
	test "$(sim_replies "PUT /v1/units/{u}/residents/{user}" 201)" = 3 &&
	grep -q "property p2 has no Latch building: its Latch units are not checked" load.err
'

test_expect_success 'a missing unit fails only its own ASSIGN: the resident gets the unit Latch has' '
	residents >actual &&
	printf "%s\n" "L1 r1@example.com" "L3 r3@example.com" "L5 r5@example.com" >units.expect &&
	test_cmp units.expect actual &&
	grep -q "^[0-9]*,USER_CREATE,p1,R2," "$run/load-report.csv" &&
	! grep -q ",R5,failed,,an earlier row" "$run/load-report.csv"
'

test_expect_success 'the rows are settled failed in the journal, not left to retry' '
	sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM journal WHERE state = '"'"'inflight'"'"' OR state = '"'"'pending'"'"'" >actual &&
	echo 0 >zero && test_cmp zero actual &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM journal WHERE state = '"'"'failed'"'"'")" -ge 4
'

test_expect_success 'a second load sends nothing for them and still makes no user' '
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	test_expect_code 1 unitsync load "$run" >load2.out 2>load2.err &&
	test "$(sim_replies "POST /v1/users" 201)" = 0 &&
	test "$(sim_replies "PUT /v1/units/{u}/residents/{user}" 404)" = 0 &&
	grep -q ",USER_CREATE,p1,R2,failed,,failed in an earlier load," "$run/load-report.csv" &&
	latch_emails >actual && test_cmp users.expect actual
'

test_expect_success 'the next night asks again, makes no user, and a transfer to a missing unit keeps the old one' '
	sed "s/^p1,U1,R1,/p1,U4,R1,/" export.csv >export2.csv &&
	grep -q "^p1,U4,R1," export2.csv &&
	unitsync extract-csv export2.csv >/dev/null &&
	unitsync transform --as-of 2024-06-02 --out runs >t2.out &&
	run2=$(tail -n 1 t2.out) &&
	grep -q ",UNASSIGN,p1,U1,L1,R1," "$run2/delta.csv" &&
	test_expect_code 1 unitsync load "$run2" >load3.out 2>load3.err &&
	r2=$run2/load-report.csv &&
	grep -q ",USER_CREATE,p1,R2,failed,.*,latch_unit_missing$" "$r2" &&
	grep -q ",ASSIGN,p1,R1,failed,,Latch unit .L-gone4. does not exist.*,latch_unit_missing$" "$r2" &&
	grep -q ",UNASSIGN,p1,R1,failed,,an earlier row of this person failed,$" "$r2" &&
	latch_emails >actual && test_cmp users.expect actual &&
	residents >actual && test_cmp units.expect actual
'
