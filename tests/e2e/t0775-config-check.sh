#!/usr/bin/env bash
# t0775-config-check: 'unitsync config check' reports every problem of the
# configuration at once, each naming file, line and key (the client_secret
# hint only where it applies); a bad [property] section fails alone (exit
# 1, left out of 'config properties'), anything else is fatal (78).
# nightly.sh runs it first, never creates a state database (a mistyped
# --db is 78 naming it), and runs the good properties of a configuration
# with a bad section, exiting 78 (issue 17).  When the state database
# exists, check judges a section of a property it does not have as nightly
# will (bad, skipped); a secret file's problem names file, line and key.
. "$(dirname "$0")/lib.sh"
test_plan 12

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && : >a.csv && mkdir exports &&
	printf 'secret\n' >secret && chmod 600 secret) || exit 1
cfg() { unitsync config --config "$@"; }

test_expect_success 'every problem at once, each with file, line and key; fatal ones exit 78' '
	cat >bad.ini <<-EOF &&
	[latch]
	base_url = http://127.0.0.1:1
	token_url = ftp://auth
	clientid = abc
	client_secret = hunter2

	[property "p1"]
	format = csv
	profil = generic
	source = a.csv

	[propertty "p4"]
	source = a.csv
	EOF
	test_expect_code 78 cfg bad.ini check >out 2>err &&
	grep "config .$tmp/bad.ini. line 3: \[latch\] token_url: .ftp://auth. is not an http:// or https:// URL" err &&
	grep "line 4: \[latch\] unknown key .clientid. (did you mean .client_id.?)" err &&
	grep "line 5: \[latch\] client_secret: a secret is never read from the configuration file" err &&
	grep "line 9: \[property \"p1\"\] unknown key .profil. (did you mean .profile.?)" err &&
	grep "line 12: unknown section \[propertty \"p4\"\]" err &&
	! grep -e clientid -e token_url err | grep UNITSYNC_CLIENT_SECRET &&
	grep "cannot be used" out &&
	test_expect_code 78 cfg bad.ini properties 2>err2 &&
	grep "line 3: \[latch\] token_url" err2
'

test_expect_success 'only property sections bad: exit 1, the bad ones left out of properties' '
	cat >props.ini <<-EOF &&
	[latch]
	base_url = http://127.0.0.1:1
	token_url = http://127.0.0.1:1/token
	client_id = c
	client_secret_file = secret

	[property "good"]
	source = a.csv

	[property "badformat"]
	format = xlsx
	source = a.csv

	[property "badprofile"]
	profile = yardi-rentroll
	source = a.csv

	[property "nosource"]
	format = xml

	[property "xmlprofile"]
	format = xml
	profile = generic
	source = a.csv

	[property "nofolder"]
	source = missing/a.csv

	[property "later"]
	source = exports/tonight.csv
	EOF
	test_expect_code 1 cfg props.ini check >out 2>err &&
	grep "line 11: \[property \"badformat\"\] format: .xlsx. is not csv or xml" err &&
	grep "line 15: \[property \"badprofile\"\] profile: unknown CSV profile .yardi-rentroll. (did you mean .yardi-rent-roll.?)" err &&
	grep "line 18: \[property \"nosource\"\] has no source" err &&
	grep "line 23: \[property \"xmlprofile\"\] profile: a CSV profile, but format is xml" err &&
	grep "\[property \"nofolder\"\] source .$tmp/missing/a.csv.: its folder does not exist" err &&
	! grep -e later -e good err &&
	! grep client_secret err &&
	printf "property good: ok\nproperty badformat: BAD (left out tonight)\n" >expect &&
	head -n 2 out >actual && test_cmp expect actual &&
	grep "^property later: ok" out &&
	grep "^property nofolder: BAD SOURCE (extract refuses it tonight: nothing removed)" out &&
	cfg props.ini properties >list 2>warn &&
	cut -f 1 list >ids && printf "good\nnofolder\nlater\n" >expect && test_cmp expect ids &&
	test "$(grep -c "left out" warn)" = 4
'

