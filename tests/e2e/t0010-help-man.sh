#!/usr/bin/env bash
# t0010-help-man: every bin/unitsync* program answers --help (and -h, the
# same) and --version, refuses an unknown option with exit 2 on stderr
# only, and has a man page
# docs/NAME.1 whose SYNOPSIS (the lines between .nf and .fi after .SH
# SYNOPSIS) is its --help output up to the first blank line (STYLE.md: "a
# program's --help is the synopsis of its man page").  The program list is
# read from bin/, so a new program is covered, and must have a page, at once.
# When groff is installed each page must also render without warnings.
# The other programs (bin/latch-sim, bin/portfolio-gen, pipelines/nightly.sh,
# pipelines/rerun.sh) answer -h as --help.  The driver: 'unitsync help' is
# its --help, 'unitsync help X' is X's --help, its command list names every
# bin/unitsync-X with each verb of X's synopsis (and nothing else), as does
# docs/unitsync.1, and a mistyped command, or a mistyped verb of a command,
# is exit 2 with "did you mean".
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

# The synopsis lines of a man page: those of every .nf/.fi block of .SH
# SYNOPSIS, with the groff escapes a synopsis may need undone.
man_synopsis() {
	awk '
		/^\.SH[ \t]/ { sect = $0; sub(/^\.SH[ \t]+/, "", sect); gsub(/"/, "", sect)
			if (insyn) exit
			insyn = (sect == "SYNOPSIS"); next }
		insyn && /^\.nf([ \t]|$)/ { nf = 1; next }
		insyn && nf && /^\.fi([ \t]|$)/ { nf = 0; next }
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

	run "$bin" -h
	if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/out" "$tmp/help"; then
		ok 0 "$p -h: exit 0, the --help text on stdout"
	else
		echo "# exit $rc; stdout $(wc -c <"$tmp/out") bytes; stderr:"
		say "$tmp/err"
		ok 1 "$p -h: exit 0, the --help text on stdout"
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

# the programs that are not bin/unitsync*: -h is --help
for bin in "$top/bin/latch-sim" "$top/bin/portfolio-gen" "$top/pipelines/nightly.sh" \
	"$top/pipelines/rerun.sh"; do
	p=${bin#"$top"/}
	if [ ! -x "$bin" ]; then
		ok 1 "$p exists and is executable"
		continue
	fi
	run "$bin" --help
	cp "$tmp/out" "$tmp/help"
	if [ $rc -eq 0 ] && [ -s "$tmp/out" ] && [ ! -s "$tmp/err" ]; then
		ok 0 "$p --help: exit 0, usage on stdout, nothing on stderr"
	else
		echo "# exit $rc; stderr:"
		say "$tmp/err"
		ok 1 "$p --help: exit 0, usage on stdout, nothing on stderr"
	fi
	run "$bin" -h
	if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/out" "$tmp/help"; then
		ok 0 "$p -h: exit 0, the --help text on stdout"
	else
		echo "# exit $rc; stderr:"
		say "$tmp/err"
		ok 1 "$p -h: exit 0, the --help text on stdout"
	fi
	run "$bin" --version
	if [ $rc -eq 0 ] && [ -s "$tmp/out" ]; then
		ok 0 "$p --version: exit 0 and a version on stdout"
	else
		say "$tmp/err"
		ok 1 "$p --version: exit 0 and a version on stdout"
	fi
done
# the scripts' usage lines are synopses of unitsync-nightly(1)
man_synopsis "$top/docs/unitsync-nightly.1" >"$tmp/actual"
for s in nightly rerun; do
	run "$top/pipelines/$s.sh" --help
	help_synopsis "$tmp/out" >"$tmp/expect"
	if [ -s "$tmp/expect" ] && grep -qFxf "$tmp/expect" "$tmp/actual" &&
		[ "$(grep -cFxf "$tmp/expect" "$tmp/actual")" -eq "$(wc -l <"$tmp/expect")" ]; then
		ok 0 "docs/unitsync-nightly.1 SYNOPSIS holds the usage part of '$s.sh --help'"
	else
		echo "# usage lines of $s.sh --help:"
		say "$tmp/expect"
		echo "# SYNOPSIS of docs/unitsync-nightly.1:"
		say "$tmp/actual"
		ok 1 "docs/unitsync-nightly.1 SYNOPSIS holds the usage part of '$s.sh --help'"
	fi
done
if [ -x "$top/bin/latch-sim" ]; then
	run "$top/bin/latch-sim" --help
	help_synopsis "$tmp/out" >"$tmp/expect"
	man_synopsis "$top/docs/latch-sim.1" >"$tmp/actual"
	if [ -s "$tmp/expect" ] && diff -u "$tmp/expect" "$tmp/actual" >"$tmp/diff"; then
		ok 0 "docs/latch-sim.1 SYNOPSIS is the usage part of 'latch-sim --help'"
	else
		say "$tmp/diff"
		ok 1 "docs/latch-sim.1 SYNOPSIS is the usage part of 'latch-sim --help'"
	fi
fi

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

us=$top/bin/unitsync
if [ -x "$us" ]; then
	# 'unitsync help' is 'unitsync --help'
	run "$us" --help
	cp "$tmp/out" "$tmp/us-help"
	run "$us" help
	if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && [ -s "$tmp/out" ] && cmp -s "$tmp/out" "$tmp/us-help"; then
		ok 0 "unitsync help: exit 0, the --help text on stdout"
	else
		echo "# exit $rc; stderr:"
		say "$tmp/err"
		ok 1 "unitsync help: exit 0, the --help text on stdout"
	fi

	# the command list of --help: "  NAME ARGS" lines after "commands:"
	awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
		on && /^  [^ ]/ { print $1 "\t" $2 }' "$tmp/us-help" >"$tmp/listed"
	# the command list of docs/unitsync.1: the .B/.BI tags after "The commands"
	awk '/^The commands of this version are:/ { on = 1; next } on && /^\.(PP|SS|SH)/ { exit }
		on && prev ~ /^\.TP/ && /^\.BI? / { print } { prev = $0 }' "$top/docs/unitsync.1" |
		sed -e 's/^\.BI* //' -e 's/\\-/-/g' -e 's/\\(ba/|/g' -e 's/"//g' |
		awk '{ print $1 "\t" $2 }' >"$tmp/man-listed"

	for f in "$top"/bin/unitsync-*; do
		[ -x "$f" ] || continue
		cmd=${f##*/unitsync-}
		run "$us" help "$cmd"
		"$f" --help >"$tmp/expect" 2>/dev/null
		if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && [ -s "$tmp/out" ] && cmp -s "$tmp/out" "$tmp/expect"; then
			ok 0 "unitsync help $cmd: exit 0, unitsync-$cmd --help on stdout"
		else
			echo "# exit $rc; stderr:"
			say "$tmp/err"
			ok 1 "unitsync help $cmd: exit 0, unitsync-$cmd --help on stdout"
		fi
		# the verbs of its synopsis: "unitsync CMD VERB" with VERB a lower-case word
		verbs=$(awk -v c="$cmd" '/^[ \t]*$/ { exit }
			{ for (i = 1; i < NF; i++) if ($i == "unitsync" && $(i + 1) == c) {
				if ($(i + 2) ~ /^[a-z][a-z-]*$/) print $(i + 2); break } }' "$tmp/expect" | sort -u)
		for list in listed man-listed; do
			[ $list = listed ] && what="unitsync --help" || what="docs/unitsync.1"
			args=$(awk -F '\t' -v c="$cmd" '$1 == c { print $2; found = 1 } END { exit !found }' \
				"$tmp/$list") || {
				echo "# $what lists no command '$cmd'"
				ok 1 "$what lists '$cmd' with its verbs"
				continue
			}
			missing=
			for v in $verbs; do
				case "|$args|" in
				*"|$v|"*) ;;
				*) missing="$missing $v" ;;
				esac
			done
			extra=
			if [ -n "$verbs" ]; then
				for v in $(printf '%s\n' "$args" | tr '|' ' '); do
					printf '%s\n' "$verbs" | grep -qFx -- "$v" || extra="$extra $v"
				done
			fi
			if [ -z "$missing" ] && [ -z "$extra" ]; then
				ok 0 "$what lists '$cmd' with its verbs"
			else
				echo "# $what: '$cmd $args'; synopsis verbs: $(echo $verbs);" \
					"missing:${missing:- none}; not in the synopsis:${extra:- none}"
				ok 1 "$what lists '$cmd' with its verbs"
			fi
		done
		# each verb mistyped (its last letter dropped): exit 2, did you mean it
		bad=
		for v in $verbs; do
			run "$us" "$cmd" "${v%?}"
			if [ $rc -ne 2 ] || [ -s "$tmp/out" ] ||
				! grep -qF "unknown command '${v%?}'" "$tmp/err" ||
				! grep -qF "did you mean '$v'?" "$tmp/err"; then
				bad="$bad ${v%?}"
				echo "# unitsync $cmd ${v%?}: exit $rc; stderr:"
				say "$tmp/err"
			fi
		done
		if [ -n "$verbs" ]; then
			if [ -z "$bad" ]; then
				ok 0 "unitsync $cmd with each verb mistyped: exit 2, did you mean the verb"
			else
				ok 1 "unitsync $cmd with each verb mistyped: exit 2, did you mean the verb"
			fi
		fi
	done
	# nothing listed lacks a program ('help' is the driver's own)
	for list in listed man-listed; do
		[ $list = listed ] && what="unitsync --help" || what="docs/unitsync.1"
		stray=
		while IFS=$'\t' read -r cmd _; do
			[ "$cmd" = help ] || [ -x "$top/bin/unitsync-$cmd" ] || stray="$stray $cmd"
		done <"$tmp/$list"
		if [ -s "$tmp/$list" ] && [ -z "$stray" ]; then
			ok 0 "$what lists only commands that have a program"
		else
			echo "# listed without bin/unitsync-NAME:${stray:- (the list is empty)}"
			ok 1 "$what lists only commands that have a program"
		fi
	done

	# a mistyped command: exit 2, "did you mean", nothing on stdout
	for words in "lod:load" "snapshot:snapshots" "exract-csv:extract-csv" "help lod:load" \
		"help rnus:runs"; do
		typed=${words%%:*}
		meant=${words#*:}
		# shellcheck disable=SC2086
		run "$us" $typed
		wrong=${typed#help }
		if [ $rc -eq 2 ] && [ ! -s "$tmp/out" ] &&
			grep -qF "unknown command '$wrong' (did you mean '$meant'?)" "$tmp/err"; then
			ok 0 "unitsync $typed: exit 2, did you mean '$meant'"
		else
			echo "# exit $rc (expected 2); stderr:"
			say "$tmp/err"
			ok 1 "unitsync $typed: exit 2, did you mean '$meant'"
		fi
	done
	run "$us" frobnicate
	if [ $rc -eq 2 ] && grep -qF "unknown command 'frobnicate'" "$tmp/err" &&
		! grep -q 'did you mean' "$tmp/err"; then
		ok 0 "unitsync frobnicate: exit 2, no far-fetched suggestion"
	else
		say "$tmp/err"
		ok 1 "unitsync frobnicate: exit 2, no far-fetched suggestion"
	fi
	# a listed command whose program is missing is a broken installation (78)
	mkdir -p "$tmp/lonely" && cp "$us" "$tmp/lonely/unitsync"
	run "$tmp/lonely/unitsync" init
	if [ $rc -eq 78 ] && grep -qF "command 'init' is not installed" "$tmp/err"; then
		ok 0 "a driver without unitsync-init beside it: init is exit 78, not installed"
	else
		echo "# exit $rc (expected 78); stderr:"
		say "$tmp/err"
		ok 1 "a driver without unitsync-init beside it: init is exit 78, not installed"
	fi
	run "$us" help load extra
	if [ $rc -eq 2 ] && [ ! -s "$tmp/out" ] && [ -s "$tmp/err" ]; then
		ok 0 "unitsync help load extra: exit 2"
	else
		ok 1 "unitsync help load extra: exit 2 (got $rc)"
	fi
fi

echo "1..$n"
