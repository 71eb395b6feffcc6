#!/usr/bin/env bash
# t0230-extract-csv-encoding: what extract-csv does with the bytes of a
# file (generic profile): byte order marks, Windows-1252 lines, UTF-16,
# --encoding, undecodable lines, CRLF / LF / mixed line ends and line
# breaks inside quotes; and that memory stays flat as the file grows.
. "$(dirname "$0")/lib.sh"
test_plan 12

q() { sqlite3 -batch -separator '|' "$UNITSYNC_DB" "$1"; }
hdr='property_id,pms_unit_id,pms_person_id,status,first_name,last_name'
# people FILE: the staged people of the snapshot of FILE
people() {
	q "select pms_person_id, pms_unit_id, first_name, last_name from stg_person
	   where snapshot_id = (select max(snapshot_id) from snapshot where source_name = '$1')
	   order by 1"
}

test_init_db p1 || exit 1

test_expect_success 'valid UTF-8 is kept; a UTF-8 byte order mark is dropped' '
	printf "\357\273\277%s\r\np1,101,A1,current,Zo\303\253,Ng\r\n" "$hdr" >bom.csv &&
	test_expect_code 0 unitsync extract-csv bom.csv >out 2>err &&
	grep ": 1 person staged, 1 unit, 0 rows skipped, 0 rejected, 0 transcoded$" out &&
	printf "A1|101|Zo\303\253|Ng\n" >expect &&
	people bom.csv >actual &&
	test_cmp expect actual &&
	test_cmp /dev/null err
'

test_expect_success 'a line that is not UTF-8 is read as Windows-1252, counted and logged' '
	printf "%s\np1,101,A1,current,Zo\303\253,Ng\np1,102,A2,current,Jos\351,Pe\361a\np1,103,A3,current,Ann,\223Lee\224\n" "$hdr" >cp1252.csv &&
	test_expect_code 0 unitsync extract-csv cp1252.csv >out 2>err &&
	grep ": 3 people staged, 3 units, 0 rows skipped, 0 rejected, 2 transcoded$" out &&
	grep -F "'\''cp1252.csv'\'': 2 rows transcoded from Windows-1252 to UTF-8" err &&
	printf "A1|101|Zo\303\253|Ng\nA2|102|Jos\303\251|Pe\303\261a\nA3|103|Ann|\342\200\234Lee\342\200\235\n" >expect &&
	people cp1252.csv >actual &&
	test_cmp expect actual
'

test_expect_success 'a line neither UTF-8 nor Windows-1252 rejects its row' '
	printf "%s\np1,101,A1,current,Ann,Lee\np1,102,A2,current,B\201n,Bell\n" "$hdr" >undecodable.csv &&
	test_expect_code 0 unitsync extract-csv --max-reject-percent 50 undecodable.csv >out 2>err &&
	grep ": 1 person staged, 1 unit, 0 rows skipped, 1 rejected, 0 transcoded$" out &&
	echo "undecodable.csv:3|line 3 is not valid UTF-8 or Windows-1252" >expect &&
	q "select source_ref, reason from stg_reject where source_ref like '\''undecodable.csv:%'\''" >actual &&
	test_cmp expect actual
'

test_expect_success '--encoding UTF-8 transcodes nothing; the encoding is part of the dialect' '
	test_expect_code 0 unitsync extract-csv --encoding UTF-8 --max-reject-percent 80 \
		cp1252.csv >out 2>err &&
	grep "^snapshot [0-9]*: '\''cp1252.csv'\'' (generic+UTF-8, .*: 1 person staged, 1 unit, 0 rows skipped, 2 rejected, 0 transcoded$" out &&
	grep -F "cp1252.csv:3: row rejected: line 3 is not valid UTF-8" err
'

