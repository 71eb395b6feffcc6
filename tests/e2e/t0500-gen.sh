#!/usr/bin/env bash
# t0500-gen: bin/portfolio-gen, the synthetic portfolio behind `make bench`:
# the same arguments give the same bytes, night 1 differs from night 0 by
# move-ins, move-outs and transfers that the whole pipeline (extract, map,
# transform, load into latch-sim, transform again) reports as such, and its
# XML stages the same people as its CSV.
. "$(dirname "$0")/lib.sh"
test_plan 8

# Test bodies run in a subshell, not a function: a loop step fails the test
# with `|| exit 1` (`return` would only print an error and go on).
# two properties of 100 units, 10% of the units changing a night: enough
# for every kind of event on night 1 with this seed, small enough to load
args="--properties 2 --units 100 --seed 42 --churn 0.1"

test_expect_success 'usage: --help exits 0; bad or missing options exit 2 on stderr' '
	portfolio-gen --help >help &&
	grep "^usage: portfolio-gen --properties N --units M" help &&
	test_expect_code 2 portfolio-gen --units 3 >out 2>err &&
	! test -s out && grep "are required" err &&
	test_expect_code 2 portfolio-gen --properties 1 --units 0 2>err &&
	grep "from 1 to" err &&
	test_expect_code 2 portfolio-gen --properties 1 --units 2 --format json 2>err &&
	grep "unknown format .json." err &&
	test_expect_code 2 portfolio-gen --properties 1 --units 2 --churn 1.5 2>err &&
	test_expect_code 2 portfolio-gen --properties 1 --units 2 --property-prefix "a,b" 2>err &&
	test_expect_code 2 portfolio-gen --properties 1 --units 2 --bogus 2>err &&
	grep "unknown option .--bogus." err &&
	test_expect_code 2 portfolio-gen --properties 2 --units 2 --format xml --out two.xml 2>err &&
	grep "one property per document" err && ! test -e two.xml
'

test_expect_success 'the same arguments give the same bytes, to stdout or to a file' '
	portfolio-gen $args --night 3 >a.csv &&
	portfolio-gen $args --night 3 --out b.csv &&
	cmp a.csv b.csv &&
	portfolio-gen --properties 1 --units 50 --seed 9 --night 2 --format xml >a.xml &&
	portfolio-gen --properties 1 --units 50 --seed 9 --night 2 --format xml >b.xml &&
	cmp a.xml b.xml &&
	portfolio-gen --properties 2 --units 100 --seed 43 --churn 0.1 --night 3 >c.csv &&
	! cmp -s a.csv c.csv
'

test_expect_success 'night 0: the generic profile, leading zeros, households, contacts' '
	portfolio-gen $args --night 0 >n0.csv &&
	echo "property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out" >expect &&
	head -n 1 n0.csv >actual &&
	test_cmp expect actual &&
	tail -n +2 n0.csv >rows &&
	test "$(wc -l <rows)" -gt 300 &&
	awk -F, "NF != 12" rows >bad && test_cmp /dev/null bad &&
	cut -d, -f2 rows | grep -x 0101 >/dev/null &&
	cut -d, -f2 rows | grep -x 1010 >/dev/null &&
	! cut -d, -f2 rows | grep -vxE "(0[1-9]|10)(0[1-9]|10)" &&
	cut -d, -f1,3 rows | sort | uniq -d >dups && test_cmp /dev/null dups &&
	cut -d, -f5 rows | sort -u | tr "\n" " " >roles &&
	test "$(cat roles)" = "guarantor minor occupant primary roommate " &&
	cut -d, -f6 rows | sort -u | tr "\n" " " >statuses &&
	test "$(cat statuses)" = "current future notice past " &&
	! cut -d, -f9 rows | grep -vxE "|[a-z-]+\.[a-z-]+\.p000[12]-[0-9]{6}@example\.com" &&
	! cut -d, -f10 rows | grep -vxE "|\+1555[0-9]{7}" &&
	awk -F, "\$5 == \"minor\" && (\$9 != \"\" || \$10 != \"\")" rows >bad &&
	test_cmp /dev/null bad &&
	awk -F, "\$6 == \"past\" && \$12 != \"2026-01-01\"" rows >bad && test_cmp /dev/null bad &&
	awk -F, "\$6 == \"future\" && \$11 <= \"2026-01-01\"" rows >bad && test_cmp /dev/null bad
'

# person -> unit and status of a night, for the comparisons below
people() { awk -F, 'NR > 1 { print $3 "," $2 "," $6 "," $11 "," $12 }' "$1" | sort; }

