#!/usr/bin/env bash
# t0995-run-files: never believe a file that has not proven itself (issue
# 16, "Files").  A run's files are checked and read through one descriptor
# each, so a delta swapped between the check and the read is never acted
# on (200 rounds against a swapper); run directories, their files and
# transform's --out must be owned by this user and writable by no one else;
# a symlinked run file or nightly lock is refused; a run is published only
# once recorded, and what dead transforms and loads left is cleaned; the
# CSV limits docs/SECURITY.md promises hold.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || test_skip_all "sqlite3 is not installed"
test_plan 10

H=property_id,pms_unit_id,pms_person_id,household_id,role,status,first_name,last_name,email,phone,move_in,move_out
(cd "$tmp" && umask 022 && unitsync init >/dev/null && unitsync property add p1 >/dev/null &&
	unitsync map add --offline --property p1 1 L-good >/dev/null &&
	printf '%s\np1,1,R1,H1,primary,current,Ann,Lee,s995-ann@example.com,,2024-01-01,\n' "$H" >n1.csv &&
	unitsync extract-csv n1.csv >/dev/null &&
	unitsync transform --as-of 2026-06-01 --out runs >t1.out) || exit 1
run=$(tail -n 1 "$tmp/t1.out")

test_expect_success 'a delta swapped between check and read is never acted on (200 rounds)' '
	sed "s/L-good/L-evil/" "$run/delta.csv" >evil.csv && cp "$run/delta.csv" good.csv &&
	grep -q L-evil evil.csv &&
	rm -f stop &&
	( while [ ! -e stop ]; do
		cp --remove-destination evil.csv "$run/delta.csv"
		cp --remove-destination good.csv "$run/delta.csv"
	done ) &
	swapper=$! &&
	ok=0 refused=0 &&
	for i in $(seq 200); do
		rc=0
		unitsync load --dry-run "$run" >dry.out 2>dry.err || rc=$?
		if grep -q L-evil dry.out; then
			echo "round $i acted on the swapped delta" >&4
			touch stop; wait $swapper; return 1
		fi
		case $rc in
		0) ok=$((ok + 1)) ;;
		65) refused=$((refused + 1)) ;;
		*) echo "round $i: exit $rc" >&4; cat dry.err >&4; touch stop; wait $swapper; return 1 ;;
		esac
	done
	touch stop; wait $swapper
	cp --remove-destination good.csv "$run/delta.csv" && chmod 0640 "$run/delta.csv" &&
	echo "200 rounds: $ok read the checked delta, $refused refused a changed one" >&4 &&
	test $((ok + refused)) = 200
'

test_expect_success 'a run directory writable by its group or others is refused (65)' '
	chmod g+w "$run" &&
	test_expect_code 65 unitsync load --dry-run "$run" 2>e1 &&
	grep "writable by its group" e1 &&
	test_expect_code 65 unitsync verify "$run" 2>/dev/null &&
	chmod g-w,o+w "$run" &&
	test_expect_code 65 unitsync load --dry-run "$run" 2>e2 && grep "writable by others" e2 &&
	chmod o-w "$run" &&
	unitsync load --dry-run "$run" >/dev/null
'

test_expect_success 'a run file writable by others, or a symbolic link, is refused' '
	chmod o+w "$run/delta.csv" &&
	test_expect_code 65 unitsync load --dry-run "$run" 2>e3 && grep "delta.csv. is writable by others" e3 &&
	chmod o-w "$run/delta.csv" &&
	mv "$run/manifest.json" manifest.keep && ln -s "$tmp/manifest.keep" "$run/manifest.json" &&
	test_expect_code 65 unitsync load --dry-run "$run" 2>e4 &&
	grep "manifest.json" e4 &&
	rm "$run/manifest.json" && mv manifest.keep "$run/manifest.json" &&
	unitsync load --dry-run "$run" >/dev/null
'

