#!/bin/sh
# lint.sh - `make lint`: the checks STYLE.md promises.
#
#  1. No call of the banned functions strcpy, strcat, sprintf, atoi, strtok
#     or gets in the C sources (snprintf, vsnprintf, fgets, strtok_r ... are
#     fine).  Mentions inside comments, string and character literals are
#     not calls and are ignored.
#  2. When clang-format is installed, every C source is formatted as
#     .clang-format says (`clang-format --dry-run --Werror`); without it
#     the check is skipped with a note.
#  3. When clang-tidy is installed, every C file passes the checks of
#     .clang-tidy (bugprone-*, cert-*, clang-analyzer-*, less the noisy
#     ones it names), but for the false positives tests/clang-tidy.supp
#     lists by file and check, each with its reason.
#  4. When cppcheck is installed, `cppcheck --enable=warning,portability`
#     finds nothing, with tests/cppcheck.cfg (jansson's macros) and the
#     justified suppressions of tests/cppcheck.supp.
#  Either tool missing: the step is skipped with a note (Debian packages
#  clang-tidy and cppcheck).  LINT_JOBS (default: the number of CPUs)
#  clang-tidy processes run at once.
#
# The C sources are the *.c and *.h files under lib/ cli/ extract/
# transform/ load/ fixtures/ tests/: those git tracks in a git checkout,
# else every such file.  Problems are listed as FILE:LINE; the exit status
# is 1 when there is any, else 0 after "lint: ok".
set -u

top=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$top" || exit 2
dirs="lib cli extract transform load fixtures tests"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lint.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

# the file list, one per line
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# shellcheck disable=SC2086 # $dirs is a list of words on purpose
	git ls-files -- $dirs
else
	# shellcheck disable=SC2086
	find $dirs -type f 2>/dev/null
fi | grep -E '\.[ch]$' | LC_ALL=C sort -u | while IFS= read -r f; do
	# tracked but deleted in the work tree: nothing to check
	[ -f "$f" ] && printf '%s\n' "$f"
done >"$tmp/files"

if [ ! -s "$tmp/files" ]; then
	echo "lint: no C sources found under $dirs" >&2
	exit 1
fi

status=0

