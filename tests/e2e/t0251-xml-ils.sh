#!/usr/bin/env bash
# t0251-xml-ils: `unitsync extract-xml` on the MITS ILS marketing feeds of
# ../shared/samples/pms/mits-doomspork and ils-feeds-bozzuto (read in place)
# and on tests/data/xml/elm-ils-latin1.xml: unit lists whose unit id and
# marketing label differ by vendor.  Every count and row was written by hand
# from reading the XML (the comments say how).
. "$(dirname "$0")/lib.sh"
[ -n "$samples" ] || test_skip_all "../shared/samples/pms is absent (a clone used elsewhere)"
m=$samples/mits-doomspork
b=$samples/ils-feeds-bozzuto
test_plan 15

q() { sqlite3 -batch "$UNITSYNC_DB" "$1"; }
summary() { extract_summary "$@"; }
got() { sed -n "s/^snapshot [0-9]*: //p" "$1"; }
# units FILE: property|unit|label|dwelling of the newest snapshot of FILE
units() {
	q "SELECT property_id, pms_unit_id, label, dwelling FROM stg_unit WHERE snapshot_id =
	   (SELECT max(snapshot_id) FROM snapshot WHERE source_name = '$1')
	   ORDER BY property_id, pms_unit_id"
}
# stage FILE PEOPLE UNITS SKIPPED [OPTION...]: extract, compare the counts
stage() {
	f=$1 people=$2 nunits=$3 skipped=$4
	shift 4
	unitsync extract-xml "$@" "$f" >out 2>err &&
	summary "$f" "mits-ils${pick:+:$pick}" "$people" "$nunits" "$skipped" 0 >expect &&
	got out >actual && test_cmp expect actual
}

