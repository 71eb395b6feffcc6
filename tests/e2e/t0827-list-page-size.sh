#!/usr/bin/env bash
# t0827-list-page-size: the Latch listings (a building's units: units list,
# load, reconcile; a unit's residents: reconcile) ask for pages of [latch]
# page_size (default 1000, the contract's largest; issue 18: 2,500 units
# were 25 round trips of the server's default 100) on every page, and a
# server that answers fewer than asked, with a nextPageToken, is still
# paged to the end: every unit and resident is read once.  A page_size
# that is not a whole number from 1 to 1000 is a configuration problem
# (78) naming file, line and key.  Against latch-sim (its max_page_size
# setting pages smaller than asked; /_sim/stats page_sizes: what was asked).
. "$(dirname "$0")/lib.sh"
test_plan 7

faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
# how many listings of ROUTE ("GET /v1/buildings/{b}/units") asked for pageSize SIZE ("none": no pageSize)
asked() {
	curl -sf "$SIM_URL/_sim/stats" | python3 -c '
import json, sys
print(json.load(sys.stdin)["page_sizes"].get(sys.argv[1], {}).get(sys.argv[2], 0))' "$@"
}
units='GET /v1/buildings/{b}/units'
residents='GET /v1/units/{u}/residents'

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
# building b1: 250 units, "Unit 001" .. "Unit 250" (L1 .. L250); R2 lives in
# the one a listing by name reaches last
(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in $(seq 250); do printf 'b1,L%d,Unit %03d\n' "$u" "$u"; done
} >seed.csv && {
	echo $H
	echo p1,U1,R1,H1,primary,current,A,One,r1@example.com,,2024-01-01,
	echo p1,U2,R2,H2,primary,current,B,Two,r2@example.com,,2024-01-01,
} >export.csv &&
	test_init_db p1 &&
	unitsync property set p1 --latch-building b1 >/dev/null &&
	unitsync map add --offline --property p1 U1 L1 >/dev/null &&
	unitsync map add --offline --property p1 U2 L250 >/dev/null &&
	unitsync extract-csv export.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t.out &&
	printf '[latch]\npage_size = 100\n' >p100.ini) || exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'units list asks for pages of 1000 by default: 250 units in one page' '
	unitsync units list --building b1 >all 2>err &&
	test "$(wc -l <all)" = 250 &&
	grep "building .b1.: 250 units (1 page)" err &&
	test "$(asked "$units" 1000)" = 1 &&
	test "$(asked "$units" none)" = 0
'

test_expect_success 'a server paging smaller than asked (60): every page followed, each unit once' '
	faults "{\"max_page_size\":60}" &&
	unitsync units list --building b1 >all60 2>err &&
	faults "{\"max_page_size\":1000}" &&
	test_cmp all all60 &&
	grep "building .b1.: 250 units (5 pages)" err &&
	test "$(asked "$units" 1000)" = 6
'

test_expect_success '[latch] page_size = 100: every page asks for 100' '
	unitsync --config p100.ini units list --building b1 >all100 2>err &&
	test_cmp all all100 &&
	grep "building .b1.: 250 units (3 pages)" err &&
	test "$(asked "$units" 100)" = 3 &&
	unitsync --config p100.ini config show >show &&
	grep -x "page_size: 100" show &&
	printf "[latch]\n" >empty.ini &&
	unitsync --config empty.ini config show >show0 2>/dev/null;
	grep -x "page_size: 1000 (default)" show0
'

test_expect_success 'a page_size that is not a whole number from 1 to 1000: 78, naming file, line and key' '
	for v in 0 1001 ten -5; do
		printf "[latch]\nbase_url = http://127.0.0.1:1\npage_size = %s\n" "$v" >bad.ini &&
		test_expect_code 78 unitsync --config bad.ini config check >out 2>err &&
		grep "config .$tmp/bad.ini. line 3: \[latch\] page_size: .$v. is not a whole number from 1 to 1000" err &&
		test_expect_code 78 unitsync --config bad.ini units list --building b1 >/dev/null 2>err &&
		grep "line 3: \[latch\] page_size" err || return 1
	done
'

test_expect_success 'load lists with the page size too, the unit on the last short page found' '
	faults "{\"max_page_size\":60}" &&
	unitsync load "$(run_dir t.out)" >load.out 2>load.err;
	rc=$? && faults "{\"max_page_size\":1000}" &&
	test $rc = 0 &&
	grep "Latch building .b1.: 250 units, 5 pages" load.err &&
	test "$(asked "$units" 1000)" = 11 &&
	grep ": 4 done, 0 already done, 0 failed" load.out &&
	test "$(sim_replies "PUT /v1/units/{u}/residents/{user}" 201)" = 2
'

test_expect_success 'reconcile: residents listings ask for the page size, a unit paged smaller read whole' '
	for who in s1 s2; do
		sim_api POST /v1/users "{\"email\":\"$who@example.com\",\"firstName\":\"S\"}" >/dev/null &&
		sim_api PUT /v1/units/L1/residents/$(sim_user_of $who@example.com) \
			"{\"assignedBy\":\"front-desk\"}" >/dev/null || return 1
	done &&
	faults "{\"max_page_size\":2}" &&
	test_expect_code 1 unitsync reconcile --property p1 --out rec >rec.out 2>rec.err &&
	faults "{\"max_page_size\":1000}" &&
	grep "Latch building b1: 250 units, 4 residents, 4 users read" rec.out &&
	grep -x "key_without_lease: 2" rec.out &&
	test "$(asked "$residents" 1000)" = 251 &&
	test "$(asked "$residents" none)" = 0 &&
	test "$(asked "$units" 1000)" = 136
'

test_expect_success 'reconcile with [latch] page_size = 100: units and residents ask for 100' '
	unitsync --config p100.ini reconcile --property p1 --out rec100 >rec100.out 2>&1;
	test $? = 1 &&
	grep "Latch building b1: 250 units, 4 residents, 4 users read" rec100.out &&
	test "$(asked "$residents" 100)" = 250 &&
	test "$(asked "$units" 100)" = 6
'
