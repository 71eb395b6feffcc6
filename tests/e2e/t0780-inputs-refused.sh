#!/usr/bin/env bash
# t0780-inputs-refused: wrong inputs are refused by name (issue 17): a
# --snapshot that does not exist, or that is another property's export, is
# exit 65 naming the id, never a silent fallback to the newest export; a
# number option that is not a plain decimal number in range (nan, inf,
# signs, hex, exponents, junk) is a usage error (exit 2); a FIFO given as
# an export is refused at once (65), never waited on; a property id the
# state database does not know, given with --property or read from the
# file, is refused by extract-csv and extract-xml (65) naming it and
# `unitsync property add`, and stages nothing.  A file staged before under a
# looser --max-reject-percent is refused (65), not reused, under a stricter
# one: its snapshot does not become the property's newest export.
. "$(dirname "$0")/lib.sh"
test_plan 10

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && unitsync init >/dev/null && unitsync property add a >/dev/null &&
	unitsync property add b >/dev/null &&
	printf '%s\na,1,A1,H1,primary,current,Ann,Lee,s780-ann@example.com,,2024-01-01,\n' "$H" >a.csv &&
	printf '%s\nb,1,B1,H1,primary,current,Bo,Ray,s780-bo@example.com,,2024-01-01,\n' "$H" >b.csv &&
	unitsync extract-csv a.csv >xa.out && unitsync extract-csv b.csv >xb.out) || exit 1
snap_a=$(awk '{ sub(":", "", $2); print $2; exit }' "$tmp/xa.out")
snap_b=$(awk '{ sub(":", "", $2); print $2; exit }' "$tmp/xb.out")

test_expect_success 'transform --snapshot of an id that does not exist: exit 65 naming it, no run' '
	test_expect_code 65 unitsync transform --as-of 2026-06-01 --snapshot 999 --out runs 2>e1 &&
	grep "snapshot 999 does not exist" e1 &&
	! test -d runs
'

test_expect_success 'transform --property a --snapshot of b: exit 65 naming both' '
	test_expect_code 65 unitsync transform --as-of 2026-06-01 --property a \
		--snapshot '"$snap_b"' --out runs 2>e2 &&
	grep "snapshot '"$snap_b"' is an export of b, not of the property given" e2 &&
	! test -d runs
'

test_expect_success 'rerun.sh with a snapshot that does not exist exits 65 and loads nothing' '
	test_expect_code 65 with_latch_settings "$TOP/pipelines/rerun.sh" --db "$UNITSYNC_DB" --property a \
		--snapshot 999 --as-of 2026-06-01 --out runs >r.out 2>r.err &&
	grep "snapshot 999 does not exist" r.err
'

test_expect_success 'the right snapshot still works, and names the snapshot it was judged from' '
	unitsync transform --as-of 2026-06-01 --property a --snapshot '"$snap_a"' --out runs >t.out &&
	grep "^a: as of 2026-06-01, from the export staged as snapshot '"$snap_a"': " t.out &&
	printf "%s\na,9,A9,H9,primary,current,Di,Ma,s780-di@example.com,,2024-01-01,\n" "$H" >two.csv &&
	unitsync extract-csv two.csv >xtwo.out &&
	snap_a2=$(awk "{ sub(\":\", \"\", \$2); print \$2; exit }" xtwo.out) &&
	unitsync transform --as-of 2026-06-01 --property a --snapshot '"$snap_a"' --snapshot "$snap_a2" \
		--out runs >t2.out &&
	grep "^a: as of 2026-06-01, from the exports, the newest staged as snapshot $snap_a2: " t2.out
'

test_expect_success '--max-reject-percent and --rate take only a plain number in range (exit 2 otherwise)' '
	for v in nan NaN inf -1 1e2 0x10 " 5" 5x 101 ""; do
		for x in extract-csv extract-xml; do
			test_expect_code 2 unitsync $x --max-reject-percent "$v" a.csv 2>e ||
				{ echo "$x accepted '\''$v'\''" >&4; return 1; }
		done
	done &&
	for v in nan inf -1 1e3 5x 2000000; do
		test_expect_code 2 unitsync load --dry-run --rate "$v" runs 2>e ||
			{ echo "load accepted --rate '\''$v'\''" >&4; return 1; }
	done &&
	unitsync extract-csv --max-reject-percent 2.5 a.csv >/dev/null