test_expect_success 'every CSV profile extract-csv knows is accepted; [latch] gaps only without --offline' '
	profiles=$(unitsync extract-csv --help | sed -n "s/.*profiles: //p" | tr -d ",") &&
	test -n "$profiles" &&
	for p in $profiles auto; do
		printf "[property \"p\"]\nprofile = %s\nsource = a.csv\n" "$p" >p.ini &&
		cfg p.ini check --offline >/dev/null 2>err || { cat err >&4; exit 1; }
	done &&
	test_expect_code 78 cfg p.ini check >/dev/null 2>err &&
	grep "no Latch API URL" err && grep "no client id" err && grep "no client secret" err
'

test_expect_success 'nightly.sh never creates a state database: a mistyped --db is 78 naming it' '
	printf "[property \"p\"]\nsource = a.csv\n" >n.ini &&
	test_expect_code 78 "$TOP/pipelines/nightly.sh" --config n.ini --db "$tmp/typo.db" \
		--out runs >n.out 2>n.err &&
	grep "no state database at .$tmp/typo.db." n.err &&
	! test -e typo.db && ! test -e typo.db.lock
'

test_expect_success 'nightly.sh with a missing or unusable configuration: 78 naming it, nothing run' '
	unitsync init >/dev/null &&
	test_expect_code 78 "$TOP/pipelines/nightly.sh" --config "$tmp/nope.ini" --out runs 2>m.err &&
	grep "cannot open config .$tmp/nope.ini." m.err &&
	test_expect_code 78 "$TOP/pipelines/nightly.sh" --config bad.ini --out runs 2>b.err &&
	grep "line 3: \[latch\] token_url" b.err &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM snapshot")" = 0 &&
	! test -d runs
'

test_expect_success 'nightly.sh: a bad property section fails alone, the good one runs, exit 78' '
	printf "%s\ngood,1,G1,H1,primary,current,Ann,Lee,s775-ann@example.com,,2024-01-01,\n" "$H" >good.csv &&
	unitsync property add good >/dev/null && unitsync property add badformat >/dev/null &&
	cat >mixed.ini <<-EOF &&
	[property "good"]
	source = good.csv

	[property "badformat"]
	format = xlsx
	source = a.csv
	EOF
	test_expect_code 78 "$TOP/pipelines/nightly.sh" --config mixed.ini --out runs --dry-run \
		--as-of 2026-06-01 >x.out 2>x.err &&
	grep "format: .xlsx. is not csv or xml" x.err &&
	grep "property .badformat. left out" x.err &&
	grep "^good: as of 2026-06-01" x.out &&
	! grep "^badformat:" x.out
'
test_expect_success 'a section or key given twice, a long line, an indented line: refused by line' '
	{ printf "[latch]\nbase_url = https://api.example.com\ntoken_url = https://auth.example.com/t\n" &&
	  printf "client_id = u\nclient_secret_file = secret\n[property \"p1\"]\nsource = a.csv\n" &&
	  printf "[latch]\ntoken_url = http://elsewhere.example/t\n"; } >twice.ini &&
	test_expect_code 78 cfg twice.ini check >/dev/null 2>err &&
	grep "line 8: section \[latch\] given twice (first at line 1)" err &&
	grep "line 9: \[latch\] token_url given twice (first at line 3)" err &&
	printf "[property \"p1\"]\nformat = csv\nsource = a.csv\nformat = xml\n[property \"p2\"]\nsource = a.csv\n[property \"p1\"]\nprofile = auto\n" >twice2.ini &&
	test_expect_code 1 cfg twice2.ini check --offline >out 2>err &&
	grep "line 4: \[property \"p1\"\] format given twice (first at line 2)" err &&
	grep "line 7: section \[property \"p1\"\] given twice (first at line 1)" err &&
	grep "^property p2: ok" out &&
	{ printf "[property \"p1\"]\nsource = a.csv\n# %s source = b.xml\n" "$(printf "%0300d" 0)"; } >long.ini &&
	test_expect_code 78 cfg long.ini check --offline >/dev/null 2>err &&
	grep "line 3: line longer than 198 bytes" err &&
	cfg long.ini properties 2>/dev/null | cut -f 4 >srcs; ! grep b.xml srcs &&
	printf "[property \"p1\"]\nsource = a.csv\n\n  nosuch/x.csv\n" >indent.ini &&
	test_expect_code 78 cfg indent.ini check --offline >/dev/null 2>err &&
	grep "line 4: syntax error" err
