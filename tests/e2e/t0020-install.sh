#!/usr/bin/env bash
# t0020-install: `make install DESTDIR=D PREFIX=P` lays out what a packager
# expects: the driver and every unitsync-* program in P/bin and nothing else
# (latch-sim and portfolio-gen are test fixtures), the unitsync man pages in
# P/share/man/man1, nightly.sh and rerun.sh in P/share/unitsync/pipelines,
# the systemd units and the CronJob beside them naming the installed
# nightly.sh; the installed scripts find the installed driver with a PATH
# that holds no unitsync; `make uninstall` removes every file again.
. "$(dirname "$0")/lib.sh"
test_plan 9

# the programs and pages the source tree has (what must be installed)
progs=$(cd "$top/bin" && ls unitsync unitsync-* | sort)
pages=$(cd "$top/docs" && ls unitsync*.1 | sort)
# a PATH with the system's tools and no unitsync, and no hint where it is
clean_path=/usr/bin:/bin
if PATH=$clean_path command -v unitsync >/dev/null 2>&1; then
	test_skip_all "a unitsync is installed in $clean_path"
fi
us_make() { make -s -C "$top" --no-print-directory "$@"; }

test_expect_success 'make install DESTDIR PREFIX=/usr/local: exit 0, all under DESTDIR' '
	us_make install DESTDIR="$tmp/dest" PREFIX=/usr/local >make.out 2>&1 &&
	test -d "$tmp/dest/usr/local" &&
	test "$(ls "$tmp/dest")" = usr
'

test_expect_success 'PREFIX/bin holds exactly unitsync and unitsync-*, executable' '
	(cd "$tmp/dest/usr/local/bin" && ls | sort) >bin.actual &&
	printf "%s\n" $progs >bin.expect &&
	test_cmp bin.expect bin.actual &&
	for p in $progs; do test -x "$tmp/dest/usr/local/bin/$p" || return 1; done &&
	! test -e "$tmp/dest/usr/local/bin/latch-sim" &&
	! test -e "$tmp/dest/usr/local/bin/portfolio-gen"
'

test_expect_success 'PREFIX/share/man/man1 holds every unitsync page, no latch-sim page' '
	(cd "$tmp/dest/usr/local/share/man/man1" && ls | sort) >man.actual &&
	printf "%s\n" $pages >man.expect &&
	test_cmp man.expect man.actual &&
	grep -qx unitsync-nightly.1 man.actual &&
	cmp "$top/docs/unitsync.1" "$tmp/dest/usr/local/share/man/man1/unitsync.1"
'

test_expect_success 'PREFIX/share/unitsync/pipelines: the scripts, systemd units, CronJob' '
	share=$tmp/dest/usr/local/share/unitsync/pipelines &&
	test -x "$share/nightly.sh" && test -x "$share/rerun.sh" &&
	cmp "$top/pipelines/nightly.sh" "$share/nightly.sh" &&
	cmp "$top/pipelines/systemd/unitsync-nightly.service" \
		"$share/systemd/unitsync-nightly.service" &&
	cmp "$top/pipelines/systemd/unitsync-nightly.timer" "$share/systemd/unitsync-nightly.timer" &&
	cmp "$top/pipelines/k8s/cronjob.yaml" "$share/k8s/cronjob.yaml"
'

# the nightly.sh path each scheduler file names, which must be installed
named_scripts() {
	sed -n "s/^ExecStart=\([^ ]*\).*/\1/p" "$1/systemd/unitsync-nightly.service" &&
		sed -n "s/^ *\(exec \)\{0,1\}\(\/[^ ]*nightly\.sh\).*/\2/p" "$1/k8s/cronjob.yaml"
}

test_expect_success 'the systemd unit and the CronJob name the installed nightly.sh' '
	share=$tmp/dest/usr/local/share/unitsync/pipelines &&
	named_scripts "$share" >named &&
	test "$(wc -l <named)" -eq 2 &&
	while read -r s; do
		test "$s" = /usr/local/share/unitsync/pipelines/nightly.sh &&
		test -x "$tmp/dest$s" || return 1
	done <named
'

test_expect_success 'installed nightly.sh and rerun.sh find the installed driver (no unitsync on PATH)' '
	share=$tmp/dest/usr/local/share/unitsync/pipelines &&
	(cd / && env -u UNITSYNC PATH=$clean_path "$share/nightly.sh" --version) >v1 2>e1 &&
	(cd / && env -u UNITSYNC PATH=$clean_path "$share/rerun.sh" --version) >v2 2>e2 &&
	echo "nightly.sh (unitsync) $(unitsync --version | sed "s/^unitsync //")" >v1.expect &&
	test_cmp v1.expect v1 &&
	grep -qx "rerun.sh (unitsync) .*" v2 &&
	! test -s e1 && ! test -s e2
'

test_expect_success 'the installed driver runs the installed commands (no unitsync on PATH)' '
	d=$tmp/dest/usr/local/bin &&
	env PATH=$clean_path "$d/unitsync" --db "$tmp/inst.db" init >init.out 2>init.err &&
	test -f "$tmp/inst.db" &&
	env PATH=$clean_path "$d/unitsync" help verify >help.out &&
	grep -q "^usage: unitsync verify" help.out
'

test_expect_success 'make uninstall removes every installed file' '
	us_make uninstall DESTDIR="$tmp/dest" PREFIX=/usr/local >unmake.out 2>&1 &&
	find "$tmp/dest" ! -type d >left &&
	! test -s left &&
	! test -e "$tmp/dest/usr/local/share/unitsync"
'

test_expect_success 'PREFIX=/opt/us: the scheduler files name /opt/us/share/unitsync/pipelines/nightly.sh' '
	us_make install DESTDIR="$tmp/opt" PREFIX=/opt/us >make2.out 2>&1 &&
	share=$tmp/opt/opt/us/share/unitsync/pipelines &&
	named_scripts "$share" >named2 &&
	test "$(wc -l <named2)" -eq 2 &&
	while read -r s; do
		test "$s" = /opt/us/share/unitsync/pipelines/nightly.sh &&
		test -x "$tmp/opt$s" || return 1
	done <named2 &&
	(cd / && env -u UNITSYNC PATH=$clean_path "$share/nightly.sh" --version) >v3 &&
	grep -q "^nightly.sh (unitsync) " v3
'