'

test_expect_success 'approve without --by records the OS account, not $USER and never "unknown"' '
	unitsync property set a --guard-percent 0 >/dev/null &&
	printf "%s\na,2,A2,H2,primary,current,Al,Ng,s780-al@example.com,,2024-01-01,\n" "$(head -n 1 a.csv)" >a2.csv &&
	unitsync extract-csv a2.csv >/dev/null && r=$(unitsync transform --as-of 2026-06-02 --property a --out runs | tail -n 1) &&
	env -u USER unitsync approve "$r" >ap.out &&
	grep "approved by $(id -un) at" ap.out &&
	USER=mallory unitsync approve "$r" >ap2.out &&
	grep "approved by $(id -un) at" ap2.out
'

test_expect_success 'a FIFO given as an export is refused at once (65), not waited on' '
	mkfifo pipe.csv &&
	test_expect_code 65 timeout 10 unitsync extract-csv --property a pipe.csv 2>f1 &&
	grep "is not a regular file" f1 &&
	test_expect_code 65 timeout 10 unitsync extract-xml --property a pipe.csv 2>f2 &&
	grep "is not a regular file" f2
'

test_expect_success 'extract of a property the database does not know: 65 naming it, nothing staged' '
	snapshots() { sqlite3 "$UNITSYNC_DB" "select count(*) from snapshot"; } &&
	before=$(snapshots) &&
	cp "$TOP/tests/data/xml/oakwood-rt.xml" oak.xml &&
	test_expect_code 65 unitsync extract-csv --property nosuch a.csv 2>u1 &&
	grep -F "unknown property '\''nosuch'\'' (add it with '\''unitsync property add nosuch'\'')" u1 &&
	test_expect_code 65 unitsync extract-xml --property nosuch oak.xml 2>u2 &&
	grep -F "unknown property '\''nosuch'\'' (add it with '\''unitsync property add nosuch'\'')" u2 &&
	sed "s/^a,/zz,/" a.csv >zz.csv &&
	test_expect_code 65 unitsync extract-csv zz.csv 2>u3 &&
	grep -F "zz.csv:2: unknown property '\''zz'\'' (add it with '\''unitsync property add zz'\''): the whole file is refused; nothing staged from '\''zz.csv'\''" u3 &&
	test_expect_code 65 unitsync extract-xml oak.xml 2>u4 &&
	grep -F "oak.xml:16: unknown property '\''oak01'\'' (add it with '\''unitsync property add oak01'\'')" u4 &&
	{ cat a.csv && sed -n "2s/^a,1,A1,/zz,1,Z1,/p" a.csv && sed -n "2s/^a,1,A1,/yy,1,Y1,/p" a.csv; } >mixed.csv &&
	test_expect_code 65 unitsync extract-csv mixed.csv 2>u5 &&
	grep -F "mixed.csv:3: unknown properties '\''zz'\'', '\''yy'\'' (add each with '\''unitsync property add ID'\'')" u5 &&
	test "$(snapshots)" = "$before" &&
	unitsync property add zz >/dev/null && unitsync property add oak01 >/dev/null &&
	unitsync extract-csv zz.csv >/dev/null && unitsync extract-xml oak.xml >/dev/null &&
	test "$(snapshots)" = $((before + 2))
'

