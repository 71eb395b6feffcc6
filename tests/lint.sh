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

[ $status -eq 0 ] && echo "lint: ok"
exit $status
