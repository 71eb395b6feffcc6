#!/usr/bin/env bash
# t0850-scenarios: the rules of README "Rules" as a table of small hand-written
# scenarios, each run end to end: extract, transform, compare the run's
# delta.csv and exceptions.csv byte for byte with the ones written by hand
# from the rules, then load the night into the Latch simulator so that the
# next night diffs against it.
#
# A scenario is a directory tests/scenarios/NNN-short-name/ holding:
#   about           one line: what the scenario shows (the TAP description)
#   setup           shell run once before night 1, in the scenario's own
#                   directory with `unitsync` on PATH and UNITSYNC_DB set
#                   (unitsync init has run): property add, map add, ...
#   setupK          shell run before night K (K >= 2): map remove, property set, ...
#   nightK.csv      night K's export (generic CSV profile); several files of
#                   one night are nightK.a.csv, nightK.b.csv, ... extracted in
#                   that order (the last one is the newest); nightK.xml is
#                   extracted with extract-xml --property "$(cat xml-property)"
#   asofK | nowK    the as-of date (--as-of), or the UTC instant standing in
#                   for the clock (UNITSYNC_NOW), of night K
#   extract-args    extra extract-csv options (e.g. --max-reject-percent 100)
#   expectK.delta, expectK.exceptions
#                   the exact files; {uid:EMAIL-OR-PHONE} stands for the
#                   userUuid the simulator gave that user (random per run)
#   exitK           optional: "extract N", "transform N" and/or "load N"
#                   lines, the exit codes night K's extract (of its last
#                   file), transform and load are expected to end with
#                   (default 0; load 4: held by the safety guard); a
#                   file refused by extract leaves the night with no
#                   snapshot, as nightly.sh judges it on nothing (and,
#                   as nightly.sh, tells transform --export-refused for
#                   the properties tonight's snapshots do not cover)
#   latchK          optional: who holds the scenario's Latch units once
#                   night K is loaded (the last night is loaded too when
#                   it has one), a line "LATCH_UNIT EMAIL-OR-PHONE" per
#                   resident, sorted
#   defect          for a known failure (below): its cause and the fix
# Nights are numbered from 1 while nightK.* exists.  Each night is one TAP
# test; transform is run as nightly.sh runs it: every configured property,
# tonight's snapshots only.  One simulator serves the whole suite, seeded
# with every Latch unit the setups map; e-mails (and phones) carry the
# scenario's number, so users never collide between scenarios.
#
# A scenario whose expectation is right but whose output is not, because of
# a defect in the code, is listed in `known` below: it runs as a TODO test
# until the code is fixed (then prove reports it as "unexpectedly succeeded":
# remove it from the list).
. "$(dirname "$0")/lib.sh"

sdir=$top/tests/scenarios

# SCENARIO/NIGHT -> why it fails today (a TODO directive); the scenario's
# directory holds a file `defect`: the cause in the code and the fix
declare -A known=()

command -v sqlite3 >/dev/null || test_skip_all "sqlite3 is not installed"
command -v python3 >/dev/null || test_skip_all "python3 is not installed"
command -v curl >/dev/null || test_skip_all "curl is not installed"

scenarios=()
for s in "$sdir"/[0-9]*/; do
	[ -d "$s" ] && s=${s%/} && scenarios+=("${s##*/}")
