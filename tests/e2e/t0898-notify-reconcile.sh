#!/usr/bin/env bash
# t0898-notify-reconcile: nightly.sh --reconcile compares each property's
# Latch building with the night's decision after the load, and the
# property's digest tells the drift it found (a hand assignment in Latch:
# key_without_lease) with what to do; without drift, or without
# --reconcile, nothing is sent for it (issue 20).
. "$(dirname "$0")/lib.sh"
test_plan 4


H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	printf '%s\n' 'b1,L1,Unit 1' 'b1,L2,Unit 2' 'b1,L3,Unit 3'
} >seed.csv && {
	echo $H
	echo p1,U1,R1,H1,primary,current,A,One,r1@example.com,,2024-01-01,
	echo p1,U2,R2,H2,primary,current,B,Two,r2@example.com,,2024-01-01,
} >p1.csv && test_init_db p1 >/dev/null &&
	unitsync property set p1 --latch-building b1 --stale-after-nights 100 >/dev/null &&
	for u in 1 2 3; do unitsync map add --offline --property p1 U$u L$u >/dev/null || exit 1; done) || exit 1
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
	notify_email = pm@example.com
	EOF
) || exit 1
nightly() { "$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs "$@"; }

test_expect_success 'a night whose Latch matches: reconcile runs, nothing to tell, no mail' '
	nightly --as-of 2026-06-01 --reconcile >n1.out 2>n1.err &&
	run=$(sed -n "s/^run directory: //p" n1.out) &&
	test -f "runs/reconcile/$(basename "$run")/1/reconcile.csv" &&
	test "$(wc -l <"runs/reconcile/$(basename "$run")/1/reconcile.csv")" = 1 &&
	test "$(smtp_count)" = 0 && grep "p1: nothing needs a person" n1.err
'

test_expect_success 'a hand assignment in Latch: the next night'"'"'s digest tells the drift and what to do' '
	sim_api POST /v1/users "{\"email\":\"stranger@example.com\",\"firstName\":\"S\"}" >/dev/null &&
	s=$(sim_user_of stranger@example.com) &&
	sim_api PUT /v1/units/L3/residents/$s "{\"assignedBy\":\"front-desk\"}" >/dev/null &&
	nightly --as-of 2026-06-02 --reconcile >n2.out 2>n2.err &&
	test "$(smtp_count)" = 1 && smtp_message 1 >m1 &&
	grep -x "Subject: \[unitsync\] p1 2026-06-02: Latch differs from unitsync.s records" m1 &&
	grep "Latch differs from unitsync.s records (unitsync reconcile): 1 key_without_lease;" m1 &&
	grep -F "unitsync reconcile --property p1 --repair" m1 &&
	grep -F "runs/reconcile/" m1
'

test_expect_success 'without --reconcile the drift is not known, and nothing is sent' '
	nightly --as-of 2026-06-03 >n3.out 2>n3.err &&
	test "$(smtp_count)" = 1 && ! test -d "runs/reconcile/$(basename "$(sed -n "s/^run directory: //p" n3.out)")"
'

test_expect_success 'notify refuses a file that is not a reconcile.csv, naming it' '
	printf "a,b\n1,2\n" >bad.csv &&
	test_expect_code 78 unitsync --config nightly.ini notify --reconcile bad.csv \
		"$(sed -n "s/^run directory: //p" n3.out)" 2>e1 &&
	grep "bad.csv. line 1: not the header of a reconcile.csv" e1
'

[ $failed -eq 0 ]
