#!/usr/bin/env bash
# t0257-dwelling: one dwelling vocabulary for every export (status_dwelling(),
# lib/status.h).  The same texts, given as an AppFolio rent roll's "Unit
# Type" (extract-csv), a MITS ILS feed's UnitEconomicStatus and a Yardi
# GetUnitInformation row's UnitEconomicStatusDescription (extract-xml),
# stage the same dwelling flag: no dwelling when the text begins with
# excluded, waitlist, waiting list, parking, garage, carport, storage or
# locker; a dwelling otherwise, even when it names one of those after
# something else ("Townhome w/ Garage", "Covered Parking").
. "$(dirname "$0")/lib.sh"
test_plan 4

q() { sqlite3 -batch "$UNITSYNC_DB" "$1"; }
# units SNAPSHOT: unit|dwelling of what it staged
units() { q "SELECT pms_unit_id, dwelling FROM stg_unit WHERE snapshot_id = $1 ORDER BY 1"; }

test_expect_success 'init: the cases, unit id|text|dwelling the rule gives' '
	test_init_db p1 &&
	printf "%s\n" "u01|Parking Space|0" "u02|Garage|0" "u03|Storage Locker|0" \
		"u04|Locker|0" "u05|Excluded|0" "u06|Waiting List|0" "u07|carport-12|0" \
		"u08|Covered Parking|1" "u09|Townhome w/ Garage|1" "u10|2BR/2BA|1" \
		"u11|Apartment + Storage|1" >cases &&
	cut -d"|" -f1,3 cases >expect
'

test_expect_success 'CSV: an AppFolio rent roll'\''s Unit Type' '
	{
		echo "Unit,Tenant,Status,Unit Type" &&
		while IFS="|" read -r id text want; do
			echo "$id,,Vacant-Unrented,$text"
		done <cases
	} >rent-roll.csv &&
	unitsync extract-csv --property p1 --profile appfolio-rent-roll rent-roll.csv >out 2>err &&
	grep "^snapshot 1: .*: 0 people staged, 11 units, 0 rows skipped, 0 rejected" out &&
	units 1 >actual &&
	test_cmp expect actual
'

test_expect_success 'XML: a MITS ILS feed'\''s UnitEconomicStatus' '
	{
		echo "<PhysicalProperty><Property IDValue=\"p1\">" &&
		echo "<PropertyID><Identification IDValue=\"p1\"/></PropertyID>" &&
		while IFS="|" read -r id text want; do
			echo "<ILS_Unit IDValue=\"$id\"><Units><Unit><Identification IDValue=\"$id\"/>" &&
			echo "<UnitEconomicStatus>$text</UnitEconomicStatus></Unit></Units></ILS_Unit>"
		done <cases &&
		echo "</Property></PhysicalProperty>"
	} >ils.xml &&
	unitsync extract-xml --property p1 ils.xml >out 2>err &&
	grep "^snapshot 2: .*(mits-ils, .*: 0 people staged, 11 units, 0 rows skipped, 0 rejected" out &&
	units 2 >actual &&
	test_cmp expect actual
'

test_expect_success 'XML: a Yardi GetUnitInformation row'\''s UnitEconomicStatusDescription' '
	{
		echo "<PhysicalProperty><Property>" &&
		while IFS="|" read -r id text want; do
			echo "<RT_Customer><CustomerID>t$id</CustomerID><RT_Unit><UnitID>$id</UnitID>" &&
			echo "<Unit><Information><UnitID>$id</UnitID>" &&
			echo "<UnitEconomicStatusDescription>$text</UnitEconomicStatusDescription>" &&
			echo "</Information><PropertyPrimaryID>p1</PropertyPrimaryID></Unit></RT_Unit>" &&
			echo "</RT_Customer>"
		done <cases &&
		echo "</Property></PhysicalProperty>"
	} >units.xml &&
	unitsync extract-xml --property p1 units.xml >out 2>err &&
	grep "^snapshot 3: .*(yardi-units, .*: 0 people staged, 11 units, 0 rows skipped, 0 rejected" out &&
	units 3 >actual &&
	test_cmp expect actual
'