done
[ ${#scenarios[@]} -gt 0 ] || test_skip_all "no scenarios in $sdir"

# The exports of night K in DIR, in extract order.
night_files() {
	local f
	for f in "$1/night$2".csv "$1/night$2".*.csv "$1/night$2".xml "$1/night$2".*.xml; do
		[ -f "$f" ] && printf '%s\n' "${f##*/}"
	done | LC_ALL=C sort
}

# How many nights scenario S has.
nights_of() {
	local k=0
	while [ -n "$(night_files "$sdir/$1" $((k + 1)))" ]; do
		k=$((k + 1))
	done
	echo $k
}

# The Latch units the setup fragments of scenario S map: each fragment is
# sourced with `unitsync` standing for a stub that prints map add's last
# argument on fd 3.
latch_units_of() {
	(
		unitsync() {
			[ "$1" = map ] && [ "${2:-}" = add ] && printf '%s\n' "${@: -1}" >&3
			return 0
		}
		cd "$sdir/$1" || exit 1
		for f in setup setup[0-9]*; do
			[ -f "$f" ] && . "./$f"
		done
	) 3>&1 >/dev/null 2>&1
}

# Expected file F with every {uid:KEY} replaced by the userUuid of the
# simulator's user whose e-mail (any case) or phone is KEY.
resolve() {
	if ! grep -q '{uid:' "$1"; then
		cat "$1"
		return
	fi
	curl -sf "$SIM_URL/_sim/state" >.sim-state.json || return 1
	python3 - "$1" <<-'EOF'
	import json, re, sys
	users = json.load(open(".sim-state.json"))["users"]
	def uid(m):
	    key = m.group(1)
	    found = [u["userUuid"] for u in users
	             if (u.get("email") or "").lower() == key.lower() or u.get("phone") == key]
	    return found[0] if len(found) == 1 else "{uid:%s: %d users}" % (key, len(found))
	sys.stdout.write(re.sub(r"\{uid:([^}]*)\}", uid, open(sys.argv[1]).read()))
	EOF
}

# Night K of scenario S (LAST nights in all), in its work directory.
run_night() {
	local s=$1 k=$2 last=$3 w=$tmp/$1 f run rc=0 got want want_x want_t want_l
	local -a args files snaps xargs_csv=()

	export UNITSYNC_DB=$w/unitsync.db
	if [ "$k" = 1 ]; then
		mkdir -p "$w" && cp -r "$sdir/$s/." "$w/" || return 1
	fi
	cd "$w" || return 1
	if [ "$k" = 1 ]; then
		unitsync init >init.log 2>&1 || { cat init.log; return 1; }
		[ -f setup ] || { echo "no setup in $s"; return 1; }
		bash -e ./setup >setup.log 2>&1 || { echo "setup failed:"; cat setup.log; return 1; }
	elif [ -f "setup$k" ]; then
		bash -e "./setup$k" >"setup$k.log" 2>&1 ||
			{ echo "setup$k failed:"; cat "setup$k.log"; return 1; }
	fi
	[ -f extract-args ] && read -r -a xargs_csv <extract-args
	want_x=$(sed -n 's/^extract //p' "exit$k" 2>/dev/null)
	want_t=$(sed -n 's/^transform //p' "exit$k" 2>/dev/null)
	want_l=$(sed -n 's/^load //p' "exit$k" 2>/dev/null)
	: >"extract$k.out"
	mapfile -t files < <(night_files . "$k")
	refused=0
	for f in "${files[@]}"; do
		got=0
		case $f in
		*.xml) unitsync extract-xml --property "$(cat xml-property)" "$f" ;;
		*) unitsync extract-csv "${xargs_csv[@]}" "$f" ;;
		esac >>"extract$k.out" 2>"extract$k.err" || got=$?
		[ "$f" = "${files[-1]}" ] && [ -n "$want_x" ] && want=$want_x || want=0
		[ "$got" = "$want" ] ||
			{ echo "extract of $f exited $got, expected $want:"; cat "extract$k.err"; return 1; }
		[ "$got" = 65 ] && refused=1
	done
	mapfile -t snaps < <(sed -n 's/^snapshot \([0-9][0-9]*\)[: ].*/\1/p' "extract$k.out")

	# as nightly.sh: every configured property, tonight's snapshots only
	args=(--out runs --snapshots-only)
	while IFS= read -r p; do
		args+=(--property "$p")
	done < <(sqlite3 "$UNITSYNC_DB" "SELECT property_id FROM property ORDER BY property_id")
	for f in "${snaps[@]}"; do
		args+=(--snapshot "$f")
	done
	# as nightly.sh: a file refused tonight, the properties no snapshot
	# of tonight covers had their export refused
	if [ "$refused" = 1 ]; then
		while IFS= read -r p; do
			args+=(--export-refused "$p")
		done < <(sqlite3 "$UNITSYNC_DB" "SELECT property_id FROM property WHERE property_id NOT IN
			(SELECT property_id FROM snapshot_property WHERE snapshot_id IN (0${snaps[*]/#/,}))")
	fi
	got=0
	if [ -f "asof$k" ]; then
		unitsync transform --as-of "$(cat "asof$k")" "${args[@]}" >"transform$k.out" 2>"transform$k.err"
	elif [ -f "now$k" ]; then
		UNITSYNC_NOW=$(cat "now$k") unitsync transform "${args[@]}" >"transform$k.out" 2>"transform$k.err"
	else
		echo "night $k has neither asof$k nor now$k"
		return 1
	fi || got=$?
	[ "$got" = "${want_t:-0}" ] ||
		{ echo "transform exited $got, expected ${want_t:-0}:"; cat "transform$k.err"; return 1; }
	run=$(run_dir "transform$k.out")
	echo "$run" >"run$k"

	resolve "expect$k.delta" >"expect$k.delta.resolved" &&
		resolve "expect$k.exceptions" >"expect$k.exceptions.resolved" || return 1
	echo "--- delta.csv of night $k (expected, actual)" >&4
	test_cmp "expect$k.delta.resolved" "$run/delta.csv" || rc=1
	echo "--- exceptions.csv of night $k (expected, actual)" >&4
	test_cmp "expect$k.exceptions.resolved" "$run/exceptions.csv" || rc=1

	# apply the night, so that the next one diffs against it
	if [ "$k" -lt "$last" ] || [ -f "latch$k" ]; then
		got=0
		unitsync load "$run" >"load$k.out" 2>&1 || got=$?
		[ "$got" = "${want_l:-0}" ] || {
			echo "load of night $k exited $got, expected ${want_l:-0}:"
			cat "load$k.out"
			rc=1
		}
	fi
	if [ -f "latch$k" ]; then
		echo "--- Latch after night $k (expected, actual)" >&4
		latch_state "b-${s%%-*}" >"latch$k.actual" || return 1
		test_cmp "latch$k" "latch$k.actual" || rc=1
	fi
	return $rc
}

# The residents of building B's units in the simulator: "UNIT EMAIL-OR-PHONE"
# lines, sorted.
latch_state() {
	curl -sf "$SIM_URL/_sim/state" >.sim-state.json || return 1
	python3 - "$1" <<-'EOF'
	import json, sys
	st = json.load(open(".sim-state.json"))
	units = {u["uuid"] for u in st["units"] if u["building"] == sys.argv[1]}
	users = {u["userUuid"]: (u.get("email") or u.get("phone") or "?").lower() for u in st["users"]}
	for line in sorted("%s %s" % (r["unit"], users.get(r["userUuid"], "?"))
	                   for r in st["residents"] if r["unit"] in units):
	    print(line)
	EOF
}

# One TAP test: DESCRIPTION, TODO reason (or ""), then the command.
# Returns 2 when the test was skipped (lib.sh's UNITSYNC_SKIP_TESTS, or
# instrumented runs, where lib.sh has them), or SKIP_REST is set.
tap() {
	local desc=$1 todo=$2 ok _why
	shift 2
	n=$((n + 1))
	if [ -n "${skip_rest:-}" ]; then
		echo "ok $n - $desc # SKIP $skip_rest"
		return 2
	fi
	if declare -F test_skipped >/dev/null && _why=$(test_skipped "$desc"); then
		echo "ok $n - $desc # SKIP $_why"
		return 2
	fi
	if ("$@") >"$tmp/.log" 2>&1 4>&1; then
		ok="ok"
	else
		ok="not ok"
	fi
	echo "$ok $n - $desc${todo:+ # TODO $todo}"
	if [ "$ok" != ok ]; then
		sed 's/^/# /' "$tmp/.log"
		[ -n "$todo" ] || failed=$((failed + 1))
	fi
	return 0
}

# the plan, and one simulator seeded with every Latch unit the scenarios map
total=0
{
	echo building_uuid,unit_uuid,name
	for s in "${scenarios[@]}"; do
		total=$((total + $(nights_of "$s")))
		latch_units_of "$s" | while IFS= read -r u; do
			echo "b-${s%%-*},$u,$u"
		done
	done
} >"$tmp/seed.csv"
test_plan $total
sim_start "$tmp/seed.csv" || exit 1

for s in "${scenarios[@]}"; do
	last=$(nights_of "$s")
	about=$(head -n 1 "$sdir/$s/about" 2>/dev/null | tr -d '#')
	skip_rest=
	for k in $(seq 1 "$last"); do
		tap "$s night $k${about:+: $about}" "${known[$s/$k]:-}" run_night "$s" "$k" "$last"
		[ $? = 2 ] && [ -z "$skip_rest" ] && skip_rest="night $k of the scenario was skipped"
	done
done
[ "$failed" -eq 0 ]
