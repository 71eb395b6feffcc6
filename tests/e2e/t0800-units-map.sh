#!/usr/bin/env bash
# t0800-units-map: Latch units listed page by page, created one at a time,
# from CSV and from the PMS unit list, and the mapping helped along by
# `map suggest` and `map unmapped`, against latch-sim.
. "$(dirname "$0")/lib.sh"
test_plan 19

stats() { curl -sf "$SIM_URL/_sim/stats"; }
reset_stats() { curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null; }
# simstat KEY...: one number from the simulator's stats, by JSON path
simstat() {
	stats | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v.get(k, {}) if isinstance(v, dict) else {}
print(v if isinstance(v, int) else 0)' "$@"
}
units_of() { unitsync units list --building "$1" 2>/dev/null; }

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
res() { # res UNIT PERSON STATUS [ROLE]
	echo "oak,$1,$2,H$2,${4:-primary},$3,F$2,L$2,$2@example.com,,2024-01-01,"
}

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for i in $(seq 1 250); do printf 'b-big,big-%03d,Unit %03d\n' "$i" "$i"; done
	# oak: the names a building manager typed, not the PMS's
	printf '%s\n' 'b-oak,oak-101,101' 'b-oak,oak-102,102' 'b-oak,oak-204,204' \
		'b-oak,oak-305,305' 'b-oak,oak-410,Apt 410' 'b-oak,oak-600,600' \
		'b-oak,oak-g1,Garage 1' 'b-oak,oak-lobby,Lobby'
	printf '%s\n' 'b-elm,elm-1,Apt 1' 'b-elm,elm-4,Apt 4'
	printf '%s\n' 'b-ash,ash-411,Apt 411' 'b-ash,ash-u411,Unit #411' 'b-ash,ash-412,412'
} >seed.csv &&
	# the PMS unit list (MITS ILS): ids, labels, and a garage
	cat >ils.xml <<-'EOF' &&
	<?xml version="1.0" encoding="UTF-8"?>
	<PhysicalProperty>
	  <Property IDValue="oak">
	    <PropertyID><Identification IDValue="oak" IDType="property"/></PropertyID>
	    <ILS_Unit IDValue="u-101"><Units><Unit><Identification IDValue="u-101"/><MarketingName>Apt 101</MarketingName></Unit></Units></ILS_Unit>
	    <ILS_Unit IDValue="u-102"><Units><Unit><Identification IDValue="u-102"/><MarketingName>102</MarketingName></Unit></Units></ILS_Unit>
	    <ILS_Unit IDValue="u-204"><Units><Unit><Identification IDValue="u-204"/><MarketingName>B-204</MarketingName></Unit></Units></ILS_Unit>
	    <ILS_Unit IDValue="u-305"><Units><Unit><Identification IDValue="u-305"/><MarketingName>#0305</MarketingName></Unit></Units></ILS_Unit>
	    <ILS_Unit IDValue="u-410"><Units><Unit><Identification IDValue="u-410"/><MarketingName>410</MarketingName></Unit></Units></ILS_Unit>
	    <ILS_Unit IDValue="u-0410"><Units><Unit><Identification IDValue="u-0410"/><MarketingName>0410</MarketingName></Unit></Units></ILS_Unit>
	    <ILS_Unit IDValue="u-500"><Units><Unit><Identification IDValue="u-500"/><MarketingName>Penthouse</MarketingName></Unit></Units></ILS_Unit>
	    <ILS_Unit IDValue="u-600"><Units><Unit><Identification IDValue="u-600"/><MarketingName>600</MarketingName></Unit></Units></ILS_Unit>
	    <ILS_Unit IDValue="g-1"><Units><Unit><Identification IDValue="g-1"/><MarketingName>Garage 1</MarketingName><UnitEconomicStatus>Garage</UnitEconomicStatus></Unit></Units></ILS_Unit>
	  </Property>
	</PhysicalProperty>
	EOF
	{ echo $H; res u-101 P1 current; res u-101 P2 current roommate; res u-204 P3 notice
	  res u-410 P4 future; res u-0410 P5 past; res u-500 P6 eviction; res g-1 P7 current
	  res u-777 P8 current guarantor; res u-600 P9 current; } >residents.csv &&
	unitsync init >/dev/null &&
	unitsync property add oak --latch-building b-oak >/dev/null &&
	unitsync property add big --latch-building b-big >/dev/null &&
	unitsync property add elm --latch-building b-elm >/dev/null &&
	unitsync property add nobuilding >/dev/null &&
	unitsync property add ash --latch-building b-ash >/dev/null &&
	unitsync extract-xml --property oak ils.xml >/dev/null 2>&1 &&
	unitsync extract-csv residents.csv >/dev/null &&
	unitsync map add --offline --property oak u-600 oak-600 >/dev/null) || exit 1
