#!/usr/bin/env bash
# t0100-property-map: property settings, the unit mapping (add, remove,
# list, import, export, history) and what `unitsync config` prints.
# TAP output; run with: prove tests/e2e/t0100-property-map.sh
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/t0100.XXXXXX")" && pwd -P)
trap 'rm -rf "$tmp"' EXIT

# the test's own settings only
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
# history: map_history without ids and times
history() {
	sqlite3 -separator '|' "$tmp/u.db" "SELECT property_id, pms_unit_id,
		coalesce(before_latch_unit_id, 'NULL'), coalesce(after_latch_unit_id, 'NULL'),
		changed_by FROM map_history ORDER BY id"
}

echo "1..37"

if [ ! -x "$top/bin/unitsync-property" ] || [ ! -x "$top/bin/unitsync-map" ] ||
	[ ! -x "$top/bin/unitsync-config" ]; then
	echo "Bail out! build first: make bin/unitsync bin/unitsync-init bin/unitsync-property" \
		"bin/unitsync-map bin/unitsync-config"
	exit 1
fi

t 'init creates the state database' '
	us init >/dev/null
'

# --- property -------------------------------------------------------------

t 'property add with settings' '
	us property add 0101 --latch-building 6f1c2a9e-1111-4a4a-9b9b-000000000001 \
		--timezone America/New_York --exclude-status "past, cancelled,past" \
		--grant-lead-days 3 --revoke-grace-days 2 >"$tmp/out" &&
	grep -q "0101" "$tmp/out"
'

t 'property show prints every setting' '
	cat >"$tmp/expect" <<-EOF &&
	property_id: 0101
	latch_building: 6f1c2a9e-1111-4a4a-9b9b-000000000001
	timezone: America/New_York
	unit_sync: on
	exclude_status: past,cancelled
	grant_lead_days: 3
	revoke_grace_days: 2
	guard_percent: 20
	guard_max: none
	stale_after_nights: 3
	max_export_age_hours: 48
	EOF
	us property show 0101 >"$tmp/show" &&
	head -n 11 "$tmp/show" >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual" &&
	grep -q "^created_at: 20..-..-..T..:..:..Z$" "$tmp/show"
'

t 'property add of an existing id exits 65' '
	exits 65 us property add 0101 &&
	grep -q "property '\''0101'\'' already exists" "$tmp/err"
'

t 'property set changes only the settings given' '
	us property set 0101 --unit-sync off --guard-max 40 --guard-percent 10 \
		--grant-lead-days none --exclude-status "" >/dev/null &&
	us property show 0101 >"$tmp/show" &&
	grep -qx "unit_sync: off" "$tmp/show" &&
	grep -qx "guard_max: 40" "$tmp/show" &&
	grep -qx "guard_percent: 10" "$tmp/show" &&
	grep -qx "grant_lead_days: none" "$tmp/show" &&
	grep -qx "exclude_status: none" "$tmp/show" &&
	grep -qx "revoke_grace_days: 2" "$tmp/show" &&
	grep -qx "timezone: America/New_York" "$tmp/show"
'

t 'the stale-export settings take positive whole numbers' '
	us property set 0101 --stale-after-nights 5 --max-export-age-hours 30 >/dev/null &&
	us property show 0101 >"$tmp/show" &&
	grep -qx "stale_after_nights: 5" "$tmp/show" &&
	grep -qx "max_export_age_hours: 30" "$tmp/show" &&
	for bad in 0 -1 nan 2x ""; do
		exits 2 us property set 0101 --stale-after-nights "$bad" || return 1
		exits 2 us property set 0101 --max-export-age-hours "$bad" || return 1
	done &&
	us property set 0101 --stale-after-nights 3 --max-export-age-hours 48 >/dev/null
'

t 'a bad time zone exits 2 naming it, and changes nothing' '
	exits 2 us property set 0101 --timezone Mars/Olympus_Mons &&
	grep -q "Mars/Olympus_Mons" "$tmp/err" &&
	us property show 0101 | grep -qx "timezone: America/New_York" &&
	exits 2 us property add 0102 --timezone "" &&
	exits 65 us property show 0102
'

