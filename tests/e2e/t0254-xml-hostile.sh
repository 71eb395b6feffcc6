#!/usr/bin/env bash
# t0254-xml-hostile: extract-xml is safe by construction.  Entity bombs are
# refused in well under a second with bounded memory; external entities,
# external DTDs and XInclude never read a local file (a marker file made
# here) nor reach the network (a loopback HTTP server started here logs
# every request); a start tag with more than 256 attributes (libxml2's
# duplicate check is quadratic in them) is refused before libxml2 parses
# it; a file cut short anywhere is rejected whole.
. "$(dirname "$0")/lib.sh"
test_plan 8

bad=$TOP/tests/data/bad
q() { sqlite3 -batch "$UNITSYNC_DB" "$1"; }
staged() { # staged: every snapshot and staged row of the database, counted
	q "SELECT (SELECT count(*) FROM snapshot) + (SELECT count(*) FROM stg_person) +
	   (SELECT count(*) FROM stg_unit) + (SELECT count(*) FROM stg_reject)"
}
# timed FILE...: extract-xml with wall time and peak RSS (KiB) in time.txt
timed() {
	/usr/bin/time -f "%e %M" -o time.txt unitsync-extract-xml --property p1 "$@"
}
# within SECONDS KIB: the last timed run took less than both
within() {
	# the last line: a failing command adds "Command exited with ..." first
	tail -n 1 time.txt | awk -v s="$1" -v k="$2" '{
		print "took " $1 " s, " $2 " KiB"
		if ($1 >= s || $2 >= k) exit 1 }' >&4
}
# household FIRST_NAME [TYPE]: one RT_Customer, unit 1
household() {
	printf '<RT_Customer><CustomerID>t1</CustomerID><Customers><Customer Type="%s">' "${2:-current resident}"
	printf '<CustomerID>t1</CustomerID><Name><FirstName>%s</FirstName><LastName>X</LastName></Name>' "$1"
	printf '</Customer></Customers><RT_Unit><UnitID>1</UnitID></RT_Unit></RT_Customer>'
}
rt() { # rt BODY: a ResidentTransactions document around BODY
	printf '<ResidentTransactions><Property>%s</Property></ResidentTransactions>\n' "$1"
}

if ! [ -x /usr/bin/time ]; then
	timed() { unitsync-extract-xml --property p1 "$@"; }
	within() { :; }
	echo "# /usr/bin/time is missing: time and memory are not measured"
fi

test_expect_success 'billion laughs (10^9 lol) is refused in under a second, in under 64 MiB' '
	test_init_db p1 net net2 &&
	test_expect_code 65 timed "$bad/billion-laughs.xml" 2>err &&
	grep "document type declaration is not accepted" err &&
	within 1.0 65536
'

test_expect_success 'the same behind 200 KiB of comments and a processing instruction' '
	{ echo "<?xml version=\"1.0\"?>" &&
	  for i in $(seq 4000); do echo "<!-- padding comment number $i of a long prolog -->"; done &&
	  echo "<?xml-stylesheet href=\"x.xsl\"?>" &&
	  sed 1d "$bad/billion-laughs.xml"; } >late-lol.xml &&
	test "$(wc -c <late-lol.xml)" -gt 200000 &&
	test_expect_code 65 timed late-lol.xml 2>err &&
	grep "line 4003: a document type declaration is not accepted" err &&
	within 1.0 65536
'

test_expect_success 'quadratic blowup (a 20 kB entity used 20000 times) is refused at once' '
	test_expect_code 65 timed "$bad/quadratic-blowup.xml" 2>err &&
	grep "document type declaration is not accepted" err &&
	within 1.0 65536 &&
	test "$(staged)" = 0
'

test_expect_success 'no local file reaches the database: external entity, DTD, parameter entity, XInclude' '
	marker=UNITSYNC-MARKER-$$-7f3a &&
	echo "$marker" >secret.txt &&
	echo "<!ENTITY m SYSTEM \"file://$tmp/secret.txt\">" >evil.dtd &&
	entity="<!DOCTYPE ResidentTransactions [<!ENTITY m SYSTEM \"file://$tmp/secret.txt\">]>" &&
	{ echo "$entity" && rt "$(household "&m;")"; } >content.xml &&
	{ echo "$entity" && rt "$(household A "&m;")"; } >attribute.xml &&
	{ echo "<!DOCTYPE ResidentTransactions SYSTEM \"file://$tmp/evil.dtd\">" &&
	  rt "$(household "&m;")"; } >external-dtd.xml &&
	{ echo "<!DOCTYPE ResidentTransactions [<!ENTITY % p SYSTEM \"file://$tmp/evil.dtd\"> %p;]>" &&
	  rt "$(household "&m;")"; } >parameter.xml &&
	{ echo "<?xml version=\"1.0\"?>" && cat content.xml; } | iconv -t UTF-16 >utf16.xml &&
	{ printf "<ResMan><Response>" &&
	  sed -e "s/&/\\&amp;/g" -e "s/</\\&lt;/g" -e "s/>/\\&gt;/g" content.xml &&
	  printf "</Response></ResMan>\n"; } >escaped.xml &&
	for f in content attribute external-dtd parameter utf16 escaped; do
		test_expect_code 65 unitsync extract-xml --property p1 $f.xml >>xxe.out 2>>xxe.err || exit 1
	done &&
	test "$(grep -c "document type declaration is not accepted" xxe.err)" = 6 &&
	test "$(staged)" = 0 &&
	rt "$(household "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"file://$tmp/secret.txt\" parse=\"text\"/>")" >xinclude.xml &&
	unitsync extract-xml --property p1 xinclude.xml >>xxe.out 2>>xxe.err &&
	test "$(q "SELECT count(*) FROM stg_person WHERE first_name IS NULL")" = 1 &&
	sqlite3 "$UNITSYNC_DB" .dump >dump &&
	grep -q "xinclude.xml" dump &&
	! grep -F "$marker" dump xxe.out xxe.err
