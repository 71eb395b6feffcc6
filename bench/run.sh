#!/usr/bin/env bash
# bench/run.sh - `make bench`: every stage of unitsync beside a peer tool run
# on the same files in the same run, with the ratio and the targets; one
# summary table at the end.  docs/PERFORMANCE.md says what each part does
# and what it measured on the reference machine.
#
# Parts (BENCH_PARTS, default "extract transform load e2e"; each a bench_PART
# function):
#   extract    unitsync extract-csv beside sqlite3 .import of the same CSV
#              into an equivalent table; unitsync extract-xml beside
#              xmllint --stream --noout of the same XML
#   transform  10k, 100k and 1M people, night 1 with 1% churn, over night 0
#              recorded as applied (bench/applied.sql): unitsync transform
#              beside the same ASSIGN/UNASSIGN set as plain SQL in sqlite3
#              (bench/diff.sql), a table of time per person by size; and the
#              same night after a year of runs (bench/history.sql) beside it
#              after night 0 alone
#   load       unitsync load against latch-sim with 20 ms latency at
#              --concurrency 1, 4, 16 beside the ideal (concurrency/latency);
#              without latency beside wrk sending the same PUTs
#              (bench/wrk-put.lua); and the 1M people's night-1 delta (needs
#              the transform part first)
#   e2e        pipelines/nightly.sh, 100k units: night 0 (--dry-run, which
#              changes nothing; then extract and transform, unmeasured, and
#              the delta recorded as applied), then night 1 against latch-sim,
#              beside bench/reference.py (Python, one request at a time)
#              doing night 1 from the same state; night 1 again with 20 ms
#              latency
#
# Inputs come from bin/portfolio-gen, so they are the same bytes on every
# machine: for each size in BENCH_SIZES (people; default "100000 1000000")
# a generic-profile CSV of properties of 2600 units each (and the same rows
# dealt round-robin across its properties, "mixed"), and a Yardi
# ResidentTransactions 2.0 XML of one property holding all of them (about
# 720 bytes a person: 717 MB for 1M people).
#
# Environment:
#   BENCH_DIR      parent of the work directory (default $TMPDIR or /tmp)
#   BENCH_SHM      where latch-sim keeps its state files (default /dev/shm
#                  when writable, else the work directory)
#   BENCH_KEEP=1   keep the work directory (inputs, databases, logs)
#   BENCH_SIZES    people per extract input, e.g. "10000" for a quick look
#   BENCH_REPEAT   runs of each extract and transform command, the fastest
#                  reported (default 3: the machine may be shared)
#   BENCH_PARTS    which parts to run, in order
#   BENCH_TREE     a built unitsync source tree whose bin/ and pipelines/ to
#                  measure (default this one), e.g. a patched copy
#   BENCH_TRANSFORM_SIZES   people in the transform inputs, one measurement
#                  each (default "10000 100000 1000000"; the targets are
#                  judged at the largest), e.g. "10000 100000" for a quick look
#   BENCH_TRANSFORM_PEOPLE  the same, one size (older name; SIZES wins)
#   BENCH_TRANSFORM_HISTORY runs recorded before the night measured with a
#                  history (default 365: a year of nights; 0 or 1: not run)
#   BENCH_TRANSFORM_HISTORY_PEOPLE  the history is measured on the largest
#                  size at most this (default 100000: a year at 1M people is
#                  a 7 GB database and minutes to write)
#   BENCH_E2E_UNITS         units in the end-to-end portfolio (default 100000)
#   BENCH_LOAD_UNITS        units per property of the load part's deltas
#                  (default 620: about 20 s a run at the ideal rate); with
#                  BENCH_E2E_UNITS, what a quick bench makes small: e.g.
#                  BENCH_LOAD_UNITS=100 BENCH_WRK_SECONDS=2 BENCH_E2E_UNITS=10000
#                  BENCH_REPEAT=1 runs the load and e2e parts in about 20 s each
#   BENCH_WRK_SECONDS       how long each wrk turn runs (default 5)
#   BENCH_LIMIT    seconds any one measured command may take before it is
#                  stopped and reported as not finished (default 120), so
#                  that make bench ends whatever the code does
#   BENCH_E2E_LATENCY  night 1 is run a second time, both tools, with this
#                  latch-sim --latency-ms (default 20; 0: not run)
#   BENCH_E2E_NIGHT0=1  send night 0's requests for real, both nightly.sh
#                  and bench/reference.py (about 490,000 requests at 100k
#                  units: 4 and 8 minutes), instead of nightly.sh --dry-run
#                  with its delta then recorded as applied
#
# Each command runs under /usr/bin/time -f '%e %M': wall seconds and peak
# RSS (of the command and its children).  Files are read from the page
# cache (just written) by both tools alike.  MB = 10^6 bytes, MiB = 2^20.
# The ratio is unitsync's throughput over the peer's: 1.00 means as fast,
# 0.50 half as fast.
#
# Exit status: 0 when every part ran, whether or not a target was met (the
# report says PASS or MISS, and a command stopped at BENCH_LIMIT is a MISS);
# 1 when a command failed; 2 on a usage error.
set -u
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd) || exit 2
tree=$(cd "${BENCH_TREE:-$top}" && pwd) || exit 2
bin=$tree/bin
bench=$top/bench
sizes=${BENCH_SIZES:-100000 1000000}
repeat=${BENCH_REPEAT:-3}
parts=${BENCH_PARTS:-extract transform load e2e}
limit=${BENCH_LIMIT:-120}
units_per_property=2600
rss_limit_mib=64

case $repeat in
'' | *[!0-9]* | 0)
	echo "bench: BENCH_REPEAT must be a whole number of at least 1, not '$repeat'" >&2
	exit 2
	;;
esac
case $limit in
'' | *[!0-9]* | 0)
	echo "bench: BENCH_LIMIT must be a whole number of seconds, not '$limit'" >&2
	exit 2
	;;
esac
# wrk is the load bench's peer; Debian packages it
if [[ " $parts " == *" load "* ]] && ! command -v wrk >/dev/null 2>&1; then
	echo "bench: wrk is missing; installing the Debian package (apt-get install wrk)" >&2
	{ apt-get install -y -q wrk || { apt-get update -q && apt-get install -y -q wrk; }; } \
		>/dev/null 2>&1 || echo "bench: could not install wrk; the load part will say so" >&2
fi
for tool in /usr/bin/time timeout sqlite3 xmllint python3 curl "$bin/unitsync" \
	"$bin/portfolio-gen" "$bin/latch-sim"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: '$tool' is missing (run 'make deps' and 'make')" >&2
		exit 2
	fi
done

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/unitsync-bench.XXXXXX") || exit 2
shm_parent=${BENCH_SHM:-/dev/shm}
[ -d "$shm_parent" ] && [ -w "$shm_parent" ] || shm_parent=$work
shm=$(mktemp -d "$shm_parent/unitsync-bench-sim.XXXXXX") || exit 2
sim_pid=
cleanup() {
	sim_down
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $work"
		[ "$shm_parent" = "$work" ] || echo "bench: kept $shm"
	else
		rm -rf "$work"
		[ "$shm_parent" = "$work" ] || rm -rf "$shm"
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
	csv_props=$props
	# the same rows dealt round-robin across the properties (each
	# property's rows in their order): a file whose rows interleave them
	mixed=people$people.mixed.csv
	{ head -n 1 "$csv" && tail -n +2 "$csv" | awk -F, '{ print ++k[$1] "\t" $0 }' |
		sort -s -t "$(printf '\t')" -k1,1n | cut -f2-; } >"$mixed" ||
		fail "cannot write $mixed"
	mixed_label="$csv_label mixed"
	"$bin/portfolio-gen" --properties 1 --units "$units" --format xml --seed 1 --stats \
		--out "$xml" 2>"$work/err" || fail "portfolio-gen (xml) failed"
	xml_people=$(sed -n 's/.* \([0-9]*\) people;.*/\1/p' "$work/err")
	xml_label="xml 1x$units"
}

# a fresh unitsync database with every property of the inputs added
# (P0001..P$csv_props: extract refuses a file naming a property it does not
# know; extract-xml is given P0001), copied from one made once a size
fresh_unitsync_db() {
	local i
	rm -f "$work"/unitsync.db*
	if ! [ -f "$work/template-$csv_props.db" ]; then
		rm -f "$work"/template-*.db*
		"$bin/unitsync" --db "$work/template-$csv_props.db" init >/dev/null 2>"$work/err" ||
			return 1
		for ((i = 1; i <= csv_props; i++)); do
			"$bin/unitsync" --db "$work/template-$csv_props.db" property add \
				"$(printf 'P%04d' "$i")" >/dev/null 2>"$work/err" || return 1
		done
		sqlite3 "$work/template-$csv_props.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null ||
			return 1
	fi
	cp "$work/template-$csv_props.db" "$work/unitsync.db"
}