t 'bad setting values are usage errors' '
	exits 2 us property set 0101 --guard-percent 101 &&
	exits 2 us property set 0101 --exclude-status Current &&
	grep -q "Current" "$tmp/err" &&
	exits 2 us property set 0101 --unit-sync maybe &&
	exits 2 us property set 0101 --revoke-grace-days -1 &&
	exits 2 us property set 0101
'

t 'property set and show of an unknown property exit 65' '
	exits 65 us property set nope --unit-sync on &&
	grep -q "unknown property '\''nope'\''" "$tmp/err" &&
	exits 65 us property show nope
'

t 'property list: header, tab-separated, sorted; 0101 and 101 are distinct' '
	us property add 101 >/dev/null &&
	us property add "B east" --timezone Europe/Paris >/dev/null &&
	printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" \
		property_id latch_building timezone unit_sync exclude_status \
		grant_lead_days revoke_grace_days guard_percent guard_max \
		stale_after_nights max_export_age_hours \
		0101 6f1c2a9e-1111-4a4a-9b9b-000000000001 America/New_York off none none 2 10 40 3 48 \
		101 none UTC on none none 0 20 none 3 48 \
		"B east" none Europe/Paris on none none 0 20 none 3 48 >"$tmp/expect" &&
	us property list >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual"
'

# --- map add / list / remove ----------------------------------------------

t 'map add: 0101 and 101 are different PMS units' '
	us map add --offline --property 0101 0101 L-0101 >/dev/null &&
	us map add --offline --property 0101 101 L-101 >/dev/null &&
	us map add --offline --property 101 0101 L-X >/dev/null
'

t 'map list prints the mapping sorted, identifiers exact' '
	cat >"$tmp/expect" <<-EOF &&
	property_id,pms_unit_id,latch_unit_id
	0101,0101,L-0101
	0101,101,L-101
	101,0101,L-X
	EOF
	us map list >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual" &&
	us map list --property 101 >"$tmp/actual" &&
	printf "property_id,pms_unit_id,latch_unit_id\n101,0101,L-X\n" >"$tmp/expect" &&
	test_cmp "$tmp/expect" "$tmp/actual"
'

t 'map add of a Latch unit mapped elsewhere exits 65 naming both' '
	exits 65 us map add --offline --property 101 102 L-0101 &&
	grep -q "L-0101" "$tmp/err" &&
	grep -q "PMS unit '\''0101'\'' of property '\''0101'\''" "$tmp/err" &&
	grep -q "PMS unit '\''102'\'' of property '\''101'\''" "$tmp/err"
'

t 'map add for an unknown property exits 65 with the fix' '
	exits 65 us map add --offline --property nope 1 L-1 &&
	grep -q "unknown property '\''nope'\'' (add it with '\''unitsync property add nope'\'')" "$tmp/err"
'

t 'map add changes a mapping; the same mapping again is no change' '
	us map add --offline --property 0101 101 L-101b >"$tmp/out" &&
	grep -q "changed from '\''L-101'\''" "$tmp/out" &&
	us map add --offline --property 0101 101 L-101b >"$tmp/out" &&
	grep -q unchanged "$tmp/out"
'

t 'map remove, and remove of an unmapped unit exits 65' '
	us map remove --by alice --property 101 0101 >/dev/null &&
	exits 65 us map remove --property 101 0101 &&
	exits 65 us map remove --property 0101 0102 &&
	us map list >"$tmp/actual" &&
	! grep -q "^101," "$tmp/actual"
'

t 'map_history records every change with who made it' '
	cat >"$tmp/expect" <<-EOF &&
	0101|0101|NULL|L-0101|$me
	0101|101|NULL|L-101|$me
	101|0101|NULL|L-X|$me
	0101|101|L-101|L-101b|$me
	101|0101|L-X|NULL|alice
	EOF
	history >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual" &&
	test "$(sqlite3 "$tmp/u.db" "SELECT count(*) FROM map_history
		WHERE changed_at GLOB '\''20[0-9][0-9]-*Z'\''")" = 5
'

# --- map import / export --------------------------------------------------

