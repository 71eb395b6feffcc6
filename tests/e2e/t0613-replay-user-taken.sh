#!/usr/bin/env bash
# t0613-replay-user-taken: a USER_CREATE replayed under its Idempotency-Key
# (t0612) names the Latch user its first request made; when that user is
# recorded for another resident since (here: a newcomer given the e-mail
# the resident had, whose own create found the user by it), load does not
# record it for a second person: the row fails naming both (reviewer,
# 2026-12-06: two residents were left on one Latch user, each with a key
# to the other's home).
. "$(dirname "$0")/lib.sh"
test_plan 2

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
(cd "$tmp" && printf 'building_uuid,unit_uuid,name\nb1,L1,1\nb1,L9,9\n' >seed.csv &&
	printf 'property_id,pms_unit_id,latch_unit_id\np1,U1,L1\np1,U9,L9\n' >map.csv &&
	unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	unitsync map import --offline map.csv >/dev/null &&
	{ echo $H; echo "p1,U1,R1,H1,primary,current,Ann,One,ann@old.example,,2024-01-01,"; } >n1.csv &&
	# A9 sorts before R1: with one connection its create comes first
	{ echo $H; echo "p1,U1,R1,H1,primary,current,Ann,One,ann@new.example,,2024-01-01,"
	  echo "p1,U9,A9,H9,primary,current,Zed,Nine,ann@old.example,,2024-01-01,"; } >n2.csv) || exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'night 1: Ann'"'"'s user is made, the reply lost' '
	unitsync extract-csv n1.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t1.out &&
	faults "{\"drop_rate\":1,\"methods\":\"POST /v1/users\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$(tail -n 1 t1.out)" >/dev/null 2>&1 &&
	faults "{\"drop_rate\":0,\"methods\":\"\"}"
'

test_expect_success 'night 2: Zed, given ann@old, takes that user by its e-mail; Ann'"'"'s replay does not take it too' '
	unitsync extract-csv n2.csv >/dev/null &&
	unitsync transform --as-of 2024-06-02 --out runs >t2.out &&
	run=$(tail -n 1 t2.out) &&
	test_expect_code 1 unitsync load --concurrency 1 "$run" >l2.out 2>l2.err &&
	grep -F ",R1," "$run/load-report.csv" | grep ",failed," | grep -F "is recorded for p1/A9 since: not taken for two people" &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(DISTINCT pms_person_id) FROM person_user
		WHERE latch_user_id IN (SELECT latch_user_id FROM person_user WHERE pms_person_id = '\''A9'\'')")" = 1 &&
	curl -sf "$SIM_URL/_sim/state" | python3 -c "
import json, sys
s = json.load(sys.stdin)
users = {}
for r in s[\"residents\"]:
    users.setdefault(r[\"userUuid\"], []).append(r[\"unit\"])
assert all(len(u) == 1 for u in users.values()), users
assert sorted(sum(users.values(), [])) == [\"L9\"], users
"
'
