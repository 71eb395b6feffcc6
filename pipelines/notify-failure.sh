#!/usr/bin/env bash
# usage: notify-failure.sh [--config FILE] [--db PATH] UNIT
#
# Tell the operators that the systemd unit UNIT failed: its exit code and
# its last 50 journal lines, through 'unitsync notify --job-failed' (the
# configuration's [notify] operator_email and webhook_url; see
# unitsync-notify(1)).  Run by unitsync-notify-failure@.service, which
# unitsync-nightly.service names in OnFailure=.
#
# Exit codes: those of unitsync notify (0 told; 1 a delivery failed; 78 no
# configuration or an unusable secret); 2 usage.
set -u

here=$(cd "$(dirname "$0")" && pwd)
log_prog=notify-failure.sh
. "$here/log.sh"
if [ -x "$here/../bin/unitsync" ]; then
	unitsync="$here/../bin/unitsync"
elif [ -x "$here/../../../bin/unitsync" ]; then
	unitsync="$here/../../../bin/unitsync"
else
	unitsync=${UNITSYNC:-unitsync}
fi
config=${UNITSYNC_CONFIG:-}
db=${UNITSYNC_DB:-unitsync.db}
usage() {
	say error "notify-failure.sh: $1"
	say error "usage: notify-failure.sh [--config FILE] [--db PATH] UNIT"
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--config | --db)
		[ $# -ge 2 ] || usage "option '$1' needs a value"
		[ "$1" = --config ] && config=$2 || db=$2
		shift 2
		;;
	--help | -h)
		sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*) usage "unknown option '$1'" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage "expected one UNIT"
unit=$1
# the main process's exit status; 0 when systemd has none (killed by a signal, ...)
code=$(systemctl show -p ExecMainStatus --value -- "$unit" 2>/dev/null)
case $code in '' | *[!0-9]*) code=0 ;; esac
journalctl -u "$unit" -n 50 --no-pager -o short-iso 2>&1 |
	"$unitsync" --db "$db" ${config:+--config "$config"} notify --job-failed "$unit" \
		--exit-code "$code" --log -