t 'map import of a good file (columns matched by name)' '
	cat >"$tmp/good.csv" <<-EOF &&
	latch_unit_id,property_id,pms_unit_id,note
	L-0101,0101,0101,same as before
	L-101c,0101,101,moved
	L-0102,0101,0102,new
	"L,quoted",101,0101,new
	L-0102,0101,0102,repeated as is
	EOF
	us map import --offline --by bob "$tmp/good.csv" >"$tmp/out" &&
	echo "2 added, 1 changed, 0 removed, 1 unchanged" >"$tmp/expect" &&
	test_cmp "$tmp/expect" "$tmp/out" &&
	cat >"$tmp/expect" <<-EOF &&
	property_id,pms_unit_id,latch_unit_id
	0101,0101,L-0101
	0101,0102,L-0102
	0101,101,L-101c
	101,0101,"L,quoted"
	EOF
	us map list >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual" &&
	test "$(history | grep -c "|bob$")" = 3
'

t 'map import with a collision is rejected whole, naming both lines' '
	us map list >"$tmp/before" &&
	history >"$tmp/hist-before" &&
	cat >"$tmp/clash.csv" <<-EOF &&
	property_id,pms_unit_id,latch_unit_id
	0101,0103,L-0103
	0101,0104,L-SHARED
	0101,0101,L-0101b
	101,0105,L-SHARED
	EOF
	exits 65 us map import --offline "$tmp/clash.csv" &&
	grep -q "clash.csv'\'' lines 3 and 5" "$tmp/err" &&
	grep -q "L-SHARED" "$tmp/err" &&
	grep -q "nothing imported" "$tmp/err" &&
	us map list >"$tmp/after" &&
	test_cmp "$tmp/before" "$tmp/after" &&
	history >"$tmp/hist-after" &&
	test_cmp "$tmp/hist-before" "$tmp/hist-after"
'

t 'map import rejects every kind of bad row, reporting each line' '
	us map list >"$tmp/before" &&
	cat >"$tmp/bad.csv" <<-EOF &&
	property_id,pms_unit_id,latch_unit_id
	0101,0110,L-0110
	0101,0111
	zz,1,L-zz
	0101,0112,L-101c-not
	0101,0112,L-other
	0101,0113,L-0102
	0101,0114,
	EOF
	exits 65 us map import --offline "$tmp/bad.csv" &&
	grep -q "line 3: missing latch_unit_id" "$tmp/err" &&
	grep -q "line 4: unknown property '\''zz'\''" "$tmp/err" &&
	grep -q "lines 5 and 6: PMS unit '\''0112'\''" "$tmp/err" &&
	grep -q "line 7: Latch unit '\''L-0102'\'' is already mapped from PMS unit" "$tmp/err" &&
	grep -q "line 8: empty latch_unit_id" "$tmp/err" &&
	us map list >"$tmp/after" &&
	test_cmp "$tmp/before" "$tmp/after"
'

t 'map import trims ids as extract does; rows that are one once trimmed are rejected naming both lines' '
	us map list >"$tmp/before" &&
	history >"$tmp/hist-before" &&
	printf "property_id,pms_unit_id,latch_unit_id\n0101,0130,L-0130\n0101,0131,L-0131\n0101,\" 0130\",L-0130\n" \
		>"$tmp/trim-clash.csv" &&
	exits 65 us map import --offline "$tmp/trim-clash.csv" &&
	grep -q "trim-clash.csv'\'' lines 2 and 4: PMS unit '\''0130'\'' of property '\''0101'\'' appears twice once trimmed.*line 4: property '\''0101'\'', unit '\'' 0130'\''" "$tmp/err" &&
	grep -q "nothing imported" "$tmp/err" &&
	printf "property_id,pms_unit_id,latch_unit_id\n0101,0130,L-0130\n\"0101\t\",0130,L-0131\n" \
		>"$tmp/trim-clash2.csv" &&
	exits 65 us map import --offline "$tmp/trim-clash2.csv" &&
	grep -qF "trim-clash2.csv'\'' lines 2 and 3: PMS unit '\''0130'\'' of property '\''0101'\'' appears twice once trimmed of white space, as extract trims ids (line 2: property '\''0101'\'', unit '\''0130'\''; line 3: property '\''0101\\x09'\''" "$tmp/err" &&
	us map list >"$tmp/after" &&
	test_cmp "$tmp/before" "$tmp/after" &&
	history >"$tmp/hist-after" &&
	test_cmp "$tmp/hist-before" "$tmp/hist-after" &&
	printf "property_id,pms_unit_id,latch_unit_id\n\" 0101\",\"0131 \",\"\tL-0131\r\n\"\n" \
		>"$tmp/trim.csv" &&
	us map import --offline "$tmp/trim.csv" >"$tmp/out" &&
	grep -qx "1 added, 0 changed, 0 removed, 0 unchanged" "$tmp/out" &&
	us map list --property " 0101 " >"$tmp/actual" &&
	grep -qx "0101,0131,L-0131" "$tmp/actual" &&
	us map add --offline --property 0101 " 0131" "L-0131 " >"$tmp/out" &&
	grep -q unchanged "$tmp/out" &&
	us map remove --property 0101 "0131 " >/dev/null &&
	us map list >"$tmp/after" &&
	test_cmp "$tmp/before" "$tmp/after"
