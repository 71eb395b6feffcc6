#!/bin/sh
# run.sh SECONDS TARGET... - `make fuzz`: run each libFuzzer target of
# tests/fuzz/ for SECONDS (FUZZ_JOBS targets at a time, default 1).
#
# Corpora live in build/fuzz/corpus/TARGET/ and grow from run to run; they
# are never committed.  Each run first adds the seeds: tests/fuzz/seeds/
# TARGET/, the CSV or XML files of tests/data/, and the public samples of
# ../shared/samples/pms (copied into the corpus at run time, never kept in
# the tree).  A crash, leak, timeout or sanitizer report leaves its input
# in build/fuzz/crashes/TARGET/ and fails the run (exit 1): fix it, keep
# the input in tests/fuzz/regress/TARGET/ (each run replays those first)
# and, where it fits, as a file under tests/data/bad/ or a unit test.  A
# summary line per target gives the corpus size.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
cd "$top" || exit 2
samples=$top/../shared/samples/pms
jobs=${FUZZ_JOBS:-1}

# seed TARGET: copy the seed files into the target's corpus
seed() {
	c=build/fuzz/corpus/$1
	mkdir -p "$c" build/fuzz/crashes/"$1" || return 1
	[ -d tests/fuzz/seeds/"$1" ] && cp tests/fuzz/seeds/"$1"/* "$c"/ 2>/dev/null
	case $1 in
	extract_csv) ext=csv ;;
	extract_xml) ext=xml ;;
	*) ext= ;;
	esac
	if [ -n "$ext" ]; then
		for f in tests/data/"$ext"/*."$ext" tests/data/bad/*."$ext"; do
			[ -f "$f" ] && cp "$f" "$c/data-$(basename "$f")"
		done
		if [ -d "$samples" ]; then
			find "$samples" -name "*.$ext" -type f | while IFS= read -r f; do
				cp "$f" "$c/sample-$(basename "$(dirname "$f")")-$(basename "$f")"
			done
		fi
	fi
	return 0
}

# one TARGET: run it, then print its summary line
one() {
	t=$1
	case $t in
	extract_xml) max_len=150000 ;;
	extract_csv) max_len=65536 ;;
	*) max_len=16384 ;;
	esac
	dict=
	[ -f tests/fuzz/"$t".dict ] && dict=-dict=tests/fuzz/"$t".dict
	log=build/fuzz/$t.log
	# the inputs that once crashed it, first
	if [ -d tests/fuzz/regress/"$t" ] && [ -n "$(ls tests/fuzz/regress/"$t")" ]; then
		if ! build/fuzz/fuzz_"$t" tests/fuzz/regress/"$t"/* >"$log" 2>&1; then
			echo "fuzz $t: a regression input of tests/fuzz/regress/$t fails (log: $log)"
			return 1
		fi
	fi
	# shellcheck disable=SC2086 # $dict is empty or one word
	build/fuzz/fuzz_"$t" -max_total_time="$seconds" -max_len="$max_len" -timeout=20 \
		-rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 $dict \
		-artifact_prefix=build/fuzz/crashes/"$t"/ build/fuzz/corpus/"$t" >"$log" 2>&1
	rc=$?
	crashes=$(find build/fuzz/crashes/"$t" -type f | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	echo "fuzz $t: ${seconds}s, ${execs:-?} runs, coverage ${cov:-?}," \
		"corpus $(find build/fuzz/corpus/"$t" -type f | wc -l) files" \
		"($(du -sk build/fuzz/corpus/"$t" | cut -f1) KiB), $crashes crash file(s), exit $rc" \
		"(log: $log)"
	[ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]
}

# internal: run.sh --one TARGET SECONDS (one of FUZZ_JOBS parallel runs)
if [ "${1:-}" = --one ]; then
	seconds=$3
	one "$2"
	exit $?
fi
[ $# -ge 2 ] || { echo "usage: run.sh SECONDS TARGET..." >&2; exit 2; }
seconds=$1
shift
for t in "$@"; do
	[ -x build/fuzz/fuzz_"$t" ] || { echo "run.sh: build/fuzz/fuzz_$t is not built" >&2; exit 2; }
	seed "$t" || exit 2
done
if [ "$jobs" -le 1 ]; then
	status=0
	for t in "$@"; do
		one "$t" || status=1
	done
	exit $status
fi
# FUZZ_JOBS at a time; xargs exits non-zero when any run failed
printf '%s\n' "$@" | xargs -P "$jobs" -I{} sh "$0" --one {} "$seconds"
