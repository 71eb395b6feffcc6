#!/usr/bin/env bash
# t0799-rerun: pipelines/rerun.sh records nothing it cannot finish.
# Without usable Latch settings (no --config, no UNITSYNC_LATCH_URL) a
# real rerun exits 78 before transform: no run recorded, so the
# property's older runs are not superseded.
. "$(dirname "$0")/lib.sh"
test_plan 2

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
people() { # people N FIRST: residents FIRST..N of elm, one per unit; R1 left when FIRST is 2
	echo $H
	[ "$2" = 2 ] && echo "elm,1,R1,H1,primary,past,F1,L1,t799-r1@example.com,,2024-01-01,2026-06-01"
	[ "$2" = 2 ] && echo "elm,1,R11,H11,primary,current,F11,L11,t799-r11@example.com,,2026-06-01,"
	awk -v n="$1" -v f="$2" 'BEGIN { for (i = f; i <= n; i++)
		printf "elm,%d,R%d,H%d,primary,current,F%d,L%d,t799-r%d@example.com,,2024-01-01,\n", i, i, i, i, i, i }'
}
(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in $(seq 10); do echo "b1,L$u,Unit $u"; done
} >seed.csv && test_init_db elm &&
	for u in $(seq 10); do unitsync map add --offline --property elm "$u" "L$u" >/dev/null || exit 1; done &&
	people 10 1 >night1.csv && people 10 2 >night2.csv) || exit 1
sim_start "$tmp/seed.csv" || exit 1

rerun() { "$TOP/pipelines/rerun.sh" --db "$UNITSYNC_DB" --property elm --out runs "$@"; }
night() { # night FILE DATE: extract, transform and load, as a night does
	unitsync extract-csv --property elm "$1" >/dev/null &&
		unitsync transform --as-of "$2" --out runs >t.out &&
		unitsync load "$(tail -n 1 t.out)" >/dev/null
}
snap_of() { unitsync snapshots list --property elm | awk -F"\t" -v f="$1" '$10 ~ f"$" { print $1 }'; }
runs() { unitsync runs list | sed 1d | wc -l; }

test_expect_success 'two nights' '
	night night1.csv 2026-05-31 && night night2.csv 2026-06-01
'

test_expect_success 'no Latch settings: exit 78 before transform, no run recorded, none superseded' '
	before=$(runs) &&
	test_expect_code 78 env -u UNITSYNC_LATCH_URL -u UNITSYNC_TOKEN_URL -u UNITSYNC_CLIENT_ID \
		-u UNITSYNC_CLIENT_SECRET "$TOP/pipelines/rerun.sh" --db "$UNITSYNC_DB" --property elm \
		--snapshot "$(snap_of night2.csv)" --as-of 2026-06-01 --out runs >r1.out 2>r1.err &&
	grep "no Latch API URL: set \[latch\] base_url or UNITSYNC_LATCH_URL" r1.err &&
	grep "rerun.sh: the Latch API settings (environment) cannot be used (exit 78); nothing done: no run recorded" r1.err &&
	test "$(runs)" = "$before" &&
	! unitsync runs list | cut -f9 | grep -q superseded
'

sim_stop
[ $failed -eq 0 ]