'

t 'map import without the header columns is rejected' '
	printf "0101,0120,L-0120\n" >"$tmp/nohdr.csv" &&
	exits 65 us map import --offline "$tmp/nohdr.csv" &&
	grep -q "no property_id column" "$tmp/err" &&
	: >"$tmp/empty.csv" &&
	exits 65 us map import --offline "$tmp/empty.csv"
'

t 'map import swaps two Latch units in one go' '
	printf "property_id,pms_unit_id,latch_unit_id\n0101,0101,L-0102\n0101,0102,L-0101\n" \
		>"$tmp/swap.csv" &&
	us map import --offline "$tmp/swap.csv" >"$tmp/out" &&
	grep -qx "0 added, 2 changed, 0 removed, 0 unchanged" "$tmp/out" &&
	us map list --property 0101 >"$tmp/actual" &&
	grep -qx "0101,0101,L-0102" "$tmp/actual" &&
	grep -qx "0101,0102,L-0101" "$tmp/actual"
'

t 'map import --replace removes what the file leaves out, only in its properties' '
	printf "property_id,pms_unit_id,latch_unit_id\n0101,0101,L-0102\n" >"$tmp/only.csv" &&
	us map import --offline --replace "$tmp/only.csv" >"$tmp/out" &&
	grep -qx "0 added, 0 changed, 2 removed, 1 unchanged" "$tmp/out" &&
	cat >"$tmp/expect" <<-EOF &&
	property_id,pms_unit_id,latch_unit_id
	0101,0101,L-0102
	101,0101,"L,quoted"
	EOF
	us map list >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual" &&
	history | tail -n 2 | grep -q "|NULL|$me$"
'

t 'map import --replace frees a Latch unit for another PMS unit' '
	printf "property_id,pms_unit_id,latch_unit_id\n0101,0999,L-0102\n" >"$tmp/move.csv" &&
	exits 65 us map import --offline "$tmp/move.csv" &&
	us map import --offline --replace "$tmp/move.csv" >"$tmp/out" &&
	grep -qx "1 added, 0 changed, 1 removed, 0 unchanged" "$tmp/out"
'

t 'map export --out round trip equals list, mode 0640' '
	us map add --offline --property 0101 0101 L-0101 >/dev/null &&
	us map export --out "$tmp/export.csv" 2>/dev/null &&
	us map list >"$tmp/list.csv" &&
	test_cmp "$tmp/list.csv" "$tmp/export.csv" &&
	test "$(stat -c %a "$tmp/export.csv")" = 640 &&
	us map export >"$tmp/stdout.csv" &&
	test_cmp "$tmp/list.csv" "$tmp/stdout.csv" &&
	us map import --offline "$tmp/export.csv" >"$tmp/out" &&
	grep -qx "0 added, 0 changed, 0 removed, 3 unchanged" "$tmp/out" &&
	us map list >"$tmp/again.csv" &&
	test_cmp "$tmp/list.csv" "$tmp/again.csv"
'

t 'map list of an unknown property exits 65; bad usage exits 2' '
	exits 65 us map list --property nope &&
	exits 2 us map add --offline --property 0101 only-one &&
	exits 2 us map add --offline 0101 L-9 &&
	exits 2 us map list --replace &&
	exits 2 us map frobnicate
