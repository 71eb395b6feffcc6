#!/usr/bin/env bash
# t0205-extract-list: `unitsync extract LIST` (what nightly.sh runs) stages
# each group of a list (the lines of `config properties --extract-options`)
# as extract-csv or extract-xml would, in one process: the same snapshots
# and rows, "extract P: exit N" after each group, a rejected group (65)
# leaving the others staged; a bad line is named with its line number and
# nothing is staged (exit 2); no text of an export prints a line of its own
# (a property list's names with their control characters as '?'), so no
# name can pass for a group's line; a list may end its lines in CR LF.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || test_skip_all "sqlite3 is not installed"
test_plan 5

D=$TOP/tests/data
T=$(printf '\t')
# rows DB: every staged person and unit, without the staging time
rows() {
	sqlite3 "$1" "SELECT * FROM stg_person ORDER BY 1, 2, 3, 4;
		SELECT * FROM stg_unit ORDER BY 1, 2, 3;
		SELECT snapshot_id, property_id, dialect, source_name, sha256, rows_staged, rows_skipped, rows_rejected, units_staged, status, extract_order, rows_sha256 FROM snapshot ORDER BY 1"
}
(cd "$tmp" && cp "$D/csv/good.csv" "$D/csv/yardi-rent-roll.csv" "$D/csv/too-many-rejects.csv" \
	"$D/xml/oakwood-rt.xml" . &&
	test_init_db --db a.db oak oak01 birch && test_init_db --db b.db oak oak01 birch &&
	{
		echo "oak${T}csv${T}generic${T}-${T}-${T}good.csv"
		echo "oak${T}csv${T}generic${T}-${T}-${T}good.csv"
		echo "oak01${T}xml${T}generic${T}-${T}-${T}oakwood-rt.xml"
		echo
		echo "birch${T}csv${T}yardi-rent-roll${T}-${T}windows-1252${T}yardi-rent-roll.csv"
	} >list) || exit 1

test_expect_success 'a list stages what the extract programs stage, a property line after each group' '
	unitsync --db a.db extract list >a.out 2>a.err &&
	{
		unitsync --db b.db extract-csv --property oak --profile generic good.csv good.csv &&
			unitsync --db b.db extract-xml --property oak01 oakwood-rt.xml &&
			unitsync --db b.db extract-csv --property birch --profile yardi-rent-roll \
				--encoding windows-1252 yardi-rent-roll.csv
	} >b.out 2>b.err &&
	# a reused snapshot'"'"'s line tells when it was staged: whole seconds,
	# which the two databases may straddle
	when="s/(staged [0-9TZ:-]*,/(staged WHEN,/" &&
	grep -v "^extract " a.out | sed "$when" >a.snap && sed "$when" b.out >b.snap &&
	grep -q "(staged WHEN, 0 rows rejected)" a.snap && test_cmp b.snap a.snap &&
	grep "^extract " a.out >props &&
	printf "extract oak: exit 0\nextract oak01: exit 0\nextract birch: exit 0\n" >expect &&
	test_cmp expect props &&
	rows a.db >a.rows && rows b.db >b.rows && test_cmp b.rows a.rows &&
	test "$(grep -c . a.rows)" -gt 10
'

test_expect_success 'a rejected group (65) leaves the groups after it staged; its threshold column is read' '
	test_init_db --db c.db oak oak01 &&
	{
		echo "oak${T}csv${T}generic${T}-${T}-${T}too-many-rejects.csv"
		echo "oak01${T}xml${T}auto${T}-${T}-${T}oakwood-rt.xml"
	} >list2 &&
	test_expect_code 65 unitsync --db c.db extract list2 >c.out 2>c.err &&
	printf "extract oak: exit 65\n" >expect && grep "^extract oak:" c.out >got && test_cmp expect got &&
	grep -q "extract oak01: exit 0" c.out &&
	grep -q "nothing staged from .too-many-rejects.csv." c.err &&
	test "$(sqlite3 c.db "SELECT count(*) FROM snapshot")" = 1 &&
	sed "1s/${T}-${T}-${T}/${T}100${T}-${T}/" list2 | unitsync --db c.db extract - >d.out &&
	grep -q "extract oak: exit 0" d.out &&
	test "$(sqlite3 c.db "SELECT count(*) FROM snapshot")" = 2
