#!/usr/bin/env bash
# t0612-user-create-contact-change: a USER_CREATE left unconfirmed (sent,
# reply lost) whose resident's e-mail or phone changes in the PMS before the
# next run sends it again under the same Idempotency-Key.  Latch holds the
# key for the first body and refuses the new one (422 IDEMPOTENCY_KEY_REUSED);
# that used to fail the row every night, the resident never getting a key.
# Now load replays the first body under the key: the user it made is the
# resident's (recorded, the change then reported as for any known user), and
# a first request that made nothing is sent again, as the resident is now,
# under the row's own key; one it cannot decide fails naming the resident,
# both contacts and the fix.
. "$(dirname "$0")/lib.sh"
test_plan 11

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
# p1 (night 1's creations reach Latch, their replies are lost):
#   R1 e-mail (created), R3 e-mail another Latch user already has (409, made
#   nothing), R4 phone only (created), R7 e-mail (created, then deleted in
#   Latch by hand);
# p2 (night 1's creations never reach Latch: 500 each time):
#   R2 e-mail, R5 phone only
export_of() { # export_of NIGHT: the contacts before (1) and after (2) the change
	if [ "$1" = 1 ]; then a=old b=5550100004 c=5550100005; else a=new b=5550100044 c=5550100055; fi
	echo $H
	echo "p1,U1,R1,H1,primary,current,Ann,One,ann@$a.example,,2024-01-01,"
	echo "p1,U3,R3,H3,primary,current,Cy,Three,cy@$a.example,,2024-01-01,"
	echo "p1,U4,R4,H4,primary,current,Di,Four,,$b,2024-01-01,"
	echo "p1,U7,R7,H7,primary,current,Gus,Seven,gus@$a.example,,2024-01-01,"
	echo "p2,V2,R2,H2,primary,current,Bo,Two,bo@$a.example,,2024-01-01,"
	echo "p2,V5,R5,H5,primary,current,Ed,Five,,$c,2024-01-01,"
}

