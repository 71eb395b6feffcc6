#!/usr/bin/env bash
# t0895-notify-job-failed: a job that fails is told to the operators
# ([notify] operator_email over SMTP with STARTTLS and AUTH, and the
# signed webhook), with what its exit code means and its last log lines,
# also when the state database is what failed; systemd's OnFailure= runs
# pipelines/notify-failure.sh, which reads the unit's exit status and
# journal (issue 20, unitsync-notify(1)).
. "$(dirname "$0")/lib.sh"
test_plan 7

py=/usr/bin/python3
secret=whsec-job-0123

smtp_start "$tmp/smtp" || exit 1
hook_start "$tmp/hook" "$secret" || exit 1
(cd "$tmp" && test_init_db p1 && printf '%s\n' "$SMTP_PASSWORD" >smtp.pw && chmod 600 smtp.pw &&
	printf '%s\n' "$secret" >hook.key && chmod 600 hook.key &&
	cat >unitsync.ini <<-EOF
	[notify]
	smtp_url = $SMTP_URL
	smtp_from = unitsync@example.com
	smtp_user = $SMTP_USER
	smtp_password_file = smtp.pw
	smtp_ca_file = $SMTP_CA
	operator_email = oncall@example.com, lead@example.com
	webhook_url = $HOOK_URL/ops
	webhook_secret_file = hook.key
	EOF
) || exit 1
export UNITSYNC_CONFIG=$tmp/unitsync.ini

test_expect_success 'a failed job: one e-mail to the operators saying what the exit code means, with the log' '
	printf "line one\nbinary\0junk\nunitsync-extract-csv: error: export.csv line 7: bad date\n" >job.log &&
	unitsync notify --job-failed unitsync-nightly.service --exit-code 65 --log job.log 2>n1.err &&
	test "$(smtp_count)" = 1 && grep -x "to oncall@example.com" "$SMTP_DIR/msg-1.env" &&
	grep -x "to lead@example.com" "$SMTP_DIR/msg-1.env" && grep -x "tls yes" "$SMTP_DIR/msg-1.env" &&
	smtp_message 1 >m1 &&
	grep "^Subject: \[unitsync\] job unitsync-nightly.service failed on .*: exit 65$" m1 &&
	grep "What it means: an export file was rejected" m1 &&
	grep -F "export.csv line 7: bad date" m1 &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM notification WHERE message_id LIKE '"'"'<unitsync.failed.%'"'"' AND status = '"'"'sent'"'"'")" = 2
'

test_expect_success 'the webhook gets kind job_failed, signed' '
	test "$(ls "$HOOK_DIR" | grep -c "\.json$")" = 1 && ! grep -v "^200 " "$HOOK_DIR/log" &&
	"$py" -c "
import json, sys
b = json.load(open(sys.argv[1]))
assert b[\"version\"] == 1 and b[\"kind\"] == \"job_failed\", b
assert b[\"job\"] == \"unitsync-nightly.service\" and b[\"exit_code\"] == 65, b
assert \"bad date\" in b[\"text\"] and b[\"text\"].startswith(b[\"subject\"]), b
" "$HOOK_DIR/req-1.json"
'

test_expect_success 'a corrupt or missing state database: the notice still goes, unrecorded' '
	unitsync --db nowhere.db notify --job-failed unitsync-nightly.service --exit-code 74 2>n2.err &&
	test "$(smtp_count)" = 2 && grep "notice is sent but not recorded" n2.err &&
	smtp_message 2 >m2 && grep "restore it from backup" m2
'

test_expect_success 'notify-failure.sh reads the unit'"'"'s exit status and journal (systemd OnFailure=)' '
	mkdir -p fakebin &&
	printf "#!/bin/sh\n[ \"\$1 \$2 \$3\" = \"show -p ExecMainStatus\" ] && echo 4\n" >fakebin/systemctl &&
	printf "#!/bin/sh\necho \"2026-06-02T02:31:00+0000 host nightly.sh[1]: held by the safety guard: review runs/X\"\n" >fakebin/journalctl &&
	chmod +x fakebin/systemctl fakebin/journalctl &&
	PATH=$tmp/fakebin:$PATH "$TOP/pipelines/notify-failure.sh" --db "$UNITSYNC_DB" unitsync-nightly.service 2>n3.err &&
	test "$(smtp_count)" = 3 && smtp_message 3 >m3 &&
	grep "exit 4$" m3 && grep "held by the safety guard: review runs/X" m3 &&
	grep "unitsync approve" m3
'

test_expect_success 'the systemd unit names the failure unit, whose script is installed beside nightly.sh' '
	grep -x "OnFailure=unitsync-notify-failure@%n.service" "$TOP/pipelines/systemd/unitsync-nightly.service" &&
	grep "^ExecStart=/usr/local/share/unitsync/pipelines/notify-failure.sh" \
		"$TOP/pipelines/systemd/unitsync-notify-failure@.service" &&
	grep -q "pipelines/notify-failure.sh" "$TOP/Makefile"
'

test_expect_success 'usage: --exit-code goes with --job-failed; nobody configured is said, nothing sent' '
	test_expect_code 2 unitsync notify --job-failed x 2>e1 &&
	test_expect_code 2 unitsync notify --exit-code 1 runs/x 2>e2 &&
	printf "[notify]\nsmtp_url = smtp://127.0.0.1:1\nsmtp_from = u@example.com\n" >bare.ini &&
	unitsync --config bare.ini notify --job-failed x --exit-code 1 2>e3 &&
	grep "nobody to tell" e3 && test "$(smtp_count)" = 3
'

test_expect_success 'config check warns of what would keep a notification from going out, exit unchanged' '
	printf "[notify]\noperator_email = a@example.com\nwebhook_url = https://h.example.com/x\n" >warn.ini &&
	printf "[property \"p1\"]\nsource = p1.csv\nnotify_email = b@example.com\n" >>warn.ini &&
	unitsync --config warn.ini config check --offline >c.out 2>c.err &&
	grep "operator_email is set but smtp_url or smtp_from is not" c.err &&
	grep "line 6: \[property \"p1\"\] notify_email is set but" c.err &&
	grep "no signing key" c.err && grep "config .*: ok" c.out &&
	unitsync --config unitsync.ini config check --offline >c2.out 2>c2.err &&
	! grep -i warning c2.err
'

[ $failed -eq 0 ]
