#!/usr/bin/env bash
# bench/run.sh - `make bench`: every stage of unitsync beside a peer tool run
# on the same files in the same run, with the ratio and the targets.
#
# Parts (BENCH_PARTS, default "extract"; each a bench_PART function):
#   extract    unitsync extract-csv beside sqlite3 .import of the same CSV
#              into an equivalent table; unitsync extract-xml beside
#              xmllint --stream --noout of the same XML
#   transform, load, e2e   not measured yet (they print a note)
#
# Inputs come from bin/portfolio-gen, so they are the same bytes on every
# machine: for each size in BENCH_SIZES (people; default "100000 1000000")
# a generic-profile CSV of properties of 2600 units each, and a Yardi
# ResidentTransactions 2.0 XML of one property holding all of them (about
# 720 bytes a person: 717 MB for 1M people).
#
# Environment:
#   BENCH_DIR      parent of the work directory (default $TMPDIR or /tmp)
#   BENCH_KEEP=1   keep the work directory (inputs, databases, logs)
#   BENCH_SIZES    people per input, e.g. "10000" for a quick look
#   BENCH_REPEAT   runs of each command, the fastest reported (default 3: the
#                  machine may be shared)
#   BENCH_PARTS    which parts to run, in order
#
# Each command runs under /usr/bin/time -f '%e %M': wall seconds and peak
# RSS.  Files are read from the page cache (just written) by both tools
# alike.  MB = 10^6 bytes, MiB = 2^20.  The ratio is unitsync's throughput
# over the peer's: 1.00 means as fast, 0.50 half as fast.
#
# Exit status: 0 when every part ran, whether or not a target was met (the
# report says PASS or MISS); 1 when a command failed; 2 on a usage error.
set -u
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd) || exit 2
bin=$top/bin
sizes=${BENCH_SIZES:-100000 1000000}
repeat=${BENCH_REPEAT:-3}
parts=${BENCH_PARTS:-extract}
units_per_property=2600
rss_limit_mib=64

for tool in /usr/bin/time sqlite3 xmllint "$bin/unitsync" "$bin/portfolio-gen"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: '$tool' is missing (run 'make deps' and 'make')" >&2
		exit 2
	fi
done
case $repeat in
'' | *[!0-9]* | 0)
	echo "bench: BENCH_REPEAT must be a whole number of at least 1, not '$repeat'" >&2
	exit 2
	;;
esac

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/unitsync-bench.XXXXXX") || exit 2
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# inputs are named relative to the work directory: extract stores the name
# it is given in every staged row (source_ref), so a long temporary path
# would weigh on the figures
cd "$work" || exit 2

# fail MESSAGE: a command that must work did not; show its stderr and stop
fail() {
	echo "bench: $1" >&2
	[ -s "$work/err" ] && sed 's/^/  /' "$work/err" | tail -n 20 >&2
	exit 1
}

# measure SETUP CMD...: run CMD BENCH_REPEAT times, each after running the
# shell function SETUP (a fresh database, say); sets wall (the fastest run,
# seconds) and rss_kib (the largest peak RSS).  CMD's stdout is left in
# $work/out and its stderr in $work/err.
measure() {
	local setup=$1 i w m
	shift
	wall='' rss_kib=0
	for ((i = 0; i < repeat; i++)); do
		"$setup" || fail "setting up '$*' failed"
		/usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" ||
			fail "'$*' failed (exit $?)"
		read -r w m <"$work/time" || fail "no timing for '$*'"
		if [ -z "$wall" ] || awk -v a="$w" -v b="$wall" 'BEGIN { exit !(a < b) }'; then
			wall=$w
		fi
		[ "$m" -gt "$rss_kib" ] && rss_kib=$m
	done
	# /usr/bin/time counts in hundredths: a run under 10 ms reads 0.00
	awk -v w="$wall" 'BEGIN { exit !(w == 0) }' && wall=0.01
	return 0
}

no_setup() { :; }

# fmt_run WALL RSS_KIB PEOPLE BYTES: one command's figures for the table,
# "wall rows/s MB/s RSS-MiB"
fmt_run() {
	awk -v w="$1" -v m="$2" -v n="$3" -v b="$4" 'BEGIN {
		printf "%7.2f %9.0f %7.1f %7.1f", w, n / w, b / 1e6 / w, m / 1024
	}'
}

