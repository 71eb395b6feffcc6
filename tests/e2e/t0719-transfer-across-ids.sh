#!/usr/bin/env bash
# t0719-transfer-across-ids: a resident the PMS re-keys as they move (D1 in
# 101 becomes D2 in 102, one e-mail) gets one transfer group whose ASSIGN and
# UNASSIGN name two person ids; load applies the group as one person, so
# the old unit is not removed while the new one has not been granted
# (reviewer rv8's x1: the PUT failed, the DELETE went, the resident had no
# key for the night).
. "$(dirname "$0")/lib.sh"
test_plan 2

faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }

night_setup "1 2" || exit 1

test_expect_success 'night 2: re-keyed as he moves, the grant of 2 fails: 1 is not taken from him' '
	night 1 2026-06-01 "p1,U1,D1,H1,primary,current,Dan,Dee,dan@example.com,,2023-01-01," &&
	unitsync load "$run1" >l1.out &&
	night 2 2026-06-02 "p1,U2,D2,H1,primary,current,Dan,Dee,dan@example.com,,2026-06-02," &&
	grep -q ",ASSIGN,p1,U2,L2,D2,.*,transfer,g" "$run2/delta.csv" &&
	grep -q ",UNASSIGN,p1,U1,L1,D1,.*,transfer,g" "$run2/delta.csv" &&
	faults "{\"error_rate\":1,\"methods\":\"PUT\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$run2" >l2.out 2>l2.err &&
	faults "{\"error_rate\":0}" &&
	test "$(sim_residents)" = "L1 dan@example.com"
'

test_expect_success 'night 3: the grant goes, then the removal' '
	night 3 2026-06-03 "p1,U2,D2,H1,primary,current,Dan,Dee,dan@example.com,,2026-06-02," &&
	unitsync load "$run3" >l3.out &&
	test "$(sim_residents)" = "L2 dan@example.com"
'
[ $failed -eq 0 ]