test_expect_success 'a run directory owned by another user is refused' '
	if [ "$(id -u)" != 0 ]; then echo "not root: chown skipped" >&4; return 0; fi
	chown nobody "$run" &&
	test_expect_code 65 unitsync load --dry-run "$run" 2>e5 &&
	grep "is owned by uid" e5 &&
	chown 0 "$run" && unitsync load --dry-run "$run" >/dev/null
'

test_expect_success 'transform refuses an --out folder writable by others (78), writes nothing there' '
	mkdir -m 0777 open && chmod 0777 open &&
	test_expect_code 78 unitsync transform --as-of 2026-06-01 --out open 2>e6 &&
	grep "open. is writable by others" e6 &&
	test -z "$(ls -A open)"
'

test_expect_success 'a run recorded by a transform that died before renaming it is published by the next' '
	unitsync transform --as-of 2026-06-01 --out runs >t2.out &&
	r2=$(tail -n 1 t2.out) && id=$(basename "$r2") &&
	mv "$r2" "runs/.$id.99999999.partial" &&
	unitsync transform --as-of 2026-06-01 --out runs >t3.out 2>t3.err &&
	grep "published run $id" t3.err &&
	test -f "$r2/SHA256SUMS" && unitsync verify "$r2" >/dev/null
'

test_expect_success 'a partial run of a dead transform that was never recorded is removed' '
	true & dead=$! && wait $dead &&
	mkdir -m 0750 "runs/.20260101T000000.000000Z-dead00.$dead.partial" &&
	echo x >"runs/.20260101T000000.000000Z-dead00.$dead.partial/delta.csv" &&
	mkdir -m 0750 "runs/.20260101T000000.000000Z-live00.$$.partial" &&
	unitsync transform --as-of 2026-06-01 --out runs >t4.out 2>t4.err &&
	grep "left by a transform that died" t4.err &&
	! test -e "runs/.20260101T000000.000000Z-dead00.$dead.partial" &&
	test -d "runs/.20260101T000000.000000Z-live00.$$.partial" &&
	rmdir "runs/.20260101T000000.000000Z-live00.$$.partial"
'

test_expect_success 'a half-written load report of a dead load is removed' '
	true & dead=$! && wait $dead &&
	echo stale >"$run/load-report.csv.tmp.$dead" &&
	UNITSYNC_LATCH_URL=http://127.0.0.1:9 UNITSYNC_TOKEN_URL=http://127.0.0.1:9/t \
		UNITSYNC_CLIENT_ID=x UNITSYNC_CLIENT_SECRET=y \
		unitsync load --budget 2 "$run" >/dev/null 2>&1
	! test -e "$run/load-report.csv.tmp.$dead"
'

test_expect_success 'nightly.sh refuses a lock file that is a symbolic link, and creates nothing at its target' '
	printf "[property \"p1\"]\nsource = n1.csv\n" >nightly.ini &&
	ln -s "$tmp/planted-target" "$UNITSYNC_DB.lock" &&
	test_expect_code 78 "$TOP/pipelines/nightly.sh" --config nightly.ini --db "$UNITSYNC_DB" \
		--out runs --dry-run 2>e7 &&
	grep "symbolic link" e7 &&
	! test -e "$tmp/planted-target" &&
	rm "$UNITSYNC_DB.lock"
'

test_expect_success 'CSV limits: a 2 MiB field and a header of a million columns are refused (65), memory bounded' '
	{ echo "property_id,pms_unit_id,pms_person_id,status,first_name"
	  printf "p1,1,A1,current,"; head -c 2097152 /dev/zero | tr "\0" x; echo; } >big.csv &&
	test_expect_code 65 unitsync extract-csv big.csv 2>e8 &&
	grep "a field longer than 1048576 bytes" e8 &&
	python3 -c "print(\",\".join([\"property_id\",\"pms_unit_id\",\"pms_person_id\",\"status\"]+[\"c%d\" % i for i in range(1000000)]))" >wide.csv &&
	/usr/bin/time -f "%M" -o rss unitsync extract-csv wide.csv 2>e9; test $? = 65 &&
	grep "a record of more than 4096 fields" e9 &&
	test "$(tail -n 1 rss)" -lt 65536
'
