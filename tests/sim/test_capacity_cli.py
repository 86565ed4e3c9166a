#!/usr/bin/env python3
"""`headroom capacity` with the grid criterion and contingencies, from the
command line: trials.csv names the failed criteria consistently with its own
figures (ok exactly when nothing failed; `ramp` exactly when the base run's
ramp violation time is over the tolerance, rises and falls alike or rises
only; contingency runs only after a passing base run), the tolerance moves
the answer, and bad contingency files and options are refused naming the
file, line and field."""
import csv
import json
import os
import subprocess
import tempfile

BIN = os.environ.get("HR_BIN", "build/headroom")
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCEN = os.path.join(SRC, "tests/sim/data/tiny.yaml")
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what)


def cap(*args):
    return subprocess.run([BIN, "capacity", SCEN, "--quiet", *args], capture_output=True,
                          text=True, timeout=600)


def trials(d):
    with open(os.path.join(d, "trials.csv")) as f:
        return list(csv.DictReader(f))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        cont = os.path.join(tmp, "c.yaml")
        with open(cont, "w") as f:
            # the rack's 16 GPUs draw 4.8 kW (300 W) to 11.2 kW (700 W): a 4-kW
            # generator is over its rating throughout (after the restart) and trips after 5 s
            f.write("version: 1\ncontingencies:\n"
                    "  - {kind: utility_outage, at_s: 12, duration_s: 7, gen_kw: 4, "
                    "ramp_kw_per_s: 100}\n")
        for tol, rises in (("0.1", False), ("0.1", True), ("1e9", False)):
            d = os.path.join(tmp, "r%s%d" % (tol, rises))
            args = ["--policy", "none,headroom", "--report", d, "--contingency", cont,
                    "--max-ramp-viol-s", tol, "--max-osc-viol-s", "1e9", "--step", "2"]
            if rises:
                args.append("--ramp-rises-only")
            r = cap(*args)
            check(r.returncode == 0, "capacity %s: %d %s" % (args, r.returncode, r.stderr))
            if r.returncode:
                continue
            for t in trials(d):
                failed = set(t["failed"].split("+")) - {"-"}
                check((t["ok"] == "1") == (not failed), "ok and failed disagree: %s" % t)
                ramp = float(t["ramp_up_s"]) if rises else float(t["ramp_viol_s"])
                check(("ramp" in failed) == (ramp > float(tol)), "ramp verdict: %s" % t)
                check(abs(float(t["ramp_up_s"]) + float(t["ramp_down_s"]) -
                          float(t["ramp_viol_s"])) < 2e-3, "rises + falls != total: %s" % t)
                base_ok = not (failed - {"contingency"})
                check((int(t["cont_run"]) == 1) == base_ok, "contingency run iff base ok: %s" % t)
                # the outage ends within the run: not lengthened, and judged on its
                # heaviest minute while the run ends within two minutes of its start
                if int(t["cont_run"]):
                    check(float(t["cont_t_s"]) == 20.0, "outage run not lengthened: %s" % t)
                check(("contingency" in failed) == (int(t["cont_trips"]) > 0 or
                                                    float(t["cont_max_sustain"] or 0) >= 1),
                      "contingency verdict: %s" % t)
                if "contingency" in failed:
                    check(t["cont_failed"].startswith("utility_outage 4 kW"), t["cont_failed"])
            with open(os.path.join(d, "capacity.csv")) as f:
                rows = list(csv.DictReader(f))
            check(all(r["contingencies"] == "1" and r["grid_limits"] == "1" for r in rows),
                  "capacity.csv: %s" % rows)
        # The generator fails the full rack, which hosts all 16 without it.
        j = [json.loads(x) for x in cap("--policy", "none", "--json", "--step", "2",
                                        "--max-osc-viol-s", "1e9", "--no-grid-limits",
                                        "--contingency", cont).stdout.splitlines()]
        k = [json.loads(x) for x in cap("--policy", "none", "--json", "--step", "2",
                                        "--no-grid-limits").stdout.splitlines()]
        check(j and k and j[0]["contingencies"] == 1 and k[0]["contingencies"] == 0,
              "json: %s %s" % (j, k))
        if j and k:
            check(j[0]["gpus"] < k[0]["gpus"] == 16, "contingency moves the answer: %s %s" % (j, k))
        # Refusals name file, line and field.
        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("version: 1\ncontingencies:\n  - {kind: feed_loss, at_s: 1}\n")
        r = cap("--contingency", bad)
        check(r.returncode == 2 and "bad.yaml:3" in r.stderr and "contingencies[0]" in r.stderr,
              "bad contingency: %d %s" % (r.returncode, r.stderr))
        late = os.path.join(tmp, "late.yaml")
        with open(late, "w") as f:
            f.write("version: 1\ncontingencies:\n  - {kind: telemetry_loss, at_s: 500}\n")
        r = cap("--contingency", late, "--policy", "none")
        check(r.returncode == 2 and "contingencies[].at_s" in r.stderr,
              "late contingency: %d %s" % (r.returncode, r.stderr))
        r = cap("--max-ramp-viol-s", "-1")
        check(r.returncode == 2, "negative tolerance: %d" % r.returncode)
        # The papers' own criteria: `capped` exactly when the base run's capped
        # time is over the limit, and the limits in capacity.csv.
        for pol, pct in (("static70", "50"), ("headroom", "1")):
            d = os.path.join(tmp, "capped-" + pol)
            r = cap("--policy", pol, "--report", d, "--step", "2", "--no-grid-limits",
                    "--max-loss-pct", "99", "--max-capped-pct", pct, "--max-tbt-p99-ms", "50")
            check(r.returncode == 0, "capacity --max-capped-pct: %d %s" % (r.returncode, r.stderr))
            if r.returncode:
                continue
            for t in trials(d):
                failed = set(t["failed"].split("+")) - {"-"}
                check(("capped" in failed) == (100 * float(t["capped_frac"]) > float(pct)),
                      "capped verdict: %s" % t)
                check("slo" not in failed, "no inference, no SLO to fail: %s" % t)
            with open(os.path.join(d, "capacity.csv")) as f:
                rows = list(csv.DictReader(f))
            check(rows and float(rows[0]["max_capped_pct"]) == float(pct) and
                  float(rows[0]["max_tbt_p99_ms"]) == 50 and float(rows[0]["max_ttft_p99_s"]) == 0,
                  "capacity.csv criteria: %s" % rows)
        # --scan: every count tried; the answer, the largest passing count and
        # the failing counts below it agree with trials.csv, and the note is
        # printed exactly when the pattern is not monotone.
        d = os.path.join(tmp, "scan")
        r = cap("--policy", "none,headroom", "--report", d, "--step", "2", "--scan",
                "--max-osc-viol-s", "1e9")
        check(r.returncode == 0, "capacity --scan: %d %s" % (r.returncode, r.stderr))
        if r.returncode == 0:
            ts = trials(d)
            with open(os.path.join(d, "capacity.csv")) as f:
                rows = list(csv.DictReader(f))
            for row in rows:
                mine = sorted((int(t["gpus"]), t["ok"] == "1") for t in ts
                              if t["policy"] == row["policy"])
                check([g for g, _ in mine] == list(range(2, 17, 2)), "scan counts: %s" % mine)
                prefix = 0
                for g, ok in mine:
                    if not ok:
                        break
                    prefix = g
                top = max([g for g, ok in mine if ok], default=0)
                below = sum(1 for g, ok in mine if not ok and g < top)
                check(row["scan"] == "1" and int(row["gpus"]) == prefix and
                      int(row["gpus_max_pass"]) == top and int(row["fails_below"]) == below and
                      row["monotone"] == ("0" if below else "1"), "scan row: %s %s" % (row, mine))
                note = "%s: note: pass/fail is not monotone" % row["policy"]
                check((note in r.stderr) == (below > 0), "scan note: %s" % r.stderr)
        j = [json.loads(x) for x in cap("--policy", "none", "--json", "--step", "2", "--hi", "4",
                                        "--scan").stdout.splitlines()]
        check(j and j[0]["scan"] is True and j[0]["monotone"] in (True, False),
              "scan json: %s" % j)
        j = [json.loads(x) for x in cap("--policy", "none", "--json", "--step", "2", "--hi", "4"
                                        ).stdout.splitlines()]
        check(j and j[0]["scan"] is False and j[0]["monotone"] is None, "bisection json: %s" % j)
        for bad_opt in (("--max-capped-pct", "101"), ("--max-ttft-p99-s", "0"),
                        ("--max-tbt-p99-ms", "-5"), ("--max-over-cont-s", "-1"),
                        ("--cont-settle", "-1"), ("--cont-max-s", "0")):
            r = cap(*bad_opt)
            check(r.returncode == 2 and bad_opt[0] in r.stderr,
                  "refused %s: %d %s" % (bad_opt, r.returncode, r.stderr))
    if fails:
        raise SystemExit("%d checks failed" % len(fails))
    print("ok")


if __name__ == "__main__":
    main()
