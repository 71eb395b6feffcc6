#!/usr/bin/env bash
# usage: nightly.sh [--config FILE] [--db PATH] [--out DIR] [--as-of DATE] [--shard K/N] [--dry-run] [--metrics-file PATH] [--no-notify] [--reconcile]
#
# The nightly Unit Sync job: for every property in the configuration,
# extract its export files, then one transform over tonight's snapshots,
# then load, all under one lock.  See README.md "Scheduling" and
# unitsync-nightly(1).
#
# Before anything new, a run an earlier night left unfinished (the API was
# down, the job was killed) is loaded to the end, so that tonight's decision
# starts from what Latch really has.  A property with any export file
# rejected tonight is judged on nothing: it gets no removals at all.
#
# Exit codes (unitsync-nightly(1)): 0 ok; 1 some operations failed permanently;
# 3 a property's export is stale (unchanged for too many nights, or too
# old): the run was loaded, check the PMS export job;
# 4 a property is held by the safety guard (review, then 'unitsync approve');
# 65 an export file was rejected; 70 unitsync extract's report did not match
# the properties it was given (a bug), nothing done; 75 temporary failure
# (API down, or another run holds the lock): rerun; 78 configuration error.
#
# After the load, each property's people get the night's digest as the
# configuration's [notify] section and notify_ keys say (unitsync-notify(1):
# once a night, only what needs a person); not for a preview, nor after a
# load that must be rerun (75, 78), nor with --no-notify.  A notification
# that fails never changes the night's exit code.
#
# --reconcile: after the load, compare each property's Latch building with
# the night's decision (unitsync reconcile, into DIR/reconcile/RUN_ID/N/),
# so that the digests tell any drift; it changes nothing.
#
# --metrics-file PATH (or UNITSYNC_METRICS_FILE, or [notify] metrics_file) writes the night's outcome
# as Prometheus metrics when the night ends, whatever its exit code
# (unitsync-metrics(1); node_exporter's textfile collector reads *.prom).
#
# --dry-run previews the night and changes nothing: every step runs on a
# private copy of the state database (unitsync init --copy-to), the run
# directory goes to DIR/preview/ (recorded only in the copy, which is then
# deleted: unitsync load refuses it), and load prints the requests it
# would send.
set -u

here=$(cd "$(dirname "$0")" && pwd)
log_prog=nightly.sh
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

config=${UNITSYNC_CONFIG:-}
db=${UNITSYNC_DB:-unitsync.db}
out=runs
as_of=
shard=()
dry_run=()
metrics_file=${UNITSYNC_METRICS_FILE:-}
no_notify=0
reconcile=0
usage() {
	say error "nightly.sh: $1"
	say error "usage: nightly.sh [--config FILE] [--db PATH] [--out DIR] [--as-of DATE] [--shard K/N] [--dry-run] [--metrics-file PATH] [--no-notify] [--reconcile]"
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--config | --db | --out | --as-of | --shard | --metrics-file)
		[ $# -ge 2 ] || usage "option '$1' needs a value"
		case $1 in
		--metrics-file) metrics_file=$2 ;;
		--shard) shard=(--shard "$2") ;;
		--config) config=$2 ;;
		--db) db=$2 ;;
		--out) out=$2 ;;
		--as-of) as_of=$2 ;;
		esac
		shift 2
		;;
	--version)
		"$unitsync" --version | sed 's/^unitsync/nightly.sh (unitsync)/'
		exit 0
		;;
	--dry-run)
		dry_run=(--dry-run)
		shift
		;;
	--no-notify)
		no_notify=1
		shift
		;;
	--reconcile)
		reconcile=1
		shift
		;;
	--help | -h)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) usage "unknown option '$1'" ;;
	esac
done

