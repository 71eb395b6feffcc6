#!/usr/bin/env python3
"""bench/reference.py - the end-to-end bench's peer: unitsync's nightly job
done the straightforward way, with the Python standard library only (csv,
sqlite3, urllib), one request at a time.

    reference.py --db STATE --map MAP.csv --as-of YYYY-MM-DD EXPORT.csv...
    reference.py --db STATE --adopt UNITSYNC.db

The Latch settings come from the environment, as unitsync's do:
UNITSYNC_LATCH_URL, UNITSYNC_TOKEN_URL, UNITSYNC_CLIENT_ID,
UNITSYNC_CLIENT_SECRET.

One night:
 1. read every export (generic CSV profile: property_id, pms_unit_id,
    pms_person_id, household_id, role, status, names, email, phone, move_in,
    move_out) into a staging table of the state database, replacing the last
    night's rows of the same properties, in one transaction;
 2. decide who should have which Latch unit on the as-of date, with the
    rules of README "Rules" and the bench's property policy (unit sync
    on, no grace or lead days, no excluded status): current, notice and
    eviction residents until their move-out; future and applicant never;
    guarantors never; a roommate, occupant or minor with an unknown status
    takes the household primary's; an unknown status is held (no change);
    only mapped units; a person needs a Latch user already matched, or an
    e-mail or phone to create one (shared e-mails are not looked for);
 3. diff that against the assignments this script made (state database);
 4. apply the diff person by person: the Latch user (GET /v1/users?email=,
    else POST /v1/users; after a 409, GET again), PUT the new unit, then
    DELETE the old ones (make before break), recording each effect in the
    state database and committing after each request, so that a killed run
    repeats at most one request;
 5. print what it did.

Properties with no rows in tonight's exports lose nothing.  Retries: 429
and 5xx up to 5 times, honouring Retry-After; a 403 fetches a new token
once.

--adopt copies the person_user and assignment rows (owner 'unitsync') of a
unitsync state database: the bench starts this script's night 1 from the
night 0 that unitsync applied, against a copy of the same latch-sim state.
"""
import argparse
import csv
import json
import os
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SCHEMA = """
CREATE TABLE IF NOT EXISTS staged (
  property_id TEXT NOT NULL, pms_person_id TEXT NOT NULL, household_id TEXT,
  pms_unit_id TEXT, role TEXT, status TEXT, first_name TEXT, last_name TEXT,
  email TEXT, phone TEXT, move_in TEXT, move_out TEXT,
  PRIMARY KEY (property_id, pms_person_id));
CREATE TABLE IF NOT EXISTS unit_map (
  property_id TEXT NOT NULL, pms_unit_id TEXT NOT NULL, latch_unit_id TEXT NOT NULL,
  PRIMARY KEY (property_id, pms_unit_id));
CREATE TABLE IF NOT EXISTS person_user (
  property_id TEXT NOT NULL, pms_person_id TEXT NOT NULL, latch_user_id TEXT NOT NULL,
  email TEXT, PRIMARY KEY (property_id, pms_person_id));
CREATE TABLE IF NOT EXISTS assignment (
  property_id TEXT NOT NULL, pms_person_id TEXT NOT NULL, latch_unit_id TEXT NOT NULL,
  pms_unit_id TEXT NOT NULL, latch_user_id TEXT NOT NULL,
  PRIMARY KEY (property_id, pms_person_id, latch_unit_id));
"""

FIELDS = ("property_id", "pms_person_id", "household_id", "pms_unit_id", "role", "status",
          "first_name", "last_name", "email", "phone", "move_in", "move_out")
LIVING = ("current", "notice", "eviction")