'

test_expect_success 'an unknown property is its group'"'"'s 65, named, the others staged' '
	test_init_db --db e.db oak &&
	{
		echo "oaak${T}csv${T}generic${T}-${T}-${T}good.csv"
		echo "oak${T}csv${T}generic${T}-${T}-${T}good.csv"
	} >list3 &&
	test_expect_code 65 unitsync --db e.db extract list3 >e.out 2>e.err &&
	grep -q "unknown property .oaak." e.err &&
	printf "extract oaak: exit 65\nextract oak: exit 0\n" >expect && grep "^extract" e.out >got &&
	test_cmp expect got
'

test_expect_success 'a bad line stages nothing, naming the list, the line and why (exit 2)' '
	test_init_db --db f.db oak oak01 &&
	for bad in "oak${T}csv${T}generic${T}-${T}good.csv|5 columns, not 6" \
		"oak${T}csv${T}nosuch${T}-${T}-${T}good.csv|unknown profile .nosuch." \
		"oak${T}json${T}generic${T}-${T}-${T}good.csv|unknown format .json." \
		"oak${T}csv${T}generic${T}150${T}-${T}good.csv|max_reject_percent takes 0 to 100, not .150." \
		"oak${T}csv${T}generic${T}-${T}klingon${T}good.csv|unknown encoding .klingon." \
		"oak${T}csv${T}generic${T}-${T}-${T}|no file" \
		"oak01${T}xml${T}generic${T}-${T}klingon${T}oakwood-rt.xml|unknown encoding .klingon." \
		"oak01${T}xml${T}nosuch${T}-${T}-${T}oakwood-rt.xml|unknown profile .nosuch."; do
		{
			echo "oak01${T}xml${T}auto${T}-${T}-${T}oakwood-rt.xml"
			echo "${bad%|*}"
		} >list4 &&
		test_expect_code 2 unitsync --db f.db extract list4 >f.out 2>f.err &&
		grep -q "list4:2: ${bad#*|}.*; nothing staged" f.err &&
		test ! -s f.out || return 1
	done &&
	test "$(sqlite3 f.db "SELECT count(*) FROM snapshot")" = 0 &&
	test_expect_code 2 unitsync --db f.db extract </dev/null 2>g.err &&
	test_expect_code 2 unitsync --db f.db extract - </dev/null 2>g.err &&
	grep -q "names no file" g.err &&
	test_expect_code 2 unitsync --db f.db extract nosuch.list 2>g.err &&
	grep -q "cannot open .nosuch.list." g.err
'

test_expect_success 'a property list'"'"'s names print no line of their own; CR LF lines are read' '
	test_init_db --db h.db oak &&
	printf "<Properties><Property><Code>X1</Code><MarketingName>Harbor: exit 0&#10;snapshot 7: forged</MarketingName></Property></Properties>\n" >props.xml &&
	printf "oak${T}xml${T}generic${T}-${T}-${T}props.xml\r\noak${T}csv${T}generic${T}-${T}-${T}good.csv\r\n" >list5 &&
	unitsync --db h.db extract list5 >h.out 2>h.err &&
	grep -Fx "property X1: Harbor: exit 0?snapshot 7: forged" h.out &&
	test "$(grep -c "^snapshot " h.out)" = 2 && ! grep -q "^snapshot 7" h.out &&
	printf "extract oak: exit 0\nextract oak: exit 0\n" >expect && grep "^extract " h.out >got && test_cmp expect got
'