# pages of 100 (the simulator's default), whatever the listings ask for:
# the paging is what is tested
sim_start "$tmp/seed.csv" --state "$tmp/sim.db" &&
	curl -sf -X POST -d '{"max_page_size":100}' "$SIM_URL/_sim/faults" >/dev/null || exit 1

test_expect_success 'units list follows every page and sorts by name' '
	reset_stats &&
	unitsync units list --building b-big >list 2>err &&
	test "$(wc -l <list)" = 250 &&
	head -n 2 list >actual && printf "big-001\tUnit 001\nbig-002\tUnit 002\n" >expect &&
	test_cmp expect actual && tail -n 1 list | grep -x "big-250	Unit 250" &&
	LC_ALL=C sort -t "	" -k 2 list | cmp - list &&
	test "$(simstat requests "GET /v1/buildings/{b}/units" 200)" -ge 3 &&
	grep "250 units (3 pages)" err
'

test_expect_success 'units list --property reads the property'"'"'s building' '
	unitsync units list --property oak >actual &&
	printf "oak-101\t101\noak-102\t102\noak-204\t204\noak-305\t305\noak-600\t600\noak-410\tApt 410\noak-g1\tGarage 1\noak-lobby\tLobby\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'units list: unknown building 65, no API settings 78, refused credentials 78' '
	test_expect_code 65 unitsync units list --building b-nope 2>err && grep "b-nope" err &&
	test_expect_code 65 unitsync units list --property nosuch 2>err && grep "unknown property" err &&
	test_expect_code 78 unitsync units list --property nobuilding 2>err && grep "no Latch building" err &&
	(unset UNITSYNC_LATCH_URL && test_expect_code 78 unitsync units list --building b-big 2>err) &&
	grep "UNITSYNC_LATCH_URL" err &&
	UNITSYNC_CLIENT_SECRET=wrong test_expect_code 78 unitsync units list --building b-big 2>err &&
	grep "401" err
'

test_expect_success 'units list: an API that cannot be reached is a temporary failure (75)' '
	UNITSYNC_LATCH_URL=http://127.0.0.1:9 UNITSYNC_TOKEN_URL=http://127.0.0.1:9/oauth/token \
		test_expect_code 75 unitsync units list --building b-big 2>err &&
	grep "rerun later" err
'

test_expect_success 'units list retries 5xx replies' '
	curl -sf -X POST -d "{\"error_rate\":0.3,\"methods\":\"GET\",\"random_seed\":3}" "$SIM_URL/_sim/faults" >/dev/null &&
	unitsync units list --building b-big >list 2>err; rc=$?
	curl -sf -X POST -d "{\"error_rate\":0,\"methods\":\"\"}" "$SIM_URL/_sim/faults" >/dev/null &&
	test $rc = 0 && test "$(wc -l <list)" = 250 && grep "trying again" err
'

test_expect_success 'units create prints the new uuid; the same name again is refused (65)' '
	unitsync units create --building b-oak Gym >uuid &&
	grep -Ex "[0-9a-f-]{36}" uuid &&
	units_of b-oak | grep -x "$(cat uuid)	Gym" &&
	test_expect_code 65 unitsync units create --property oak Gym >out 2>err &&
	test ! -s out && grep "already has a unit named '"'"'Gym'"'"': $(cat uuid)" err &&
	test "$(units_of b-oak | grep -c "	Gym$")" = 1 &&
	test_expect_code 2 unitsync units create --building b-oak " Gym" 2>err &&
	test_expect_code 2 unitsync units create --building b-oak --property oak Gym 2>err
'

test_expect_success 'units import-csv creates what is missing and maps; a rerun creates nothing' '
	printf "note,pms_unit_id,Name\nnew,P-251,Unit 251\nnew,,Unit 252\nhad,P-001,Unit 001\nrepeat,,Unit 252\n" >units.csv &&
	reset_stats &&
	unitsync units import-csv --property big --by alice units.csv >out &&
	echo "2 created, 1 existing, 2 mapped" >expect && test_cmp expect out &&
	units_of b-big >list && test "$(wc -l <list)" = 252 &&
	u251=$(grep "	Unit 251$" list | cut -f 1) &&
	unitsync map list --property big >map &&
	grep -x "big,P-251,$u251" map && grep -x "big,P-001,big-001" map &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM map_history WHERE property_id = '"'"'big'"'"' AND changed_by = '"'"'alice'"'"'")" = 2 &&
	unitsync units import-csv --property big units.csv >out &&
	echo "0 created, 3 existing, 0 mapped" >expect && test_cmp expect out &&
	test "$(units_of b-big | wc -l)" = 252 &&
	test "$(simstat requests "POST /v1/buildings/{b}/units" 201)" = 2 &&
	test "$(simstat effects_repeated)" = 0
