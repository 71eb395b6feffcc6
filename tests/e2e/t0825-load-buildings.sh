#!/usr/bin/env bash
# t0825-load-buildings: load lists the Latch units of several buildings at
# once before any request leaves (issue 18: one after another they cost a
# round trip a page), on one access token: every page of every building
# is fetched once, a building Latch lacks fails only its own ASSIGNs
# (latch_unit_missing), the outcome is told in the manifest's order, and
# a listing that cannot be made (no token, the API failing) ends the load
# with nothing sent.  Against latch-sim.
. "$(dirname "$0")/lib.sh"
test_plan 4

faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
# everything sent but the token and the listings
changes() {
	curl -sf "$SIM_URL/_sim/stats" | python3 -c '
import json, sys
r = json.load(sys.stdin)["requests"]
print(sum(sum(v.values()) for k, v in r.items() if not k.startswith(("POST /oauth", "GET /v1/buildings"))))'
}

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
# p1..p6 in buildings b1..b6, 150 units each (two pages: latch-sim pages by
# 100 here, whatever load asks for);
# p7's building b7 is not in Latch
(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for b in 1 2 3 4 5 6; do
		for u in $(seq 150); do echo "b$b,L$b-$u,Unit $u"; done
	done
} >seed.csv && {
	echo $H
	for p in 1 2 3 4 5 6 7; do
		for u in 1 2; do echo "p$p,$u,R$p$u,H$p$u,primary,current,F,L,r$p$u@example.com,,2024-01-01,"; done
	done
} >export.csv && unitsync init >/dev/null &&
	for p in 1 2 3 4 5 6 7; do
		unitsync property add "p$p" --latch-building "b$p" >/dev/null &&
			unitsync map add --offline --property "p$p" 1 "L$p-1" >/dev/null &&
			unitsync map add --offline --property "p$p" 2 "L$p-2" >/dev/null || exit 1
	done &&
	unitsync extract-csv export.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t.out) || exit 1
run=$(tail -n 1 "$tmp/t.out")
sim_start "$tmp/seed.csv" && faults '{"max_page_size":100}' || exit 1

test_expect_success 'seven buildings listed, each page once, on one token; the one Latch lacks fails alone' '
	test_expect_code 1 unitsync load "$run" >load.out 2>load.err &&
	for b in 1 2 3 4 5 6; do grep "Latch building '\''b$b'\'': 150 units, 2 pages" load.err || return 1; done &&
	grep "Latch has no building '\''b7'\''" load.err &&
	test "$(sim_replies "GET /v1/buildings/{b}/units" 200)" = 12 &&
	test "$(sim_replies "GET /v1/buildings/{b}/units" 404)" = 1 &&
	test "$(sim_replies "POST /oauth/token" 200)" = 1 &&
	test "$(grep -c ",latch_unit_missing$" "$run/load-report.csv")" = 4 &&
	test "$(curl -sf "$SIM_URL/_sim/state" | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"residents\"]))")" = 12
'

test_expect_success 'the outcome is told in the manifest order of the properties' '
	sed -n "s/.*\(Latch building '\''b[0-9]'\''\): .*/\1/p; s/.*\(no building '\''b7'\''\): the ASSIGNs.*/\1/p" load.err >order &&
	printf "%s\n" "Latch building '\''b1'\''" "Latch building '\''b2'\''" "Latch building '\''b3'\''" \
		"Latch building '\''b4'\''" "Latch building '\''b5'\''" "Latch building '\''b6'\''" \
		"no building '\''b7'\''" >expect &&
	test_cmp expect order
'

test_expect_success 'the token refused: exit 78, named as the first listing, nothing sent' '
	pages=$(sim_replies "GET /v1/buildings/{b}/units" 200) && sent=$(changes) &&
	UNITSYNC_CLIENT_SECRET=wrong test_expect_code 78 unitsync load "$run" >l2.out 2>l2.err &&
	grep "GET /v1/buildings/b1/units: token endpoint .* answered 401" l2.err &&
	grep "nothing was sent" l2.err &&
	test "$(sim_replies "GET /v1/buildings/{b}/units" 200)" = "$pages" &&
	test "$(changes)" = "$sent"
'

test_expect_success 'the listings failing (503 to every GET): exit 75, nothing sent, rerun later' '
	pages=$(sim_replies "GET /v1/buildings/{b}/units" 200) && sent=$(changes) &&
	faults "{\"503_rate\":1,\"methods\":\"GET\"}" &&
	test_expect_code 75 unitsync load --max-attempts 2 "$run" >l3.out 2>l3.err &&
	faults "{\"503_rate\":0}" &&
	grep "nothing was sent: rerun later" l3.err &&
	test "$(sim_replies "GET /v1/buildings/{b}/units" 200)" = "$pages" &&
	test "$(changes)" = "$sent"
'
