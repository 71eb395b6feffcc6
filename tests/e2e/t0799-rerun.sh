#!/usr/bin/env bash
# t0799-rerun: pipelines/rerun.sh records nothing it cannot finish and
# never quietly makes an old export the property's newest decision.
# Without usable Latch settings (no --config, no UNITSYNC_LATCH_URL) a
# real rerun exits 78 before transform: no run recorded, so the
# property's older runs are not superseded.  A snapshot that is not the
# property's newest export (by extraction order: a file extracted again
# keeps its old id and is the newest again) is refused (2) unless --older
# says it is meant; a --dry-run of it runs with a warning.  `unitsync
# snapshots list --property P --newest` names the newest.
. "$(dirname "$0")/lib.sh"
test_plan 7

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

test_expect_success 'two nights; snapshots list --newest names the newest export' '
	night night1.csv 2026-05-31 && night night2.csv 2026-06-01 &&
	s1=$(snap_of night1.csv) && s2=$(snap_of night2.csv) && test "$s2" -gt "$s1" &&
	unitsync snapshots list --property elm --newest >newest &&
	test "$(sed -n "2s/\t.*//p" newest)" = "$s2" && test "$(wc -l <newest)" = 2 &&
	test_expect_code 2 unitsync snapshots list --newest 2>e &&
	grep "newest goes with .list --property P." e
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

test_expect_success 'an older snapshot alone: refused (2) naming the newest and --older; nothing recorded' '
	before=$(runs) && s1=$(snap_of night1.csv) && s2=$(snap_of night2.csv) &&
	test_expect_code 2 rerun --snapshot "$s1" --as-of 2026-12-05 >r2.out 2>r2.err &&
	grep "snapshot $s1 is not the newest export of .elm. (snapshot $s2, extracted later)" r2.err &&
	grep "add --snapshot $s2, or --older if an older export is meant" r2.err &&
	grep "^usage: rerun.sh" r2.err &&
	test "$(runs)" = "$before" &&
	rerun --snapshot "$s1" --snapshot "$s2" --as-of 2026-06-01 >r3.out &&
	test "$(runs)" = $((before + 1))
'

# the old export gives R1 back unit 1 and takes it from R11, who moved in
# since: the safety guard holds that (4), and the run is recorded
test_expect_success 'a dry run of the older snapshot runs, warning what a real rerun needs' '
	before=$(runs) && s1=$(snap_of night1.csv) &&
	test_expect_code 4 rerun --dry-run --snapshot "$s1" --as-of 2026-12-05 >r4.out 2>r4.err &&
	grep "snapshot $s1 is not the newest export of .elm.*a real rerun of it is refused without --older" r4.err &&
	grep "^preview run directory: " r4.out &&
	awk -F, "NR > 1 { print \$2, \$5, \$6 }" "$(sed -n "s/^preview run directory: //p" r4.out)/delta.csv" |
		sort >ops &&
	printf "ASSIGN L1 R1\nUNASSIGN L1 R11\n" >expect && test_cmp expect ops &&
	test "$(runs)" = "$before"
'

test_expect_success 'with --older it runs and is the property'"'"'s newest decision' '
	before=$(runs) && s1=$(snap_of night1.csv) &&
	test_expect_code 4 rerun --older --snapshot "$s1" --as-of 2026-12-05 >r5.out 2>r5.err &&
	! grep -q "not the newest export" r5.err &&
	test "$(runs)" = $((before + 1))
'

test_expect_success 'the old file sent again reuses its old id and is the newest: the higher id is refused' '
	s1=$(snap_of night1.csv) && s2=$(snap_of night2.csv) &&
	unitsync extract-csv --property elm night1.csv >x.out && grep "snapshot $s1 reused" x.out &&
	test "$(unitsync snapshots list --property elm --newest | sed -n "2s/\t.*//p")" = "$s1" &&
	test_expect_code 2 rerun --snapshot "$s2" --as-of 2026-12-06 2>r6.err &&
	grep "snapshot $s2 is not the newest export of .elm. (snapshot $s1, extracted later)" r6.err &&
	test_expect_code 4 rerun --snapshot "$s1" --as-of 2026-12-06 >r7.out
'

# a year's typo: what is dated up to that day is applied tonight (new user
# nu13 #3: a key removed for a move-out months ahead, nothing said)
test_expect_success 'an --as-of after today is warned of, naming today; today'"'"'s is not' '
	s=$(unitsync snapshots list --property elm --newest | sed -n "2s/\t.*//p") &&
	UNITSYNC_NOW=2026-06-02T12:00:00Z rerun --dry-run --snapshot "$s" --as-of 2027-06-02 >r8.out 2>r8.err ||
		test $? = 4 &&
	grep "warning: --as-of 2027-06-02 is after today (2026-06-02 in the time zone of property elm, UTC): move-ins and move-outs dated up to 2027-06-02 are applied now" r8.err &&
	{ UNITSYNC_NOW=2026-06-02T12:00:00Z rerun --dry-run --snapshot "$s" --as-of 2026-06-02 >r9.out 2>r9.err ||
		test $? = 4; } &&
	! grep -q "is after today" r9.err
'

sim_stop
[ $failed -eq 0 ]
