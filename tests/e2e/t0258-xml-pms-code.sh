#!/usr/bin/env bash
# t0258-xml-pms-code: an XML export names its PMS property code; staged
# with --property P, a file naming another code than P's exports so far is
# an export of another property dropped under P's name, and is refused
# whole (65, nothing staged): staged, its residents would get P's doors
# and P's residents would be removed (review rv16 #2).  The code is
# recorded with the snapshot; --pms-property accepts a changed code.
. "$(dirname "$0")/lib.sh"
test_plan 8

q() { sqlite3 -batch "$UNITSYNC_DB" "$1"; }
# rt2 CODE "UNIT ID FIRST LAST EMAIL"...: a Yardi GetResidentTransactions reply of PMS property CODE
rt2() {
	local code=$1 u id f l e
	shift
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<ResidentTransactions xmlns="http://yardi.com/ResidentTransactions20" xmlns:MITS="http://my-company.com/namespace"><Property><PropertyID><MITS:Identification Type="other"><MITS:PrimaryID>'"$code"'</MITS:PrimaryID></MITS:Identification></PropertyID>'
	for r in "$@"; do
		read -r u id f l e <<<"$r"
		echo "<RT_Customer><CustomerID>$id</CustomerID><Customers><MITS:Customer Type=\"current resident\"><MITS:CustomerID>$id</MITS:CustomerID><MITS:Property><MITS:PrimaryID>$code</MITS:PrimaryID><MITS:UnitID>$u</MITS:UnitID></MITS:Property><MITS:Name><MITS:FirstName>$f</MITS:FirstName><MITS:LastName>$l</MITS:LastName></MITS:Name><MITS:Address Type=\"current\"><MITS:Email>$e</MITS:Email></MITS:Address><MITS:Lease><MITS:ActualMoveIn>2024-01-01</MITS:ActualMoveIn></MITS:Lease></MITS:Customer></Customers><RT_Unit><UnitID>$u</UnitID></RT_Unit></RT_Customer>"
	done
	echo '</Property></ResidentTransactions>'
}

(cd "$tmp" && test_init_db oak elm &&
	rt2 OAK01 "1 t1 Ana Ortiz ana@example.com" "2 t2 Ben Bell ben@example.com" >oak1.xml &&
	rt2 OAK01 "1 t1 Ana Ortiz ana@example.com" >oak2.xml &&
	rt2 ELM01 "1 t9001 Zed Zane zed@example.com" "2 t9002 Yul Yu yul@example.com" >elm.xml &&
	rt2 OAK02 "1 t1 Ana Ortiz ana@example.com" "2 t2 Ben Bell ben@example.com" "3 t3 Cy Cole cy@example.com" >oak-recoded.xml) || exit 1

test_expect_success 'the first export of oak records its PMS code' '
	unitsync extract-xml --property oak oak1.xml >x1.out &&
	unitsync extract-xml --property elm elm.xml >/dev/null &&
	test "$(q "SELECT pms_property FROM snapshot WHERE source_name = '\''oak1.xml'\''")" = OAK01
'

test_expect_success 'another export of OAK01 is staged as oak' '
	unitsync extract-xml --property oak oak2.xml >x2.out && grep "^snapshot [0-9]*: .oak2.xml." x2.out
'

test_expect_success 'elm'"'"'s export dropped as oak'"'"'s: refused whole, 65, nothing staged' '
	cp elm.xml oak.xml && before=$(q "SELECT count(*) FROM snapshot") &&
	test_expect_code 65 unitsync extract-xml --property oak oak.xml >x3.out 2>x3.err &&
	grep "'"'"'oak.xml'"'"' is an export of PMS property '"'"'ELM01'"'"', but oak'"'"'s exports so far were of '"'"'OAK01'"'"' (snapshot [0-9]*, '"'"'oak2.xml'"'"'): a file of another property? the whole file is refused; if oak'"'"'s PMS code changed, stage it once with --pms-property ELM01" x3.err &&
	test "$(q "SELECT count(*) FROM snapshot")" = "$before" &&
	test "$(q "SELECT count(*) FROM stg_person WHERE pms_person_id LIKE '\''t900%'\''")" = 2
'

test_expect_success 'through unitsync extract LIST (nightly.sh): the group exits 65' '
	printf "oak\txml\tauto\t-\t-\toak.xml\n" >list &&
	test_expect_code 65 unitsync extract list >l.out 2>l.err &&
	grep -x "extract oak: exit 65" l.out && grep "is an export of PMS property .ELM01." l.err
'

test_expect_success 'a changed code is accepted once with --pms-property, then is oak'"'"'s' '
	test_expect_code 65 unitsync extract-xml --property oak oak-recoded.xml 2>r.err &&
	unitsync extract-xml --property oak --pms-property OAK02 oak-recoded.xml >r.out &&
	test "$(q "SELECT pms_property FROM snapshot WHERE source_name = '\''oak-recoded.xml'\'' ORDER BY snapshot_id DESC LIMIT 1")" = OAK02 &&
	rt2 OAK02 "1 t1 Ana Ortiz ana@example.com" >oak3.xml &&
	unitsync extract-xml --property oak oak3.xml >/dev/null
'

test_expect_success 'without --property each row is its own code'"'"'s: no pin' '
	unitsync property add ELM01 >/dev/null &&
	unitsync extract-xml elm.xml >e.out && grep "^snapshot [0-9]*: .elm.xml." e.out
'

test_expect_success 'inside a SOAP envelope, the same: refused whole' '
	{ echo "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" &&
		echo "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><GetResidentTransactionsResponse><GetResidentTransactionsResult>" &&
		sed 1d elm.xml &&
		echo "</GetResidentTransactionsResult></GetResidentTransactionsResponse></soap:Body></soap:Envelope>"; } >oak-soap.xml &&
	test_expect_code 65 unitsync extract-xml --property oak oak-soap.xml >s.out 2>s.err &&
	grep "is an export of PMS property .ELM01., but oak.s exports so far were of .OAK02." s.err
'

test_expect_success 'a code differing only in letter case is the same property'"'"'s' '
	rt2 oak02 "1 t1 Ana Ortiz ana@example.com" "2 t2 Ben Bell ben@example.com" >oak-lower.xml &&
	unitsync extract-xml --property oak oak-lower.xml >l.out && grep "^snapshot [0-9]*: .oak-lower.xml." l.out
'
