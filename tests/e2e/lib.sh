# lib.sh - shared by the end-to-end tests (sourced).  git-style helpers that
# print TAP: each step chained with &&, test_cmp expect actual.
#
#   test_plan N | test_skip_all REASON
#   test_expect_success DESCRIPTION 'BODY'     BODY runs in $tmp
#   test_expect_code CODE COMMAND...
#   test_cmp EXPECT ACTUAL
#   samples=...  the public PMS samples (../shared/samples/pms) or empty
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$top/bin:$PATH
TOP=$top
tmp=$(mktemp -d "${TMPDIR:-/tmp}/unitsync-test.XXXXXX")
export UNITSYNC_DB=$tmp/unitsync.db
unset UNITSYNC_CONFIG
samples=$(cd "$top/../shared/samples/pms" 2>/dev/null && pwd)
. "$top/fixtures/latch-sim/sim.sh"
trap 'sim_stop; rm -rf "$tmp"' EXIT
n=0
failed=0

test_plan() { echo "1..$1"; }
test_skip_all() { echo "1..0 # SKIP $1"; exit 0; }

test_expect_success() {

	n=$((n + 1))
	# the body is a function, so that "|| return 1" inside it works
	if (cd "$tmp" && eval "test_body() {
${TEST_TRACE:+set -x;} $2
}" && test_body) >"$tmp/.log" 2>&1 4>&1; then
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
