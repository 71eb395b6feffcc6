-- bench/history.sql - give a transform bench database a year of nightly
-- runs before its night 0: @nights earlier runs, one a night, each
-- recorded as a real night is, with its inputs, its delta history, the load
-- journal of a finished load and its exceptions.
--
--   sqlite3 TEMPLATE.db -cmd "ATTACH 'SHAPE.db' AS shape" \
--       -cmd '.parameter set @nights 364' < bench/history.sql
--
-- SHAPE.db is a copy of the same template after one real `unitsync
-- transform` of night 1 (a night of 1% churn): its one new run is the
-- shape of every earlier night.  Each earlier night n (1 = the night
-- before night 0) gets:
--   * run: run_id sorting before night 0's ('2025MMDDT023000.000000Z-'
--     and n in hex), as_of n days before 2026-01-01, guard 'ok',
--     load_status 'done', the shape's map_seq and delta_rows;
--   * run_input: the shape's rows (every property, its guard verdict),
--     snapshot_id -n: that night's export, pruned since (snapshots prune
--     deletes the staged rows, never the run's inputs), so no two nights
--     read the same file and none is tonight's;
--   * delta_history and run_exception: the shape's rows under the night's
--     run id;
--   * journal: a 'done' row for every delta row, as a finished load leaves.
-- night 0 (bench/applied.sql) stays the newest run: the shrink check's
-- baseline, the stale check's night before and schema_check's previous
-- export are night 0's, as without the history.
BEGIN;
CREATE TEMP TABLE nights AS
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < @nights)
SELECT n, strftime('%Y%m%d', '2026-01-01', '-' || n || ' days') || 'T023000.000000Z-' ||
            printf('%06x', n) AS run_id,
       date('2026-01-01', '-' || n || ' days') AS as_of
FROM k;
INSERT INTO run (run_id, run_dir, as_of, delta_sha256, manifest_sha256, map_seq, delta_rows,
                 guard, created_at, load_status, loaded_at)
SELECT k.run_id, '/nonexistent/bench-history/' || k.run_id, k.as_of, r.delta_sha256,
       r.manifest_sha256, r.map_seq, r.delta_rows, 'ok', k.as_of || 'T02:30:00Z', 'done',
       k.as_of || 'T02:31:00Z'
FROM temp.nights k, shape.run r
WHERE r.run_id = (SELECT max(run_id) FROM shape.run)
ORDER BY k.run_id;
INSERT INTO run_input (run_id, property_id, snapshot_id, guard, guard_why)
SELECT k.run_id, i.property_id, -k.n, i.guard, i.guard_why
FROM temp.nights k, shape.run_input i
WHERE i.run_id = (SELECT max(run_id) FROM shape.run)
ORDER BY k.run_id, i.property_id;
INSERT INTO delta_history (run_id, seq, op, property_id, pms_person_id, pms_unit_id,
                           latch_unit_id, reason, group_id, effective_date, snapshot_id,
                           source_ref)
SELECT k.run_id, h.seq, h.op, h.property_id, h.pms_person_id, h.pms_unit_id, h.latch_unit_id,
       h.reason, h.group_id, k.as_of, -k.n, h.source_ref
FROM temp.nights k, shape.delta_history h
WHERE h.run_id = (SELECT max(run_id) FROM shape.run)
ORDER BY k.run_id, h.seq;
INSERT INTO journal (run_id, seq, op, idempotency_key, state, attempts, http_status,
                     latch_user_id, updated_at)
SELECT k.run_id, h.seq, h.op, lower(hex(randomblob(16))), 'done', 1,
       CASE h.op WHEN 'USER_CREATE' THEN 201 ELSE 200 END, NULL, k.as_of || 'T02:31:00Z'
FROM temp.nights k, shape.delta_history h
WHERE h.run_id = (SELECT max(run_id) FROM shape.run)
ORDER BY k.run_id, h.seq;
INSERT INTO run_exception (run_id, seq, kind, property_id, pms_unit_id, pms_person_id, detail)
SELECT k.run_id, e.seq, e.kind, e.property_id, e.pms_unit_id, e.pms_person_id, e.detail
FROM temp.nights k, shape.run_exception e
WHERE e.run_id = (SELECT max(run_id) FROM shape.run)
ORDER BY k.run_id, e.seq;
COMMIT;
