# lib.sh - shared by the end-to-end tests (sourced).  git-style helpers that
# print TAP: each step chained with &&, test_cmp expect actual.
#
#   test_plan N | test_skip_all REASON
#   test_expect_success DESCRIPTION 'BODY'     BODY runs in $tmp
#   test_expect_code CODE COMMAND...
#   test_cmp EXPECT ACTUAL
#   test_init_db [--db DB] PROPERTY...   unitsync init, then property add
#   samples=...  the public PMS samples (../shared/samples/pms) or empty
#   sample_properties=...  the PMS property codes the XML samples name
#   fixture_properties=...  the property ids the tests/data/xml fixtures name
#   with_latch_settings COMMAND...   COMMAND with placeholder Latch settings
#                        (an unreachable URL), for a step that must get past
#                        the settings check (rerun.sh) and stops before load
#
# Instrumented runs:
#   UNITSYNC_VALGRIND=1 (`make valgrind-check`): every unitsync program a
#     test runs by name (PATH) or through the driver (UNITSYNC_EXEC_WRAPPER,
#     a testing hook of cli/unitsync.c) runs under valgrind memcheck; each
#     process logs to $UNITSYNC_VALGRIND_LOGS (default $tmp/.valgrind) and a
#     test whose programs logged an error exits 1 with the logs as TAP
#     comments.  latch-sim and portfolio-gen are fixtures, run as they are.
#   UNITSYNC_SKIP_TESTS: as git's GIT_SKIP_TESTS, blank-separated globs
#     matched against "tNNNN.N" (test t0230's step 10: t0230.10); a
#     matching step prints "ok N # SKIP".  Under valgrind or a sanitizer (`make check
#     SANITIZE=...`) the steps that measure memory or time, or run valgrind
#     themselves, are skipped too (instrumented_skips below says why).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$top/bin:$PATH
TOP=$top
tmp=$(mktemp -d "${TMPDIR:-/tmp}/unitsync-test.XXXXXX")
export UNITSYNC_DB=$tmp/unitsync.db
unset UNITSYNC_CONFIG
samples=$(cd "$top/../shared/samples/pms" 2>/dev/null && pwd)
# extract stages a file's rows as the PMS property codes it names, and
# refuses a code that is no property of the state database (test_init_db)
sample_properties='prvista1 SomethingRandom1 SomethingRandom2 90681 106421 89488 93391 49990
p0117760 p0151017 14317 16976'
fixture_properties='birch cedar dogwood elm oak01'
. "$top/fixtures/latch-sim/sim.sh"
. "$top/fixtures/smtp/smtp.sh"
. "$top/fixtures/webhook/hook.sh"
n=0
failed=0
test_id=$(basename "$0" .sh)
test_id=${test_id%%-*}

test_plan() { echo "1..$1"; }
with_latch_settings() {
	UNITSYNC_LATCH_URL=http://127.0.0.1:9 UNITSYNC_TOKEN_URL=http://127.0.0.1:9/token \
		UNITSYNC_CLIENT_ID=placeholder UNITSYNC_CLIENT_SECRET=placeholder "$@"
}
test_skip_all() { echo "1..0 # SKIP $1"; exit 0; }

# What the programs run under: "valgrind", "sanitizer" or "".
instrumented=
if [ "${UNITSYNC_VALGRIND:-}" = 1 ]; then
	instrumented=valgrind
elif grep -qaE '__(asan|ubsan|msan|tsan)_' "$top/bin/unitsync-init" 2>/dev/null; then
	instrumented=sanitizer
fi

# Steps that mean nothing, or take too long, when the programs are
# instrumented.  Sanitizers: valgrind cannot run a sanitized binary, and
# ASan's shadow memory and quarantine make peak RSS grow with the work
# done.  Valgrind: the limits on peak RSS and time measure valgrind (the
# hostile files themselves run under valgrind in t0310); the tests that
# run valgrind themselves are covered by the wrapper.
instrumented_skips='t0210: valgrind:*
t0230: memory does not grow*
t0230: rows of wide fields*
t0254: *memory flat*
t0255: *
t0256: *'
# Steps whose verdict is a limit on time or memory that would measure the
# instrument, and that later steps build on (t0254.1 makes the database):
# they run, so their programs are still checked, and are not judged.
instrumented_unjudged=
if [ "$instrumented" = valgrind ]; then
	instrumented_unjudged='t0254: billion laughs*
t0254: the same behind 200 KiB*
t0254: quadratic blowup*'
fi

# Is step N (description $1) to be skipped?  Prints why, after "run:" for
# a step that runs unjudged.
test_skipped() {
	set -f
	for _p in ${UNITSYNC_SKIP_TESTS:-}; do
		# shellcheck disable=SC2254 # the pattern is a glob on purpose
		case "$test_id.$n" in $_p)
			set +f
			echo "in UNITSYNC_SKIP_TESTS"
			return 0
			;;
		esac
	done
	[ -n "$instrumented" ] || { set +f; return 1; }
	_old_ifs=$IFS
	IFS='
'
	for _p in $instrumented_skips; do
		# shellcheck disable=SC2254
		case "$test_id: $1" in $_p)
			IFS=$_old_ifs
			set +f
			echo "not meaningful under $instrumented"
			return 0
			;;
		esac
	done
	for _p in $instrumented_unjudged; do
		# shellcheck disable=SC2254
		case "$test_id: $1" in $_p)
			IFS=$_old_ifs
			set +f
			echo "run:limits not meaningful under $instrumented (run, not judged)"
			return 0
			;;
		esac
	done
	IFS=$_old_ifs
	set +f
	return 1
}

