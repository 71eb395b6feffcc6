#!/usr/bin/env bash
# t0010-help-man: every bin/unitsync* program answers --help and --version,
# refuses an unknown option with exit 2 on stderr only, and has a man page
# docs/NAME.1 whose SYNOPSIS (the lines between .nf and .fi after .SH
# SYNOPSIS) is its --help output up to the first blank line (STYLE.md: "a
# program's --help is the synopsis of its man page").  The program list is
# read from bin/, so a new program is covered, and must have a page, at once.
# When groff is installed each page must also render without warnings.
# TAP output; run with: prove tests/e2e/t0010-help-man.sh
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/t0010.XXXXXX")" && pwd -P)
trap 'rm -rf "$tmp"' EXIT

# the programs must see none of the caller's settings
unset UNITSYNC_DB UNITSYNC_CONFIG UNITSYNC_LATCH_URL UNITSYNC_TOKEN_URL \
	UNITSYNC_CLIENT_ID UNITSYNC_CLIENT_SECRET UNITSYNC_CLIENT_SECRET_FILE \
	UNITSYNC_LOG_FORMAT
export UNITSYNC_DB="$tmp/never-created.db"
cd "$tmp" || exit 1

n=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
}
skip() { # skip DESCRIPTION REASON
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
# say FILE: show FILE as TAP comments
say() { sed 's/^/# /' "$1"; }

# run PROG ARGS...: exit status in $rc, output in $tmp/out and $tmp/err;
# stdin is empty and a hung program is stopped after 20 s
run() {
	if command -v timeout >/dev/null 2>&1; then
		timeout 20 "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	else
		"$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	fi
	rc=$?
}

# The synopsis lines of a man page: between the first .nf and its .fi after
# .SH SYNOPSIS, with the groff escapes a synopsis may need undone.
man_synopsis() {
	awk '
		/^\.SH[ \t]/ { sect = $0; sub(/^\.SH[ \t]+/, "", sect); gsub(/"/, "", sect)
			if (insyn && !nf) exit
			insyn = (sect == "SYNOPSIS"); next }
		insyn && /^\.nf([ \t]|$)/ { nf = 1; next }
		insyn && nf && /^\.fi([ \t]|$)/ { exit }
		insyn && nf { print }
	' "$1" | sed -e 's/\\-/-/g' -e 's/\\(rs/\\/g' -e 's/\\\[rs\]/\\/g' -e 's/\\(aq/'"'"'/g' \
		-e 's/\\(dq/"/g' -e 's/\\&//g' -e 's/\\e/\\/g'
}

# The usage lines of --help output: everything before the first blank line.
help_synopsis() {
	awk '/^[ \t]*$/ { exit } { print }' "$1"
}

progs=()
for f in "$top"/bin/unitsync*; do
	[ -f "$f" ] && [ -x "$f" ] && progs+=("$(basename "$f")")
done
if [ ${#progs[@]} -eq 0 ]; then
	echo "1..0 # SKIP no bin/unitsync* programs: build first with 'make all'"
	exit 0
fi

have_groff=0
command -v groff >/dev/null 2>&1 && have_groff=1

echo "1..$((6 * ${#progs[@]} + 3))"

for p in "${progs[@]}"; do
	bin=$top/bin/$p
	page=$top/docs/$p.1

	run "$bin" --help
	cp "$tmp/out" "$tmp/help"
	if [ $rc -eq 0 ] && [ -s "$tmp/out" ] && [ ! -s "$tmp/err" ]; then
		ok 0 "$p --help: exit 0, usage on stdout, nothing on stderr"
	else
		echo "# exit $rc; stdout $(wc -c <"$tmp/out") bytes; stderr:"
		say "$tmp/err"
		ok 1 "$p --help: exit 0, usage on stdout, nothing on stderr"
	fi

	run "$bin" --version
	if [ $rc -eq 0 ] && [ -s "$tmp/out" ]; then
		ok 0 "$p --version: exit 0 and a version on stdout"
	else
		echo "# exit $rc; stdout $(wc -c <"$tmp/out") bytes; stderr:"
		say "$tmp/err"
		ok 1 "$p --version: exit 0 and a version on stdout"
	fi

	run "$bin" --no-such-option-t0010
	if [ $rc -eq 2 ] && [ -s "$tmp/err" ] && [ ! -s "$tmp/out" ]; then
		ok 0 "$p --no-such-option: exit 2, message on stderr, nothing on stdout"
	else
		echo "# exit $rc (expected 2); stdout:"
		say "$tmp/out"
		echo "# stderr:"
		say "$tmp/err"
		ok 1 "$p --no-such-option: exit 2, message on stderr, nothing on stdout"
	fi

	if [ -f "$page" ]; then
		ok 0 "docs/$p.1 exists"
	else
		echo "# missing man page docs/$p.1 (see docs/unitsync.1 for the layout)"
		ok 1 "docs/$p.1 exists"
	fi

	if [ ! -f "$page" ]; then
		ok 1 "docs/$p.1 SYNOPSIS is the usage part of '$p --help'"
	else
		help_synopsis "$tmp/help" >"$tmp/expect"
		man_synopsis "$page" >"$tmp/actual"
		if [ -s "$tmp/expect" ] && diff -u "$tmp/expect" "$tmp/actual" >"$tmp/diff"; then
			ok 0 "docs/$p.1 SYNOPSIS is the usage part of '$p --help'"
		else
			echo "# --help lines before the first blank line (expect) vs the"
			echo "# .nf/.fi block of .SH SYNOPSIS in docs/$p.1 (actual):"
			say "$tmp/diff"
			ok 1 "docs/$p.1 SYNOPSIS is the usage part of '$p --help'"
		fi
	fi

	if [ $have_groff -eq 0 ]; then
		skip "docs/$p.1 renders without groff warnings" "groff not installed"
	elif [ ! -f "$page" ]; then
		ok 1 "docs/$p.1 renders without groff warnings"
	else
		groff -man -Tutf8 -ww -z "$page" >"$tmp/groff" 2>&1
		grc=$?
		if [ $grc -eq 0 ] && [ ! -s "$tmp/groff" ]; then
			ok 0 "docs/$p.1 renders without groff warnings"
		else
			echo "# groff -man -Tutf8 -ww -z exit $grc:"
			say "$tmp/groff"
			ok 1 "docs/$p.1 renders without groff warnings"
		fi
	fi
done

# the driver: an unknown command is a usage error
if [ -x "$top/bin/unitsync" ]; then
	run "$top/bin/unitsync" no-such-command
	if [ $rc -eq 2 ]; then
		ok 0 "unitsync no-such-command: exit 2"
	else
		say "$tmp/err"
		ok 1 "unitsync no-such-command: exit 2 (got $rc)"
	fi
	if [ -s "$tmp/err" ] && [ ! -s "$tmp/out" ]; then
		ok 0 "unitsync no-such-command: message on stderr, nothing on stdout"
	else
		ok 1 "unitsync no-such-command: message on stderr, nothing on stdout"
	fi
	if grep -qi 'usage' "$tmp/err"; then
		ok 0 "unitsync no-such-command: usage on stderr"
	else
		echo "# stderr holds no usage:"
		say "$tmp/err"
		ok 1 "unitsync no-such-command: usage on stderr"
	fi
else
	ok 1 "unitsync no-such-command: exit 2 (bin/unitsync missing)"
	ok 1 "unitsync no-such-command: message on stderr, nothing on stdout (bin/unitsync missing)"
	ok 1 "unitsync no-such-command: usage on stderr (bin/unitsync missing)"
fi