# ratio of throughputs: unitsync's over the peer's (same bytes, so wall_peer/wall)
ratio() {
	awk -v u="$1" -v p="$2" 'BEGIN { printf "%.2f", p / u }'
}

# a row of the table; the results go to $work/rows for the targets too
# row INPUT PEOPLE BYTES TOOL WALL RSS PEER PWALL PRSS
row() {
	local r
	r=$(ratio "$5" "$8")
	printf '%-18s %8s %7.1f | %-12s %s | %-17s %s | %5s\n' "$1" "$2" \
		"$(awk -v b="$3" 'BEGIN { print b / 1e6 }')" "$4" "$(fmt_run "$5" "$6" "$2" "$3")" \
		"$7" "$(fmt_run "$8" "$9" "$2" "$3")" "$r"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" \
		"$8" "$9" "$r" >>"$work/rows"
}

header() {
	printf '%-18s %8s %7s | %-12s %7s %9s %7s %7s | %-17s %7s %9s %7s %7s | %5s\n' \
		input people MB unitsync "wall s" rows/s MB/s "RSS MiB" peer "wall s" rows/s \
		MB/s "RSS MiB" ratio
}

machine() {
	local cpu mem
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $mem RAM; $(uname -sr)"
	echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "tools:   sqlite3 $(sqlite3 --version | cut -d' ' -f1)," \
		"xmllint (libxml2 $(xmllint --version 2>&1 | sed -n 's/.*libxml version //p' | head -n 1))," \
		"unitsync $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')"
}

# gen_inputs PEOPLE: $work/csvN.csv and $work/xmlN.xml; sets csv, xml,
# csv_label, xml_label, csv_people, xml_people (what the generator wrote)
gen_inputs() {
	local people=$1 units props
	# portfolio-gen writes about 1.92 people a unit (households of 1-3
	# adults, some occupants, minors, guarantors; 93% occupied)
	units=$(((people * 1000 + 959) / 1918))
	props=$(((units + units_per_property / 2) / units_per_property))
	[ "$props" -ge 1 ] || props=1
	csv=people$people.csv
	xml=people$people.xml
	"$bin/portfolio-gen" --properties "$props" --units $(((units + props - 1) / props)) \
		--seed 1 --stats --out "$csv" 2>"$work/err" || fail "portfolio-gen (csv) failed"
	csv_people=$(sed -n 's/.* \([0-9]*\) people;.*/\1/p' "$work/err")
	csv_label="csv ${props}x$(((units + props - 1) / props))"
	"$bin/portfolio-gen" --properties 1 --units "$units" --format xml --seed 1 --stats \
		--out "$xml" 2>"$work/err" || fail "portfolio-gen (xml) failed"
	xml_people=$(sed -n 's/.* \([0-9]*\) people;.*/\1/p' "$work/err")
	xml_label="xml 1x$units"
}

# a fresh unitsync database with every property of the inputs added
fresh_unitsync_db() {
	rm -f "$work"/unitsync.db*
	"$bin/unitsync" --db "$work/unitsync.db" init >/dev/null 2>"$work/err" || return 1
	# extract-csv reads the property from the file; extract-xml is given P0001
	"$bin/unitsync" --db "$work/unitsync.db" property add P0001 >/dev/null 2>"$work/err"
}

# The peer's table: the columns of stg_person the CSV gives, with its
# primary key and household index (DESIGN.md §5), in a WAL database with
# unitsync's synchronous=NORMAL.  The CSV's header is skipped.
fresh_peer_db() {
	rm -f "$work"/peer.db*
	sqlite3 "$work/peer.db" >/dev/null 2>"$work/err" <<-'EOF'
		PRAGMA journal_mode=WAL;
		CREATE TABLE stg_person (
		  property_id TEXT NOT NULL, pms_unit_id TEXT, pms_person_id TEXT NOT NULL,
		  household_id TEXT, role TEXT NOT NULL, status TEXT NOT NULL, first_name TEXT,
		  last_name TEXT, email TEXT, phone TEXT, move_in TEXT, move_out TEXT,
		  PRIMARY KEY (property_id, pms_person_id));
		CREATE INDEX stg_person_by_household ON stg_person (property_id, household_id, role);
	EOF
}

