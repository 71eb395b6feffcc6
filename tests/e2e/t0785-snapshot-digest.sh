#!/usr/bin/env bash
# t0785-snapshot-digest: a snapshot records a digest of its staged rows
# (migration 6); transform and rerun.sh verify it and refuse, exit 65
# naming the snapshot, one whose rows, counts or rejects were changed in
# the database behind unitsync's back, or whose digest was removed (issue
# 17).  A snapshot staged before digests existed (up to the id migration 8
# recorded) is used and said to be unverified.
. "$(dirname "$0")/lib.sh"
test_plan 10

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
q() { sqlite3 -batch "$UNITSYNC_DB" "$1"; }
(cd "$tmp" && unitsync init >/dev/null && unitsync property add a >/dev/null &&
	{ echo "$H" &&
	  echo "a,1,A1,H1,primary,current,Ann,Lee,s785-ann@example.com,,2024-01-01," &&
	  echo "a,2,A2,H2,primary,current,Bo,Ray,s785-bo@example.com,,2024-01-01," &&
	  echo "a,2,,H2,primary,current,No,Id,s785-noid@example.com,,2024-01-01,"; } >a.csv &&
	unitsync extract-csv --max-reject-percent 50 a.csv >x.out) || exit 1
snap=$(awk '{ sub(":", "", $2); print $2; exit }' "$tmp/x.out")
runs() { q "SELECT count(*) FROM run"; }

test_expect_success 'a staged snapshot records its rows digest, and show says they are as staged' '
	test "$(q "SELECT length(rows_sha256) FROM snapshot WHERE snapshot_id = '"$snap"'")" = 64 &&
	unitsync snapshots show '"$snap"' >show &&
	grep "^rows_sha256: [0-9a-f]\{64\} (the rows are as staged)" show &&
	unitsync transform --as-of 2026-06-01 --out runs >t.out &&
	test "$(runs)" = 1
'

# The digest as lib/rowsdigest.h defines it, computed apart from unitsync:
# each row framed as its values, each value its type byte, its length (8
# bytes, big-endian) and its text, each table in key order.  Version 1:
# SHA-256 over the snapshot, property, person, unit and reject rows;
# version 2: over ('digest', 2), the snapshot and property rows, ('persons',
# hex SHA-256 of the person rows), ('units', the same of the unit rows) and
# the reject rows.
cat >"$tmp/digest.py" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
snap, version = int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 2
tables = [
    "SELECT 'snapshot', property_id, source_kind, dialect, sha256, size_bytes, rows_staged,"
    " rows_skipped, rows_rejected, units_staged, fields, unknown_columns FROM snapshot"
    " WHERE snapshot_id = ?1",
    "SELECT 'property', property_id, people FROM snapshot_property WHERE snapshot_id = ?1"
    " ORDER BY property_id",
    "SELECT 'person', property_id, pms_person_id, row_seq, household_id, pms_unit_id, role,"
    " status, status_raw, first_name, last_name, email, phone, move_in, move_out,"
    " expected_move_out, lease_from, lease_to, source_ref FROM stg_person"
    " WHERE snapshot_id = ?1 ORDER BY property_id, pms_person_id, row_seq",
    "SELECT 'unit', property_id, pms_unit_id, label, dwelling FROM stg_unit"
    " WHERE snapshot_id = ?1 ORDER BY property_id, pms_unit_id",
    "SELECT 'reject', source_ref, reason, property_id, pms_person_id FROM stg_reject"
    " WHERE snapshot_id = ?1 ORDER BY source_ref, reason, property_id, pms_person_id",
]
def frame(row):
    out = b""
    for v in row:
        if v is None:
            out += b"n" + bytes(8)
            continue
        if not isinstance(v, (int, str)):
            sys.exit("a REAL or BLOB value: staging writes none")
        text = str(v).encode()
        out += (b"i" if isinstance(v, int) else b"t") + len(text).to_bytes(8, "big") + text
    return out
def rows(h, q):
    for row in db.execute(q, (snap,)):
        h.update(frame(row))
h = hashlib.sha256()
if version == 1:
    for q in tables:
        rows(h, q)
else:
    h.update(frame(("digest", 2)))
    rows(h, tables[0])
    rows(h, tables[1])
    for name, q in (("persons", tables[2]), ("units", tables[3])):
        part = hashlib.sha256()
        rows(part, q)
        h.update(frame((name, part.hexdigest())))
    rows(h, tables[4])
print(h.hexdigest())
PY

test_expect_success 'the recorded digest is the documented one (type, length, text of each value, in key order)' '
	want=$(python3 digest.py "$UNITSYNC_DB" '"$snap"') &&
	test "$(q "SELECT count(*) FROM stg_reject WHERE snapshot_id = '"$snap"'")" = 1 &&
	test "$(q "SELECT rows_sha256 FROM snapshot WHERE snapshot_id = '"$snap"'")" = "$want" &&
	unitsync snapshots show '"$snap"' >show &&
	grep "^rows_sha256: $want (the rows are as staged)" show
'

test_expect_success 'a person row edited in the database: transform and rerun.sh refuse it (65), no run' '
	q "UPDATE stg_person SET email = '\''s785-evil@example.com'\'' WHERE pms_person_id = '\''A2'\''" &&
	test_expect_code 65 unitsync transform --as-of 2026-06-02 --out runs 2>e1 &&
	grep "snapshot '"$snap"' was changed after it was staged" e1 &&
	test_expect_code 65 with_latch_settings "$TOP/pipelines/rerun.sh" --db "$UNITSYNC_DB" --property a \
		--snapshot '"$snap"' --as-of 2026-06-02 --out runs >r.out 2>r.err &&
	grep "snapshot '"$snap"' was changed after it was staged" r.err &&
	test "$(runs)" = 1 &&
	unitsync snapshots show '"$snap"' >show &&
	grep "^rows_sha256: CHANGED since staged" show
