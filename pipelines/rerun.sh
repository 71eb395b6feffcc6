#!/usr/bin/env bash
# usage: rerun.sh --property P --snapshot ID [--older] [--as-of DATE] [--config FILE] [--db PATH] [--out DIR] [--dry-run]
#
# Run transform and load again from a stored snapshot, without extracting:
# for an operator redoing a night (the export was fixed and re-staged, a
# held run was reviewed), or an auditor reproducing it.  The run it makes is
# the property's newest, so older runs of the property can no longer be
# loaded.  Holds the same lock as nightly.sh.  Exit codes as unitsync
# load's, and 3 when the export is stale (transform's exception
# stale_export): the run is loaded all the same, as nightly.sh loads it.
#
# The snapshots given must include the property's newest export (the one
# transform reads without --snapshot, 'unitsync snapshots list --property
# P --newest': the file extracted last; a file extracted again keeps its
# old id).  A rerun of an older one alone is the property's newest
# decision: loaded, it gives keys back to tenants who moved out since and
# removes people who moved in since.  It is refused (exit 2) unless
# --older says that is meant; a --dry-run of it runs, with a warning.
#
# --dry-run previews it and changes nothing, as nightly.sh --dry-run: a
# private copy of the state database, the run directory in DIR/preview/.
#
# A real rerun first checks the Latch API settings (the configuration
# file's [latch] section, or the UNITSYNC_LATCH_URL, UNITSYNC_TOKEN_URL,
# UNITSYNC_CLIENT_ID and client secret environment without a file) with
# 'unitsync config check', as nightly.sh does: settings load could not
# use exit 78 before transform, and nothing is recorded (a run recorded
# first would supersede the property's older runs, then not load).
set -u

here=$(cd "$(dirname "$0")" && pwd)
log_prog=rerun.sh
. "$here/log.sh"
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
	say error "rerun.sh: $1"
	say error "usage: rerun.sh --property P --snapshot ID [--older] [--as-of DATE] [--config FILE] [--db PATH] [--out DIR] [--dry-run]"
	exit 2
}

config=${UNITSYNC_CONFIG:-}
db=${UNITSYNC_DB:-unitsync.db}
out=runs
property=
snapshots=()
ids=()
older=0
as_of=()
dry_run=()
while [ $# -gt 0 ]; do
	case $1 in
	--property | --snapshot | --as-of | --config | --db | --out)
		[ $# -ge 2 ] || usage "option '$1' needs a value"
		case $1 in
		--property) property=$2 ;;
		--snapshot)
			snapshots+=(--snapshot "$2")
			ids+=("$2")
			;;
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
	--older)
		older=1
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
	say error "rerun.sh: another run holds '$lock'; exiting (rerun later)"
	exit 75
fi

us() {
	if [ -n "$config" ]; then
		"$unitsync" --db "$db" --config "$config" "$@"
	else
		"$unitsync" --db "$db" "$@"
	fi
}

tmp=$(mktemp -d) || exit 75
trap 'rm -rf "$tmp"' EXIT
# a preview works on a private copy and changes nothing (issue 17)
if [ ${#dry_run[@]} -gt 0 ]; then
	if [ ! -f "$db" ]; then
		say error "rerun.sh: no state database at '$db'; a dry run creates nothing"
		exit 78
	fi
	us init --copy-to "$tmp/preview.db" >/dev/null || exit $?
	say info "dry run: working on a private copy of '$db', which stays as it is;" \
		"nothing is sent"
	db=$tmp/preview.db
	out=$out/preview
	(umask 027 && mkdir -p -- "$out") || exit 78
fi
# the property's snapshots (first column after the header) and its newest
# export; a snapshot that is none of the property's is left to transform,
# which refuses it naming why (65)
us snapshots list --property "$property" >"$tmp/snapshots" || exit $?
us snapshots list --property "$property" --newest >"$tmp/newest" || exit $?
newest=$(sed -n '2s/\t.*//p' "$tmp/newest")
declare -A of_property=()
while IFS=$'\t' read -r id _; do of_property[$id]=1; done < <(sed 1d "$tmp/snapshots")
given_newest=0 given_other=0
for s in "${ids[@]}"; do
	[ -n "${of_property[$s]+set}" ] || given_other=1
	[ "$s" = "$newest" ] && given_newest=1
done
if [ -n "$newest" ] && [ $given_newest -eq 0 ] && [ $given_other -eq 0 ] && [ $older -eq 0 ]; then
	what="snapshot ${ids[*]} is not the newest export of '$property'"
	[ ${#ids[@]} -eq 1 ] || what="none of snapshots ${ids[*]} is the newest export of '$property'"
	what+=" (snapshot $newest, extracted later): a run of it is the property's newest"
	what+=" decision, and loaded it undoes what the nights since did (keys back to"
	what+=" tenants who left, people who moved in removed)"
	[ ${#dry_run[@]} -gt 0 ] ||
		usage "$what; add --snapshot $newest, or --older if an older export is meant"
	say warning "rerun.sh: $what; a real rerun of it is refused without --older"
fi
# the settings load needs, before transform records anything: a [property]
# section's problem (exit 1) is nothing to a rerun, which extracts nothing
if [ ${#dry_run[@]} -eq 0 ]; then
	rc=0
	us config check >/dev/null 2>"$tmp/config.err" || rc=$?
	if [ $rc -gt 1 ]; then
		cat -- "$tmp/config.err" >&2
		say error "rerun.sh: the Latch API settings (${config:+'$config', }environment) cannot be" \
			"used (exit $rc); nothing done: no run recorded"
		exit $rc
	fi
fi
stale=0
us transform --out "$out" --snapshots-only --property "$property" "${snapshots[@]}" \
	"${as_of[@]}" >"$tmp/transform.out" || {
	rc=$?
	# 3: the run is written, but the export is stale; load it and say so,
	# as nightly.sh does (it stopped here, the run recorded and not loaded)
	[ $rc -eq 3 ] || exit $rc
	stale=1
}
run_dir=$(tail -n 1 "$tmp/transform.out")
sed '$d' "$tmp/transform.out"
rc=0
us load "${dry_run[@]}" "$run_dir" || rc=$?
if [ ${#dry_run[@]} -gt 0 ]; then
	echo "preview run directory: $run_dir"
	say info "(a preview: not recorded in the state database, and unitsync load refuses it)"
else
	echo "run directory: $run_dir"
fi
if [ $rc -eq 0 ] && [ $stale -eq 1 ]; then
	say warning "the export is stale (see 'stale_export' in $run_dir/exceptions.csv):" \
		"check the PMS export job"
	exit 3
fi
exit $rc
