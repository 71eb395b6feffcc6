#!/usr/bin/env bash
# usage: rerun.sh --property P --snapshot ID [--as-of DATE] [--config FILE] [--db PATH] [--out DIR] [--dry-run]
#
# Run transform and load again from a stored snapshot, without extracting:
# for an operator redoing a night (the export was fixed and re-staged, a
# held run was reviewed), or an auditor reproducing it.  The run it makes is
# the property's newest, so older runs of the property can no longer be
# loaded.  Holds the same lock as nightly.sh.  Exit codes as unitsync load's.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# the source tree's bin/, or the installed PREFIX/bin three levels up from
# PREFIX/share/unitsync/pipelines (make install), else $UNITSYNC or PATH
if [ -x "$here/../bin/unitsync" ]; then
	unitsync="$here/../bin/unitsync"
elif [ -x "$here/../../../bin/unitsync" ]; then
	unitsync="$here/../../../bin/unitsync"
else
	unitsync=${UNITSYNC:-unitsync}
fi
usage() {
	echo "rerun.sh: $1" >&2
	echo "usage: rerun.sh --property P --snapshot ID [--as-of DATE] [--config FILE] [--db PATH] [--out DIR] [--dry-run]" >&2
	exit 2
}

config=${UNITSYNC_CONFIG:-}
db=${UNITSYNC_DB:-unitsync.db}
out=runs
property=
snapshots=()
as_of=()
dry_run=()
while [ $# -gt 0 ]; do
	case $1 in
	--property | --snapshot | --as-of | --config | --db | --out)
		[ $# -ge 2 ] || usage "option '$1' needs a value"
		case $1 in
		--property) property=$2 ;;
		--snapshot) snapshots+=(--snapshot "$2") ;;
		--as-of) as_of=(--as-of "$2") ;;
		--config) config=$2 ;;
		--db) db=$2 ;;
		--out) out=$2 ;;
		esac
		shift 2
		;;
	--version)
		"$unitsync" --version | sed 's/^unitsync/rerun.sh (unitsync)/'
		exit 0
		;;
	--dry-run)
		dry_run=(--dry-run)
		shift
		;;
	--help | -h)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) usage "unknown option '$1'" ;;
	esac
done
[ -n "$property" ] || usage "--property is required"
[ ${#snapshots[@]} -gt 0 ] || usage "--snapshot is required (see 'unitsync snapshots list')"

lock=$(readlink -f -- "$db" 2>/dev/null || printf '%s' "$db").lock
exec 9>>"$lock" || exit 78
if ! flock -n 9; then
	echo "rerun.sh: another run holds '$lock'; exiting (rerun later)" >&2
	exit 75
fi

us() {
	if [ -n "$config" ]; then
		"$unitsync" --db "$db" --config "$config" "$@"
	else
		"$unitsync" --db "$db" "$@"
	fi
}

tmp=$(mktemp) || exit 75
trap 'rm -f "$tmp"' EXIT
us transform --out "$out" --snapshots-only --property "$property" "${snapshots[@]}" \
	"${as_of[@]}" >"$tmp" || exit $?
run_dir=$(tail -n 1 "$tmp")
sed '$d' "$tmp"
rc=0
us load "${dry_run[@]}" "$run_dir" || rc=$?
echo "run directory: $run_dir"
exit $rc