'

test_expect_success 'units import-csv sends Idempotency-Key = sha256(building:name): a lost reply makes no twin' '
	printf "name\nDrop 1\nDrop 2\nDrop 3\nDrop 4\nDrop 5\nDrop 6\n" >drop.csv &&
	curl -sf -X POST -d "{\"drop_rate\":0.5,\"methods\":\"POST\",\"random_seed\":5}" "$SIM_URL/_sim/faults" >/dev/null &&
	reset_stats &&
	{ unitsync units import-csv --building b-big drop.csv >out 2>err; rc=$?; true; } &&
	curl -sf -X POST -d "{\"drop_rate\":0,\"methods\":\"\"}" "$SIM_URL/_sim/faults" >/dev/null &&
	test $rc = 0 && grep -x "6 created, 0 existing, 0 mapped" out &&
	test "$(simstat dropped)" -ge 1 && test "$(simstat idempotency_replayed)" -ge 1 &&
	test "$(simstat effects_repeated)" = 0 &&
	test "$(units_of b-big | grep -c "	Drop ")" = 6 &&
	for i in 1 2 3 4 5 6; do
		key=$(printf "b-big:Drop $i" | sha256sum | cut -d " " -f 1) &&
		test "$(sqlite3 "$tmp/sim.db" "SELECT count(*) FROM idempotency WHERE key = '"'"'$key'"'"'")" = 1 || exit 1
	done &&
	unitsync units import-csv --building b-big drop.csv >out &&
	grep -x "0 created, 6 existing, 0 mapped" out
'

test_expect_success 'units import-csv trims the pms_unit_id as extract does' '
	printf "name,pms_unit_id\nUnit 002,\" P-002\t\"\n" >trim.csv &&
	unitsync units import-csv --property big trim.csv >out &&
	echo "0 created, 1 existing, 1 mapped" >expect && test_cmp expect out &&
	unitsync map list --property big >map &&
	grep -x "big,P-002,big-002" map
'

test_expect_success 'units import-csv: a bad file is rejected whole, naming file and line' '
	before=$(units_of b-big | wc -l) &&
	printf "name,pms_unit_id\nUnit 300,P-300\n,P-301\nUnit 302,P-300\nUnit 303,P-001\n" >bad.csv &&
	test_expect_code 65 unitsync units import-csv --property big bad.csv >out 2>err &&
	grep "'"'"'bad.csv'"'"' line 3: the name is empty" err &&
	grep "'"'"'bad.csv'"'"' lines 2 and 4: PMS unit '"'"'P-300'"'"' is given two Latch units" err &&
	test "$(units_of b-big | wc -l)" = "$before" &&
	printf "name,pms_unit_id\nUnit 301,P-301\nUnit 001,P-302\n" >taken.csv &&
	test_expect_code 65 unitsync units import-csv --property big taken.csv 2>err &&
	grep "'"'"'taken.csv'"'"' line 3: Latch unit '"'"'Unit 001'"'"' (big-001) is already mapped from PMS unit '"'"'P-001'"'"'" err &&
	test "$(units_of b-big | wc -l)" = "$before" &&
	printf "name,pms_unit_id\nUnit 301,P-301\n" >nop.csv &&
	test_expect_code 65 unitsync units import-csv --building b-big nop.csv 2>err &&
	grep "line 2: pms_unit_id '"'"'P-301'"'"' needs --property" err &&
	printf "label\nx\n" >nohead.csv &&
	test_expect_code 65 unitsync units import-csv --building b-big nohead.csv 2>err &&
	grep "line 1: no name column" err
'

test_expect_success 'map suggest proposes pairs with confidences, and changes nothing' '
	unitsync map suggest --property oak >actual 2>err &&
	cat >expect <<-EOF &&
	property_id,pms_unit_id,latch_unit_id,latch_unit_name,confidence,rule
	oak,u-0410,oak-410,Apt 410,0.90,normalized
	oak,u-101,oak-101,101,0.90,normalized
	oak,u-102,oak-102,102,1.00,exact
	oak,u-204,oak-204,204,0.60,unit-number
	oak,u-305,oak-305,305,0.90,normalized
	oak,u-410,oak-410,Apt 410,0.90,normalized
	EOF
	test_cmp expect actual &&
	grep "3 unambiguous exact or normalized" err &&
	unitsync map list --property oak >map && test "$(wc -l <map)" = 2