'

# --- config ---------------------------------------------------------------

mkdir -p "$tmp/etc/exports" "$tmp/elsewhere"
cat >"$tmp/etc/unitsync.ini" <<EOF
[latch]
base_url = http://127.0.0.1:9/
token_url = http://127.0.0.1:9/oauth/token
client_id = demo
client_secret_file = secret

[property "0101"]
format = xml
source = exports/0101.xml

[property "101"]
format = csv
profile = yardi-rent-roll
source = /srv/pms/101.csv
source = exports/101-extra.csv
EOF
echo 'hunter2-SECRET' >"$tmp/etc/secret" && chmod 600 "$tmp/etc/secret"

t 'config properties: one tab-separated line per source, paths absolute' '
	printf "%s\t%s\t%s\t%s\n" \
		0101 xml generic "$tmp/etc/exports/0101.xml" \
		101 csv yardi-rent-roll /srv/pms/101.csv \
		101 csv yardi-rent-roll "$tmp/etc/exports/101-extra.csv" >"$tmp/expect" &&
	us --config "$tmp/etc/unitsync.ini" config properties >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual" &&
	(cd "$tmp/etc" && "$top/bin/unitsync" --config unitsync.ini config properties) >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual" &&
	(cd "$tmp/elsewhere" && UNITSYNC_CONFIG=../etc/unitsync.ini \
		"$top/bin/unitsync" config properties) >"$tmp/actual" &&
	test_cmp "$tmp/expect" "$tmp/actual"
'

t 'config show prints the settings but never the secret' '
	us --config "$tmp/etc/unitsync.ini" config show >"$tmp/show" 2>&1 &&
	! grep -q hunter2 "$tmp/show" &&
	grep -qx "client_secret: set" "$tmp/show" &&
	grep -qx "base_url: http://127.0.0.1:9/" "$tmp/show" &&
	grep -qx "client_secret_file: $tmp/etc/secret" "$tmp/show" &&
	grep -qx "source: $tmp/etc/exports/0101.xml" "$tmp/show" &&
	UNITSYNC_CLIENT_SECRET=env-SECRET-value us --config "$tmp/etc/unitsync.ini" config show \
		>"$tmp/show" 2>&1 &&
	! grep -q env-SECRET-value "$tmp/show" &&
	grep -qx "client_secret: set" "$tmp/show"
'

t 'config show: environment overrides win, a missing secret is unset' '
	UNITSYNC_LATCH_URL=http://127.0.0.1:8/ us --config "$tmp/etc/unitsync.ini" config show \
		>"$tmp/show" 2>/dev/null &&
	grep -qx "base_url: http://127.0.0.1:8/" "$tmp/show" &&
	mv "$tmp/etc/secret" "$tmp/etc/secret.off" &&
	us --config "$tmp/etc/unitsync.ini" config show >"$tmp/show" 2>/dev/null;
	rc=$?; mv "$tmp/etc/secret.off" "$tmp/etc/secret" &&
	test $rc = 0 && grep -q "^client_secret: unset" "$tmp/show"
'

t 'config without a file exits 78' '
	exits 78 us config properties &&
	grep -q "no configuration file (use --config or UNITSYNC_CONFIG)" "$tmp/err"
'

t 'config with a parse error exits 78 naming file and line' '
	printf "[latch]\nbase_url = x\nclient_secret = leaked\n" >"$tmp/bad.ini" &&
	exits 78 us --config "$tmp/bad.ini" config show &&
	grep -q "bad.ini'\'' line 3" "$tmp/err" &&
	! grep -q leaked "$tmp/err" "$tmp/out" &&
	exits 78 us --config "$tmp/missing.ini" config show
'

t 'config: unknown command is a usage error' '
	exits 2 us --config "$tmp/etc/unitsync.ini" config frobnicate
'

# --- every program ------------------------------------------------------------

t '--help prints the synopsis to stdout and exits 0' '
	for c in property map config; do
		us "$c" --help >"$tmp/help" &&
		head -n 1 "$tmp/help" | grep -q "^usage: unitsync $c " || exit 1
	done
'

