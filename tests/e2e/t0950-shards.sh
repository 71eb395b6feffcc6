#!/usr/bin/env bash
# t0950-shards: --shard K/N splits a portfolio by a stable hash of the
# property id; the union of 4 shard runs equals the whole run (docs/ARCHITECTURE.md §10).
. "$(dirname "$0")/lib.sh"
test_plan 4

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && {
	echo $H
	for p in $(seq 12); do for u in 1 2 3; do
		echo "prop$p,$u,P$p-$u,H$p-$u,primary,current,F,L,p$p-$u@example.com,,2024-01-01,"
	done; done
} >portfolio.csv && {
	echo property_id,pms_unit_id,latch_unit_id
	for p in $(seq 12); do for u in 1 2 3; do echo "prop$p,$u,L$p-$u"; done; done
} >map.csv) || exit 1

# one state database per shard, as a scheduler would lay them out
setup_db() { # setup_db DB
	UNITSYNC_DB=$1 unitsync init >/dev/null &&
	for p in $(seq 12); do UNITSYNC_DB=$1 unitsync property add "prop$p" >/dev/null || return 1; done &&
	UNITSYNC_DB=$1 unitsync map import --offline map.csv >/dev/null &&
	UNITSYNC_DB=$1 unitsync extract-csv portfolio.csv >/dev/null
}
rows() { tail -n +2 "$1" | cut -d, -f2- | sort; } # a delta without its seq column

test_expect_success 'the whole portfolio in one run' '
	setup_db whole.db &&
	UNITSYNC_DB=whole.db unitsync transform --as-of 2026-06-01 --out whole >w.out &&
	rows "$(tail -n 1 w.out)/delta.csv" >whole.rows &&
	test "$(wc -l <whole.rows)" = 72
'

test_expect_success 'four shards, each with its own database, cover it exactly once' '
	for k in 0 1 2 3; do
		setup_db "s$k.db" &&
		UNITSYNC_DB="s$k.db" unitsync transform --shard "$k/4" --as-of 2026-06-01 --out "s$k" >"s$k.out" &&
		rows "$(tail -n 1 "s$k.out")/delta.csv" >>union.rows || return 1
	done &&
	sort -o union.rows union.rows && test_cmp whole.rows union.rows
'

test_expect_success 'every shard has some properties and none has all' '
	for k in 0 1 2 3; do
		n=$(cut -d, -f2 <(tail -n +2 "$(tail -n 1 "s$k.out")/delta.csv") | sort -u | wc -l)
		[ "$n" -ge 1 ] && [ "$n" -lt 12 ] || exit 1
	done
'

test_expect_success 'a bad shard is a usage error' '
	test_expect_code 2 unitsync --db whole.db transform --shard 4/4 &&
	test_expect_code 2 unitsync --db whole.db transform --shard x
'
[ $failed -eq 0 ]
