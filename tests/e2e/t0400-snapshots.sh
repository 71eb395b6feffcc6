#!/usr/bin/env bash
# t0400-snapshots: `unitsync snapshots list|show|prune` (unitsync-snapshots(1)):
# prune keeps the newest N per property and every snapshot a kept run uses.
. "$(dirname "$0")/lib.sh"
test_plan 7

night() { # night N: a generic CSV export for property p1 with N residents
	{
		echo "property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out"
		i=1
		while [ $i -le "$1" ]; do
			echo "p1,$i,P$i,H$i,primary,current,First$i,Last$i,p$i@example.com,,2024-01-01,"
			i=$((i + 1))
		done
	} >"night$1.csv"
}

test_expect_success 'three nights staged as three snapshots' '
	unitsync init && unitsync property add p1 &&
	night 1 && night 2 && night 3 &&
	unitsync extract-csv --property p1 night1.csv &&
	unitsync extract-csv --property p1 night2.csv &&
	unitsync extract-csv --property p1 night3.csv &&
	unitsync snapshots list >list &&
	test "$(wc -l <list)" = 4 &&
	awk -F"\t" "NR > 1 { print \$1, \$3, \$4, \$5 }" list >actual &&
	printf "1 p1 csv/generic 1\n2 p1 csv/generic 2\n3 p1 csv/generic 3\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'show names the file, its digest and its people' '
	unitsync snapshots show 2 >show &&
	grep -x "sha256: $(sha256sum night2.csv | cut -d" " -f1)" show &&
	grep -x "property: p1 (2 people)" show
'

test_expect_success 'show of an unknown snapshot exits 65' '
	test_expect_code 65 unitsync snapshots show 99 2>err &&
	grep "no snapshot 99" err
'

test_expect_success 'a run made from snapshot 1 keeps it through a prune' '
	unitsync transform --snapshot 1 --as-of 2024-06-01 --out runs >t.out &&
	unitsync snapshots prune --keep 1 --dry-run >dry &&
	grep -x "would delete snapshot 2 (night2.csv)" dry &&
	! grep "snapshot 1 " dry &&
	grep -x "1 snapshot(s) beyond the newest 1 kept: runs whose directories still exist read them" dry &&
	unitsync snapshots list | awk -F"\t" "NR > 1 { print \$1 }" | tr "\n" " " >ids &&
	test "$(cat ids)" = "1 2 3 "
'

test_expect_success 'prune deletes the rest with their staged rows' '
	unitsync snapshots prune --keep 1 >out &&
	grep -x "1 snapshot(s) deleted" out &&
	grep -x "1 snapshot(s) beyond the newest 1 kept: runs whose directories still exist read them" out &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT group_concat(snapshot_id) FROM snapshot")" = "1,3" &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM stg_person WHERE snapshot_id = 2")" = 0
'

test_expect_success 'once its run directory is gone, the old snapshot goes too' '
	rm -rf runs &&
	unitsync snapshots prune --keep 1 >out &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT group_concat(snapshot_id) FROM snapshot")" = "3" &&
	! grep "kept: runs" out &&
	# nothing left to delete, nothing spared: just the count
	unitsync snapshots prune --keep 1 >out2 &&
	test "$(cat out2)" = "0 snapshot(s) deleted"
'

test_expect_success 'a --property the database does not have: 65 naming it, for list and prune' '
	test_expect_code 65 unitsync snapshots list --property p9 >o1 2>e1 &&
	test_cmp /dev/null o1 && grep -F "unknown property '"'"'p9'"'"'" e1 &&
	test_expect_code 65 unitsync snapshots prune --keep 1 --property p9 >o2 2>e2 &&
	grep -F "unknown property '"'"'p9'"'"'" e2 &&
	unitsync snapshots list --property p1 >/dev/null
'
[ $failed -eq 0 ]
