#!/usr/bin/env bash
# t0723-reconcile-withheld-removal: a removal transform withheld because rows
# of the export could not be read (rejected_rows: the unreadable row may be
# the pair's own lease) is a pair the decision does not want, as a removal
# deferred a night is.  Reconcile reports the key while Latch has it
# (key_without_lease, saying why), and when staff take it out by hand first,
# --repair does not give it back to the mover (it was not reported as
# removed_outside and reasserted).
. "$(dirname "$0")/lib.sh"
test_plan 3

ANN1=p1,U1,A1,H1,primary,current,Ann,Lee,ann@example.com,,2023-01-01,
ANN3=p1,U3,A1,H3,primary,current,Ann,Lee,ann@example.com,,2026-06-02,
BO=p1,U2,B1,H2,primary,current,Bo,Ray,bo@example.com,,2023-01-01,
UNREAD=p1,U2,,H2,roommate,current,Di,Ray,di@example.com,,2023-01-01,

night_setup "1 2 3" --latch-building b1 || exit 1

test_expect_success 'Ann moves from 1 to 3 on a night with an unreadable row: her removal from 1 is withheld' '
	night 1 2026-06-01 "$ANN1" "$BO" && unitsync load "$run1" >l1.out &&
	{ echo "$NIGHT_HEADER"; printf "%s\n" "$BO" "$UNREAD" "$ANN3"; } >n2.csv &&
	unitsync extract-csv --max-reject-percent 100 n2.csv >x2.out 2>x2.err &&
	unitsync transform --as-of 2026-06-02 --out runs >t2.out &&
	run2=$(tail -n 1 t2.out) &&
	grep -q "^rejected_rows,p1,U1,A1,.*withheld" "$run2/exceptions.csv" &&
	unitsync load "$run2" >l2.out &&
	test "$(sim_residents)" = "L1 ann@example.com
L2 bo@example.com
L3 ann@example.com"
'

test_expect_success 'reconcile reports her key on 1 with the reason it stays' '
	test_expect_code 1 unitsync reconcile --property p1 --out rc1 >rc1.out 2>rc1.err &&
	grep -q "^key_without_lease,p1,L1,$(sim_user_of ann@example.com),.*rejected_rows in run" \
		rc1/reconcile.csv &&
	! grep -q "^removed_outside" rc1/reconcile.csv
'

test_expect_success 'staff take it out by hand first: --repair does not give it back' '
	sim_api DELETE /v1/units/L1/residents/$(sim_user_of ann@example.com) >/dev/null &&
	unitsync reconcile --property p1 --out rc2 --repair >rc2.out 2>rc2.err &&
	! grep -q "^removed_outside" rc2/reconcile.csv &&
	! grep -q "repair" rc2.out &&
	test "$(sim_residents)" = "L2 bo@example.com
L3 ann@example.com"
'
[ $failed -eq 0 ]