test_expect_success 'night 1 churns: move-outs listed once as past, move-ins, transfers' '
	portfolio-gen $args --night 1 --stats >n1.csv 2>stats &&
	portfolio-gen $args --night 2 >n2.csv &&
	grep "night 1 (2026-01-02): [1-9][0-9]* move-ins, [1-9][0-9]* move-outs, [1-9][0-9]* transfers" stats &&
	people n0.csv >p0 && people n1.csv >p1 && people n2.csv >p2 &&
	grep ",past,[^,]*,2026-01-02$" p1 | cut -d, -f1 >gone &&
	test -s gone &&
	! grep -F -f gone p2 &&
	awk -F, "NR == FNR { was[\$1] = \$3; next }
		\$3 == \"current\" && \$4 == \"2026-01-02\" && was[\$1] != \"current\" &&
		was[\$1] != \"notice\"" p0 p1 >moved_in &&
	test -s moved_in &&
	join -t, p0 p1 | awk -F, "\$2 != \$6 && \$7 == \"current\"" >transfers &&
	test -s transfers
'

test_expect_success 'set up both properties, every unit mapped, and latch-sim seeded' '
	unitsync init &&
	for p in P0001 P0002; do
		unitsync property add $p --latch-building "b-$p" --grant-lead-days 7 || exit 1
	done &&
	portfolio-gen $args --format units >units.csv &&
	test "$(wc -l <units.csv)" = 201 &&
	awk -F, "NR == 1 { print \"property_id,pms_unit_id,latch_unit_id\"; next }
		{ print \$1 \",\" \$2 \",lu-\" \$1 \"-\" \$2 }" units.csv >map.csv &&
	awk -F, "NR == 1 { print \"building_uuid,unit_uuid,name\"; next }
		{ print \"b-\" \$1 \",lu-\" \$1 \"-\" \$2 \",\" \$1 \" \" \$2 }" units.csv >seed.csv &&
	unitsync map import --offline map.csv >out &&
	grep "^200 added" out
'

sim_start "$tmp/seed.csv" || exit 1
test_expect_success 'night 0 extracts, transforms and loads' '
	unitsync extract-csv n0.csv >out &&
	grep "$(tail -n +2 n0.csv | wc -l) people staged" out &&
	unitsync transform --as-of 2026-01-01 --out runs >t0.out &&
	unitsync load "$(run_dir t0.out)" >load.out &&
	grep " 0 failed, 0 held" load.out
'

test_expect_success 'night 1: the delta has move_in, move_out and transfer (ASSIGN before UNASSIGN)' '
	unitsync extract-csv n1.csv &&
	unitsync transform --as-of 2026-01-02 --out runs >t1.out &&
	run=$(run_dir t1.out) &&
	cut -d, -f2,8 "$run/delta.csv" | sort -u >reasons &&
	grep -x "ASSIGN,move_in" reasons &&
	grep -x "UNASSIGN,move_out" reasons &&
	grep -x "ASSIGN,transfer" reasons &&
	grep -x "UNASSIGN,transfer" reasons &&
	awk -F, "\$8 == \"transfer\" { print \$9, \$2 }" "$run/delta.csv" >groups &&
	awk "{ n[\$1]++; if (n[\$1] == 1 && \$2 != \"ASSIGN\") bad = 1 } END { for (g in n) if (n[g] != 2) bad = 1; exit bad }" groups &&
	cut -d, -f6 "$run/delta.csv" | sort -u >touched &&
	awk -F, "{ print \$1 }" transfers | sort -u >moved &&
	test "$(comm -12 touched moved | wc -l)" -gt 0
'

test_expect_success 'XML, one document per property: extract-xml stages the CSV people' '
	mkdir xml &&
	portfolio-gen $args --night 1 --format xml --out xml &&
	ls xml >files && printf "P0001.xml\nP0002.xml\n" >expect && test_cmp expect files &&
	unitsync --db xml.db init &&
	staged=0 &&
	for p in P0001 P0002; do
		unitsync --db xml.db property add $p &&
		unitsync --db xml.db extract-xml --property $p xml/$p.xml >out || exit 1
		n=$(sed -n "s/.*: \([0-9]*\) people staged, .*, 0 rejected$/\1/p" out) &&
		test "$n" = "$(grep -c "^$p," n1.csv)" || exit 1
		staged=$((staged + n))
	done &&
	test "$staged" = "$(tail -n +2 n1.csv | wc -l)" &&
	portfolio-gen --properties 1 --units 40 --seed 5 --format xml >one.xml &&
	portfolio-gen --properties 1 --units 40 --seed 5 >one.csv &&
	unitsync --db xml.db property add P0001x >/dev/null &&
	unitsync --db xml.db extract-xml --property P0001x one.xml >out &&
	grep ": $(tail -n +2 one.csv | wc -l) people staged" out
'
[ $failed -eq 0 ]