# The peer's table: the columns of stg_person the CSV gives, with its
# primary key and household index (docs/ARCHITECTURE.md §5), in a WAL database with
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

		measure fresh_unitsync_db "$bin/unitsync" --db "$work/unitsync.db" extract-csv "$mixed"
		staged "$csv_people"
		uw=$wall ur=$rss_kib
		measure fresh_peer_db sqlite3 "$work/peer.db" -cmd 'PRAGMA synchronous=NORMAL' \
			".import --csv --skip 1 '$mixed' stg_person"
		pw=$wall pr=$rss_kib
		row "$mixed_label" "$csv_people" "$bytes" extract-csv "$uw" "$ur" "sqlite3 .import" \
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
		# BENCH_KEEP=1 keeps the inputs (to profile them), not the databases
		[ "${BENCH_KEEP:-0}" = 1 ] || rm -f "$csv" "$mixed" "$xml"
		rm -f "$work"/unitsync.db* "$work"/peer.db*
	done
	echo
	echo "targets (largest input of each kind):"
	extract_targets | tee -a "$work/targets"
	awk -F'\t' '$2 + 0 >= 900000 && $4 ~ /^extract-/ { printf "%s\t%s (%d people)\t%s\n", $4, $1, $2, $6 }' \
		"$work/rows" >>"$work/rss"
	awk -F'\t' '{ printf "extract\t%s (%d people)\t%s %.1f MB/s, %.1f MiB\t%s %.1f MB/s\t%s\n",
		$1, $2, $4, $3 / 1e6 / $5, $6 / 1024, $7, $3 / 1e6 / $8, $10 }' "$work/rows" >>"$work/summary"
}

# PASS or MISS for each target of the extract stage, on the largest input
extract_targets() {
	awk -F'\t' -v limit="$rss_limit_mib" '
	function verdict(ok) { return ok ? "PASS" : "MISS" }
	$4 == "extract-csv" && $1 !~ / mixed$/ && $2 + 0 >= csv_n { csv_n = $2; csv = $0 }
	$4 == "extract-csv" && $1 ~ / mixed$/ && $2 + 0 >= mix_n { mix_n = $2; mix = $0 }
	$4 == "extract-xml" && $2 + 0 >= xml_n { xml_n = $2; xml = $0 }
	$4 ~ /^extract-/ && $6 + 0 > rss { rss = $6; rss_in = $1 " " $4 }
	END {
		split(csv, c, "\t")
		printf "  %s  extract-csv at least as fast as sqlite3 .import (%s): %.1f vs %.1f MB/s, ratio %s (need >= 1.00)\n",
			verdict(c[10] >= 1.0), c[1], c[3] / 1e6 / c[5], c[3] / 1e6 / c[8], c[10]
		split(mix, m, "\t")
		printf "  %s  extract-csv at least as fast as sqlite3 .import, rows interleaving the properties (%s): %.1f vs %.1f MB/s, ratio %s (need >= 1.00)\n",
			verdict(m[10] >= 1.0), m[1], m[3] / 1e6 / m[5], m[3] / 1e6 / m[8], m[10]
		split(xml, x, "\t")
		printf "  %s  extract-xml at least half of xmllint --stream (%s): %.1f vs %.1f MB/s, ratio %s (need >= 0.50)\n",
			verdict(x[10] >= 0.5), x[1], x[3] / 1e6 / x[5], x[3] / 1e6 / x[8], x[10]
		printf "  %s  peak RSS under %d MiB whatever the size: largest %.1f MiB (%s)\n",
			verdict(rss / 1024 < limit), limit, rss / 1024, rss_in
	}' "$work/rows"
}

# ---- shared by the transform, load and e2e parts ---------------------------

# run_limited SECONDS CMD...: run CMD once under /usr/bin/time, stopped
# after SECONDS (SIGTERM, SIGKILL 10 s later); sets wall, rss_kib and rc
# (124: stopped).  Output in $work/out and $work/err.
run_limited() {
	local secs=$1 w m
	shift
	rc=0
	# what the steps before wrote (state databases and their copies: 300 MB
	# and more in the e2e part) goes to disk first: its writeback otherwise
	# lands in the measured command, either tool's (night 1 moved by 1.7 s
	# from one run to the next without it)
	sync
	/usr/bin/time -f '%e %M' -o "$work/time" timeout -k 10 "$secs" "$@" \
		>"$work/out" 2>"$work/err" || rc=$?
	# a failing command's timing file starts with "Command exited with ..."
	read -r w m < <(tail -n 1 "$work/time") || fail "no timing for '$*'"
	wall=$w rss_kib=$m
	awk -v w="$wall" 'BEGIN { exit !(w == 0) }' && wall=0.01
	return 0
}

# measure_limited SETUP SECONDS CMD...: like measure, BENCH_REPEAT runs
# each stopped after SECONDS; a run that fails or is stopped ends the
# repeats (rc says how it ended).
measure_limited() {
	local setup=$1 secs=$2 i best='' max=0
	shift 2
	for ((i = 0; i < repeat; i++)); do
		"$setup" || fail "setting up '$*' failed"
		run_limited "$secs" "$@"
		[ "$rss_kib" -gt "$max" ] && max=$rss_kib
		if [ "$rc" -ne 0 ]; then
			best=$wall
			break
		fi
		if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$wall
		fi
	done
	wall=$best rss_kib=$max
}

# how a run that did not exit 0 ended, for the tables
ended() {
	case $1 in
	124 | 137) echo "stopped at ${2}s" ;;
	*) echo "exit $1" ;;
	esac
}

# summary STAGE INPUT UNITSYNC PEER RATIO: a row of the closing table
summary() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$work/summary"
}

# target OK TEXT: print and keep PASS (OK = 1) or MISS (OK = 0) TEXT
target() {
	local v=MISS
	[ "$1" = 1 ] && v=PASS
	printf '  %s  %s\n' "$v" "$2" | tee -a "$work/targets"
}

# is AWK-CONDITION [VAR=VALUE...]: 1 or 0
is() {
	local cond=$1
	shift
	awk "$@" "BEGIN { print ($cond) ? 1 : 0 }" </dev/null
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# keep_rss STAGE INPUT KIB: a peak RSS for the per-stage RSS summary
keep_rss() {
	printf '%s\t%s\t%s\n' "$@" >>"$work/rss"
}

# layout PEOPLE: lay_props properties of lay_units units for about PEOPLE
# people, as gen_inputs lays out the extract's CSV.  portfolio-gen writes
# about 1.92 people a unit (households of 1-3 adults, some occupants,
# minors, guarantors; 93% occupied).
layout() {
	local units=$((($1 * 1000 + 959) / 1918))
	lay_props=$(((units + units_per_property / 2) / units_per_property))
	[ "$lay_props" -ge 1 ] || lay_props=1
	lay_units=$(((units + lay_props - 1) / lay_props))
}

# map_csv UNITS_CSV OUT: map every unit to a Latch unit with a UUID-shaped
# id made of the property number and the unit's line (real ids are UUIDs)
map_csv() {
	awk -F, 'NR == 1 { print "property_id,pms_unit_id,latch_unit_id"; next }
	{
		p = $1
		sub(/^[^0-9]*/, "", p)
		printf "%s,%s,%08d-0000-4000-8000-%012d\n", $1, $2, p, NR - 1
	}' "$1" >"$2"
}

# state_db DB MAP N: a fresh state database with properties P0001..PN
# added by `unitsync property add` (UTC, unit sync on, no lead or grace
# days, guard 20%) and MAP imported with `unitsync map import`
state_db() {
	local db=$1 i
	rm -f "$db" "$db-wal" "$db-shm"
	"$bin/unitsync" --db "$db" init >/dev/null 2>"$work/err" || fail "unitsync init failed"
	for ((i = 1; i <= $3; i++)); do
		"$bin/unitsync" --db "$db" property add "$(printf 'P%04d' "$i")" >/dev/null \
			2>"$work/err" || fail "unitsync property add failed"
	done
	"$bin/unitsync" --db "$db" map import --offline "$2" >/dev/null 2>"$work/err" ||
		fail "unitsync map import '$2' failed"
}

# stage_csv DB FILE: extract-csv FILE into DB; sets snap to its snapshot id
stage_csv() {
	"$bin/unitsync" --db "$1" extract-csv "$2" >"$work/out" 2>"$work/err" ||
		fail "extract-csv '$2' failed"
	snap=$(sed -n 's/^snapshot \([0-9]*\):.*/\1/p' "$work/out" | head -n 1)
	[ -n "$snap" ] || fail "no snapshot id in: $(cat "$work/out")"
}

# copy_db FROM TO: a database file copy (FROM checkpointed, no WAL), on
# disk before anything runs on it: left dirty in the page cache, the copy
# was flushed by the first fsync of the program measured next (its WAL
# checkpoint), which then timed the copy too (the 900 MB database of a
# year of runs: +0.3-0.4 s of a 0.9 s night)
copy_db() {
	rm -f "$2" "$2-wal" "$2-shm"
	cp "$1" "$2" && sync "$2"
}

checkpoint() {
	sqlite3 "$1" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null 2>"$work/err" ||
		fail "checkpointing '$1' failed"
}

# sim_up STATE [LATCH-SIM OPTIONS]: start bin/latch-sim on a free loopback
# port with its state in the file STATE; sets sim_url and the UNITSYNC_*
# Latch settings.  sim_down stops it (latch-sim flushes STATE on SIGTERM).
sim_up() {
	local state=$1 i
	shift
	# a new file: the loop below must not read the last latch-sim's address
	rm -f "$work/sim.out"
	"$bin/latch-sim" --port 0 --state "$state" "$@" >"$work/sim.out" 2>"$work/sim.err" &
	sim_pid=$!
	sim_url=
	for ((i = 0; i < 400; i++)); do
		sim_url=$(sed -n '1s/^listening on //p' "$work/sim.out" 2>/dev/null)
		[ -n "$sim_url" ] && break
		kill -0 "$sim_pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$sim_url" ]; then
		cp "$work/sim.err" "$work/err"
		fail "latch-sim did not start"
	fi
	export UNITSYNC_LATCH_URL=$sim_url UNITSYNC_TOKEN_URL=$sim_url/oauth/token \
		UNITSYNC_CLIENT_ID=demo UNITSYNC_CLIENT_SECRET=demo-secret
}

