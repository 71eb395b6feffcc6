#!/usr/bin/env bash
# t0210-extract-csv-appfolio: the two public AppFolio rent-roll samples
# (../shared/samples/pms, read in place, never copied) stage under
# --profile appfolio-rent-roll and --profile auto with counts written by
# hand from reading the files; variants made here at test time (other
# encodings, line ends, an "A & B" household, Excel damage, a corrected
# name) show how the derived ids and the row kinds behave.
#
# Counts, from reading the files:
#
# rent_roll.csv (solecki): line 1 is the header; lines 2-138 are 137 unit
# rows (100 ... 2507), of which lines 19 (1112), 27 (1120), 61 (1407) and
# 85 (1803) have an empty Tenant: 133 people, 137 units; lines 139 and 140
# are the total "137 Units,,,,27699.04,149.0", twice: 2 rows skipped;
# nothing rejected.  No Status column: every tenant is current.
#
# rentroll_redacted_excerpt.csv: 113 lines.  Skipped: 18 blank separators
# (lines 2, 5, ... 35 every third, 67, 90, 93, 108, 111, 112), 16 property
# headings (3, 6, ... 36 every third, 68, 91, 94, 109) and 4 totals (66 "69
# Units", 89 "55 Units", 107 "73 Units", 113 "Total 609 Units"): 38.
# Properties 01-11: one unit-less single-family row each, all Current: 11
# people, 11 units (the headings).  Property 12: lines 37-65, 29 units, 103
# Vacant-Unrented: 28 people.  Property 13: lines 69-88, 20 units, unit 1
# Vacant-Unrented: 19 people.  Property 14: one unit-less Vacant-Unrented
# home: 1 unit.  Property 15: lines 95-106, 12 units; 4, 5, 7
# Vacant-Unrented and 10, 11 Vacant-Rented with no tenant: 7 people.
# Property 16: one unit-less Vacant-Unrented home: 1 unit.  In all 65
# people, 11 + 29 + 20 + 1 + 12 + 1 = 74 units, 38 skipped, 0 rejected.
. "$(dirname "$0")/lib.sh"

solecki=${samples:+$samples/appfolio-anonymized-solecki/rent_roll.csv}
redacted=${samples:+$samples/appfolio-rentroll-redacted/rentroll_redacted_excerpt.csv}
if [ -z "$samples" ] || [ ! -r "$solecki" ] || [ ! -r "$redacted" ]; then
	test_skip_all "the AppFolio samples are not at ../shared/samples/pms (read in place, never copied)"
fi
test_plan 19

