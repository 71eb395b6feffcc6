#!/usr/bin/env bash
# t0872-metrics: nightly.sh --metrics-file writes the night's outcome as a
# Prometheus text file after every night, whatever its end; a real
# Prometheus text parser (Debian's python3-prometheus-client) reads it and
# its values are those of the run (issue 20, unitsync-metrics(1)).
. "$(dirname "$0")/lib.sh"
test_plan 9

# Debian's interpreter: the parser is a Debian package (tests/deps.sh)
py=/usr/bin/python3
H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
export_of() { # export_of N: residents 1..N of property p1, one per unit, and one in unmapped unit 99
	echo $H
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "p1,%d,R%d,H%d,primary,current,F%d,L%d,r%d@example.com,,2024-01-01,\n", i, i, i, i, i, i
		print "p1,99,R99,H99,primary,current,F,L,r99@example.com,,2024-01-01," }'
}
# samples FILE: each sample of FILE as the parser read it, one a line:
# NAME{label=value,...} VALUE (labels sorted), sorted
samples() {
	"$py" - "$1" <<-\EOP
	import sys
	from prometheus_client.parser import text_string_to_metric_families
	out = []
	for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
	    assert fam.type == "gauge", fam
	    for s in fam.samples:
	        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
	        out.append("%s{%s} %s" % (s.name, labels, repr(s.value)))
	print("\n".join(sorted(out)))
	EOP
}
# counts RUN_DIR FILE COLUMNS...: "property,col...,count" of a CSV of the run
counts() {
	"$py" - "$@" <<-\EOP
	import csv, collections, sys
	run, name, cols = sys.argv[1], sys.argv[2], sys.argv[3:]
	c = collections.Counter()
	for row in csv.DictReader(open(run + "/" + name)):
	    c[tuple(row[k] for k in cols)] += 1
	for k in sorted(c):
	    print(",".join(k) + "," + str(c[k]))
	EOP
}

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in $(seq 21); do echo "b1,L$u,Unit $u"; done
} >seed.csv && test_init_db p1 &&
	for u in $(seq 20); do unitsync map add --offline --property p1 "$u" "L$u" >/dev/null || exit 1; done &&
	export_of 20 >full.csv && export_of 4 >cut.csv &&
	{ export_of 20 && echo; } >full2.csv &&
	printf "[property \"p1\"]\nsource = tonight.csv\n" >nightly.ini) || exit 1
sim_start "$tmp/seed.csv" || exit 1
nightly() {
	cp "$1" tonight.csv && shift &&
		"$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs --as-of 2026-06-01 "$@"
}

test_expect_success 'a night that loads writes metrics a Prometheus parser reads, with the run'"'"'s figures' '
	nightly full.csv --metrics-file m1.prom >n1.out &&
	run=$(sed -n "s/^run directory: //p" n1.out) && echo "$run" >run1 &&
	samples m1.prom >s1 &&
	grep -x "unitsync_last_run_exit_code{} 0.0" s1 &&
	grep -x "unitsync_run_info{as_of=2026-06-01,run_id=$(basename "$run"),status=loaded} 1.0" s1 &&
	grep -x "unitsync_guard_held{property=p1} 0.0" s1 &&
	counts "$run" delta.csv property_id op reason |
		awk -F, "{ printf \"unitsync_delta_rows{op=%s,property=%s,reason=%s} %s.0\n\", \$2, \$1, \$3, \$4 }" >expect.delta &&
	test -s expect.delta && grep "^unitsync_delta_rows" s1 >actual.delta && test_cmp expect.delta actual.delta &&
	counts "$run" exceptions.csv property_id kind |
		awk -F, "{ printf \"unitsync_exceptions{kind=%s,property=%s} %s.0\n\", \$2, \$1, \$3 }" >expect.exc &&
	grep -q "kind=unmapped_unit" expect.exc &&
	grep "^unitsync_exceptions" s1 >actual.exc && test_cmp expect.exc actual.exc &&
	rows=$(($(wc -l <"$run/delta.csv") - 1)) &&
	grep -x "unitsync_load_rows{outcome=done,property=p1} $rows.0" s1 &&
	test "$(grep -c "^unitsync_load_rows" s1)" = 1
'

test_expect_success 'last success is when that run'"'"'s load ended; every stage has its wall time' '
	loaded=$(unitsync runs show "$(basename "$(cat run1)")" | sed -n "s/^loaded_at: //p") &&
	test -n "$loaded" &&
	grep -x "unitsync_last_success_timestamp_seconds{} $(date -u -d "$loaded" +%s).0" s1 &&
	for st in resume extract transform load notify; do
		grep -E "^unitsync_stage_duration_seconds\{stage=$st\} [0-9.]+$" s1 || return 1
	done &&
	now=$(date +%s) && ts=$(sed -n "s/^unitsync_last_run_timestamp_seconds{} \([0-9]*\)\.0$/\1/p" s1) &&
	test $((now - ts)) -ge 0 && test $((now - ts)) -lt 600
