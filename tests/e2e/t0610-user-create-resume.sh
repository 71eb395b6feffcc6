#!/usr/bin/env bash
# t0610-user-create-resume: a USER_CREATE a killed load left unconfirmed is
# not made twice by the next run, and a resident without e-mail is matched
# to their Latch user by phone (issue 15, item 10); one with an e-mail is
# created at once, and looked up only when Latch answers 409 (issue 18).
. "$(dirname "$0")/lib.sh"
test_plan 12

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
# R1: phone only, created by unitsync; R2: phone only, already in Latch
# (made by hand, the phone written another way); R3: a phone without digits,
# which cannot be looked up: created straight away
night1() {
	echo $H
	echo "p1,U1,R1,H1,primary,current,Ann,One,,+1 (555) 010-0001,2024-01-01,"
	echo "p1,U2,R2,H2,primary,current,Bob,Two,,555.010.0002,2024-01-01,"
	echo "p1,U3,R3,H3,primary,current,Cy,Three,,see office,2024-01-01,"
}

# Latch's users as "phone|unit" lines (unit "-" when not assigned), sorted
latch_users() {
	curl -sf "$SIM_URL/_sim/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
unit = {r["userUuid"]: r["unit"] for r in s["residents"]}
for u in s["users"]:
    print("%s|%s" % (u["phone"], unit.get(u["userUuid"], "-")))' | sort
}
stats() { curl -sf "$SIM_URL/_sim/stats"; }
sim_token() {
	curl -sf -X POST -H 'Content-Type: application/json' \
		-d '{"client_id":"demo","client_secret":"demo-secret","grant_type":"client_credentials"}' \
		"$SIM_URL/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
# a user made in Latch by hand: add_user FIRST PHONE
add_user() {
	curl -sf -X POST -H "Authorization: Bearer $(sim_token)" -H 'Content-Type: application/json' \
		-d "{\"firstName\":\"$1\",\"phone\":\"$2\"}" "$SIM_URL/v1/users" >/dev/null
}
faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
# the journal of PERSON's USER_CREATE rows: "run|state|key" lines, oldest first
creates_of() {
	sqlite3 "$UNITSYNC_DB" "SELECT j.run_id, j.state, j.idempotency_key FROM journal j
		JOIN delta_history h ON h.run_id = j.run_id AND h.seq = j.seq
		WHERE h.op = 'USER_CREATE' AND h.property_id = 'p1' AND h.pms_person_id = '$1'
		ORDER BY j.run_id"
}

(cd "$tmp" && printf 'building_uuid,unit_uuid,name\nb1,L1,Unit 1\nb1,L2,Unit 2\nb1,L3,Unit 3\nb1,L4,Unit 4\nb1,L5,Unit 5\n' >seed.csv &&
	printf 'property_id,pms_unit_id,latch_unit_id\np1,U1,L1\np1,U2,L2\np1,U3,L3\np1,U4,L4\np1,U5,L5\n' >map.csv &&
	night1 >n1.csv && unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	unitsync map import --offline map.csv >/dev/null && unitsync extract-csv --property p1 n1.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t1.out) || exit 1
run1=$(run_dir "$tmp/t1.out")
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'night 1: user creations applied but their replies lost leave them inflight (exit 75)' '
	add_user Bob "(555) 010-0002" &&
	faults "{\"drop_rate\":1,\"methods\":\"POST /v1/users\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$run1" >l1.out 2>l1.err &&
	test "$(creates_of R1 | cut -d"|" -f2)" = inflight &&
	test "$(creates_of R3 | cut -d"|" -f2)" = inflight &&
	printf "(555) 010-0002|L2\n+1 (555) 010-0001|-\nsee office|-\n" >expect &&
	latch_users >actual && test_cmp expect actual
'

test_expect_success 'a resident without e-mail already in Latch is matched by phone, not created' '
	test "$(creates_of R2 | cut -d"|" -f2)" = done &&
	curl -sf "$SIM_URL/_sim/state" | python3 -c "
import json, sys
print([u[\"userUuid\"] for u in json.load(sys.stdin)[\"users\"] if u[\"phone\"] == \"(555) 010-0002\"][0])" >expect &&
	sqlite3 "$UNITSYNC_DB" "SELECT latch_user_id FROM person_user WHERE pms_person_id = '\''R2'\''" >actual &&
	test_cmp expect actual &&
	test "$(stats | python3 -c "import json,sys; print(json.load(sys.stdin)[\"effects_repeated\"])")" = 0
'

(cd "$tmp" && unitsync transform --as-of 2024-06-02 --out runs >t2.out) || exit 1
run2=$(run_dir "$tmp/t2.out")

test_expect_success 'night 2: a new run sends the unconfirmed creations with the first run'\''s keys' '
	faults "{\"drop_rate\":0,\"methods\":\"\"}" &&
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	unitsync load "$run2" >l2.out 2>l2.err &&
	grep "4 done, 0 already done, 0 failed" l2.out &&
	for p in R1 R3; do
		creates_of $p >j.$p &&
		test "$(cut -d"|" -f1,2 j.$p)" = "$(printf "%s|superseded\n%s|done" "${run1##*/}" "${run2##*/}")" &&
		test "$(cut -d"|" -f3 j.$p | sort -u | wc -l)" = 1 || return 1
	done
'

test_expect_success 'Latch holds exactly one user per phone, each resident in their unit' '
	printf "(555) 010-0002|L2\n+1 (555) 010-0001|L1\nsee office|L3\n" >expect &&
	latch_users >actual && test_cmp expect actual
'

test_expect_success 'R1 was found by phone; R3 (no digits) was replayed by key; nothing applied twice' '
	stats >stats.json && cat stats.json &&
	python3 -c "
import json
s = json.load(open(\"stats.json\"))
assert s[\"requests\"][\"GET /v1/users\"] == {\"200\": 1}, s
assert s[\"requests\"][\"POST /v1/users\"] == {\"201\": 1}, s
assert s[\"idempotency_replayed\"] == 1, s
assert s[\"effects_repeated\"] == 0, s
assert s[\"key_reused_for_different_request\"] == 0, s
"
'

test_expect_success 'the dry run shows the phone lookup with the digits only' '
	unitsync load --dry-run "$run2" >dry.out &&
	grep -F "GET /v1/users?phone=15550100001, then if absent POST /v1/users" dry.out &&
	grep -E "^[0-9]+ POST /v1/users \{\"firstName\":\"Cy\"" dry.out
'

# night 3: a resident whose phone two Latch users have
(cd "$tmp" && { night1 && echo "p1,U4,R4,H4,primary,current,Di,Four,,555-010-0004,2024-01-01,"; } >n3.csv &&
	unitsync extract-csv --property p1 n3.csv >/dev/null &&
	unitsync transform --as-of 2024-06-03 --out runs >t3.out) || exit 1
run3=$(run_dir "$tmp/t3.out")

test_expect_success 'night 3: two Latch users with the phone fail the row with the reason, nothing created' '
	add_user Di "5550100004" && add_user Dee "555 010 0004" &&
	test_expect_code 1 unitsync load "$run3" >l3.out 2>l3.err &&
	grep "0 done, 0 already done, 2 failed" l3.out &&
	grep -F "R4,failed,200,GET /v1/users: malformed reply: reply lists two users with the phone" "$run3/load-report.csv" &&
	test "$(latch_users | grep -c "0004|-")" = 2
'

test_expect_success 'the journal records the key each request was sent with' '
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM journal WHERE state = '\''inflight'\''")" = 0 &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(DISTINCT idempotency_key) FROM journal")" = \
		"$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) - 2 FROM journal")"
'

test_expect_success 'the run loaded again sends nothing: its failed rows stay failed' '
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	test_expect_code 1 unitsync load "$run3" >again.out &&
	grep "0 done, 0 already done, 2 failed" again.out &&
	test "$(stats | python3 -c "import json,sys; print(json.load(sys.stdin)[\"total\"])")" = 0
'

# nights 4 and 5: R5 (a phone without digits) is created with its reply
# lost, then renamed in the PMS before the next run sends it again
n45() { # n45 FIRST_NAME
	night1 && echo "p1,U5,R5,H5,primary,current,$1,Five,,front desk,2024-01-01,"
}
(cd "$tmp" && n45 Ed >n4.csv && unitsync extract-csv --property p1 n4.csv >/dev/null &&
	unitsync transform --as-of 2024-06-04 --out runs >t4.out) || exit 1
run4=$(run_dir "$tmp/t4.out")

test_expect_success 'night 4: R5 created, its reply lost' '
	faults "{\"drop_rate\":1,\"methods\":\"POST /v1/users\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$run4" >l4.out 2>l4.err &&
	test "$(creates_of R5 | cut -d"|" -f2)" = inflight &&
	test "$(latch_users | grep -c "^front desk|-")" = 1
'

(cd "$tmp" && n45 Eddie >n5.csv && unitsync extract-csv --property p1 n5.csv >/dev/null &&
	unitsync transform --as-of 2024-06-05 --out runs >t5.out) || exit 1
run5=$(run_dir "$tmp/t5.out")

test_expect_success 'night 5: R5 renamed meanwhile: Latch refuses the borrowed key; the request it holds, replayed, names the user it made: recorded, no second user' '
	faults "{\"drop_rate\":0,\"methods\":\"\"}" &&
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	unitsync load "$run5" >l5.out 2>l5.err &&
	grep "2 done, 0 already done, 0 failed" l5.out &&
	test "$(latch_users | grep -c "^front desk")" = 1 &&
	test "$(latch_users | grep "^front desk")" = "front desk|L5" &&
	test "$(creates_of R5 | cut -d"|" -f2 | tr "\n" " ")" = "superseded done " &&
	stats >stats5.json &&
	python3 -c "
import json
s = json.load(open(\"stats5.json\"))
# the renamed body refused (422), the first body replayed (201), nothing made
assert s[\"requests\"][\"POST /v1/users\"] == {\"422\": 1, \"201\": 1}, s
assert s[\"idempotency_replayed\"] == 1, s
assert s[\"effects_repeated\"] == 0, s
"
'

# night 6: residents with an e-mail, one new to Latch, one whose e-mail (in
# another letter case) a Latch user made by hand already has
(cd "$tmp" && { n45 Eddie &&
	echo "p1,U4,R7,H7,primary,current,Eve,Seven,eve@example.com,,2024-01-01," &&
	echo "p1,U4,R8,H7,roommate,current,Fay,Eight,FAY@example.com,,2024-01-01,"; } >n6.csv &&
	unitsync extract-csv --property p1 n6.csv >/dev/null &&
	unitsync transform --as-of 2024-06-06 --out runs >t6.out) || exit 1
run6=$(run_dir "$tmp/t6.out")

test_expect_success 'night 6: an e-mail is created at once; one Latch has answers 409 and is looked up' '
	curl -sf -X POST -H "Authorization: Bearer $(sim_token)" -H "Content-Type: application/json" \
		-d "{\"firstName\":\"Fay\",\"email\":\"fay@example.com\"}" "$SIM_URL/v1/users" |
		python3 -c "import json,sys; print(json.load(sys.stdin)[\"userUuid\"])" >expect &&
	unitsync load --dry-run "$run6" >dry6.out &&
	grep -E "^[0-9]+ POST /v1/users \{.*Eve.*\} Idempotency-Key: [0-9a-f]+, then if 409 GET /v1/users\?email=eve%40example.com" dry6.out &&
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	unitsync load "$run6" >l6.out 2>l6.err &&
	grep "4 done, 0 already done, 0 failed" l6.out &&
	sqlite3 "$UNITSYNC_DB" "SELECT latch_user_id FROM person_user WHERE pms_person_id = '\''R8'\''" >actual &&
	test_cmp expect actual &&
	stats >stats6.json &&
	python3 -c "
import json
s = json.load(open(\"stats6.json\"))
assert s[\"requests\"][\"POST /v1/users\"] == {\"201\": 1, \"409\": 1}, s
assert s[\"requests\"][\"GET /v1/users\"] == {\"200\": 1}, s
# the create answered 409 found its effect there (and made nothing)
assert s[\"effects_repeated\"] == 1, s
"
'

[ $failed -eq 0 ]
