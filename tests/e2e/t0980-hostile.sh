#!/usr/bin/env bash
# t0980-hostile: hostile input end to end (docs/SECURITY.md).
#
#  - A property id "x; rm -rf ~", unit labels with quotes, commas, newlines
#    and "../", resident names with "$(...)", backquotes, markup, emoji,
#    control characters and 10 kB of text: staged, written to delta.csv
#    (RFC 4180, read back byte for byte), shown by report without a raw
#    control character, loaded into latch-sim exactly, run by the nightly
#    job; no shell ever interprets them (HOME is a test directory holding
#    a canary that "rm -rf ~" would delete, and "$(touch ...)" names a file
#    that must never appear) and no file name is made from them.
#  - A hostile Latch API (a small python3 server on loopback): malformed
#    JSON, wrong types, missing fields, a body over LATCH_MAX_BODY, two
#    users for one e-mail, control characters in an error: every such row
#    fails with its reason, load exits 1, nothing crashes, the journal
#    agrees with what was applied, and ids go into request paths
#    percent-encoded.  A token that would inject a header is refused.
#  - File modes under umask 000 (state database 0600, run directories
#    0750, their files and load-report.csv 0640), and the client secret in
#    no argv (/proc/PID/cmdline of a running load), log, run file or
#    database.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || test_skip_all "python3 is not installed"
command -v sqlite3 >/dev/null 2>&1 || test_skip_all "sqlite3 is not installed"
test_plan 16

umask 000
export HOME=$tmp/home
mkdir -p "$HOME" && echo "rm -rf ~ would delete me" >"$HOME/canary" || exit 1
P='x; rm -rf ~'
big=$(head -c 10240 /dev/zero | tr '\0' 'Z')
q() { sqlite3 -batch "$UNITSYNC_DB" "$1"; }
staged() { q "SELECT count(*) FROM stg_person WHERE property_id = 'x; rm -rf ~'"; }
journal_states() { q "SELECT state, count(*) FROM journal GROUP BY state ORDER BY state"; }
failed_without_reason() {
	q "SELECT count(*) FROM journal WHERE state = 'failed' AND ifnull(response, '') = ''"
}

# the export, written by python's csv module so that its quoting is not ours
cat >"$tmp/export.py" <<'EOF'
import csv, sys
P, big, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
cols = ["property_id", "pms_unit_id", "pms_person_id", "household_id", "role", "status",
        "first_name", "last_name", "email", "phone", "move_in", "move_out"]
rows = [
    [P, 'A "1", B', "p1;`touch " + tmp + "/pwned2`", "h1", "primary", "current",
     "$(touch " + tmp + "/pwned)", 'O\'Brien, "Jr"', "p1@example.com", "", "2024-01-01", ""],
    [P, "../../etc", "../p2", "h2", "primary", "current",
     "Zoë 😀", big, "p2@example.com", "+1 555 0100", "2024-01-01", ""],
    [P, "D$(touch " + tmp + "/pwned)", "p3\nx", "h3", "primary", "current",
     "Line\nBreak", "<script>alert(1)</script>", "o'brien+x@example.com", "", "2024-01-01", ""],
    [P, "C\nline", "p4", "h4", "primary", "current",
     "Esc\x1b[31mRed", "Tab\there", "p4@example.com", "", "2024-01-01", ""],
]
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(cols)
w.writerows(rows)
EOF

(cd "$tmp" && python3 export.py "$P" "$big" "$tmp" >export.csv &&
	printf 'building_uuid,unit_uuid,name\n' >seed.csv &&
	printf '%s\n' 'b-1,lu 1?x=#f,"A ""1"", B"' "b-1,lu'3\",etc" 'b-1,lu;2&$(id)%41,D' >>seed.csv) ||
	exit 1

test_expect_success 'hostile ids, labels and names are staged as they are' '
	unitsync init >/dev/null &&
	unitsync property add "$P" >/dev/null &&
	unitsync map add --offline --property "$P" "A \"1\", B" "lu 1?x=#f" >/dev/null &&
	unitsync map add --offline --property "$P" ../../etc "lu'"'"'3\"" >/dev/null &&
	unitsync map add --offline --property "$P" "D\$(touch $tmp/pwned)" "lu;2&\$(id)%41" >/dev/null &&
	unitsync extract-csv export.csv >out &&
	grep "4 people staged" out &&
	test "$(staged)" = 4
'

