#!/usr/bin/env bash
# t0300-yardi-real: the whole pipeline on a real Yardi ResidentTransactions
# 2.0 export (../shared/samples/pms/yardi-voyager-pyx4j), three nights.
# The expected files were written by hand from reading the XML.
. "$(dirname "$0")/lib.sh"
[ -n "$samples" ] || test_skip_all "../shared/samples/pms is absent (a clone used elsewhere)"
xml=$samples/yardi-voyager-pyx4j/GetResidentTransactions.xml
test_plan 14

test_expect_success 'set up property prvista1 with every unit mapped but 413' '
	unitsync init &&
	unitsync property add prvista1 --timezone America/Los_Angeles &&
	for u in 141 142 144 145 146 147 148 149 150 411; do
		unitsync map add --offline --property prvista1 "$u" "L-$u" || return 1
	done &&
	{ echo building_uuid,unit_uuid,name &&
	  for u in 141 142 144 145 146 147 148 149 150 411 413; do echo "b-prvista1,L-$u,$u"; done; } >seed.csv
'

test_expect_success 'night 1: the real export stages 16 people in 11 units' '
	unitsync extract-xml --property prvista1 "$xml" >extract.out &&
	grep "16 people staged, 11 units, 0 rows skipped, 0 rejected" extract.out
'

test_expect_success 'roommates of unit 145 are tied to their household' '
	sqlite3 "$UNITSYNC_DB" "SELECT pms_person_id, household_id, role, status FROM stg_person
		WHERE pms_unit_id = '"'"'145'"'"' ORDER BY pms_person_id" >actual &&
	cat >expect <<-\EOT &&
	r0000777|t0005339|roommate|current
	r0000778|t0005339|roommate|current
	r0000779|t0005339|roommate|current
	t0005339|t0005339|primary|current
	EOT
	test_cmp expect actual
'

# t0005529 is a "current resident" whose move-in (2011-06-01) is two months
# after the night: held and reported (status_conflict), before its unit is looked at
test_expect_success 'night 1 as of 2011-04-01: no delta, the exceptions explain why' '
	unitsync transform --as-of 2011-04-01 --out runs >transform.out &&
	run=$(run_dir transform.out) &&
	echo "$run" >night1.run &&
	echo "seq,op,property_id,pms_unit_id,latch_unit_id,pms_person_id,latch_user_id,reason,group_id,effective_date,email,phone,first_name,last_name" >expect &&
	test_cmp expect "$run/delta.csv" &&
	cat >expect <<-\EOT &&
	kind,property_id,pms_unit_id,pms_person_id,detail
	missing_contact,prvista1,145,r0000777,neither e-mail nor phone
	missing_contact,prvista1,145,r0000778,neither e-mail nor phone
	missing_contact,prvista1,145,r0000779,neither e-mail nor phone
	missing_contact,prvista1,142,t0005337,neither e-mail nor phone
	missing_contact,prvista1,144,t0005338,neither e-mail nor phone
	overdue_move_out,prvista1,144,t0005338,expected move-out 2011-03-31 has passed with no actual move-out; access kept
	missing_contact,prvista1,145,t0005339,neither e-mail nor phone
	missing_contact,prvista1,147,t0005340,neither e-mail nor phone
	missing_contact,prvista1,148,t0005341,neither e-mail nor phone
	missing_contact,prvista1,150,t0005342,neither e-mail nor phone
	missing_contact,prvista1,411,t0005343,neither e-mail nor phone
	overdue_move_out,prvista1,411,t0005343,expected move-out 2011-03-15 has passed with no actual move-out; access kept
	unknown_status,prvista1,411,t0005517,unknown lease status '"'"'other'"'"'; access left as it is
	status_conflict,prvista1,413,t0005529,"status '"'"'current resident'"'"', but the move-in date 2011-06-01 is after the night (2011-04-01) by more than the lead days; access left as it is"
	EOT
	test_cmp expect "$run/exceptions.csv"
