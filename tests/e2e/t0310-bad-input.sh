#!/usr/bin/env bash
# t0310-bad-input: every malformed file under tests/data/bad is rejected
# with its documented exit code and a message naming file and line, and
# leaves nothing staged; bad command lines exit 2 with usage on stderr.
. "$(dirname "$0")/lib.sh"
bad=$top/tests/data/bad
set -- "$bad"/*.expect
test_plan $(($# + 4))

test_init_db p1 || exit 1
for expect in "$@"; do
	file=${expect%.expect}
	name=$(basename "$file")
	case $file in *.xml) prog=extract-xml ;; *) prog=extract-csv ;; esac
	test_expect_success "$name: rejected with $(sed -n 1p "$expect") and nothing staged" '
		code=$(sed -n 1p "$expect") && want=$(sed -n 2p "$expect") &&
		test_expect_code "$code" unitsync $prog --property p1 "$file" >out 2>err &&
		grep -F -- "$want" err &&
		test "$(sqlite3 "$UNITSYNC_DB" "SELECT (SELECT count(*) FROM snapshot) +
			(SELECT count(*) FROM stg_person) + (SELECT count(*) FROM stg_unit) +
			(SELECT count(*) FROM stg_reject)")" = 0
	'
done

test_expect_success 'an unknown command exits 2 with usage on stderr' '
	test_expect_code 2 unitsync no-such-command >out 2>err &&
	test ! -s out && grep -i "usage" err
'

test_expect_success 'an unknown option exits 2 with usage on stderr' '
	test_expect_code 2 unitsync transform --no-such-option >out 2>err &&
	test ! -s out && grep "usage" err
'

test_expect_success 'an unknown global option exits 2' '
	test_expect_code 2 unitsync --frobnicate init >out 2>err &&
	test ! -s out && grep "usage" err
'

test_expect_success 'a missing state database exits 78 naming the fix' '
	test_expect_code 78 unitsync --db nowhere.db transform 2>err &&
	grep "no state database at .nowhere.db. (run .unitsync --db nowhere.db init. first)" err
'
[ $failed -eq 0 ]
