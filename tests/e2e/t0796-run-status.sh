#!/usr/bin/env bash
# t0796-run-status: outcomes told straight (issue 17).  Runs walked through
# their states (incomplete, loaded, written, superseded, held, approved,
# partially failed); at each step `unitsync report`, `runs list` and `runs
# show` print the same status for the run, because one function
# (lib/runstatus.c) computes it.  The report (text and HTML) shows the
# approval (who, when), the load outcome and every input snapshot (id,
# file, digest, people, age).  `runs list --unfinished` lists a run cut
# short while other properties have newer runs, never a superseded one; a
# run of two properties, one of them rerun alone, is still unfinished for
# the other (nu12 #2).
. "$(dirname "$0")/lib.sh"
SQ="'"
test_plan 17

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
export_of() { # export_of N: residents 1..N of property p1, one per unit
	echo $H
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "p1,%d,R%d,H%d,primary,current,F%d,L%d,r%d@example.com,,2024-01-01,\n", i, i, i, i, i, i }'
}
residents() { curl -sf "$SIM_URL/_sim/state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["residents"]))'; }
faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }

# status RUN_DIR WANT: report, runs list and runs show all say WANT
status() {
	_id=$(basename "$1") &&
	unitsync report "$1" >report.out &&
	_r=$(sed -n "s/^status: \([^:]*\):.*/\1/p" report.out) &&
	_l=$(unitsync runs list | awk -F"\t" -v id="$_id" '$1 == id { print $9 }') &&
	_s=$(unitsync runs show "$_id" | sed -n "s/^status: \([^:]*\):.*/\1/p") &&
	echo "run $_id: report '$_r', runs list '$_l', runs show '$_s', want '$2'" >&4 &&
	test "$_r" = "$2" && test "$_l" = "$2" && test "$_s" = "$2"
}
transform() { unitsync extract-csv --property p1 "$1" >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out runs >t.out && tail -n 1 t.out; }

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in $(seq 22); do echo "b1,L$u,Unit $u"; done
} >seed.csv && unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	for u in $(seq 20); do unitsync map add --offline --property p1 "$u" "L$u" >/dev/null || exit 1; done &&
	export_of 20 >full.csv && export_of 4 >cut.csv && export_of 19 >minus1.csv &&
	{ export_of 20 && echo "p1,21,R21,H21,primary,current,F21,L21,r21@example.com,,2024-01-01,"; } >full21.csv &&
	# the same people in new bytes (CR LF): a new export, not an older one
	# sent again (which transform holds as older_export, t0771)
	sed "s/\$/\r/" full.csv >full-again.csv && sed "s/\$/\r/" minus1.csv >minus1-again.csv) || exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'a load cut short: incomplete' '
	a=$(transform full.csv) && echo "$a" >a.run &&
	status "$a" written &&
	faults "{\"drop_rate\":1,\"methods\":\"PUT\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$a" >/dev/null 2>&1 &&
	faults "{\"drop_rate\":0}" &&
	status "$a" incomplete &&
	unitsync runs list --unfinished >unfinished && test "$(cat unfinished)" = "$a"
'

test_expect_success 'loaded to the end: loaded, and no longer unfinished' '
	unitsync load "$(cat a.run)" >/dev/null && test "$(residents)" = 20 &&
	status "$(cat a.run)" loaded &&
	test -z "$(unitsync runs list --unfinished)"
'

# --unfinished looks only at runs with an open row (index journal_open):
# a row journaled and never sent (pending: a load stopped before it left)
# is one, as an inflight one is
test_expect_success 'a row journaled but not sent (pending) makes the run unfinished again' '
	id=$(basename "$(cat a.run)") &&
	sqlite3 "$UNITSYNC_DB" "UPDATE journal SET state = '"'"'pending'"'"'
		WHERE run_id = '"'"'$id'"'"' AND seq = 2" &&
	status "$(cat a.run)" incomplete &&
	test "$(unitsync runs list --unfinished)" = "$(cat a.run)" &&
	sqlite3 "$UNITSYNC_DB" "UPDATE journal SET state = '"'"'done'"'"'
		WHERE run_id = '"'"'$id'"'"' AND seq = 2" &&
	status "$(cat a.run)" loaded &&
	test -z "$(unitsync runs list --unfinished)"
'

test_expect_success 'a run transform wrote and nobody loaded: written' '
	b=$(transform minus1.csv) && echo "$b" >b.run &&
	status "$b" written
'

test_expect_success 'a newer run of its property supersedes it: superseded; the newer one, cut, is held' '
	c=$(transform cut.csv) && echo "$c" >c.run &&
	status "$(cat b.run)" superseded &&
	status "$c" held &&
	grep -x "approval: needed (held by the safety guard), not given" report.out
'

test_expect_success 'loaded while held (nothing sent): still held' '
	test_expect_code 4 unitsync load "$(cat c.run)" >/dev/null &&
	status "$(cat c.run)" held
