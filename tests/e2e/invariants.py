#!/usr/bin/env python3
"""invariants.py - generator, oracle and checker of t0860-invariants.sh.

Each portfolio is one property pNNN (NNN = its seed) of a small random
portfolio: 4-8 PMS units, 1-2 of them unmapped, residents with their own
e-mail (carrying the property id), NIGHTS nights of random churn.  Every
property is generated from its seed alone (random.Random(seed)), so a
portfolio is the same whether it runs among 200 or alone (INVARIANT_SEED).

The oracle is written from README.md "Rules" (grace 0, no lead days), not
from the code:
  - a record is eligible tonight when its status is current, or notice with
    move_out >= tonight; past is not;
  - a human (one e-mail, any letter case) is judged when every record of
    theirs tonight is in a mapped unit; one with a record in an unmapped
    unit is not judged and may keep what they held;
  - wanted(human) = the Latch units of the mapped units of their eligible
    records.

  gen DIR SEED...                 write DIR/seed.csv (latch-sim), DIR/map.csv,
                                  DIR/properties, DIR/nightK.csv, DIR/asofK
  check DIR K RUN_DIR STATE RERUN check night K against the simulator's
                                  /_sim/state (file STATE) and the run's
                                  delta.csv; writes DIR/heldK.json; prints
                                  each violation; exit 1 if any (RERUN is the
                                  shell command that reruns one seed, with
                                  {seed} in it)
"""
import csv
import datetime
import json
import os
import random
import sys

NIGHTS = int(os.environ.get("INVARIANT_NIGHTS", "5"))
FIRST_NIGHT = datetime.date(2026, 3, 2)
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivan",
         "June", "Kofi", "Lena", "Marek", "Nia", "Omar", "Pia", "Quinn", "Rosa",
         "Sami", "Tess", "Uma", "Vik", "Wen", "Yara", "Zed"]
LAST = ["Abara", "Brook", "Costa", "Diallo", "Eng", "Fox", "Gold", "Hale",
        "Ito", "Jensen", "Kim", "Lopez", "Moss", "Novak", "Okafor", "Park",
        "Quist", "Reyes", "Singh", "Tran", "Ueda", "Vale", "West", "Young"]
COLUMNS = ["property_id", "pms_unit_id", "pms_person_id", "household_id", "role",
           "status", "first_name", "last_name", "email", "phone", "move_in",
           "move_out"]


def pid_of(seed):
    return "p%03d" % seed


def latch_unit(prop, unit):
    return "L-%s-%s" % (prop, unit)


