#!/usr/bin/env bash
# t0990-state-db: the state database under stress (issue 16): a lock held
# past the busy timeout, SIGTERM while waiting for it, the WAL during a
# large load with a concurrent writer, corruption, a full disk, and the
# exit codes of each.
. "$(dirname "$0")/lib.sh"
test_plan 12

# a property of N residents, one per unit, every unit mapped
portfolio() { # portfolio N
	{
		echo "property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out"
		awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
			printf "p1,U%05d,R%05d,H%05d,primary,current,First%d,Last%d,r%05d@example.com,,2024-01-01,\n", i, i, i, i, i, i }'
	} >export.csv &&
	{ echo "property_id,pms_unit_id,latch_unit_id"; awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "p1,U%05d,L%05d\n", i, i }'; } >map.csv &&
	{ echo "building_uuid,unit_uuid,name"; awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "b1,L%05d,Unit %05d\n", i, i }'; } >seed.csv
}

# hold the state database's write lock for $1 seconds, in the background
hold_lock() { # hold_lock SECONDS DB
	python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[2], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[1]))
c.execute("ROLLBACK")' "$1" "$2" >lock.out &
	lock_pid=$!
	for _i in $(seq 50); do grep -q locked lock.out 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

N=3000
(cd "$tmp" && portfolio $N && unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	unitsync map import --offline map.csv >/dev/null && unitsync extract-csv --property p1 export.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t.out) || exit 1
run=$(tail -n 1 "$tmp/t.out")
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'a lock held past the busy timeout: load exits 75 and says so, not hangs' '
	hold_lock 30 "$UNITSYNC_DB" &&
	rc=0; start=$(date +%s) &&
	timeout -k 5 40 unitsync load "$run" >load.out 2>load.err || rc=$?
	took=$(( $(date +%s) - start )); kill $lock_pid; wait $lock_pid
	cat load.err; echo "exit $rc after ${took}s" &&
	test $rc -eq 75 && test $took -lt 25 &&
	grep "locked" load.err && grep "rerun" load.err
'

test_expect_success 'SIGTERM while waiting for the lock ends load within 5 s, exit 75' '
	hold_lock 30 "$UNITSYNC_DB" &&
	{ unitsync load "$run" >load.out 2>load.err & pid=$!; } &&
	sleep 2 && kill -TERM $pid && start=$(date +%s) &&
	for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	took=$(( $(date +%s) - start ))
	if kill -0 $pid 2>/dev/null; then kill -KILL $pid; fi
	rc=0; wait $pid || rc=$?; kill $lock_pid; wait $lock_pid
	cat load.err; echo "exit $rc after ${took}s" &&
	test $took -le 5 && test $rc -eq 75
'

test_expect_success 'a read-only state database: load exits at once, naming it (not hangs)' '
	command -v setpriv >/dev/null || { echo "# no setpriv: skipped"; return 0; }
	mkdir -p ro && chmod 1777 ro && cp "$UNITSYNC_DB" ro/ro.db && chmod 0444 ro/ro.db &&
	chmod -R a+rX "$tmp" &&
	# the run directory is the loading user'"'"'s (t0995: a run writable by others is refused)
	chown -R 65534:65534 "$run" &&
	rc=0; timeout -k 5 30 setpriv --reuid 65534 --regid 65534 --clear-groups \
		env UNITSYNC_DB="$tmp/ro/ro.db" "$TOP/bin/unitsync" load "$run" >load.out 2>load.err || rc=$?
	chown -R 0:0 "$run"
	cat load.err; echo "exit $rc" &&
	test $rc -eq 78 && grep -i "readonly\|read-only" load.err
'