# valgrind hook: wrappers for every program in bin/, first in PATH
if [ "$instrumented" = valgrind ]; then
	command -v valgrind >/dev/null 2>&1 || test_skip_all "UNITSYNC_VALGRIND=1 but valgrind is not installed"
	vg_logs=${UNITSYNC_VALGRIND_LOGS:-$tmp/.valgrind}
	mkdir -p "$vg_logs" "$tmp/.valgrind-bin" || exit 1
	vg_cmd="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite"
	vg_cmd="$vg_cmd --errors-for-leak-kinds=definite --trace-children=no"
	# a program the driver execs keeps the driver's pid: it logs as
	# tNNNN.PID.log, the driver itself (PATH wrapper) as tNNNN.unitsync.PID.log
	export UNITSYNC_EXEC_WRAPPER="$vg_cmd --log-file=$vg_logs/$test_id.%p.log"
	for _p in "$top"/bin/unitsync*; do
		[ -x "$_p" ] || continue
		_w="$tmp/.valgrind-bin/${_p##*/}"
		printf '#!/bin/sh\nexec %s --log-file=%s "%s" "$@"\n' "$vg_cmd" \
			"$vg_logs/$test_id.${_p##*/}.%p.log" "$_p" >"$_w" && chmod +x "$_w" || exit 1
	done
	PATH=$tmp/.valgrind-bin:$PATH
fi

# At exit: valgrind's findings for this test's programs fail the test.
vg_report() {
	[ "$instrumented" = valgrind ] || return 0
	_bad=0
	for _l in "$vg_logs/$test_id".*; do
		[ -s "$_l" ] || continue
		_bad=1
		echo "# valgrind: ${_l##*/}:"
		sed 's/^/#   /' "$_l"
	done
	return $_bad
}
trap '_rc=$?; sim_stop; smtp_stop; hook_stop; vg_report || _rc=1; rm -rf "$tmp"; exit $_rc' EXIT

test_expect_success() {

	n=$((n + 1))
	_judge=1
	if _why=$(test_skipped "$1"); then
		case $_why in
		run:*) _judge= ;;
		*)
			echo "ok $n - $1 # SKIP $_why"
			return 0
			;;
		esac
	fi
	# the body is a function, so that "|| return 1" inside it works
	if (cd "$tmp" && eval "test_body() {
${TEST_TRACE:+set -x;} $2
}" && test_body) >"$tmp/.log" 2>&1 4>&1 || [ -z "$_judge" ]; then
		[ -n "$_judge" ] || { echo "ok $n - $1 # SKIP ${_why#run:}"; return 0; }
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/# /' "$tmp/.log"
		failed=$((failed + 1))
	fi
}

test_expect_code() {
	_want=$1
	shift
	"$@"
	_got=$?
	[ "$_got" = "$_want" ] || { echo "exit code $_got, expected $_want: $*" >&4; return 1; }
}

test_cmp() { diff -u "$1" "$2" >&4; }

# the run directory transform printed last
run_dir() { tail -n 1 "$1"; }

# extract-xml's summary of FILE after "snapshot ID: ", as it words the counts
# (a count of 1 is person, unit, row)
extract_summary() { # extract_summary FILE DIALECT PEOPLE UNITS SKIPPED REJECTED
	printf "'%s' (%s, sha256 %s): %s %s staged, %s unit%s, %s row%s skipped, %s rejected\n" \
		"$1" "$2" "$(sha256sum "$1" | cut -d" " -f1)" "$3" "$([ "$3" = 1 ] && echo person || echo people)" \
		"$4" "$([ "$4" = 1 ] || echo s)" "$5" "$([ "$5" = 1 ] || echo s)" "$6"
}

# night_setup "N..." [OPTION...]: the multi-night scenarios' state: property
# p1 (safety guard off: --guard-percent 100, and OPTIONs for 'property
# set'), each PMS unit UN mapped to Latch unit LN of building b1, and a
# latch-sim seeded with those units ($tmp/seed.csv)
night_setup() {
	_units=$1
	shift
	{ echo building_uuid,unit_uuid,name; for _u in $_units; do echo "b1,L$_u,$_u"; done; } \
		>"$tmp/seed.csv" &&
		test_init_db p1 && unitsync property set p1 --guard-percent 100 "$@" >/dev/null ||
		return 1
	for _u in $_units; do
		unitsync map add --offline --property p1 "U$_u" "L$_u" >/dev/null || return 1
	done
	sim_start "$tmp/seed.csv"
}

# night N AS_OF ROWS...: a night of a multi-night scenario: nN.csv, the
# generic CSV header and ROWS, staged, then transformed (with the options
# in $NIGHT_ARGS, e.g. "--property p2"); the run directory in $runN
NIGHT_HEADER=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
night() {
	_n=$1 _as_of=$2
	shift 2
	{ echo "$NIGHT_HEADER"; printf '%s\n' "$@"; } >n$_n.csv &&
		unitsync extract-csv n$_n.csv >/dev/null &&
		unitsync transform --as-of "$_as_of" --out runs ${NIGHT_ARGS:-} >t$_n.out &&
		eval "run$_n=\$(tail -n 1 t$_n.out)"
}

# A state database ($UNITSYNC_DB, or DB) made by `unitsync init`, with each
# PROPERTY added: extract refuses a property the database does not know.
test_init_db() {
	_db=$UNITSYNC_DB
	if [ "${1:-}" = --db ]; then
		_db=$2
		shift 2
	fi
	unitsync --db "$_db" init >/dev/null || return 1
	for _p; do
		unitsync --db "$_db" property add "$_p" >/dev/null || return 1
	done
}