# staged PEOPLE: check that extract's summary line staged every person
staged() {
	local n
	n=$(sed -n 's/.*: \([0-9]*\) people staged.*/\1/p' "$work/out")
	[ "$n" = "$1" ] || fail "expected $1 people staged, the extract says '${n:-nothing}': $(cat "$work/out")"
}

bench_extract() {
	local people bytes uw ur pw pr
	echo
	echo "== extract =="
	header
	: >"$work/rows"
	for people in $sizes; do
		gen_inputs "$people"

		bytes=$(stat -c %s "$csv")
		measure fresh_unitsync_db "$bin/unitsync" --db "$work/unitsync.db" extract-csv "$csv"
		staged "$csv_people"
		uw=$wall ur=$rss_kib
		measure fresh_peer_db sqlite3 "$work/peer.db" -cmd 'PRAGMA synchronous=NORMAL' \
			".import --csv --skip 1 '$csv' stg_person"
		[ "$(sqlite3 "$work/peer.db" 'SELECT count(*) FROM stg_person')" = "$csv_people" ] ||
			fail "sqlite3 .import did not load $csv_people rows"
		pw=$wall pr=$rss_kib
		row "$csv_label" "$csv_people" "$bytes" extract-csv "$uw" "$ur" "sqlite3 .import" \
			"$pw" "$pr"

		bytes=$(stat -c %s "$xml")
		measure fresh_unitsync_db "$bin/unitsync" --db "$work/unitsync.db" extract-xml \
			--property P0001 "$xml"
		staged "$xml_people"
		uw=$wall ur=$rss_kib
		measure no_setup xmllint --stream --noout "$xml"
		pw=$wall pr=$rss_kib
		row "$xml_label" "$xml_people" "$bytes" extract-xml "$uw" "$ur" "xmllint --stream" \
			"$pw" "$pr"
		rm -f "$csv" "$xml" "$work"/unitsync.db* "$work"/peer.db*
	done
	extract_targets
}

# PASS or MISS for each target of the extract stage, on the largest input
extract_targets() {
	echo
	echo "targets (largest input of each kind):"
	awk -F'\t' -v limit="$rss_limit_mib" '
	function verdict(ok) { return ok ? "PASS" : "MISS" }
	$4 == "extract-csv" && $2 + 0 >= csv_n { csv_n = $2; csv = $0 }
	$4 == "extract-xml" && $2 + 0 >= xml_n { xml_n = $2; xml = $0 }
	$4 ~ /^extract-/ && $6 + 0 > rss { rss = $6; rss_in = $1 " " $4 }
	END {
		split(csv, c, "\t")
		printf "  %s  extract-csv at least as fast as sqlite3 .import (%s): %.1f vs %.1f MB/s, ratio %s (need >= 1.00)\n",
			verdict(c[10] >= 1.0), c[1], c[3] / 1e6 / c[5], c[3] / 1e6 / c[8], c[10]
		split(xml, x, "\t")
		printf "  %s  extract-xml at least half of xmllint --stream (%s): %.1f vs %.1f MB/s, ratio %s (need >= 0.50)\n",
			verdict(x[10] >= 0.5), x[1], x[3] / 1e6 / x[5], x[3] / 1e6 / x[8], x[10]
		printf "  %s  peak RSS under %d MiB whatever the size: largest %.1f MiB (%s)\n",
			verdict(rss / 1024 < limit), limit, rss / 1024, rss_in
	}' "$work/rows"
}

bench_transform() {
	echo
	echo "== transform == not measured yet"
}

bench_load() {
	echo
	echo "== load == not measured yet"
}

bench_e2e() {
	echo
	echo "== end to end == not measured yet"
}

echo "unitsync bench - all figures from this run, on the same files; MB = 10^6 bytes;"
echo "ratio = unitsync MB/s / peer MB/s; fastest of $repeat run(s) each; input csv PxU ="
echo "P properties of U units (generic CSV profile), xml 1xU = one property (Yardi RT 2.0)"
machine
for part in $parts; do
	case $part in
	extract | transform | load | e2e) "bench_$part" ;;
	*)
		echo "bench: unknown part '$part' (extract, transform, load, e2e)" >&2
		exit 2
		;;
	esac
done
exit 0