'
test_expect_success 'check with a state database: a property it does not have is bad, as nightly judges it' '
	unitsync init >/dev/null 2>&1; unitsync property add oak1 >/dev/null 2>&1;
	printf "[property \"oak1\"]\nsource = a.csv\n\n[property \"oak\"]\nsource = a.csv\n" >two.ini &&
	test_expect_code 1 cfg two.ini --db "$UNITSYNC_DB" check --offline >c.out 2>c.err &&
	grep "error: config .$tmp/two.ini. line 4: \[property \"oak\"\] is not a property of the state database .$UNITSYNC_DB. (did you mean .oak1.? a new property is added with .unitsync property add oak.): nightly.sh skips it$" c.err &&
	printf "[property \"elm\"]\nsource = a.csv\n" >elm.ini &&
	test_expect_code 78 cfg elm.ini --db "$UNITSYNC_DB" check --offline >e.out 2>e.err &&
	grep "\[property \"elm\"\] is not a property of the state database .$UNITSYNC_DB. (add it with .unitsync property add elm.): nightly.sh skips it$" e.err &&
	grep "error: every \[property\] section is bad: nightly.sh has nothing to run$" e.err &&
	grep "^config .*: cannot be used (nothing runs)$" e.out &&
	grep -x "property oak: BAD (left out tonight)" c.out && grep -x "property oak1: ok" c.out &&
	test_expect_code 78 "$TOP/pipelines/nightly.sh" --config two.ini --out runs --dry-run \
		--as-of 2026-06-01 >n.out 2>n.err &&
	grep "property .oak. is configured but not in the state database" n.err &&
	cfg two.ini --db "$tmp/none.db" check --offline >c2.out 2>c2.err &&
	grep -x "property oak: ok" c2.out && test ! -e "$tmp/none.db"
'

test_expect_success 'check with a state database: a property holding assignments without a section is warned of, exit unchanged' '
	unitsync property add elm2 >/dev/null 2>&1 && unitsync property add fir >/dev/null 2>&1 &&
	sqlite3 "$UNITSYNC_DB" "INSERT INTO assignment (property_id, pms_person_id, latch_unit_id, pms_unit_id, latch_user_id, run_id, seq, assigned_at) VALUES (\"elm2\", \"R1\", \"L1\", \"1\", \"U1\", \"r\", 1, \"2026-01-01T00:00:00Z\")" &&
	printf "[property \"oak1\"]\nsource = a.csv\n" >one.ini &&
	cfg one.ini --db "$UNITSYNC_DB" check --offline >u.out 2>u.err &&
	grep "warning: config .$tmp/one.ini.: property .elm2. of the state database .$UNITSYNC_DB. holds 1 assignment and has no \[property\] section: nightly.sh syncs nothing for it, and its residents keep the keys they have$" u.err &&
	! grep -q "fir" u.err && grep -x "property oak1: ok" u.out
'

