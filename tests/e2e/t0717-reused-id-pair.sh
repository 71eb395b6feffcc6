#!/usr/bin/env bash
# t0717-reused-id-pair: the ledger records one pair a (property, PMS person
# id, Latch unit).  When a reused id's newcomer gains a Latch unit the
# former resident still holds under that id, the former one's removal goes
# first in delta.csv (load applies one id's rows in order and stops at a
# failure), and load never sends an ASSIGN whose recording would replace
# another Latch user's pair: a failed removal no longer leaves the former
# tenant a key that no later night sees (reviewer rv7's w3: the newcomer's
# ASSIGN went first, the DELETE failed, the ledger then named only him).
. "$(dirname "$0")/lib.sh"
test_plan 4

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
night() { # night N AS_OF FILE [OPTION...]: extract and transform; the run directory in $runN
	unitsync extract-csv "$3" >/dev/null &&
		unitsync transform --as-of "$2" --out runs "${@:4}" >t$1.out &&
		eval "run$1=\$(tail -n 1 t$1.out)"
}
faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
line_of() { grep -n "$1" "$2" | cut -d: -f1; }

(cd "$tmp" && printf 'building_uuid,unit_uuid,name\nb1,L-101,101\nb1,L-102,102\nb1,L-103,103\nb1,L-201,201\nb1,L-202,202\n' >seed.csv &&
	test_init_db oak elm && unitsync property set oak --guard-percent 100 >/dev/null &&
	unitsync property set elm --guard-percent 100 >/dev/null &&
	for u in 101 102 103; do unitsync map add --offline --property oak $u L-$u >/dev/null || exit 1; done &&
	for u in 201 202; do unitsync map add --offline --property elm $u L-$u >/dev/null || exit 1; done &&
	{ echo $H
	  echo "oak,101,A7,H7,primary,current,Alice,Old,alice@example.com,,2023-01-01,"
	  echo "oak,102,A7,H7,primary,current,Alice,Old,alice@example.com,,2023-01-01,"; } >oak1.csv &&
	{ echo $H
	  echo "oak,101,A7,H8,primary,current,Bo,New,bo@example.com,,2026-06-02,"
	  echo "oak,103,A7,H8,primary,current,Bo,New,bo@example.com,,2026-06-02,"; } >oak2.csv &&
	{ echo $H; echo "elm,201,C1,H1,primary,current,Cy,Elm,cy@example.com,,2024-01-01,"; } >elm1.csv &&
	{ echo $H
	  echo "elm,201,C1,H1,primary,current,Cy,Elm,cy@example.com,,2024-01-01,"
	  echo "elm,202,C1,H1,primary,current,Cy,Elm,cy@example.com,,2024-01-01,"; } >elm2.csv) ||
	exit 1
sim_start "$tmp/seed.csv" || exit 1
alice_pair() {
	sqlite3 "$UNITSYNC_DB" "SELECT p.email FROM assignment a JOIN person_user_history p
		ON p.latch_user_id = a.latch_user_id WHERE a.property_id = 'oak'
		AND a.latch_unit_id = 'L-101' GROUP BY a.latch_user_id"
}

test_expect_success 'nights 1-2: Alice holds 101 and 102 under A7; A7 given to Bo (101, 103)' '
	night 1 2026-06-01 oak1.csv && unitsync load "$run1" >l1.out &&
	night 2 2026-06-02 oak2.csv && unitsync load "$run2" >l2.out &&
	grep -q "^identity_changed,oak,101,A7," "$run2/exceptions.csv" &&
	test "$(sim_residents)" = "L-101 alice@example.com
L-102 alice@example.com
L-103 bo@example.com"
'

test_expect_success 'night 3: Alice'"'"'s removal from L-101 comes before Bo'"'"'s grant; it fails: Bo waits, Alice stays recorded' '
	night 3 2026-06-03 oak2.csv &&
	u=$(line_of ",UNASSIGN,oak,101,L-101,A7,$(sim_user_of alice@example.com)," "$run3/delta.csv") &&
	a=$(line_of ",ASSIGN,oak,101,L-101,A7,$(sim_user_of bo@example.com)," "$run3/delta.csv") &&
	test -n "$u" && test -n "$a" && test "$u" -lt "$a" &&
	faults "{\"error_rate\":1,\"methods\":\"DELETE\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$run3" >l3.out 2>l3.err &&
	faults "{\"error_rate\":0}" &&
	test "$(sim_residents)" = "L-101 alice@example.com
L-102 alice@example.com
L-103 bo@example.com" &&
	test "$(alice_pair)" = alice@example.com
'

test_expect_success 'night 4: the removal goes through, then the grant: L-101 is Bo'"'"'s alone' '
	night 4 2026-06-04 oak2.csv && unitsync load "$run4" >l4.out &&
	test "$(sim_residents)" = "L-101 bo@example.com
L-103 bo@example.com"
'

test_expect_success 'load never sends an ASSIGN whose pair the ledger records for another user: the row fails naming it' '
	night 5 2026-06-05 elm1.csv --property elm && unitsync load "$run5" >l5.out &&
	night 6 2026-06-06 elm2.csv --property elm &&
	grep -q ",ASSIGN,elm,202,L-202,C1," "$run6/delta.csv" &&
	sqlite3 "$UNITSYNC_DB" "INSERT INTO assignment (property_id, pms_person_id, latch_unit_id,
		pms_unit_id, latch_user_id, run_id, seq, assigned_at)
		VALUES ('\''elm'\'', '\''C1'\'', '\''L-202'\'', '\''202'\'', '\''u-former'\'', '\''r0'\'', 1, '\''2026-01-01'\'')" &&
	test_expect_code 1 unitsync load "$run6" >l6.out 2>l6.err &&
	grep -F "is recorded for another Latch user, u-former, whose removal is not confirmed" \
		"$run6/load-report.csv" &&
	test "$(sim_residents | grep -c L-202)" = 0 &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT latch_user_id FROM assignment WHERE latch_unit_id = '\''L-202'\''")" = u-former
'
[ $failed -eq 0 ]