sim_down() {
	if [ -n "$sim_pid" ]; then
		kill "$sim_pid" 2>/dev/null
		{ wait "$sim_pid"; } 2>/dev/null
		sim_pid=
	fi
}

# sim_state FILE DB [RESIDENTS]: a latch-sim state file (its schema made by
# latch-sim itself, which makes its phone index again at start) holding a building per property of state database DB,
# a unit per unit_map row, a user per person_user row (names and phone as
# staged; e-mail where no other user has it) and, with RESIDENTS, every
# assignment of DB as a resident assigned by the bench's client
sim_state() {
	local file=$1 db=$2
	rm -f "$file"
	sim_up "$file"
	sim_down
	sqlite3 -bail "$file" >/dev/null 2>"$work/err" <<-EOF || fail "building '$file' failed"
		ATTACH DATABASE '$db' AS us;
		BEGIN;
		-- on phone_digits(), a function only latch-sim has: latch-sim
		-- makes the index again when it opens the file
		DROP INDEX users_phone;
		INSERT INTO buildings (uuid, name, timezone)
		  SELECT DISTINCT 'b-' || property_id, property_id, 'UTC' FROM us.unit_map;
		INSERT INTO units (uuid, building, name)
		  SELECT latch_unit_id, 'b-' || property_id, pms_unit_id FROM us.unit_map;
		INSERT INTO users (uuid, email, first_name, last_name, phone)
		  SELECT uuid, CASE WHEN row_number() OVER (PARTITION BY lower(email) ORDER BY uuid) = 1
		                    THEN email END, f, l, ph
		  FROM (SELECT u.latch_user_id AS uuid, u.email AS email, max(p.first_name) AS f,
		               max(p.last_name) AS l, max(p.phone) AS ph
		        FROM us.stg_person p JOIN us.person_user u
		          ON u.property_id = p.property_id AND u.pms_person_id = p.pms_person_id
		        GROUP BY u.latch_user_id);
		INSERT OR IGNORE INTO users (uuid) SELECT latch_user_id FROM us.person_user;
		${3:+INSERT INTO residents (unit, user, assigned_by)
		  SELECT latch_unit_id, latch_user_id, 'demo' FROM us.assignment;}
		COMMIT;
	EOF
}

# ---- transform -------------------------------------------------------------

# transform_template PEOPLE: in $work/transform/PEOPLE (cd there), night 0
# and night 1 (1% churn) of about PEOPLE people and template.db, a state
# database with both nights staged and night 0 recorded as applied
# (bench/applied.sql), checkpointed; sets tt_n1 (people tonight), tt_s1
# (night 1's snapshot) and tt_what (a line on the input)
transform_template() {
	local d=$work/transform/$1 s0 events assigned t0
	mkdir -p "$d" && cd "$d" || fail "cannot enter '$d'"
	layout "$1"
	t0=$SECONDS
	"$bin/portfolio-gen" --properties "$lay_props" --units "$lay_units" --seed 1 --night 0 \
		--out night0.csv 2>"$work/err" || fail "portfolio-gen (night 0) failed"
	"$bin/portfolio-gen" --properties "$lay_props" --units "$lay_units" --seed 1 --night 1 \
		--churn 0.01 --stats --out night1.csv 2>"$work/err" || fail "portfolio-gen (night 1) failed"
	tt_n1=$(sed -n 's/.* \([0-9]*\) people;.*/\1/p' "$work/err")
	events=$(sed -n 's/.*(2026-01-02): //p' "$work/err")
	"$bin/portfolio-gen" --properties "$lay_props" --units "$lay_units" --seed 1 --format units \
		--out units.csv 2>"$work/err" || fail "portfolio-gen (units) failed"
	map_csv units.csv map.csv
	state_db "$d/template.db" map.csv "$lay_props"
	stage_csv template.db night0.csv
	s0=$snap
	stage_csv template.db night1.csv
	tt_s1=$snap
	# night 0 applied: what a successful load of night 0 records (bench/applied.sql)
	sqlite3 -bail template.db -cmd ".parameter set @snap $s0" \
		-cmd ".parameter set @as_of \"'2026-01-01'\"" >/dev/null 2>"$work/err" <<-EOF ||
			.output /dev/null
			.read $bench/diff.sql
			.output stdout
			.read $bench/applied.sql
		EOF
		fail "recording night 0 as applied failed"
	assigned=$(sqlite3 template.db 'SELECT count(*) FROM assignment')
	checkpoint template.db
	tt_what="csv ${lay_props}x$lay_units, night 0 snapshot $s0, night 1 snapshot $tt_s1 ($tt_n1 people; $events); night 0 applied: $assigned assignments; setup $((SECONDS - t0)) s, not measured"
}

# the database each measured transform starts from ($tdb_from: a template)
fresh_transform_db() {
	copy_db "$tdb_from" work.db && rm -rf runs
}

# transform_night DB: `unitsync transform` of night 1 on fresh copies of DB
# (in the current directory, fastest of BENCH_REPEAT); sets uw, ur, urc and
# tn_run (the run directory of the last run, '' when it did not finish)
transform_night() {
	tdb_from=$1
	measure_limited fresh_transform_db "$limit" "$bin/unitsync" --db work.db transform \
		--as-of 2026-01-02 --snapshot "$tt_s1" --snapshots-only --out runs
	uw=$wall ur=$rss_kib urc=$rc tn_run=
	[ "$urc" -eq 0 ] && tn_run=$(tail -n 1 "$work/out")
	return 0
}

