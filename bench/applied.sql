-- bench/applied.sql - record in the state database what a successful load
-- of night 0 would have recorded, without running one (a million people's
-- night 0 is about three million requests).  Read right after
-- bench/diff.sql, in the same sqlite3 session, with @snap = night 0's
-- snapshot, @as_of = night 0's date and an empty assignment table: diff.sql
-- leaves night 0's decisions in temp.want, and every synced person is an
-- ASSIGN (and a USER_CREATE first: nobody has a Latch user yet).
--
-- What load/load.c's record_done() writes for those rows, it writes here:
--   * person_user: one row per synced person, latch_user_id a fresh
--     version-4-shaped UUID (random: no Latch is involved), email as staged;
--   * assignment: one row per synced person, owner 'unitsync', run_id
--     '20260101T023000.000000Z-b0b0b0' (shaped like transform's run ids,
--     which sort by time: older than any run made now), seq numbered in
--     (property, person) order;
--   * run and run_input: the night-0 run, guard 'ok', load_status 'done',
--     map_seq the last map_history id (the mapping it was made with), so
--     that the night-1 transform has the previous run's people count for
--     its shrink check and mapping for its mapping_added reason, as after
--     a real night 0.
-- Not written: delta_history and journal rows (transform reads them only
-- for effects a load left inflight; a finished load leaves none).
BEGIN;
CREATE TEMP TABLE night0 AS
SELECT w.property_id, w.pms_person_id, w.pms_unit_id, w.latch_unit_id, p.email,
       row_number() OVER (ORDER BY w.property_id, w.pms_person_id) AS seq,
       lower(hex(randomblob(16))) AS h
FROM temp.want w
JOIN temp.people p ON p.property_id = w.property_id AND p.pms_person_id = w.pms_person_id
WHERE w.sync AND NOT w.hold;
INSERT INTO person_user (property_id, pms_person_id, latch_user_id, email, updated_at)
SELECT property_id, pms_person_id,
       substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8' ||
         substr(h, 18, 3) || '-' || substr(h, 21, 12),
       nullif(email, ''), @as_of || 'T02:30:00Z'
FROM temp.night0;
INSERT INTO assignment (property_id, pms_person_id, latch_unit_id, pms_unit_id, latch_user_id,
                        run_id, seq, assigned_at, owner)
SELECT n.property_id, n.pms_person_id, n.latch_unit_id, n.pms_unit_id, u.latch_user_id,
       '20260101T023000.000000Z-b0b0b0', n.seq, @as_of || 'T02:30:00Z', 'unitsync'
FROM temp.night0 n
JOIN person_user u ON u.property_id = n.property_id AND u.pms_person_id = n.pms_person_id;
INSERT INTO run (run_id, run_dir, as_of, delta_sha256, manifest_sha256, map_seq, delta_rows,
                 guard, created_at, load_status, loaded_at)
SELECT '20260101T023000.000000Z-b0b0b0', '/nonexistent/bench-night0', @as_of, '', '',
       (SELECT coalesce(max(id), 0) FROM map_history), 2 * count(*), 'ok',
       @as_of || 'T02:30:00Z', 'done', @as_of || 'T02:31:00Z'
FROM temp.night0;
INSERT INTO run_input (run_id, property_id, snapshot_id)
SELECT '20260101T023000.000000Z-b0b0b0', property_id, snapshot_id FROM snapshot_property
WHERE snapshot_id = @snap;
COMMIT;
