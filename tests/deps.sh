#!/bin/sh
# deps.sh check|install - the Debian packages unitsync builds and tests with
# (docs/ARCHITECTURE.md §11).  `check` fails naming what is missing; `install` runs
# apt-get for exactly the missing ones (root, or sudo when available).
mode=${1:-check}
pkgs="build-essential pkg-config libcsv-dev libxml2-dev libsqlite3-dev libcurl4-openssl-dev
libjansson-dev libssl-dev libinih-dev libmicrohttpd-dev libcmocka-dev sqlite3 libxml2-utils
curl perl tzdata util-linux python3 ca-certificates time python3-prometheus-client
python3-aiosmtpd openssl"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$mode" = check ]; then
	echo "missing Debian packages:$missing (run 'make deps')" >&2
	exit 1
fi
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2 &&
	$sudo apt-get install -y -qq --no-install-recommends $missing >&2
