#!/usr/bin/env bash
# t0880-notify-email: after each night every property with something for a
# person to do gets one e-mail, through a real SMTP server on loopback
# (aiosmtpd) with STARTTLS and AUTH required; a rerun of the night sends
# none; a held run's message names the approve command; transient SMTP
# failures are retried, lasting ones recorded, and neither changes the
# night (issue 20, unitsync-notify(1)).
. "$(dirname "$0")/lib.sh"
test_plan 10

py=/usr/bin/python3
H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
# export_of P N [EXTRA]: residents 1..N of property P, one per unit; EXTRA=yes adds one in unmapped unit 99
export_of() {
	echo $H
	awk -v p="$1" -v n="$2" -v extra="${3:-}" 'BEGIN { for (i = 1; i <= n; i++)
		printf "%s,%d,%s-R%d,%s-H%d,primary,current,F%d,L%d,%s-r%d@example.com,,2024-01-01,\n", p, i, p, i, p, i, i, i, p, i
		if (extra == "yes") printf "%s,99,%s-R99,%s-H99,primary,current,Ann,Unmapped,%s-r99@example.com,,2024-01-01,\n", p, p, p, p }'
}

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in $(seq 12); do echo "b1,L$u,Unit $u"; done
} >seed.csv && test_init_db p1 p2 p3 &&
	for p in p1 p2 p3; do
		# the same export night after night is this test's way, not a stale job
		unitsync property set "$p" --stale-after-nights 100 >/dev/null || exit 1
	done &&
	for u in 1 2 3; do
		unitsync map add --offline --property p1 "$u" "L$u" >/dev/null &&
			unitsync map add --offline --property p2 "$u" "L$((u + 3))" >/dev/null &&
			unitsync map add --offline --property p3 "$u" "L$((u + 6))" >/dev/null || exit 1
	done &&
	export_of p1 3 yes >p1-full.csv && export_of p1 0 yes >p1-cut.csv &&
	export_of p2 3 >p2.csv && export_of p3 3 >p3.csv) || exit 1
sim_start "$tmp/seed.csv" || exit 1
smtp_start "$tmp/smtp" || exit 1
(cd "$tmp" && printf '%s\n' "$SMTP_PASSWORD" >smtp.pw && chmod 600 smtp.pw &&
	cat >nightly.ini <<-EOF
	[notify]
	smtp_url = $SMTP_URL
	smtp_from = unitsync@example.com
	smtp_user = $SMTP_USER
	smtp_password_file = smtp.pw
	smtp_ca_file = $SMTP_CA

	[property "p1"]
	source = p1.csv
	notify_email = pm-one@example.com, ops@example.com

	[property "p2"]
	source = p2.csv
	notify_email = pm-two@example.com

	[property "p3"]
	source = p3.csv
	notify_email = pm-three@example.com
	notify_daily_summary = yes
	EOF
) || exit 1
nightly() {
	cp "$1" p1.csv && shift &&
		"$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs "$@"
}

