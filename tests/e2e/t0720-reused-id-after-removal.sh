#!/usr/bin/env bash
# t0720-reused-id-after-removal: a resident leaves (her record gone from the
# export), her removal fails that night, and the next night the PMS gives
# her id to someone new in the same home.  The id was absent from the
# export the last run judged, so the record is a new person with a Latch
# user of their own, not "held as it is" (a married resident's record is
# edited in place, never dropped a night): the newcomer gets the key and
# the former tenant's removal is made (reviewer rv8's d1: she kept the key
# and he never got one, every night).
. "$(dirname "$0")/lib.sh"
test_plan 4

faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
FILL=p1,U3,Q1,H9,primary,current,Fill,Er,fill@example.com,,2023-01-01,
BO=p1,U1,A7,H8,primary,current,Bo,New,bo@example.com,,2026-06-03,

night_setup "1 3" || exit 1

test_expect_success 'nights 1-2: Alice (A7) lives in 1, then leaves; her removal fails' '
	night 1 2026-06-01 "p1,U1,A7,H7,primary,current,Alice,Old,alice@example.com,,2023-01-01," "$FILL" &&
	unitsync load "$run1" >l1.out &&
	night 2 2026-06-02 "$FILL" &&
	faults "{\"error_rate\":1,\"methods\":\"DELETE\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$run2" >l2.out 2>l2.err &&
	faults "{\"error_rate\":0}" &&
	test "$(sim_residents)" = "L1 alice@example.com
L3 fill@example.com"
'

test_expect_success 'night 3: A7 given to Bo in 1: a new person, not held as it is; the night is not loaded' '
	night 3 2026-06-03 "$FILL" "$BO" &&
	! grep -q "held as it is" "$run3/exceptions.csv" &&
	grep -q ",USER_CREATE,p1,U1,,A7," "$run3/delta.csv"
'

# rv10's d1f: the last run had A7 (Bo's) in its export: the absence is older
test_expect_success 'night 4: still a new person (the night A7 was absent is remembered); Bo gets his key' '
	night 4 2026-06-04 "$FILL" "$BO" &&
	! grep -q "held as it is" "$run4/exceptions.csv" &&
	grep -q ",USER_CREATE,p1,U1,,A7," "$run4/delta.csv" &&
	unitsync load "$run4" >l4.out &&
	sim_residents | grep -qx "L1 bo@example.com"
'

test_expect_success 'night 5: the former tenant'"'"'s key is removed' '
	night 5 2026-06-05 "$FILL" "$BO" &&
	unitsync load "$run5" >l5.out &&
	test "$(sim_residents)" = "L1 bo@example.com
L3 fill@example.com"
'
[ $failed -eq 0 ]