'

test_expect_success 'a held night: exit code 4, the property held, its rows unsent, last success unchanged' '
	test_expect_code 4 nightly cut.csv --metrics-file m2.prom >n2.out 2>n2.err &&
	run=$(sed -n "s/^run directory: //p" n2.out) &&
	samples m2.prom >s2 &&
	grep -x "unitsync_last_run_exit_code{} 4.0" s2 &&
	grep -x "unitsync_guard_held{property=p1} 1.0" s2 &&
	grep -x "unitsync_run_info{as_of=2026-06-01,run_id=$(basename "$run"),status=held} 1.0" s2 &&
	rows=$(($(wc -l <"$run/delta.csv") - 1)) && test "$rows" -gt 0 &&
	grep -x "unitsync_load_rows{outcome=unsent,property=p1} $rows.0" s2 &&
	grep "^unitsync_last_success_timestamp_seconds" s1 >before &&
	grep "^unitsync_last_success_timestamp_seconds" s2 >after && test_cmp before after
'

test_expect_success 'approved and loaded by hand: metrics for that run say so' '
	run=$(sed -n "s/^run directory: //p" n2.out) &&
	unitsync approve --by ops "$run" >/dev/null && unitsync load "$run" >/dev/null &&
	unitsync metrics --out m3.prom --run "$run" --exit-code 0 &&
	samples m3.prom >s3 &&
	grep -x "unitsync_guard_held{property=p1} 0.0" s3 &&
	grep -x "unitsync_run_info{as_of=2026-06-01,run_id=$(basename "$run"),status=loaded} 1.0" s3 &&
	! grep -q "^unitsync_stage_duration_seconds" s3
'

test_expect_success 'a night whose export is refused (65): its run says no export, last success unchanged' '
	unitsync metrics --out m10.prom && samples m10.prom | grep "^unitsync_last_success" >before &&
	test -s before && printf "property_id,pms_unit_id\np1,1\n" >bad.csv &&
	sleep 1 && # loaded_at is to the second: a night that moved it would show
	test_expect_code 65 nightly bad.csv --metrics-file m11.prom >n11.out 2>n11.err &&
	run=$(sed -n "s/^run directory: //p" n11.out) && test -n "$run" &&
	samples m11.prom >s11 &&
	grep -x "unitsync_run_info{as_of=2026-06-01,run_id=$(basename "$run"),status=no export} 1.0" s11 &&
	grep "^unitsync_last_success" s11 >after && test_cmp before after
'

test_expect_success 'a night that fails before any run still writes its exit code, and no run families' '
	test_expect_code 78 "$TOP/pipelines/nightly.sh" --config nightly.ini --db missing.db --metrics-file m4.prom 2>n4.err &&
	samples m4.prom >s4 &&
	grep -x "unitsync_last_run_exit_code{} 78.0" s4 &&
	! grep -q "^unitsync_run_info\|^unitsync_delta_rows\|^unitsync_last_success" s4
'

test_expect_success 'a metrics file that cannot be written is warned of and changes nothing of the night' '
	# full2.csv: the full export in new bytes (full.csv again, after the
	# approved cut, would be an older export: held, t0771)
	nightly full2.csv --metrics-file nodir/m.prom >n5.out 2>n5.err &&
	grep "metrics file .nodir/m.prom. was not written" n5.err && test ! -e nodir
'

test_expect_success 'a preview writes no metrics; a bad --stage or --exit-code is a usage error' '
	nightly full2.csv --dry-run --metrics-file m6.prom >n6.out 2>n6.err && test ! -e m6.prom &&
	test_expect_code 2 unitsync metrics --out m7.prom --stage "Bad Name=1" 2>e1 && grep "NAME=SECONDS" e1 &&
	test_expect_code 2 unitsync metrics --out m7.prom --stage x=nan 2>e2 &&
	test_expect_code 2 unitsync metrics --out m7.prom --exit-code 256 2>e3 &&
	test_expect_code 2 unitsync metrics 2>e4 && grep "out PATH is required" e4 &&
	test_expect_code 65 unitsync metrics --out m7.prom --run no-such-run 2>e5 && grep "no run .no-such-run." e5 &&
	test ! -e m7.prom
'

test_expect_success 'a night that found its database corrupt (74): the file says so, the database unread; a stage given twice is refused' '
	printf "not a database, only bytes\n%.0s" $(seq 200) >corrupt.db &&
	unitsync --db corrupt.db metrics --out m8.prom --exit-code 74 2>e8 &&
	samples m8.prom >s8 && grep -x "unitsync_last_run_exit_code{} 74.0" s8 &&
	test_expect_code 2 unitsync metrics --out m9.prom --stage x=1 --stage x=2 2>e9 &&
	grep "stage x given twice" e9 && test ! -e m9.prom
'

[ $failed -eq 0 ]
