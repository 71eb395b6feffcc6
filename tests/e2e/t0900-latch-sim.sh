#!/usr/bin/env bash
# t0900-latch-sim: the Latch API simulator honours the contract the sync
# tool relies on (auth, paging, users, residents, idempotency, faults).
# TAP output; run with: prove tests/e2e/t0900-latch-sim.sh
set -u

BIN=${BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
SIM=$BIN/latch-sim

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t0900.XXXXXX")
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
ok() { # ok COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
}
check() { # check DESCRIPTION COMMAND...
	local desc=$1
	shift
	"$@"
	ok $? "$desc"
}
diag() { sed 's/^/# /' >&2; }

echo "1..42"

if [ ! -x "$SIM" ]; then
	echo "Bail out! no executable '$SIM'"
	exit 1
fi

# start_sim NAME ARGS...: runs the sim in the background, waits for the
# "listening on" line and sets URL_<NAME> and PID_<NAME>.
start_sim() {
	local name=$1 i line
	shift
	"$SIM" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	local pid=$!
	pids+=("$pid")
	for i in $(seq 1 100); do
		line=$(head -n 1 "$tmp/$name.out" 2>/dev/null)
		case $line in
		"listening on http://"*) break ;;
		esac
		sleep 0.05
	done
	printf -v "PID_$name" '%s' "$pid"
	printf -v "URL_$name" '%s' "${line#listening on }"
	printf -v "LINE_$name" '%s' "$line"
}

# req METHOD URL [BODY] [CURL-ARGS...]: sets $status, $body and $rc.
req() {
	local method=$1 url=$2 data=${3-}
	shift 2
	[ $# -gt 0 ] && shift
	local args=(-sS -o "$tmp/body" -w '%{http_code}' -X "$method")
	[ -n "${TOKEN-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' \
		--data-binary "$data")
	status=$(curl "${args[@]}" "$@" "$url" 2>"$tmp/curl.err")
	rc=$?
	body=$(cat "$tmp/body" 2>/dev/null)
	: >"$tmp/body"
}

has() { # has NEEDLE: $body contains NEEDLE literally
	case $body in
	*"$1"*) return 0 ;;
	*) echo "expected '$1' in: $body" | diag; return 1 ;;
	esac
}
is() { # is GOT WANT
	[ "$1" = "$2" ] && return 0
	echo "got '$1', want '$2'" | diag
	return 1
}
json_str() { # json_str KEY: first string value of KEY in $body
	printf '%s' "$body" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" |
		head -n 1
}

B1=0b0b0b0b-0000-4000-8000-000000000001
B2=0b0b0b0b-0000-4000-8000-000000000002
U1=0c0c0c0c-0000-4000-8000-000000000001
U2=0c0c0c0c-0000-4000-8000-000000000002
U3=0c0c0c0c-0000-4000-8000-000000000003
U4=0c0c0c0c-0000-4000-8000-000000000004
cat >"$tmp/seed.csv" <<EOF
building_uuid,unit_uuid,name
$B1,$U3,103
$B1,$U1,101
$B1,$U2,102
$B2,$U4,"Penthouse, north"
EOF

"$SIM" --help >"$tmp/help" 2>&1
ok $? "--help exits 0"
"$SIM" --port nope >/dev/null 2>"$tmp/bad"
r=$?
check "bad option value exits 2 with a message" \
	eval '[ $r -eq 2 ] && grep -q "invalid value for .--port.: .nope." "$tmp/bad"'

start_sim main --port 0 --seed "$tmp/seed.csv"
U=$URL_main
check "first stdout line is 'listening on http://127.0.0.1:PORT'" \
	eval '[[ $LINE_main =~ ^listening\ on\ http://127\.0\.0\.1:[0-9]+$ ]]'

# --- OAuth -------------------------------------------------------------
TOKEN=
req POST "$U/oauth/token" \
	'{"client_id":"demo","client_secret":"demo-secret","audience":"x","grant_type":"client_credentials"}'