test_expect_success 'delta.csv is RFC 4180: read back, every field is the exact bytes of the export' '
	unitsync transform --as-of 2026-06-01 --out runs >t.out &&
	run=$(run_dir t.out) && echo "$run" >run.path &&
	python3 - "$run/delta.csv" export.csv "$tmp" <<-\EOF
	import csv, sys
	delta = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
	export = {r["pms_person_id"]: r for r in csv.DictReader(open(sys.argv[2], newline="", encoding="utf-8"))}
	creates = [d for d in delta if d["op"] == "USER_CREATE"]
	assert len(creates) == 3, creates
	for d in delta:
	    e = export[d["pms_person_id"]]
	    for f in ("property_id", "pms_unit_id"):
	        assert d[f] == e[f], (f, d[f], e[f])
	    if d["op"] == "USER_CREATE":
	        for f in ("first_name", "last_name", "email", "phone"):
	            assert d[f] == e[f], (f, d[f][:40], e[f][:40])
	raw = open(sys.argv[1], "rb").read()
	assert b"\r" not in raw and raw.endswith(b"\n")
	EOF
'

test_expect_success 'report shows them without a raw control character; --html escapes markup' '
	run=$(cat run.path) &&
	unitsync report "$run" --html report.html >report.txt &&
	grep -F "x; rm -rf ~" report.txt &&
	grep -F "Zoë 😀" report.txt &&
	! LC_ALL=C grep -q "$(printf "[\001-\010\013-\037\177]")" report.txt report.html &&
	! grep -F "<script>alert" report.html &&
	grep -F "&lt;script&gt;" report.html
'