test_expect_success 'UTF-16 with a byte order mark, either order, is decoded' '
	printf "%s\r\np1,101,A1,current,Zo\303\253,Ng\r\np1,102,A2,current,\"Multi\r\nLine\",Lee\r\n" "$hdr" >utf8.csv &&
	{ printf "\377\376"; iconv -f UTF-8 -t UTF-16LE utf8.csv; } >le.csv &&
	{ printf "\376\377"; iconv -f UTF-8 -t UTF-16BE utf8.csv; } >be.csv &&
	test_expect_code 0 unitsync extract-csv utf8.csv le.csv be.csv >out 2>err &&
	grep "'\''le.csv'\'' .*: 2 people staged, 2 units, 0 rows skipped, 0 rejected, 2 transcoded$" out &&
	grep "'\''be.csv'\'' .*: 2 people staged, 2 units, 0 rows skipped, 0 rejected, 2 transcoded$" out &&
	grep -F "'\''le.csv'\'': 2 rows transcoded from UTF-16LE to UTF-8" err &&
	people utf8.csv >expect &&
	people le.csv >actual.le && test_cmp expect actual.le &&
	people be.csv >actual.be && test_cmp expect actual.be &&
	printf "Multi\r\nLine\n" >expect &&
	q "select first_name from stg_person where pms_person_id = '\''A2'\''
	   and source_ref = '\''le.csv:3'\''" >actual &&
	test_cmp expect actual
'

test_expect_success '--encoding reads UTF-16 without a byte order mark' '
	test_expect_code 0 unitsync extract-csv --property p1 --encoding UTF-16LE \
		"$top/tests/data/bad/utf16-no-bom.csv" >out 2>err &&
	grep ": 1 person staged, 1 unit, 0 rows skipped, 0 rejected, 1 transcoded$" out
'

# the file's sha256 is taken from the bytes as they are read, before any
# decoding (lib/encoding.c); a UTF-16 file is decoded as a stream after its
# first 64 KiB read: the digest must cover what comes after too (rv12)
test_expect_success 'the snapshot'"'"'s sha256 is the file'"'"'s, whatever its encoding, past the first read' '
	awk -v hdr="$hdr" '"'"'BEGIN { print hdr; for (i = 0; i < 4000; i++)
		printf "p1,%d,S%d,current,Zo\303\253 %d,Long Name %d\r\n", i, i, i, i }'"'"' >big8.csv &&
	{ printf "\377\376"; iconv -f UTF-8 -t UTF-16LE big8.csv; } >big16le.csv &&
	{ printf "\376\377"; iconv -f UTF-8 -t UTF-16BE big8.csv; } >big16be.csv &&
	iconv -f UTF-8 -t UTF-16LE big8.csv >big16nobom.csv &&
	iconv -f UTF-8 -t WINDOWS-1252 big8.csv >big1252.csv &&
	test "$(wc -c <big16le.csv)" -gt 200000 &&
	unitsync extract-csv big8.csv big16le.csv big16be.csv big1252.csv >out 2>err &&
	unitsync extract-csv --encoding UTF-16LE big16nobom.csv >>out 2>>err &&
	for f in big8.csv big16le.csv big16be.csv big1252.csv big16nobom.csv; do
		grep "'"'"'$f'"'"' (generic[^,]*, sha256 $(sha256sum <$f | cut -d" " -f1)): 4000 people staged" out &&
		test "$(q "select sha256 from snapshot where source_name = '"'"'$f'"'"'")" = \
			"$(sha256sum <$f | cut -d" " -f1)" || return 1
	done
'

test_expect_success 'an encoding iconv does not know is a usage error' '
	test_expect_code 2 unitsync extract-csv --encoding KLINGON-8 utf8.csv >out 2>err &&
	grep -F "unknown encoding '\''KLINGON-8'\'' (auto, or a name iconv -l lists)" err &&
	test_cmp /dev/null out
'

test_expect_success 'CRLF, LF and a mix; line breaks inside quotes are kept' '
	printf "%s\r\np1,101,A1,current,Ann,Lee\np1,102,A2,current,\"two\nlines\",Bell\r\np1,103,A3,current,\"crlf\r\ninside\",Cy\r\np1,104,A4,current,Dee,Dunn" "$hdr" >mixed.csv &&
	test_expect_code 0 unitsync extract-csv mixed.csv >out 2>err &&
	grep ": 4 people staged, 4 units, 0 rows skipped, 0 rejected, 0 transcoded$" out &&
	printf "A1|mixed.csv:2|Ann\nA2|mixed.csv:3|two\nlines\nA3|mixed.csv:5|crlf\r\ninside\nA4|mixed.csv:7|Dee\n" >expect &&
	q "select pms_person_id, source_ref, first_name from stg_person
	   where source_ref like '\''mixed.csv:%'\'' order by 1" >actual &&
	test_cmp expect actual