TOKEN=$(json_str access_token)
check "token fetch returns 200 with a bearer token" \
	eval 'is "$status" 200 && has "\"token_type\":\"Bearer\"" && has "\"expires_in\":3600" && [ -n "$TOKEN" ]'
T=$TOKEN

TOKEN=
req POST "$U/oauth/token" \
	'{"client_id":"demo","client_secret":"wrong","grant_type":"client_credentials"}'
check "bad credentials give 401 INVALID_CLIENT" \
	eval 'is "$status" 401 && has "{\"message\":\"INVALID_CLIENT\"}"'

req POST "$U/oauth/token" "" \
	-H 'Content-Type: application/x-www-form-urlencoded' \
	--data 'client_id=demo&client_secret=demo-secret&grant_type=client_credentials'
check "form-encoded token request works too" \
	eval 'is "$status" 200 && has access_token'

req GET "$U/v1/buildings"
check "missing bearer gives 401 UNAUTHORIZED" \
	eval 'is "$status" 401 && has "{\"message\":\"UNAUTHORIZED\"}"'

TOKEN=0123456789abcdef
req GET "$U/v1/buildings"
check "unknown bearer gives 401 UNAUTHORIZED" \
	eval 'is "$status" 401 && has UNAUTHORIZED'
TOKEN=$T

# --- buildings and units -------------------------------------------------
req GET "$U/v1/buildings"
check "buildings are listed from the seed" \
	eval 'is "$status" 200 && has "{\"uuid\":\"$B1\",\"name\":\"$B1\",\"timezone\":\"UTC\"}" && has "$B2"'

req GET "$U/v1/buildings/$B1/units?pageSize=2"
next=$(json_str nextPageToken)
check "units page 1 holds 101 and 102 and a nextPageToken" \
	eval 'is "$status" 200 && has "{\"units\":[{\"uuid\":\"$U1\",\"name\":\"101\"},{\"uuid\":\"$U2\",\"name\":\"102\"}]" && [ -n "$next" ]'

req GET "$U/v1/buildings/$B1/units?pageSize=2&pageToken=$next"
check "units page 2 holds 103 and no nextPageToken" \
	eval 'is "$status" 200 && is "$body" "{\"units\":[{\"uuid\":\"$U3\",\"name\":\"103\"}]}"'

req GET "$U/v1/buildings/nope/units"
check "unknown building gives 404 BUILDING_NOT_FOUND" \
	eval 'is "$status" 404 && has BUILDING_NOT_FOUND'

req POST "$U/v1/buildings/$B2/units" '{"name":"Penthouse, north"}'
check "creating an existing unit name gives 409 UNIT_ALREADY_EXISTS" \
	eval 'is "$status" 409 && has UNIT_ALREADY_EXISTS'

# --- users ---------------------------------------------------------------
req POST "$U/v1/users" \
	'{"firstName":"Ada","lastName":"Lovelace","email":"Ada@Example.com","phone":"+15550100"}'
ADA=$(json_str userUuid)
check "create user gives 201 with the user" \
	eval 'is "$status" 201 && has "\"email\":\"Ada@Example.com\"" && has "\"firstName\":\"Ada\"" && [ -n "$ADA" ]'

req POST "$U/v1/users" '{"firstName":"Ada","email":"ada@EXAMPLE.com"}'
check "duplicate email in other case gives 409 EMAIL_ALREADY_EXISTS" \
	eval 'is "$status" 409 && has EMAIL_ALREADY_EXISTS'

req POST "$U/v1/users" '{"firstName":"Nobody","email":"","phone":""}'
check "no email nor phone gives 400 EMAIL_OR_PHONE_REQUIRED" \
	eval 'is "$status" 400 && has EMAIL_OR_PHONE_REQUIRED'

req POST "$U/v1/users" '{"firstName":'
check "malformed JSON gives 400 INVALID_JSON" \
	eval 'is "$status" 400 && has INVALID_JSON'

req GET "$U/v1/users?email=ADA%40example.COM"
check "user lookup by email is case-insensitive" \
	eval 'is "$status" 200 && has "\"userUuid\":\"$ADA\""'