# started here, not in a step: a step runs in a subshell
sim_start "$tmp/seed.csv" || exit 1
test_expect_success 'load puts them into latch-sim: names byte for byte, each in its unit' '
	unitsync load "$(cat run.path)" >load.out 2>load.err &&
	grep "6 done, 0 already done, 0 failed" load.out &&
	curl -sf "$SIM_URL/_sim/state" >state.json &&
	python3 - state.json export.csv <<-\EOF
	import csv, json, sys
	s = json.load(open(sys.argv[1]))
	export = {r["email"].lower(): r for r in csv.DictReader(open(sys.argv[2], newline="", encoding="utf-8"))}
	users = {u["userUuid"]: u for u in s["users"]}
	assert len(users) == 3, users.keys()
	for u in users.values():
	    e = export[u["email"].lower()]
	    assert u["firstName"] == e["first_name"] and u["lastName"] == e["last_name"], u["email"]
	units = sorted((r["unit"], users[r["userUuid"]]["email"]) for r in s["residents"])
	want = sorted([("lu 1?x=#f", "p1@example.com"), ("lu'"'"'3\"", "p2@example.com"),
	               ("lu;2&$(id)%41", "o'"'"'brien+x@example.com")])
	assert units == want, units
	EOF
'

test_expect_success 'the nightly job runs a property named "x; rm -rf ~"' '
	printf "[property \"%s\"]\nformat = csv\nprofile = generic\nsource = export.csv\n" "$P" >nightly.ini &&
	"$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" --out runs \
		--as-of 2026-06-02 >nightly.out 2>nightly.err &&
	grep -F "x; rm -rf ~" nightly.out nightly.err
'
sim_stop

test_expect_success 'no shell ran a name: the canary is there, nothing was touched, no file is named from input' '
	test -f "$HOME/canary" &&
	! test -e "$tmp/pwned" && ! test -e "$tmp/pwned2" &&
	! find "$tmp" -name "*pwned*" | grep . &&
	! find "$tmp" -name "*rm -rf*" | grep . &&
	! find "$tmp" -name "*[\"'"'"'\$\`;]*" | grep . &&
	for d in runs/*; do
		case ${d#runs/} in
		[0-9]*T[0-9]*.[0-9]*Z-[0-9a-f]*) ;;
		*) echo "unexpected run directory $d" >&4; return 1 ;;
		esac
	done
'

test_expect_success 'modes under umask 000: database 0600, run directories 0750, files 0640' '
	test "$(stat -c %a "$UNITSYNC_DB")" = 600 &&
	for f in "$UNITSYNC_DB"-wal "$UNITSYNC_DB"-shm; do
		! test -e "$f" || test "$(stat -c %a "$f")" = 600 || return 1
	done &&
	test "$(stat -c %a runs)" = 750 &&
	for d in runs/*; do
		test "$(stat -c %a "$d")" = 750 || return 1
		for f in "$d"/*; do
			test "$(stat -c %a "$f")" = 640 || { echo "$f: $(stat -c %a "$f")" >&4; return 1; }
		done
	done &&
	test -f "$(cat run.path)/load-report.csv"
'

# ---- a hostile Latch API ------------------------------------------------
cat >"$tmp/hostile.py" <<'EOF'
# hostile.py LOG MODE: a Latch API that answers what a broken or hostile
# server might.  The user's e-mail (local part) picks the answer.  Every
# request line goes to LOG as "METHOD RAW-PATH", plus "EVIL" for a request
# carrying an injected header, "SECRET" when the token request holds
# $HOSTILE_SECRET.  MODE: normal, crlf-token (a token that would inject a
# header), slow (each PUT waits 2 s).
import http.server, json, os, sys, time, urllib.parse

log = open(sys.argv[1], "a", buffering=1)
mode = sys.argv[2]
secret = os.environ.get("HOSTILE_SECRET", "\0")

def users(*u):
    return json.dumps({"users": [{"userUuid": i, "email": e} for i, e in u]})

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def reply(self, status, body):
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogateescape")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i:i + 65536])
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        log.write("%s %s%s\n" % (self.command, self.path,
                                 " EVIL" if self.headers.get("X-Evil") else ""))
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/oauth/token":
            if secret in body:
                log.write("SECRET\n")
            tok = "t\r\nX-Evil: 1" if mode == "crlf-token" else "tok-1"
            return self.reply(200, json.dumps({"access_token": tok, "expires_in": 3600}))
        if self.command == "GET" and url.path == "/v1/users":
            e = urllib.parse.parse_qs(url.query).get("email", [""])[0]
            who = e.split("@")[0]
            answers = {
                "ok": (200, users(("u-ok", e))),
                "slash": (200, users(("../../admin", e))),
                "nullby": (200, users(("u-nullby", e))),
                "ctl": (200, users(("u-ctl", e))),
                "notjson": (200, "<html>Service Unavailable</html>"),
                "empty": (200, ""),
                "wrongtype": (200, json.dumps({"users": [{"userUuid": 42, "email": e}]})),
                "notlist": (200, json.dumps({"users": {"userUuid": "u", "email": e}})),
                "dup": (200, users(("u-a", e), ("u-b", e.upper()))),
                "huge": (200, '{"users":[' + " " * (3 << 20) + "]}"),
                "nouuid": (200, users()),
            }
            return self.reply(*answers.get(who, (200, users())))
        if url.path.startswith("/v1/buildings/"):
            # the building's uuid picks the answer for its units
            b = urllib.parse.unquote(url.path.split("/")[3])
            units = {
                "slash": [{"uuid": "../../admin", "name": "101"}],
                "blank": [{"uuid": "u 1", "name": "101"}],
                "ctl": [{"uuid": "u\x01", "name": "101"}],
                "wrongtype": [{"uuid": 42, "name": "101"}],
                "noname": [{"uuid": "u-1"}],
                "notobject": ["u-1"],
            }
            if b == "dupkey":
                return self.reply(200, '{"units":[],"units":[{"uuid":"u-1","name":"1"}]}')
            if self.command == "POST":
                return self.reply(201, json.dumps(units.get(b, [{"uuid": "u-new"}])[0]))
            return self.reply(200, json.dumps({"units": units.get(b, [])}))
        if self.command == "POST" and url.path == "/v1/users":
            # load creates first: a user the lookups above answer for exists
            # (409, then looked up); the rest get a 201 without a userUuid
            e = json.loads(body)["email"]
            if e.split("@")[0] not in ("nouuid", "new"):
                return self.reply(409, json.dumps({"message": "EMAIL_ALREADY_EXISTS"}))
            return self.reply(201, json.dumps({"email": e}))
        if self.command == "PUT":
            if mode == "slow":
                time.sleep(2)
            user = urllib.parse.unquote(url.path.rsplit("/", 1)[1])
            if user == "u-nullby":
                return self.reply(200, json.dumps({"userUuid": user, "assignedBy": None}))
            if user == "u-ctl":
                return self.reply(400, "\x1b[2J\r\nunitsync-load: error: FAKE\x07" + "x" * 5000)
            return self.reply(201, json.dumps({"userUuid": user, "assignedBy": "hostile"}))
        return self.reply(404, json.dumps({"message": "NOT_FOUND"}))
    do_GET = do_POST = do_PUT = do_DELETE = handle_any

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
EOF

hostile_pid=
# hostile_start MODE: the server on a free port; UNITSYNC_* point at it
hostile_start() {
	rm -f "$tmp/hostile.port"
	python3 "$tmp/hostile.py" "$tmp/hostile.log" "$1" >"$tmp/hostile.port" 2>>"$tmp/hostile.err" &
	hostile_pid=$!
	for _i in $(seq 100); do
		[ -s "$tmp/hostile.port" ] && break
		sleep 0.05
	done
	[ -s "$tmp/hostile.port" ] || return 1
	export UNITSYNC_LATCH_URL="http://127.0.0.1:$(cat "$tmp/hostile.port")"
	export UNITSYNC_TOKEN_URL="$UNITSYNC_LATCH_URL/oauth/token"
	export UNITSYNC_CLIENT_ID=unitsync-test
}
hostile_stop() {
	[ -n "$hostile_pid" ] && kill "$hostile_pid" 2>/dev/null && wait "$hostile_pid" 2>/dev/null
	hostile_pid=
}
trap '_rc=$?; hostile_stop; sim_stop; vg_report || _rc=1; rm -rf "$tmp"; exit $_rc' EXIT

secret="S3cr3t-$(od -An -N8 -tx1 /dev/urandom | tr -d " \n")"
printf '%s\n' "$secret" >"$tmp/secret" && chmod 600 "$tmp/secret" || exit 1
unset UNITSYNC_CLIENT_SECRET
export UNITSYNC_CLIENT_SECRET_FILE=$tmp/secret HOSTILE_SECRET=$secret
export UNITSYNC_DB=$tmp/hostile.db
who="ok slash nullby ctl notjson empty wrongtype notlist dup huge nouuid"
(cd "$tmp" && {
	echo property_id,pms_unit_id,pms_person_id,status,email
	for w in $who; do echo "hp,U-$w,P-$w,current,$w@example.com"; done
} >hostile.csv && unitsync init >/dev/null && unitsync property add hp >/dev/null &&
	for w in $who; do
		l=lu-$w
		[ "$w" = slash ] && l="lu/../x y"
		unitsync map add --offline --property hp "U-$w" "$l" >/dev/null || exit 1
	done &&
	unitsync extract-csv hostile.csv >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out hruns >ht.out) || exit 1
hrun=$(tail -n 1 "$tmp/ht.out")

hostile_start normal || exit 1
test_expect_success 'malformed, mistyped, incomplete and oversized replies fail their rows; load exits 1' '
	test_expect_code 1 unitsync load "$hrun" >hload.out 2>hload.err &&
	grep "run .*: 6 done, 0 already done, 16 failed" hload.out &&
	r=$hrun/load-report.csv &&
	grep "USER_CREATE,hp,P-notjson,failed,200,GET /v1/users: malformed reply: reply is not JSON" $r &&
	grep "USER_CREATE,hp,P-empty,failed,200,GET /v1/users: malformed reply" $r &&
	grep "USER_CREATE,hp,P-wrongtype,failed,200,.*userUuid is not an id" $r &&
	grep "USER_CREATE,hp,P-notlist,failed,200,.*no \"\"users\"\" list" $r &&
	grep "USER_CREATE,hp,P-dup,failed,200,.*two users with the e-mail" $r &&
	grep "USER_CREATE,hp,P-huge,failed,200,HTTP 200 reply longer than 1048576 bytes" $r &&
	grep "USER_CREATE,hp,P-nouuid,failed,201,\"\\?POST /v1/users: malformed reply: reply has no userUuid" $r &&
	grep "ASSIGN,hp,P-nullby,failed,200,\"PUT: malformed reply, cannot tell who made the assignment" $r &&
	grep "ASSIGN,hp,P-ctl,failed,400," $r &&
	grep "ASSIGN,hp,P-notjson,failed,,an earlier row of this person failed" $r
'

test_expect_success 'the journal agrees: every row done or failed with its reason, effects only for done rows' '
	journal_states >actual &&
	printf "done|6\nfailed|16\n" >expect &&
	test_cmp expect actual &&
	test "$(failed_without_reason)" = 0 &&
	q "SELECT pms_person_id, latch_unit_id, owner FROM assignment ORDER BY 1" >actual &&
	printf "P-ok|lu-ok|unitsync\nP-slash|lu/../x y|unitsync\n" >expect &&
	test_cmp expect actual &&
	q "SELECT pms_person_id, latch_user_id FROM person_user ORDER BY 1" >actual &&
	printf "P-ctl|u-ctl\nP-nullby|u-nullby\nP-ok|u-ok\nP-slash|../../admin\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'ids go into request paths percent-encoded' '
	grep -F "PUT /v1/units/lu%2F..%2Fx%20y/residents/..%2F..%2Fadmin" hostile.log &&
	grep -F "GET /v1/users?email=slash%40example.com" hostile.log &&
	! grep -E "^(PUT|DELETE) .*/\.\./" hostile.log
'

test_expect_success 'no control character from a reply reaches load-report.csv or the log' '
	grep -F "\\x1b[2J\\x0d\\x0aunitsync-load: error: FAKE\\x07xxx" "$hrun/load-report.csv" &&
	! LC_ALL=C grep -q "$(printf "[\001-\010\013-\037\177]")" "$hrun/load-report.csv" hload.err hload.out &&
	! grep "^unitsync-load: error: FAKE" hload.err
'

test_expect_success 'report of that load shows the failures without a raw control character' '
	unitsync report "$hrun" >hreport.txt &&
	grep "fail" hreport.txt &&
	! LC_ALL=C grep -q "$(printf "[\001-\010\013-\037\177]")" hreport.txt
'

test_expect_success 'a unit list or a created unit whose uuid is not an id, or a malformed list, is refused (75, as a reply off the contract)' '
	for b in blank ctl wrongtype noname notobject dupkey; do
		{ test_expect_code 75 unitsync units list --building $b >ul.out 2>ul.err || { cat ul.err >&4; false; }; } &&
		! grep . ul.out || { echo "units list $b" >&4; cat ul.err >&4; return 1; }
		grep "GET /v1/buildings/$b/units" ul.err || return 1
	done &&
	test_expect_code 75 unitsync units list --building blank 2>ul.err &&
	grep "uuid is not an id" ul.err &&
	test_expect_code 75 unitsync units list --building noname 2>ul.err &&
	grep "unit 1 of the page: no name" ul.err &&
	test_expect_code 75 unitsync units list --building dupkey 2>ul.err &&
	grep "duplicate" ul.err &&
	test_expect_code 75 unitsync units create --building ctl 101 2>uc.err &&
	grep "POST /v1/buildings/ctl/units: .*reply.s uuid is not an id" uc.err &&
	unitsync units create --building ok 101 >uc.out &&
	grep u-new uc.out
'

test_expect_success 'a unit uuid with path characters is an id: listed as it is, escaped in paths' '
	unitsync units list --building slash >ul.out &&
	grep -F "../../admin" ul.out
'
hostile_stop

hostile_start crlf-token || exit 1
test_expect_success 'a token that would inject a header is refused (75); no request carries it' '
	: >hostile.log &&
	unitsync transform --as-of 2026-06-02 --out hruns >ht2.out &&
	test_expect_code 75 unitsync load --max-attempts 1 --budget 2 "$(tail -n 1 ht2.out)" \
		>tok.out 2>tok.err &&
	grep "access_token" tok.err &&
	! grep EVIL hostile.log &&
	! grep "^PUT\|^GET /v1" hostile.log
'
hostile_stop

hostile_start slow || exit 1
test_expect_success 'the client secret is in no argv of a running load, log, run file or database' '
	: >hostile.log &&
	unitsync transform --as-of 2026-06-03 --out hruns >ht3.out &&
	run2=$(tail -n 1 ht3.out) &&
	{ unitsync load "$run2" >sload.out 2>sload.err & } &&
	pid=$! && seen= &&
	for _i in $(seq 200); do
		if tr "\0" " " </proc/$pid/cmdline 2>/dev/null | grep -q "unitsync-load"; then
			tr "\0" " " </proc/$pid/cmdline >cmdline.txt && seen=1 && break
		fi
		sleep 0.05
	done &&
	wait $pid; test -n "$seen" &&
	echo "# load ran as: $(cut -c1-200 cmdline.txt)" >&4 &&
	! grep -F "$secret" cmdline.txt &&
	grep -x SECRET hostile.log &&
	! grep -r -F "$secret" hruns runs hload.out hload.err sload.out sload.err tok.out tok.err &&
	sqlite3 "$UNITSYNC_DB" .dump >dump.sql &&
	! grep -F "$secret" dump.sql &&
	test "$(stat -c %a "$run2/load-report.csv")" = 640
'
hostile_stop

[ $failed -eq 0 ]