test_expect_success 'the WAL stays bounded through a large load and a concurrent writer' '
	sqlite3 "$UNITSYNC_DB" "CREATE TABLE IF NOT EXISTS t0990_writer (x)" &&
	# the writer stops at its next turn once stop.writer exists, and is
	# waited for: a sqlite3 of the loop killed mid-turn would live on and
	# write into the next step'"'"'s WAL
	rm -f stop.writer &&
	{ while [ ! -e stop.writer ]; do sqlite3 -cmd ".timeout 10000" "$UNITSYNC_DB" \
		"INSERT INTO t0990_writer VALUES (randomblob(100))" || echo writer failed; sleep 0.02; done >writer.out 2>&1 & wpid=$!; } &&
	{ while :; do stat -c %s "$UNITSYNC_DB-wal" 2>/dev/null || echo 0; sleep 0.1; done >wal.sizes & spid=$!; } &&
	rc=0; timeout -k 5 300 unitsync load --concurrency 16 "$run" >load.out 2>load.err || rc=$?
	touch stop.writer; kill $spid; wait $wpid $spid 2>/dev/null
	cat load.out; tail -n 5 load.err; echo "exit $rc" &&
	max=$(sort -n wal.sizes | tail -n 1) && echo "largest WAL: $max bytes" &&
	after=$(stat -c %s "$UNITSYNC_DB-wal" 2>/dev/null || echo 0) && echo "WAL after: $after" &&
	test $rc -eq 0 && grep "$((2 * N)) done" load.out &&
	test "$max" -lt 8388608 && ! grep -q "locked" load.err
'

# the size of the WAL, 0 when there is none (the last connection removed it)
wal_size() { stat -c %s "$UNITSYNC_DB-wal" 2>/dev/null || echo 0; }

test_expect_success 'the WAL is checkpointed at the end of each stage' '
	sqlite3 "$UNITSYNC_DB" "DROP TABLE t0990_writer" &&
	# another connection open all along keeps the -wal file there; wait
	# until its read is over, or a slow start would be a reader the
	# checkpoint of a stage must wait out (a race on a loaded machine)
	rm -f reader.ready &&
	{ python3 -c "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); c.execute(\"SELECT 1\").fetchall(); open(sys.argv[2], \"w\").close(); time.sleep(60)" "$UNITSYNC_DB" reader.ready & opid=$!; } &&
	for i in $(seq 300); do test -e reader.ready && break; sleep 0.1; done &&
	test -e reader.ready &&
	sed 2d export.csv >export2.csv &&
	unitsync extract-csv --property p1 export2.csv >/dev/null && echo "extract: $(wal_size)" &&
	test $(wal_size) -eq 0 &&
	unitsync transform --as-of 2024-06-01 --out runs >t2.out && echo "transform: $(wal_size)" &&
	test $(wal_size) -eq 0 &&
	unitsync load "$(tail -n 1 t2.out)" >load2.out && echo "load: $(wal_size)" &&
	test $(wal_size) -eq 0
	rc=$?; kill $opid; wait $opid 2>/dev/null; test $rc -eq 0
'

# flip bytes in the pages of table assignment of a copy of the database
corrupt_copy() { # corrupt_copy FROM TO
	cp "$1" "$2" && python3 - "$2" <<-\EOF
	import sqlite3, sys, random
	c = sqlite3.connect(sys.argv[1])
	ps = c.execute("PRAGMA page_size").fetchone()[0]
	# the table and the index transform reads it through (migration 13)
	inner = [r[0] for r in c.execute(
	    "SELECT pageno FROM dbstat WHERE name IN ('assignment', 'assignment_by_user') "
	    "AND pagetype = 'internal'")]
	pages = [r[0] for r in c.execute(
	    "SELECT pageno FROM dbstat WHERE name IN ('assignment', 'assignment_by_user') "
	    "AND pagetype = 'leaf'")]
	c.close()
	random.seed(16)
	with open(sys.argv[1], "r+b") as f:
	    for p in inner + random.sample(pages, min(40 - len(inner), len(pages))):
	        # a byte of the page header: the cell count or the first cell's pointer
	        f.seek((p - 1) * ps + random.choice([3, 4, 5, 6]))
	        b = f.read(1)
	        f.seek(-1, 1)
	        f.write(bytes([b[0] ^ 0xa5]))
	print(len(inner), "interior and", len(pages), "leaf pages of assignment and its index")
	EOF
}

