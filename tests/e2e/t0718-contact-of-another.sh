#!/usr/bin/env bash
# t0718-contact-of-another: a newcomer giving the e-mail or phone of a
# departed resident's Latch user, under another name, is never put on that
# user: transform does not match them to it (a resident is found by
# another id's contact only for the same name), and load refuses the user
# Latch finds by that contact when it was ever recorded for a person of
# another name, also when the departed resident's PMS id has since been
# given to someone else, whose user replaced theirs in person_user (a new
# user's trial, nu8: the former tenant's account was given the newcomer's
# home, exit 0, nothing reported).
. "$(dirname "$0")/lib.sh"
test_plan 3

night_setup "1 2 3" || exit 1

test_expect_success 'night 1: Frank (e-mail) and Erin (phone only) get their users and units' '
	night 1 2026-06-01 "p1,U1,F1,H1,primary,current,Frank,Foster,frank@example.com,,2024-01-01," \
		"p1,U2,E1,H2,primary,current,Erin,Diaz,,+1 555 010 0106,2024-01-01," &&
	unitsync load "$run1" >l1.out &&
	test "$(sim_residents)" = "L1 frank@example.com
L2 +1 555 010 0106"
'

test_expect_success 'night 2: both leave; the PMS gives Erin'"'"'s id E1 to Ivan (L3)' '
	night 2 2026-06-02 "p1,U3,E1,H3,primary,current,Ivan,Ito,ivan@example.com,,2026-06-02," &&
	unitsync load "$run2" >l2.out &&
	test "$(sim_residents)" = "L3 ivan@example.com" &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT email FROM person_user WHERE pms_person_id = '\''E1'\''")" = ivan@example.com
'

test_expect_success 'night 3: Fiona gives Frank'"'"'s e-mail, Paul Erin'"'"'s phone: new people, and Latch'"'"'s users for those are refused' '
	night 3 2026-06-03 "p1,U3,E1,H3,primary,current,Ivan,Ito,ivan@example.com,,2026-06-02," \
		"p1,U1,F2,H4,primary,current,Fiona,Foster,frank@example.com,,2026-06-03," \
		"p1,U2,P7,H5,primary,current,Paul,Park,,+1 555 010 0106,2026-06-03," &&
	grep -q ",USER_CREATE,p1,U1,,F2," "$run3/delta.csv" &&
	grep -q ",USER_CREATE,p1,U2,,P7," "$run3/delta.csv" &&
	! grep -q "$(sim_user_of frank@example.com)" "$run3/delta.csv" &&
	test_expect_code 1 unitsync load "$run3" >l3.out 2>l3.err &&
	grep -F "found by e-mail '"'"'frank@example.com'"'"', is recorded for p1/F1, a person of another name" \
		"$run3/load-report.csv" &&
	grep -F "found by phone '"'"'+1 555 010 0106'"'"', is recorded for p1/E1, a person of another name" \
		"$run3/load-report.csv" &&
	test "$(sim_residents)" = "L3 ivan@example.com"
'
[ $failed -eq 0 ]
