#!/usr/bin/env bash
# t0711-shared-contact-missing: a run whose property has no export tonight
# (its file rejected or missing: property_missing, "judged on nothing rather
# than on half") still holds a contact that property's people share with
# another property's resident of another name, judged from its newest
# export, as a run that leaves the property out does (t0710): else the
# other resident is matched by e-mail to the first one's Latch user and
# given their home on that account.
. "$(dirname "$0")/lib.sh"
test_plan 3

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
row() { # row PROPERTY UNIT PERSON EMAIL FIRST LAST: a current primary
	echo "$1,$2,$3,H$3,primary,current,$5,$6,$4,,2024-01-01,"
}
snap_of() { sed -n "s/^snapshot \([0-9]*\): .*/\1/p" "$1"; }

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for p in oak elm; do for u in 1 2; do echo "b-$p,$p-$u,$p $u"; done; done
} >seed.csv && test_init_db oak elm &&
	for p in oak elm; do
		unitsync property set "$p" --guard-percent 100 >/dev/null &&
			unitsync map add --offline --property $p 1 $p-1 >/dev/null &&
			unitsync map add --offline --property $p 2 $p-2 >/dev/null || exit 1
	done &&
	{ echo $H; row oak 1 A x@example.com Ann Lee; row oak 2 O o@example.com Olga Ash; } >oak.csv &&
	{ echo $H; row elm 1 B X@Example.COM Bob Kim; row elm 2 L l@example.com Lou Elm; } >elm.csv) ||
	exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'night 1, oak alone: Ann gets her Latch user and oak 1' '
	unitsync extract-csv --property oak oak.csv >x1.out &&
	unitsync transform --as-of 2026-06-01 --snapshots-only --property oak \
		--snapshot "$(snap_of x1.out)" --out runs >t1.out &&
	unitsync load "$(tail -n 1 t1.out)" >l1.out &&
	! grep duplicate_email "$(tail -n 1 t1.out)/exceptions.csv"
'

test_expect_success 'night 2, oak'"'"'s export missing: Bob, who shares Ann'"'"'s e-mail, is held, not given elm 1 on her user' '
	unitsync extract-csv --property elm elm.csv >x2.out &&
	unitsync transform --as-of 2026-06-02 --snapshots-only --property oak --property elm \
		--snapshot "$(snap_of x2.out)" --out runs >t2.out &&
	run=$(tail -n 1 t2.out) &&
	grep "^property_missing,oak," "$run/exceptions.csv" &&
	grep "^duplicate_email,elm,1,B," "$run/exceptions.csv" >b &&
	grep -F "shared with oak/A (oak has no export in this run: judged from its newest export, snapshot $(snap_of x1.out))" b &&
	# delta.csv: property_id is column 3, pms_person_id column 6
	test "$(awk -F, '"'"'NR > 1 { print $3 "/" $6 }'"'"' "$run/delta.csv" | sort -u)" = elm/L &&
	unitsync load "$run" >l2.out &&
	curl -sf "$SIM_URL/_sim/state" | python3 -c "
import json, sys
s = json.load(sys.stdin)
email = {u[\"userUuid\"]: u[\"email\"].lower() for u in s[\"users\"]}
got = sorted((r[\"unit\"], email[r[\"userUuid\"]]) for r in s[\"residents\"])
assert got == [(\"elm-2\", \"l@example.com\"), (\"oak-1\", \"x@example.com\"), (\"oak-2\", \"o@example.com\")], got
"
'

test_expect_success 'the run of both with both exports holds the same two, as before' '
	unitsync extract-csv --property oak oak.csv >x3.out &&
	unitsync transform --as-of 2026-06-03 --out runs >t3.out &&
	run=$(tail -n 1 t3.out) &&
	grep "^duplicate_email,elm,1,B," "$run/exceptions.csv" &&
	grep "^duplicate_email,oak,1,A," "$run/exceptions.csv" &&
	! grep -F "no export in this run" "$run/exceptions.csv"
'