class Portfolio:
    """One property's PMS units, humans and records, night by night."""

    def __init__(self, seed):
        self.seed = seed
        self.prop = pid_of(seed)
        self.rng = random.Random(seed)
        rng = self.rng
        n_units = rng.randint(4, 8)
        self.units = ["%d%02d" % (rng.randint(1, 9), i + 1) for i in range(n_units)]
        unmapped = set(rng.sample(self.units, rng.randint(1, 2)))
        self.mapped = {u: latch_unit(self.prop, u) for u in self.units if u not in unmapped}
        self.humans = {}    # hid -> {"first", "last", "email", "phone"}
        self.records = []   # {"pid", "hid", "unit", "status", "move_in", "move_out", "hh"}
        self.n_person = 0
        self.n_human = 0
        self.n_hh = 0
        self.nights = []    # per night: (date, [rows], events)

    # --- identities
    def new_pid(self):
        self.n_person += 1
        return "%s-r%d" % (self.prop, self.n_person)

    def new_hh(self):
        self.n_hh += 1
        return "%s-h%d" % (self.prop, self.n_hh)

    def new_human(self):
        self.n_human += 1
        hid = self.n_human
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        self.humans[hid] = {
            "first": first, "last": last,
            "email": "%s.%s.%d@%s.example.com" % (first.lower(), last.lower(), hid, self.prop),
            "phone": "+1555%03d%04d" % (self.seed % 1000, hid),
        }
        return hid

    # --- state
    def occupied(self):
        return {r["unit"] for r in self.records if r["status"] in ("current", "notice")}

    def vacant(self, mapped_only=False):
        occ = self.occupied()
        return [u for u in self.units if u not in occ and (not mapped_only or u in self.mapped)]

    def pick_target(self):
        """A vacant unit: mapped mostly, unmapped sometimes."""
        vm = [u for u in self.vacant() if u in self.mapped]
        vu = [u for u in self.vacant() if u not in self.mapped]
        if vu and (not vm or self.rng.random() < 0.2):
            return self.rng.choice(vu)
        return self.rng.choice(vm) if vm else None

    def simple_records(self, touched):
        """Current records of humans with exactly one record, untouched tonight."""
        count = {}
        for r in self.records:
            count[r["hid"]] = count.get(r["hid"], 0) + 1
        return [r for r in self.records
                if r["status"] == "current" and count[r["hid"]] == 1 and r["hid"] not in touched]

    def move_in(self, unit, date):
        hid = self.new_human()
        self.records.append({"pid": self.new_pid(), "hid": hid, "unit": unit, "status": "current",
                             "move_in": date, "move_out": None, "hh": self.new_hh()})
        return hid

    # --- nights
    def night0(self, date):
        for u in self.mapped:
            if self.rng.random() < 0.7:
                self.move_in(u, date)
        self.nights.append((date, self.rows(), ["night 0: %d residents" % len(self.records)]))

    def next_night(self, date):
        rng = self.rng
        yesterday = date - datetime.timedelta(days=1)
        # past rows are listed one night, then gone; notice past its move-out turns past
        self.records = [r for r in self.records if r["status"] != "past"]
        for r in self.records:
            if r["status"] == "notice" and r["move_out"] < date:
                r["status"] = "past"
        events = []
        touched = set()
        kinds = ["move_in", "move_out", "transfer1", "transfer2", "transfer3", "rekey", "email_case"]
        want = rng.randint(1, 3)
        tries = 0
        while len(events) < want and tries < 50:
            tries += 1
            kind = rng.choice(kinds)
            simple = self.simple_records(touched)
            if kind == "move_in":
                u = self.pick_target()
                if u is None:
                    continue
                hid = self.move_in(u, date)
                touched.add(hid)
                events.append("move_in h%d -> %s" % (hid, u))
                continue
            if not simple:
                continue
            r = rng.choice(simple)
            touched.add(r["hid"])
            if kind == "move_out":
                r["status"], r["move_out"] = "past", yesterday
                events.append("move_out %s (h%d) from %s" % (r["pid"], r["hid"], r["unit"]))
            elif kind == "email_case":
                h = self.humans[r["hid"]]
                if h["email"] == h["email"].upper():
                    touched.discard(r["hid"])
                    continue
                h["email"] = h["email"].upper()
                events.append("email_case h%d -> %s" % (r["hid"], h["email"]))
            elif kind == "rekey":
                old = r["pid"]
                r["pid"] = self.new_pid()
                events.append("rekey h%d %s -> %s in %s" % (r["hid"], old, r["pid"], r["unit"]))
            else:
                u = self.pick_target()
                if u is None:
                    touched.discard(r["hid"])
                    continue
                if kind == "transfer1":
                    self.records.append(dict(r, unit=u, status="current", move_in=date,
                                             move_out=None, hh=self.new_hh()))
                    r["status"], r["move_out"] = "past", yesterday
                    events.append("transfer1 %s (h%d) %s -> %s, two rows" % (r["pid"], r["hid"], r["unit"], u))
                elif kind == "transfer2":
                    new = dict(r, pid=self.new_pid(), unit=u, status="current", move_in=date,
                               move_out=None, hh=self.new_hh())
                    self.records.append(new)
                    r["status"], r["move_out"] = "notice", date + datetime.timedelta(days=2)
                    events.append("transfer2 h%d %s in %s (notice) + %s in %s" % (
                        r["hid"], r["pid"], r["unit"], new["pid"], u))
                else:
                    events.append("transfer3 %s (h%d) %s -> %s, one row" % (r["pid"], r["hid"], r["unit"], u))
                    r["unit"], r["move_in"] = u, date
        self.nights.append((date, self.rows(), events))

    def rows(self):
        out = []
        for r in self.records:
            h = self.humans[r["hid"]]
            out.append({
                "property_id": self.prop, "pms_unit_id": r["unit"], "pms_person_id": r["pid"],
                "household_id": r["hh"], "role": "primary", "status": r["status"],
                "first_name": h["first"], "last_name": h["last"], "email": h["email"],
                "phone": h["phone"], "move_in": r["move_in"].isoformat() if r["move_in"] else "",
                "move_out": r["move_out"].isoformat() if r["move_out"] else "",
                "_hid": r["hid"], "_date": None,
            })
        return out


