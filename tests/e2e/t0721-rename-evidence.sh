#!/usr/bin/env bash
# t0721-rename-evidence: a name the PMS edited while the e-mail stayed is
# the resident's, but only within the same tenancy.  Renamed, then re-keyed
# into another unit of the same household, a resident is found by her
# e-mail under her new id: a transfer on her Latch user (reviewer rv9's rn:
# her user, recorded under the old name, was refused to her every night).
# A newcomer the PMS exported for a night with the former tenant's e-mail,
# in another household and with another move-in, is not the tenant renamed:
# when his own e-mail comes, he is a new person (rv9's nm3).
. "$(dirname "$0")/lib.sh"
test_plan 3

# each night loaded too
lnight() { night "$@" && eval "unitsync load \"\$run$1\"" >l$1.out; }

night_setup "1 2 3 4" || exit 1

test_expect_success 'Ann renamed, then re-keyed into 2 of her household: a transfer on her user' '
	lnight 1 2026-06-01 "p1,U1,A1,H1,primary,current,Ann,Lee,ann@example.com,,2023-01-01," &&
	lnight 2 2026-06-02 "p1,U1,A1,H1,primary,current,Ann,Smith,ann@example.com,,2023-01-01," &&
	lnight 3 2026-06-03 "p1,U2,A2,H1,primary,current,Ann,Smith,ann@example.com,,2026-06-03," &&
	grep -q ",ASSIGN,p1,U2,L2,A2,$(sim_user_of ann@example.com),transfer," "$run3/delta.csv" &&
	test "$(sim_residents)" = "L2 ann@example.com"
'

test_expect_success 'A7 exported a night as Bo with Alice'"'"'s e-mail, another household: his own e-mail makes him a new person' '
	lnight 4 2026-06-04 "p1,U2,A2,H1,primary,current,Ann,Smith,ann@example.com,,2026-06-03," \
		"p1,U3,A7,H7,primary,current,Alice,Old,alice@example.com,,2023-01-01," &&
	lnight 5 2026-06-05 "p1,U2,A2,H1,primary,current,Ann,Smith,ann@example.com,,2026-06-03," \
		"p1,U3,A7,H8,primary,current,Bo,New,alice@example.com,,2026-06-05," &&
	lnight 6 2026-06-06 "p1,U2,A2,H1,primary,current,Ann,Smith,ann@example.com,,2026-06-03," \
		"p1,U3,A7,H8,primary,current,Bo,New,bo@example.com,,2026-06-05," \
		"p1,U4,A7,H8,primary,current,Bo,New,bo@example.com,,2026-06-05," &&
	grep -q "^identity_changed,p1,U4,A7," "$run6/exceptions.csv" &&
	! grep -q "^email_mismatch," "$run6/exceptions.csv" &&
	test "$(sim_residents | grep L4)" = "L4 bo@example.com"
'
# rv10's nm3e: an export with neither household nor move-in says nothing of
# the tenancy (extract takes the id for the household then)
test_expect_success 'the same with no household and no move-in in the export: not taken for a rename' '
	A2=p1,U2,A2,H1,primary,current,Ann,Smith,ann@example.com,,2026-06-03, &&
	# Bo stays: gone, the newest move-in with nothing newer in the export
	# would make it an older export (t0771)
	A7="p1,U3,A7,H8,primary,current,Bo,New,bo@example.com,,2026-06-05,
p1,U4,A7,H8,primary,current,Bo,New,bo@example.com,,2026-06-05," &&
	lnight 7 2026-06-07 "$A2" "$A7" "p1,U1,A8,,primary,current,Cara,Old,cara@example.com,,," &&
	lnight 8 2026-06-08 "$A2" "$A7" "p1,U1,A8,,primary,current,Dan,New,cara@example.com,,," &&
	lnight 9 2026-06-09 "$A2" "$A7" "p1,U1,A8,,primary,current,Dan,New,dan@example.com,,," &&
	grep -q "^identity_changed,p1,U1,A8," "$run9/exceptions.csv" &&
	! grep -q "^email_mismatch,p1,U1,A8," "$run9/exceptions.csv"
'
[ $failed -eq 0 ]