'

test_expect_success 'approved: approved, with who and when in the report' '
	unitsync approve --by auditor-jane "$(cat c.run)" >/dev/null &&
	status "$(cat c.run)" approved &&
	grep -E "^approval: approved by auditor-jane at [0-9-]+T[0-9:]+Z$" report.out
'

test_expect_success 'approved and loaded: loaded; the report keeps the approval and tells the load' '
	unitsync load "$(cat c.run)" >/dev/null && test "$(residents)" = 4 &&
	status "$(cat c.run)" loaded &&
	grep -E "^approval: approved by auditor-jane at " report.out &&
	grep -E "^load: done 16; the last load ended [0-9-]+T[0-9:]+Z \(done\)$" report.out
'

test_expect_success 'a row Latch refuses for good: partially failed, and so it stays when superseded' '
	unitsync map add --property p1 21 L-gone >/dev/null 2>&1 ||
		unitsync map add --offline --property p1 21 L-gone >/dev/null &&
	d=$(transform full21.csv) && echo "$d" >d.run &&
	test_expect_code 1 unitsync load "$d" >/dev/null 2>&1 &&
	status "$d" "partially failed" &&
	grep -E "^status: partially failed: [0-9]+ of [0-9]+ rows done, 1 failed" report.out &&
	e=$(transform full-again.csv) &&
	status "$d" "partially failed" &&
	status "$e" written
'

test_expect_success 'the report lists every input snapshot: id, file, digest, people, age' '
	snap=$(unitsync runs show "$(basename "$(cat c.run)")" | sed -n "s/^input: p1: snapshot \([0-9]*\) .*/\1/p") &&
	test -n "$snap" &&
	unitsync report "$(cat c.run)" >r.out &&
	grep -E "^  p1: snapshot $snap .*cut.csv. sha256 $(sha256sum cut.csv | cut -d" " -f1), 4 people, [0-9.]+ h old at the run \((file modified|first staged) [0-9-]+T[0-9:]+Z\)$" r.out
'

test_expect_success 'the HTML report shows the status, the approval, the load and the inputs' '
	unitsync report "$(cat c.run)" --html c.html >/dev/null &&
	python3 - c.html "$(sha256sum cut.csv | cut -d" " -f1)" <<-\EOP
	import html.parser, sys
	class Page(html.parser.HTMLParser):
	    def __init__(self):
	        super().__init__(); self.table = None; self.text = {}
	    def handle_starttag(self, tag, attrs):
	        a = dict(attrs)
	        if tag == "table": self.table = a.get("id")
	    def handle_data(self, d):
	        if self.table: self.text[self.table] = self.text.get(self.table, "") + d
	p = Page(); p.feed(open(sys.argv[1]).read())
	o, i = p.text.get("outcome", ""), p.text.get("inputs", "")
	assert "loaded: 16 of 16 rows done" in o, o
	assert "approved by auditor-jane at " in o, o
	assert "the last load ended" in o, o
	assert sys.argv[2] in i and "cut.csv" in i and " h " in i, i
	EOP
'

test_expect_success 'every run: report, runs list and runs show agree' '
	unitsync runs list | awk -F"\t" "NR > 1 { print \$10 \"\t\" \$9 }" >all &&
	test "$(wc -l <all)" = 5 &&
	while IFS="	" read -r dir want; do
		status "$dir" "$want" || return 1
	done <all
'

test_expect_success 'runs list --unfinished: a cut run of p2 while p1 runs on, until p2 has a newer run' '
	unitsync property add p2 >/dev/null &&
	unitsync map add --offline --property p2 1 L-p2 >/dev/null &&
	printf "%s\np2,1,S1,G1,primary,current,Sam,Ode,s796@example.com,,2024-01-01,\n" "$H" >p2.csv &&
	unitsync extract-csv --property p2 p2.csv >/dev/null &&
	f=$(unitsync transform --as-of 2026-06-01 --property p2 --out runs | tail -n 1) &&
	faults "{\"drop_rate\":1,\"methods\":\"PUT\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$f" >/dev/null 2>&1 &&
	faults "{\"drop_rate\":0}" &&
	status "$f" incomplete &&
	test "$(unitsync runs list --unfinished)" = "$f" &&
	unitsync extract-csv --property p1 minus1-again.csv >/dev/null &&
	g=$(unitsync transform --as-of 2026-06-01 --property p1 --out runs | tail -n 1) &&
	status "$g" written &&
	test "$(unitsync runs list --unfinished)" = "$f" &&
	test "$(unitsync runs list --unfinished --property p1)" = "" &&
	test "$(unitsync runs list --unfinished --property p2)" = "$f" &&
	unitsync extract-csv --property p2 p2.csv >/dev/null &&
	h=$(unitsync transform --as-of 2026-06-02 --property p2 --out runs | tail -n 1) &&
	status "$f" superseded &&
	test -z "$(unitsync runs list --unfinished)"
