#!/usr/bin/env bash
# t0830-map-history: `unitsync map history` lists every mapping change
# (add, change, remove, import, each with --by) with who, when, before and
# after, oldest first, filtered by property and PMS unit; a unit never
# mapped prints only the header (issue 19, "why not").
# TAP output; run with: prove tests/e2e/t0830-map-history.sh
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/t0830.XXXXXX")" && pwd -P)
trap 'rm -rf "$tmp"' EXIT

unset UNITSYNC_DB UNITSYNC_CONFIG UNITSYNC_LATCH_URL UNITSYNC_TOKEN_URL \
	UNITSYNC_CLIENT_ID UNITSYNC_CLIENT_SECRET UNITSYNC_CLIENT_SECRET_FILE \
	UNITSYNC_LOG_FORMAT
# changed_by without --by: the OS account, whatever $USER says
export USER=tester
me=$(id -un)

us() { "$top/bin/unitsync" --db "$tmp/u.db" "$@"; }

n=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
}
# t DESCRIPTION COMMANDS: run COMMANDS (a string, steps chained with &&)
t() {
	(eval "$2") >"$tmp/t.log" 2>&1
	local rc=$?
	[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/t.log"
	ok $rc "$1"
}
# exits N COMMAND...: COMMAND exits with N; its stderr is left in $tmp/err
exits() {
	local want=$1 got
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] || {
		echo "exit $got, expected $want: $*"
		cat "$tmp/err"
		return 1
	}
}
test_cmp() { diff -u "$1" "$2"; }
# nowhen: history output without its changed_at column
nowhen() { cut -d, -f2-; }
header=changed_at,changed_by,property_id,pms_unit_id,before_latch_unit_id,after_latch_unit_id

echo "1..9"

if [ ! -x "$top/bin/unitsync-map" ]; then
	echo "Bail out! build first: make"
	exit 1
fi

t 'setup: two properties' '
	us init >/dev/null &&
	us property add oak >/dev/null &&
	us property add elm >/dev/null
'

t 'a database without changes: only the header' '
	us map history >"$tmp/out" &&
	echo "$header" >"$tmp/expect" &&
	test_cmp "$tmp/expect" "$tmp/out"
'

t 'add, change, remove and import, each with --by, are all listed in order' '
	us map add --offline --property oak --by alice 101 L-101 >/dev/null &&
	us map add --offline --property oak --by bob 101 L-101b >/dev/null &&
	us map add --offline --property elm --by alice 7 L-7 >/dev/null &&
	us map add --offline --property oak 102 L-102 >/dev/null &&
	us map remove --property oak --by carol 102 >/dev/null &&
	printf "property_id,pms_unit_id,latch_unit_id\noak,101,L-101c\noak,103,L-103\n" \
		>"$tmp/imp.csv" &&
	us map import --offline --by dave "$tmp/imp.csv" >/dev/null &&
	us map history >"$tmp/out" &&
	cat >"$tmp/expect" <<-EOF &&
	changed_by,property_id,pms_unit_id,before_latch_unit_id,after_latch_unit_id
	alice,oak,101,,L-101
	bob,oak,101,L-101,L-101b
	alice,elm,7,,L-7
	$me,oak,102,,L-102
	carol,oak,102,L-102,
	dave,oak,101,L-101b,L-101c
	dave,oak,103,,L-103
	EOF
	nowhen <"$tmp/out" >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual" &&
	test "$(head -n 1 "$tmp/out")" = "$header" &&
	test "$(tail -n +2 "$tmp/out" | cut -d, -f1 |
		grep -c "^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z\$")" = 7
'

t 'the history agrees with map_history, row for row' '
	sqlite3 -separator , "$tmp/u.db" "SELECT changed_at, changed_by, property_id,
		pms_unit_id, before_latch_unit_id, after_latch_unit_id
		FROM map_history ORDER BY changed_at, id" >"$tmp/expect" &&
	us map history | tail -n +2 >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual"
'

t '--property: that property only' '
	us map history --property elm | nowhen >"$tmp/actual" &&
	printf "%s\n" "changed_by,property_id,pms_unit_id,before_latch_unit_id,after_latch_unit_id" \
		"alice,elm,7,,L-7" >"$tmp/expect" &&
	test_cmp "$tmp/expect" "$tmp/actual"
'

t '--property and --unit: that unit only, trimmed as the other ids' '
	us map history --property oak --unit " 101 " | nowhen >"$tmp/actual" &&
	cat >"$tmp/expect" <<-EOF &&
	changed_by,property_id,pms_unit_id,before_latch_unit_id,after_latch_unit_id
	alice,oak,101,,L-101
	bob,oak,101,L-101,L-101b
	dave,oak,101,L-101b,L-101c
	EOF
	test_cmp "$tmp/expect" "$tmp/actual"
'

t 'a unit never mapped prints only the header, exit 0' '
	us map history --property oak --unit 999 >"$tmp/out" &&
	echo "$header" >"$tmp/expect" &&
	test_cmp "$tmp/expect" "$tmp/out" &&
	us map history --property elm --unit 101 >"$tmp/out" &&
	test_cmp "$tmp/expect" "$tmp/out"
'

t 'ordered by changed_at first, then by the order made' '
	sqlite3 "$tmp/u.db" "UPDATE map_history SET changed_at = '"'"'2000-01-01T00:00:00Z'"'"'
		WHERE pms_unit_id = '"'"'103'"'"'" &&
	us map history --property oak | sed -n 2p | nowhen >"$tmp/actual" &&
	echo "dave,oak,103,,L-103" >"$tmp/expect" &&
	test_cmp "$tmp/expect" "$tmp/actual"
'

t 'usage errors: --unit elsewhere, --by with history, unknown property' '
	exits 2 us map list --unit 101 &&
	grep -q "unit goes with history only" "$tmp/err" &&
	exits 2 us map history --by alice &&
	exits 2 us map history --unit "" &&
	exits 65 us map history --property nosuch &&
	grep -q "unknown property .nosuch." "$tmp/err"
'
