#!/usr/bin/env bash
# t0750-guard-audit: the safety guard, tamper evidence, determinism, reruns
# from snapshots, run history, the HTML report and the nightly lock
# (docs/ARCHITECTURE.md §7, issue "Safety guard, audit trail and reruns").
. "$(dirname "$0")/lib.sh"
test_plan 15

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
export_of() { # export_of N: residents 1..N of property p1, one per unit
	echo $H
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "p1,%d,R%d,H%d,primary,current,F%d,L%d,r%d@example.com,,2024-01-01,\n", i, i, i, i, i, i }'
}
residents() { curl -sf "$SIM_URL/_sim/state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["residents"]))'; }

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in $(seq 21); do echo "b1,L$u,Unit $u"; done
} >seed.csv && unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	for u in $(seq 20); do unitsync map add --offline --property p1 "$u" "L$u" >/dev/null || exit 1; done &&
	export_of 20 >full.csv && export_of 4 >cut.csv && export_of 19 >minus1.csv &&
	printf "[property \"p1\"]\nsource = tonight.csv\n" >nightly.ini) || exit 1
sim_start "$tmp/seed.csv" || exit 1
nightly() { cp "$1" tonight.csv && "$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs --as-of 2026-06-01; }

test_expect_success 'night 1: twenty residents assigned' '
	nightly full.csv >n1.out && test "$(residents)" = 20
'

test_expect_success 'an export cut to 20% of its residents is held: nightly exits 4, Latch unchanged' '
	test_expect_code 4 nightly cut.csv >n2.out 2>n2.err &&
	run=$(sed -n "s/^run directory: //p" n2.out) && echo "$run" >held.run &&
	grep -q "\"verdict\": \"held\"" "$run/manifest.json" &&
	grep "export shrank from 20 to 4" "$run/manifest.json" &&
	grep "16 removals of 20 current assignments exceed 20%" "$run/manifest.json" &&
	grep "unitsync approve" n2.err &&
	test "$(residents)" = 20
'

test_expect_success 'load sends nothing for the held run and exits 4 until approved' '
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	test_expect_code 4 unitsync load "$(cat held.run)" >load.out &&
	test "$(curl -sf "$SIM_URL/_sim/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"total\"])")" = 0
'

test_expect_success 'a hand-edited delta.csv is refused by verify, approve and load' '
	cp -r "$(cat held.run)" edited && sed -i "s/,L5,/,L6,/" edited/delta.csv &&
	test_expect_code 65 unitsync verify edited 2>v.err && grep "changed after transform" v.err &&
	test_expect_code 65 unitsync approve edited 2>a.err &&
	test_expect_code 65 unitsync load edited 2>l.err && grep "changed after transform" l.err
'

test_expect_success 'approval records who and when; then load applies the removals' '
	unitsync approve --by auditor-jane "$(cat held.run)" >approve.out &&
	grep "approved by auditor-jane" approve.out &&
	unitsync load "$(cat held.run)" >load.out &&
	test "$(residents)" = 4 &&
	unitsync runs show "$(basename "$(cat held.run)")" >show.out &&
	grep -x "approved_by: auditor-jane" show.out && grep -x "load_status: done" show.out
'

test_expect_success 'verify accepts an untouched run' '
	unitsync verify "$(cat held.run)" >verify.out && grep "agree" verify.out
'

test_expect_success 'two transforms of the same inputs are byte-identical' '
	unitsync transform --as-of 2026-06-01 --out a >a.out && unitsync transform --as-of 2026-06-01 --out b >b.out &&
	cmp "$(tail -n 1 a.out)/delta.csv" "$(tail -n 1 b.out)/delta.csv" &&
	cmp "$(tail -n 1 a.out)/exceptions.csv" "$(tail -n 1 b.out)/exceptions.csv"
'

