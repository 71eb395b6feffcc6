#!/usr/bin/env bash
# t0105-property-typo: a property id the state database lacks is reported
# in the same words wherever it is given (every --property, property
# set/show, a file's rows, a mapping file; nightly.sh's configured
# sections: t0797), through lib/stg's stg_property_unknown(): a known id
# within two typos (a letter missing, extra, wrong or swapped with its
# neighbour, letter case aside) is named ("did you mean 'oak'?") beside how
# to add a new one; with none close, only "add it" (unitsync-property(1)).
. "$(dirname "$0")/lib.sh"
test_plan 5

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
near="unknown property 'oaak' (did you mean 'oak'? a new property is added with 'unitsync property add oaak')"

(cd "$tmp" && unitsync init >/dev/null &&
	for p in oak elm Oakwood-North; do unitsync property add "$p" >/dev/null || exit 1; done &&
	{ echo $H; echo "oak,1,P1,H1,primary,current,Ann,Lee,ann@example.com,,2024-01-01,"; } >oak.csv &&
	unitsync extract-csv oak.csv >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out runs >t.out) || exit 1

test_expect_success 'property show and set: the close id named, else how to add it' '
	test_expect_code 65 unitsync property show oaak 2>e1 &&
	grep -Fx "unitsync-property: error: $near" e1 &&
	test_expect_code 65 unitsync property set oaak --guard-max 3 2>e2 &&
	grep -Fx "unitsync-property: error: $near" e2 &&
	test_expect_code 65 unitsync property show OAK 2>e3 &&
	grep -F "unknown property '"'"'OAK'"'"' (did you mean '"'"'oak'"'"'? " e3 &&
	test_expect_code 65 unitsync property show aokwood-nroth 2>e4 &&
	grep -F "(did you mean '"'"'Oakwood-North'"'"'? " e4 &&
	test_expect_code 65 unitsync property show zzz 2>e5 &&
	grep -Fx "unitsync-property: error: unknown property '"'"'zzz'"'"' (add it with '"'"'unitsync property add zzz'"'"')" e5 &&
	test_expect_code 65 unitsync property show ok 2>e6 &&
	grep -F "(did you mean '"'"'oak'"'"'? " e6 &&
	test_expect_code 65 unitsync property show zk 2>e7 &&
	! grep -F "did you mean" e7
'

test_expect_success 'every --property: 65, the same message, nothing done' '
	run=$(tail -n 1 t.out) &&
	before=$(sqlite3 "$UNITSYNC_DB" "SELECT (SELECT count(*) FROM snapshot) || (SELECT count(*) FROM run)") &&
	while read -r prog args; do
		test_expect_code 65 unitsync $prog --property oaak $args >out 2>err || return 1
		grep -Fx "unitsync-${prog%% *}: error: $near" err || grep -F ": $near; nothing staged" err ||
			{ echo "$prog: $(cat err)"; return 1; }
	done <<-EOF &&
	extract-csv oak.csv
	extract-xml $TOP/tests/data/xml/oakwood-rt.xml
	transform --as-of 2026-06-02 --out runs
	map list
	map add --offline 1 L1
	map unmapped
	units list
	snapshots list
	runs list
	reconcile
	explain --person P1
	EOF
	test_expect_code 65 unitsync load --dry-run "$run" --property oaak >out 2>err &&
	grep -Fx "unitsync-load: error: $near" err && ! grep -q "^PUT\|^POST\|^DELETE" out &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT (SELECT count(*) FROM snapshot) || (SELECT count(*) FROM run)")" = "$before"
'

test_expect_success 'a file whose rows name an unknown property: the close id named, the file refused' '
	sed "s/^oak,/oaak,/" oak.csv >typo.csv &&
	test_expect_code 65 unitsync extract-csv typo.csv 2>f1 &&
	grep -F "typo.csv:2: $near: the whole file is refused" f1 &&
	{ cat typo.csv && echo "zz,2,P2,H2,primary,current,Bo,Li,bo@example.com,,2024-01-01,"; } >two.csv &&
	test_expect_code 65 unitsync extract-csv two.csv 2>f2 &&
	grep -F "two.csv:2: unknown properties '"'"'oaak'"'"' (did you mean '"'"'oak'"'"'?), '"'"'zz'"'"' (add each with '"'"'unitsync property add ID'"'"')" f2
'

test_expect_success 'a mapping file naming an unknown property: its line, the close id named' '
	printf "property_id,pms_unit_id,latch_unit_id\noak,1,L1\noaak,2,L2\noaak,3,L3\n" >map.csv &&
	test_expect_code 65 unitsync map import --offline map.csv 2>m1 &&
	grep -F "'"'"'map.csv'"'"' line 3: $near; 2 rows name it" m1 &&
	test "$(unitsync map list --property oak | wc -l)" -le 1
'

test_expect_success 'a known id, in its own letter case, is no typo: no message, exit 0' '
	unitsync property show oak >s1.out 2>s1.err && test_cmp /dev/null s1.err &&
	unitsync property show Oakwood-North >s2.out 2>s2.err && test_cmp /dev/null s2.err &&
	unitsync explain --property oak --person P1 >s3.out 2>s3.err && test_cmp /dev/null s3.err
'
