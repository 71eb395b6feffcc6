#!/usr/bin/env bash
# t0600-load-faults: load converges through API faults and crashes, and
# applies every effect exactly once (unitsync-load(1), issue "Load").
. "$(dirname "$0")/lib.sh"
test_plan 11

# a property of N residents, one per unit, every unit mapped
portfolio() { # portfolio N
	{
		echo "property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out"
		awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
			printf "p1,U%04d,R%04d,H%04d,primary,current,First%d,Last%d,r%04d@example.com,,2024-01-01,\n", i, i, i, i, i, i }'
	} >export.csv &&
	{ echo "property_id,pms_unit_id,latch_unit_id"; awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "p1,U%04d,L%04d\n", i, i }'; } >map.csv &&
	{ echo "building_uuid,unit_uuid,name"; awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "b1,L%04d,Unit %04d\n", i, i }'; } >seed.csv
}

# Latch's state as "unit email" lines, sorted
latch_state() {
	curl -sf "$SIM_URL/_sim/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
email = {u["userUuid"]: u["email"] for u in s["users"]}
print(len(s["users"]), "users")
for r in s["residents"]:
    print(r["unit"], email[r["userUuid"]])' | sort
}

expected_state() { # expected_state N
	{ echo "$1 users"; awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "L%04d r%04d@example.com\n", i, i }'; } | sort
}

stats() { curl -sf "$SIM_URL/_sim/stats"; }

# a fresh state database with export.csv staged, transformed into OUT; sets run
fresh_run() { # fresh_run OUT
	rm -f "$UNITSYNC_DB"
	(cd "$tmp" && unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
		unitsync map import --offline map.csv >/dev/null && unitsync extract-csv --property p1 export.csv >/dev/null &&
		unitsync transform --as-of 2024-06-01 --out "$1" >"$1.out") || exit 1
	run=$(tail -n 1 "$tmp/$1.out")
}
stat_of() { stats | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }

(cd "$tmp" && portfolio 2000) || exit 1
fresh_run runs
sim_start "$tmp/seed.csv" --error-rate 0.2 --429-rate 0.1 --retry-after 0 --drop-rate 0.05 --random-seed 7 || exit 1

test_expect_success '2,000 residents load through 20% 5xx, 10% 429 and 5% dropped replies' '
	for try in 1 2 3 4 5; do
		rc=0; unitsync load --concurrency 16 --max-attempts 40 "$run" >load.out 2>load.err || rc=$?
		[ $rc -eq 0 ] && break
		[ $rc -eq 75 ] || { cat load.err; return 1; }
	done &&
	test $rc -eq 0 && cat load.out
'

test_expect_success 'Latch holds exactly the delta: one user per resident, each in their unit' '
	latch_state >actual && expected_state 2000 >expect && test_cmp expect actual
'

test_expect_success 'faults were really injected, and nothing was applied twice' '
	stats >stats.json && cat stats.json &&
	python3 -c "
import json, sys
s = json.load(open(\"stats.json\"))
assert s[\"faults_injected\"] > 500, s
assert s[\"dropped\"] > 50, s
assert s[\"effects_repeated\"] == 0, s
assert s[\"key_reused_for_different_request\"] == 0, s
"
'

test_expect_success 'the journal says every row is done' '
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT state, count(*) FROM journal GROUP BY state")" = "done|4000"
'
sim_stop

# crashes: SIGKILL at 20 moments, each followed by a rerun
fresh_run runs2
sim_start "$tmp/seed.csv" --latency-ms 2 --drop-rate 0.02 --random-seed 11 || exit 1

test_expect_success 'the loader killed with SIGKILL at 20 random moments, then rerun, ends exact' '
	RANDOM=42 &&
	for i in $(seq 20); do
		unitsync load --concurrency 8 "$run" >/dev/null 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 30 + 5))"
		kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null || true
	done &&
	unitsync load --concurrency 8 --max-attempts 40 "$run" >load.out &&
	latch_state >actual && expected_state 2000 >expect && test_cmp expect actual
'

test_expect_success 'after the crashes nothing was applied twice' '
	stats >stats.json &&
	python3 -c "
import json
s = json.load(open(\"stats.json\"))
assert s[\"effects_repeated\"] == 0, s
assert s[\"key_reused_for_different_request\"] == 0, s
"
'

test_expect_success 'a finished run loaded again sends nothing' '
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	unitsync load "$run" >again.out &&
	grep "0 done, 4000 already done, 0 failed" again.out &&
	test "$(stat_of total)" = 0
'
sim_stop

# a token that expires in the middle of the run
(cd "$tmp" && portfolio 300) || exit 1
fresh_run runs3
sim_start "$tmp/seed.csv" --token-ttl 1 --latency-ms 10 || exit 1

test_expect_success 'wrong credentials exit 78, an unreachable API 75' '
	test_expect_code 78 env UNITSYNC_CLIENT_SECRET=wrong unitsync load "$run" 2>err &&
	grep -i "token" err &&
	test_expect_code 75 env UNITSYNC_LATCH_URL=http://127.0.0.1:9 UNITSYNC_TOKEN_URL=http://127.0.0.1:9/t \
		unitsync load --max-attempts 2 --budget 3 "$run" 2>err
'
test_expect_success 'a token expiring mid-run is renewed without failing a row' '
	unitsync load --concurrency 4 "$run" >load.out &&
	grep "600 done, 0 already done, 0 failed" load.out &&
	test "$(stats | python3 -c "import json,sys; print(json.load(sys.stdin)[\"requests\"][\"POST /oauth/token\"][\"200\"])")" -gt 1
'

sim_stop

# requests journaled inflight are the requests handed to curl: at most one
# a connection (a request beyond them waits in its slot, not in curl's queue)
fresh_run runs4
sim_start "$tmp/seed.csv" --latency-ms 100 || exit 1

test_expect_success 'a load killed mid-run has at most --concurrency rows inflight; the rerun ends exact' '
	unitsync load --concurrency 4 "$run" >/dev/null 2>&1 &
	pid=$! &&
	sleep 1.5 && kill -9 $pid && { wait $pid 2>/dev/null || true; } &&
	n=$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM journal WHERE state = '"'"'inflight'"'"'") &&
	echo "inflight after the kill: $n" &&
	test "$n" -ge 1 && test "$n" -le 4 &&
	unitsync load --concurrency 4 "$run" >load4.out && cat load4.out &&
	latch_state >actual && expected_state 300 >expect && test_cmp expect actual &&
	stats >stats.json &&
	python3 -c "
import json
s = json.load(open(\"stats.json\"))
assert s[\"effects_repeated\"] == 0, s
"
'

test_expect_success 'the client secret appears in no output, log or run file' '
	! grep -r -F "$UNITSYNC_CLIENT_SECRET" runs runs2 runs3 runs4 load.out load.err again.out load4.out
'

[ $failed -eq 0 ]