'

test_expect_success 'a night whose export was refused (65): status no export, load no rows; never loaded' '
	unitsync property add p3 >/dev/null &&
	printf "property_id,pms_unit_id\np3,1\n" >bad.csv &&
	printf "[property \"p3\"]\nsource = bad.csv\n" >p3.ini &&
	test_expect_code 65 "$TOP/pipelines/nightly.sh" --config p3.ini --db "$UNITSYNC_DB" --out runs \
		--as-of 2026-06-03 --no-notify >n.out 2>n.err &&
	i=$(sed -n "s/^run directory: //p" n.out) && test -n "$i" &&
	status "$i" "no export" &&
	grep -x "status: no export: for p3 (missing, or a file refused), nothing was decided for it; 0 of 0 rows done: fix the export, then rerun" report.out &&
	grep -E "^load: no rows; the last load ended [0-9-]+T[0-9:]+Z \(done\)$" report.out &&
	grep -x "  p3: no export (property missing)" report.out &&
	unitsync runs list --property p3 | awk -F"\t" "NR == 2 { print \$8 }" >load && echo "no rows" >expect &&
	test_cmp expect load &&
	j=$(unitsync transform --as-of 2026-06-04 --property p3 --out runs | tail -n 1) &&
	status "$j" written && grep -x "load: no rows" report.out
'

test_expect_success 'a run of no rows with its export, loaded: loaded, load no rows' '
	printf "%s\np3,9,T1,K1,primary,current,Tia,Ng,s796-tia@example.com,,2024-01-01,\n" "$H" >p3.csv &&
	unitsync extract-csv --property p3 p3.csv >/dev/null &&
	k=$(unitsync transform --as-of 2026-06-04 --property p3 --out runs | tail -n 1) &&
	test "$(unitsync runs show "$(basename "$k")" | sed -n "s/^delta_rows: //p")" = 0 &&
	status "$k" written &&
	unitsync load "$k" >/dev/null 2>&1 &&
	status "$k" loaded &&
	grep -x "status: loaded: 0 of 0 rows done" report.out &&
	grep -E "^load: no rows; the last load ended [0-9-]+T[0-9:]+Z \(done\)$" report.out
'

test_expect_success 'runs list --property of a property the database does not have: 65 naming it' '
	test_expect_code 65 unitsync runs list --property p9 >o1 2>e1 &&
	test_cmp /dev/null o1 && grep -F "unknown property '"'"'p9'"'"'" e1 &&
	test_expect_code 65 unitsync runs list --unfinished --property p9 2>e2 &&
	unitsync runs list --property p1 >/dev/null
'

test_expect_success 'a run of two properties cut short, one of them rerun alone: the other'"'"'s rows are still sent' '
	unitsync property add p5 >/dev/null && unitsync property add p6 >/dev/null &&
	unitsync map add --offline --property p5 1 L21 >/dev/null &&
	unitsync map add --offline --property p6 1 L22 >/dev/null &&
	printf "%s\np5,1,V1,W1,primary,current,Vi,Oh,s796-vi@example.com,,2024-01-01,\np6,1,X1,Y1,primary,current,Xo,Ny,s796-xo@example.com,,2024-01-01,\n" "$H" >p56.csv &&
	unitsync extract-csv p56.csv >/dev/null &&
	m=$(unitsync transform --as-of 2026-06-05 --property p5 --property p6 --out runs | tail -n 1) &&
	faults "{\"drop_rate\":1,\"methods\":\"PUT\"}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$m" >/dev/null 2>&1 &&
	faults "{\"drop_rate\":0}" &&
	n=$(unitsync transform --as-of 2026-06-05 --property p6 --out runs | tail -n 1) &&
	status "$m" incomplete &&
	grep -E "^status: incomplete: 2 of 4 rows done, 2 pending or inflight: run load again \(it sends 1; run $(basename "$n") is newer for property p6, whose rows it will not send\)$" report.out &&
	unitsync runs list --unfinished | grep -x "$m" &&
	# the dropped PUTs reached Latch, their replies were lost: the
	# second load sends p5'"'"'s again (done), not p6'"'"'s (superseded)
	test_expect_code 1 unitsync load "$m" >l.out 2>&1 &&
	grep ": 1 done, 1 already done, 0 failed, 0 held by the safety guard, 2 superseded" l.out &&
	curl -sf "$SIM_URL/_sim/state" | python3 -c "import json,sys; print(sorted(r[\"unit\"] for r in json.load(sys.stdin)[\"residents\"] if r[\"unit\"] in (\"L21\", \"L22\")))" >u.out &&
	echo "[${SQ}L21${SQ}, ${SQ}L22${SQ}]" >expect && test_cmp expect u.out &&
	status "$m" superseded && ! unitsync runs list --unfinished | grep -qx "$m"
'

exit $((failed > 0))
