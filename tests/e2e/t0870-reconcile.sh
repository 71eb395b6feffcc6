#!/usr/bin/env bash
# t0870-reconcile: unitsync reconcile reads the live Latch state of a
# property's building and compares it with the decision (the property's
# latest run) and the ledger: each kind is produced by a change made
# directly in latch-sim through its HTTP API (a hand assignment, a hand
# removal, an unmapped unit given a resident, a user's e-mail edited, a
# night whose requests fail) and found, one row each in reconcile.csv;
# --repair writes a run that load applies, after which reconcile exits 0
# once the hand changes it never undoes are undone by hand (issue 19).
. "$(dirname "$0")/lib.sh"
test_plan 13

faults() { curl -sf -X POST -d "$1" "$SIM_URL/_sim/faults" >/dev/null; }

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && {
	echo building_uuid,unit_uuid,name
	printf '%s\n' 'b1,L1,Unit 1' 'b1,L2,Unit 2' 'b1,L3,Unit 3' 'b1,L4,Unit 4' \
		'b1,L5,Unit 5' 'b1,L9,Storage'
} >seed.csv && {
	echo $H
	echo p1,U1,R1,H1,primary,current,A,One,r1@example.com,,2024-01-01,
	echo p1,U2,R2,H2,primary,current,B,Two,r2@example.com,,2024-01-01,
	echo p1,U3,R3,H3,primary,current,C,Three,r3@example.com,555-0103,2024-01-01,
	echo p1,U4,R4,H4,primary,current,D,Four,r4@example.com,,2024-01-01,
} >night1.csv && {
	cat night1.csv
	echo p1,U5,R5,H5,primary,current,E,Five,r5@example.com,,2024-01-01,
} >night2.csv &&
	test_init_db p1 >/dev/null &&
	unitsync property set p1 --latch-building b1 >/dev/null &&
	for u in 1 2 3 4 5; do
		unitsync map add --offline --property p1 U$u L$u >/dev/null || exit 1
	done) || exit 1
sim_start "$tmp/seed.csv" || exit 1

test_expect_success 'after a clean load Latch matches: exit 0, only the header' '
	unitsync extract-csv night1.csv >/dev/null &&
	unitsync transform --as-of 2024-06-01 --out runs >t1.out &&
	unitsync load "$(run_dir t1.out)" >/dev/null &&
	unitsync reconcile --property p1 --out rec0 >rec0.out &&
	echo "kind,property_id,latch_unit_id,latch_user_id,email,pms_unit_id,pms_person_id,detail" >header &&
	test_cmp header rec0/reconcile.csv &&
	(cd rec0 && sha256sum -c --quiet SHA256SUMS) &&
	grep -q "^property p1, Latch building b1: 6 units, 4 residents, 4 users read; decision: run " rec0.out &&
	for k in key_without_lease removed_outside missing_in_latch occupied_unmapped_unit \
		user_contact_changed; do grep -qx "$k: 0" rec0.out || return 1; done
'

test_expect_success 'hand changes in Latch, and a night whose PUTs fail' '
	unitsync extract-csv night2.csv >/dev/null &&
	unitsync transform --as-of 2024-06-02 --out runs >t2.out &&
	faults "{\"methods\":\"PUT,POST /v1/users\",\"error_rate\":1}" &&
	test_expect_code 75 unitsync load --max-attempts 1 "$(run_dir t2.out)" >/dev/null 2>&1 &&
	faults "{\"methods\":\"\",\"error_rate\":0}" &&
	sim_api POST /v1/users "{\"email\":\"stranger@example.com\",\"firstName\":\"S\"}" >/dev/null &&
	s=$(sim_user_of stranger@example.com) && r2=$(sim_user_of r2@example.com) &&
	r3=$(sim_user_of r3@example.com) &&
	sim_api PUT /v1/units/L1/residents/$s "{\"assignedBy\":\"front-desk\"}" >/dev/null &&
	sim_api PUT /v1/units/L9/residents/$s "{\"assignedBy\":\"front-desk\"}" >/dev/null &&
	sim_api DELETE /v1/units/L2/residents/$r2 &&
	sim_api PATCH /v1/users/$r3 "{\"email\":\"r3.new@example.com\"}" >/dev/null &&
	test "$(sim_user_of r3.new@example.com)" = "$r3"
