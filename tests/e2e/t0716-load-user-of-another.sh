#!/usr/bin/env bash
# t0716-load-user-of-another: the Latch user load finds by a newcomer's
# e-mail (POST /v1/users 409, then the lookup) that is recorded for another
# resident of another name (the name it was made for) is not taken: one
# account for two people gives each a key to the other's home.  The row
# fails naming that resident and the fix.  The same name is the same person
# (a move between properties with one e-mail): the user is taken.
. "$(dirname "$0")/lib.sh"
test_plan 4

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
night() { # night N AS_OF FILE...: extract the files and transform; the run directory in $runN
	local n=$1 as_of=$2 f
	shift 2
	for f in "$@"; do unitsync extract-csv "$f" >/dev/null || return 1; done &&
		unitsync transform --as-of "$as_of" --out runs >t$n.out &&
		eval "run$n=\$(tail -n 1 t$n.out)"
}

(cd "$tmp" && printf 'building_uuid,unit_uuid,name\nb1,L1,1\nb2,L4,4\nb2,L5,5\n' >seed.csv &&
	test_init_db p1 p2 && unitsync map add --offline --property p1 U1 L1 >/dev/null &&
	unitsync map add --offline --property p2 V4 L4 >/dev/null &&
	unitsync map add --offline --property p2 V5 L5 >/dev/null &&
	for p in p1 p2; do unitsync property set $p --guard-percent 100 >/dev/null || exit 1; done &&
	{ echo $H; echo "p1,U1,A1,H1,primary,current,Ann,One,ann@example.com,,2024-01-01,"; } >p1a.csv &&
	{ echo $H; echo "p1,U2,B1,H2,primary,current,Bo,Two,bo@example.com,,2024-01-01,"; } >p1b.csv &&
	{ echo $H; echo "p2,V4,N1,H4,primary,current,Ned,Four,ANN@example.com,,2026-06-02,"; } >p2b.csv &&
	{ echo $H; echo "p2,V5,A5,H5,primary,current,Ann,One,ann@example.com,,2026-06-03,"; } >p2c.csv) ||
	exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'night 1: Ann of p1 gets her user and unit' '
	{ echo $H; } >p2a.csv &&
	night 1 2026-06-01 p1a.csv p2a.csv &&
	unitsync load "$run1" >l1.out &&
	test "$(sim_residents)" = "L1 ann@example.com"
'

test_expect_success 'night 2: Ann gone, Ned of p2 gives her e-mail: her user is not taken for him, the row fails naming her' '
	night 2 2026-06-02 p1b.csv p2b.csv &&
	grep ",USER_CREATE,p2,V4,,N1," "$run2/delta.csv" &&
	{ unitsync load "$run2" >l2.out 2>l2.err; test $? = 1; } &&
	grep -F "is recorded for p1/A1, a person of another name: not taken for two people" \
		"$run2/load-report.csv" &&
	test -z "$(sim_residents)" &&
	test -z "$(sqlite3 "$UNITSYNC_DB" "SELECT 1 FROM person_user WHERE pms_person_id = '"'"'N1'"'"'")"
'

test_expect_success 'night 3: Ned gone, Ann herself moves to p2 with her e-mail: Latch'"'"'s user is hers, taken' '
	night 3 2026-06-03 p1b.csv p2c.csv &&
	grep ",USER_CREATE,p2,V5,,A5," "$run3/delta.csv" &&
	unitsync load "$run3" >l3.out &&
	test "$(sim_residents)" = "L5 ann@example.com" &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(DISTINCT latch_user_id) FROM person_user")" = 1
'

# a state database from before names were recorded (schema version 13):
# init names its users from their staged exports, by the id and the e-mail
test_expect_success 'a database of schema version 13 is migrated: its users get the names their exports gave' '
	unitsync init --copy-to v13.db >/dev/null &&
	sqlite3 v13.db "ALTER TABLE person_user DROP COLUMN name_key;
		ALTER TABLE person_user_history DROP COLUMN name_key;
		ALTER TABLE snapshot DROP COLUMN rows_digest_version; ALTER TABLE snapshot DROP COLUMN pms_property;
		DROP INDEX stg_reject_of_person; DROP INDEX journal_open;
		DELETE FROM schema_version WHERE version > 13" &&
	unitsync --db v13.db init >init.out &&
	grep "schema version $(sqlite3 "$UNITSYNC_DB" "SELECT max(version) FROM schema_version")" init.out &&
	test "$(sqlite3 v13.db "SELECT pms_person_id || '"'"'|'"'"'|| name_key FROM person_user ORDER BY 1")" = "$(printf "A1|ann one\nA5|ann one")"
'