test_expect_success 'rows interleaving properties: known ones staged, unknown ones named in order' '
	p() { echo "$1,$2,$3,H$3,primary,current,Ann,Lee,s780-$3@example.com,,2024-01-01,"; } &&
	{ echo "$H" && for i in 1 2 3; do p a 2$i AI$i && p b 2$i BI$i; done; } >ab.csv &&
	unitsync extract-csv ab.csv >ab.out &&
	grep -F ": 6 people staged" ab.out &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT group_concat(property_id || '\''='\'' || people) FROM snapshot_property
		WHERE snapshot_id = (SELECT max(snapshot_id) FROM snapshot)")" = "a=3,b=3" &&
	before=$(sqlite3 "$UNITSYNC_DB" "select count(*) from snapshot") &&
	{ echo "$H" && p a 31 AU1 && p xx 31 XU1 && p b 31 BU1 && p yy 31 YU1 && p a 32 AU2 &&
		p xx 32 XU2 && p b 32 BU2 && p yy 32 YU2; } >abxy.csv &&
	test_expect_code 65 unitsync extract-csv abxy.csv 2>u6 &&
	grep -F "abxy.csv:3: unknown properties '\''xx'\'', '\''yy'\'' (add each with '\''unitsync property add ID'\'')" u6 &&
	test "$(sqlite3 "$UNITSYNC_DB" "select count(*) from snapshot")" = "$before"
'

test_expect_success 'a file staged under a looser --max-reject-percent is refused, not reused, under a stricter one' '
	order() { sqlite3 "$UNITSYNC_DB" "SELECT extract_order FROM snapshot WHERE source_name = '\''$1'\''"; } &&
	last() { sqlite3 "$UNITSYNC_DB" "SELECT max(extract_order) FROM snapshot"; } &&
	{ cat a.csv && echo "a,3,A3,H3,primary,current,Cy,Ode,s780-cy@example.com,,2024-02-30,"; } >rj.csv &&
	unitsync extract-csv --max-reject-percent 50 rj.csv >r1.out &&
	grep -F ": 1 person staged, 1 unit, 0 rows skipped, 1 rejected" r1.out &&
	o=$(order rj.csv) && test "$o" = "$(last)" &&
	unitsync extract-csv a2.csv >/dev/null &&
	test_expect_code 65 unitsync extract-csv rj.csv >r2.out 2>r2.err &&
	grep -F "'\''rj.csv'\'': 1 of 2 rows were rejected when it was staged (snapshot " r2.err &&
	grep -F "more than 5%: the whole file is rejected (fix the export, or raise --max-reject-percent); nothing staged from '\''rj.csv'\''" r2.err &&
	! grep reused r2.out &&
	test "$(order rj.csv)" = "$o" && test "$(order rj.csv)" -lt "$(last)" &&
	unitsync extract-csv --max-reject-percent 50 rj.csv >r3.out &&
	grep "^snapshot [0-9]* reused: '\''rj.csv'\'' (generic) was staged before with sha256 [0-9a-f]* (staged [0-9T:-]*Z, 1 row rejected)$" r3.out &&
	test "$(order rj.csv)" = "$(last)" &&
	"$TOP/bin/portfolio-gen" --properties 1 --units 3 --format xml --seed 1 --out g.xml 2>/dev/null &&
	unitsync property add P0001 >/dev/null &&
	sed "0,/<MITS:ActualMoveIn>20/s/<MITS:ActualMoveIn>\([0-9]*\)-[0-9-]*</<MITS:ActualMoveIn>\1-02-30</" g.xml >rj.xml &&
	unitsync extract-xml --property P0001 --max-reject-percent 90 rj.xml >x1.out 2>x1.err &&
	grep -F "rejected" x1.out && ! grep -F " 0 rejected" x1.out &&
	test_expect_code 65 unitsync extract-xml --property P0001 rj.xml >x2.out 2>x2.err &&
	grep -F "were rejected when it was staged (snapshot " x2.err &&
	unitsync extract-xml --property P0001 --max-reject-percent 90 rj.xml >x3.out &&
	n=$(sed -n "s/.*, \([0-9]*\) rejected$/\1/p" x1.out) && test "$n" -gt 0 &&
	if [ "$n" = 1 ]; then w=row; else w=rows; fi &&
	grep "^snapshot [0-9]* reused: '\''rj.xml'\'' (.*) was staged before with sha256 [0-9a-f]* (staged [0-9T:-]*Z, $n $w rejected)$" x3.out
'
