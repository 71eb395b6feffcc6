#!/bin/sh
# usage: nightly.sh [--config FILE] [--db PATH] [--out DIR] [--as-of DATE] [--dry-run]
#
# The nightly Unit Sync job: for every property in the configuration,
# extract its export files, then one transform over tonight's snapshots,
# then load, all under one lock.  See README.md "Scheduling" and
# unitsync-nightly(1).
#
# Exit codes (DESIGN.md §4): 0 ok; 1 some operations failed permanently;
# 4 a property is held by the safety guard (review, then 'unitsync approve');
# 65 an export file was rejected (that property removes nobody tonight);
# 75 temporary failure (API down, or another run holds the lock): rerun;
# 78 configuration error.
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ -x "$here/../bin/unitsync" ]; then
	unitsync="$here/../bin/unitsync"
else
	unitsync=${UNITSYNC:-unitsync}
fi

config=${UNITSYNC_CONFIG:-}
db=${UNITSYNC_DB:-unitsync.db}
out=runs
as_of=
dry_run=
usage() {
	echo "nightly.sh: $1" >&2
	echo "usage: nightly.sh [--config FILE] [--db PATH] [--out DIR] [--as-of DATE] [--dry-run]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--config|--db|--out|--as-of)
		[ $# -ge 2 ] || usage "option '$1' needs a value"
		case $1 in
		--config) config=$2 ;;
		--db) db=$2 ;;
		--out) out=$2 ;;
		--as-of) as_of=$2 ;;
		esac
		shift 2 ;;
	--version)
		"$unitsync" --version | sed 's/^unitsync/nightly.sh (unitsync)/'
		exit 0 ;;
	--dry-run) dry_run=--dry-run; shift ;;
	--help|-h)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0 ;;
	*) usage "unknown option '$1'" ;;
	esac
done
if [ -z "$config" ]; then
	echo "nightly.sh: no configuration file (use --config or UNITSYNC_CONFIG)" >&2
	exit 78
fi

# one nightly run per state database at a time; a second one leaves at once
exec 9>>"$db.lock" || exit 78
if ! flock -n 9; then
	echo "nightly.sh: another run holds '$db.lock'; exiting (rerun later)" >&2
	exit 75
fi

us() { "$unitsync" --db "$db" --config "$config" "$@"; }

[ -f "$db" ] || us init >/dev/null || exit 78
sources=$(us config properties) || exit 78
if [ -z "$sources" ]; then
	echo "nightly.sh: the configuration names no [property \"ID\"] sections" >&2
	exit 78
fi

tmp=$(mktemp -d) || exit 75
trap 'rm -rf "$tmp"' EXIT
rejected=0
props=
snaps=
# each line: property_id TAB format TAB profile TAB source
printf '%s\n' "$sources" > "$tmp/sources"
while IFS='	' read -r prop format profile source; do
	case " $props " in *" $prop "*) ;; *) props="$props $prop" ;; esac
	if [ "$format" = xml ]; then
		us extract-xml --property "$prop" "$source" > "$tmp/extract.out"
	else
		us extract-csv --property "$prop" --profile "$profile" "$source" > "$tmp/extract.out"
	fi
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "$prop: export '$source' rejected (exit $rc); nothing is removed for $prop tonight" >&2
		[ $rc -eq 65 ] || exit $rc
		rejected=1
		continue
	fi
	snap=$(awk '$1 == "snapshot" { sub(":", "", $2); print $2; exit }' "$tmp/extract.out")
	snaps="$snaps --snapshot $snap"
done < "$tmp/sources"

set --
for p in $props; do set -- "$@" --property "$p"; done
[ -n "$as_of" ] && set -- "$@" --as-of "$as_of"
# shellcheck disable=SC2086 # snapshot options are words on purpose
us transform --out "$out" --snapshots-only $snaps "$@" > "$tmp/transform.out" || exit $?
run_dir=$(tail -n 1 "$tmp/transform.out")
sed '$d' "$tmp/transform.out"

us load $dry_run "$run_dir"
rc=$?
echo "run directory: $run_dir"
if [ $rc -eq 4 ]; then
	echo "held by the safety guard: review $run_dir/manifest.json and delta.csv, then" \
		"'unitsync approve $run_dir' and 'unitsync load $run_dir'" >&2
fi
if [ $rc -eq 75 ] || [ $rc -eq 78 ]; then exit $rc; fi
if [ $rejected -eq 1 ]; then exit 65; fi
exit $rc