req GET "$U/v1/users?phone=%2B1%20555-0100"
check "user lookup by phone compares digits only" \
	eval 'is "$status" 200 && has "\"userUuid\":\"$ADA\""'

req GET "$U/v1/users?phone=5550100"
check "user lookup by phone with other digits finds nobody" \
	eval 'is "$status" 200 && is "$body" "{\"users\":[]}"'

req GET "$U/v1/users?phone=15550100&email=ada%40example.com"
check "user lookup by phone and e-mail at once gives 400 INVALID_FILTER" \
	eval 'is "$status" 400 && has INVALID_FILTER'

# --- residents -------------------------------------------------------------
req PUT "$U/v1/units/$U1/residents/$ADA"
check "PUT resident gives 201 assigned by the client id" \
	eval 'is "$status" 201 && is "$body" "{\"userUuid\":\"$ADA\",\"assignedBy\":\"demo\"}"'

req PUT "$U/v1/units/$U1/residents/$ADA"
check "PUT resident again gives 200" eval 'is "$status" 200'

req PUT "$U/v1/units/$U2/residents/$ADA" '{"assignedBy":"manual"}'
check "PUT resident with assignedBy override records it" \
	eval 'is "$status" 201 && has "\"assignedBy\":\"manual\""'

req GET "$U/v1/units/$U1/residents"
check "residents list shows the assignment" \
	eval 'is "$status" 200 && is "$body" "{\"residents\":[{\"userUuid\":\"$ADA\",\"assignedBy\":\"demo\"}]}"'

req DELETE "$U/v1/units/$U1/residents/$ADA"
check "DELETE resident gives 204" eval 'is "$status" 204 && is "$body" ""'

req DELETE "$U/v1/units/$U1/residents/$ADA"
check "DELETE resident again gives 404 RESIDENT_NOT_FOUND" \
	eval 'is "$status" 404 && has RESIDENT_NOT_FOUND'

# --- idempotency ----------------------------------------------------------
req POST "$U/v1/users" '{"firstName":"Bob","email":"bob@example.com"}' \
	-H 'Idempotency-Key: key-bob-1'
first_status=$status first_body=$body
req POST "$U/v1/users" '{"firstName":"Bob","email":"bob@example.com"}' \
	-H 'Idempotency-Key: key-bob-1'
check "same Idempotency-Key replays the same 201 and body" \
	eval 'is "$first_status" 201 && is "$status" 201 && is "$body" "$first_body"'

TOKEN=
req GET "$U/_sim/stats"
check "stats show idempotency_replayed 1" \
	eval 'has "\"idempotency_replayed\":1"'

# --- admin views ---------------------------------------------------------
req GET "$U/_sim/state"
check "state dump lists units sorted by building, name" \
	eval 'has "\"units\":[{\"uuid\":\"$U1\",\"building\":\"$B1\",\"name\":\"101\"},{\"uuid\":\"$U2\",\"building\":\"$B1\",\"name\":\"102\"},{\"uuid\":\"$U3\",\"building\":\"$B1\",\"name\":\"103\"},{\"uuid\":\"$U4\",\"building\":\"$B2\",\"name\":\"Penthouse, north\"}]"'
check "state dump holds both users and only the manual resident" \
	eval 'has "\"email\":\"Ada@Example.com\"" && has "\"email\":\"bob@example.com\"" && has "\"residents\":[{\"unit\":\"$U2\",\"userUuid\":\"$ADA\",\"assignedBy\":\"manual\"}]}"'

req GET "$U/_sim/stats"
check "stats count replies per route pattern and status" \
	eval 'has "\"PUT /v1/units/{u}/residents/{user}\":{\"200\":1,\"201\":2}" && has "\"DELETE /v1/units/{u}/residents/{user}\":{\"204\":1,\"404\":1}" && has "\"POST /oauth/token\":{\"200\":2,\"401\":1}"'
