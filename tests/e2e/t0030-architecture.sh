#!/usr/bin/env bash
# t0030-architecture: docs/ARCHITECTURE.md keeps up with the code it
# describes: its table of the state database lists exactly the tables the
# migrations of lib/db.c create, and for each one every source file that
# writes it (INSERT, UPDATE, DELETE); its module table names every lib/
# module; its program table names every program in bin/.
. "$(dirname "$0")/lib.sh"
test_plan 4

doc=$top/docs/ARCHITECTURE.md
src() { (cd "$top" && ls lib/*.c cli/*.c extract/*.c transform/*.c load/*.c); }

test_expect_success 'the state database table lists exactly the tables of lib/db.c' '
	{ sed -n "s/.*CREATE TABLE \(IF NOT EXISTS \)\{0,1\}\([a-z_]*\) (.*/\2/p" "$top/lib/db.c" | grep -v "_v[0-9]*$" &&
		echo schema_version; } | sort -u >tables.expect &&
	sed -n "/^## 5\./,/^## 6\./p" "$doc" | sed -n "s/^| \`\([a-z_]*\)\` |.*/\1/p" |
		sort -u >tables.actual &&
	test_cmp tables.expect tables.actual
'

# every file that writes table T, by statement kind (ins: INSERT and
# UPDATE; del: DELETE); snapshots export deletes in its copy of the
# database only, so cli/snapshots.c counts as a writer of snapshot alone;
# replay rewinds its private copy only, so cli/replay.c writes no table
writers() { # writers ins|del TABLE
	case $1 in
	ins) re="(INSERT( OR [A-Z]+)? INTO|UPDATE) +$2\b" ;;
	del) re="DELETE FROM +$2\b" ;;
	esac
	(cd "$top" && grep -lE "$re" $(src)) | grep -vx cli/replay.c |
		{ if [ "$1" = del ] && [ "$2" != snapshot ]; then grep -vx cli/snapshots.c; else cat; fi; }
}

test_expect_success 'each table names every file that writes it' '
	: >missing &&
	for t in $(cat tables.expect); do
		row=$(sed -n "/^## 5\./,/^## 6\./p" "$doc" | grep "^| \`$t\` |") &&
		for f in $(writers ins "$t") $(writers del "$t"); do
			case $row in
			*"$f"*) ;;
			*) echo "$t: written by $f, not named" >>missing ;;
			esac
		done || return 1
	done &&
	test_cmp /dev/null missing
'

test_expect_success 'the module table names every lib/ module' '
	: >missing &&
	for f in "$top"/lib/*.c; do
		m=$(basename "$f" .c) &&
		m=${m%%_*} &&
		{ sed -n "/^## 4\./,/^## 5\./p" "$doc" | grep -q "^| \`$m\`" ||
			echo "$m" >>missing; } || return 1
	done &&
	test_cmp /dev/null missing
'

test_expect_success 'the program table names every program in bin/' '
	: >missing &&
	for f in "$top"/bin/unitsync-*; do
		p=${f##*/unitsync-} &&
		{ sed -n "/^## 3\./,/^## 4\./p" "$doc" | grep -q "^| .*\`$p\`" ||
			echo "$p" >>missing; } || return 1
	done &&
	test_cmp /dev/null missing
'