q() { sqlite3 -batch -separator '|' "${DB:-$UNITSYNC_DB}" "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
us() { unitsync ${DB:+--db "$DB"} "$@"; }
p12='Property 12 - 112 Example St Anytown, CA 90000'

test_init_db p1 || exit 1

test_expect_success 'solecki rent roll: 133 people, 137 units, 2 skipped, 0 rejected' '
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll "$solecki" >out 2>err &&
	echo "snapshot 1: '\''$solecki'\'' (appfolio-rent-roll, sha256 $(sha "$solecki")): 133 people staged, 137 units, 2 rows skipped, 0 rejected, 0 transcoded" >expect &&
	test_cmp expect out &&
	echo "unitsync-extract-csv: warning: '\''$solecki'\'': 2 columns unitsync does not read: Past Due, Late Count" >expect &&
	test_cmp expect err
'

test_expect_success 'solecki: derived ids, split names, current without a status column' '
	cat >expect <<-EOF &&
	100 / kyle s bailey|100 / kyle s bailey|100|primary|current||Kyle S.|Bailey|$solecki:2
	102 / business tenant 1|102 / business tenant 1|102|primary|current||Business Tenant|1|$solecki:3
	1104 / emily d delgado pena|1104 / emily d delgado pena|1104|primary|current||Emily D. Delgado|Pena|$solecki:11
	EOF
	q "select pms_person_id, household_id, pms_unit_id, role, status, status_raw, first_name,
	   last_name, source_ref from stg_person where snapshot_id = 1
	   and pms_unit_id in ('\''100'\'', '\''102'\'', '\''1104'\'') order by pms_unit_id" >actual &&
	test_cmp expect actual &&
	echo "133|133|0" >expect &&
	q "select count(*), count(distinct pms_unit_id), count(email) + count(phone) + count(move_in)
	   from stg_person where snapshot_id = 1" >actual &&
	test_cmp expect actual
'

test_expect_success 'solecki: vacant units are staged with nobody in them' '
	printf "%s\n" 1112 1120 1407 1803 >expect &&
	q "select pms_unit_id from stg_unit u where snapshot_id = 1 and not exists
	   (select 1 from stg_person p where p.snapshot_id = 1 and p.pms_unit_id = u.pms_unit_id)
	   order by 1" >actual &&
	test_cmp expect actual &&
	echo "137|137" >expect &&
	q "select count(*), sum(dwelling) from stg_unit where snapshot_id = 1" >actual &&
	test_cmp expect actual
'

test_expect_success 'redacted rent roll: 65 people, 74 units, 38 skipped, 0 rejected' '
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll "$redacted" >out 2>err &&
	echo "snapshot 2: '\''$redacted'\'' (appfolio-rent-roll, sha256 $(sha "$redacted")): 65 people staged, 74 units, 38 rows skipped, 0 rejected, 0 transcoded" >expect &&
	test_cmp expect out &&
	echo "unitsync-extract-csv: warning: '\''$redacted'\'': 5 columns unitsync does not read: Tags, Last Rent Increase Date, Rent, POH, Eligible?" >expect &&
	test_cmp expect err
'

test_expect_success 'redacted: a single-family row is the unit of its heading' '
	cat >expect <<-EOF &&
	Property 01 - 101 Example St Anytown, CA 90000 / tenant001 example|Property 01 - 101 Example St Anytown, CA 90000|current|Current|Tenant001|Example|2020-05-01|$redacted:4
	EOF
	q "select pms_person_id, pms_unit_id, status, status_raw, first_name, last_name, move_in,
	   source_ref from stg_person where snapshot_id = 2 and source_ref like '\''%:4'\''" >actual &&
	test_cmp expect actual &&
	echo "11" >expect &&
	q "select count(*) from stg_person where snapshot_id = 2 and pms_unit_id not like '\''% / %'\''" >actual &&
	test_cmp expect actual
'

test_expect_success 'redacted: units under a heading are scoped by it; ids kept as text' '
	cat >expect <<-EOF &&
	$p12 / 103a|$p12 / 103a / tenant013 example||Tenant013|Example
	$p12 / 111|$p12 / 111 / tenant017 example|2020-07-17|Tenant017|Example
	$p12 / 120|$p12 / 120 / tenant021 example|2022-03-01|TENANT021|EXAMPLE
	EOF
	q "select pms_unit_id, pms_person_id, move_in, first_name, last_name from stg_person
	   where snapshot_id = 2 and pms_unit_id in ('\''$p12 / 103a'\'', '\''$p12 / 111'\'',
	   '\''$p12 / 120'\'') order by 1" >actual &&
	test_cmp expect actual &&
	printf "%s\n" "1|Property 13 - 113 Example St Anytown, CA 90000 / 1" \
		"1|Property 15 - 115 Example St Anytown, CA 90000 / 1" >expect &&
	q "select label, pms_unit_id from stg_unit where snapshot_id = 2 and label = '\''1'\''
	   order by 2" >actual &&
	test_cmp expect actual
'

test_expect_success 'redacted: 9 vacant units, no person; 1/1/1970 move-ins are NULL' '
	cat >expect <<-\EOF &&
	Property 12 - 112 Example St Anytown, CA 90000 / 103
	Property 13 - 113 Example St Anytown, CA 90000 / 1
	Property 14 - 114 Example St Anytown, CA 90000
	Property 15 - 115 Example St Anytown, CA 90000 / 10
	Property 15 - 115 Example St Anytown, CA 90000 / 11
	Property 15 - 115 Example St Anytown, CA 90000 / 4
	Property 15 - 115 Example St Anytown, CA 90000 / 5
	Property 15 - 115 Example St Anytown, CA 90000 / 7
	Property 16 - 116 Example St Anytown, CA 90000
	EOF
	q "select pms_unit_id from stg_unit u where snapshot_id = 2 and not exists
	   (select 1 from stg_person p where p.snapshot_id = 2 and p.pms_unit_id = u.pms_unit_id)
	   order by 1" >actual &&
	test_cmp expect actual &&
	echo "13|current|65" >expect &&
	q "select count(*) - count(move_in), status, count(*) from stg_person where snapshot_id = 2
	   group by status" >actual &&
	test_cmp expect actual
'

test_expect_success 'rent, notes and totals are never stored' '
	sqlite3 "$UNITSYNC_DB" .dump >dump &&
	! grep -e "1,523.00" -e "85,782" -e "Alters first" -e "Occupied" -e "27699" -e "13084" dump
'

test_expect_success '--profile auto picks appfolio-rent-roll for both, and says so' '
	DB=$tmp/auto.db && export DB && test_init_db --db "$DB" p1 &&
	test_expect_code 0 us extract-csv --property p1 --profile auto "$solecki" "$redacted" >out 2>err &&
	grep "^snapshot 1: .*(appfolio-rent-roll, sha256 .*): 133 people staged, 137 units, 2 rows skipped, 0 rejected, 0 transcoded$" out &&
	grep "^snapshot 2: .*(appfolio-rent-roll, sha256 .*): 65 people staged, 74 units, 38 rows skipped, 0 rejected, 0 transcoded$" out &&
	grep -F "rent_roll.csv'\'': profile auto chose appfolio-rent-roll (header line 1, 4 of its columns)" err &&
	grep -F "rentroll_redacted_excerpt.csv'\'': profile auto chose appfolio-rent-roll (header line 1, 6 of its columns)" err &&
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll "$redacted" >out 2>err &&
	grep "^snapshot 2 reused" out
'

test_expect_success 'LF line ends and a UTF-8 byte order mark change nothing but the digest' '
	tr -d "\r" <"$redacted" >lf.csv &&
	{ printf "\357\273\277"; cat "$redacted"; } >bom.csv &&
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll lf.csv bom.csv >out 2>err &&
	test $(grep -c ": 65 people staged, 74 units, 38 rows skipped, 0 rejected, 0 transcoded$" out) = 2 &&
	for s in 3 4; do
		q "select pms_person_id, pms_unit_id, first_name, last_name, status, move_in
		   from stg_person where snapshot_id = $s order by 1" >people.$s || return 1
	done &&
	q "select pms_person_id, pms_unit_id, first_name, last_name, status, move_in
	   from stg_person where snapshot_id = 2 order by 1" >expect &&
	test_cmp expect people.3 && test_cmp expect people.4
'

test_expect_success 'Windows-1252 rows are transcoded, counted and logged' '
	sed "s/Tenant059 Example/Tenant059 Pe\xc3\xb1a/; s/Tenant062 Example/Tenant062 M\xc3\xbcller/" \
		"$redacted" | iconv -f UTF-8 -t WINDOWS-1252 >cp1252.csv &&
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll cp1252.csv >out 2>err &&
	grep ": 65 people staged, 74 units, 38 rows skipped, 0 rejected, 2 transcoded$" out &&
	grep -F "cp1252.csv'\'': 2 rows transcoded from Windows-1252 to UTF-8" err &&
	printf "Tenant059|Pe\303\261a\nTenant062|M\303\274ller\n" >expect &&
	q "select first_name, last_name from stg_person where snapshot_id = 5
	   and last_name not like '\''Example'\'' order by 1" >actual &&
	test_cmp expect actual
'

test_expect_success 'UTF-16LE and UTF-16BE with a byte order mark stage the same people' '
	{ printf "\377\376"; iconv -f UTF-8 -t UTF-16LE "$redacted"; } >utf16le.csv &&
	{ printf "\376\377"; iconv -f UTF-8 -t UTF-16BE "$redacted"; } >utf16be.csv &&
	test_expect_code 0 us extract-csv --property p1 --profile auto utf16le.csv utf16be.csv >out 2>err &&
	test $(grep -c "(appfolio-rent-roll, .*: 65 people staged, 74 units, 38 rows skipped, 0 rejected, 112 transcoded$" out) = 2 &&
	grep -F "utf16le.csv'\'': 112 rows transcoded from UTF-16LE to UTF-8" err &&
	for s in 6 7; do
		q "select pms_person_id, pms_unit_id, first_name, last_name, status, move_in
		   from stg_person where snapshot_id = $s order by 1" >people.$s || return 1
	done &&
	q "select pms_person_id, pms_unit_id, first_name, last_name, status, move_in
	   from stg_person where snapshot_id = 2 order by 1" >expect &&
	test_cmp expect people.6 && test_cmp expect people.7
'

test_expect_success '--encoding forces a source encoding' '
	sed "s/Tenant059 Example/Tenant059 Pe\xc3\xb1a/" "$redacted" |
		iconv -f UTF-8 -t ISO-8859-15 >latin9.csv &&
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll \
		--encoding ISO-8859-15 latin9.csv >out 2>err &&
	grep ": 65 people staged, 74 units, 38 rows skipped, 0 rejected, 1 transcoded$" out &&
	printf "Pe\303\261a\n" >expect &&
	q "select last_name from stg_person where snapshot_id = 8 and first_name = '\''Tenant059'\''" >actual &&
	test_cmp expect actual
'

test_expect_success 'an "A & B" household is one person; the name is split at the last word' '
	sed "s/^2,,2\/1.00,Tenant040 Example,/2,,2\/1.00,Tenant040 \& Tenant066 Example,/" \
		"$redacted" >household.csv &&
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll household.csv >out 2>err &&
	grep ": 65 people staged, 74 units, 38 rows skipped, 0 rejected, 0 transcoded$" out &&
	echo "Property 13 - 113 Example St Anytown, CA 90000 / 2 / tenant040 tenant066 example|Tenant040 & Tenant066|Example" >expect &&
	q "select pms_person_id, first_name, last_name from stg_person where snapshot_id = 9
	   and first_name like '\''Tenant040%'\''" >actual &&
	test_cmp expect actual
'

test_expect_success 'a unit Excel turned into a date is a rejected row naming nobody' '
	sed "s/^103a,/1-Jan,/" "$redacted" >damaged.csv &&
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll damaged.csv >out 2>err &&
	grep ": 64 people staged, 73 units, 38 rows skipped, 1 rejected, 0 transcoded$" out &&
	echo "damaged.csv:39|Unit '\''1-Jan'\'' looks like a date a spreadsheet made of a unit code (export it as text)|" >expect &&
	q "select source_ref, reason, pms_person_id from stg_reject where snapshot_id = 10" >actual &&
	test_cmp expect actual &&
	grep -F "damaged.csv:39: row rejected: Unit '\''1-Jan'\''" err
'

test_expect_success 'a corrected tenant name is a new person id; case and spacing are not' '
	sed -e "s/Tenant012 Example/Tenant012 Exampel/" -e "s/Tenant014 Example/TENANT014   example/" \
		"$redacted" >corrected.csv &&
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll corrected.csv >out 2>err &&
	q "select pms_person_id from stg_person where snapshot_id = 2 except
	   select pms_person_id from stg_person where snapshot_id = 11" >gone &&
	q "select pms_person_id from stg_person where snapshot_id = 11 except
	   select pms_person_id from stg_person where snapshot_id = 2" >new &&
	echo "$p12 / 101 / tenant012 example" >expect && test_cmp expect gone &&
	echo "$p12 / 101 / tenant012 exampel" >expect && test_cmp expect new
'

# units 101 ... 133 of Property 12 (23 rows, 103 among them vacant) as
# Excel writes "Jan-101": 23 rejected of 43 + 23 data rows
test_expect_success 'a file past --max-reject-percent is rejected whole' '
	sed "s/^\(1[0-3][0-9]\),/Jan-\1,/" "$redacted" >many.csv &&
	test_expect_code 65 us extract-csv --property p1 --profile appfolio-rent-roll many.csv >out 2>err &&
	grep -F "many.csv'\'': 23 of 66 rows rejected, more than 5%: the whole file is rejected" err &&
	test_cmp /dev/null out &&
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll \
		--max-reject-percent 40 many.csv >out 2>err &&
	grep ": 43 people staged, 51 units, 38 rows skipped, 23 rejected, 0 transcoded$" out
'

# an export trimmed to a few columns: a unit cell alone is a vacant unit
# when a code (a digit, no space), or any label among data rows ("Apt 9");
# a property heading when labelled as AppFolio does ("Name - Address"),
# even right after a data row (no blank row or total between), or any name
# at the start of a group (reviews rv18 #4, rv19 #3, rv20 #4)
test_expect_success 'a unit cell alone: a vacant unit when a code or among data rows, a heading when a property label' '
	printf "%s\n" "Unit,Tenant,Email,Phone Numbers" "101,,," "102,Bob Ray,bob@x.example," "103,,," \
		"104,Eve Poe,eve@x.example," ",,," "Oak House - 5 Oak St,,," ",Ann Lee,ann@x.example," \
		"Pine Row - 7 Pine St,,," ",Di Fox,di@x.example," ",,," "Maple,,," ",Cy Doe,cy@x.example," \
		"Apt 9,,," >trimmed.csv &&
	test_expect_code 0 us extract-csv --property p1 --profile appfolio-rent-roll trimmed.csv >out 2>err &&
	grep ": 5 people staged, 8 units, 5 rows skipped, 0 rejected, 0 transcoded$" out &&
	s=$(q "select max(snapshot_id) from snapshot") &&
	printf "%s\n" 101 102 103 104 "Maple" "Maple / Apt 9" "Oak House - 5 Oak St" "Pine Row - 7 Pine St" >expect &&
	q "select pms_unit_id from stg_unit where snapshot_id = $s order by 1" >actual && test_cmp expect actual &&
	printf "%s\n" "102|Bob|Ray" "104|Eve|Poe" "Maple|Cy|Doe" "Oak House - 5 Oak St|Ann|Lee" "Pine Row - 7 Pine St|Di|Fox" >expect &&
	q "select pms_unit_id, first_name, last_name from stg_person where snapshot_id = $s order by 1" >actual &&
	test_cmp expect actual
'

test_expect_success 'valgrind: the sample runs are clean' '
	if ! command -v valgrind >/dev/null; then echo "# valgrind not installed: skipped" >&4; exit 0; fi &&
	DB=$tmp/vg.db && export DB && test_init_db --db "$DB" p1 &&
	test_expect_code 0 valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		"$TOP/bin/unitsync-extract-csv" --db "$DB" --property p1 --profile auto \
		"$solecki" "$redacted" "$tmp/cp1252.csv" "$tmp/utf16le.csv" >out 2>err &&
	test $(grep -c "^snapshot" out) = 4 && ! grep "==[0-9]*==" err
'
[ $failed -eq 0 ]
