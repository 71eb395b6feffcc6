#!/usr/bin/env bash
# t0993-load-run-lock: one loader per run directory, and SIGTERM ends a
# loader within 5 s with the journal consistent (issue 17).  Against a
# slowed latch-sim: a second loader of the same run exits 75 at once; a
# loader stopped while its requests are in flight exits 75 within 5 s,
# failing no row; the rerun completes, and Latch has each resident once,
# every effect applied once (a request cut by the stop is sent again with
# the same Idempotency-Key, never under another).  A loader stopped while
# Latch answers 503 says the signal stopped it, not that it gave up.
. "$(dirname "$0")/lib.sh"
test_plan 4

N=40
H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && {
	echo $H
	awk -v n=$N 'BEGIN { for (i = 1; i <= n; i++)
		printf "p1,U%02d,R%02d,H%02d,primary,current,F%d,L%d,r%02d@example.com,,2024-01-01,\n", i, i, i, i, i, i }'
} >full.csv &&
	{ echo building_uuid,unit_uuid,name; for u in $(seq $N); do printf "b1,L%02d,Unit %d\n" "$u" "$u"; done; } >seed.csv &&
	{ echo property_id,pms_unit_id,latch_unit_id; for u in $(seq $N); do printf "p1,U%02d,L%02d\n" "$u" "$u"; done; } >map.csv &&
	unitsync init >/dev/null && unitsync property add p1 >/dev/null && unitsync map import --offline map.csv >/dev/null &&
	unitsync extract-csv --property p1 full.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t.out) || exit 1
run=$(tail -n 1 "$tmp/t.out")
sim_start "$tmp/seed.csv" --latency-ms 1500 || exit 1

faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
journal() { sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM journal WHERE state = '$1'"; }
now() { date +%s.%N; }
# seconds since $1, as a whole number rounded up
since() { python3 -c 'import math, sys; print(math.ceil(float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$(now)"; }

test_expect_success 'a second loader of the same run exits 75 at once, naming the lock' '
	# the loader runs on past this step: its pid (the driver execs the
	# program) into a.pid, its exit code into a.rc once it ends
	{ { sh -c '"'"'echo $$ >a.pid; exec unitsync load --concurrency 2 "$1" >a.out 2>a.err'"'"' sh "$run"
	    echo $? >a.rc; } & } &&
	for i in $(seq 50); do test -s a.pid && break; sleep 0.1; done &&
	for i in $(seq 100); do test "$(journal inflight)" -gt 0 && break; sleep 0.1; done &&
	test "$(journal inflight)" -gt 0 &&
	t=$(now) && rc=0 && unitsync load --concurrency 2 "$run" >b.out 2>b.err || rc=$?
	took=$(since $t); cat b.err; echo "second loader: exit $rc after ${took}s" &&
	test $rc -eq 75 && test $took -le 2 && grep "being loaded by another process" b.err &&
	kill -0 "$(cat a.pid)"
'

test_expect_success 'SIGTERM mid-run: the loader exits 75 within 5 s, no row failed' '
	pid=$(cat a.pid) &&
	# requests leaving from now on take 8 s: some are in flight at the signal
	faults "{\"latency_ms\": 8000}" && sleep 1.5 &&
	test "$(journal inflight)" -gt 0 &&
	kill -TERM $pid && t=$(now) &&
	for i in $(seq 80); do test -s a.rc && break; sleep 0.1; done
	took=$(since $t)
	if kill -0 $pid 2>/dev/null; then kill -KILL $pid; fi
	for i in $(seq 50); do test -s a.rc && break; sleep 0.1; done
	rc=$(cat a.rc)
	date +%s >term.at
	tail -n 5 a.err; echo "exit $rc after ${took}s"; sqlite3 "$UNITSYNC_DB" "SELECT state, count(*) FROM journal GROUP BY state" &&
	test $rc -eq 75 && test $took -le 5 &&
	test "$(journal failed)" = 0 && test "$(journal done)" -lt $((2 * N))
'

test_expect_success 'a rerun completes; Latch has every resident once, each effect applied once' '
	faults "{\"latency_ms\": 0}" &&
	unitsync load "$run" >c.out 2>c.err &&
	cat c.out && test "$(journal done)" = $((2 * N)) &&
	# the requests the stop cut are still being served: let them land
	while [ $(( $(date +%s) - $(cat term.at) )) -lt 9 ]; do sleep 0.5; done &&
	curl -sf "$SIM_URL/_sim/state" >state.json && curl -sf "$SIM_URL/_sim/stats" >stats.json &&
	python3 - state.json stats.json $N <<-\EOF
	import json, sys
	state, stats, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
	email = {u["userUuid"]: u["email"] for u in state["users"]}
	got = sorted((r["unit"], email[r["userUuid"]]) for r in state["residents"])
	want = [("L%02d" % i, "r%02d@example.com" % i) for i in range(1, n + 1)]
	assert len(state["users"]) == n, len(state["users"])
	assert got == want, got
	assert stats["effects_repeated"] == 0, stats
	assert stats["effects_repeated_unkeyed"] == 0, stats
	assert stats["key_reused_for_different_request"] == 0, stats
	print("replayed by key:", stats["idempotency_replayed"])
	EOF
'

test_expect_success 'SIGTERM while Latch answers 503: the rows left say a signal stopped them' '
	head -n $((N / 2 + 1)) full.csv >half.csv &&
	unitsync extract-csv --property p1 half.csv >/dev/null &&
	unitsync property set p1 --guard-percent 100 >/dev/null &&
	r2=$(unitsync transform --as-of 2024-06-02 --out runs | tail -n 1) &&
	# every DELETE answered 503 after 0.8 s, to be tried again at once: a
	# row is nearly always in flight, and its reply comes within the stop grace
	faults "{\"503_rate\": 1.0, \"retry_after\": 0, \"latency_ms\": 800, \"methods\": \"DELETE\"}" &&
	{ { sh -c '"'"'echo $$ >d.pid; exec unitsync load --concurrency 4 --max-attempts 100 "$1" >d.out 2>d.err'"'"' sh "$r2"
	    echo $? >d.rc; } & } &&
	for i in $(seq 50); do test -s d.pid && break; sleep 0.1; done &&
	sleep 2.5 && kill -TERM "$(cat d.pid)" &&
	for i in $(seq 100); do test -s d.rc && break; sleep 0.1; done &&
	cat d.err && test "$(cat d.rc)" = 75 &&
	grep "stopped by a signal after [0-9]* attempts\{0,1\} (the last: HTTP 503); a rerun resumes it" d.err &&
	! grep "giving up for this load" d.err &&
	# the load says what stopped it, not the API (new user nu14 #9)
	grep "stopped by a signal before every row was sent; rerun to resume" d.err &&
	! grep "Latch API was unavailable" d.err
'

exit $((failed > 0))