# 1. banned functions, outside comments and literals
while IFS= read -r f; do
	awk -v q="'" '
	# blank out comments and string/char literals, keeping columns and lines
	{
		out = ""
		n = length($0)
		for (i = 1; i <= n; i++) {
			c = substr($0, i, 1)
			d = substr($0, i, 2)
			if (state == "block") {
				if (d == "*/") { out = out "  "; i++; state = "" }
				else out = out " "
			} else if (state == "str" || state == "chr") {
				if (c == "\\") { out = out "  "; i++ }
				else if ((state == "str" && c == "\"") || (state == "chr" && c == q)) {
					out = out c; state = ""
				} else out = out " "
			} else if (d == "/*") { out = out "  "; i++; state = "block" }
			else if (d == "//") break
			else if (c == "\"") { out = out c; state = "str" }
			else if (c == q) { out = out c; state = "chr" }
			else out = out c
		}
		# a literal does not continue past the end of a line
		if (state == "str" || state == "chr")
			state = ""
		if (out ~ /(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|atoi|strtok|gets)[ \t\f\v]*\(/) {
			name = out
			sub(/^.*(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|atoi|strtok|gets)[ \t\f\v]*\(/, "", name)
			match(out, /(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|atoi|strtok|gets)[ \t\f\v]*\(/)
			call = substr(out, RSTART, RLENGTH)
			sub(/^[^A-Za-z0-9_]/, "", call)
			sub(/[ \t\f\v]*\($/, "", call)
			printf "%s:%d: banned function %s(): %s\n", FILENAME, FNR, call, $0
		}
	}
	' "$f"
done <"$tmp/files" >"$tmp/banned"
if [ -s "$tmp/banned" ]; then
	cat "$tmp/banned"
	echo "lint: $(wc -l <"$tmp/banned" | tr -d ' ') call(s) of banned functions" \
		"(use snprintf, strtol/strtoul, memcpy with an explicit length, fgets, strtok_r)"
	status=1
fi

# 2. formatting
if command -v clang-format >/dev/null 2>&1; then
	if [ ! -f .clang-format ]; then
		echo "lint: no .clang-format at the top of the tree"
		status=1
	else
		# shellcheck disable=SC2046 # file names hold no blanks
		clang-format --dry-run --Werror $(cat "$tmp/files") >"$tmp/format" 2>&1
		rc=$?
		grep -E '^[^ :]+:[0-9]+:[0-9]+: (error|warning):' "$tmp/format" |
			sed -E 's/^([^ :]+:[0-9]+):[0-9]+: .*/\1/' >"$tmp/format-lines"
		if [ $rc -ne 0 ] || [ -s "$tmp/format-lines" ]; then
			count=$(wc -l <"$tmp/format-lines" | tr -d ' ')
			if [ "$count" -eq 0 ]; then
				cat "$tmp/format"
			else
				head -n 50 "$tmp/format-lines" | sed 's/$/: not formatted as .clang-format says/'
				[ "$count" -gt 50 ] && echo "... and $((count - 50)) more"
				echo "lint: clang-format: $count place(s) in" \
					"$(cut -d: -f1 "$tmp/format-lines" | sort -u | wc -l | tr -d ' ') file(s)" \
					"differ from .clang-format ('make format' fixes them)"
			fi
			status=1
		fi
	fi
else
	echo "lint: note: clang-format is not installed; formatting not checked"
fi

# the compiler flags clang-tidy needs: the build's, and the test and sim libraries
cflags="-std=c11 -D_GNU_SOURCE -Ilib -Itests/fuzz $(pkg-config --cflags libxml-2.0 sqlite3 libcurl \
	jansson libcrypto inih libmicrohttpd cmocka 2>/dev/null)"
grep '\.c$' "$tmp/files" >"$tmp/cfiles"

# 3. clang-tidy
if command -v clang-tidy >/dev/null 2>&1; then
	jobs=${LINT_JOBS:-$(nproc 2>/dev/null || echo 2)}
	export cflags
	# shellcheck disable=SC2016 # $cflags is expanded by the inner shell
	xargs -P "$jobs" -n 4 sh -c 'clang-tidy --quiet "$@" -- $cflags 2>&1' clang-tidy \
		<"$tmp/cfiles" >"$tmp/tidy"
	# "FILE:LINE:COL: error: TEXT [check,-warnings-as-errors]" -> "FILE:LINE: check: TEXT"
	sed -n -E 's#^('"$top"'/)?([^: ]+):([0-9]+):[0-9]+: (warning|error): (.*) \[([a-zA-Z0-9.-]+)(,[^]]*)?\]$#\2:\3: \6: \5#p' \
		"$tmp/tidy" | LC_ALL=C sort -u >"$tmp/tidy-found"
	# drop what tests/clang-tidy.supp lists: "FILE CHECK  # why"
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tests/clang-tidy.supp 2>/dev/null |
		awk '{ print $1 ": " $2 ":" }' >"$tmp/tidy-supp"
	while IFS= read -r line; do
		key=$(printf '%s\n' "$line" | sed -E 's/^([^:]+):[0-9]+: ([^:]+):.*/\1: \2:/')
		grep -qxF "$key" "$tmp/tidy-supp" || printf '%s\n' "$line"
	done <"$tmp/tidy-found" >"$tmp/tidy-left"
	if [ -s "$tmp/tidy-left" ]; then
		cat "$tmp/tidy-left"
		echo "lint: clang-tidy: $(wc -l <"$tmp/tidy-left" | tr -d ' ') finding(s)" \
			"(a false positive goes to tests/clang-tidy.supp with its reason)"
		status=1
	elif grep -qE '(^|: )(fatal )?error: ' "$tmp/tidy" && ! [ -s "$tmp/tidy-found" ]; then
		grep -E '(fatal )?error: ' "$tmp/tidy" | head -n 20
		echo "lint: clang-tidy could not check every file"
		status=1
	fi
else
	echo "lint: note: clang-tidy is not installed; its checks are skipped"
fi

# 4. cppcheck
if command -v cppcheck >/dev/null 2>&1; then
	# shellcheck disable=SC2046 # file names hold no blanks
	if ! cppcheck --enable=warning,portability --error-exitcode=1 --std=c11 -D_GNU_SOURCE \
		-Ilib --library=tests/cppcheck.cfg --suppressions-list=tests/cppcheck.supp \
		--inline-suppr --quiet --template='{file}:{line}: {id}: {message}' \
		$(cat "$tmp/cfiles") >"$tmp/cppcheck" 2>&1; then
		cat "$tmp/cppcheck"
		echo "lint: cppcheck: $(grep -c ': ' "$tmp/cppcheck") finding(s)" \
			"(a justified false positive goes to tests/cppcheck.supp)"
		status=1
	fi
else
	echo "lint: note: cppcheck is not installed; its checks are skipped"
fi

[ $status -eq 0 ] && echo "lint: ok"
exit $status
