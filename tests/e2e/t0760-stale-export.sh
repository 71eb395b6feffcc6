#!/usr/bin/env bash
# t0760-stale-export: a PMS export job that stopped is told, not trusted
# (issue 15, item 9).  The same bytes night after night for more than the
# property's stale-after-nights, or a file older than max-export-age-hours,
# give exception stale_export, transform exit 3 and nightly.sh exit 3 after
# loading the run; a changed export clears it.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || test_skip_all "sqlite3 is not installed"
test_plan 8

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	echo "b1,L1,Unit 1"
	echo "b1,L2,Unit 2"
} >seed.csv && unitsync init >/dev/null && unitsync property add p1 --stale-after-nights 2 >/dev/null &&
	unitsync map add --offline --property p1 1 L1 >/dev/null && unitsync map add --offline --property p1 2 L2 >/dev/null &&
	{
		echo $H
		echo "p1,1,R1,H1,primary,current,Ann,Lee,s760-ann@example.com,,2024-01-01,"
	} >same.csv && {
	echo $H
	echo "p1,1,R1,H1,primary,current,Ann,Lee,s760-ann@example.com,,2024-01-01,"
	echo "p1,2,R2,H2,primary,current,Bo,Ray,s760-bo@example.com,,2024-01-01,"
} >changed.csv && printf "[property \"p1\"]\nsource = tonight.csv\n" >nightly.ini) || exit 1
sim_start "$tmp/seed.csv" || exit 1

# night DATE FILE: the export FILE as tonight.csv, modified at 01:00 UTC of
# DATE, then nightly.sh with the clock at 02:00 UTC of DATE
night() {
	cp "$2" tonight.csv && touch -d "$1T01:00:00Z" tonight.csv &&
		UNITSYNC_NOW="$1T02:00:00Z" "$TOP/pipelines/nightly.sh" --config nightly.ini \
			--db "$UNITSYNC_DB" --out runs
}

test_expect_success 'nights 1 to 3 with the same bytes: not stale yet (exit 0)' '
	night 2026-06-01 same.csv >n1.out &&
	night 2026-06-02 same.csv >n2.out &&
	night 2026-06-03 same.csv >n3.out &&
	! grep -q stale_export "$(sed -n "s/^run directory: //p" n3.out)/exceptions.csv"
'

test_expect_success 'night 4, identical for more than 2 nights: stale_export, nightly exits 3 after loading' '
	test_expect_code 3 night 2026-06-04 same.csv >n4.out 2>n4.err &&
	run=$(sed -n "s/^run directory: //p" n4.out) &&
	grep "^stale_export,p1,,,tonight.s export is byte-identical to the one read on the 3 nights before (more than stale-after-nights 2)" "$run/exceptions.csv" &&
	grep "p1: as of 2026-06-04, from the STALE export staged as snapshot [0-9]* (see exceptions.csv)" n4.out &&
	grep "check the PMS export job" n4.err &&
	grep "\"stale_export\": \"tonight" "$run/manifest.json" &&
	test "$(unitsync runs show "$(basename "$run")" | sed -n "s/^load_status: //p")" = done
'

test_expect_success 'transform alone exits 3 and still writes and records the run' '
	UNITSYNC_NOW=2026-06-04T03:00:00Z test_expect_code 3 unitsync transform --out t >t.out &&
	run=$(tail -n 1 t.out) && test -f "$run/SHA256SUMS" &&
	unitsync verify "$run" >/dev/null
'

test_expect_success 'a rerun of an old night (--as-of) counts only the nights before it' '
	unitsync transform --as-of 2026-06-02 --out t >t2.out &&
	! grep -q stale_export "$(tail -n 1 t2.out)/exceptions.csv"
'

test_expect_success 'a changed export clears it (exit 0)' '
	night 2026-06-05 changed.csv >n5.out &&
	! grep -q stale_export "$(sed -n "s/^run directory: //p" n5.out)/exceptions.csv"
'

test_expect_success 'a file modified more than max-export-age-hours before the run is stale' '
	cp changed.csv tonight.csv && touch -d "2026-06-03T20:00:00Z" tonight.csv &&
	unitsync extract-csv --property p1 tonight.csv >x.out &&
	UNITSYNC_NOW=2026-06-06T02:00:00Z test_expect_code 3 unitsync transform --out t >t3.out &&
	grep "^stale_export,p1,,,.export file .*tonight.csv. was last modified 2026-06-03T20:00:00Z, 54 hours before the run (more than max-export-age-hours 48)" \
		"$(tail -n 1 t3.out)/exceptions.csv"
'

test_expect_success 'the age limit is the property setting' '
	unitsync property set p1 --max-export-age-hours 72 >/dev/null &&
	UNITSYNC_NOW=2026-06-06T02:00:00Z unitsync transform --out t >t4.out &&
	! grep -q stale_export "$(tail -n 1 t4.out)/exceptions.csv"
'

# reviewer nu8: rerun.sh stopped at transform's 3, the run recorded (and
# the property's older runs superseded) but never loaded, nothing printed
test_expect_success 'rerun.sh of a stale export loads the run, names it, and exits 3 as nightly.sh does' '
	snap=$(unitsync snapshots list --property p1 --newest | sed -n "2s/\t.*//p") &&
	UNITSYNC_NOW=2026-06-08T02:00:00Z test_expect_code 3 with_latch_settings \
		"$TOP/pipelines/rerun.sh" --db "$UNITSYNC_DB" --property p1 --snapshot "$snap" \
		--out runs >r.out 2>r.err &&
	run=$(sed -n "s/^run directory: //p" r.out) &&
	grep "^stale_export,p1,,,.export file .*tonight.csv. was last modified 2026-06-03T20:00:00Z" \
		"$run/exceptions.csv" &&
	grep "check the PMS export job" r.err &&
	test "$(unitsync runs show "$(basename "$run")" | sed -n "s/^load_status: //p")" = done
'
