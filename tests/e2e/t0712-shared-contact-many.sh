#!/usr/bin/env bash
# t0712-shared-contact-many: a contact many residents give (a PMS's
# placeholder e-mail, none@none.com in any letter case) holds every one of
# them, as two would be held, and each exception stays readable: it names
# at most ten of the others, says how many people give the contact, and
# ends as every duplicate_email detail does.  (The hold used to join every
# pair of those residents: 596 s for 15,000 people; and a detail was cut at
# 1,024 bytes in the middle of a name.)
. "$(dirname "$0")/lib.sh"
test_plan 6

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
# the records a duplicate_email exception names in exceptions.csv's detail
named() { grep -o "[a-z]*/[A-Z][0-9]*" | sort -u | wc -l; }
# delta.csv: property_id is column 3, pms_person_id column 6
synced() { awk -F, 'NR > 1 { print $3 "/" $6 }' "$1/delta.csv" | sort -u; }

(cd "$tmp" && test_init_db pa pb pc && {
	echo property_id,pms_unit_id,latch_unit_id
	for p in pa pb pc; do for u in $(seq 1 1200); do echo "$p,$u,$p-$u"; done; done
} >map.csv && unitsync map import --offline map.csv >/dev/null &&
	for p in pa pb pc; do
		unitsync property set "$p" --guard-percent 100 >/dev/null || exit 1
		# 40 people of 40 names giving one e-mail, and one with their own
		{
			echo $H
			for i in $(seq 10 49); do
				case $((i % 3)) in 0) e=none@none.com ;; 1) e=NONE@none.com ;; *) e=None@None.Com ;; esac
				echo "$p,$i,P$i,H$p$i,primary,current,First$p$i,Last$i,$e,,2024-01-01,"
			done
			echo "$p,99,U99,H${p}99,primary,current,Una,Own,own.$p@example.com,,2024-01-01,"
		} >$p.csv || exit 1
	done) || exit 1

test_expect_success 'every one of 120 people giving one e-mail in three properties is held, the rest synced' '
	for p in pa pb pc; do unitsync extract-csv $p.csv >/dev/null || return 1; done &&
	unitsync transform --as-of 2026-06-01 --out runs >t1.out &&
	run=$(tail -n 1 t1.out) &&
	test "$(synced "$run")" = "$(printf "pa/U99\npb/U99\npc/U99")" &&
	test "$(grep -c "^duplicate_email," "$run/exceptions.csv")" = 120
'

test_expect_success 'each of their exceptions names ten others, how many give it, and ends whole' '
	run=$(tail -n 1 t1.out) &&
	grep "^duplicate_email,pb,20,P20," "$run/exceptions.csv" >d &&
	grep -F "e-mail '"'"'None@None.Com'"'"' is shared with pa/P10 pa/P11 " d &&
	grep -F ", among the 120 people who give it; each is held: no key given or taken for them tonight" d &&
	test "$(named <d)" = 10 &&
	test "$(grep "^duplicate_email," "$run/exceptions.csv" |
		grep -c ", among the 120 people who give it; each is held: no key given or taken for them tonight\"*$")" = 120
'

test_expect_success 'a run of one property holds its 40 and names the others as outside it, whole' '
	unitsync transform --as-of 2026-06-01 --out runs --property pc >t2.out &&
	run=$(tail -n 1 t2.out) &&
	test "$(synced "$run")" = pc/U99 &&
	test "$(grep -c "^duplicate_email,pc," "$run/exceptions.csv")" = 40 &&
	grep "^duplicate_email,pc,10,P10," "$run/exceptions.csv" >d &&
	grep -F "shared with pa/P10 (pa is not in this run: judged from its newest export, snapshot" d &&
	test "$(named <d)" = 10 &&
	grep -F ", among the 120 people who give it; each is held: no key given or taken for them tonight" d
'

test_expect_success 'a few people giving one e-mail are all named, as before' '
	{ echo $H; echo "pa,1,S1,HS1,primary,current,Sam,One,few@example.com,,2024-01-01,"; } >pa2.csv &&
	{ echo $H; echo "pb,1,S2,HS2,primary,current,Sue,Two,FEW@example.com,,2024-01-01,"
	  echo "pb,2,S3,HS3,primary,current,Sid,Six,few@example.com,,2024-01-01,"; } >pb2.csv &&
	{ echo $H; echo "pc,1,S4,HS4,primary,current,Sal,Ng,own4@example.com,,2024-01-01,"; } >pc2.csv &&
	for p in pa pb pc; do unitsync extract-csv ${p}2.csv >/dev/null || return 1; done &&
	unitsync transform --as-of 2026-06-02 --out runs >t3.out &&
	run=$(tail -n 1 t3.out) &&
	grep -Fx "duplicate_email,pb,2,S3,e-mail '"'"'few@example.com'"'"' is shared with pa/S1 pb/S2; each is held: no key given or taken for them tonight" \
		"$run/exceptions.csv" &&
	test "$(grep -c "^duplicate_email," "$run/exceptions.csv")" = 3
'

# 1,100 records of one name giving one e-mail are one resident (a re-key
# or many leases: not a clash among them), and a person of another name
# giving it too clashes with each of them
test_expect_success 'a person sharing an e-mail with 1,100 records of one other name holds them all' '
	{ echo $H; for u in $(seq 1 1100); do
		printf "pa,%d,J%04d,HJ%d,primary,current,John,Smith,j@example.com,,2024-01-01,\n" $u $u $u
	  done; } >pa3.csv &&
	{ echo $H; echo "pb,1,Z1,HZ1,primary,current,Jane,Doe,J@example.com,,2024-01-01,"; } >pb3.csv &&
	{ echo $H; echo "pc,1,S4,HS4,primary,current,Sal,Ng,own4@example.com,,2024-01-01,"; } >pc3.csv &&
	for p in pa pb pc; do unitsync extract-csv ${p}3.csv >/dev/null || return 1; done &&
	unitsync transform --as-of 2026-06-03 --out runs >t4.out &&
	run=$(tail -n 1 t4.out) &&
	test "$(synced "$run")" = pc/S4 &&
	test "$(grep -c "^duplicate_email,pa," "$run/exceptions.csv")" = 1100 &&
	grep "^duplicate_email,pb,1,Z1," "$run/exceptions.csv" >d &&
	grep -F "is shared with pa/J0001 pa/J0002 " d &&
	grep -F ", among the 1101 people who give it; each is held: no key given or taken for them tonight" d
'

test_expect_success 'their exceptions, whose others found first are all of their name, say so' '
	run=$(tail -n 1 t4.out) &&
	grep -Fx "duplicate_email,pa,7,J0007,e-mail '"'"'j@example.com'"'"' is shared with some of the 1100 other people who give it; each is held: no key given or taken for them tonight" \
		"$run/exceptions.csv"
'