'

test_expect_success 'map suggest --apply maps only the unambiguous exact and normalized pairs' '
	unitsync map suggest --property oak --apply --by bob >out 2>err &&
	test_cmp expect out &&
	unitsync map list --property oak >actual &&
	cat >expect <<-EOF &&
	property_id,pms_unit_id,latch_unit_id
	oak,u-101,oak-101
	oak,u-102,oak-102
	oak,u-305,oak-305
	oak,u-600,oak-600
	EOF
	test_cmp expect actual &&
	grep "u-0410.*not applied" err && grep "u-410.*not applied" err &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM map_history WHERE changed_by = '"'"'bob'"'"' AND before_latch_unit_id IS NULL")" = 3 &&
	unitsync map suggest --property oak --apply >again 2>err &&
	cat >expect <<-EOF &&
	property_id,pms_unit_id,latch_unit_id,latch_unit_name,confidence,rule
	oak,u-0410,oak-410,Apt 410,0.90,normalized
	oak,u-204,oak-204,204,0.60,unit-number
	oak,u-410,oak-410,Apt 410,0.90,normalized
	EOF
	test_cmp expect again && unitsync map list --property oak >map && test_cmp actual map
'

test_expect_success 'map unmapped: PMS units with residents and no mapping, then free Latch units' '
	unitsync map unmapped --property oak >actual &&
	{ echo "PMS units of property '"'"'oak'"'"' with current, notice, eviction or future residents and no mapping: 3"
	  printf "u-204\tB-204\t1\nu-410\t410\t1\nu-500\tPenthouse\t1\n\n"
	  echo "Latch units of building '"'"'b-oak'"'"' that no PMS unit maps to: 5"
	  printf "oak-204\t204\noak-410\tApt 410\noak-g1\tGarage 1\n%s\tGym\noak-lobby\tLobby\n" "$(cat uuid)"; } >expect &&
	test_cmp expect actual
'

test_expect_success 'map unmapped without the Latch API prints the PMS section and says why' '
	(unset UNITSYNC_LATCH_URL && unitsync map unmapped --property oak >actual) &&
	head -n 5 actual >head && head -n 5 expect >expect_head && test_cmp expect_head head &&
	tail -n 1 actual | grep "not listed: this needs the Latch API" &&
	test "$(wc -l <actual)" = 6
'

# u-410 ("410") and u-0410 ("0410") normalize like the building's "Apt 410"
# (oak-410): a twin would take the residents of the door named by hand
test_expect_success 'units import-pms --dry-run plans, changes nothing, and exits 1 as the import does' '
	test_expect_code 1 unitsync units import-pms --property oak --dry-run >actual 2>err &&
	cat >expect <<-EOF &&
	create	u-204	B-204
	create	u-500	Penthouse
	create	u-777	u-777
	dry run: 3 to create, 0 existing, 3 to map, 2 skipped
	EOF
	test_cmp expect actual &&
	grep -F "residents.csv:5: PMS unit '"'"'u-410'"'"': ambiguous: a new Latch unit '"'"'410'"'"' would be named like '"'"'Apt 410'"'"' (oak-410)" err &&
	grep -F "residents.csv:6: PMS unit '"'"'u-0410'"'"': ambiguous" err &&
	test "$(units_of b-oak | wc -l)" = 9
'

test_expect_success 'units import-pms creates a unit per unmapped dwelling and maps it, never a twin (exit 1); a rerun does nothing' '
	reset_stats &&
	test_expect_code 1 unitsync units import-pms --property oak --by carol >out 2>err &&
	echo "3 created, 0 existing, 3 mapped, 2 skipped" >expect && test_cmp expect out &&
	test "$(simstat requests "POST /v1/buildings/{b}/units" 201)" = 3 &&
	grep -c "ambiguous" err | grep -x 2 &&
	units_of b-oak >list && test "$(wc -l <list)" = 12 &&
	for n in B-204 Penthouse u-777; do grep -q "	$n$" list || exit 1; done &&
	! grep -e "	410$" -e "	0410$" list &&
	! grep "	Garage 1$" list | grep -v oak-g1 &&
	unitsync map list --property oak >map && test "$(wc -l <map)" = 8 &&
	grep -x "oak,u-204,$(grep "	B-204$" list | cut -f 1)" map &&
	! grep -e "^oak,g-1," -e "^oak,u-410," -e "^oak,u-0410," map &&
	test_expect_code 1 unitsync units import-pms --property oak >out 2>err &&
	echo "0 created, 0 existing, 0 mapped, 2 skipped" >expect && test_cmp expect out &&
	test "$(units_of b-oak | wc -l)" = 12 &&
	unitsync map unmapped --property oak >report &&
	head -n 1 report | grep "no mapping: 1$" && grep -x "u-410	410	1" report
