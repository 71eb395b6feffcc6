-- bench/diff.sql - the transform bench's peer: the night's ASSIGN and
-- UNASSIGN set as plain SQL in the sqlite3 shell, on the state database
-- that `unitsync transform` reads (same staged snapshot, unit_map,
-- property, person_user and assignment tables).
--
--   sqlite3 STATE.db -cmd '.parameter set @snap 2' \
--       -cmd ".parameter set @as_of \"'2026-01-02'\"" -cmd '.output OUT.csv' < bench/diff.sql
--
-- (@as_of must be bound as text: unquoted, 2026-01-02 is the number 2023)
--
-- The last statement is the only one with output: CSV rows
-- op,property_id,pms_unit_id,latch_unit_id,pms_person_id,latch_user_id
-- ordered by property, person, op.  Only TEMP tables are
-- written: the database is left as it was.
--
-- The rules are README "Rules", as transform/transform.c
-- applies them to one snapshot:
--   * a roommate, occupant or minor whose own status is unknown takes the
--     household primary's status, and its move dates where they have none;
--   * guarantors never get access; an unknown status is held (no change);
--   * statuses in the property's exclude_status never get access;
--   * current, notice, eviction: access until move-out + revoke_grace_days;
--   * future, applicant: from move-in - grant_lead_days (NULL = never);
--   * an eligible person needs a mapped unit and a Latch user already
--     matched, or an e-mail or phone to create one;
--   * an e-mail (any case) shared by two residents of one property, or by
--     two of another name across properties, each synced, held or with a
--     Latch user, one of them synced: both held;
--   * a person named by a rejected row: held; rejected rows naming nobody:
--     no removals of people absent from the export;
--   * only assignments unitsync made (owner 'unitsync') are removed, none
--     when the property's unit sync is off, and only for properties the
--     snapshot has residents for.
-- Not covered (the bench has none of them): several snapshots of one
-- property read together, and effects an earlier load left inflight.

.mode csv
CREATE TEMP TABLE people AS
SELECT s.property_id, s.pms_person_id, s.pms_unit_id, s.role, s.email, s.phone,
       s.first_name, s.last_name, coalesce(s.move_in, h.move_in) AS move_in,
       coalesce(s.move_out, h.move_out) AS move_out, coalesce(h.status, s.status) AS status
FROM stg_person s
JOIN snapshot_property sp ON sp.snapshot_id = s.snapshot_id AND sp.property_id = s.property_id
LEFT JOIN stg_person h ON s.status = 'unknown' AND s.role IN ('roommate', 'occupant', 'minor')
  AND h.snapshot_id = s.snapshot_id AND h.property_id = s.property_id
  AND h.pms_person_id = (SELECT min(x.pms_person_id) FROM stg_person x
                         WHERE x.snapshot_id = s.snapshot_id AND x.property_id = s.property_id
                           AND x.household_id = s.household_id AND x.role = 'primary')
WHERE s.snapshot_id = @snap AND sp.people > 0;

CREATE TEMP TABLE want AS
SELECT p.property_id, p.pms_person_id, p.pms_unit_id, m.latch_unit_id, u.latch_user_id,
       lower(nullif(p.email, '')) AS email_key,
       lower(coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '')) AS name_key,
       p.role <> 'guarantor' AND p.status = 'unknown' AS hold,
       p.role <> 'guarantor' AND p.status <> 'unknown'
         AND instr(',' || pr.exclude_status || ',', ',' || p.status || ',') = 0
         AND ((p.status IN ('current', 'notice', 'eviction')
               AND (p.move_out IS NULL
                    OR date(p.move_out, printf('%+d days', pr.revoke_grace_days)) >= @as_of))
              OR (p.status IN ('future', 'applicant') AND pr.grant_lead_days IS NOT NULL
                  AND p.move_in IS NOT NULL
                  AND @as_of >= date(p.move_in, printf('%+d days', -pr.grant_lead_days))))
         AND coalesce(m.latch_unit_id, '') <> ''
         AND (u.latch_user_id IS NOT NULL OR coalesce(p.email, '') <> ''
              OR coalesce(p.phone, '') <> '') AS sync
FROM temp.people p
JOIN property pr ON pr.property_id = p.property_id
LEFT JOIN unit_map m ON m.property_id = p.property_id AND m.pms_unit_id = p.pms_unit_id
LEFT JOIN person_user u ON u.property_id = p.property_id AND u.pms_person_id = p.pms_person_id;
CREATE INDEX temp.want_person ON want (property_id, pms_person_id);
CREATE INDEX temp.want_email ON want (email_key) WHERE email_key IS NOT NULL;

-- rejected rows: the people they name are held (a readable row of the
-- same file gives way); rows naming nobody stop "not in the export"
-- removals for their property
CREATE TEMP TABLE rejected AS
SELECT DISTINCT coalesce(property_id, '') AS property_id, coalesce(pms_person_id, '') AS pms_person_id
FROM stg_reject WHERE snapshot_id = @snap;
UPDATE temp.want SET hold = 1, sync = 0
WHERE EXISTS (SELECT 1 FROM temp.rejected r
              WHERE r.property_id IN ('', want.property_id) AND r.pms_person_id = want.pms_person_id);

-- shared e-mails: both sides held, when either would be acted on
UPDATE temp.want SET hold = 1
WHERE email_key IS NOT NULL AND rowid IN (
  SELECT w.rowid FROM temp.want w JOIN temp.want o ON o.email_key = w.email_key
  WHERE (o.property_id <> w.property_id OR o.pms_person_id <> w.pms_person_id)
    AND (w.sync OR o.sync)
    AND (o.sync OR o.hold OR o.latch_user_id IS NOT NULL)
    AND (w.sync OR w.hold OR w.latch_user_id IS NOT NULL)
    AND (o.property_id = w.property_id OR o.name_key <> w.name_key));

SELECT 'ASSIGN', w.property_id, w.pms_unit_id, w.latch_unit_id, w.pms_person_id,
       coalesce(w.latch_user_id, '')
FROM temp.want w
WHERE w.sync AND NOT w.hold
  AND NOT EXISTS (SELECT 1 FROM assignment a
                  WHERE a.property_id = w.property_id AND a.pms_person_id = w.pms_person_id
                    AND a.latch_unit_id = w.latch_unit_id)
UNION ALL
SELECT 'UNASSIGN', a.property_id, a.pms_unit_id, a.latch_unit_id, a.pms_person_id, a.latch_user_id
FROM assignment a
JOIN property pr ON pr.property_id = a.property_id AND pr.unit_sync
JOIN snapshot_property sp ON sp.snapshot_id = @snap AND sp.property_id = a.property_id
  AND sp.people > 0
LEFT JOIN temp.want w ON w.property_id = a.property_id AND w.pms_person_id = a.pms_person_id
WHERE a.owner = 'unitsync' AND a.latch_user_id <> ''
  AND NOT coalesce(w.hold, 0)
  AND NOT (coalesce(w.sync, 0) AND w.latch_unit_id = a.latch_unit_id)
  AND NOT (w.pms_person_id IS NULL AND EXISTS (
        SELECT 1 FROM temp.rejected r
        WHERE r.property_id IN ('', a.property_id)
          AND r.pms_person_id IN ('', a.pms_person_id)))
ORDER BY 2, 5, 1;
