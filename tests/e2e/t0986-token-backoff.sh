#!/usr/bin/env bash
# t0986-token-backoff: the token endpoint's 429 and 503 are retried with
# the backoff of every other request (issue 17, lib/latch.h latch_backoff):
# Retry-After honoured and really slept, --max-attempts and --budget
# obeyed, SIGTERM heard during the wait.  latch-sim faults only the token
# endpoint here (--fault-methods "POST /oauth/token").
. "$(dirname "$0")/lib.sh"
test_plan 4

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && {
	echo $H
	for i in 1 2 3; do echo "p1,U$i,R$i,H$i,primary,current,F$i,L$i,r$i@example.com,,2024-01-01,"; done
} >full.csv && {
	echo building_uuid,unit_uuid,name
	for i in 1 2 3; do echo "b1,L$i,Unit $i"; done
} >seed.csv && unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	for i in 1 2 3; do unitsync map add --offline --property p1 "U$i" "L$i" >/dev/null || exit 1; done &&
	unitsync extract-csv --property p1 full.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t.out) || exit 1
run=$(tail -n 1 "$tmp/t.out")
sim_start "$tmp/seed.csv" --fault-methods "POST /oauth/token" --429-rate 1 --retry-after 1 || exit 1

faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
# how many times the token endpoint answered STATUS
token_replies() { sim_replies "POST /oauth/token" "$1"; }
reset_stats() { curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null; }
now() { date +%s.%N; }
since() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$(now)"; }
at_least() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }

test_expect_success '429 with Retry-After 1 every time: --max-attempts tries, 1 s apart, then 75' '
	t=$(now) && rc=0 && unitsync load --max-attempts 3 "$run" >l1.out 2>l1.err || rc=$?
	took=$(since $t); cat l1.err; echo "exit $rc after ${took}s" &&
	test $rc -eq 75 && test "$(token_replies 429)" = 3 && at_least $took 2 &&
	test "$(grep -c "answered 429 TOO_MANY_REQUESTS; trying again in 1.0 s" l1.err)" = 2 &&
	grep "answered 429" l1.err | tail -n 1 | grep -v "trying again" &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM journal WHERE state <> '"'"'pending'"'"'")" = 0
'

test_expect_success '503 with Retry-After 2 until the endpoint recovers: the load waits, then completes' '
	faults "{\"429_rate\": 0, \"503_rate\": 1, \"retry_after\": 2}" && reset_stats &&
	{ unitsync load "$run" >l2.out 2>l2.err & pid=$!; } &&
	sleep 3 && faults "{\"503_rate\": 0}" &&
	rc=0; wait $pid || rc=$?
	cat l2.out; cat l2.err; echo "exit $rc; 503s: $(token_replies 503)" &&
	test $rc -eq 0 && grep "6 done" l2.out &&
	test "$(token_replies 503)" -ge 1 && test "$(token_replies 503)" -le 2 &&
	test "$(token_replies 200)" = 1 &&
	grep "answered 503 SERVICE_UNAVAILABLE; trying again in 2.0 s" l2.err
'

test_expect_success 'a Retry-After past the budget ends the tries at once (75), not after it' '
	sed 2d full.csv >minus1.csv && unitsync extract-csv --property p1 minus1.csv >/dev/null &&
	unitsync property set p1 --guard-percent 100 >/dev/null &&
	unitsync transform --as-of 2024-06-02 --out runs >t2.out && run2=$(tail -n 1 t2.out) &&
	faults "{\"429_rate\": 1, \"retry_after\": 60}" &&
	t=$(now) && rc=0 && unitsync load --budget 5 "$run2" >l3.out 2>l3.err || rc=$?
	took=$(since $t); cat l3.err; echo "exit $rc after ${took}s" &&
	test $rc -eq 75 && ! at_least $took 8
'

test_expect_success 'SIGTERM during a token backoff of 60 s ends the load within 5 s (75)' '
	run2=$(tail -n 1 t2.out) &&
	{ unitsync load "$run2" >l4.out 2>l4.err & pid=$!; } &&
	for i in $(seq 50); do grep -q "trying again in 60.0 s" l4.err && break; sleep 0.1; done &&
	grep -q "trying again in 60.0 s" l4.err &&
	kill -TERM $pid && t=$(now) &&
	for i in $(seq 80); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	took=$(since $t)
	if kill -0 $pid 2>/dev/null; then kill -KILL $pid; fi
	rc=0; wait $pid || rc=$?
	cat l4.err; echo "exit $rc after ${took}s" &&
	test $rc -eq 75 && ! at_least $took 5
'

exit $((failed > 0))