# transform_size PEOPLE: the template of PEOPLE people, unitsync transform
# of night 1 beside bench/diff.sql on it, both sets compared; a line of
# $work/tscale: people, unitsync wall, RSS KiB and exit, peer wall and RSS,
# same set (1/0)
transform_size() {
	local ops peer_ops same=0 pw pr prc
	transform_template "$1"
	echo "input: $tt_what"
	transform_night "$PWD/template.db"
	if [ -n "$tn_run" ]; then
		t_run=$tn_run t_db=$PWD/work.db t_people=$tt_n1
		# op,property_id,pms_unit_id,latch_unit_id,pms_person_id
		awk -F, 'NR > 1 && ($2 == "ASSIGN" || $2 == "UNASSIGN") { print $2 "," $3 "," $4 "," $5 "," $6 }' \
			"$tn_run/delta.csv" | sort >ops.unitsync
		ops=$(awk -F, 'NR > 1 { n[$2]++ } END { printf "%d USER_CREATE, %d ASSIGN, %d UNASSIGN",
			n["USER_CREATE"], n["ASSIGN"], n["UNASSIGN"] }' "$tn_run/delta.csv")
	else
		t_run='' t_db=''
		ops="no delta: $(ended "$urc" "$limit")"
	fi
	measure_limited no_setup "$limit" sqlite3 -bail template.db -cmd ".parameter set @snap $tt_s1" \
		-cmd ".parameter set @as_of \"'2026-01-02'\"" -cmd ".output peer.csv" ".read $bench/diff.sql"
	pw=$wall pr=$rss_kib prc=$rc
	[ "$prc" -eq 0 ] || fail "the peer (bench/diff.sql) failed: $(ended "$prc" "$limit")"
	cut -d, -f1-5 peer.csv | sort >ops.peer
	peer_ops=$(awk -F, '{ n[$1]++ } END { printf "%d ASSIGN, %d UNASSIGN", n["ASSIGN"], n["UNASSIGN"] }' peer.csv)
	echo "unitsync transform: $([ "$urc" -eq 0 ] && echo "$uw s" || ended "$urc" "$limit")," \
		"peak RSS $(mib "$ur") MiB: $ops"
	echo "sqlite3 < bench/diff.sql: $pw s, peak RSS $(mib "$pr") MiB: $peer_ops"
	if [ "$urc" -eq 0 ]; then
		if cmp -s ops.unitsync ops.peer; then
			same=1
			echo "both: the same ASSIGN/UNASSIGN set"
		else
			echo "both: DIFFERENT sets: $(comm -23 ops.unitsync ops.peer | wc -l) only in unitsync's," \
				"$(comm -13 ops.unitsync ops.peer | wc -l) only in the peer's"
		fi
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tt_n1" "$uw" "$ur" "$urc" "$pw" "$pr" "$same" \
		>>"$work/tscale"
}

# transform_history PEOPLE: night 1 of the PEOPLE template with a year of
# runs before it (BENCH_TRANSFORM_HISTORY runs in all: night 0 and the
# nights bench/history.sql adds, shaped like one real night-1 run) beside
# the same night with night 0 alone; sets th_one, th_year (walls; '' when
# not finished) and th_same (the two delta.csv files byte for byte)
transform_history() {
	local d=$work/transform/$1/history runs=$2 t0 one_run
	mkdir -p "$d" && cd "$d" || fail "cannot enter '$d'"
	t0=$SECONDS
	tt_s1=$(sqlite3 ../template.db 'SELECT max(snapshot_id) FROM snapshot')
	# the shape of a night: one real transform of night 1 on the template
	copy_db ../template.db shape.db
	"$bin/unitsync" --db shape.db transform --as-of 2026-01-02 --snapshot "$tt_s1" \
		--snapshots-only --out shape-runs >"$work/out" 2>"$work/err" ||
		fail "the transform making the history's shape failed"
	copy_db ../template.db history.db
	sqlite3 -bail history.db -cmd "ATTACH 'shape.db' AS shape" \
		-cmd ".parameter set @nights $((runs - 1))" <"$bench/history.sql" >/dev/null 2>"$work/err" ||
		fail "writing the history (bench/history.sql) failed"
	checkpoint history.db
	rm -rf shape.db shape-runs
	echo "history: $(sqlite3 history.db 'SELECT count(*) FROM run') runs before night 1," \
		"$(sqlite3 history.db 'SELECT count(*) FROM delta_history') delta_history," \
		"$(sqlite3 history.db 'SELECT count(*) FROM run_exception') run_exception rows," \
		"$(($(stat -c %s history.db) / 1048576)) MiB; setup $((SECONDS - t0)) s, not measured"
	th_one='' th_year='' th_same=0
	transform_night "$d/../template.db"
	[ "$urc" -eq 0 ] && th_one=$uw && cp "$tn_run/delta.csv" delta.one
	one_run=$urc
	transform_night "$d/history.db"
	[ "$urc" -eq 0 ] && th_year=$uw && cmp -s "$tn_run/delta.csv" delta.one && th_same=1
	echo "night 1 after night 0 alone: $([ "$one_run" -eq 0 ] && echo "$th_one s" || ended "$one_run" "$limit");" \
		"after $runs runs: $([ "$urc" -eq 0 ] && echo "$th_year s" || ended "$urc" "$limit"), peak RSS" \
		"$(mib "$ur") MiB; delta.csv $([ "$th_same" = 1 ] && echo "the same" || echo "NOT the same")"
	rm -f history.db work.db
	return 0
}

bench_transform() {
	local sizes=${BENCH_TRANSFORM_SIZES:-${BENCH_TRANSFORM_PEOPLE:-10000 100000 1000000}}
	local runs=${BENCH_TRANSFORM_HISTORY:-365} hsize=${BENCH_TRANSFORM_HISTORY_PEOPLE:-100000}
	local size hat='' last n uw ur urc pw pr same label
	echo
	echo "== transform =="
	case $runs in
	'' | *[!0-9]*)
		echo "bench: BENCH_TRANSFORM_HISTORY must be a number of runs, not '$runs'" >&2
		exit 2
		;;
	esac
	: >"$work/tscale"
	for size in $sizes; do
		case $size in
		'' | *[!0-9]* | 0)
			echo "bench: BENCH_TRANSFORM_SIZES takes numbers of people, not '$size'" >&2
			exit 2
			;;
		esac
		echo
		echo "-- $size people --"
		transform_size "$size"
		# the history is measured on the largest template at most hsize
		[ "$size" -le "$hsize" ] && { [ -z "$hat" ] || [ "$size" -gt "$hat" ]; } && hat=$size
		last=$size
	done
	[ -n "$hat" ] || hat=$(echo "$sizes" | tr ' ' '\n' | sort -n | head -n 1)
	if [ "$runs" -gt 1 ]; then
		echo
		echo "-- a year of runs: $hat people, $runs runs before night 1 --"
		transform_history "$hat" "$runs"
	fi

	echo
	echo "transform scaling (night 1, 1% churn; fastest of $repeat; us = microseconds):"
	printf '  %9s | %9s %9s %8s | %9s %9s | %5s | %s\n' people "unitsync" "us/person" "RSS MiB" \
		diff.sql us/person ratio "same set"
	awk -F'\t' '{
		if ($4 == 0) printf "  %9d | %9.2f %9.2f %8.1f | %9.2f %9.2f | %5.2f | %s\n", $1, $2,
			$2 * 1e6 / $1, $3 / 1024, $5, $5 * 1e6 / $1, $5 / $2, $7 ? "yes" : "NO"
		else printf "  %9d | %9s %9s %8.1f | %9.2f %9.2f | %5s | -\n", $1, "stopped", "-",
			$3 / 1024, $5, $5 * 1e6 / $1, "-"
	}' "$work/tscale"
	while IFS=$'\t' read -r n uw ur urc pw pr same; do
		label="$n people, night 1, 1% churn"
		if [ "$urc" -eq 0 ]; then
			summary transform "$label" "$uw s, $(mib "$ur") MiB" "diff.sql $pw s, $(mib "$pr") MiB" \
				"$(ratio "$uw" "$pw")"
		else
			summary transform "$label" "$(ended "$urc" "$limit"), $(mib "$ur") MiB" \
				"diff.sql $pw s, $(mib "$pr") MiB" "-"
		fi
	done <"$work/tscale"
	if [ "$runs" -gt 1 ]; then
		if [ -n "$th_one" ] && [ -n "$th_year" ]; then
			summary transform "$hat people, after $runs runs" "$th_year s" \
				"after one run $th_one s" "$(ratio "$th_year" "$th_one")"
		else
			summary transform "$hat people, after $runs runs" "${th_year:-not finished}" \
				"after one run ${th_one:-not finished}" "-"
		fi
	fi
	# the targets: at the largest size measured (the last line of tscale)
	IFS=$'\t' read -r n uw ur urc pw pr same < <(sort -n "$work/tscale" | tail -n 1)
	if [ "$urc" -eq 0 ]; then
		keep_rss transform "$n people" "$ur"
	else
		keep_rss transform "$n people (stopped)" "$ur"
	fi
	echo
	echo "targets:"
	if [ "$urc" -eq 0 ]; then
		target "$(is "w < 10" -v w="$uw")" "transform under 10 s at $n people: $uw s"
		target "$(is "p / w >= 1" -v w="$uw" -v p="$pw")" \
			"transform at least as fast as the plain SQL diff at $n people: $uw s vs $pw s, ratio $(ratio "$uw" "$pw") (need >= 1.00)"
	else
		target 0 "transform under 10 s at $n people: not finished ($(ended "$urc" "$limit"))"
		target 0 "transform at least as fast as the plain SQL diff at $n people ($pw s): not finished ($(ended "$urc" "$limit"))"
	fi
	target "$(is "k / 1024 <= $rss_limit_mib" -v k="$ur")" \
		"transform peak RSS at most $rss_limit_mib MiB at $n people: $(mib "$ur") MiB"
	target "$(awk -F'\t' '$4 != 0 || !$7 { bad = 1 } END { print bad ? 0 : 1 }' "$work/tscale")" \
		"transform's ASSIGN/UNASSIGN set is diff.sql's at every size: $(awk -F'\t' '$4 == 0 && $7 { n++ } END { print n + 0 }' "$work/tscale") of $(wc -l <"$work/tscale") sizes"
	if [ "$(wc -l <"$work/tscale")" -gt 1 ]; then
		# time per person must not grow with the size: each size's at most
		# 1.25x the size's before (noise here is about +-20%)
		target "$(sort -n "$work/tscale" | awk -F'\t' '
			$4 != 0 { bad = 1 } NR > 1 && $2 / $1 > 1.25 * prev { bad = 1 } { prev = $2 / $1 }
			END { print bad ? 0 : 1 }')" \
			"transform time per person flat from $(echo "$sizes" | tr ' ' '\n' | sort -n | head -n 1) to $n people (each size at most 1.25x the one before): $(sort -n "$work/tscale" | awk -F'\t' '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $2 * 1e6 / $1 } END { print " us/person" }')"
	fi
	if [ "$runs" -gt 1 ]; then
		if [ -n "$th_one" ] && [ -n "$th_year" ]; then
			target "$(is "y <= 1.2 * o && s" -v y="$th_year" -v o="$th_one" -v s="$th_same")" \
				"a year of runs ($runs) does not slow the night down at $hat people (at most 1.2x, same delta.csv): $th_year s vs $th_one s after one run$([ "$th_same" = 1 ] || echo ", delta.csv DIFFERENT")"
		else
			target 0 "a year of runs ($runs) does not slow the night down at $hat people: not finished"
		fi
	fi
	cd "$work" || exit 1
}