def build(seed):
    p = Portfolio(seed)
    for k in range(NIGHTS):
        date = FIRST_NIGHT + datetime.timedelta(days=k)
        if k == 0:
            p.night0(date)
        else:
            p.next_night(date)
    return p


def oracle(p, k):
    """Night K of portfolio P: {hid: (judged, wanted latch units, eligible mapped units)}."""
    date, rows, _ = p.nights[k]
    out = {hid: [True, set(), set()] for hid in p.humans}
    for r in rows:
        o = out[r["_hid"]]
        if r["pms_unit_id"] not in p.mapped:
            o[0] = False
        mo = datetime.date.fromisoformat(r["move_out"]) if r["move_out"] else None
        eligible = r["status"] == "current" or (r["status"] == "notice" and (mo is None or mo >= date))
        if eligible and r["pms_unit_id"] in p.mapped:
            o[1].add(p.mapped[r["pms_unit_id"]])
            o[2].add(r["pms_unit_id"])
    return out


def seeds_from(argv):
    return [int(s) for s in argv]


def cmd_gen(d, seeds):
    ports = [build(s) for s in seeds]
    with open(os.path.join(d, "seed.csv"), "w") as f:
        f.write("building_uuid,unit_uuid,name\n")
        for p in ports:
            for u, l in p.mapped.items():
                f.write("b-%s,%s,%s\n" % (p.prop, l, u))
    with open(os.path.join(d, "map.csv"), "w") as f:
        f.write("property_id,pms_unit_id,latch_unit_id\n")
        for p in ports:
            for u, l in p.mapped.items():
                f.write("%s,%s,%s\n" % (p.prop, u, l))
    with open(os.path.join(d, "properties"), "w") as f:
        for p in ports:
            f.write("%s b-%s\n" % (p.prop, p.prop))
    for k in range(NIGHTS):
        with open(os.path.join(d, "night%d.csv" % k), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(COLUMNS)
            for p in ports:
                for r in p.nights[k][1]:
                    w.writerow([r[c] for c in COLUMNS])
        with open(os.path.join(d, "asof%d" % k), "w") as f:
            f.write(ports[0].nights[k][0].isoformat() + "\n")
    with open(os.path.join(d, "events.txt"), "w") as f:
        for p in ports:
            for k in range(NIGHTS):
                f.write("%s night %d: %s\n" % (p.prop, k, "; ".join(p.nights[k][2])))


def fmt_pairs(pairs):
    return "{" + ", ".join(sorted(pairs)) + "}" if pairs else "{}"


def cmd_check(d, k, run_dir, state_file, rerun, seeds, known):
    st = json.load(open(state_file))
    users = {u["userUuid"]: (u.get("email") or "").lower() for u in st["users"]}
    uid_of = {}
    for uuid, e in users.items():
        uid_of.setdefault(e, set()).add(uuid)
    unit_building = {u["uuid"]: u["building"] for u in st["units"]}
    held_by_building = {}
    for r in st["residents"]:
        b = unit_building.get(r["unit"], "?")
        held_by_building.setdefault(b, []).append((r["unit"], users.get(r["userUuid"], "?"), r["userUuid"]))
    unassigns = set()  # (latch unit, user uuid or lower e-mail)
    with open(os.path.join(run_dir, "delta.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["op"] == "UNASSIGN":
                unassigns.add((row["latch_unit_id"], row["latch_user_id"]))
                unassigns.add((row["latch_unit_id"], row["email"].lower()))
    prev = {}
    if k > 0:
        prev = json.load(open(os.path.join(d, "held%d.json" % (k - 1))))
    held_out = {}
    known_out = []  # the known failures' evidence, for the summary
    checks = 0
    bad_props = []
    known_bad = []
    for seed in seeds:
        p = build(seed)
        date = p.nights[k][0]
        want = oracle(p, k)
        want_prev = oracle(p, k - 1) if k > 0 else None
        by_email = {h["email"].lower(): hid for hid, h in p.humans.items()}
        email_tonight = {hid: h["email"] for hid, h in p.humans.items()}
        for j in range(k + 1):  # the e-mail as exported up to tonight (its case changes)
            for r in p.nights[j][1]:
                email_tonight[r["_hid"]] = r["email"]
        held = {}       # hid -> set of latch units
        errors = []
        for unit, email, uuid in held_by_building.get("b-" + p.prop, []):
            hid = by_email.get(email)
            if hid is None:
                errors.append("invariant 2: %s is held by %s (%s), no resident of this property" % (unit, email, uuid))
                continue
            held.setdefault(hid, set()).add(unit)
        held_out[p.prop] = {str(h): sorted(u) for h, u in held.items()}
        prev_held = {int(h): set(u) for h, u in prev.get(p.prop, {}).items()}
        for hid, (judged, wanted, elig_units) in sorted(want.items()):
            email = email_tonight[hid]
            actual = held.get(hid, set())
            # 1: a judged human holds exactly their wanted units
            checks += 1
            if judged and actual != wanted:
                errors.append("invariant 1: h%d %s (judged) expected %s actual %s" % (
                    hid, email, fmt_pairs(wanted), fmt_pairs(actual)))
            # 2: nothing held without an eligible record wanting it, unless unjudged and held before
            checks += 1
            extra = actual - wanted - (prev_held.get(hid, set()) if not judged else set())
            if extra:
                errors.append("invariant 2: h%d %s (%s) holds %s: no eligible record wants it%s" % (
                    hid, email, "judged" if judged else "unjudged", fmt_pairs(extra),
                    "" if judged else " and it was not held the night before"))
            # 3: eligible in the same mapped unit two nights running: never lost in between
            if want_prev is not None:
                for u in sorted(elig_units & want_prev[hid][2]):
                    checks += 1
                    lu = p.mapped[u]
                    ids = uid_of.get(email.lower(), set()) | {email.lower()}
                    if any((lu, i) in unassigns for i in ids):
                        errors.append("invariant 3: h%d %s eligible in %s (%s) on nights %d and %d, "
                                      "but delta.csv UNASSIGNs it" % (hid, email, u, lu, k - 1, k))
                    if lu not in actual:
                        errors.append("invariant 3: h%d %s eligible in %s (%s) on nights %d and %d, "
                                      "but does not hold it after the load" % (hid, email, u, lu, k - 1, k))
        if errors:
            (known_bad if seed in known else bad_props).append(seed)
            out = []
            out.append("%s: seed %d, night %d (as-of %s), property %s%s:" % (
                "KNOWN FAILURE" if seed in known else "FAIL", seed, k, date, p.prop,
                " (%s)" % known[seed] if seed in known else ""))
            for e in errors:
                out.append("  " + e)
            out.append("  records tonight:")
            for r in p.nights[k][1]:
                out.append("    %s %s h%d %s %s in=%s out=%s %s%s" % (
                    r["pms_unit_id"], r["pms_person_id"], r["_hid"], r["status"], r["email"],
                    r["move_in"], r["move_out"] or "-",
                    p.mapped.get(r["pms_unit_id"], "unmapped"), ""))
            for j in range(k + 1):
                out.append("  events night %d: %s" % (j, "; ".join(p.nights[j][2])))
            out.append("  rerun: " + rerun.replace("{seed}", str(seed)))
            print("\n".join(out))
            if seed in known:
                known_out.extend(out)
    with open(os.path.join(d, "held%d.json" % k), "w") as f:
        json.dump(held_out, f)
    summary = "night %d: %d properties, %d checks, %d failing, %d known failures%s" % (
        k, len(seeds), checks, len(bad_props), len(known_bad),
        (" (seeds %s)" % " ".join(map(str, known_bad))) if known_bad else "")
    print(summary)
    with open(os.path.join(d, "summary%d" % k), "w") as f:
        f.write(summary + "\n" + "".join(line + "\n" for line in known_out))
    with open(os.path.join(d, "checks"), "a") as f:
        f.write("%d\n" % checks)
    return 1 if bad_props else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        return cmd_gen(sys.argv[2], seeds_from(sys.argv[3:])) or 0
    if len(sys.argv) >= 7 and sys.argv[1] == "check":
        d, k, run_dir, state, rerun = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
        seeds = seeds_from(open(os.path.join(d, "seeds")).read().split())
        known = {}
        for line in os.environ.get("INVARIANT_KNOWN", "").splitlines():
            if line.strip():
                s, _, why = line.strip().partition(" ")
                known[int(s)] = why
        return cmd_check(d, k, run_dir, state, rerun, seeds, known)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
