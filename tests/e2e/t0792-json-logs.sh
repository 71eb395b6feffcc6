#!/usr/bin/env bash
# t0790-json-logs: with --log-format json or UNITSYNC_LOG_FORMAT=json,
# every line a program writes to standard error is one JSON object
# {"time","level","prog","msg"}: usage errors (an unknown option, a
# missing value, a bad number, an unknown command) and runtime errors
# alike, in every program and in nightly.sh and rerun.sh (which read
# UNITSYNC_LOG_FORMAT); python3's json module parses them all (issue 17).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || test_skip_all "python3 is not installed"
test_plan 4

# all_json FILE...: every line of every FILE is a JSON log object, and there is one at least
all_json() {
	python3 - "$@" <<-'PY' >&4
	import json, sys
	seen = 0
	for name in sys.argv[1:]:
	    for n, line in enumerate(open(name, encoding="utf-8"), 1):
	        try:
	            o = json.loads(line)
	        except ValueError:
	            sys.exit(f"{name}:{n}: not JSON: {line!r}")
	        if not isinstance(o, dict) or set(o) != {"time", "level", "prog", "msg"}:
	            sys.exit(f"{name}:{n}: not a log object: {line!r}")
	        seen += 1
	if not seen:
	    sys.exit("no line at all")
	PY
}
programs="approve config explain extract-csv extract-xml init load map property report runs snapshots transform units verify"

test_expect_success 'usage errors of every program are JSON lines (--log-format json)' '
	i=0 &&
	for p in $programs; do
		for args in "--frobnicate" "--db" "-Z" "no-such-command x y z"; do
			i=$((i + 1)) &&
			{ "$TOP/bin/unitsync-$p" --log-format json $args >/dev/null 2>e$i
			  rc=$?; test $rc != 0 || { echo "unitsync-$p $args: exit 0" >&4; exit 1; }; } || exit 1
		done
	done &&
	all_json e*
'

test_expect_success 'the same through UNITSYNC_LOG_FORMAT, a bad number, and the driver unitsync' '
	rm -f e* && export UNITSYNC_LOG_FORMAT=json &&
	test_expect_code 2 unitsync load --rate nan runs 2>e1 &&
	test_expect_code 2 unitsync extract-csv --max-reject-percent inf a.csv 2>e2 &&
	test_expect_code 2 unitsync-transform --as-of yesterday 2>e3 &&
	test_expect_code 2 unitsync-map lisst 2>e4 &&
	grep -q "unknown command .lisst." e4 &&
	test_expect_code 2 unitsync lod 2>e5 &&
	grep -q "did you mean .load.?" e5 &&
	test_expect_code 2 unitsync --frobnicate 2>e6 &&
	test_expect_code 2 unitsync 2>e7 &&
	test_expect_code 2 unitsync --db 2>e8 &&
	test_expect_code 2 unitsync help map extra 2>e9 &&
	unset UNITSYNC_LOG_FORMAT &&
	test_expect_code 2 unitsync --log-format json lod 2>e10 &&
	all_json e*
'

test_expect_success 'runtime errors are JSON lines: no database, a bad export, a bad run directory' '
	rm -f e* && export UNITSYNC_LOG_FORMAT=json &&
	test_expect_code 78 unitsync-property list 2>e1 &&
	unitsync init >/dev/null 2>e2 && rm -f e2 &&
	unitsync property add p1 >/dev/null &&
	printf "property_id,pms_unit_id,pms_person_id\np1,1\n" >bad.csv &&
	{ unitsync extract-csv bad.csv >/dev/null 2>e3; test $? != 0; } &&
	{ unitsync load "$tmp/nowhere" 2>e4; test $? != 0; } &&
	all_json e*
'
test_expect_success 'nightly.sh and rerun.sh: every stderr line is JSON, theirs and their programs' '
	rm -f e* && export UNITSYNC_LOG_FORMAT=json &&
	H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out &&
	{ echo "$H" &&
	  echo "p1,1,A1,H1,primary,current,Ann,Lee,s792-a@example.com,,2024-01-01," &&
	  echo "p1,2,,H2,primary,current,Bo,Ray,s792-b@example.com,,2024-01-01,"; } >p1.csv &&
	{ printf "[property \"p1\"]\nsource = p1.csv\n" &&
	  printf "[property \"p2\"]\nformat = xlsx\nsource = p1.csv\n" &&
	  printf "[property \"p3\"]\nsource = ex\"port\\\\1.csv\n"; } >n.ini &&
	unitsync property add p3 >/dev/null &&
	nightly() { "$TOP/pipelines/nightly.sh" "$@" >/dev/null; } &&
	test_expect_code 2 nightly --frobnicate 2>e1 &&
	test_expect_code 78 nightly --config "$tmp/none.ini" 2>e2 &&
	test_expect_code 78 nightly --config n.ini --db "$tmp/typo.db" 2>e3 &&
	{ nightly --config n.ini --dry-run --as-of 2026-06-01 2>e4; test $? = 78; } &&
	grep -q "format: .xlsx. is not csv or xml" e4 &&
	grep -q "ex\\\\\"port\\\\\\\\1.csv.* is missing (exit" e4 &&
	test_expect_code 2 "$TOP/pipelines/rerun.sh" --property p1 2>e5 &&
	test_expect_code 65 with_latch_settings "$TOP/pipelines/rerun.sh" --property p1 --snapshot 999 --as-of 2026-06-01 \
		--out runs >/dev/null 2>e6 &&
	test_expect_code 78 env -u UNITSYNC_LATCH_URL "$TOP/pipelines/rerun.sh" --property p1 \
		--snapshot 999 --as-of 2026-06-01 --out runs >/dev/null 2>e7 &&
	grep -q "no Latch API URL" e7 && grep -q "cannot be used (exit 78)" e7 &&
	all_json e*
'
[ $failed -eq 0 ]