# ---- load ------------------------------------------------------------------

# load_template NAME PROPERTIES UNITS: in $work/load-NAME, a state database
# (template.db) that recorded the night-0 transform of a portfolio whose
# residents all have a Latch user already (person_user filled in from the
# staged people first), so that its delta is ASSIGN rows only, one PUT
# each; and a latch-sim state file $shm/NAME.sim holding its buildings,
# units and users.  Sets lt_run (the run directory) and lt_rows.
load_template() {
	local name=$1 d=$work/load-$1
	mkdir -p "$d"
	"$bin/portfolio-gen" --properties "$2" --units "$3" --seed 1 --out "$d/night0.csv" \
		2>"$work/err" || fail "portfolio-gen failed"
	"$bin/portfolio-gen" --properties "$2" --units "$3" --seed 1 --format units \
		--out "$d/units.csv" 2>"$work/err" || fail "portfolio-gen (units) failed"
	map_csv "$d/units.csv" "$d/map.csv"
	state_db "$d/work.db" "$d/map.csv" "$2"
	stage_csv "$d/work.db" "$d/night0.csv"
	sqlite3 -bail "$d/work.db" >/dev/null 2>"$work/err" <<-EOF || fail "filling person_user failed"
		INSERT INTO person_user (property_id, pms_person_id, latch_user_id, email, updated_at)
		SELECT property_id, pms_person_id,
		       substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8' ||
		       substr(h, 18, 3) || '-' || substr(h, 21, 12), nullif(email, ''), '2026-01-01T00:00:00Z'
		FROM (SELECT *, lower(hex(randomblob(16))) AS h FROM stg_person WHERE snapshot_id = $snap);
	EOF
	"$bin/unitsync" --db "$d/work.db" transform --as-of 2026-01-01 --out "$d/runs" \
		>"$work/out" 2>"$work/err" || fail "transform of the load bench's delta failed"
	lt_run=$(tail -n 1 "$work/out")
	lt_rows=$(awk -F, 'NR > 1 && $2 == "ASSIGN" { n++ } END { print n + 0 }' "$lt_run/delta.csv")
	[ "$(($(wc -l <"$lt_run/delta.csv") - 1))" = "$lt_rows" ] ||
		fail "the load bench's delta is not ASSIGN rows only"
	checkpoint "$d/work.db"
	copy_db "$d/work.db" "$d/template.db"
	sim_state "$shm/$name.sim" "$d/template.db"
}