'

test_expect_success 'reconcile finds each kind once and exits 1' '
	test_expect_code 1 unitsync reconcile --property p1 --out rec1 >rec1.out &&
	for k in key_without_lease removed_outside missing_in_latch occupied_unmapped_unit \
		user_contact_changed; do grep -qx "$k: 1" rec1.out || return 1; done &&
	test "$(wc -l <rec1/reconcile.csv)" = 6 &&
	(cd rec1 && sha256sum -c --quiet SHA256SUMS)
'

test_expect_success 'each row names the pair, the people and why' '
	s=$(sim_user_of stranger@example.com) && r2=$(sim_user_of r2@example.com) &&
	r3=$(sim_user_of r3.new@example.com) &&
	run2=$(basename "$(run_dir t2.out)") &&
	f=rec1/reconcile.csv &&
	sed -n 2p $f | grep -q "^key_without_lease,p1,L1,$s,stranger@example.com,U1,,assigned in Latch by .front-desk.: no eligible PMS record" &&
	sed -n 3p $f | grep -q "^removed_outside,p1,L2,$r2,r2@example.com,U2,R2,assigned by unitsync in run .*; Latch no longer lists the resident$" &&
	sed -n 4p $f | grep -q "^missing_in_latch,p1,L5,,r5@example.com,U5,R5,ASSIGN (move_in) of run $run2: [a-z ]*; the person has no Latch user$" &&
	sed -n 5p $f | grep -q "^occupied_unmapped_unit,p1,L9,$s,stranger@example.com,,,Latch unit .Storage. has residents and no PMS unit is mapped to it; assigned by .front-desk.$" &&
	sed -n 6p $f | grep -q "^user_contact_changed,p1,,$r3,r3.new@example.com,U3,R3,Latch has e-mail .r3.new@example.com. and phone .555-0103.; the PMS has e-mail .r3@example.com. and phone .555-0103.$"
'

test_expect_success 'reconcile changed nothing: Latch and the ledger are as they were' '
	curl -sf "$SIM_URL/_sim/state" >state1 &&
	sqlite3 "$UNITSYNC_DB" .dump >dump1 &&
	test_expect_code 1 unitsync reconcile --property p1 --out rec2 >/dev/null &&
	curl -sf "$SIM_URL/_sim/state" >state2 && test_cmp state1 state2 &&
	sqlite3 "$UNITSYNC_DB" .dump >dump2 && test_cmp dump1 dump2 &&
	test_cmp rec1/reconcile.csv rec2/reconcile.csv
'

test_expect_success 'Latch unreachable: 75; a property without a building: 78; unknown: 65' '
	UNITSYNC_LATCH_URL=http://127.0.0.1:1 UNITSYNC_TOKEN_URL=http://127.0.0.1:1/oauth/token \
		test_expect_code 75 unitsync reconcile --property p1 --out rec3 2>err3 &&
	grep -q "rerun later" err3 && ! test -e rec3/reconcile.csv &&
	unitsync property add p2 >/dev/null &&
	test_expect_code 78 unitsync reconcile --property p2 2>err4 &&
	grep -q "property .p2. has no Latch building" err4 &&
	test_expect_code 65 unitsync reconcile --property nope 2>err5 &&
	grep -q "unknown property .nope." err5
'

test_expect_success 'through the driver, with --help' '
	unitsync reconcile --help >help.out &&
	grep -q "^usage: unitsync reconcile --property P" help.out &&
	test_expect_code 1 unitsync --db "$UNITSYNC_DB" reconcile --property p1 --out rec4 >/dev/null &&
	test_cmp rec1/reconcile.csv rec4/reconcile.csv
'

