#!/usr/bin/env bash
# t0773-empty-input-file: a property exported as several files, one of them
# with nobody in it tonight (header only, or every row rejected), is not
# judged on the others alone: their residents would be taken for gone.  It
# is property_missing, naming the file, and nothing changes (review rv16
# #4), as for a property whose only file has nobody in it.  (A unit list
# among its files has no residents by its kind: t0797 #5.)
. "$(dirname "$0")/lib.sh"
test_plan 5

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
resident() { echo "oak,$1,R$1,H$1,primary,current,F$1,L$1,t773-$1@example.com,,${2:-2024-01-01},"; }
residents() { curl -sf "$SIM_URL/_sim/state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["residents"]))'; }
night() { # night DATE FILE...: extract each file as oak's, transform the snapshots (as nightly.sh does); the run in run.txt
	local d=$1 f args=() && shift &&
	for f in "$@"; do
		unitsync extract-csv --property oak --max-reject-percent 100 "$f" >"x-$f.out" 2>"x-$f.err" || return 1
		args+=(--snapshot "$(sed -n "1s/^snapshot \([0-9]*\).*/\1/p" "x-$f.out")")
	done &&
	unitsync transform --as-of "$d" --snapshots-only "${args[@]}" --out runs >t.out && tail -n 1 t.out >run.txt
}

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in 1 2 3 4; do echo "b1,L$u,Unit $u"; done
} >seed.csv && test_init_db oak &&
	for u in 1 2 3 4; do unitsync map add --offline --property oak "$u" "L$u" >/dev/null || exit 1; done &&
	{ echo $H; resident 1; resident 2; } >east.csv && { echo $H; resident 3; resident 4; } >west.csv &&
	echo $H >west-empty.csv && { echo $H; resident 3 not-a-date; resident 4 13/13/13; } >west-bad.csv) || exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'night 1: two files, four residents assigned' '
	night 2026-06-01 east.csv west.csv && unitsync load "$(cat run.txt)" >/dev/null && test "$(residents)" = 4
'

test_expect_success 'one file header only: property_missing naming it, nothing removed' '
	night 2026-06-02 east.csv west-empty.csv && run=$(cat run.txt) &&
	test "$(wc -l <"$run/delta.csv")" = 1 &&
	grep "^property_missing,oak,,,\"tonight.s export .*west-empty.csv. (snapshot [0-9]*), one of the property.s 2 files, has no residents for this property: the others alone would take its residents for gone; 4 assignments left as they are\"$" "$run/exceptions.csv" &&
	unitsync load "$run" >/dev/null && test "$(residents)" = 4
'

test_expect_success 'one file with every row rejected: the same, with the rejected rows counted' '
	night 2026-06-03 east.csv west-bad.csv && run=$(cat run.txt) &&
	test "$(wc -l <"$run/delta.csv")" = 1 &&
	grep "^property_missing,oak,,,\"tonight.s export .*west-bad.csv. (snapshot [0-9]*, 2 rows rejected), one of" "$run/exceptions.csv"
'

test_expect_success 'a single file with nobody in it names the file' '
	night 2026-06-04 west-empty.csv && run=$(cat run.txt) &&
	test "$(wc -l <"$run/delta.csv")" = 1 &&
	grep "^property_missing,oak,,,tonight.s export .*west-empty.csv. (snapshot [0-9]*) has no residents for this property; 4 assignments left as they are$" "$run/exceptions.csv"
'

# review rv17 #3a: a Yardi reply whose households hold nobody (lease charges
# only) replacing a residents reply of the property: no resident list, so
# the property changes nothing, as for a header-only file
test_expect_success 'one file a lease-charges reply (households without residents): the same' '
	rt2="<ResidentTransactions xmlns=\"http://yardi.com/ResidentTransactions20\" xmlns:MITS=\"http://my-company.com/namespace\"><Property><PropertyID><MITS:Identification Type=\"other\"><MITS:PrimaryID>OAK01</MITS:PrimaryID></MITS:Identification></PropertyID>" &&
	{ echo "$rt2" &&
		for u in 3 4; do echo "<RT_Customer><CustomerID>R$u</CustomerID><Customers><MITS:Customer Type=\"current resident\"><MITS:CustomerID>R$u</MITS:CustomerID><MITS:Property><MITS:PrimaryID>OAK01</MITS:PrimaryID><MITS:UnitID>$u</MITS:UnitID></MITS:Property><MITS:Name><MITS:FirstName>F$u</MITS:FirstName><MITS:LastName>L$u</MITS:LastName></MITS:Name><MITS:Address Type=\"current\"><MITS:Email>t773-$u@example.com</MITS:Email></MITS:Address><MITS:Lease><MITS:ActualMoveIn>2024-01-01</MITS:ActualMoveIn></MITS:Lease></MITS:Customer></Customers><RT_Unit><UnitID>$u</UnitID></RT_Unit></RT_Customer>"; done &&
		echo "</Property></ResidentTransactions>"; } >west.xml &&
	{ echo "$rt2" &&
		for u in 3 4; do echo "<RT_Customer><CustomerID>R$u</CustomerID><RT_Unit><UnitID>$u</UnitID></RT_Unit></RT_Customer>"; done &&
		echo "</Property></ResidentTransactions>"; } >west-charges.xml &&
	unitsync extract-csv --property oak east.csv >x1.out &&
	s1=$(sed -n "1s/^snapshot \([0-9]*\).*/\1/p" x1.out) &&
	unitsync extract-xml --property oak west.xml >x2.out && s2=$(sed -n "1s/^snapshot \([0-9]*\).*/\1/p" x2.out) &&
	unitsync transform --as-of 2026-06-05 --snapshots-only --snapshot "$s1" --snapshot "$s2" --out runs >t.out &&
	unitsync load "$(tail -n 1 t.out)" >/dev/null && test "$(residents)" = 4 &&
	unitsync extract-xml --property oak west-charges.xml >x3.out 2>x3.err && grep "lease charges only" x3.err &&
	s3=$(sed -n "1s/^snapshot \([0-9]*\).*/\1/p" x3.out) &&
	unitsync transform --as-of 2026-06-06 --snapshots-only --snapshot "$s1" --snapshot "$s3" --out runs >t.out &&
	run=$(tail -n 1 t.out) && test "$(wc -l <"$run/delta.csv")" = 1 &&
	grep "^property_missing,oak,,,\"tonight.s export .*west-charges.xml. (snapshot $s3), one of the property.s 2 files, has no residents" "$run/exceptions.csv"
'

sim_stop
[ $failed -eq 0 ]