# load_run NAME CONCURRENCY [LATCH-SIM OPTIONS]: a fresh copy of NAME's
# state database and latch-sim state, then `unitsync load` of its run at
# CONCURRENCY; sets wall, rss_kib, rc, lr_reqs (requests sent, from load's
# summary) and lr_rps
load_run() {
	local name=$1 c=$2 d=$work/load-$1 ndone
	shift 2
	copy_db "$d/template.db" "$d/work.db"
	rm -f "$lt_run/load-report.csv"
	cp "$shm/$name.sim" "$shm/run.sim"
	sim_up "$shm/run.sim" "$@"
	run_limited "$limit" "$bin/unitsync" --db "$d/work.db" load "$lt_run" --concurrency "$c"
	sim_down
	lr_reqs=$(sed -n 's/.*(\([0-9]*\) requests sent).*/\1/p' "$work/out")
	ndone=$(sed -n 's/.*: \([0-9]*\) done,.*/\1/p' "$work/out")
	if [ "$rc" -ne 0 ] || [ "${ndone:-0}" != "$lt_rows" ]; then
		echo "bench: load at --concurrency $c: $(ended "$rc" "$limit"), ${ndone:-0} of $lt_rows rows done" >&2
		sed 's/^/  /' "$work/err" | tail -n 5 >&2
		lr_rps=0
		[ "$rc" -ne 0 ] || rc=1
		return 0
	fi
	lr_rps=$(awk -v n="$lr_reqs" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')
}

bench_load() {
	local latency=20 units=${BENCH_LOAD_UNITS:-620} c ideal rows r16 w16 q16='' keep16=0 wrps wcode non2xx token tag i r
	local rps_c16=0
	echo
	echo "== load =="
	echo "ASSIGN-only deltas (every resident has a Latch user: one PUT a row) of" \
		"K properties of $units units, K = the concurrency, so that each run takes about"
	echo "20 s at the ideal rate; a fresh state database and latch-sim state (file in" \
		"$shm_parent) for every run"
	printf '%-34s %7s %9s %8s %9s %9s %7s\n' run rows requests "wall s" "req/s" ideal/peer ratio
	for c in 1 4 16; do
		load_template "c$c" "$c" "$units"
		load_run "c$c" "$c" --latency-ms "$latency"
		ideal=$((c * 1000 / latency))
		tag="latency ${latency} ms, --concurrency $c"
		if [ "$rc" -eq 0 ]; then
			printf '%-34s %7s %9s %8s %9s %9s %7s\n' "$tag" "$lt_rows" "$lr_reqs" "$wall" \
				"$lr_rps" "$ideal" "$(ratio "$ideal" "$lr_rps")"
			summary load "$tag, $lt_rows rows" "$lr_rps req/s" "ideal $ideal req/s" \
				"$(ratio "$ideal" "$lr_rps")"
		else
			printf '%-34s %7s %9s %8s %9s %9s %7s\n' "$tag" "$lt_rows" "-" "$(ended "$rc" "$limit")" \
				"-" "$ideal" "-"
			summary load "$tag, $lt_rows rows" "$(ended "$rc" "$limit")" "ideal $ideal req/s" "-"
		fi
		[ "$c" = 16 ] && rps_c16=$lr_rps
	done
	# no latency: the loader beside wrk, both at 16 connections on the c16
	# state, taking turns BENCH_REPEAT times (the machine may be shared);
	# the best of each is kept
	rows=$lt_rows r16=0 w16='' wrps=0 non2xx=''
	command -v wrk >/dev/null 2>&1 ||
		echo "bench: wrk is missing (apt-get install wrk); the loader is measured alone" >&2
	sqlite3 "$work/load-c16/template.db" 'SELECT latch_unit_id FROM unit_map' >"$work/units.txt"
	sqlite3 "$work/load-c16/template.db" 'SELECT latch_user_id FROM person_user' >"$work/users.txt"
	for ((i = 0; i < repeat; i++)); do
		load_run c16 16
		[ "$rc" -eq 0 ] || break
		if [ "$lr_rps" -gt "$r16" ]; then
			r16=$lr_rps w16=$wall q16=$lr_reqs
		fi
		keep16=$rss_kib
		command -v wrk >/dev/null 2>&1 || continue
		cp "$shm/c16.sim" "$shm/run.sim"
		sim_up "$shm/run.sim"
		token=$(curl -sf -H 'Content-Type: application/json' -d \
			'{"client_id":"demo","client_secret":"demo-secret","grant_type":"client_credentials","audience":"bench"}' \
			"$sim_url/oauth/token" | sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p')
		[ -n "$token" ] || fail "no token from latch-sim for wrk"
		wcode=0
		BENCH_TOKEN=$token BENCH_UNITS=$work/units.txt BENCH_USERS=$work/users.txt BENCH_THREADS=2 \
			wrk -t 2 -c 16 -d "${BENCH_WRK_SECONDS:-5}s" -s "$bench/wrk-put.lua" "$sim_url" \
			>"$work/wrk.out" 2>&1 || wcode=$?
		sim_down
		r=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/wrk.out")
		non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *//p' "$work/wrk.out")
		if [ "$wcode" -ne 0 ] || [ -z "$r" ] || [ -n "$non2xx" ]; then
			echo "bench: wrk did not measure cleanly (exit $wcode${non2xx:+, $non2xx non-2xx replies}):" >&2
			sed 's/^/  /' "$work/wrk.out" | tail -n 8 >&2
			continue
		fi
		if [ "$r" -gt "$wrps" ]; then
			wrps=$r
			cp "$work/wrk.out" "$work/wrk.best"
		fi
	done
	if [ "$rc" -eq 0 ]; then
		keep_rss load "$rows-row delta, --concurrency 16" "$keep16"
		printf '%-34s %7s %9s %8s %9s %9s %7s\n' "no latency, --concurrency 16" "$rows" \
			"$q16" "$w16" "$r16" "wrk $wrps" "$(ratio "$wrps" "$r16")"
		summary load "no latency, 16 connections, $rows rows" "$r16 req/s, $(mib "$keep16") MiB" \
			"wrk PUT $wrps req/s" "$(ratio "$wrps" "$r16")"
	else
		summary load "no latency, 16 connections, $rows rows" "$(ended "$rc" "$limit")" \
			"wrk PUT $wrps req/s" "-"
	fi
	[ "$wrps" != 0 ] && echo "wrk, best of $repeat: -t 2 -c 16 -d ${BENCH_WRK_SECONDS:-5}s -s bench/wrk-put.lua:" \
		"$(awk '/requests in/ { print $1, "requests in", $4 }' "$work/wrk.best" | tr -d ',')"

	# the 1M people's night-1 delta, from the transform part's last run
	load_big

	echo
	echo "targets:"
	target "$(is "r >= 0.9 * 800" -v r="$rps_c16")" \
		"load at --concurrency 16 with ${latency} ms latency at least 90% of ideal: $rps_c16 of 800 req/s"
	if [ "${wrps:-0}" != 0 ]; then
		target "$(is "r >= 0.9 * w" -v r="$r16" -v w="$wrps")" \
			"load without latency at least 0.9x wrk's requests/s: $r16 vs $wrps req/s, ratio $(ratio "$wrps" "$r16")"
	else
		target 0 "load without latency at least 0.9x wrk's requests/s: wrk did not run (is the wrk package installed?)"
	fi
	target "$big_ok" "the transform input's night-1 delta completes: $big_what"
}

# load_big: `unitsync load` of the transform part's night-1 run (1M
# people by default) against a latch-sim holding night 0 as applied: every unit, user
# and assignment of the transform's state database.  Sets big_ok (1: every
# row done) and big_what for the target line.
load_big() {
	local reqs rows ndone
	big_ok=0 big_what="not measured (the transform part made no run)"
	if [ -z "${t_run:-}" ]; then
		echo "the transform input's night-1 delta: not loaded (the transform part made no run)"
		summary load "transform input's night-1 delta" "not run: no transform run" "-" "-"
		return 0
	fi
	rows=$(($(wc -l <"$t_run/delta.csv") - 1))
	checkpoint "$t_db"
	sim_state "$shm/big.sim" "$t_db" residents
	sim_up "$shm/big.sim"
	run_limited "$limit" "$bin/unitsync" --db "$t_db" load "$t_run"
	# latch-sim's plans of the statements the load made it run (EXPLAIN
	# QUERY PLAN): a lookup that scans every user is what stopped this load
	echo "latch-sim statements that scanned a whole table or index during the load:" \
		"$(curl -sf "$sim_url/_sim/stats" | python3 -c 'import json, sys
s = json.load(sys.stdin)["full_scans"]
print("; ".join(x["plan"] + " in " + x["sql"] for x in s) or "none")' 2>/dev/null || echo "?")"
	sim_down
	rm -f "$shm/big.sim"
	reqs=$(sed -n 's/.*(\([0-9]*\) requests sent).*/\1/p' "$work/out")
	ndone=$(sed -n 's/.*: \([0-9]*\) done,.*/\1/p' "$work/out")
	big_what="$t_people people, $rows rows: ${ndone:-0} done, $(ended "$rc" "$limit") after $wall s"
	[ "$rc" -eq 0 ] && [ "${ndone:-0}" = "$rows" ] && big_ok=1
	if [ "$rc" -ne 0 ]; then
		echo "$t_people people's night-1 delta ($rows rows): $(ended "$rc" "$limit"): $(tail -n 1 "$work/out")"
		summary load "$t_people people night 1, $rows rows, default concurrency" \
			"$(ended "$rc" "$limit"), $(mib "$rss_kib") MiB" "-" "-"
	else
		echo "$t_people people's night-1 delta ($rows rows, default --concurrency, no latency):" \
			"$reqs requests in $wall s, $(awk -v n="$reqs" -v w="$wall" 'BEGIN { printf "%.0f", n / w }') req/s," \
			"peak RSS $(mib "$rss_kib") MiB"
		summary load "$t_people people night 1, $rows rows, default concurrency" \
			"$(awk -v n="$reqs" -v w="$wall" 'BEGIN { printf "%.0f", n / w }') req/s, $(mib "$rss_kib") MiB" "-" "-"
	fi
	keep_rss load "$t_people people's night-1 delta ($rows rows)" "$rss_kib"
}

# ---- end to end --------------------------------------------------------------

# residents_of SIM_STATE: the residents a latch-sim state holds, as unit
# and user by e-mail (else phone and name: user ids differ between sims)
residents_of() {
	sqlite3 "$1" "SELECT r.unit || ',' || lower(coalesce(u.email, u.phone || ' ' || u.first_name
		|| ' ' || u.last_name, u.uuid)) FROM residents r JOIN users u ON u.uuid = r.user ORDER BY 1"
}

# same_residents: "yes" when both night-1 latch-sims ($shm/e2e.sim,
# $shm/e2e-ref.sim) hold the same residents, else "NO (N pairs differ)"
same_residents() {
	if cmp -s <(residents_of "$shm/e2e.sim") <(residents_of "$shm/e2e-ref.sim"); then
		echo yes
	else
		echo "NO ($(comm -3 <(residents_of "$shm/e2e.sim") <(residents_of "$shm/e2e-ref.sim") | wc -l) pairs differ)"
	fi
}

# night_reqs: requests the night's load sent, from its summary line
night_reqs() {
	sed -n 's/.*(\([0-9]*\) requests sent).*/\1/p' "$work/out" | tail -n 1
}

