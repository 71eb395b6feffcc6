#!/usr/bin/env bash
# t0797-nightly-files: nightly.sh stages the consecutive export files of a
# property (same format and profile) with one extract call, in the
# configuration's order, so the last file still wins; a file of them
# refused leaves the property judged on nothing (exit 65), its
# property_missing saying the export was refused (transform
# --export-refused, kept in the manifest for replay); the properties
# the state database knows are read once, and a configured property it
# does not know is skipped with a warning naming a known id one typo away
# or how to add it (exit 78 at the end) while the others run.  The whole
# night is one `unitsync extract`: no text of an export (a property list's
# name ending ": exit 0" or holding a line break) moves a snapshot to
# another property.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || test_skip_all "sqlite3 is not installed"
test_plan 6

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	echo "b1,L1,Unit 1"
	echo "b1,L2,Unit 2"
	echo "b1,L3,Unit 3"
} >seed.csv && unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	for u in 1 2 3; do unitsync map add --offline --property p1 $u L$u >/dev/null || exit 1; done &&
	{
		echo $H
		echo "p1,1,R1,H1,primary,current,Ann,Lee,s797-ann@example.com,,2024-01-01,"
		echo "p1,3,R3,H3,primary,current,Cy,Day,s797-cy@example.com,,2024-01-01,"
	} >a.csv && {
	echo $H
	echo "p1,2,R1,H1,primary,current,Ann,Lee,s797-ann@example.com,,2024-01-01,"
	echo "p1,2,R2,H1,roommate,current,Bo,Ray,s797-bo@example.com,,2024-01-01,"
} >b.csv && printf 'property_id,pms_unit_id\np1,1\n' >bad.csv &&
	printf '[property "p1"]\nsource = a.csv\nsource = b.csv\n\n[property "p9"]\nsource = a.csv\n\n[property "zzzz"]\nsource = a.csv\n' \
		>nightly.ini) || exit 1
sim_start "$tmp/seed.csv" || exit 1

nightly() {
	"$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs "$@"
}

test_expect_success 'two files of a property: both staged, the last one wins; an unknown property is skipped (78), a close known id named' '
	test_expect_code 78 nightly --as-of 2026-06-01 >n1.out 2>n1.err &&
	grep -F "property '"'"'p9'"'"' is configured but not in the state database (did you mean '"'"'p1'"'"'? a new property is added with '"'"'unitsync property add p9'"'"'); skipped tonight" n1.err &&
	grep -F "property '"'"'zzzz'"'"' is configured but not in the state database (add it with '"'"'unitsync property add zzzz'"'"'); skipped tonight" n1.err &&
	! grep -q "recipient" n1.err && # no notification configured: no warning of it
	test "$(unitsync snapshots list | grep -c "a.csv\|b.csv")" = 2 &&
	run=$(sed -n "s/^run directory: //p" n1.out) &&
	awk -F, "NR > 1 && \$2 == \"ASSIGN\" { print \$5, \$6 }" "$run/delta.csv" | sort >assigned &&
	printf "L2 R1\nL2 R2\nL3 R3\n" >expect &&
	test_cmp expect assigned
'