'

test_expect_success 'units import-pms maps a free unit of that name instead of making a twin' '
	{ echo $H; echo "elm,Apt 1,E1,HE1,primary,current,A,B,e1@example.com,,2024-01-01,"
	  echo "elm,Apt 2,E2,HE2,primary,current,A,B,e2@example.com,,2024-01-01,"; } >elm.csv &&
	unitsync extract-csv elm.csv >/dev/null &&
	unitsync units import-pms --property elm --dry-run >plan &&
	grep -x "map	Apt 1	Apt 1	elm-1" plan && grep -x "create	Apt 2	Apt 2" plan &&
	unitsync units import-pms --property elm >out &&
	echo "1 created, 1 existing, 2 mapped, 0 skipped" >expect && test_cmp expect out &&
	test "$(units_of b-elm | grep -c "	Apt 1$")" = 1 &&
	unitsync map list --property elm | grep -x "elm,Apt 1,elm-1"
'

test_expect_success 'units import-pms never maps a second PMS unit onto a Latch unit (exit 1)' '
	unitsync map add --offline --property big P-elm4 elm-4 >/dev/null &&
	{ cat elm.csv; echo "elm,Apt 4,E4,HE4,primary,current,A,B,e4@example.com,,2024-01-01,"
	  echo "elm,Apt 5,E5,HE5,primary,current,A,B,e5@example.com,,2024-01-01,"; } >elm2.csv &&
	unitsync extract-csv elm2.csv >/dev/null &&
	test_expect_code 1 unitsync units import-pms --property elm >out 2>err &&
	echo "1 created, 0 existing, 1 mapped, 1 skipped" >expect && test_cmp expect out &&
	grep "Latch unit '"'"'Apt 4'"'"' (elm-4) is already mapped from PMS unit '"'"'P-elm4'"'"' of property '"'"'big'"'"'" err &&
	! unitsync map list --property elm | grep "^elm,Apt 4," &&
	unitsync map list --property elm | grep "^elm,Apt 5,"
'

# ash: "Apt 411" and "Unit #411" are both "411"; "412" is the PMS's own name
test_expect_success 'units import-pms: a name normalizing like units of the building creates nothing, naming file, line, PMS unit and every candidate (exit 1)' '
	{ echo $H; echo "ash,411,A1,HA1,primary,current,A,B,a1@example.com,,2024-01-01,"
	  echo "ash,412,A2,HA2,primary,current,A,B,a2@example.com,,2024-01-01,"
	  echo "ash,413,A3,HA3,primary,current,A,B,a3@example.com,,2024-01-01,"; } >ash.csv &&
	unitsync extract-csv ash.csv >/dev/null &&
	reset_stats &&
	test_expect_code 1 unitsync units import-pms --property ash >out 2>err &&
	echo "1 created, 1 existing, 2 mapped, 1 skipped" >expect && test_cmp expect out &&
	echo "unitsync-units: warning: ash.csv:2: PMS unit '"'"'411'"'"': ambiguous: a new Latch unit '"'"'411'"'"' would be named like '"'"'Apt 411'"'"' (ash-411), '"'"'Unit #411'"'"' (ash-u411) of building '"'"'b-ash'"'"' (normalized '"'"'411'"'"'); nothing created for it (map it by hand: '"'"'unitsync map add --property ash 411 LATCH_UNIT'"'"')" >expect &&
	grep -v "^unitsync-units: info" err >actual && test_cmp expect actual &&
	test "$(simstat requests "POST /v1/buildings/{b}/units" 201)" = 1 &&
	units_of b-ash | cut -f 2 >names && printf "412\n413\nApt 411\nUnit #411\n" >expect &&
	test_cmp expect names &&
	unitsync map list --property ash >map && ! grep "^ash,411," map &&
	grep -x "ash,412,ash-412" map &&
	unitsync map add --property ash 411 ash-411 >/dev/null &&
	unitsync units import-pms --property ash >out &&
	echo "0 created, 0 existing, 0 mapped, 0 skipped" >expect && test_cmp expect out
'

[ $failed -eq 0 ]