test_expect_success 'night 1: one e-mail to p1 (an unmapped unit), the daily summary to p3, none to p2' '
	nightly p1-full.csv --as-of 2026-06-01 >n1.out 2>n1.err &&
	sed -n "s/^run directory: //p" n1.out >run1 &&
	test "$(smtp_count)" = 2 &&
	grep -l "to pm-one@example.com" "$SMTP_DIR"/*.env >p1.env && test "$(wc -l <p1.env)" = 1 &&
	grep -x "to ops@example.com" "$(cat p1.env)" &&
	grep -l "to pm-three@example.com" "$SMTP_DIR"/*.env &&
	! grep -l "to pm-two@example.com" "$SMTP_DIR"/*.env &&
	grep "p2: nothing needs a person" n1.err
'

test_expect_success 'it went over STARTTLS with AUTH, and says what to fix and how' '
	n=$(basename "$(cat p1.env)" .env | sed "s/msg-//") &&
	grep -x "tls yes" "$(cat p1.env)" && grep -x "auth unitsync" "$(cat p1.env)" &&
	grep -x "from unitsync@example.com" "$(cat p1.env)" &&
	smtp_message "$n" >m1 && grep -x "HTML: inline" m1 &&
	grep -x "Auto-Submitted: auto-generated" m1 &&
	grep -x "Subject: \[unitsync\] p1 2026-06-01: 1 exception, 0 failed" m1 &&
	grep "^Message-ID: <unitsync.2026-06-01.[0-9a-f]*@example.com>$" m1 &&
	grep "^Content-Type: multipart/alternative" m1 &&
	grep "1 unmapped_unit" m1 && grep "what to do: map the unit: unitsync map add" m1 &&
	grep "unit 99, person p1-R99" m1 &&
	grep "ASSIGN" m1
'

test_expect_success 'a rerun of the same night sends nothing again; notify by hand neither, --resend does' '
	nightly p1-full.csv --as-of 2026-06-01 >n2.out 2>n2.err &&
	test "$(smtp_count)" = 2 && grep "sent before; not again" n2.err &&
	unitsync --config nightly.ini notify "$(cat run1)" 2>n3.err && test "$(smtp_count)" = 2 &&
	unitsync --config nightly.ini notify --resend "$(cat run1)" 2>n4.err && test "$(smtp_count)" = 4 &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM notification WHERE status = '"'"'sent'"'"'")" = 2
'

test_expect_success 'a held night: the message says held and names the approve command' '
	test_expect_code 4 nightly p1-cut.csv --as-of 2026-06-02 >n5.out 2>n5.err &&
	run=$(sed -n "s/^run directory: //p" n5.out) &&
	test "$(smtp_count)" = 6 &&
	n=$(grep -l "to pm-one@example.com" "$SMTP_DIR"/*.env | sed "s/.*msg-//; s/\.env//" | sort -n | tail -n 1) &&
	smtp_message "$n" >m5 && grep -x "HTML: inline" m5 &&
	grep -x "Subject: \[unitsync\] p1 2026-06-02: held by the safety guard" m5 &&
	grep "HELD by the safety guard" m5 &&
	grep -F "unitsync approve $run" m5 && grep -F "unitsync load $run" m5
'

test_expect_success 'a night with nothing for a person sends nothing (but p3 asks for a daily summary)' '
	unitsync map add --offline --property p1 99 L10 >/dev/null &&
	cp p1-full.csv p1.csv && before=$(smtp_count) &&
	"$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs --as-of 2026-06-03 \
		>n6.out 2>n6.err &&
	test "$(smtp_count)" = $((before + 1)) &&
	grep "p1: nothing needs a person" n6.err && grep "p2: nothing needs a person" n6.err
'

test_expect_success 'transient SMTP failures (451) are retried, and the tries recorded' '
	unitsync map remove --property p1 99 >/dev/null &&
	smtp_start "$tmp/smtp" --fail-data 2 &&
	sed -i "s|^smtp_url = .*|smtp_url = $SMTP_URL|" nightly.ini &&
	before=$(smtp_count) &&
	nightly p1-full.csv --as-of 2026-06-04 >n7.out 2>n7.err &&
	test "$(smtp_count)" = $((before + 2)) &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT max(attempts) FROM notification WHERE message_id LIKE '"'"'%2026-06-04%'"'"'")" = 3
'

test_expect_success 'a refused password: recorded as failed, warned of, the night exits as it would' '
	printf "wrong\n" >smtp.pw &&
	before=$(smtp_count) &&
	nightly p1-full.csv --as-of 2026-06-05 >n8.out 2>n8.err &&
	test "$(smtp_count)" = "$before" &&
	grep "not sent after 1 try" n8.err && grep "some notifications were not delivered" n8.err &&
	sqlite3 "$UNITSYNC_DB" "SELECT status, detail FROM notification WHERE message_id LIKE '"'"'%2026-06-05%'"'"'" >rec &&
	grep "^failed|smtp: " rec &&
	printf "%s\n" "$SMTP_PASSWORD" >smtp.pw &&
	test_expect_code 0 unitsync --config nightly.ini notify "$(sed -n "s/^run directory: //p" n8.out)" 2>n9.err &&
	test "$(smtp_count)" = $((before + 2))
'

test_expect_success '--no-notify and --dry-run send nothing' '
	before=$(smtp_count) &&
	nightly p1-full.csv --as-of 2026-06-06 --no-notify >n10.out 2>n10.err &&
	nightly p1-full.csv --as-of 2026-06-07 --dry-run >n11.out 2>n11.err &&
	test "$(smtp_count)" = "$before" &&
	unitsync --config nightly.ini notify --dry-run "$(sed -n "s/^run directory: //p" n10.out)" >dry.out &&
	grep "^e-mail to pm-one@example.com,ops@example.com" dry.out && test "$(smtp_count)" = "$before"
'

test_expect_success 'a [notify] section naming no recipient says so, not nothing; no notification configured: silence' '
	printf "[property \"p1\"]\nsource = p1.csv\n[property \"p2\"]\nsource = p2.csv\n" >none.ini &&
	run=$(sed -n "s/^run directory: //p" n10.out) &&
	unitsync --config none.ini notify --dry-run "$run" >none.out 2>none.err &&
	test_cmp /dev/null none.out && test_cmp /dev/null none.err &&
	{ cat none.ini && printf "[notify]\nsmtp_url = smtp://127.0.0.1:9\nsmtp_from = a@example.com\n"; } >bare.ini &&
	unitsync --config bare.ini notify --dry-run "$run" >bare.out 2>bare.err &&
	test_cmp /dev/null bare.out &&
	grep "run .*: none of its 3 properties has a recipient (notify_email with \[notify\] smtp_url and smtp_from, notify_webhook, or \[notify\] webhook_url): no message" bare.err &&
	unitsync --config nightly.ini notify --dry-run "$run" >both.out 2>both.err &&
	grep "1 with nothing to tell, 0 with no recipient" both.err
'

test_expect_success 'a server without STARTTLS is refused, never sent to in clear' '
	port=$("$py" -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	{ "$py" -c "
import asyncio, sys
from aiosmtpd.controller import Controller
class H:
    async def handle_DATA(self, server, session, envelope):
        open(sys.argv[1], \"w\").write(\"got\"); return \"250 OK\"
c = Controller(H(), hostname=\"127.0.0.1\", port=int(sys.argv[2])); c.start()
import time; time.sleep(30)
" plain.got "$port" 2>plain.log & pid=$!; } &&
	sleep 1 &&
	sed -i "s|^smtp_url = .*|smtp_url = smtp://127.0.0.1:$port|" nightly.ini &&
	unitsync --config nightly.ini notify --resend "$(cat run1)" 2>n12.err; rc=$?; kill $pid; wait $pid 2>/dev/null
	test $rc = 1 && test ! -e plain.got && grep "smtp:" n12.err
'

[ $failed -eq 0 ]
