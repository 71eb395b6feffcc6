#!/usr/bin/env bash
# t0790-preview: a preview changes nothing (issue 17).  nightly.sh
# --dry-run, rerun.sh --dry-run and unitsync load --dry-run leave the state
# database exactly as it was (sqlite3 .dump before and after): no snapshot
# staged, no run recorded, nothing superseded, nothing journaled, an
# unfinished run not taken over; a held run stays approvable, and the
# preview's run directory cannot be loaded against the real database.
. "$(dirname "$0")/lib.sh"
test_plan 11

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
export_of() { # export_of N: residents 1..N of property p1, one per unit
	echo $H
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "p1,%d,R%d,H%d,primary,current,F%d,L%d,r%d@example.com,,2024-01-01,\n", i, i, i, i, i, i }'
}
residents() { curl -sf "$SIM_URL/_sim/state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["residents"]))'; }
faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }
dump() { sqlite3 "$UNITSYNC_DB" .dump; }

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in $(seq 20); do echo "b1,L$u,Unit $u"; done
} >seed.csv && unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	for u in $(seq 20); do unitsync map add --offline --property p1 "$u" "L$u" >/dev/null || exit 1; done &&
	export_of 20 >full.csv && export_of 4 >cut.csv && export_of 19 >minus1.csv &&
	# the full export in new bytes: full.csv again, after the approved cut,
	# would be an older export (held, t0771)
	{ export_of 20 && echo; } >full2.csv &&
	printf "[property \"p1\"]\nsource = tonight.csv\n" >nightly.ini) || exit 1
