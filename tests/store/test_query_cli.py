"""headroom meter --store and headroom query end to end: a generated dip
measured into a real SQLite store, read back.  Every interval record the
meter printed comes back as one 200-ms row with the same time and values
(to the 9 digits both print), every event record as one event; --from/--to
select a sub-range (RFC 3339 and ns give the same rows); --csv has a header
and the same rows; an unknown device, a missing store (not created) and a
bad option fail with their exit codes; the 3-s roll-ups the meter's
closing maintenance made are the RMS of their 200-ms rows.

With HR_STORE_TARGET set (tests/store/pg_server.sh), the same against that
PostgreSQL database instead of a file; there, a database without the store's
tables is refused and left as it was, and a missing database fails."""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

HR = os.environ.get("HR_BIN", "build/headroom")
PG = os.environ.get("HR_STORE_TARGET")
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what)


def run(*args, data=None):
    p = subprocess.run([HR, *args], input=data, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def psql(sql):
    """Runs sql on the PostgreSQL target; its rows as text."""
    p = subprocess.run(["psql", PG, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"psql {sql}: {p.stderr.decode()}")
    return p.stdout.decode()


STORE_TABLES = "device, measurement, event, capture, meta"


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-8 * max(1.0, abs(a))


with tempfile.TemporaryDirectory() as d:
    db = PG or os.path.join(d, "m.db")
    if PG:
        psql(f"set client_min_messages = warning; drop table if exists {STORE_TABLES}")
    wave = subprocess.run([HR, "gen", "dip", "--seconds", "7"], capture_output=True,
                          timeout=60).stdout
    rc, out, err = run("meter", "--store", db, "--device-id", "rack-1", "--records",
                       "interval,event", data=wave)
    check(rc == 0 and "stored" in err, f"meter --store: {rc} {err}")
    recs = [json.loads(x) for x in out.splitlines()]
    iv = [r for r in recs if r["type"] == "interval"]
    ev = [r for r in recs if r["type"] == "event"]
    check(len(iv) >= 14 and len(ev) >= 2, f"{len(iv)} intervals, {len(ev)} events")

    rc, out, err = run("query", db, "--device", "rack-1")
    rows = [json.loads(x) for x in out.splitlines()]
    check(rc == 0 and len(rows) == len(iv), f"query: {rc} {len(rows)} rows for {len(iv)} {err}")
    for a, b in zip(iv, rows):
        ok = a["t_ns"] == b["t_ns"] and a["dur_ns"] == b["dur_ns"] and \
            close(a["p_total_w"], b["p_total_w"]) and close(a["freq_hz"], b["freq_hz"]) and \
            all(close(x, y) for x, y in zip(a["u_rms_v"], b["u_rms_v"])) and \
            all(close(x, y) for x, y in zip(a["i_rms_a"], b["i_rms_a"]))
        if not ok:
            check(False, f"row {b} vs record {a}")
            break

    rc, out, err = run("query", db, "--device", "rack-1", "--events")
    got = [json.loads(x) for x in out.splitlines()]
    check(rc == 0 and len(got) == len(ev), f"--events: {len(got)} for {len(ev)} {err}")
    dips = [e for e in got if e["type"] == "dip" and e["ended"] == 1]
    check(len(dips) == 1 and 29.0 < dips[0]["depth_pct"] < 31.0 and
          abs(dips[0]["duration_ns"] / 1e9 - 0.5) < 0.03, f"the dip: {dips}")

    # A sub-range, written both ways.
    t0, t1 = iv[3]["t_ns"], iv[9]["t_ns"]
    rc1, a, _ = run("query", db, "--device", "rack-1", "--from", str(t0), "--to", str(t1))
    rc2, b, _ = run("query", db, "--device", "rack-1", "--from", iv[3]["t"], "--to", iv[9]["t"])
    sub = [json.loads(x)["t_ns"] for x in a.splitlines()]
    check(rc1 == 0 and rc2 == 0 and a == b and sub == [r["t_ns"] for r in iv[3:9]],
          f"--from/--to: {sub}")

    rc, out, err = run("query", db, "--device", "rack-1", "--csv")
    table = list(csv.DictReader(io.StringIO(out)))
    check(rc == 0 and len(table) == len(iv) and
          all(int(r["t_ns"]) == x["t_ns"] and close(float(r["p_total_w"]), x["p_total_w"])
              for r, x in zip(table, iv)), f"--csv: {rc} {len(table)}")

    # The meter ran the store's maintenance at the stream's end: the two
    # complete 3-s buckets, each the RMS of its 200-ms rows.
    rc, out, err = run("query", db, "--device", "rack-1", "--res", "3s")
    r3 = [json.loads(x) for x in out.splitlines()]
    check(rc == 0 and [r["t_ns"] for r in r3] == [0, 3000000000], f"--res 3s: {r3} {err}")
    for b in r3:
        inside = [r for r in iv if b["t_ns"] <= r["t_ns"] < b["t_ns"] + 3000000000]
        ref = (sum(r["u_rms_v"][1] ** 2 for r in inside) / len(inside)) ** 0.5
        check(abs(b["u_rms_v"][1] / ref - 1) < 2e-3, f"3-s bucket {b['t']}: {b['u_rms_v'][1]} "
              f"vs the RMS of its {len(inside)} rows {ref}")

    rc, out, err = run("query", db, "--device", "rack-2")
    check(rc == 1 and "no device 'rack-2'" in err and out == "", f"unknown device: {rc} {err}")
    if PG:
        # A database without the store's tables is refused, and a query
        # creates nothing there; a database that is not there fails.
        psql(f"drop table {STORE_TABLES}; create table t(x int)")
        before = psql("select count(*) from pg_tables where schemaname = current_schema()")
        rc, _, err = run("query", PG, "--device", "x")
        after = psql("select count(*) from pg_tables where schemaname = current_schema()")
        check(rc == 1 and "not a headroom store" in err and before == after == "1\n",
              f"another program's database: {rc} {err} {before!r} {after!r}")
        rc, _, err = run("query", PG.replace("dbname=postgres", "dbname=no_such_db"), "--device",
                         "x")
        check(rc == 1 and "no_such_db" in err, f"missing database: {rc} {err}")
        psql("drop table t")
    else:
        missing = os.path.join(d, "none.db")
        rc, _, err = run("query", missing, "--device", "x")
        check(rc == 1 and not os.path.exists(missing), f"missing store: {rc} {err}")
        # Another program's SQLite file is refused and left as it was (a query
        # opens read-only and creates nothing).
        import sqlite3
        other = os.path.join(d, "other.db")
        con = sqlite3.connect(other)
        con.execute("create table t(x)")
        con.commit()
        con.close()
        before = open(other, "rb").read()
        rc, _, err = run("query", other, "--device", "x")
        check(rc == 1 and "not a headroom store" in err and open(other, "rb").read() == before,
              f"another program's database: {rc} {err}")
    rc, _, err = run("query", db, "--device", "rack-1", "--res", "1h")
    check(rc == 2 and "--res" in err and "10min" in err, f"--res 1h: {rc} {err}")
    rc, _, err = run("query", db, "--device", "rack-1", "--from", "yesterday")
    check(rc == 2 and "--from" in err, f"--from yesterday: {rc} {err}")
    rc, _, err = run("query", db)
    check(rc == 2 and "--device" in err, f"no --device: {rc} {err}")

if fails:
    print(f"query: {len(fails)} failed")
    sys.exit(1)
print("query: ok" + (" (PostgreSQL)" if PG else " (SQLite)"))