'

test_expect_success 'put back as staged, the snapshot is accepted again' '
	q "UPDATE stg_person SET email = '\''s785-bo@example.com'\'' WHERE pms_person_id = '\''A2'\''" &&
	unitsync transform --as-of 2026-06-02 --out runs >t2.out &&
	test "$(runs)" = 2
'

test_expect_success 'a row added, a reject deleted, a count or a unit changed, a text made a blob, the digest version changed: each refused' '
	for change in \
		"INSERT INTO stg_person (snapshot_id, property_id, pms_person_id, role, status, source_ref) VALUES ('"$snap"', '\''a'\'', '\''X9'\'', '\''primary'\'', '\''current'\'', '\''a.csv:9'\'')" \
		"DELETE FROM stg_reject" \
		"UPDATE snapshot SET rows_rejected = 0" \
		"UPDATE snapshot_property SET people = 7" \
		"UPDATE stg_unit SET dwelling = 0 WHERE pms_unit_id = '\''2'\''" \
		"UPDATE stg_person SET property_id = CAST(property_id AS BLOB) WHERE pms_person_id = '\''A2'\''" \
		"UPDATE stg_person SET pms_person_id = CAST(pms_person_id AS BLOB) WHERE pms_person_id = '\''A1'\''" \
		"UPDATE snapshot SET rows_digest_version = 3" \
		"UPDATE snapshot SET rows_digest_version = 1"; do
		cp "$UNITSYNC_DB" before.db &&
		q "$change" &&
		{ test_expect_code 65 unitsync transform --as-of 2026-06-03 --out runs 2>e ||
			{ echo "accepted after: $change" >&4; exit 1; }; } &&
		grep -q "was changed after it was staged" e &&
		cp before.db "$UNITSYNC_DB" || exit 1
	done &&
	test "$(runs)" = 2
'

test_expect_success 'the digest does not depend on when the file was extracted again' '
	unitsync extract-csv --max-reject-percent 50 a.csv >x2.out &&
	grep "reused" x2.out &&
	unitsync transform --as-of 2026-06-03 --out runs >t3.out &&
	test "$(runs)" = 3
'

test_expect_success 'a digest removed from a snapshot staged since digests began: refused' '
	q "UPDATE snapshot SET rows_sha256 = NULL" &&
	test_expect_code 65 unitsync transform --as-of 2026-06-04 --out runs 2>e &&
	grep "snapshot '"$snap"' has no rows digest although it was staged after" e
'

test_expect_success 'a snapshot staged before digests existed is used, said unverified' '
	q "UPDATE snapshot_legacy SET max_snapshot_id = '"$snap"'" &&
	unitsync transform --as-of 2026-06-04 --out runs >t4.out 2>t4.err &&
	grep "snapshot '"$snap"' was staged before row digests were recorded: used unverified" t4.err &&
	unitsync snapshots show '"$snap"' >show &&
	grep "^rows_sha256: (staged before row digests were recorded" show
'
# Version 2 hashes the person and unit rows as they are staged, put in key
# order in a window of 4096 rows; rows further out of order are read back
# at the commit.  Both ways record the documented digest: 4,200 people in
# key order, then the same in reverse.
for order in sorted reversed; do
	{ echo "$H" &&
	  seq -f "%05g" 1 4200 | if [ $order = sorted ]; then cat; else sort -r; fi |
		awk '{ print "b," ($1 % 300) ",B" $1 ",H" $1 ",primary,current,Bea,N" $1 ",,,2024-01-01," }'
	} >"$tmp/b-$order.csv" || exit 1
done
(cd "$tmp" && unitsync property add b >/dev/null) || exit 1

test_expect_success 'rows in key order, and rows too far out of it (read back): the documented digest' '
	for order in sorted reversed; do
		unitsync extract-csv b-$order.csv >xb.out &&
		id=$(awk "{ sub(\":\", \"\", \$2); print \$2; exit }" xb.out) &&
		grep "4200 people staged, 300 units" xb.out &&
		test "$(q "SELECT rows_digest_version FROM snapshot WHERE snapshot_id = $id")" = 2 &&
		test "$(q "SELECT rows_sha256 FROM snapshot WHERE snapshot_id = $id")" = \
			"$(python3 digest.py "$UNITSYNC_DB" $id)" || exit 1
	done
'

test_expect_success 'a snapshot digested as version 1 (staged before migration 18) still verifies' '
	v1=$(python3 digest.py "$UNITSYNC_DB" '"$snap"' 1) &&
	q "UPDATE snapshot_legacy SET max_snapshot_id = 0;
	   UPDATE snapshot SET rows_digest_version = NULL, rows_sha256 = '\''$v1'\''
	   WHERE snapshot_id = '"$snap"'" &&
	unitsync snapshots show '"$snap"' >show &&
	grep "^rows_sha256: $v1 (the rows are as staged)" show &&
	q "UPDATE snapshot SET rows_digest_version = 2 WHERE snapshot_id = '"$snap"'" &&
	unitsync snapshots show '"$snap"' >show &&
	grep "^rows_sha256: CHANGED since staged" show
'
[ $failed -eq 0 ]