sim_start "$tmp/seed.csv" || exit 1
nightly() { cp "$1" tonight.csv && shift &&
	"$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs --as-of 2026-06-01 "$@"; }

test_expect_success 'night 1 assigns twenty; night 2, cut to four, is held (exit 4)' '
	nightly full.csv >n1.out && test "$(residents)" = 20 &&
	test_expect_code 4 nightly cut.csv >n2.out 2>n2.err &&
	sed -n "s/^run directory: //p" n2.out >held.run && test -s held.run
'

test_expect_success 'nightly.sh --dry-run: the database dumps the same; the preview prints what load would send' '
	dump >before &&
	nightly minus1.csv --dry-run >d1.out 2>d1.err &&
	dump >after && test_cmp before after &&
	preview=$(sed -n "s/^preview run directory: //p" d1.out) &&
	case $preview in "$tmp"/runs/preview/*) ;; *) false ;; esac &&
	grep -q "UNASSIGN,p1,20,L20,R20" "$preview/delta.csv" &&
	grep -E "^[0-9]+ DELETE /v1/units/L20/residents/" d1.out &&
	grep "private copy" d1.err &&
	! grep -q "^run directory:" d1.out &&
	test "$(residents)" = 20 &&
	test -z "$(find "$tmp" -maxdepth 1 -name "*.db*" ! -name "unitsync.db*")"
'

test_expect_success 'the preview run directory is refused by load, verify and approve on the real database' '
	preview=$(sed -n "s/^preview run directory: //p" d1.out) &&
	dump >before &&
	test_expect_code 65 unitsync load "$preview" 2>l.err &&
	test_expect_code 65 unitsync approve "$preview" 2>a.err &&
	test_expect_code 65 unitsync verify "$preview" 2>v.err &&
	test_expect_code 65 unitsync runs show "$preview" 2>r.err &&
	test_expect_code 65 unitsync notify --config nightly.ini "$preview" 2>n.err &&
	for f in l a v r n; do
		grep -F "'"'"'$preview'"'"' is a preview made by a dry run (nightly.sh or rerun.sh --dry-run)" $f.err &&
		grep "cannot be loaded, approved or verified" $f.err &&
		! grep "use the database that transformed it" $f.err || return 1
	done &&
	unitsync report "$preview" >report.out && grep "is a preview made by a dry run" report.out &&
	dump >after && test_cmp before after &&
	test "$(residents)" = 20
'

test_expect_success 'nightly.sh --dry-run of a night the guard holds says so, and no approve of the preview' '
	test_expect_code 4 nightly cut.csv --dry-run >d4.out 2>d4.err &&
	grep "the night would be held by the safety guard: review .*/runs/preview/.*/manifest.json and delta.csv; the night run without --dry-run is held alike" d4.err &&
	grep -q "16 rows of held properties would not be sent; the run made without --dry-run is held alike" d4.err &&
	! grep -q "unitsync approve .*/preview/" d4.err
'

test_expect_success 'load --dry-run of the held run marks its rows held, exits 4 as the load would, and changes nothing' '
	dump >before &&
	test_expect_code 4 unitsync load --dry-run "$(cat held.run)" >d2.out &&
	dump >after && test_cmp before after &&
	test "$(grep -c "(held by the safety guard: not sent until approved)$" d2.out)" = 16
'

test_expect_success 'rerun.sh --dry-run changes nothing either' '
	snap=$(unitsync snapshots list | awk -F"\t" "\$5 == 20 { print \$1 }" | head -n 1) &&
	test -n "$snap" &&
	dump >before &&
	"$TOP/pipelines/rerun.sh" --db "$UNITSYNC_DB" --property p1 --snapshot "$snap" \
		--as-of 2026-06-01 --out runs --dry-run >d3.out 2>d3.err &&
	dump >after && test_cmp before after &&
	grep "^preview run directory: $tmp/runs/preview/" d3.out
'

test_expect_success 'after the previews, the held run is approved and loaded' '
	unitsync approve --by auditor-jane "$(cat held.run)" >approve.out &&
	unitsync load "$(cat held.run)" >load.out &&
	test "$(residents)" = 4
'

test_expect_success 'a load cut short leaves rows inflight; load --dry-run shows them and takes nothing over' '
	faults "{\"drop_rate\":1,\"methods\":\"PUT\"}" &&
	test_expect_code 75 nightly full2.csv >n3.out 2>n3.err &&
	run=$(sed -n "s/^run directory: //p" n3.out) && echo "$run" >unfinished.run &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM journal WHERE state = '\''inflight'\''")" -gt 0 &&
	faults "{\"drop_rate\":0}" &&
	dump >before &&
	unitsync load --dry-run "$run" >d4.out &&
	dump >after && test_cmp before after &&
	grep -q "(sent before without a known answer: sent again)$" d4.out
'

test_expect_success 'nightly.sh --dry-run with an unfinished run previews it, and still changes nothing' '
	dump >before &&
	nightly full2.csv --dry-run >d5.out 2>d5.err &&
	dump >after && test_cmp before after &&
	grep "finishing an earlier run first: $(cat unfinished.run)" d5.err &&
	unitsync load "$(cat unfinished.run)" >l5.out &&
	test "$(residents)" = 20
'

test_expect_success 'nightly.sh --dry-run creates no state database; init --copy-to never overwrites' '
	test_expect_code 78 "$TOP/pipelines/nightly.sh" --config nightly.ini --db "$tmp/none.db" \
		--out runs --dry-run 2>d6.err &&
	grep "no state database" d6.err && ! test -e "$tmp/none.db" &&
	echo keep >taken.db &&
	! unitsync init --copy-to taken.db 2>c.err && grep "exists" c.err &&
	test "$(cat taken.db)" = keep &&
	unitsync init --copy-to copy.db >c.out && test "$(stat -c %a copy.db)" = 600 &&
	test "$(sqlite3 copy.db "SELECT count(*) FROM run")" = "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM run")"
'

test_expect_success 'load --dry-run prints the body it would send, JSON-escaped: a name forges no line' '
	export UNITSYNC_DB=$tmp/hostile.db && unitsync init >/dev/null && unitsync property add p9 >/dev/null &&
	unitsync map add --offline --property p9 1 L1 >/dev/null &&
	{ echo $H && printf "p9,1,X1,H1,primary,current,\"Ann\033[2K\rrun X: 0 failed\"\"\",Lee,s790-x@example.com,,2024-01-01,\n"; } >hostile.csv &&
	unitsync extract-csv hostile.csv >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out hruns >ht.out &&
	unitsync load --dry-run "$(tail -n 1 ht.out)" >hd.out &&
	test "$(wc -l <hd.out)" = 2 &&
	! grep -q "$(printf "\033")" hd.out &&
	grep -F "POST /v1/users {\"firstName\":\"Ann\\u001B[2K\\rrun X: 0 failed\\\"\",\"lastName\":\"Lee\"" hd.out
'
