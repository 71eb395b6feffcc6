#!/usr/bin/env bash
# t0841-explain-not-eligible: a person in the night's export who got no
# delta and no exception is told why, record by record, as transform
# judged them (lib/rules, the policy as the run read it): a guarantor, an
# excluded status, moved out, a future resident without lead days, within
# the grace days, or eligible and already given (issue 19, unitsync-explain(1));
# a member without a status of its own as judged by its household's.
. "$(dirname "$0")/lib.sh"
test_plan 4

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && test_init_db oak &&
	unitsync property set oak --exclude-status notice --revoke-grace-days 10 >/dev/null &&
	for u in 1 2 3 4 5 6 8; do unitsync map add --offline --property oak "$u" "L$u" >/dev/null || exit 1; done &&
	{
		echo $H
		echo "oak,1,P1,H1,primary,current,A,One,p1@example.com,,2024-01-01,"
		echo "oak,2,P2,H2,guarantor,current,B,Two,p2@example.com,,2024-01-01,"
		echo "oak,3,P3,H3,primary,notice,C,Three,p3@example.com,,2024-01-01,"
		echo "oak,4,P4,H4,primary,past,D,Four,p4@example.com,,2024-01-01,2026-01-31"
		echo "oak,5,P5,H5,primary,future,E,Five,p5@example.com,,2026-09-01,"
		echo "oak,6,P6,H6,primary,past,F,Six,p6@example.com,,2024-01-01,2026-05-28"
		echo "oak,8,P8,H8,primary,future,H,Eight,p8@example.com,,2026-09-01,"
		echo "oak,8,M8,H8,minor,,I,Eight,m8@example.com,,,"
	} >oak.csv &&
	unitsync extract-csv --property oak oak.csv >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out runs >t1.out) || exit 1

test_expect_success 'the people given nothing are each told why' '
	unitsync explain --property oak --person P2 >e2 &&
	grep "unit 2, status current, move-in 2024-01-01, move-out -: nothing given: a guarantor" e2 &&
	unitsync explain --property oak --person P3 >e3 &&
	grep "status notice.*: nothing given: excluded status .notice. (the property.s exclude-status)" e3 &&
	unitsync explain --property oak --person P4 >e4 &&
	grep "move-out 2026-01-31: nothing given: not eligible, moved out (grace 10 days)" e4 &&
	unitsync explain --property oak --person P5 >e5 &&
	grep "status future.*: nothing given: not eligible with status .future. (the property gives none before" e5
'

test_expect_success 'within the grace days: kept, gains none; the eligible resident shows its delta' '
	unitsync explain --property oak --person P6 >e6 &&
	grep "move-out 2026-05-28: moved out, within the 10 grace days: keeps a unit it holds, gains none" e6 &&
	unitsync explain --property oak --person P1 >e1 &&
	grep "ASSIGN unit 1 (Latch L1), reason move_in" e1 && ! grep "nothing given" e1
'

test_expect_success 'the policy is the one the run read, not today'"'"'s' '
	unitsync property set oak --exclude-status "" >/dev/null &&
	unitsync explain --property oak --person P3 >e3b &&
	grep "excluded status .notice." e3b
'

test_expect_success 'a member without a status of its own is judged by the household primary'"'"'s, named' '
	unitsync explain --property oak --person M8 >e8 &&
	grep "unit 8, status future (none of its own: the household.s, P8), move-in 2026-09-01, move-out -: nothing given: not eligible with status .future." e8
'

[ $failed -eq 0 ]