def open_db(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


def stage(db, files, map_file):
    """Steps 1 (and the unit mapping): one transaction."""
    db.execute("BEGIN")
    if map_file:
        with open(map_file, newline="", encoding="utf-8") as f:
            rows = csv.DictReader(f)
            db.execute("DELETE FROM unit_map")
            db.executemany("INSERT INTO unit_map VALUES (?, ?, ?)",
                           ((r["property_id"], r["pms_unit_id"], r["latch_unit_id"]) for r in rows))
    seen = set()
    for path in files:
        with open(path, newline="", encoding="utf-8") as f:
            rows = []
            for r in csv.DictReader(f):
                prop = r["property_id"]
                if prop not in seen:
                    seen.add(prop)
                    db.execute("DELETE FROM staged WHERE property_id = ?", (prop,))
                rows.append(tuple((r.get(k) or None) for k in FIELDS))
            db.executemany("INSERT OR REPLACE INTO staged VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.execute("COMMIT")
    return seen


def decide(db, props, as_of):
    """Step 2: {(property, person): (pms unit, latch unit, user, email, phone, first, last)},
    and the people held as they are (unknown status)."""
    primary = {}
    for prop, hh, status in db.execute(
            "SELECT property_id, household_id, status FROM staged WHERE role = 'primary' "
            "ORDER BY property_id, pms_person_id"):
        primary.setdefault((prop, hh), status)
    units = {(p, u): l for p, u, l in db.execute("SELECT * FROM unit_map")}
    users = {(p, q): u for p, q, u in db.execute(
        "SELECT property_id, pms_person_id, latch_user_id FROM person_user")}
    want, held = {}, set()
    for (prop, person, hh, unit, role, status, first, last, email, phone, move_in,
         move_out) in db.execute("SELECT " + ", ".join(FIELDS) + " FROM staged"):
        if prop not in props or role == "guarantor":
            continue
        if status == "unknown" and role in ("roommate", "occupant", "minor"):
            status = primary.get((prop, hh), status)
        if status == "unknown":
            held.add((prop, person))
            continue
        if status not in LIVING or (move_out and move_out < as_of):
            continue
        latch_unit = units.get((prop, unit))
        user = users.get((prop, person))
        if not latch_unit or not (user or email or phone):
            continue
        want[(prop, person)] = (unit, latch_unit, user, email, phone, first, last)
    return want, held


class Latch:
    """The Latch API, one blocking urllib request at a time."""

    def __init__(self):
        env = os.environ
        self.base = env["UNITSYNC_LATCH_URL"].rstrip("/")
        self.token_url = env["UNITSYNC_TOKEN_URL"]
        self.client_id = env["UNITSYNC_CLIENT_ID"]
        self.secret = env["UNITSYNC_CLIENT_SECRET"]
        self.token = None
        self.requests = 0

    def fetch_token(self):
        body = json.dumps({"client_id": self.client_id, "client_secret": self.secret,
                           "audience": self.base, "grant_type": "client_credentials"})
        status, reply = self.send("POST", self.token_url, body, auth=False)
        if status != 200:
            sys.exit("token refused: HTTP %d %s" % (status, reply))
        self.token = json.loads(reply)["access_token"]

    def send(self, method, url, body=None, auth=True):
        data = body.encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", "Bearer " + self.token)
        self.requests += 1
        try:
            with urllib.request.urlopen(req, timeout=30) as f:
                return f.status, f.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def call(self, method, path, body=None):
        """A /v1 request with retries; returns (status, reply text)."""
        renewed = False
        for attempt in range(6):
            if self.token is None:
                self.fetch_token()
            try:
                status, reply = self.send(method, self.base + path,
                                          json.dumps(body) if body is not None else None)
            except (urllib.error.URLError, OSError):
                status, reply = 0, ""
            if status == 403 and not renewed:
                self.token, renewed = None, True
                continue
            if status in (0, 408, 425, 429, 500, 502, 503, 504) and attempt < 5:
                time.sleep(min(0.1 * 2 ** attempt, 5))
                continue
            return status, reply
        return status, reply

    def find_user(self, email):
        status, reply = self.call("GET", "/v1/users?email=" + urllib.parse.quote(email, safe=""))
        if status != 200:
            return None
        for u in json.loads(reply).get("users", []):
            if (u.get("email") or "").lower() == email.lower():
                return u["userUuid"]
        return None


def apply(db, api, props, want, held):
    """Steps 3 and 4."""
    have = {}
    for prop, person, latch_unit, unit, user in db.execute(
            "SELECT property_id, pms_person_id, latch_unit_id, pms_unit_id, latch_user_id "
            "FROM assignment"):
        have.setdefault((prop, person), []).append((latch_unit, unit, user))
    counts = {"USER_CREATE": 0, "ASSIGN": 0, "UNASSIGN": 0, "failed": 0}
    for key in sorted(set(want) | {k for k in have if k[0] in props and k not in held}):
        prop, person = key
        current = have.get(key, [])
        target = want.get(key)
        if target and not any(c[0] == target[1] for c in current):
            unit, latch_unit, user, email, phone, first, last = target
            if not user:
                user = api.find_user(email) if email else None
                if not user:
                    status, reply = api.call("POST", "/v1/users", {
                        "firstName": first or "", "lastName": last or "",
                        "email": email or "", "phone": phone or ""})
                    if status == 409 and email:
                        user = api.find_user(email)
                    elif status in (200, 201):
                        user = json.loads(reply)["userUuid"]
                if not user:
                    counts["failed"] += 1
                    continue
                db.execute("INSERT OR REPLACE INTO person_user VALUES (?, ?, ?, ?)",
                           (prop, person, user, email))
                counts["USER_CREATE"] += 1
            status, _ = api.call("PUT", "/v1/units/%s/residents/%s" % (
                urllib.parse.quote(latch_unit, safe=""), urllib.parse.quote(user, safe="")))
            if status not in (200, 201):
                counts["failed"] += 1
                continue
            db.execute("INSERT OR REPLACE INTO assignment VALUES (?, ?, ?, ?, ?)",
                       (prop, person, latch_unit, unit, user))
            counts["ASSIGN"] += 1
        for latch_unit, unit, user in current:
            if target and target[1] == latch_unit:
                continue
            status, _ = api.call("DELETE", "/v1/units/%s/residents/%s" % (
                urllib.parse.quote(latch_unit, safe=""), urllib.parse.quote(user, safe="")))
            if status not in (200, 204, 404):
                counts["failed"] += 1
                continue
            db.execute("DELETE FROM assignment WHERE property_id = ? AND pms_person_id = ? "
                       "AND latch_unit_id = ?", (prop, person, latch_unit))
            counts["UNASSIGN"] += 1
    return counts


def adopt(db, path):
    db.execute("ATTACH DATABASE ? AS us", (path,))
    db.execute("BEGIN")
    db.execute("DELETE FROM person_user")
    db.execute("DELETE FROM assignment")
    db.execute("INSERT INTO person_user SELECT property_id, pms_person_id, latch_user_id, email "
               "FROM us.person_user")
    db.execute("INSERT INTO assignment SELECT property_id, pms_person_id, latch_unit_id, "
               "pms_unit_id, latch_user_id FROM us.assignment WHERE owner = 'unitsync'")
    db.execute("COMMIT")
    db.execute("DETACH DATABASE us")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--map")
    ap.add_argument("--as-of")
    ap.add_argument("--adopt", metavar="UNITSYNC_DB")
    ap.add_argument("exports", nargs="*")
    args = ap.parse_args()
    db = open_db(args.db)
    if args.adopt:
        adopt(db, args.adopt)
        return 0
    if not args.as_of or not args.exports:
        ap.error("--as-of and at least one export are needed")
    t0 = time.monotonic()
    props = stage(db, args.exports, args.map)
    t1 = time.monotonic()
    want, held = decide(db, props, args.as_of)
    t2 = time.monotonic()
    api = Latch()
    counts = apply(db, api, props, want, held)
    t3 = time.monotonic()
    print("reference: %d properties, %d people wanted; %d USER_CREATE, %d ASSIGN, %d UNASSIGN, "
          "%d failed (%d requests sent); staged in %.2f s, decided in %.2f s, applied in %.2f s"
          % (len(props), len(want), counts["USER_CREATE"], counts["ASSIGN"], counts["UNASSIGN"],
             counts["failed"], api.requests, t1 - t0, t2 - t1, t3 - t2))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