test_expect_success '--repair writes a run that assigns the removed and the missing pairs again' '
	run2=$(basename "$(run_dir t2.out)") &&
	test_expect_code 1 unitsync reconcile --property p1 --out rec5 --repair >rec5.out &&
	grep -qx "repair: 2 ASSIGN, 1 USER_CREATE (reasserted), superseding run $run2 for p1" rec5.out &&
	run=$(tail -n 1 rec5.out) && test -d "$run" && test "$(dirname "$run")" = "$tmp/rec5" &&
	unitsync verify "$run" >/dev/null &&
	cut -d, -f2-6,8 "$run/delta.csv" >actual &&
	printf "%s\n" op,property_id,pms_unit_id,latch_unit_id,pms_person_id,reason \
		ASSIGN,p1,U2,L2,R2,reasserted USER_CREATE,p1,U5,,R5,reasserted \
		ASSIGN,p1,U5,L5,R5,reasserted >expect &&
	test_cmp expect actual &&
	grep -q "^[0-9]*,USER_CREATE,p1,U5,,R5,,reasserted,,[0-9-]*,r5@example.com,,E,Five$" "$run/delta.csv" &&
	echo kind,property_id,pms_unit_id,pms_person_id,detail >expect && test_cmp expect "$run/exceptions.csv" &&
	python3 -c "import json, sys; m = json.load(open(sys.argv[1])); assert m[\"repair_of\"] == sys.argv[2], m" \
		"$run/manifest.json" "$run2"
'

test_expect_success 'load applies it; the hand assignment stays, reported again; explain tells the repair run apart' '
	run=$(tail -n 1 rec5.out) &&
	unitsync load "$run" >load5.out &&
	s=$(sim_user_of stranger@example.com) &&
	curl -sf "$SIM_URL/_sim/state" | grep -q "\"unit\": *\"L1\", *\"userUuid\": *\"$s\"" &&
	test_expect_code 1 unitsync reconcile --property p1 --out rec6 >rec6.out &&
	for k in removed_outside missing_in_latch; do grep -qx "$k: 0" rec6.out || return 1; done &&
	for k in key_without_lease occupied_unmapped_unit user_contact_changed; do
		grep -qx "$k: 1" rec6.out || return 1; done &&
	grep -q "decision: run $(basename "$(run_dir t2.out)")$" rec6.out &&
	unitsync explain --property p1 --person R2 >ex.out &&
	r=$(basename "$(tail -n 1 rec5.out)") &&
	sed -n "/^run $r, as of/,/^run /p" ex.out >ex.repair &&
	grep -q "ASSIGN .*reasserted" ex.repair &&
	grep -q "^  a repair run (unitsync reconcile --repair): it gives back pairs Latch lost and decides nothing" ex.repair &&
	unitsync explain --property p1 --person R1 >ex1.out &&
	sed -n "/^run $r, as of/,/^run /p" ex1.out |
		grep -q "decides nothing; the decision is the run before it; no delta for the person$"
'

test_expect_success 'the hand changes undone by hand: reconcile exits 0' '
	s=$(sim_user_of stranger@example.com) && r3=$(sim_user_of r3.new@example.com) &&
	sim_api DELETE /v1/units/L1/residents/$s && sim_api DELETE /v1/units/L9/residents/$s &&
	sim_api PATCH /v1/users/$r3 "{\"email\":\"r3@example.com\"}" >/dev/null &&
	unitsync reconcile --property p1 --out rec7 --repair >rec7.out &&
	test_cmp header rec7/reconcile.csv &&
	! grep -q "^repair" rec7.out && test "$(ls rec7 | tr "\n" " ")" = "SHA256SUMS reconcile.csv "
'

