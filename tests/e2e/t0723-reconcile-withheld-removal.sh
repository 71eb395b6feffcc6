#!/usr/bin/env bash
# t0723-reconcile-withheld-removal: a removal transform withheld because a
# row of the export could not be read (rejected_rows: the row may be the
# pair's own lease) leaves the pair as it is, held: taken out of Latch by
# hand, reconcile reports it (removed_outside) and --repair gives it back.
# Here the unreadable row is the resident's own current lease (her person
# id lost): taking the withheld pair for one the decision no longer wants
# would leave her locked out, unreported, until the export is fixed
# (reviewer rv13's finding 2, against a change that was reverted).
. "$(dirname "$0")/lib.sh"
test_plan 2

ANN=p1,U1,A1,H1,primary,current,Ann,Lee,ann@example.com,,2023-01-01,
ANN_NO_ID=p1,U1,,H1,primary,current,Ann,Lee,ann@example.com,,2023-01-01,
BO=p1,U2,B1,H2,primary,current,Bo,Ray,bo@example.com,,2023-01-01,

night_setup "1 2" --latch-building b1 || exit 1

test_expect_success 'Ann'"'"'s row loses its person id: her removal from 1 is withheld' '
	night 1 2026-06-01 "$ANN" "$BO" && unitsync load "$run1" >l1.out &&
	{ echo "$NIGHT_HEADER"; printf "%s\n" "$ANN_NO_ID" "$BO"; } >n2.csv &&
	unitsync extract-csv --max-reject-percent 100 n2.csv >x2.out 2>x2.err &&
	unitsync transform --as-of 2026-06-02 --out runs >t2.out &&
	run2=$(tail -n 1 t2.out) &&
	grep -q "^rejected_rows,p1,U1,A1,.*withheld" "$run2/exceptions.csv" &&
	! grep -q ",UNASSIGN," "$run2/delta.csv" &&
	unitsync load "$run2" >l2.out &&
	test "$(sim_residents)" = "L1 ann@example.com
L2 bo@example.com"
'

test_expect_success 'her key taken out by hand: reconcile reports it and --repair gives it back' '
	sim_api DELETE /v1/units/L1/residents/$(sim_user_of ann@example.com) >/dev/null &&
	test_expect_code 1 unitsync reconcile --property p1 --out rc --repair >rc.out 2>rc.err &&
	grep -q "^removed_outside,p1,L1,$(sim_user_of ann@example.com)," rc/reconcile.csv &&
	repair=$(ls -d rc/2*/ | head -n 1) && test -n "$repair" &&
	unitsync load "$repair" >lr.out &&
	test "$(sim_residents)" = "L1 ann@example.com
L2 bo@example.com"
'
[ $failed -eq 0 ]