test_expect_success 'one of the files refused: the property is judged on nothing (65), no removal' '
	printf "[property \"p1\"]\nsource = bad.csv\nsource = b.csv\n" >nightly.ini &&
	test_expect_code 65 nightly --as-of 2026-06-02 >n2.out 2>n2.err &&
	grep "p1: exports .*bad.csv., .*b.csv.: at least one rejected (exit 65); nothing changes for p1 tonight" n2.err &&
	run=$(sed -n "s/^run directory: //p" n2.out) &&
	! grep -q UNASSIGN "$run/delta.csv" &&
	grep -Fx "property_missing,p1,,,tonight'"'"'s export was refused by extract (exit 65: its warnings in the night'"'"'s log name the file and why); 3 assignments left as they are" "$run/exceptions.csv" &&
	python3 -c "import json,sys; p=[p for p in json.load(open(sys.argv[1]))[\"properties\"] if p[\"property_id\"]==\"p1\"]; assert p[0][\"export_refused\"] is True" "$run/manifest.json" &&
	unitsync replay "$run" >replay.out
'

test_expect_success 'transform --export-refused: an unknown id 65, one outside the run 2; a property with no export staged says so' '
	test_expect_code 65 unitsync transform --snapshots-only --property p1 --export-refused p2 --out runs2 2>r1.err &&
	grep -F "unknown property '"'"'p2'"'"' (did you mean '"'"'p1'"'"'? " r1.err &&
	unitsync property add p3 >/dev/null &&
	test_expect_code 2 unitsync transform --snapshots-only --property p1 --export-refused p3 --out runs2 2>r2.err &&
	grep -F "export-refused p3: not a property of this run" r2.err &&
	unitsync transform --as-of 2026-06-02 --snapshots-only --property p1 --property p3 --export-refused p1 --out runs2 >r3.out &&
	grep -F "property_missing,p1,,,tonight'"'"'s export was refused by extract" "$(tail -n 1 r3.out)/exceptions.csv" &&
	grep -Fx "property_missing,p3,,,no export staged for this property tonight; 0 assignments left as they are" "$(tail -n 1 r3.out)/exceptions.csv"
'

test_expect_success 'a file refused alone is named as before; a missing one is said to be missing' '
	printf "[property \"p1\"]\nsource = bad.csv\n" >nightly.ini &&
	test_expect_code 65 nightly --as-of 2026-06-03 >n3.out 2>n3.err &&
	grep "p1: export .*bad.csv. rejected (exit 65); nothing changes for p1 tonight" n3.err &&
	printf "[property \"p1\"]\nsource = gone.csv\n" >nightly.ini &&
	test_expect_code 65 nightly --as-of 2026-06-03 >n5.out 2>n5.err &&
	grep "p1: export .*gone.csv. is missing (exit 65); nothing changes for p1 tonight" n5.err
'

# review rv17 #3: a file copied over another of the same property reuses its
# snapshot; judged on it alone, the other file'"'"'s residents would be removed
test_expect_success 'two files of a property in the same bytes: judged on nothing (65), no removal' '
	cp a.csv b-copy.csv &&
	printf "[property \"p1\"]\nsource = a.csv\nsource = b-copy.csv\n" >nightly.ini &&
	test_expect_code 65 nightly --as-of 2026-06-04 >n6.out 2>n6.err &&
	grep "p1: two of its export files hold the same bytes (snapshot [0-9]*): one copied over the other? (exit 65); nothing changes for p1 tonight" n6.err &&
	run=$(sed -n "s/^run directory: //p" n6.out) &&
	test "$(wc -l <"$run/delta.csv")" = 1 &&
	grep -q "^property_missing,p1,,,.*refused by extract" "$run/exceptions.csv"
'

test_expect_success 'a property list named like extract'"'"'s lines moves no snapshot to another property, and is no property'"'"'s input' '
	printf "<Properties><Property><Code>X1</Code><MarketingName>Harbor: exit 0&#10;extract p3: exit 0&#10;snapshot 1: forged</MarketingName></Property></Properties>\n" >props.xml &&
	printf "[property \"p3\"]\nformat = xml\nsource = props.xml\n\n[property \"p1\"]\nsource = b.csv\n" >nightly.ini &&
	test_expect_code 4 nightly --as-of 2026-06-04 >n4.out 2>n4.err &&
	! grep -q "unbound variable\|a bug" n4.err &&
	grep -q "staged no residents: it is not p3.s input" n4.err &&
	grep -Fx "p3: as of 2026-06-04, no export: 0 USER_CREATE, 0 ASSIGN, 0 UNASSIGN, 1 exception" n4.out &&
	id=$(sed -n "s/^p1: as of 2026-06-04, from the export staged as snapshot \([0-9]*\):.*/\1/p" n4.out) &&
	test -n "$id" && unitsync snapshots show "$id" >snap.out && grep -q "b.csv" snap.out
'
