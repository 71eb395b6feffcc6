#!/usr/bin/env bash
# t0722-reconcile-reused-id: reconcile tells the pairs of one PMS person id
# and Latch unit apart by their Latch user (migration 16).  With unit sync
# off, the former resident's removal is withheld (unit_sync_disabled) while
# the newcomer given her id holds the same unit: when someone takes the
# newcomer's key out of Latch by hand, reconcile reports it
# (removed_outside) and --repair gives it back (reviewer rv9's u1r: the
# withheld removal hid it, and he stayed locked out with nothing reported).
. "$(dirname "$0")/lib.sh"
test_plan 2

ALICE=p1,U1,A7,H7,primary,current,Alice,Old,alice@example.com,,2023-01-01,
BO1=p1,U1,A7,H8,primary,current,Bo,New,bo@example.com,,2026-06-02,
BO3=p1,U3,A7,H8,primary,current,Bo,New,bo@example.com,,2026-06-02,

night_setup "1 3" --latch-building b1 || exit 1

test_expect_success 'unit sync off: A7 given to Bo; he gets 1 and 3, Alice'"'"'s removal is withheld' '
	night 1 2026-06-01 "$ALICE" && unitsync load "$run1" >l1.out &&
	unitsync property set p1 --unit-sync off >/dev/null &&
	night 2 2026-06-02 "$BO1" "$BO3" && unitsync load "$run2" >l2.out &&
	night 3 2026-06-03 "$BO1" "$BO3" && unitsync load "$run3" >l3.out &&
	grep -q "^unit_sync_disabled,p1,U1,A7," "$run3/exceptions.csv" &&
	test "$(sim_residents)" = "L1 alice@example.com
L1 bo@example.com
L3 bo@example.com"
'

test_expect_success 'Bo taken out of 1 by hand: reconcile reports it, and --repair gives it back' '
	sim_api DELETE /v1/units/L1/residents/$(sim_user_of bo@example.com) >/dev/null &&
	test_expect_code 1 unitsync reconcile --property p1 --out rc --repair >rc.out 2>rc.err &&
	grep -q "^removed_outside,p1,L1,$(sim_user_of bo@example.com)," rc/reconcile.csv &&
	repair=$(ls -d rc/2*/ | head -n 1) && test -n "$repair" &&
	unitsync load "$repair" >lr.out &&
	test "$(sim_residents)" = "L1 alice@example.com
L1 bo@example.com
L3 bo@example.com"
'
[ $failed -eq 0 ]