'

test_expect_success 'a NUL byte rejects its row, not the file' '
	{ printf "%s\n" "$hdr"; printf "p1,101,A1,current,Ann,Lee\n"; printf "p1,102,A2,current,B\000n,Bell\n"; } >nul.csv &&
	test_expect_code 0 unitsync extract-csv --max-reject-percent 50 nul.csv >out 2>err &&
	grep ": 1 person staged, 1 unit, 0 rows skipped, 1 rejected, 0 transcoded$" out &&
	echo "nul.csv:3|field 5 holds a NUL byte" >expect &&
	q "select source_ref, reason from stg_reject where source_ref like '\''nul.csv:%'\''" >actual &&
	test_cmp expect actual
'

# gen N FILE: a generic export of N residents, a Windows-1252 name every 100th
gen() {
	awk -v n="$1" -v hdr="$hdr,email,move_in,notes" 'BEGIN {
		print hdr
		for (i = 0; i < n; i++)
			printf "p1,%04d,P%d,current,%s,Last %d,p%d@example.com,2024-01-01,\"note, %d\"\n",
				i % 5000, i, (i % 100 ? "Ann" : "Ren\351e"), i, i, i
	}' >"$2"
}
# rss PROG ARGS...: peak resident set size of PROG, in KiB
rss() { /usr/bin/time -f "%M" -o rss.out "$@" >/dev/null 2>&1 && cat rss.out; }

# the staging page cache (lib/stg.h STG_CACHE_KIB_STR, 32 MiB) fills as the
# file grows; nothing else may: at most 4 MiB more than that, and under the
# 64 MiB budget (issue 18)
test_expect_success 'memory does not grow with the file beyond the page cache (peak RSS, 20k and 200k rows)' '
	if ! [ -x /usr/bin/time ]; then echo "# /usr/bin/time missing: skipped" >&4; exit 0; fi &&
	gen 20000 small.csv && gen 200000 large.csv &&
	small=$(rss unitsync extract-csv small.csv) && large=$(rss unitsync extract-csv large.csv) &&
	echo "# peak RSS: $small KiB for $(wc -c <small.csv) bytes, $large KiB for $(wc -c <large.csv) bytes" >&4 &&
	test "$large" -lt $((small + 32768 + 4096)) && test "$large" -lt 65536 &&
	test "$(q "select rows_staged from snapshot where source_name = '\''large.csv'\''")" = 200000
'

# the rows digest puts rows in key order in a window of 4,096 rows as they
# are staged (lib/rowsdigest.h): wide rows make it shorter, never larger
# than 8 MiB (reviewer rv11: 155 MB of 36 KB rows peaked at 186 MiB)
test_expect_success 'rows of wide fields: the peak stays under 64 MiB and the digest verifies' '
	if ! [ -x /usr/bin/time ]; then echo "# /usr/bin/time missing: skipped" >&4; exit 0; fi &&
	perl -e '"'"'my $w = "x" x 10000; print "property_id,pms_unit_id,pms_person_id,status,first_name,last_name,email\n";
		printf "p1,%d,W%05d,current,%s%d,%s,w%d\@example.com\n", $_ % 900, $_, $w, $_, $w, $_ for 1 .. 6000'"'"' >wide.csv &&
	test "$(wc -c <wide.csv)" -gt 120000000 &&
	wide=$(rss unitsync extract-csv wide.csv) &&
	echo "# peak RSS: $wide KiB for $(wc -c <wide.csv) bytes" >&4 &&
	test "$wide" -lt 65536 &&
	id=$(q "select snapshot_id from snapshot where source_name = '\''wide.csv'\''") &&
	unitsync snapshots show "$id" >show &&
	grep "^rows_sha256: [0-9a-f]* (the rows are as staged)" show
'

[ $failed -eq 0 ]