test_expect_success 'a decision held by the safety guard is not repaired (4), nor one whose removals wait (1)' '
	unitsync property set p1 --guard-max 1 >/dev/null &&
	grep -v "^p1,U[34]," night2.csv >night3.csv &&
	unitsync extract-csv night3.csv >/dev/null &&
	test_expect_code 0 unitsync transform --as-of 2024-06-03 --out runs >t3.out &&
	run3=$(run_dir t3.out) &&
	r1=$(sim_user_of r1@example.com) && sim_api DELETE /v1/units/L1/residents/$r1 &&
	test_expect_code 4 unitsync reconcile --property p1 --out rec8 --repair >rec8.out 2>rec8.err &&
	grep -q "held by the safety guard" rec8.err && grep -qx "removed_outside: 1" rec8.out &&
	grep -qx "key_without_lease: 2" rec8.out &&
	grep -q "^key_without_lease,p1,L4,.*,R4,UNASSIGN (not_in_export) of run .*: not loaded$" rec8/reconcile.csv &&
	test "$(ls rec8 | tr "\n" " ")" = "SHA256SUMS reconcile.csv " &&
	unitsync approve "$run3" >/dev/null &&
	test_expect_code 1 unitsync reconcile --property p1 --out rec9 --repair >rec9.out 2>rec9.err &&
	grep -q "2 UNASSIGN rows of run .* are not loaded yet" rec9.err &&
	unitsync load "$run3" >/dev/null &&
	test_expect_code 1 unitsync reconcile --property p1 --out rec10 --repair >rec10.out &&
	grep -qx "repair: 1 ASSIGN, 0 USER_CREATE (reasserted), superseding run $(basename "$run3") for p1" rec10.out &&
	unitsync load "$(tail -n 1 rec10.out)" >/dev/null &&
	unitsync reconcile --property p1 --out rec11 >/dev/null
'

test_expect_success 'report shows the reconcile.csv beside a repair run, or the one given; html too' '
	run=$(tail -n 1 rec5.out) &&
	unitsync report "$run" --html rep.html >rep.out &&
	grep -qx "reconcile ($tmp/rec5/reconcile.csv):" rep.out &&
	grep -q "^  removed_outside  *unit L2  *user .* r2@example.com person R2 assigned by unitsync" rep.out &&
	grep -qx "  key_without_lease 1, removed_outside 1, missing_in_latch 1, occupied_unmapped_unit 1, user_contact_changed 1" rep.out &&
	grep -q "<table id=\"reconcile\">" rep.html &&
	test "$(grep -c "<tr><td>[a-z_]*</td><td>L[0-9]*</td>\|<tr><td>user_contact_changed</td>" rep.html)" = 5 &&
	grep -q "key_without_lease 1, removed_outside 1, missing_in_latch 1" rep.html &&
	unitsync report "$(run_dir t1.out)" --html rep0.html >rep0.out &&
	! grep -q "^reconcile" rep0.out && ! grep -q "id=\"reconcile\"" rep0.html &&
	unitsync report "$(run_dir t1.out)" --reconcile rec7/reconcile.csv >rep7.out &&
	grep -qx "  key_without_lease 0, removed_outside 0, missing_in_latch 0, occupied_unmapped_unit 0, user_contact_changed 0" rep7.out &&
	test_expect_code 65 unitsync report "$(run_dir t1.out)" --reconcile night1.csv 2>bad.err &&
	grep -q "night1.csv. line 1: not the header of a reconcile.csv" bad.err
'

test_expect_success 'user_contact_changed: an e-mail in another letter case is the same; another phone is not' '
	r1=$(sim_user_of r1@example.com) &&
	sim_api PATCH /v1/users/$r1 "{\"email\":\"R1@Example.COM\"}" >/dev/null &&
	sed "s/^p1,U1,R1,\(.*\),r1@example.com,,/p1,U1,R1,\1,r1@example.com,555-0101,/" night3.csv >night4.csv &&
	grep -q "^p1,U1,R1,.*,555-0101," night4.csv &&
	unitsync extract-csv night4.csv >/dev/null &&
	unitsync transform --as-of 2024-06-04 --out runs >t4.out &&
	unitsync load "$(run_dir t4.out)" >/dev/null &&
	unitsync reconcile --property p1 --out rec12 >/dev/null &&
	sim_api PATCH /v1/users/$r1 "{\"phone\":\"+1 555 0199\"}" >/dev/null &&
	test_expect_code 1 unitsync reconcile --property p1 --out rec13 >rec13.out &&
	grep -qx "user_contact_changed: 1" rec13.out &&
	grep -q "^user_contact_changed,p1,,$r1,R1@Example.COM,U1,R1,Latch has e-mail .R1@Example.COM. and phone .+1 555 0199.; the PMS has e-mail .r1@example.com. and phone .555-0101.$" rec13/reconcile.csv &&
	sim_api PATCH /v1/users/$r1 "{\"phone\":\"(555) 0101\"}" >/dev/null &&
	unitsync reconcile --property p1 --out rec14 >/dev/null
'
