#!/usr/bin/env bash
# t0890-notify-webhook: each property's digest is posted to the webhooks of
# the configuration as signed JSON (HMAC-SHA256 over the body, checked by
# the receiver), once a night, retried through injected 500s, and a
# delivery that keeps failing is recorded and never changes the night
# (issue 20, unitsync-notify(1)).
. "$(dirname "$0")/lib.sh"
test_plan 6

py=/usr/bin/python3
H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
export_of() { # export_of P: residents of units 1-2 of P and one in unmapped unit 99
	echo $H
	for i in 1 2 99; do echo "$1,$i,$1-R$i,$1-H$i,primary,current,F$i,L$i,$1-r$i@example.com,,2024-01-01,"; done
}
requests() { ls "$HOOK_DIR" | grep -c '\.json$'; }
secret=whsec-test-0123456789

(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	for u in $(seq 6); do echo "b1,L$u,Unit $u"; done
} >seed.csv && test_init_db p1 p2 &&
	for u in 1 2; do
		unitsync map add --offline --property p1 "$u" "L$u" >/dev/null &&
			unitsync map add --offline --property p2 "$u" "L$((u + 2))" >/dev/null || exit 1
	done &&
	for p in p1 p2; do unitsync property set "$p" --stale-after-nights 100 >/dev/null || exit 1; done &&
	export_of p1 >p1.csv && export_of p2 | grep -v ',99,' >p2.csv &&
	printf '%s\n' "$secret" >hook.key && chmod 600 hook.key) || exit 1
sim_start "$tmp/seed.csv" || exit 1
hook_start "$tmp/hook" "$secret" || exit 1
write_ini() {
	cat >nightly.ini <<-EOF
	[notify]
	webhook_url = $HOOK_URL/all
	webhook_secret_file = hook.key

	[property "p1"]
	source = p1.csv
	notify_webhook = $HOOK_URL/p1/T0KEN-in-the-path

	[property "p2"]
	source = p2.csv
	EOF
}
nightly() { "$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs "$@"; }

test_expect_success 'night 1: p1 posted to both its webhooks, signed; p2 (nothing to tell) to none' '
	write_ini && nightly --as-of 2026-06-01 >n1.out 2>n1.err &&
	test "$(requests)" = 2 && ! grep -v "^200 " "$HOOK_DIR/log" &&
	for f in "$HOOK_DIR"/req-*.json; do
		"$py" -c "import json, sys; b = json.load(open(sys.argv[1])); assert b[\"property_id\"] == \"p1\", b" "$f" || return 1
	done &&
	grep "p2: nothing needs a person" n1.err
'

test_expect_success 'the body: version 1, the figures of the run, a text field for chat webhooks' '
	"$py" - "$HOOK_DIR/req-1.json" "$HOOK_DIR/req-1.hdr" "$(sed -n "s/^run directory: //p" n1.out)" <<-\EOP
	import json, sys
	b = json.load(open(sys.argv[1]))
	hdr = dict(l.rstrip("\n").split(" ", 1) for l in open(sys.argv[2]))
	assert b["version"] == 1 and b["source"] == "unitsync", b
	assert b["as_of"] == "2026-06-01" and b["needs_person"] is True and b["held"] is False, b
	assert b["exceptions"] == 1 and b["failed"] == 0, b
	assert b["changes"] == {"USER_CREATE": 2, "ASSIGN": 2, "UNASSIGN": 0}, b
	assert b["run_id"] == sys.argv[3].rsplit("/", 1)[1], b
	assert b["text"].startswith(b["subject"] + "\n\n") and "unmapped_unit" in b["text"], b
	assert "unit 99, person p1-R99" in b["text"], b
	assert hdr["delivery"] == b["message_id"], hdr
	assert hdr["content-type"] == "application/json", hdr
	EOP
'

test_expect_success 'a rerun of the night posts nothing again; the webhook URL is never recorded whole' '
	nightly --as-of 2026-06-01 >n2.out 2>n2.err && test "$(requests)" = 2 &&
	grep "sent before; not again" n2.err &&
	sqlite3 "$UNITSYNC_DB" "SELECT target FROM notification WHERE channel = '"'"'webhook'"'"'" >targets &&
	test "$(wc -l <targets)" = 2 && grep -x "127.0.0.1:[0-9]*#[0-9a-f]\{12\}" targets &&
	! grep -r "T0KEN" targets n1.err n2.err
'

test_expect_success 'injected 500s are retried with backoff and delivered; the tries recorded' '
	hook_start "$tmp/hook" "$secret" --fail 3 && write_ini &&
	before=$(requests) &&
	nightly --as-of 2026-06-02 >n3.out 2>n3.err &&
	test "$(requests)" = $((before + 2)) &&
	test "$(grep -c "^500 " "$HOOK_DIR/log")" = 3 &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT sum(attempts) FROM notification WHERE message_id LIKE '"'"'%2026-06-02%'"'"'")" = 5
'

test_expect_success 'a receiver that refuses the signature: recorded as failed, warned of, the night unchanged' '
	hook_start "$tmp/hook" "another-secret" && write_ini &&
	before=$(requests) &&
	nightly --as-of 2026-06-03 >n4.out 2>n4.err &&
	test "$(requests)" = "$before" && grep "^401 " "$HOOK_DIR/log" &&
	grep "webhook to 127.0.0.1:[0-9]*#[0-9a-f]* not sent after 1 try: webhook: .*HTTP 401" n4.err &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM notification WHERE message_id LIKE '"'"'%2026-06-03%'"'"' AND status = '"'"'failed'"'"'")" = 2
'

test_expect_success 'no signing key: notify says so (78) and sends nothing; the night still exits 0' '
	rm hook.key &&
	unitsync --config nightly.ini notify "$(sed -n "s/^run directory: //p" n4.out)" 2>n5.err; rc=$?
	test $rc = 78 && grep "webhook secret file" n5.err &&
	nightly --as-of 2026-06-04 >n6.out 2>n6.err && grep "some notifications were not delivered" n6.err
'

[ $failed -eq 0 ]
