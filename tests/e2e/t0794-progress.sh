#!/usr/bin/env bash
# t0794-progress: long work shows a status line on a terminal only, tested
# in a real pseudo-terminal (script(1)): extract-csv and extract-xml show
# the bytes read ("extract: X of Y MB (P%)"), redrawn in place (CR, erase
# to end of line) and cleared before a log line and at the end; without a
# terminal, or with JSON logs, nothing of it reaches standard error.  Past
# 20 rejected rows, one summary line instead of a warning each.  load shows
# rows settled of the delta's, their rate and an ETA; past 20 rows left
# for a rerun, one line for them all (issue 17).
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null 2>&1 || test_skip_all "script(1) is not installed"
test_plan 6

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && test_init_db p1 && {
	echo "$H"
	for i in $(seq 20000); do echo "p1,$i,P$i,H$i,primary,current,A$i,B,s794-$i@example.com,,2024-01-01,"; done
	for i in $(seq 30); do echo "p1,$i,,H$i,primary,current,A$i,B,s794-x$i@example.com,,2024-01-01,"; done
} >big.csv && perl -e '
	print qq{<ResidentTransactions><Property><PropertyID><Identification><PrimaryID>p1</PrimaryID></Identification></PropertyID>};
	print qq{<RT_Customer><CustomerID>h$_</CustomerID><Customers><Customer Type="current resident"><CustomerID>h$_</CustomerID><Name><FirstName>A</FirstName><LastName>B</LastName></Name></Customer></Customers><RT_Unit><UnitID>$_</UnitID></RT_Unit></RT_Customer>\n} for 1 .. 20000;
	print qq{</Property></ResidentTransactions>\n};' >big.xml) || exit 1

# in_pty CMD...: run CMD in a pseudo-terminal, its output (both streams) in pty.out
in_pty() {
	TERM=xterm script -qec "$(printf "%q " "$@")" /dev/null >pty.out
}

test_expect_success 'extract-csv on a terminal: a status line of bytes read, cleared before each warning' '
	in_pty unitsync extract-csv --max-reject-percent 50 big.csv &&
	grep -q "snapshot 1: .big.csv." pty.out &&
	grep -aq "$(printf "\rextract: [0-9.]* of [0-9.]* MB ([0-9]*%%)\033\\[K")" pty.out &&
	grep -aq "$(printf "\r\033\\[Kunitsync-extract-csv: warning: big.csv:20002: row rejected")" pty.out
'

test_expect_success 'past 20 rejected rows: 20 warnings, then one line for them all' '
	test "$(grep -c "row rejected" pty.out)" = 20 &&
	grep -q "warning: 30 rejected rows in all (the first 20 shown)" pty.out &&
	! grep -q "big.csv:20022: row rejected" pty.out
'

test_expect_success 'extract-xml on a terminal: the same status line' '
	in_pty unitsync extract-xml --property p1 big.xml &&
	grep -q "20000 people staged" pty.out &&
	grep -aq "$(printf "\rextract: [0-9.]* of [0-9.]* MB ([0-9]*%%)")" pty.out
'

test_expect_success 'no terminal, or JSON logs on one: no status line at all' '
	unitsync extract-csv --max-reject-percent 50 big.csv >out 2>err &&
	! grep -aq "$(printf "\r")" err out &&
	rm -f "$UNITSYNC_DB" && test_init_db p1 &&
	in_pty unitsync --log-format json extract-csv --max-reject-percent 50 big.csv &&
	grep -q "snapshot 1: .big.csv." pty.out &&
	! grep -aq "extract: " pty.out
'
(cd "$tmp" && test_init_db --db "$tmp/load.db" p2 &&
	{ echo "$H"; for i in $(seq 3000); do echo "p2,$i,Q$i,H$i,primary,current,A$i,B,s794-q$i@example.com,,2024-01-01,"; done; } >p2.csv &&
	{ echo building_uuid,unit_uuid,name; for i in $(seq 3000); do echo "b1,L$i,Unit $i"; done; } >seed.csv &&
	{ echo property_id,pms_unit_id,latch_unit_id; for i in $(seq 3000); do echo "p2,$i,L$i"; done; } >map.csv &&
	export UNITSYNC_DB=$tmp/load.db && unitsync map import --offline map.csv >/dev/null &&
	unitsync extract-csv p2.csv >/dev/null && unitsync property set p2 --guard-percent 0 >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out runs >t.out) || exit 1
run=$(tail -n 1 "$tmp/t.out")
sim_start "$tmp/seed.csv" --latency-ms 1 || exit 1

test_expect_success 'load on a terminal: rows settled of the delta, rate and ETA, then the summary' '
	export UNITSYNC_DB=$tmp/load.db &&
	curl -sf -X POST -d "{\"error_rate\": 1.0, \"methods\": \"PUT\"}" "$SIM_URL/_sim/faults" >/dev/null &&
	{ in_pty unitsync load --concurrency 4 --max-attempts 1 "$run"; true; } &&
	grep -aq "$(printf "\rload: [0-9]*/6000 rows ([0-9]*%%)")" pty.out
'

test_expect_success 'past 20 rows left for a rerun: 20 warnings, then one line in all' '
	test "$(grep -c "giving up for this load" pty.out)" = 20 &&
	grep -q "warning: 3000 rows left for a rerun in all (the first 20 shown)" pty.out &&
	export UNITSYNC_DB=$tmp/load.db &&
	curl -sf -X POST -d "{\"error_rate\": 0.0}" "$SIM_URL/_sim/faults" >/dev/null &&
	{ unitsync load "$run" >l.out 2>l.err || { cat l.err >&4; false; }; } &&
	! grep -aq "$(printf "\r")" l.err
'
[ $failed -eq 0 ]