test_expect_success 'a rerun from a stored snapshot reproduces that night: same delta, same export digest' '
	# the full export in new bytes (CR LF): a new export, not night 1'"'"'s sent
	# again, which the approved cut made an older one (older_export, t0771)
	sed "s/\$/\r/" full.csv >full2.csv && nightly full2.csv >n3.out && test "$(residents)" = 20 &&
	# minus1.csv in new bytes (CR LF): a new export, not an older one again (older_export)
	sed "s/\$/\r/" minus1.csv >tonight.csv && unitsync extract-csv --property p1 tonight.csv >x.out &&
	snap=$(awk "{ sub(\":\", \"\", \$2); print \$2; exit }" x.out) &&
	unitsync transform --as-of 2026-06-01 --snapshot "$snap" --out runs >t1.out &&
	first=$(tail -n 1 t1.out) &&
	"$TOP/pipelines/rerun.sh" --db "$UNITSYNC_DB" --property p1 --snapshot "$snap" --as-of 2026-06-01 --out runs >rerun.out &&
	second=$(sed -n "s/^run directory: //p" rerun.out) &&
	grep "^p1: as of 2026-06-01, from the export staged as snapshot $snap: " rerun.out &&
	cmp "$first/delta.csv" "$second/delta.csv" &&
	grep "UNASSIGN,p1,20,L20,R20" "$second/delta.csv" &&
	python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert m[\"inputs\"][0][\"sha256\"]==sys.argv[2]" \
		"$second/manifest.json" "$(sha256sum tonight.csv | cut -d" " -f1)" &&
	test "$(residents)" = 19
'

test_expect_success 'runs list shows the history with guard, approval and load outcome' '
	unitsync runs list >runs.out &&
	grep -P "\theld\tauditor-jane\tdone " runs.out &&
	test "$(grep -c "^20" runs.out)" -ge 6
'

test_expect_success 'the HTML report is one self-contained page with its chart and tables' '
	unitsync report "$(cat held.run)" --html report.html >/dev/null &&
	python3 - report.html <<-\EOP
	import html.parser, sys
	class Page(html.parser.HTMLParser):
	    def __init__(self):
	        super().__init__(); self.tags = {}; self.ids = set(); self.refs = []
	    def handle_starttag(self, tag, attrs):
	        self.tags[tag] = self.tags.get(tag, 0) + 1
	        a = dict(attrs)
	        if "id" in a: self.ids.add(a["id"])
	        for k in ("src", "href"):
	            if k in a: self.refs.append(a[k])
	p = Page(); p.feed(open(sys.argv[1]).read())
	assert p.tags.get("svg", 0) >= 1 and p.tags.get("rect", 0) >= 4, p.tags
	assert {"changes", "exceptions"} <= p.ids, p.ids
	assert not p.refs, p.refs
	EOP
'

test_expect_success 'a snapshot exported for an auditor is a consistent SQLite copy of just it' '
	snap=$(unitsync snapshots list | awk -F"\t" "\$5 == 19 { print \$1 }" | tail -n 1) &&
	unitsync snapshots export "$snap" audit.db >exp.out &&
	test "$(sqlite3 audit.db "SELECT group_concat(snapshot_id) FROM snapshot")" = "$snap" &&
	test "$(sqlite3 audit.db "SELECT count(*) FROM stg_person")" = 19 &&
	test "$(stat -c %a audit.db)" = 600
'

test_expect_success 'two nightly runs started together: the second exits 75 at once' '
	curl -sf -X POST -d "{\"latency_ms\":500}" "$SIM_URL/_sim/faults" >/dev/null &&
	# new bytes (a blank line more): a new export, not an older one again
	{ cat full.csv && echo; } >tonight.csv &&
	{ "$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs --as-of 2026-06-01 >first.out 2>&1 & } &&
	pid=$! &&
	sleep 0.8 &&
	start=$(date +%s) &&
	test_expect_code 75 "$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs >second.out 2>second.err &&
	test $(( $(date +%s) - start )) -le 2 &&
	grep "another run holds" second.err &&
	wait $pid &&
	curl -sf -X POST -d "{\"latency_ms\":0}" "$SIM_URL/_sim/faults" >/dev/null
'
test_expect_success 'a held property does not hold back the others' '
	unitsync property add p2 >/dev/null && unitsync map add --offline --property p2 1 L21 >/dev/null &&
	printf "%s\n%s\n" "$H" "p2,1,Q1,HQ1,primary,current,Q,One,q1@example.com,,2024-01-01," >p2.csv &&
	# new bytes (blank lines): the cut is new tonight, held for shrinking
	{ cat cut.csv && echo && echo; } >cut2.csv &&
	unitsync extract-csv p2.csv >/dev/null && unitsync extract-csv --property p1 cut2.csv >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out runs >two.out &&
	two=$(tail -n 1 two.out) &&
	grep "^p1: .*HELD" two.out && ! grep "^p2: .*HELD" two.out &&
	test_expect_code 4 unitsync load "$two" >two-load.out &&
	grep "1 held by the safety guard\|16 held by the safety guard" two-load.out &&
	curl -sf "$SIM_URL/_sim/state" | grep -q "q1@example.com" &&
	test "$(residents)" = 21 &&
	true
'

test_expect_success 'night 2'"'"'s export back in the drop: nightly says to put the current export, not to approve' '
	test_expect_code 4 nightly cut.csv >old.out 2>old.err &&
	run=$(sed -n "s/^run directory: //p" old.out) && grep -q "^older_export,p1," "$run/exceptions.csv" &&
	grep "held by the safety guard: tonight.s export looks older than the last accepted one (older_export in $run/exceptions.csv): put the current export in the drop and run the night again; approve this run only if that old export is meant" old.err &&
	grep "property p1 is held, its rows not sent: tonight.s export looks older" old.err &&
	# p1 is the only property held: no other one is said to be (nu15 L4)
	! grep "another property held" old.err && grep "if another property is held too" old.err &&
	test "$(residents)" = 21
'

test_expect_success 'night 1'"'"'s, with nothing to change: the load says the same, and exits 0' '
	nightly full.csv >old1.out 2>old1.err &&
	run=$(sed -n "s/^run directory: //p" old1.out) && grep -q "^older_export,p1," "$run/exceptions.csv" &&
	grep "property p1 is held by the safety guard, with nothing of it to send tonight: tonight.s export looks older than the last accepted one (older_export): put the current export in the drop" old1.err
'

[ $failed -eq 0 ]
