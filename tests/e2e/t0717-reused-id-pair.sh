#!/usr/bin/env bash
# t0717-reused-id-pair: the applied pairs are keyed by their Latch user too
# (migration 16).  When a reused PMS id's newcomer gains a Latch unit that
# the former resident's user still holds under that id, both pairs are
# recorded, and the former one is removed when transform says so (here a
# removal deferred a night).  Keyed by (property, id, unit), the newcomer's
# pair replaced the former one: the former resident kept that key for good,
# unseen (reviewers rv7's w3, rv8's k5).  And replay rebuilds those nights.
# The newcomer is Alice's namesake: her removal waits a night only for a
# newcomer who may turn out to be her (load takes the Latch user its
# contact finds only for a person of the same name).
. "$(dirname "$0")/lib.sh"
test_plan 6

# the ledger's pairs of Latch unit $1 as "person e-mail" lines
pairs() {
	sqlite3 "$UNITSYNC_DB" "SELECT a.pms_person_id || ' ' || (SELECT h.email
		FROM person_user_history h WHERE h.latch_user_id = a.latch_user_id LIMIT 1)
		FROM assignment a WHERE a.latch_unit_id = '$1' ORDER BY 1"
}
ALICE=p1,U5,B2,H2,primary,current,Alice,Old,alice@example.com,,2023-01-01,
AL1=p1,U1,A7,H8,primary,current,Alice,Old,ao@example.com,,2026-06-03,
AL3=p1,U3,A7,H8,primary,current,Alice,Old,ao@example.com,,2026-06-03,

night_setup "1 2 3 5" --latch-building b1 || exit 1

test_expect_success 'nights 1-2: Alice (B2) lives in 5; her user also gets 1 under a second id, A7' '
	night 1 2026-06-01 "$ALICE" && unitsync load "$run1" >l1.out &&
	night 2 2026-06-02 "$ALICE" "p1,U1,A7,H7,primary,current,Alice,Old,alice@example.com,,2023-01-01," &&
	unitsync load "$run2" >l2.out &&
	test "$(sim_residents)" = "L1 alice@example.com
L5 alice@example.com"
'

test_expect_success 'night 3: A7 given to another Alice Old, Al (1 and 3, another e-mail): Al gets both; Alice'"'"'s removal from 1 waits a night, her pair still recorded beside that of Al' '
	night 3 2026-06-03 "$ALICE" "$AL1" "$AL3" &&
	grep -q "^removal_deferred,p1,U1,A7," "$run3/exceptions.csv" &&
	unitsync load "$run3" >l3.out &&
	test "$(sim_residents)" = "L1 alice@example.com
L1 ao@example.com
L3 ao@example.com
L5 alice@example.com" &&
	test "$(pairs L1)" = "A7 alice@example.com
A7 ao@example.com" &&
	unitsync replay "$run3" >r3.out &&
	unitsync init --copy-to n3.db >/dev/null && unitsync init --copy-to n3b.db >/dev/null
'

# rv9's k5a: her removal deferred, staff take her key by hand first
test_expect_success 'reconcile --repair does not give back the key whose removal tonight deferred' '
	sim_api DELETE /v1/units/L1/residents/$(sim_user_of alice@example.com) >/dev/null &&
	unitsync reconcile --property p1 --out rc --repair >rc.out 2>rc.err &&
	! grep -q "^removed_outside" rc/reconcile.csv &&
	! grep -q "repair" rc.out &&
	test "$(sim_residents)" = "L1 ao@example.com
L3 ao@example.com
L5 alice@example.com"
'

test_expect_success 'night 4: Alice'"'"'s pair on 1 is removed (it was lost from the record before, her key kept)' '
	night 4 2026-06-04 "$ALICE" "$AL1" "$AL3" &&
	grep -q ",UNASSIGN,p1,U1,L1,A7,$(sim_user_of alice@example.com),not_in_export," "$run4/delta.csv" &&
	unitsync load "$run4" >l4.out &&
	test "$(sim_residents)" = "L1 ao@example.com
L3 ao@example.com
L5 alice@example.com" &&
	test "$(pairs L1)" = "A7 ao@example.com" &&
	unitsync replay "$run4" >r4.out
'

# a database whose older key lost Alice's pair (the newcomer's ASSIGN
# replaced it; no removal ended it): migration 17 records it again, with a
# history row, so that the next run removes it
test_expect_success 'a pair the older key lost is recorded again by the upgrade' '
	sqlite3 n3.db "DELETE FROM assignment WHERE latch_unit_id = '\''L1'\''
			AND latch_user_id = '\''$(sim_user_of alice@example.com)'\'';
		UPDATE assignment_legacy SET max_history_id = (SELECT max(id) FROM assignment_history);
		ALTER TABLE snapshot DROP COLUMN rows_digest_version; ALTER TABLE snapshot DROP COLUMN pms_property;
		DROP INDEX stg_reject_of_person; DROP INDEX journal_open;
		DELETE FROM schema_version WHERE version > 16" &&
	unitsync --db n3.db init >init.out &&
	grep "schema version $(sqlite3 "$UNITSYNC_DB" "SELECT max(version) FROM schema_version")" init.out &&
	test "$(UNITSYNC_DB=n3.db pairs L1)" = "A7 alice@example.com
A7 ao@example.com" &&
	test "$(sqlite3 n3.db "SELECT count(*) FROM assignment_history WHERE latch_unit_id = '\''L1'\''
		AND id > (SELECT max_history_id FROM assignment_legacy)")" = 1
'
# the same, and Al's pair, which had replaced hers, later removed under the
# older key (a removal row of no user): that removal was Al's, not hers
test_expect_success 'a lost pair comes back although the pair that replaced it was removed since' '
	sqlite3 n3b.db "DELETE FROM assignment WHERE latch_unit_id = '\''L1'\'';
		INSERT INTO assignment_history (property_id, pms_person_id, latch_unit_id, last_run)
			VALUES ('\''p1'\'', '\''A7'\'', '\''L1'\'', (SELECT max(run_id) FROM run));
		UPDATE assignment_legacy SET max_history_id = (SELECT max(id) FROM assignment_history);
		ALTER TABLE snapshot DROP COLUMN rows_digest_version; ALTER TABLE snapshot DROP COLUMN pms_property;
		DROP INDEX stg_reject_of_person; DROP INDEX journal_open;
		DELETE FROM schema_version WHERE version > 16" &&
	unitsync --db n3b.db init >init.out &&
	test "$(UNITSYNC_DB=n3b.db pairs L1)" = "A7 alice@example.com"
'
[ $failed -eq 0 ]