# Latch's users as "email|phone|unit" lines (unit "-" when not assigned), sorted
latch_users() {
	curl -sf "$SIM_URL/_sim/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
unit = {r["userUuid"]: r["unit"] for r in s["residents"]}
for u in s["users"]:
    print("%s|%s|%s" % (u["email"] or "", u["phone"] or "", unit.get(u["userUuid"], "-")))' | LC_ALL=C sort
}
faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
stat_of() { curl -sf "$SIM_URL/_sim/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
# the journal of PERSON's USER_CREATE rows: "run|state|key|status|response" lines, oldest first
creates_of() {
	sqlite3 "$UNITSYNC_DB" "SELECT j.run_id, j.state, j.idempotency_key, j.http_status,
		j.response FROM journal j JOIN delta_history h ON h.run_id = j.run_id AND h.seq = j.seq
		WHERE h.op = 'USER_CREATE' AND h.pms_person_id = '$1' ORDER BY j.run_id"
}
user_of() { sqlite3 "$UNITSYNC_DB" "SELECT latch_user_id || '|' || coalesce(email, '') || '|' || coalesce(phone, '') FROM person_user WHERE pms_person_id = '$1'"; }
# Latch's user with e-mail or phone $1
uuid_of() {
	curl -sf "$SIM_URL/_sim/state" | python3 -c '
import json, sys
print([u["userUuid"] for u in json.load(sys.stdin)["users"] if sys.argv[1] in (u["email"], u["phone"])][0])' "$1"
}
night() { # night N AS_OF EXPORT: extract and transform; the run directory in $runN
	(cd "$tmp" && $3 >n$1.csv && unitsync extract-csv n$1.csv >/dev/null &&
		unitsync transform --as-of "$2" --out runs >t$1.out) || exit 1
	eval "run$1=\$(run_dir \"\$tmp/t$1.out\")"
}

(cd "$tmp" && printf 'building_uuid,unit_uuid,name\nb1,L1,1\nb1,L3,3\nb1,L4,4\nb1,L6,6\nb1,L7,7\nb2,M2,2\nb2,M5,5\n' >seed.csv &&
	printf 'property_id,pms_unit_id,latch_unit_id\np1,U1,L1\np1,U3,L3\np1,U4,L4\np1,U6,L6\np1,U7,L7\np2,V2,M2\np2,V5,M5\n' >map.csv &&
	test_init_db p1 p2 && unitsync map import --offline map.csv >/dev/null) || exit 1
night 1 2024-06-01 "export_of 1"
sim_start "$tmp/seed.csv" || exit 1
sim_api POST /v1/users '{"firstName":"Someone","lastName":"Else","email":"cy@old.example"}' >/dev/null || exit 1

test_expect_success 'night 1: p1 creations applied, replies lost; p2 creations never reach Latch' '
	faults "{\"drop_rate\":1,\"methods\":\"POST /v1/users\"}" &&
	test_expect_code 75 unitsync load --property p1 --max-attempts 1 "$run1" >l1.out 2>l1.err &&
	faults "{\"drop_rate\":0,\"error_rate\":1,\"methods\":\"POST /v1/users\"}" &&
	test_expect_code 75 unitsync load --property p2 --max-attempts 1 "$run1" >l1b.out 2>l1b.err &&
	for p in R1 R2 R3 R4 R5 R7; do
		test "$(creates_of $p | cut -d"|" -f2)" = inflight || return 1
	done &&
	printf "ann@old.example||-\ncy@old.example||-\ngus@old.example||-\n|5550100004|-\n" >expect &&
	latch_users >actual && test_cmp expect actual &&
	gus=$(uuid_of gus@old.example) && echo $gus >gus &&
	sim_api DELETE "/v1/users/$gus"
'

night 2 2024-06-02 "export_of 2"

test_expect_success 'night 2: every contact changed; the load completes, nothing fails' '
	faults "{\"error_rate\":0,\"methods\":\"\"}" &&
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	unitsync load "$run2" >l2.out 2>l2.err &&
	grep "12 done, 0 already done, 0 failed" l2.out &&
	test "$(stat_of effects_repeated)" = 0
'

test_expect_success '(a) e-mail: the user the first request made is the resident'\''s, recorded with the e-mail it was made by; no second user' '
	test "$(user_of R1)" = "$(uuid_of ann@old.example)|ann@old.example|" &&
	latch_users >users2 &&
	grep -Fx "ann@old.example||L1" users2 && ! grep "ann@new" users2 &&
	creates_of R1 >j1 && cat j1 &&
	test "$(cut -d"|" -f2,4 j1 | tr "\n" " ")" = "superseded|201 done|201 " &&
	test "$(cut -d"|" -f3 j1 | sort -u | wc -l)" = 1 &&
	grep -F "replayed by run ${run2##*/}: made Latch user $(uuid_of ann@old.example)" j1 &&
	grep -F "was made by run ${run1##*/}'\''s USER_CREATE (name '\''Ann One'\'', e-mail '\''ann@old.example'\''), replayed under its Idempotency-Key (HTTP 201): recorded for the resident, now name '\''Ann One'\'', e-mail '\''ann@new.example'\''" j1 &&
	grep -F "USER_CREATE p1/R1: Latch user" l2.err
'

test_expect_success '(a) a first request that made nothing (its e-mail was another user'\''s: 409): the resident is created as they are now, under the row'\''s own key' '
	test "$(user_of R3)" = "$(uuid_of cy@new.example)|cy@new.example|" &&
	grep -Fx "cy@old.example||-" users2 && grep -Fx "cy@new.example||L3" users2 &&
	creates_of R3 >j3 && cat j3 &&
	test "$(cut -d"|" -f2,4 j3 | tr "\n" " ")" = "superseded|409 done|201 " &&
	test "$(cut -d"|" -f3 j3 | sort -u | wc -l)" = 2 &&
	grep -F "replayed by run ${run2##*/}: HTTP 409: EMAIL_ALREADY_EXISTS: no Latch user made" j3