test_expect_success 'a corrupt database: load and transform exit 74, naming it and the fix' '
	sed 3d export.csv >export3.csv &&
	unitsync extract-csv --property p1 export3.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t3.out && run3=$(tail -n 1 t3.out) &&
	grep UNASSIGN "$run3/delta.csv" &&
	test $(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM assignment") -ge $((N - 1)) &&
	corrupt_copy "$UNITSYNC_DB" bad.db &&
	rc=0; UNITSYNC_DB=$tmp/bad.db unitsync transform --as-of 2024-06-02 --out runs-bad >bt.out 2>bt.err || rc=$?
	cat bt.err; echo "transform exit $rc" && test $rc -eq 74 &&
	grep "bad.db" bt.err && grep "restore from backup" bt.err &&
	test ! -d runs-bad || test -z "$(ls runs-bad)" &&
	rc=0; UNITSYNC_DB=$tmp/bad.db unitsync load "$run3" >bl.out 2>bl.err || rc=$?
	cat bl.err; echo "load exit $rc" && test $rc -eq 74
'

test_expect_success 'a file that is not a database: every command exits 74' '
	head -c 8192 /dev/urandom >junk.db &&
	for cmd in "property list" "map list" "runs list" "snapshots list"; do
		rc=0; UNITSYNC_DB=$tmp/junk.db unitsync $cmd >/dev/null 2>junk.err || rc=$?
		echo "$cmd: $rc"; test $rc -eq 74 || return 1
	done
'

test_expect_success 'init never reinitialises an existing file without --force' '
	: >empty.db &&
	test_expect_code 78 unitsync --db empty.db init 2>init.err &&
	cat init.err && grep -e "--force" init.err && test ! -s empty.db &&
	cp junk.db junk2.db &&
	rc=0; unitsync --db junk2.db init 2>init.err || rc=$?
	test $rc -ne 0 && cmp junk.db junk2.db &&
	unitsync --db empty.db init --force >init.out && grep "schema version" init.out &&
	unitsync --db empty.db property list
'

test_expect_success 'nightly.sh runs quick_check and stops with 74 on corruption, whatever else fails' '
	printf "[latch]\n" >night.ini &&
	rc=0; "$TOP/pipelines/nightly.sh" --config night.ini --db "$tmp/bad.db" --out night-runs \
		>night.out 2>night.err || rc=$?
	cat night.err; echo "exit $rc" && test $rc -eq 74 && grep "quick_check" night.err &&
	grep "restore from backup" night.err
'

test_expect_success 'a full disk: extract exits 75 and the previous state is intact' '
	mkdir -p small &&
	if ! mount -t tmpfs -o size=2m tmpfs small 2>mount.err; then
		echo "# cannot mount a tmpfs ($(cat mount.err)): skipped"; return 0
	fi
	rc=0
	(
		unitsync --db small/s.db init >/dev/null && unitsync --db small/s.db property add p1 >/dev/null &&
		head -n 50 export.csv >small.csv &&
		awk "NR == 1; NR > 1 { for (k = 0; k < 10; k++) { \$0 = \$0; sub(/R/, \"R\" k \"-\"); sub(/U/, \"U\" k \"-\"); print } }" export.csv >big.csv &&
		unitsync --db small/s.db extract-csv --property p1 small.csv >/dev/null &&
		sqlite3 small/s.db "SELECT count(*) FROM stg_person" >before &&
		rc=0; unitsync --db small/s.db extract-csv --property p1 big.csv >big.out 2>big.err || rc=$?
		cat big.err; echo "exit $rc"; test $rc -eq 75 &&
		sqlite3 small/s.db "SELECT count(*) FROM stg_person" >after &&
		test_cmp before after && test "$(sqlite3 small/s.db "PRAGMA quick_check")" = ok
	) || rc=1
	umount small; test $rc -eq 0
'

test_expect_success 'a property id starting with - is refused, naming it' '
	test_expect_code 2 unitsync property add -- -p2 2>prop.err &&
	cat prop.err && grep -e "-p2" prop.err &&
	! unitsync property list | grep -e "-p2"
'

test_expect_success 'database failures exit through one rule: busy map add exits 75' '
	hold_lock 15 "$UNITSYNC_DB" &&
	rc=0; unitsync map add --offline --property p1 X1 LX1 >/dev/null 2>map.err || rc=$?
	kill $lock_pid; wait $lock_pid; cat map.err; echo "exit $rc" && test $rc -eq 75
'

exit $((failed > 0))