check "stats count effects found already present" \
	eval 'has "\"effects_repeated\":0" && has "\"effects_repeated_unkeyed\":4" && has "\"dropped\":0"'

# --- drop fault ----------------------------------------------------------
req POST "$U/_sim/faults" '{"drop_rate":1.0}'
check "faults can be changed at run time" \
	eval 'is "$status" 200 && has "\"drop_rate\":1.0"'

TOKEN=$T
req POST "$U/v1/users" '{"firstName":"Cy","email":"cy@example.com"}' \
	-H 'Idempotency-Key: key-cy-1'
check "drop-rate 1.0 closes without a reply (curl exit 52)" \
	eval 'is "$rc" 52'

TOKEN=
req POST "$U/_sim/faults" '{"drop_rate":0}'
req GET "$U/_sim/state"
check "the dropped request was applied anyway" \
	eval 'has "\"email\":\"cy@example.com\""'

TOKEN=$T
req POST "$U/v1/users" '{"firstName":"Cy","email":"cy@example.com"}' \
	-H 'Idempotency-Key: key-cy-1'
TOKEN=
body_retry=$body status_retry=$status
req GET "$U/_sim/stats"
check "retrying the dropped request replays its 201" \
	eval 'is "$status_retry" 201 && has "\"dropped\":1" && has "\"idempotency_replayed\":2"'

kill -TERM "$PID_main"
wait "$PID_main"
ok $? "SIGTERM stops the sim with exit status 0"

# --- query plans: per-request statements seek, never scan ---------------
start_sim plans --port 0 --seed "$tmp/seed.csv"
P=$URL_plans
TOKEN=
req POST "$P/oauth/token" \
	'{"client_id":"demo","client_secret":"demo-secret","grant_type":"client_credentials"}'
TOKEN=$(json_str access_token)
req POST "$P/_sim/reset-stats"
req POST "$P/v1/users" '{"firstName":"Bo","email":"bo@example.com","phone":"+1 555 0101"}'
BO=$(json_str userUuid)
req GET "$P/v1/users?email=BO%40example.com"
req GET "$P/v1/users?phone=15550101"
req POST "$P/v1/users" '{"firstName":"Bo","email":"bo@EXAMPLE.com"}'
req PUT "$P/v1/units/$U1/residents/$BO" '' -H 'Idempotency-Key: plan-1'
req PUT "$P/v1/units/$U1/residents/$BO"
req GET "$P/v1/units/$U1/residents"
req DELETE "$P/v1/units/$U1/residents/$BO" '' -H 'Idempotency-Key: plan-2'
req DELETE "$P/v1/units/$U1/residents/$BO"
req GET "$P/_sim/stats"
check "lookups by e-mail and phone, user create, PUT, DELETE and a unit's residents scan no table (full_scans [])" \
	eval 'has "\"full_scans\":[]"'
req GET "$P/v1/users"
req GET "$P/_sim/stats"
check "a listing of every user is a scan, and full_scans names it" \
	eval 'has "\"full_scans\":[{" && has "SCAN users"'
req POST "$P/_sim/reset-stats"
req GET "$P/_sim/stats"
check "reset-stats forgets the plans" eval 'has "\"full_scans\":[]"'
TOKEN=$T

# --- token expiry ---------------------------------------------------------
start_sim ttl --port 0 --token-ttl 1
TOKEN=
req POST "$URL_ttl/oauth/token" \
	'{"client_id":"demo","client_secret":"demo-secret","grant_type":"client_credentials"}'
TOKEN=$(json_str access_token)
req GET "$URL_ttl/v1/buildings"
first_status=$status
sleep 2
req GET "$URL_ttl/v1/buildings"
check "with --token-ttl 1 a token works, then gives 403 TOKEN_EXPIRED" \
	eval 'is "$first_status" 200 && is "$status" 403 && has "{\"message\":\"TOKEN_EXPIRED\"}"'

if [ -s "$tmp/main.err" ] || [ -s "$tmp/ttl.err" ]; then
	cat "$tmp/main.err" "$tmp/ttl.err" | diag
fi