t 'a missing state database exits 78 naming the fix' '
	exits 78 "$top/bin/unitsync" --db "$tmp/none.db" property list &&
	grep -q "(run .unitsync --db $tmp/none.db init. first)" "$tmp/err" &&
	exits 78 "$top/bin/unitsync" --db "$tmp/none.db" map list
'

t 'a database at an older schema version is refused until init migrates it' '
	cp "$tmp/u.db" "$tmp/old.db" &&
	now=$("$top/bin/unitsync" --db "$tmp/u.db" init | sed -n "s/.*schema version \([0-9]*\).*/\1/p") &&
	test "$now" -ge 4 &&
	sqlite3 "$tmp/old.db" "DROP INDEX map_history_by_unit; DROP INDEX run_input_by_property;
		ALTER TABLE property DROP COLUMN stale_after_nights;
		ALTER TABLE property DROP COLUMN max_export_age_hours;
		ALTER TABLE snapshot DROP COLUMN file_mtime;
		ALTER TABLE snapshot DROP COLUMN fields;
		ALTER TABLE snapshot DROP COLUMN unknown_columns;
		DROP INDEX person_user_by_phone;
		ALTER TABLE person_user DROP COLUMN phone;
		ALTER TABLE person_user DROP COLUMN name_key;
		ALTER TABLE snapshot DROP COLUMN rows_sha256;
		ALTER TABLE snapshot DROP COLUMN rows_digest_version; ALTER TABLE snapshot DROP COLUMN pms_property;
		DROP INDEX stg_reject_of_person; DROP INDEX journal_open;
		DROP TABLE run_exception; DROP TABLE snapshot_legacy;
		ALTER TABLE run_input DROP COLUMN guard;
		ALTER TABLE run_input DROP COLUMN guard_why;
		DROP TABLE property_history; DROP TABLE assignment_history;
		DROP TABLE person_user_history; DROP TABLE snapshot_extraction;
		DROP TABLE run_inflight; DROP TABLE replay_start;
		ALTER TABLE run DROP COLUMN clock_at; ALTER TABLE run DROP COLUMN approved_last_run;
		DROP TABLE notification; DROP INDEX person_user_by_email;
		DROP INDEX delta_history_by_run_person; DROP INDEX assignment_by_user;
		CREATE INDEX delta_history_by_person ON delta_history (property_id, pms_person_id);
		DELETE FROM schema_version WHERE version >= 2" &&
	exits 78 "$top/bin/unitsync" --db "$tmp/old.db" map list &&
	grep -q "schema version 1, this unitsync needs $now (run .unitsync init. to migrate)" "$tmp/err" &&
	"$top/bin/unitsync" --db "$tmp/old.db" init >"$tmp/out" &&
	grep -qx "$tmp/old.db: schema version $now (migrated from 1)" "$tmp/out" &&
	"$top/bin/unitsync" --db "$tmp/old.db" init >"$tmp/out2" &&
	grep -qx "$tmp/old.db: schema version $now" "$tmp/out2" &&
	test "$(sqlite3 "$tmp/old.db" "SELECT count(*) FROM sqlite_master
		WHERE name IN ('"'"'map_history_by_unit'"'"', '"'"'run_input_by_property'"'"')")" = 2 &&
	test "$(sqlite3 "$tmp/old.db" "SELECT stale_after_nights || max_export_age_hours FROM property LIMIT 1")" = 348 &&
	test "$(sqlite3 "$tmp/old.db" "SELECT count(*) FROM sqlite_master
		WHERE name IN ('"'"'run_exception_by_run_person'"'"', '"'"'delta_history_by_run_person'"'"',
			'"'"'assignment_by_user'"'"')")" = 3 &&
	sqlite3 "$tmp/old.db" "SELECT name_key FROM person_user LIMIT 1" >/dev/null &&
	test "$(sqlite3 "$tmp/old.db" "SELECT count(*) FROM sqlite_master WHERE name LIKE '"'"'%_by_person'"'"'")" = 0 &&
	"$top/bin/unitsync" --db "$tmp/old.db" map list >/dev/null
'

t 'a full standard output is an error' '
	if [ -w /dev/full ]; then
		us map list >/dev/full 2>/dev/null
		test $? = 78
	fi
'
