#!/usr/bin/env bash
# t0810-map-latch-units: `map add` and `map import` refuse a Latch unit
# that the property's Latch building does not have, naming it (and the
# line), with one paged listing of the building per command; --offline
# maps without asking Latch (issue 17).  Against latch-sim.
. "$(dirname "$0")/lib.sh"
test_plan 9

reset_stats() { curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null; }
# units_gets: GET requests of a building's units since the last reset
units_gets() { sim_replies "GET /v1/buildings/{b}/units"; }

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	# 250 units: three pages of the simulator's 100
	for i in $(seq 1 250); do printf 'b-oak,oak-%03d,Unit %03d\n' "$i" "$i"; done
	printf '%s\n' 'b-elm,elm-1,Apt 1' 'b-elm,elm-2,Apt 2'
} >seed.csv &&
	unitsync init >/dev/null &&
	unitsync property add oak --latch-building b-oak >/dev/null &&
	unitsync property add elm --latch-building b-elm >/dev/null &&
	unitsync property add bare >/dev/null) || exit 1
# pages of 100 (the simulator's default), whatever the listings ask for:
# the paging is what is tested
sim_start "$tmp/seed.csv" &&
	curl -sf -X POST -d '{"max_page_size":100}' "$SIM_URL/_sim/faults" >/dev/null || exit 1

test_expect_success 'map add of a unit of the building maps it, after one paged listing' '
	reset_stats &&
	unitsync map add --property oak 101 oak-101 >out 2>err &&
	grep -q "(added)" out &&
	test "$(units_gets)" = 3 &&
	grep -q "Latch building .b-oak.: 250 units, 3 pages" err
'

test_expect_success 'map add of a unit the building lacks exits 65 naming it; nothing mapped' '
	unitsync map list >before &&
	test_expect_code 65 unitsync map add --property oak 102 oak-999 2>err &&
	grep -q "Latch unit .oak-999. does not exist in Latch building .b-oak. of property .oak." err &&
	grep -q -- "--offline" err &&
	test_expect_code 65 unitsync map add --property oak 102 elm-1 2>err &&
	grep -q "Latch unit .elm-1. does not exist in Latch building .b-oak." err &&
	unitsync map list >after &&
	test_cmp before after
'

test_expect_success 'map add of a mapping already so changes nothing and asks Latch nothing' '
	reset_stats &&
	unitsync map add --property oak 101 oak-101 >out &&
	grep -q "(unchanged)" out &&
	test "$(units_gets)" = 0
'

test_expect_success 'map add --offline maps it without asking Latch' '
	reset_stats &&
	unitsync map add --offline --property oak 102 oak-999 >out &&
	grep -q "(added)" out &&
	test "$(units_gets)" = 0 &&
	unitsync map remove --property oak 102 >/dev/null
'

test_expect_success 'a property without a Latch building, or no Latch settings: exit 78 naming --offline' '
	test_expect_code 78 unitsync map add --property bare 1 oak-001 2>err &&
	grep -q "property .bare. has no Latch building.*--offline" err &&
	(unset UNITSYNC_LATCH_URL UNITSYNC_TOKEN_URL UNITSYNC_CLIENT_ID UNITSYNC_CLIENT_SECRET &&
	 test_expect_code 78 unitsync map add --property oak 103 oak-103 2>err) &&
	unitsync map add --offline --property bare 1 bare-1 >/dev/null
'

test_expect_success 'Latch unreachable: exit 75, nothing mapped' '
	unitsync map list >before &&
	(UNITSYNC_LATCH_URL=http://127.0.0.1:9 UNITSYNC_TOKEN_URL=http://127.0.0.1:9/oauth/token \
	 test_expect_code 75 unitsync map add --property oak 103 oak-103 2>err) &&
	unitsync map list >after &&
	test_cmp before after
'

test_expect_success 'map import: a missing unit is rejected naming its line, nothing imported' '
	unitsync map list >before &&
	cat >map.csv <<-EOF &&
	property_id,pms_unit_id,latch_unit_id
	oak,110,oak-110
	elm,1,elm-1
	oak,111,oak-nope
	oak,112,oak-112
	elm,2,elm-9
	oak,101,oak-101
	EOF
	reset_stats &&
	test_expect_code 65 unitsync map import map.csv 2>err &&
	grep -q "map.csv. line 4: Latch unit .oak-nope. does not exist in Latch building .b-oak. of property .oak." err &&
	grep -q "map.csv. line 6: Latch unit .elm-9. does not exist in Latch building .b-elm. of property .elm." err &&
	grep -q "2 problems, nothing imported" err &&
	test "$(grep -c "does not exist" err)" = 2 &&
	unitsync map list >after &&
	test_cmp before after &&
	test "$(units_gets)" = 4
'

test_expect_success 'map import of existing units: one listing per building, not per row' '
	grep -v -e oak-nope -e elm-9 map.csv >good.csv &&
	reset_stats &&
	unitsync map import good.csv >out &&
	grep -qx "3 added, 0 changed, 0 removed, 1 unchanged" out &&
	test "$(units_gets)" = 4
'

test_expect_success 'map import --offline takes what Latch lacks; a mapping left as it is is not checked' '
	reset_stats &&
	unitsync map import --offline map.csv >out &&
	grep -qx "2 added, 0 changed, 0 removed, 4 unchanged" out &&
	test "$(units_gets)" = 0 &&
	unitsync map list --property elm >actual &&
	grep -qx "elm,2,elm-9" actual &&
	printf "property_id,pms_unit_id,latch_unit_id\nelm,2,elm-9\n" >same.csv &&
	unitsync map import same.csv >out &&
	grep -qx "0 added, 0 changed, 0 removed, 1 unchanged" out &&
	test_expect_code 2 unitsync map list --offline
'
