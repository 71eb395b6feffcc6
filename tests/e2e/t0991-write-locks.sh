#!/usr/bin/env bash
# t0991-write-locks: a brief write by another process never costs a night
# (issue 17).  Every write transaction starts with BEGIN IMMEDIATE under the
# busy timeout (lib/db.h, db_begin), so each program waits out another
# process's write lock held for 2 s, a load in the middle of its run too;
# a lock held past the timeout (UNITSYNC_BUSY_TIMEOUT_MS, the testing hook
# that shortens it) exits 75 in every program, never 78.
. "$(dirname "$0")/lib.sh"
test_plan 4

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
export_of() { # export_of N: residents 1..N of property p1, one per unit
	echo $H
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "p1,U%03d,R%03d,H%03d,primary,current,F%d,L%d,r%03d@example.com,,2024-01-01,\n", i, i, i, i, i, i }'
}

# another process writes: it holds the write lock $1 seconds, then commits
hold_lock() { # hold_lock SECONDS
	rm -f lock.out
	python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[2], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE property SET updated_at = updated_at WHERE property_id = ?", ("p9",))
print("locked", flush=True)
time.sleep(float(sys.argv[1]))
c.execute("COMMIT")' "$1" "$UNITSYNC_DB" >lock.out &
	lock_pid=$!
	for _i in $(seq 100); do grep -q locked lock.out 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

now() { date +%s.%N; }
# at least $2 seconds since $1
waited() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) - float(sys.argv[1]) >= float(sys.argv[3]) else 1)' "$1" "$(now)" "$2"; }

(cd "$tmp" && export_of 120 >full.csv && export_of 40 >cut.csv && export_of 119 >minus1.csv &&
	{ echo building_uuid,unit_uuid,name; for u in $(seq 120); do printf "b1,L%03d,Unit %d\n" "$u" "$u"; done; } >seed.csv &&
	{ echo property_id,pms_unit_id,latch_unit_id; for u in $(seq 120); do printf "p1,U%03d,L%03d\n" "$u" "$u"; done; } >map.csv &&
	sed "s/Oakwood Court: a small/Oakwood Court, again: a small/" "$TOP/tests/data/xml/oakwood-rt.xml" >oak2.xml &&
	unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	unitsync property add p2 >/dev/null && unitsync property add p9 >/dev/null &&
	unitsync property add oak01 >/dev/null && unitsync map import --offline map.csv >/dev/null) || exit 1
# slow replies: the load below is still running when the other writer comes
sim_start "$tmp/seed.csv" --latency-ms 25 || exit 1

test_expect_success 'a 2 s write lock: extract-csv, extract-xml, map add, transform wait it out' '
	hold_lock 2 && t=$(now) && unitsync extract-csv --property p1 full.csv >x1.out &&
	waited $t 1.5 && wait $lock_pid &&
	hold_lock 2 && t=$(now) && unitsync extract-xml "$TOP/tests/data/xml/oakwood-rt.xml" >x2.out &&
	waited $t 1.5 && wait $lock_pid &&
	hold_lock 2 && t=$(now) && unitsync map add --offline --property p2 X1 LX1 >m.out &&
	waited $t 1.5 && wait $lock_pid &&
	hold_lock 2 && t=$(now) && unitsync transform --property p1 --as-of 2024-06-01 --out runs >t1.out &&
	waited $t 1.5 && wait $lock_pid &&
	grep "120 people staged" x1.out && unitsync map list --property p2 | grep X1
'

test_expect_success 'a load waits out two brief writes in the middle of its run' '
	run=$(tail -n 1 t1.out) &&
	{ unitsync load --concurrency 2 "$run" >l1.out 2>l1.err & pid=$!; } &&
	for i in $(seq 100); do
		test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM journal WHERE state = '"'"'done'"'"'")" -gt 10 && break
		sleep 0.1
	done &&
	hold_lock 2 && wait $lock_pid && sleep 0.5 && hold_lock 2 && wait $lock_pid &&
	kill -0 $pid &&
	rc=0; wait $pid || rc=$?
	cat l1.out; tail -n 3 l1.err; echo "load exit $rc" &&
	test $rc -eq 0 && grep "240 done" l1.out && ! grep -i locked l1.err
'

test_expect_success 'a held run: approve and snapshots prune wait out a 2 s write lock' '
	unitsync extract-csv --property p1 cut.csv >/dev/null &&
	unitsync transform --property p1 --as-of 2024-06-02 --out runs >t2.out && grep "HELD by the safety guard" t2.out &&
	hold_lock 2 && t=$(now) && unitsync approve --by t0991 "$(tail -n 1 t2.out)" >a.out &&
	waited $t 1.5 && wait $lock_pid && grep "approved by t0991" a.out &&
	hold_lock 2 && t=$(now) && unitsync snapshots prune --keep 1 >p.out &&
	waited $t 1.5 && wait $lock_pid
'

test_expect_success 'a lock held past the busy timeout: every program exits 75, never 78, naming the database and the fix' '
	export UNITSYNC_BUSY_TIMEOUT_MS=300 &&
	run=$(tail -n 1 t2.out) &&
	for cmd in "extract-csv --property p1 minus1.csv" "extract-xml oak2.xml" \
		"transform --property p1 --as-of 2024-06-03 --out runs" "load $run" \
		"map add --offline --property p2 X2 LX2" "approve $run" "snapshots prune --keep 1" \
		"property set p2 --guard-percent 30"; do
		hold_lock 6 || return 1
		rc=0; t=$(now); unitsync $cmd >busy.out 2>busy.err || rc=$?
		kill $lock_pid; wait $lock_pid
		echo "$cmd: exit $rc"; cat busy.err
		test $rc -eq 75 && ! waited $t 5 &&
		grep -F "database: '"'"'$(realpath "$UNITSYNC_DB")'"'"' is locked by another process (database is locked): retry after the other unitsync process finishes" busy.err || return 1
	done
'

exit $((failed > 0))