# record_applied DB RUN_DIR: record in DB what a load of RUN_DIR that
# succeeded row by row records (load/load.c record_done), without sending
# anything: person_user for each USER_CREATE (a fresh UUID-shaped Latch
# user id), assignment for each ASSIGN, the journal rows done, the run's
# load_status 'done'.  The delta has no UNASSIGN (a first night).
record_applied() {
	local db=$1 dir=$2 id
	id=$(basename "$dir")
	sqlite3 -bail "$db" >/dev/null 2>"$work/err" <<-EOF || fail "recording '$dir' as applied failed"
		CREATE TEMP TABLE d (seq INTEGER, op TEXT, property_id TEXT, pms_unit_id TEXT,
		  latch_unit_id TEXT, pms_person_id TEXT, latch_user_id TEXT, reason TEXT, group_id TEXT,
		  effective_date TEXT, email TEXT, phone TEXT, first_name TEXT, last_name TEXT);
		.import --csv --skip 1 --schema temp '$dir/delta.csv' d
		BEGIN;
		INSERT INTO person_user (property_id, pms_person_id, latch_user_id, email, updated_at)
		SELECT property_id, pms_person_id,
		       substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8' ||
		       substr(h, 18, 3) || '-' || substr(h, 21, 12), nullif(email, ''), effective_date
		FROM (SELECT *, lower(hex(randomblob(16))) AS h FROM temp.d WHERE op = 'USER_CREATE');
		INSERT INTO assignment (property_id, pms_person_id, latch_unit_id, pms_unit_id,
		                        latch_user_id, run_id, seq, assigned_at, owner)
		SELECT d.property_id, d.pms_person_id, d.latch_unit_id, d.pms_unit_id,
		       coalesce(nullif(d.latch_user_id, ''), u.latch_user_id), '$id', d.seq,
		       d.effective_date, 'unitsync'
		FROM temp.d d JOIN person_user u
		  ON u.property_id = d.property_id AND u.pms_person_id = d.pms_person_id
		WHERE d.op = 'ASSIGN';
		INSERT INTO journal (run_id, seq, op, idempotency_key, state, attempts, updated_at)
		SELECT '$id', seq, op, '', 'done', 1, effective_date FROM temp.d;
		UPDATE run SET load_status = 'done', loaded_at = created_at WHERE run_id = '$id';
		COMMIT;
	EOF
}