# the night's end, whatever it is: its metrics (not for a preview, which
# changes nothing), then the scratch directory
run_dir=
tmp=
unfinished_pid=
check_pid=
check_rc=
stages=()
stage_name=
stage_start=
# stage NAME: the stage before ends now (its wall time kept for the
# metrics), NAME starts; "stage" alone ends the last
stage() {
	# EPOCHREALTIME has six decimals (its separator the locale's): whole
	# microseconds, so that bash's own arithmetic does (no awk per stage)
	local now=${EPOCHREALTIME//[!0-9]/} ms
	now=$((10#$now))
	if [ -n "$stage_start" ]; then
		ms=$(((now - stage_start + 500) / 1000))
		printf -v ms '%d.%03d' $((ms / 1000)) $((ms % 1000))
		stages+=(--stage "$stage_name=$ms")
	fi
	stage_name=${1:-}
	stage_start=${1:+$now}
}
# check_wait: the check's exit code into check_rc once it has ended
# (waiting for it if it runs; what it said goes to standard error); 1 if
# it has no verdict: never started, or the night stopped (a signal) while
# waiting for it, when finish() must not wait again (review rv22 #3).  A
# check stopped by a signal (exit above 128) found nothing: it is said so,
# not blamed on the database
check_wait() {
	local pid=$check_pid rc=0
	if [ -n "$pid" ]; then
		check_pid=
		wait "$pid" || rc=$?
		check_rc=$rc
		[ -s "$tmp/check.err" ] && cat -- "$tmp/check.err" >&2
	fi
	[ -n "$check_rc" ] || return 1
	[ "$check_rc" -eq 0 ] || [ -n "${check_said:-}" ] || {
		check_said=1
		# what the check's exit code says (unitsync-init(1)): only 74 is
		# a damaged file; 78 is a database this build cannot open (one
		# to migrate with 'unitsync init' after an upgrade: nu15 L2), 75 one
		# locked or a disk full
		case $check_rc in
		74)
			say error "nightly.sh: quick_check of the state database '$check_db' found it" \
				"corrupt (exit 74); nothing decided or sent tonight"
			;;
		78)
			say error "nightly.sh: the state database '$check_db' cannot be used by this" \
				"unitsync (exit 78: see above; after an upgrade, run 'unitsync init' to" \
				"migrate it); nothing decided or sent tonight"
			;;
		*)
			if [ "$check_rc" -gt 128 ]; then
				say warning "nightly.sh: quick_check of the state database '$check_db' was" \
					"stopped (exit $check_rc) before its verdict; nothing decided or sent" \
					"tonight"
			else
				say error "nightly.sh: quick_check of the state database '$check_db' could" \
					"not run (exit $check_rc: see above); nothing decided or sent tonight"
			fi
			;;
		esac
	}
	return 0
}
# check_passed: wait for the check; stop the night with its exit code
# unless it passed
check_passed() {
	check_wait || return 0
	[ "$check_rc" -eq 0 ] || exit "$check_rc"
}
finish() {
	local rc=$?
	# a night that ends while the check still runs: a corrupt database
	# (the check's verdict, not a signal's exit) is the night's exit code
	check_wait && [ "$check_rc" -ne 0 ] && [ "$check_rc" -le 128 ] && rc=$check_rc
	if [ -n "$metrics_file" ] && [ ${#dry_run[@]} -eq 0 ]; then
		stage
		local run=()
		[ -n "$run_dir" ] && run=(--run "$run_dir")
		"$unitsync" --db "$db" metrics --out "$metrics_file" --exit-code "$rc" \
			"${run[@]}" "${stages[@]}" ||
			say warning "nightly.sh: the metrics file '$metrics_file' was not written in full" \
				"(see above); the night's outcome is unchanged (exit $rc)"
	fi
	# the list of unfinished runs read beside the check writes into $tmp
	[ -n "$unfinished_pid" ] && wait "$unfinished_pid" 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
	exit "$rc"
}
trap finish EXIT

if [ -z "$config" ]; then
	say error "nightly.sh: no configuration file (use --config or UNITSYNC_CONFIG)"
	exit 78
fi

# a mistyped --db must not start an empty database that would remove
# nobody and know nobody: the database is made once, by 'unitsync init'
if [ ! -f "$db" ]; then
	say error "nightly.sh: no state database at '$db' (create it once with" \
		"'unitsync --db $db init', or fix --db / UNITSYNC_DB); nothing done tonight"
	exit 78
fi
# one nightly run per state database at a time, however the path is spelled
lock=$(readlink -f -- "$db" 2>/dev/null || printf '%s' "$db").lock
# 0600 like the database it guards, whatever the caller's umask; created
# with O_EXCL (noclobber), which never follows a symbolic link, and refused
# when it is one: a planted DB.lock -> /etc/something must not be opened
mask=$(umask)
umask 077
(set -o noclobber && : >"$lock") 2>/dev/null
if [ -L "$lock" ] || [ ! -f "$lock" ]; then
	say error "nightly.sh: '$lock' is a symbolic link or not a regular file; refusing it"
	exit 78
fi
exec 9>>"$lock" || exit 78
umask "$mask"
if ! flock -n 9; then
	say error "nightly.sh: another run holds '$lock'; exiting (rerun later)"
	exit 75
fi

us() { "$unitsync" --db "$db" --config "$config" "$@"; }
config_error=0

# a corrupt database reads as empty tables, and empty assignments remove
# nothing: it is checked (quick_check, which reads every page of the
# file: issue 16) before anything is decided or sent, and the night stops
# with init's 74.  The check runs beside the night's first steps, which
# only read the configuration and stage tonight's exports (issue 18:
# about 0.5 s of a 100k-unit night); check_passed() waits for it before
# a run is loaded, a preview's copy made or a transform run.  On a real
# night the runs an earlier night left unfinished are listed beside it
# too (read-only); the list is used only once the check has passed (a
# preview lists them in its private copy)
tmp=$(mktemp -d 2>/dev/null) || tmp=
check_db=$db
if [ -n "$tmp" ]; then
	us init --check >/dev/null 2>"$tmp/check.err" &
	check_pid=$!
else
	check_rc=0
	us init --check >/dev/null || check_rc=$?
	check_passed
fi
if [ ${#dry_run[@]} -eq 0 ] && [ -n "$tmp" ]; then
	us runs list --unfinished >"$tmp/unfinished" 2>"$tmp/unfinished.err" &
	unfinished_pid=$!
fi
# every problem of the configuration, each naming file, line and key; a
# bad [property] section leaves that property out (exit 78 at the end),
# anything else stops the night here
rc=0
offline=()
[ ${#dry_run[@]} -gt 0 ] && offline=(--offline)
us config check "${offline[@]}" >/dev/null || rc=$?
case $rc in
0) ;;
1) config_error=1 ;;
*)
	say error "nightly.sh: the configuration '$config' cannot be used (exit $rc); nothing done tonight"
	exit "$rc"
	;;
esac
sources=$(us config properties --extract-options "${shard[@]}") || exit 78
if [ -z "$metrics_file" ]; then
	while IFS= read -r line; do
		[[ $line =~ ^metrics_file:\ (.*[^ ])$ ]] && [ "${BASH_REMATCH[1]}" != unset ] &&
			metrics_file=${BASH_REMATCH[1]}
	done <<<"$(us config show)"
fi
if [ -z "$sources" ]; then
	if [ ${#shard[@]} -gt 0 ]; then
		say info "nightly.sh: no configured property falls in shard ${shard[1]}; nothing to do"
		exit 0
	fi
	say error "nightly.sh: the configuration names no [property \"ID\"] sections"
	exit 78
fi

[ -n "$tmp" ] || tmp=$(mktemp -d) || exit 75

# a preview works on a private copy and changes nothing (issue 17): what
# it stages, records and supersedes goes with the copy at exit
if [ ${#dry_run[@]} -gt 0 ]; then
	check_passed
	us init --copy-to "$tmp/preview.db" >/dev/null || exit $?
	say info "dry run: working on a private copy of '$db', which stays as it is;" \
		"nothing is sent"
	db=$tmp/preview.db
	out=$out/preview
	(umask 027 && mkdir -p -- "$out") || exit 78
fi

stage resume
# finish what an earlier night left unfinished, oldest first (a preview
# prints what it would send: tonight's delta below assumes it unsent)
if [ -n "$unfinished_pid" ]; then
	wait "$unfinished_pid"
	unfinished_pid=
	[ -s "$tmp/unfinished.err" ] && cat -- "$tmp/unfinished.err" >&2
else
	us runs list --unfinished >"$tmp/unfinished"
fi
[ -s "$tmp/unfinished" ] && check_passed
while IFS= read -r unfinished; do
	[ -n "$unfinished" ] || continue
	if [ ${#dry_run[@]} -gt 0 ]; then
		say info "finishing an earlier run first: $unfinished (a preview: what it would send)"
	else
		say info "finishing an earlier run first: $unfinished"
	fi
	rc=0
	us load "${dry_run[@]}" "$unfinished" || rc=$?
	case $rc in
	0 | 1 | 4) ;;
	*)
		say error "nightly.sh: the earlier run could not be finished (exit $rc); nothing new tonight"
		exit "$rc"
		;;
	esac
done <"$tmp/unfinished"

stage extract
declare -A rejected=() snap_of=() known=() seen_snap=()
props=()
groups=() files=()
rejected_any=0
# the properties the state database knows, read once (the first column of
# 'property list' after its header)
listing=$(us property list) || {
	rc=$?
	say error "nightly.sh: cannot list the properties of '$db' (exit $rc); nothing done tonight"
	exit $rc
}
{
	read -r _
	while IFS=$'\t' read -r prop _; do
		known[$prop]=1
	done
} <<<"$listing"
# each line: property_id TAB format TAB profile TAB max_reject_percent TAB
# encoding TAB source ('-': extract's default); consecutive files of one
# property, format and profile are one group, staged as one extract-FORMAT
# call would (files in the configuration's order, whose last file wins)
declare -A unknown=()
while IFS=$'\t' read -r prop format profile reject encoding source; do
	[ -n "${unknown[$prop]+set}" ] && continue
	if [ -z "${snap_of[$prop]+set}" ]; then
		if [ -z "${known[$prop]+set}" ]; then
			# the advice is unitsync's own (lib/stg's stg_property_unknown():
			# "did you mean" a known id one typo away, else "add it")
			hint=$(UNITSYNC_LOG_FORMAT=text us property show "$prop" 2>&1 >/dev/null)
			if [[ $hint == *"unknown property '$prop' ("*")" ]]; then
				hint=${hint#*"unknown property '$prop'"}
			else
				hint=" (add it with 'unitsync property add $prop')"
			fi
			say warning "nightly.sh: property '$prop' is configured but not in the state database$hint;" \
				"skipped tonight"
			unknown[$prop]=1
			config_error=1
			continue
		fi
		props+=("$prop")
		snap_of[$prop]=""
	fi
	group="$prop"$'\t'"$format"$'\t'"$profile"$'\t'"$reject"$'\t'"$encoding"
	n=${#groups[@]}
	if [ "$n" -eq 0 ] || [ "${groups[n - 1]}" != "$group" ]; then
		groups+=("$group")
		files+=("")
		n=$((n + 1))
	fi
	files[n - 1]+="$source"$'\n'
done <<<"$sources"

# one extract process for every group (unitsync-extract(1)): the same
# lines, known properties only; after each group's snapshot lines
# ("snapshot ID: ..." or "snapshot ID reused: ...") it prints "extract P:
# exit N", and a group failing other than by a rejected file (65) is its
# last.  Each such line must name the next group's property, and every
# group must have one unless extract stopped (exit 70 otherwise: no
# snapshot is taken for the wrong property)
for i in "${!groups[@]}"; do
	while IFS= read -r src; do
		printf '%s\t%s\n' "${groups[i]}" "$src"
	done <<<"${files[i]%$'\n'}"
done >"$tmp/extract.list"
rc=0
if [ ${#groups[@]} -gt 0 ]; then
	us extract "$tmp/extract.list" >"$tmp/extract.out" || rc=$?
else
	: >"$tmp/extract.out"
fi
i=0 ids=''
while IFS= read -r line; do
	if [[ $line =~ ^snapshot\ ([0-9]+)(:|\ reused:) ]]; then
		ids+=" ${BASH_REMATCH[1]}"
		continue
	fi
	[[ $line =~ ^extract\ (.*):\ exit\ ([0-9]+)$ ]] || continue
	grc=${BASH_REMATCH[2]}
	prop=
	[ "$i" -lt ${#groups[@]} ] && IFS=$'\t' read -r prop _ <<<"${groups[i]}"
	if [ "${BASH_REMATCH[1]}" != "$prop" ]; then
		say error "nightly.sh: unitsync extract reported property '${BASH_REMATCH[1]}' where" \
			"'$prop' was next; nothing done tonight (a bug: please report it)"
		exit 70
	fi
	mapfile -t srcs <<<"${files[i]%$'\n'}"
	i=$((i + 1))
	what=''
	if [ "$grc" -eq 0 ]; then
		# two files of one property in the same bytes share a snapshot: one
		# copied over the other (review rv17 #3), and the property judged
		# on one of them would take the other's residents for gone (no
		# process per group: 40 pipelines were a second of the night)
		dup=''
		for id in $ids; do
			[ -n "${seen_snap[$prop:$id]+set}" ] && dup=$id && break
			seen_snap[$prop:$id]=1
		done
		if [ -z "$dup" ]; then
			snap_of[$prop]+=$ids
			ids=''
			continue
		fi
		what="two of its export files hold the same bytes (snapshot $dup): one copied over the other?"
		grc=65
	fi
	ids=''
	# a file not there is told apart from one refused (nu10 #4): the PMS
	# export job did not run, or wrote elsewhere
	missing=()
	for s in "${srcs[@]}"; do [ -e "$s" ] || missing+=("$s"); done
	if [ -n "$what" ]; then
		:
	elif [ ${#srcs[@]} -eq 1 ] && [ ${#missing[@]} -eq 1 ]; then
		what="export '${srcs[0]}' is missing"
	elif [ ${#srcs[@]} -eq 1 ]; then
		what="export '${srcs[0]}' rejected"
	elif [ ${#missing[@]} -gt 0 ]; then
		what="exports $(printf "'%s', " "${srcs[@]}" | sed 's/, $//'): $(printf "'%s', " "${missing[@]}" | sed 's/, $//') missing"
	else
		what="exports $(printf "'%s', " "${srcs[@]}" | sed 's/, $//'): at least one rejected"
	fi
	# judged on nothing (transform --export-refused): no key given or taken
	say warning "$prop: $what (exit $grc); nothing changes for $prop tonight"
	rejected[$prop]=1
	rejected_any=1
done <"$tmp/extract.out"
# a failure other than a rejected file stops the night with its code
[ $rc -eq 0 ] || [ $rc -eq 65 ] || exit $rc
if [ "$i" -ne ${#groups[@]} ]; then
	say error "nightly.sh: unitsync extract reported $i of ${#groups[@]} properties (exit $rc);" \
		"nothing done tonight (a bug: please report it)"
	exit 70
fi

if [ ${#props[@]} -eq 0 ]; then
	say error "nightly.sh: no configured property is in the state database"
	exit 78
fi
args=(--out "$out" --snapshots-only "${shard[@]}")
for p in "${props[@]}"; do
	args+=(--property "$p")
	# a property with a rejected file is judged on nothing rather than on
	# half, its property_missing saying the export was refused
	[ -n "${rejected[$p]+set}" ] && args+=(--export-refused "$p") && continue
	for s in ${snap_of[$p]}; do args+=(--snapshot "$s"); done
done
[ -n "$as_of" ] && args+=(--as-of "$as_of")
stale=0
check_passed
stage transform
us transform "${args[@]}" >"$tmp/transform.out" || {
	rc=$?
	# 3: the run is written, but an export is stale; load it and say so
	[ $rc -eq 3 ] || exit $rc
	stale=1
}
# transform's lines, then the run directory as its last line
mapfile -t lines <"$tmp/transform.out"
n=${#lines[@]}
if [ "$n" -gt 0 ]; then
	run_dir=${lines[n - 1]}
	[ "$n" -gt 1 ] && printf '%s\n' "${lines[@]:0:n-1}"
fi

rc=0
stage load
us load "${dry_run[@]}" "${shard[@]}" "$run_dir" || rc=$?
if [ ${#dry_run[@]} -gt 0 ]; then
	echo "preview run directory: $run_dir"
	say info "(a preview: not recorded in the state database, and unitsync load refuses it)"
else
	echo "run directory: $run_dir"
fi
recon=()
if [ $reconcile -eq 1 ] && [ ${#dry_run[@]} -eq 0 ] && [ $rc -ne 75 ] && [ $rc -ne 78 ]; then
	stage reconcile
	i=0
	for p in "${props[@]}"; do
		i=$((i + 1))
		dir=$out/reconcile/$(basename -- "$run_dir")/$i
		rrc=0
		(umask 027 && mkdir -p -- "$dir") || rrc=78
		[ $rrc -ne 0 ] || us reconcile --property "$p" --out "$dir" >/dev/null || rrc=$?
		case $rrc in
		0 | 1) recon+=(--reconcile "$dir/reconcile.csv") ;;
		*) say warning "$p: reconcile failed (exit $rrc); the night's outcome is unchanged" ;;
		esac
	done
fi
stage notify
if [ ${#dry_run[@]} -eq 0 ] && [ $no_notify -eq 0 ] && [ $rc -ne 75 ] && [ $rc -ne 78 ]; then
	us notify "${recon[@]}" "$run_dir" ||
		say warning "nightly.sh: some notifications were not delivered (see above and" \
			"'unitsync notify $run_dir'); the night's outcome is unchanged"
fi
stage
if [ $rc -eq 4 ] && [ ${#dry_run[@]} -gt 0 ]; then
	# a preview cannot be approved or loaded (nu12 #4): the real night can
	say warning "the night would be held by the safety guard: review $run_dir/manifest.json" \
		"and delta.csv; the night run without --dry-run is held alike, and is approved" \
		"and loaded then ('unitsync approve RUN_DIR', 'unitsync load RUN_DIR')"
elif [ $rc -eq 4 ] && grep -q '^older_export,' "$run_dir/exceptions.csv" 2>/dev/null; then
	# approved, the old file would be loaded (nu13 #1): RUNDIR_OLDER_ADVICE
	say warning "held by the safety guard: tonight's export looks older than the last" \
		"accepted one (older_export in $run_dir/exceptions.csv): put the current export" \
		"in the drop and run the night again; approve this run only if that old export" \
		"is meant (approved, it undoes the moves its reason names); if another property" \
		"is held too (guard.held_properties in $run_dir/manifest.json): review" \
		"delta.csv, then 'unitsync approve $run_dir' and 'unitsync load $run_dir'"
elif [ $rc -eq 4 ]; then
	say warning "held by the safety guard: review $run_dir/manifest.json and delta.csv, then" \
		"'unitsync approve $run_dir' and 'unitsync load $run_dir'"
fi
if [ $rc -eq 1 ]; then
	say warning "some operations failed: see $run_dir/load-report.csv"
fi
if [ $rc -eq 75 ] || [ $rc -eq 78 ]; then exit $rc; fi
if [ $config_error -eq 1 ]; then exit 78; fi
if [ $rejected_any -eq 1 ]; then exit 65; fi
if [ $rc -eq 0 ] && [ $stale -eq 1 ]; then
	say warning "a property's export is stale (see 'stale_export' in $run_dir/exceptions.csv):" \
		"check the PMS export job"
	exit 3
fi
exit $rc
