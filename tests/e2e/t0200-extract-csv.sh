#!/usr/bin/env bash
# t0200-extract-csv: `unitsync extract-csv` stages CSV exports (generic
# profile) as snapshots, rejects bad rows and bad files, and leaves nothing
# behind for a file it rejects (docs/ARCHITECTURE.md §2).
# TAP output; run with: prove tests/e2e/t0200-extract-csv.sh
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
data=$top/tests/data/csv
tmp=$(mktemp -d "${TMPDIR:-/tmp}/t0200.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "1..30"

if [ ! -x "$top/bin/unitsync" ] || [ ! -x "$top/bin/unitsync-extract-csv" ]; then
	echo "Bail out! build first: make bin/unitsync bin/unitsync-init bin/unitsync-extract-csv"
	exit 1
fi

n=0
# test_expect_success DESCRIPTION BODY: BODY runs in a subshell in $tmp; its
# output is shown as TAP diagnostics when it fails.
test_expect_success() {
	n=$((n + 1))
	if (cd "$tmp" && eval "$2") >"$tmp/log" 2>&1 4>&1; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/# /' "$tmp/log"
	fi
}
# test_expect_code CODE COMMAND...: COMMAND exits with CODE
test_expect_code() {
	local want=$1 got
	shift
	"$@"
	got=$?
	[ "$got" = "$want" ] || { echo "exit code $got, expected $want" >&4; return 1; }
}
test_cmp() { diff -u "$1" "$2" >&4; }
# us [--db DB] ARGS...: the driver on DB (default db)
us() { "$top/bin/unitsync" --db "$tmp/${DB:-db}" "$@"; }
q() { sqlite3 -batch -separator '|' "$tmp/${DB:-db}" "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# inputs are copied in so that source references read "NAME:LINE"
cp "$data"/*.csv "$tmp"/

# extract refuses a property the state database does not know
test_expect_success 'init creates the state databases, with their properties' '
	us init >/dev/null &&
	DB=bad.db us init >/dev/null &&
	for p in oak elm pine; do
		us property add $p >/dev/null && DB=bad.db us property add $p >/dev/null || exit 1
	done
'

test_expect_success 'good file (shuffled columns, CRLF, quotes, extra columns) is staged' '
	test_expect_code 0 us extract-csv --property oak good.csv >out 2>err &&
	echo "snapshot 1: '\''good.csv'\'' (generic, sha256 $(sha good.csv)): 5 people staged, 4 units, 1 row skipped, 0 rejected, 0 transcoded" >expect &&
	test_cmp expect out &&
	echo "unitsync-extract-csv: warning: '\''good.csv'\'': 2 columns unitsync does not read: notes, SSN" >expect &&
	test_cmp expect err
'

test_expect_success 'staged people are exact: ids as text, trimmed, dates normalized' '
	cat >expect <<-\EOF &&
	oak|P100|H100|0101|primary|current|Current|Chidi|Okafor, Jr.|Chidi.Okafor@Example.com|555-0100|2023-04-01||good.csv:2
	oak|P101|H100|0101|roommate|current|current|Amara|Okafor||555-0101|2023-04-01||good.csv:3
	oak|P200|P200|101|primary|notice|Notice|Sofie|Lindqvist|sofie@example.org||2022-01-15||good.csv:5
	oak|P300|H300|0102|primary|future|Future Resident|Ren|Tanaka|ren@example.net||2025-09-01||good.csv:7
	oak|P400|H400|0103|primary|unknown|Month-to-month|Yusuf|Haddad|||2020-02-29||good.csv:8
	EOF
	q "select property_id, pms_person_id, household_id, pms_unit_id, role, status, status_raw,
	   first_name, last_name, email, phone, move_in, move_out, source_ref
	   from stg_person where snapshot_id = 1 order by pms_person_id" >actual &&
	test_cmp expect actual
'

test_expect_success 'sentinel dates and absent columns are NULL' '
	echo "0" >expect &&
	q "select count(*) from stg_person where snapshot_id = 1 and (move_out is not null
	   or expected_move_out is not null or lease_from is not null or lease_to is not null
	   or typeof(pms_unit_id) <> '\''text'\'')" >actual &&
	test_cmp expect actual
'

test_expect_success 'each person stages its unit; "0101" and "101" are two units' '
	cat >expect <<-\EOF &&
	oak|0101|0101|1
	oak|0102|0102|1
	oak|0103|0103|1
	oak|101|101|1
	EOF
	q "select property_id, pms_unit_id, label, dwelling from stg_unit where snapshot_id = 1
	   order by pms_unit_id" >actual &&
	test_cmp expect actual
'

test_expect_success 'snapshot row records the file; columns not in the profile are never stored' '
	echo "oak|csv|generic|good.csv|$(sha good.csv)|$(stat -c %s good.csv)|5|1|0|4|staged" >expect &&
	q "select property_id, source_kind, dialect, source_name, sha256, size_bytes, rows_staged,
	   rows_skipped, rows_rejected, units_staged, status from snapshot" >actual &&
	test_cmp expect actual &&
	sqlite3 "$tmp/db" .dump >dump &&
	! grep -e 000-00-000 -e "gate code" -e "spot 12" dump
'

test_expect_success 'the same file again reuses its snapshot' '
	test_expect_code 0 us extract-csv --property oak good.csv >out 2>err &&
	staged=$(q "select created_at from snapshot where snapshot_id = 1") &&
	echo "snapshot 1 reused: '\''good.csv'\'' (generic) was staged before with sha256 $(sha good.csv) (staged $staged, 0 rows rejected)" >expect &&
	test_cmp expect out &&
	echo 1 >expect &&
	q "select count(*) from snapshot" >actual &&
	test_cmp expect actual
'

test_expect_success 'property_id column without --property: rows keep their own property' '
	test_expect_code 0 us extract-csv properties.csv >out 2>err &&
	grep -q "^snapshot 2: '\''properties.csv'\'' (generic, sha256 [0-9a-f]*): 3 people staged, 3 units, 0 rows skipped, 0 rejected, 0 transcoded$" out &&
	cat >expect <<-\EOF &&
	elm|A1|A1|1A|current|Current||||properties.csv:4
	oak|A1|A1|1A|current|current|2024-01-01|2024-12-31||properties.csv:2
	oak|A2|A2|1B|notice|notice|2023-06-01|2024-05-31|2024-05-31|properties.csv:3
	EOF
	q "select property_id, pms_person_id, household_id, pms_unit_id, status, status_raw,
	   lease_from, lease_to, expected_move_out, source_ref
	   from stg_person where snapshot_id = 2 order by property_id, pms_person_id" >actual &&
	test_cmp expect actual &&
	printf "%s\n" "|elm|1" "|oak|2" >expect &&
	q "select s.property_id, p.property_id, p.people from snapshot s
	   join snapshot_property p using (snapshot_id) where snapshot_id = 2
	   order by p.property_id" >actual &&
	test_cmp expect actual
'

test_expect_success '--property and a row naming another property: the row is rejected' '
	test_expect_code 0 us extract-csv --property oak --max-reject-percent 50 properties.csv >out 2>err &&
	grep -q ": 2 people staged, 2 units, 0 rows skipped, 1 rejected, 0 transcoded$" out &&
	echo "properties.csv:4|property_id '\''elm'\'' is not --property '\''oak'\''" >expect &&
	q "select source_ref, reason from stg_reject where snapshot_id = 3" >actual &&
	test_cmp expect actual &&
	echo "oak|2" >expect &&
	q "select property_id, count(*) from stg_person where snapshot_id = 3 group by 1" >actual &&
	test_cmp expect actual
'

test_expect_success 'no property_id column and no --property: a usage error (2) naming --property, also under auto' '
	for profile in generic auto; do
		DB=bad.db test_expect_code 2 us extract-csv --profile $profile good.csv >out 2>err &&
		grep -q "'\''good.csv'\'' line 1: no property column ('\''property_id'\'') and no --property: give --property P" err &&
		test_cmp /dev/null out || return 1
	done &&
	head -n 1 good.csv | sed "s/pms_person_id/person/" >nocols.csv &&
	DB=bad.db test_expect_code 65 us extract-csv nocols.csv 2>err &&
	grep -q "missing required column '\''property_id'\'' (or give --property), '\''pms_person_id'\''" err
'

test_expect_success 'unterminated quote: exit 65 naming file and line, nothing staged' '
	DB=bad.db test_expect_code 65 us extract-csv --property oak unterminated.csv >out 2>err &&
	grep -q "'\''unterminated.csv'\'' line 3: unterminated quoted field" err &&
	grep -q "nothing staged from '\''unterminated.csv'\''" err &&
	test_cmp /dev/null out &&
	echo "0|0|0" >expect &&
	DB=bad.db q "select (select count(*) from snapshot), (select count(*) from stg_person),
	   (select count(*) from stg_reject)" >actual &&
	test_cmp expect actual
'

test_expect_success 'missing required column: exit 65 listing the columns found' '
	DB=bad.db test_expect_code 65 us extract-csv missing-status.csv >out 2>err &&
	grep -q "'\''missing-status.csv'\'' line 1: missing required column '\''status'\''; the header has '\''property_id'\'', '\''pms_unit_id'\'', '\''pms_person_id'\'', '\''first_name'\'', '\''move_in'\''" err &&
	echo 0 >expect &&
	DB=bad.db q "select count(*) from snapshot" >actual &&
	test_cmp expect actual
'

test_expect_success 'duplicate header name: exit 65 naming the column' '
	DB=bad.db test_expect_code 65 us extract-csv --property oak duplicate-header.csv >out 2>err &&
	grep -q "'\''duplicate-header.csv'\'' line 1: column '\''PMS_Unit_ID'\'' appears twice in the header" err &&
	echo 0 >expect &&
	DB=bad.db q "select count(*) from snapshot" >actual &&
	test_cmp expect actual
'

# rejects.csv: eight bad rows, a blank one, then 160 good rows (8 of 169
# data rows rejected: under 5%)
{
	cat <<-\EOF
	property_id,pms_person_id,pms_unit_id,status,role,move_in,move_out,lease_to
	oak,R1,201,current,,2024-13-01,,
	oak,R2,202,current,,,6/30/24,
	oak,R3,203,current
	oak,R4,204,current,,,,,extra
	oak,R5,205,current,landlord,,,
	oak,,206,current,,,,
	oak,D1,208,current,,,,
	oak,D1,209,current,,,,
	EOF
	printf 'oak,R6,2\00010,current,,,,\n'
	printf ' , ,,,,,,\n'
	for i in $(seq 1 160); do
		printf 'oak,G%03d,%d,current,Roommate,2024-01-01,,\n' "$i" $((300 + i))
	done
} >"$tmp/rejects.csv"

test_expect_success 'bad rows are rejected with line and reason, the rest staged' '
	test_expect_code 0 us extract-csv rejects.csv >out 2>err &&
	grep -q "^snapshot 4: '\''rejects.csv'\'' (generic, sha256 [0-9a-f]*): 162 people staged, 162 units, 1 row skipped, 7 rejected, 0 transcoded$" out
'

test_expect_success 'a person id on two rows is staged twice, never rejected (a transfer, two leases)' '
	echo "D1|1|208|rejects.csv:8
D1|2|209|rejects.csv:9" >expect &&
	q "select pms_person_id, row_seq, pms_unit_id, source_ref from stg_person where snapshot_id = 4 and pms_person_id = '\''D1'\'' order by row_seq" >actual &&
	test_cmp expect actual
'

test_expect_success 'bad date: the reason names the column and the value' '
	echo "rejects.csv:2|move_in: date '\''2024-13-01'\'' does not exist" >expect &&
	q "select source_ref, reason from stg_reject where snapshot_id = 4 and source_ref = '\''rejects.csv:2'\''" >actual &&
	test_cmp expect actual
'

test_expect_success 'two-digit year is rejected' '
	echo "rejects.csv:3|move_out: date '\''6/30/24'\'' has a two-digit year (the century is ambiguous)" >expect &&
	q "select source_ref, reason from stg_reject where snapshot_id = 4 and source_ref = '\''rejects.csv:3'\''" >actual &&
	test_cmp expect actual
'

test_expect_success 'field counts, unknown role, empty id, NUL byte are rejected' '
	cat >expect <<-\EOF &&
	rejects.csv:4|4 fields where the header has 8
	rejects.csv:5|9 fields where the header has 8
	rejects.csv:6|unknown role '\''landlord'\'' (expected primary, roommate, occupant, guarantor or minor)
	rejects.csv:7|empty pms_person_id
	rejects.csv:10|field 3 holds a NUL byte
	EOF
	q "select source_ref, reason from stg_reject where snapshot_id = 4
	   and source_ref not in ('\''rejects.csv:2'\'', '\''rejects.csv:3'\'') order by rowid" >actual &&
	test_cmp expect actual &&
	echo "G160|G160|roommate|rejects.csv:171" >expect &&
	q "select pms_person_id, household_id, role, source_ref from stg_person
	   where snapshot_id = 4 and pms_person_id = '\''G160'\''" >actual &&
	test_cmp expect actual
'

test_expect_success 'a rejected row names its person when the row says who it is' '
	cat >expect <<-\EOF &&
	rejects.csv:2|oak|R1
	rejects.csv:3|oak|R2
	rejects.csv:4||
	rejects.csv:5||
	rejects.csv:6|oak|R5
	rejects.csv:7||
	rejects.csv:10||
	EOF
	q "select source_ref, property_id, pms_person_id from stg_reject where snapshot_id = 4
	   order by rowid" >actual &&
	test_cmp expect actual
'

test_expect_success 'household_id defaults to the person id' '
	echo "0" >expect &&
	q "select count(*) from stg_person where snapshot_id = 4 and household_id <> pms_person_id" >actual &&
	test_cmp expect actual
'

test_expect_success 'more than 5% rejected: the whole file is rejected, no snapshot' '
	DB=bad.db test_expect_code 65 us extract-csv --property oak too-many-rejects.csv >out 2>err &&
	grep -q "'\''too-many-rejects.csv'\'': 1 of 2 rows rejected, more than 5%: the whole file is rejected" err &&
	test_cmp /dev/null out &&
	echo "0|0|0" >expect &&
	DB=bad.db q "select (select count(*) from snapshot), (select count(*) from stg_person),
	   (select count(*) from stg_reject)" >actual &&
	test_cmp expect actual
'

test_expect_success '--max-reject-percent raises the threshold' '
	DB=bad.db test_expect_code 0 us extract-csv --property oak --max-reject-percent 50 too-many-rejects.csv >out 2>err &&
	grep -q ": 1 person staged, 1 unit, 0 rows skipped, 1 rejected, 0 transcoded$" out &&
	echo "too-many-rejects.csv:3|move_in: date '\''2024-02-30'\'' does not exist" >expect &&
	DB=bad.db q "select source_ref, reason from stg_reject" >actual &&
	test_cmp expect actual
'

test_expect_success 'a rejected file does not stop the others; exit 65' '
	DB=multi.db us init >/dev/null && DB=multi.db us property add oak >/dev/null &&
	DB=multi.db test_expect_code 65 us extract-csv --property oak unterminated.csv good.csv >out 2>err &&
	grep -q "^snapshot 1: '\''good.csv'\'' (generic, " out &&
	grep -q "unterminated.csv" err &&
	echo "good.csv" >expect &&
	DB=multi.db q "select source_name from snapshot" >actual &&
	test_cmp expect actual
'

test_expect_success 'header only: an empty snapshot of the property; empty file rejected' '
	head -n 1 good.csv >header-only.csv &&
	: >empty.csv &&
	test_expect_code 0 us extract-csv --property pine header-only.csv >out 2>err &&
	grep -q ": 0 people staged, 0 units, 0 rows skipped, 0 rejected, 0 transcoded$" out &&
	echo "pine|0" >expect &&
	q "select property_id, people from snapshot_property where property_id = '\''pine'\''" >actual &&
	test_cmp expect actual &&
	test_expect_code 65 us extract-csv --property pine empty.csv >out 2>err &&
	grep -q "'\''empty.csv'\'': empty file, no header line" err
'

test_expect_success 'a missing file: exit 65 naming it' '
	test_expect_code 65 us extract-csv --property oak no-such.csv >out 2>err &&
	grep -q "cannot open '\''no-such.csv'\''" err
'

test_expect_success 'unknown option: exit 2, usage on stderr' '
	test_expect_code 2 us extract-csv --frobnicate good.csv >out 2>err &&
	test_cmp /dev/null out &&
	grep -q "usage" err
'

test_expect_success 'unknown profile: exit 2 listing the known profiles' '
	test_expect_code 2 us extract-csv --profile yardi-voyager good.csv >out 2>err &&
	grep -q "unknown profile '\''yardi-voyager'\'' (known profiles: generic, appfolio-rent-roll, appfolio-tenant-tickler, yardi-rent-roll, auto)" err &&
	test_expect_code 0 us extract-csv --profile generic --property oak good.csv >out 2>err &&
	grep -q "^snapshot 1 reused" out
'

test_expect_success 'no FILE, bad --max-reject-percent, empty --property: exit 2' '
	test_expect_code 2 us extract-csv --property oak >out 2>err &&
	grep -q "no FILE given" err &&
	test_expect_code 2 us extract-csv --max-reject-percent 101 good.csv >out 2>err &&
	test_expect_code 2 us extract-csv --max-reject-percent x good.csv >out 2>err &&
	test_expect_code 2 us extract-csv --property "" good.csv >out 2>err
'

test_expect_success 'a no-break space (U+00A0) around an id or unit is trimmed as a space is' '
	printf "property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name\n" >nbsp.csv &&
	printf "elm,\302\240105\302\240,\302\240P900\342\200\257,H900,primary,current,Ada,Byron\302\240\n" >>nbsp.csv &&
	DB=nbsp.db us init >/dev/null && DB=nbsp.db us property add elm >/dev/null &&
	DB=nbsp.db test_expect_code 0 us extract-csv nbsp.csv >out 2>err &&
	echo "elm|105|P900|Byron" >expect &&
	DB=nbsp.db q "select property_id, pms_unit_id, pms_person_id, last_name from stg_person" >actual &&
	test_cmp expect actual
'

test_expect_success '--help prints the usage on stdout' '
	test_expect_code 0 us extract-csv --help >out 2>err &&
	grep -q "^usage: unitsync extract-csv \[--property P\] \[--profile NAME\] \[--encoding NAME\] \[--max-reject-percent N\] FILE\.\.\.$" out &&
	test_cmp /dev/null err
'