bench_e2e() {
	local units=${BENCH_E2E_UNITS:-100000} props=40 per d=$work/e2e p i n0w n0r n0rc n0q=''
	local n1w n1r n1rc n1q pw pr prc pq p0w='' p0rc=0 est events people1 same='' run0 rows0
	local elimit=$limit real0=${BENCH_E2E_NIGHT0:-0} lat=${BENCH_E2E_LATENCY:-20} l1w l1rc l1pw l1prc
	local l1same=''
	echo
	echo "== end to end =="
	per=$(((units + props - 1) / props))
	mkdir -p "$d/night0" "$d/night1" "$d/exports" && cd "$d" || fail "cannot enter '$d'"
	"$bin/portfolio-gen" --properties "$props" --units "$per" --seed 1 --night 0 --stats \
		--out night0 2>"$work/err" || fail "portfolio-gen (night 0) failed"
	"$bin/portfolio-gen" --properties "$props" --units "$per" --seed 1 --night 1 --churn 0.01 \
		--stats --out night1 2>"$work/err" || fail "portfolio-gen (night 1) failed"
	people1=$(sed -n 's/.* \([0-9]*\) people;.*/\1/p' "$work/err")
	events=$(sed -n 's/.*(2026-01-02): //p' "$work/err")
	"$bin/portfolio-gen" --properties "$props" --units "$per" --seed 1 --format units \
		--out units.csv 2>"$work/err" || fail "portfolio-gen (units) failed"
	map_csv units.csv map.csv
	awk -F, 'NR == 1 { print "building_uuid,unit_uuid,name"; next } { print "b-" $1 "," $3 "," $2 }' \
		map.csv >seed.csv
	state_db "$d/unitsync.db" map.csv "$props"
	# each property's Latch building (seed.csv makes them), as a real
	# portfolio has: load lists its units before the first request
	for ((i = 1; i <= props; i++)); do
		p=$(printf 'P%04d' "$i")
		"$bin/unitsync" --db "$d/unitsync.db" property set "$p" --latch-building "b-$p" \
			>/dev/null 2>"$work/err" || fail "unitsync property set '$p' failed"
	done
	: >unitsync.ini
	for ((i = 1; i <= props; i++)); do
		p=$(printf 'P%04d' "$i")
		printf '[property "%s"]\nformat = csv\nprofile = generic\nsource = exports/%s.csv\n\n' \
			"$p" "$p" >>unitsync.ini
	done
	echo "input: $props properties x $per units, one generic CSV export each; night 1:" \
		"$people1 people, $events; latch-sim state files in $shm_parent"

	# night 0: every resident is new (a USER_CREATE and an ASSIGN each)
	cp night0/*.csv exports/
	if [ "$real0" = 1 ]; then
		sim_up "$shm/e2e.sim" --seed seed.csv
		run_limited "$((10 * limit))" "$tree/pipelines/nightly.sh" --config unitsync.ini \
			--db unitsync.db --out runs --as-of 2026-01-01
		sim_down
		n0q=$(night_reqs)
	else
		run_limited "$elimit" "$tree/pipelines/nightly.sh" --config unitsync.ini \
			--db unitsync.db --out runs --as-of 2026-01-01 --dry-run
	fi
	n0w=$wall n0r=$rss_kib n0rc=$rc
	run0=$(sed -n 's/^run directory: //p' "$work/out" | tail -n 1)
	if [ "$real0" != 1 ] && [ "$n0rc" -eq 0 ]; then
		# a preview changes nothing (issue 17): stage and transform night 0
		# for real, unmeasured, so that its delta can be recorded as applied
		for i in exports/*.csv; do
			"$bin/unitsync" --db unitsync.db extract-csv --property "$(basename "$i" .csv)" \
				--profile generic "$i" >/dev/null 2>"$work/err" || fail "extract-csv '$i' failed"
		done
		"$bin/unitsync" --db unitsync.db transform --out runs --as-of 2026-01-01 \
			>"$work/t0.out" 2>"$work/err" || fail "transform (night 0) failed"
		run0=$(tail -n 1 "$work/t0.out")
	fi
	if [ "$n0rc" -ne 0 ] || [ -z "$run0" ]; then
		[ "$n0rc" -ne 0 ] || n0rc=1
		echo "unitsync night 0: $(ended "$n0rc" "$elimit"), peak RSS $(mib "$n0r") MiB"
		sed 's/^/  /' "$work/err" | tail -n 5
		summary e2e "nightly.sh night 0, $units units" "$(ended "$n0rc" "$elimit")" "-" "-"
		summary e2e "nightly.sh night 1, $units units" "not run: night 0 did not finish" "-" "-"
		echo
		echo "targets:"
		target 0 "nightly.sh at least 10x bench/reference.py on night 1: not measured (unitsync's night 0 $(ended "$n0rc" "$elimit"))"
		cd "$work" || exit 1
		return 0
	fi
	rows0=$(($(wc -l <"$run0/delta.csv") - 1))
	if [ "$real0" = 1 ]; then
		echo "unitsync night 0: $n0w s, $rows0 delta rows, ${n0q:-?} requests, peak RSS $(mib "$n0r") MiB"
	else
		# requests a load of it sends: GET /v1/users?email= then POST for a USER_CREATE
		# with an e-mail, POST alone without, one PUT an ASSIGN
		n0q=$(awk -F, 'NR > 1 { n += ($2 == "USER_CREATE" && $11 != "") ? 2 : 1 } END { print n + 0 }' \
			"$run0/delta.csv")
		echo "unitsync night 0 with --dry-run (extract, transform, load --dry-run): $n0w s," \
			"peak RSS $(mib "$n0r") MiB; $rows0 delta rows, $n0q requests not sent"
		record_applied unitsync.db "$run0"
		checkpoint unitsync.db
		sim_state "$shm/e2e.sim" unitsync.db residents
		echo "night 0 recorded as applied from its delta.csv (as load records it) and latch-sim" \
			"state made to match (not measured)"
	fi
	# the reference starts from the same state: unitsync's night 0; kept
	# for the runs with latency too
	cp "$shm/e2e.sim" "$shm/e2e-ref.sim"
	cp "$shm/e2e.sim" "$shm/e2e-night0.sim"
	python3 "$bench/reference.py" --db reference.db --adopt unitsync.db 2>"$work/err" ||
		fail "reference.py --adopt failed"
	checkpoint unitsync.db
	checkpoint reference.db
	cp unitsync.db unitsync-night0.db
	cp reference.db reference-night0.db

	cp night1/*.csv exports/
	sim_up "$shm/e2e.sim"
	run_limited "$elimit" "$tree/pipelines/nightly.sh" --config unitsync.ini --db unitsync.db \
		--out runs --as-of 2026-01-02
	sim_down
	n1w=$wall n1r=$rss_kib n1rc=$rc n1q=$(night_reqs)
	echo "unitsync night 1: $([ "$n1rc" -eq 0 ] && echo "$n1w s" || ended "$n1rc" "$elimit")," \
		"${n1q:-?} requests, peak RSS $(mib "$n1r") MiB"
	[ "$n1rc" -eq 0 ] || sed 's/^/  /' "$work/err" | tail -n 5

	sim_up "$shm/e2e-ref.sim"
	run_limited "$elimit" python3 "$bench/reference.py" --db reference.db --map map.csv \
		--as-of 2026-01-02 night1/*.csv
	sim_down
	pw=$wall pr=$rss_kib prc=$rc pq=$(sed -n 's/.*(\([0-9]*\) requests sent).*/\1/p' "$work/out")
	cp "$work/out" "$work/ref.out"
	echo "reference.py night 1: $([ "$prc" -eq 0 ] && echo "$pw s" || ended "$prc" "$elimit")," \
		"${pq:-?} requests, peak RSS $(mib "$pr") MiB: $(head -n 1 "$work/out")"
	[ "$prc" -eq 0 ] || sed 's/^/  /' "$work/err" | tail -n 5
	if [ "$n1rc" -eq 0 ] && [ "$prc" -eq 0 ]; then
		same=$(same_residents)
		echo "the same residents in both latch-sims after night 1: $same"
	fi

	if [ "$real0" = 1 ]; then
		rm -f "$shm/ref0.sim" reference0.db
		sim_up "$shm/ref0.sim" --seed seed.csv
		run_limited "$((10 * limit))" python3 "$bench/reference.py" --db reference0.db \
			--map map.csv --as-of 2026-01-01 night0/*.csv
		sim_down
		p0w=$wall p0rc=$rc
		echo "reference.py night 0: $([ "$p0rc" -eq 0 ] && echo "$p0w s" || ended "$p0rc" "$((10 * limit))")"
	fi

	if [ "$n1rc" -eq 0 ] && [ "$prc" -eq 0 ]; then
		summary e2e "nightly.sh night 1, $units units" "$n1w s, $n1q req, $(mib "$n1r") MiB" \
			"reference.py $pw s, $pq req" "$(ratio "$n1w" "$pw")"
	else
		summary e2e "nightly.sh night 1, $units units" \
			"$([ "$n1rc" -eq 0 ] && echo "$n1w s" || ended "$n1rc" "$elimit")" \
			"reference.py $([ "$prc" -eq 0 ] && echo "$pw s" || ended "$prc" "$elimit")" "-"
	fi
	if [ "$real0" = 1 ]; then
		summary e2e "nightly.sh night 0, $units units" "$n0w s, $n0q req, $(mib "$n0r") MiB" \
			"reference.py $([ "$p0rc" -eq 0 ] && echo "$p0w s" || ended "$p0rc" "$((10 * limit))")" \
			"$([ "$p0rc" -eq 0 ] && ratio "$n0w" "$p0w" || echo -)"
	else
		# the reference's night 1, its requests scaled to night 0's at its own pace
		est=''
		[ "$prc" -eq 0 ] && [ -n "$pq" ] && est=$(sed -n 's/.*applied in \([0-9.]*\) s.*/\1/p' \
			"$work/ref.out" | awk -v q="$n0q" -v pq="$pq" -v pw="$pw" \
			'{ printf "%.0f", pw - $1 + q * $1 / pq }')
		summary e2e "night 0 --dry-run, $units units" "$n0w s + $n0q req not sent" \
			"reference.py not run${est:+ (est. ~$est s)}" "-"
	fi
	# night 1 again, both from night 0 again, with latency on every request
	if [ "$lat" -gt 0 ]; then
		copy_db unitsync-night0.db unitsync.db
		cp "$shm/e2e-night0.sim" "$shm/e2e.sim"
		sim_up "$shm/e2e.sim" --latency-ms "$lat"
		run_limited "$elimit" "$tree/pipelines/nightly.sh" --config unitsync.ini --db unitsync.db \
			--out runs --as-of 2026-01-02
		sim_down
		l1w=$wall l1rc=$rc
		copy_db reference-night0.db reference.db
		cp "$shm/e2e-night0.sim" "$shm/e2e-ref.sim"
		sim_up "$shm/e2e-ref.sim" --latency-ms "$lat"
		run_limited "$elimit" python3 "$bench/reference.py" --db reference.db --map map.csv \
			--as-of 2026-01-02 night1/*.csv
		sim_down
		l1pw=$wall l1prc=$rc
		[ "$l1rc" -eq 0 ] && [ "$l1prc" -eq 0 ] && l1same=$(same_residents)
		echo "with ${lat} ms latency: unitsync night 1" \
			"$([ "$l1rc" -eq 0 ] && echo "$l1w s" || ended "$l1rc" "$elimit"), reference.py" \
			"$([ "$l1prc" -eq 0 ] && echo "$l1pw s" || ended "$l1prc" "$elimit")${l1same:+; the same residents in both latch-sims: $l1same}"
		if [ "$l1rc" -eq 0 ] && [ "$l1prc" -eq 0 ]; then
			summary e2e "night 1, $units units, latency ${lat} ms" "$l1w s" "reference.py $l1pw s" \
				"$(ratio "$l1w" "$l1pw")"
		else
			summary e2e "night 1, $units units, latency ${lat} ms" \
				"$([ "$l1rc" -eq 0 ] && echo "$l1w s" || ended "$l1rc" "$elimit")" \
				"reference.py $([ "$l1prc" -eq 0 ] && echo "$l1pw s" || ended "$l1prc" "$elimit")" "-"
		fi
	fi

	echo
	echo "targets:"
	if [ "$n1rc" -eq 0 ] && [ "$prc" -eq 0 ]; then
		target "$(is "p / w >= 2 && s == \"yes\"" -v w="$n1w" -v p="$pw" -v s="$same")" \
			"nightly.sh at least 2x bench/reference.py on night 1 without latency: $n1w s vs $pw s, ratio $(ratio "$n1w" "$pw") (need >= 2); the same residents: $same"
	else
		target 0 "nightly.sh at least 2x bench/reference.py on night 1 without latency: not finished"
	fi
	if [ "$lat" -gt 0 ] && [ "$l1rc" -eq 0 ] && [ "$l1prc" -eq 0 ]; then
		target "$(is "p / w >= 10 && s == \"yes\"" -v w="$l1w" -v p="$l1pw" -v s="$l1same")" \
			"nightly.sh at least 10x bench/reference.py on night 1 with ${lat} ms latency: $l1w s vs $l1pw s, ratio $(ratio "$l1w" "$l1pw") (need >= 10); the same residents: $l1same"
	elif [ "$lat" -gt 0 ]; then
		target 0 "nightly.sh at least 10x bench/reference.py on night 1 with ${lat} ms latency: not finished"
	else
		target 0 "nightly.sh at least 10x bench/reference.py on night 1 with latency: not run (BENCH_E2E_LATENCY=0)"
	fi
	keep_rss nightly.sh "night 1, $units units (all stages)" "$n1r"
	cd "$work" || exit 1
}

# ---- the closing table -------------------------------------------------------

closing() {
	echo
	echo "== summary: unitsync beside its peer, same files, same run =="
	printf '%-9s %-42s | %-30s | %-34s | %s\n' stage input unitsync peer ratio
	[ -s "$work/summary" ] && awk -F'\t' '{ printf "%-9s %-42s | %-30s | %-34s | %s\n", $1, $2, $3, $4, $5 }' \
		"$work/summary"
	echo
	echo "peak RSS of each stage (MiB; target at most $rss_limit_mib):"
	if [ -s "$work/rss" ]; then
		awk -F'\t' '{ printf "  %-12s %-44s %7.1f\n", $1, $2, $3 / 1024 }' "$work/rss"
		target "$(awk -F'\t' -v l="$rss_limit_mib" '$3 / 1024 > l { bad = 1 } END { print bad ? 0 : 1 }' "$work/rss")" \
			"every stage's peak RSS at most $rss_limit_mib MiB: largest $(awk -F'\t' '$3 > m { m = $3; s = $1 " " $2 } END { printf "%.1f MiB (%s)", m / 1024, s }' "$work/rss")" \
			>/dev/null
		tail -n 1 "$work/targets"
	fi
	echo
	echo "targets:"
	[ -s "$work/targets" ] && cat "$work/targets"
	echo
	echo "bench: $SECONDS s in all"
}

echo "unitsync bench - all figures from this run, on the same files; MB = 10^6 bytes;"
echo "ratio = unitsync's throughput / the peer's (>1: unitsync faster); fastest of $repeat"
echo "run(s) of each extract and transform command; any one command stopped after $limit s;"
echo "measuring $bin"
machine
: >"$work/summary"
: >"$work/targets"
: >"$work/rss"
for part in $parts; do
	case $part in
	extract | transform | load | e2e) "bench_$part" ;;
	*)
		echo "bench: unknown part '$part' (extract, transform, load, e2e)" >&2
		exit 2
		;;
	esac
done
closing
exit 0