# the PMS property codes the feeds name, and the --property ids given
test_expect_success 'init' '
	test_init_db $sample_properties $fixture_properties madox hunters &&
	sha256sum "$m"/*.xml "$b"/*.xml >sums.before
'

# one Property (PrimaryID 89851, Camden Lakes) with five Floorplans and no
# ILS_Unit: a floorplan-level feed lists no unit
test_expect_success 'MITS 3.0 (LeaseStar): 0 people, 0 units, 0 skipped' '
	stage "$m/MITS_3.0_Sample.xml" 0 0 0 &&
	test "$(q "SELECT count(*) FROM stg_unit")" = 0
'

# the ManagementID 6890047 is the management company, not the property
test_expect_success 'MITS 3.0: its property is 89851, not the ManagementID' '
	pick=89851 stage "$m/MITS_3.0_Sample.xml" 0 0 0 --pms-property 89851 &&
	test_expect_code 65 unitsync extract-xml --pms-property 6890047 "$m/MITS_3.0_Sample.xml" 2>err &&
	grep -F "no property '"'6890047'"' in the file (it lists '"'89851'"')" err
'

# two Properties (IDValue SomethingRandom1 and 2), one ILS_Unit each; the
# second's Units holds two Unit elements with the same IDValue: one staged,
# one skipped; the label is the Unit's MarketingName
test_expect_success 'MITS 4.1 (AppFolio): 0 people, 2 units, 1 skipped' '
	stage "$m/MITS_4.1_Sample.xml" 0 2 1 &&
	units "$m/MITS_4.1_Sample.xml" >actual &&
	cat >expect <<-\EOT &&
	SomethingRandom1|SomethingRandom1|Cool New Apartment!!!!|1
	SomethingRandom2|SomethingRandom2|Cool New Apartment!!!!|1
	EOT
	test_cmp expect actual
'

# Madox (p0117760) lists flat ILS_Units 605 and 521, The Brownstones
# (p0151017) 09-207 and 521: one unit id in two properties, two units
test_expect_success 'RentCafe: 0 people, 4 units; a unit id repeated in another property is another unit' '
	stage "$b/rent_cafe.xml" 0 4 0 &&
	units "$b/rent_cafe.xml" >actual &&
	cat >expect <<-\EOT &&
	p0117760|521|521|1
	p0117760|605|605|1
	p0151017|09-207|09-207|1
	p0151017|521|521|1
	EOT
	test_cmp expect actual
'

# Hunters Glen (14317) and The Courts of Devon (16976), two ILS_Units each:
# the id is Information/UnitID, the label the MarketingName with its zeros
test_expect_success 'Vaultware: 0 people, 4 units; unit id and marketing label kept apart' '
	stage "$b/vaultware.xml" 0 4 0 &&
	units "$b/vaultware.xml" >actual &&
	cat >expect <<-\EOT &&
	14317|10252429|1010|1
	14317|12905837|02222|1
	16976|12890066|07132|1
	16976|12890112|09028|1
	EOT
	test_cmp expect actual
'

# Madox (49989) has no ILS_Unit; Palette at Arts District (49990) one, whose
# Unit Identification IDType="UnitID" is 3438936, marketed as 3F
test_expect_success 'Property Solutions (ISO-8859-1): 0 people, 1 unit' '
	stage "$b/psi.xml" 0 1 0 &&
	units "$b/psi.xml" >actual &&
	echo "49990|3438936|3F|1" >expect &&
	test_cmp expect actual
'

# no XML declaration, mixed line ends: Poplar Glen (90681) one unit, Park
# Place at Van Dorn (106421) one
test_expect_success 'Property Link: 0 people, 2 units' '
	stage "$b/property_link.xml" 0 2 0 &&
	units "$b/property_link.xml" >actual &&
	cat >expect <<-\EOT &&
	106421|925921122|09O|1
	90681|925411918|101|1
	EOT
	test_cmp expect actual
'

# eight Properties; Red Run (89488) lists 4 ILS_Units, Senate Square
# (93391) 15, the other six none: 19 units
test_expect_success 'Property Link seed: 0 people, 19 units in 2 of its 8 properties' '
	stage "$b/property_link_seed.xml" 0 19 0 &&
	q "SELECT property_id, count(*) FROM stg_unit WHERE snapshot_id =
	   (SELECT max(snapshot_id) FROM snapshot) GROUP BY property_id ORDER BY 1" >actual &&
	printf "89488|4\n93391|15\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a file of several properties is not staged as one --property (65, nothing staged)' '
	before=$(q "SELECT count(*) FROM snapshot") &&
	test_expect_code 65 unitsync extract-xml --property madox "$b/rent_cafe.xml" >out 2>err &&
	grep -F "the file lists more than one property ('"'p0117760'"' and '"'p0151017'"')" err &&
	grep -e "--pms-property" err &&
	test "$(q "SELECT count(*) FROM snapshot")" = "$before"
'

test_expect_success '--pms-property stages one property as --property; the others are skipped' '
	pick=14317 stage "$b/vaultware.xml" 0 2 2 --property hunters --pms-property 14317 &&
	units "$b/vaultware.xml" >actual &&
	cat >expect <<-\EOT &&
	hunters|10252429|1010|1
	hunters|12905837|02222|1
	EOT
	test_cmp expect actual
'

# written for the tests: one property (elm), ILS_Units u-11 (twice), s-01
# (UnitEconomicStatus Storage) and u-12 (Information/UnitID, label "0012")
test_expect_success 'elm-ils-latin1.xml: 3 units, 1 skipped; storage is no dwelling; Latin-1 label decoded' '
	cp "$TOP/tests/data/xml/elm-ils-latin1.xml" . &&
	stage elm-ils-latin1.xml 0 3 1 &&
	units elm-ils-latin1.xml >actual &&
	printf "elm|s-01|Storage S1|0\nelm|u-11|1\303\250re \303\251tage 1|1\nelm|u-12|0012|1\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'unit lists stage no people and never count as a resident list' '
	test "$(q "SELECT count(*) FROM stg_person")" = 0 &&
	test "$(q "SELECT count(*) FROM snapshot_property")" = 0
'

# rents, fees, deposits and the leasing offices' contacts of the feeds
test_expect_success 'no rent, fee or deposit of the feeds reaches the database' '
	sqlite3 "$UNITSYNC_DB" .dump >dump &&
	grep -q 12905837 dump &&
	! grep -F -e 2318.00 -e 2604.00 -e 2047.00 -e 3995 -e 1314.0000 -e 3400.00 -e 3000.00 \
		-e 50.00 -e 1462.0000 -e 915.0000 -e 1450.00 -e madoxapts.com -e camdenliving.com \
		-e bozzuto.com -e "Security Deposit" dump
'

test_expect_success 'the samples are read in place, never changed' '
	sha256sum "$m"/*.xml "$b"/*.xml >sums.after &&
	test_cmp sums.before sums.after
'
[ $failed -eq 0 ]