'

test_expect_success '(c) phone only: the user the first request made is the resident'\''s; no user with the new phone' '
	test "$(user_of R4)" = "$(uuid_of 5550100004)||5550100004" &&
	grep -Fx "|5550100004|L4" users2 && ! grep 5550100044 users2 &&
	test "$(creates_of R4 | cut -d"|" -f2 | tr "\n" " ")" = "superseded done "
'

test_expect_success '(b) never reached Latch: e-mail and phone residents are created as they are now, once' '
	grep -Fx "bo@new.example||M2" users2 && ! grep bo@old users2 &&
	grep -Fx "|5550100055|M5" users2 && ! grep 5550100005 users2 &&
	test "$(user_of R2)" = "$(uuid_of bo@new.example)|bo@new.example|" &&
	test "$(grep -c . users2)" = 7
'

test_expect_success '(a) the user the first request made was deleted in Latch since: the resident is created as they are now' '
	test "$(user_of R7)" = "$(uuid_of gus@new.example)|gus@new.example|" &&
	grep -Fx "gus@new.example||L7" users2 && ! grep gus@old users2 &&
	creates_of R7 >j7 && cat j7 &&
	test "$(cut -d"|" -f2,4 j7 | tr "\n" " ")" = "superseded|201 done|201 " &&
	grep -F "replayed by run ${run2##*/}: HTTP 201: made Latch user $(cat gus), deleted since (GET 404 USER_NOT_FOUND)" j7
'

night 3 2024-06-03 "export_of 2"

test_expect_success 'night 3: the e-mail change is reported as for any known user; nothing is created again' '
	grep -F "email_mismatch,p1,U1,R1,e-mail changed from '\''ann@old.example'\'' to '\''ann@new.example'\''" "$run3/exceptions.csv" &&
	! grep USER_CREATE "$run3/delta.csv" &&
	unitsync load "$run3" >l3.out 2>l3.err &&
	test "$(latch_users)" = "$(cat users2)"
'

# nights 4 to 6: R6's creation is applied, its reply lost; the e-mail changes;
# the first run's directory is gone when the next run is loaded
export_r6() { export_of 2 && echo "p1,U6,R6,H6,primary,current,Flo,Six,flo@$1.example,,2024-01-01,"; }
night 4 2024-06-04 "export_r6 old"

test_expect_success 'night 4: R6 created, its reply lost' '
	faults "{\"drop_rate\":1,\"methods\":\"POST /v1/users\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$run4" >l4.out 2>l4.err &&
	faults "{\"drop_rate\":0,\"methods\":\"\"}" &&
	test "$(creates_of R6 | cut -d"|" -f2)" = inflight
'

night 5 2024-06-05 "export_r6 new"

test_expect_success 'a request it cannot replay (its run directory is gone) fails the row naming the resident, both contacts and the fix' '
	mv "$run4" "$tmp/away" &&
	test_expect_code 1 unitsync load "$run5" >l5.out 2>l5.err &&
	mv "$tmp/away" "$run4" &&
	grep -F "R6,failed,422," "$run5/load-report.csv" >row &&
	grep -F "resident p1/R6: Latch holds this USER_CREATE'\''s Idempotency-Key" row &&
	grep -F "contact sent before: not known; now: name '\''Flo Six'\'', e-mail '\''flo@new.example'\''" row &&
	grep -F "to fix: restore that run directory (the next run replays its request), or give the Latch user made for them" row &&
	grep -F "${run4##*/}" row &&
	test "$(latch_users | grep -c flo@)" = 1
'

night 6 2024-06-06 "export_r6 new"

test_expect_success 'its directory back, the next run replays it and records the user it made' '
	unitsync load "$run6" >l6.out 2>l6.err &&
	test "$(user_of R6)" = "$(uuid_of flo@old.example)|flo@old.example|" &&
	test "$(latch_users | grep flo@)" = "flo@old.example||L6"
'

[ $failed -eq 0 ]