'

test_expect_success 'nothing is fetched from the network (a loopback HTTP server sees no request)' '
	mkdir www && echo "<!ENTITY m \"fetched\">" >www/evil.dtd && echo fetched >www/secret.txt &&
	port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	{ python3 -m http.server --bind 127.0.0.1 --directory www "$port" >http.log 2>&1 & pid=$!; } &&
	for i in $(seq 50); do curl -sf "http://127.0.0.1:$port/control" -o /dev/null; grep -q control http.log && break; sleep 0.1; done
	url=http://127.0.0.1:$port
	{ echo "<!DOCTYPE ResidentTransactions [<!ENTITY m SYSTEM \"$url/secret.txt\">]>" && rt "$(household "&m;")"; } >http-entity.xml &&
	{ echo "<!DOCTYPE ResidentTransactions SYSTEM \"$url/evil.dtd\">" && rt "$(household "&m;")"; } >http-dtd.xml &&
	rt "$(household "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"$url/secret.txt\" parse=\"text\"/>")" >http-xinclude.xml &&
	test_expect_code 65 unitsync extract-xml --property net http-entity.xml http-dtd.xml 2>err
	rc=$?
	unitsync extract-xml --property net2 http-xinclude.xml >out 2>>err || rc=1
	sleep 0.2
	kill "$pid" && wait "$pid" 2>/dev/null
	test $rc = 0 &&
	grep -q "GET /control" http.log &&
	! grep -v "/control" http.log | grep "GET" &&
	! sqlite3 "$UNITSYNC_DB" .dump | grep fetched
'

test_expect_success 'a start tag with 100k attributes is refused at once: UTF-8, UTF-16, escaped' '
	export UNITSYNC_DB=$tmp/attrs.db && test_init_db p1 &&
	attrs() { # attrs N: N attributes whose values hold markup characters
		perl -e "print join q{ }, map { qq{a\$_=\"x>=\x27\"} } 1 .. \$ARGV[0]" "$1"
	}
	{ echo "<!-- <a x=1 y=2> -->" &&
	  rt "<RT_Customer $(attrs 100000)><CustomerID>a1</CustomerID></RT_Customer>"; } >many.xml &&
	test "$(wc -c <many.xml)" -gt 1000000 &&
	iconv -t UTF-16 many.xml >many16.xml &&
	{ printf "<ResMan><Response>" &&
	  sed -e "s/&/\&amp;/g" -e "s/</\&lt;/g" -e "s/>/\&gt;/g" many.xml &&
	  printf "</Response></ResMan>\n"; } >many-escaped.xml &&
	for f in many many16 many-escaped; do
		test_expect_code 65 timed $f.xml 2>err &&
		grep "line 2: a start tag with more than 256 attributes" err &&
		within 1.0 65536 || exit 1
	done &&
	test "$(staged)" = 0 &&
	{ echo "<!-- <a x=1 y=2> -->" &&
	  rt "<RT_Customer $(attrs 256)><![CDATA[<b c=1 d=2>]]><?pi e=f?><CustomerID>a1</CustomerID></RT_Customer>"; } >most.xml &&
	unitsync extract-xml --property p1 most.xml &&
	test "$(q "SELECT count(*) FROM snapshot")" = 1
'

test_expect_success 'the real export cut at 12 points is rejected whole every time' '
	if [ -z "$samples" ]; then echo "samples absent: a generated file is cut instead"; fi &&
	src=${samples:+$samples/yardi-voyager-pyx4j/GetResidentTransactions.xml} &&
	if [ -z "$src" ]; then perl -e "print qq{<ResidentTransactions><Property>}, qq{<RT_Customer><CustomerID>a\$_</CustomerID></RT_Customer>\n} x 3000, qq{</Property></ResidentTransactions>}" >gen.xml; src=gen.xml; fi &&
	size=$(wc -c <"$src") &&
	export UNITSYNC_DB=$tmp/cut.db && test_init_db p1 &&
	for i in $(seq 12); do
		head -c $((size * i / 13)) "$src" >cut$i.xml &&
		test_expect_code 65 unitsync extract-xml --property p1 cut$i.xml 2>err$i &&
		grep -q "truncated" err$i || { cat err$i; exit 1; }
	done &&
	test "$(staged)" = 0
'

test_expect_success 'a 30 MB export cut at 20 MB is rejected whole, memory flat' '
	perl -e "
		print qq{<ResidentTransactions><Property>};
		print qq{<RT_Customer><CustomerID>h\$_</CustomerID><Customers><Customer Type=\"current resident\"><CustomerID>h\$_</CustomerID></Customer></Customers><RT_Unit><UnitID>\$_</UnitID></RT_Unit></RT_Customer>\n} for 1 .. 160000;
		print qq{</Property></ResidentTransactions>\n};
	" >long.xml &&
	test "$(wc -c <long.xml)" -gt 30000000 &&
	head -c 20000000 long.xml >long-cut.xml &&
	export UNITSYNC_DB=$tmp/long.db && test_init_db p1 &&
	test_expect_code 65 timed long-cut.xml 2>err &&
	grep "truncated" err &&
	within 60 65536 &&
	test "$(staged)" = 0
'
[ $failed -eq 0 ]