'

test_expect_success 'the future residents, the applicant and the only e-mail (fedor@pyx4j.com) get nothing' '
	run=$(cat night1.run) &&
	! grep -E "t0005518|r0000852|t0005344|t0005345|fedor@pyx4j.com" "$run/delta.csv" "$run/exceptions.csv" &&
	test "$(sqlite3 "$UNITSYNC_DB" "SELECT count(*) FROM stg_person WHERE email IS NOT NULL")" = 1
'

test_expect_success 'the run directory is complete, checksummed and private' '
	run=$(cat night1.run) &&
	(cd "$run" && sha256sum -c SHA256SUMS) &&
	test "$(stat -c %a "$run")" = 750 &&
	test "$(stat -c %a "$run/delta.csv")" = 640 &&
	test "$(stat -c %a "$UNITSYNC_DB")" = 600 &&
	python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert m[\"guard\"][\"verdict\"]==\"ok\"; assert m[\"inputs\"][0][\"sha256\"]==sys.argv[2]" \
		"$run/manifest.json" "$(sha256sum "$xml" | cut -d" " -f1)"
'

# night 2: the property manager fills in e-mails after reading the exceptions;
# the copy is made here, at test time, and never committed
test_expect_success 'night 2: the export with e-mails creates and assigns every eligible resident' '
	perl "$TOP/tests/e2e/fill-emails.pl" "$xml" >night2.xml &&
	unitsync extract-xml --property prvista1 night2.xml &&
	unitsync transform --as-of 2011-04-01 --out runs >transform.out &&
	run=$(run_dir transform.out) && echo "$run" >night2.run &&
	cat >expect <<-\EOT &&
	seq,op,property_id,pms_unit_id,latch_unit_id,pms_person_id,latch_user_id,reason,group_id,effective_date,email,phone,first_name,last_name
	1,USER_CREATE,prvista1,145,,r0000777,,move_in,,2011-04-01,r0000777@example.com,,Scott,Hardy
	2,ASSIGN,prvista1,145,L-145,r0000777,,move_in,,2011-04-01,,,,
	3,USER_CREATE,prvista1,145,,r0000778,,move_in,,2011-04-01,r0000778@example.com,,Marilyn,Hardy
	4,ASSIGN,prvista1,145,L-145,r0000778,,move_in,,2011-04-01,,,,
	5,USER_CREATE,prvista1,145,,r0000779,,move_in,,2011-04-01,r0000779@example.com,,Alvin,George
	6,ASSIGN,prvista1,145,L-145,r0000779,,move_in,,2011-04-01,,,,
	7,USER_CREATE,prvista1,142,,t0005337,,move_in,,2011-04-01,t0005337@example.com,,Joseph,Gordon
	8,ASSIGN,prvista1,142,L-142,t0005337,,move_in,,2011-04-01,,,,
	9,USER_CREATE,prvista1,144,,t0005338,,move_in,,2011-04-01,t0005338@example.com,,Ellen,Page
	10,ASSIGN,prvista1,144,L-144,t0005338,,move_in,,2011-04-01,,,,
	11,USER_CREATE,prvista1,145,,t0005339,,move_in,,2011-04-01,t0005339@example.com,,Tom,Hardy
	12,ASSIGN,prvista1,145,L-145,t0005339,,move_in,,2011-04-01,,,,
	13,USER_CREATE,prvista1,147,,t0005340,,move_in,,2011-04-01,t0005340@example.com,,Ken,Watanabe
	14,ASSIGN,prvista1,147,L-147,t0005340,,move_in,,2011-04-01,,,,
	15,USER_CREATE,prvista1,148,,t0005341,,move_in,,2011-04-01,t0005341@example.com,,Dileep,Rao
	16,ASSIGN,prvista1,148,L-148,t0005341,,move_in,,2011-04-01,,,,
	17,USER_CREATE,prvista1,150,,t0005342,,move_in,,2011-04-01,t0005342@example.com,,Cillian,Murphy
	18,ASSIGN,prvista1,150,L-150,t0005342,,move_in,,2011-04-01,,,,
	19,USER_CREATE,prvista1,411,,t0005343,,move_in,,2011-04-01,t0005343@example.com,,Tom,Berenger
	20,ASSIGN,prvista1,411,L-411,t0005343,,move_in,,2011-04-01,,,,
	EOT
	test_cmp expect "$run/delta.csv" &&
	! grep missing_contact "$run/exceptions.csv"
'

sim_start "$tmp/seed.csv" || exit 1
test_expect_success 'night 2 loads into latch-sim' '
	unitsync load "$(cat night2.run)" >load.out &&
	grep "20 done, 0 already done, 0 failed" load.out &&
	curl -sf "$SIM_URL/_sim/state" >state.json &&
	python3 - state.json >actual <<-\EOP &&
	import json, sys
	s = json.load(open(sys.argv[1]))
	email = {u["userUuid"]: u["email"] for u in s["users"]}
	print(len(s["users"]), "users")
	for r in s["residents"]:
	    print(r["unit"], email[r["userUuid"]], r["assignedBy"])
	EOP
	sort -o actual actual &&
	cat >expect <<-\EOT &&
	10 users
	L-142 t0005337@example.com demo
	L-144 t0005338@example.com demo
	L-145 r0000777@example.com demo
	L-145 r0000778@example.com demo
	L-145 r0000779@example.com demo
	L-145 t0005339@example.com demo
	L-147 t0005340@example.com demo
	L-148 t0005341@example.com demo
	L-150 t0005342@example.com demo
	L-411 t0005343@example.com demo
	EOT
	test_cmp expect actual
'

test_expect_success 'loading night 2 again sends nothing' '
	curl -sf -X POST "$SIM_URL/_sim/reset-stats" >/dev/null &&
	unitsync load "$(cat night2.run)" >load.out &&
	grep "0 done, 20 already done, 0 failed" load.out &&
	curl -sf "$SIM_URL/_sim/stats" | python3 -c "import json,sys; s=json.load(sys.stdin); assert s[\"total\"]==0, s"
'

test_expect_success 'nothing was applied twice' '
	curl -sf "$SIM_URL/_sim/stats" >stats.json &&
	python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert s[\"effects_repeated\"]==0 and s[\"key_reused_for_different_request\"]==0, s" stats.json
'

test_expect_success 'night 3 with no change: the same file reuses its snapshot and the delta is empty' '
	unitsync extract-xml --property prvista1 night2.xml >extract.out &&
	grep "reused" extract.out &&
	unitsync transform --as-of 2011-04-01 --out runs >transform.out &&
	run=$(run_dir transform.out) &&
	test "$(wc -l <"$run/delta.csv")" = 1 &&
	unitsync load "$run" >load.out &&
	grep "0 done, 0 already done, 0 failed" load.out
'

test_expect_success 'Latch state after night 3 is unchanged' '
	curl -sf "$SIM_URL/_sim/state" >state3.json &&
	python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); assert a[\"residents\"]==b[\"residents\"] and a[\"users\"]==b[\"users\"]" state.json state3.json
'

test_expect_success 'the client secret appears in no run file, log or output' '
	! grep -r -F "$UNITSYNC_CLIENT_SECRET" runs load.out transform.out extract.out
'

test_expect_success 'a transform of the same inputs is byte-identical' '
	unitsync transform --as-of 2011-04-01 --out runs2 >t1.out &&
	unitsync transform --as-of 2011-04-01 --out runs3 >t2.out &&
	cmp "$(run_dir t1.out)/delta.csv" "$(run_dir t2.out)/delta.csv" &&
	cmp "$(run_dir t1.out)/exceptions.csv" "$(run_dir t2.out)/exceptions.csv"
'
[ $failed -eq 0 ]