test_expect_success 'a secret file others can read: file, line and key named (check, and the commands that read it)' '
	printf "secret\n" >open.secret && chmod 644 open.secret && printf "pw\n" >open.pw && chmod 644 open.pw &&
	printf "[latch]\nbase_url = http://127.0.0.1:9\ntoken_url = http://127.0.0.1:9/t\nclient_id = u\nclient_secret_file = open.secret\n" >modes.ini &&
	test_expect_code 78 cfg modes.ini check >m.out 2>m.err &&
	grep "config .$tmp/modes.ini. line 5: \[latch\] client_secret_file: client secret file .$tmp/open.secret. is readable by others (mode 0644): chmod 600 it" m.err &&
	unitsync property set oak1 --latch-building b1 >/dev/null &&
	test_expect_code 78 unitsync --config modes.ini units list --property oak1 2>u.err &&
	grep "config .modes.ini. line 5: \[latch\] client_secret_file: client secret file .$tmp/open.secret. is readable by others" u.err &&
	UNITSYNC_CLIENT_SECRET_FILE=$tmp/open.secret test_expect_code 78 cfg modes.ini check 2>m2.err &&
	grep "config .$tmp/modes.ini.: UNITSYNC_CLIENT_SECRET_FILE: client secret file .$tmp/open.secret. is readable by others" m2.err &&
	chmod 600 open.secret &&
	printf "[notify]\nsmtp_url = smtp://127.0.0.1:9\nsmtp_from = a@example.com\nsmtp_user = u\nsmtp_password_file = open.pw\n" >>modes.ini &&
	cfg modes.ini check >m3.out 2>m3.err &&
	grep "config .$tmp/modes.ini. line 10: \[notify\] smtp_password_file: SMTP password file .$tmp/open.pw. is readable by others (mode 0644): chmod 600 it: no notification will be sent" m3.err
'

test_expect_success 'max_reject_percent and encoding: each bad value named with its line' '
	cat >opts.ini <<-EOF &&
	[property "p1"]
	source = a.csv
	max_reject_percent = 120
	encoding = klingon

	[property "p2"]
	format = xml
	source = a.csv
	encoding = windows-1252
	max_reject_percent = 5
	max_reject_percent = 6
	EOF
	test_expect_code 78 cfg opts.ini check --offline >o.out 2>o.err &&
	grep "line 3: \[property \"p1\"\] max_reject_percent: .120. is not a number from 0 to 100$" o.err &&
	grep "line 4: \[property \"p1\"\] encoding: unknown encoding .klingon. (auto, or a name iconv -l lists)$" o.err &&
	grep "line 11: \[property \"p2\"\] max_reject_percent given twice (first at line 10)$" o.err &&
	grep "line 9: \[property \"p2\"\] encoding: for a CSV file, but format is xml" o.err
'

# new users nu8 #11, nu9 #2: one unreadable row of a small export is over
# the default 5%, and nightly.sh had no way to pass --max-reject-percent
test_expect_success 'nightly.sh passes a property'"'"'s max_reject_percent and encoding to extract' '
	printf "%s\n" "$H" "p1,1,R1,H1,primary,current,Zoë,A,r1@example.com,,2024-01-01," \
		"p1,2,,H2,primary,current,B,B,r2@example.com,,2024-01-01," \
		"p1,3,R3,H3,primary,current,C,C,r3@example.com,,2024-01-01," |
		iconv -f UTF-8 -t WINDOWS-1252 >exports/small.csv &&
	rm -f small.db && unitsync --db small.db init >/dev/null && unitsync --db small.db property add p1 >/dev/null &&
	for u in 1 2 3; do unitsync --db small.db map add --offline --property p1 $u L$u >/dev/null || return 1; done &&
	printf "[property \"p1\"]\nsource = exports/small.csv\n" >small.ini &&
	test_expect_code 65 "$TOP/pipelines/nightly.sh" --config small.ini --db small.db --out runs \
		--dry-run --as-of 2026-06-01 >s1.out 2>s1.err &&
	grep "more than 5%" s1.err &&
	printf "max_reject_percent = 40\nencoding = windows-1252\n" >>small.ini &&
	printf "p1\tcsv\tgeneric\t40\twindows-1252\t$tmp/exports/small.csv\n" >expect &&
	cfg small.ini properties --extract-options >actual && test_cmp expect actual &&
	cfg small.ini properties >actual4 && test "$(cut -f4 actual4)" = "$tmp/exports/small.csv" &&
	"$TOP/pipelines/nightly.sh" --config small.ini --db small.db --out runs --dry-run \
		--as-of 2026-06-01 >s2.out 2>s2.err &&
	run=$(sed -n "s/^preview run directory: //p" s2.out) && test -n "$run" &&
	grep "^rejected_rows,p1,,," "$run/exceptions.csv" &&
	grep ",USER_CREATE,p1,1,,R1,.*,Zoë,A$" "$run/delta.csv"
'

[ $failed -eq 0 ]
