#!/usr/bin/env bash
# t0860-invariants: randomized invariants of README.md "Rules", checked
# after every night.  200 seeded small portfolios (one property each,
# p000..p199, each its own seed, Latch building b-pNNN and units), 5 nights
# of random churn (move-in, move-out, three shapes of transfer, re-key,
# e-mail case change); each night is one extract-csv of one generic CSV
# holding every property, one transform (every property, tonight's snapshot
# only), one load into latch-sim.  The generator, the oracle (written from
# the Rules, not from the code) and the checker are tests/e2e/invariants.py.
#
# After each night's load, per property (users matched by e-mail, any case):
#   1. every judged human holds exactly their wanted Latch units (none when
#      no record of theirs is eligible: moved out, or gone from the export);
#   2. nobody holds a Latch unit of the property unless an eligible record
#      wants it, or the human is unjudged (a record in an unmapped unit) and
#      held it the night before;
#   3. a human eligible in the same mapped unit two nights running is never
#      unassigned from it (delta.csv) and holds it after the load;
# and transform and load exit 0 with no row in load-report.csv.
#
#   INVARIANT_SEED=N    run portfolio N alone (a failure prints this command)
#   INVARIANT_COUNT=M   run M portfolios (default 200; transform takes at most
#                       256 --property options)
#   INVARIANT_FIRST=F   starting from seed F (default 0): a longer hunt runs
#                       F=200, 400, ...
#   INVARIANT_NIGHTS=N  nights per portfolio (default 5)
#   INVARIANT_KEEP=DIR  copy the work directory (exports, runs, states) to DIR
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || test_skip_all "python3 is not installed"
command -v curl >/dev/null || test_skip_all "curl is not installed"

inv=$top/tests/e2e/invariants.py
nights=${INVARIANT_NIGHTS:-5}
export INVARIANT_NIGHTS=$nights

# SEED -> why it fails today: a defect in the product, not in the oracle.
# The seed's failures are still printed each night, as TODO tests; remove
# the entry once the code is fixed.
declare -A known=()

if [ -n "${INVARIANT_SEED:-}" ]; then
	seeds=("$INVARIANT_SEED")
else
	mapfile -t seeds < <(seq "${INVARIANT_FIRST:-0}" $((${INVARIANT_FIRST:-0} + ${INVARIANT_COUNT:-200} - 1)))
fi
known_list=
for s in "${!known[@]}"; do
	known_list+="$s ${known[$s]}"$'\n'
done
export INVARIANT_KNOWN=$known_list
rerun="cd $top && INVARIANT_SEED={seed} INVARIANT_KEEP=/tmp/t0860-{seed} bash tests/e2e/t0860-invariants.sh"

test_plan $((1 + 2 * nights))
w=$tmp/inv
mkdir -p "$w" && echo "${seeds[*]}" >"$w/seeds" &&
	python3 "$inv" gen "$w" "${seeds[@]}" || exit 1
sim_start "$w/seed.csv" || exit 1

test_expect_success "setup: ${#seeds[@]} properties, each --guard-percent 100, mapped" '
	unitsync init >init.log 2>&1 &&
	while read -r p b; do
		unitsync property add "$p" --latch-building "$b" --guard-percent 100 || return 1
	done <"$w/properties" &&
	unitsync map import --offline "$w/map.csv" >map.log 2>&1 || { cat map.log; return 1; }
'

# Night K: extract, transform, load; the run directory in $w/runK.
night() {
	local k=$1 args snap run p rc=0
	touch -d "$(cat "$w/asof$k") 12:00 UTC" "$w/night$k.csv" &&
		unitsync extract-csv "$w/night$k.csv" >"$w/extract$k.out" 2>&1 ||
		{ echo "extract-csv failed:"; cat "$w/extract$k.out"; return 1; }
	snap=$(sed -n 's/^snapshot \([0-9][0-9]*\)[: ].*/\1/p' "$w/extract$k.out")
	[ -n "$snap" ] || { echo "no snapshot id:"; cat "$w/extract$k.out"; return 1; }
	args=(--as-of "$(cat "$w/asof$k")" --out "$w/runs" --snapshots-only --snapshot "$snap")
	while read -r p _; do
		args+=(--property "$p")
	done <"$w/properties"
	unitsync transform "${args[@]}" >"$w/transform$k.out" 2>"$w/transform$k.err" || rc=$?
	[ $rc = 0 ] || { echo "transform exit $rc:"; tail -n 20 "$w/transform$k.err"; return 1; }
	run=$(run_dir "$w/transform$k.out")
	echo "$run" >"$w/run$k"
	unitsync load --concurrency 32 "$run" >"$w/load$k.out" 2>&1 || rc=$?
	[ $rc = 0 ] || { echo "load exit $rc:"; tail -n 20 "$w/load$k.out"; return 1; }
	[ "$(wc -l <"$run/load-report.csv")" = 1 ] ||
		{ echo "load-report.csv has rows:"; head -n 20 "$run/load-report.csv"; return 1; }
}

check() {
	local k=$1
	[ -f "$w/run$k" ] || { echo "night $k was not transformed: nothing to check"; return 1; }
	curl -sf "$SIM_URL/_sim/state" >"$w/state$k.json" &&
		python3 "$inv" check "$w" "$k" "$(cat "$w/run$k")" "$w/state$k.json" "$rerun"
}

# the checker's count of this night, and the known failures with their
# evidence, as TAP comments
summary() {
	[ -f "$w/summary$1" ] && sed 's/^/# /' "$w/summary$1"
	return 0
}

for k in $(seq 0 $((nights - 1))); do
	test_expect_success "night $k ($(cat "$w/asof$k")): extract, transform, load exit 0, no failed row" "
		night $k
	"
	test_expect_success "night $k: invariants 1-3 hold for every property" "
		check $k
	"
	summary "$k"
done
[ -n "${INVARIANT_KEEP:-}" ] && cp -r "$w" "$INVARIANT_KEEP"
[ "$failed" -eq 0 ]
