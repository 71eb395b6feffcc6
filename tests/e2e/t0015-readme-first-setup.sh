#!/usr/bin/env bash
# t0015-readme-first-setup: the README's "First setup" walkthrough, its
# shell blocks run as written (in a fresh HOME, from the source tree; only
# `make` skipped, latch-sim's port made a free one and RUN_ID the run
# nightly.sh made): the configuration checks, the mapping imports, the dry
# run records no run, the real night loads every row into latch-sim, and
# nothing is left listening at the end.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || test_skip_all "curl is not installed"
command -v python3 >/dev/null || test_skip_all "python3 is not installed"
test_plan 1

# the shell blocks between "## First setup" and "### Running latch-sim by
# hand", each unindented as the list item indents it
readme_blocks() {
	python3 - "$TOP/README.md" <<-\EOF
	import re, sys
	s = open(sys.argv[1]).read()
	sec = s[s.index("## First setup"):s.index("### Running latch-sim by hand")]
	for m in re.finditer(r"^( *)```sh\n(.*?)^\1```", sec, re.S | re.M):
	    ind = len(m.group(1))
	    for line in m.group(2).split("\n"):
	        print(line[ind:] if line.startswith(" " * ind) else line)
	EOF
}

test_expect_success 'the walkthrough, run as written: configured, mapped, a dry run, then a real night' '
	port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	readme_blocks >blocks.sh &&
	grep -q "^unitsync map import " blocks.sh && grep -q "nightly.sh --out runs --dry-run$" blocks.sh &&
	{
		echo "trap '"'"'kill \$(jobs -p) 2>/dev/null || :'"'"' EXIT" &&
		sed -e "s/^make$/true/" -e "s/8555/$port/g" -e "s#runs/RUN_ID#\$(ls -d runs/2*)#" blocks.sh
	} >walk.sh &&
	mkdir home &&
	(cd "$TOP" && unset UNITSYNC_LATCH_URL UNITSYNC_TOKEN_URL UNITSYNC_CLIENT_ID \
		UNITSYNC_CLIENT_SECRET UNITSYNC_CLIENT_SECRET_FILE &&
		HOME=$tmp/home timeout 120 bash -e "$tmp/walk.sh") >out 2>err &&
	grep -x "listening on http://127.0.0.1:$port" out &&
	grep -x "config '"'"'$tmp/home/unitsync-first/unitsync.ini'"'"': ok" out &&
	grep -x "9 added, 0 changed, 0 removed, 0 unchanged" out &&
	grep "^preview run directory: $tmp/home/unitsync-first/runs/preview/" out &&
	grep "^run [^ ]*: 16 done, 0 already done, 0 failed, 0 held by the safety guard" out &&
	grep -x "exit 0" out &&
	grep "unmapped_unit *oakwood *unit 203" out &&
	test "$(ls "$tmp/home/unitsync-first/runs" | grep -c "^2")" = 1 &&
	for i in $(seq 50); do
		curl -sf --max-time 5 "http://127.0.0.1:$port/_sim/state" >/dev/null || break
		sleep 0.1
	done &&
	! curl -sf --max-time 5 "http://127.0.0.1:$port/_sim/state" >/dev/null
'

