#!/usr/bin/env python3
"""Regenerates docs/results.md: every scenario under every policy in the
closed-loop simulator (`headroom sim`), and the capacity search
(`headroom capacity`) on the scenarios named with --capacity.

    python3 scripts/results.py [--bin build/headroom] [--out docs/results.md]
                               [--jobs N] [--capacity a.yaml[:c.yaml...],b.yaml]
                               [--quick] [--capacity-duration S]

Each capacity scenario may name contingency files after it, separated by
colons (`sync-restart.yaml:capacity/utility-outage-row.yaml`): its search
must also survive each (`headroom capacity --contingency`).  Every capacity
search runs twice: with the default criterion (no trip, no sustained
overload, <= 1 % loss, the grid's ramp and oscillation limits, the
contingencies: docs/sim.md "Capacity search") and with the earlier one
(`--no-grid-limits --no-contingencies`: trips, sustained load and work only).

--quick runs each scenario for 60 s and searches 2 policies only: a smoke
run of the pipeline, not results to publish (the page says so).
--capacity-duration S simulates each capacity trial for S seconds instead of
the scenario's duration_s (the page says so): on a 2-core machine the full
600-s search of every policy takes about an hour.
Only the standard library: the figures come from the command's CSV files.
"""
import argparse
import csv
import datetime
import glob
import os
import platform
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

POLICIES = ["none", "static70", "static60", "dynamo", "polca", "polca-power", "thunderbolt",
            "headroom", "headroom-flat", "headroom-smooth", "headroom-band", "headroom-admit",
            "lease-3band", "lease-2thr"]
CAP_POLICIES = ["none", "static70", "dynamo", "polca", "thunderbolt", "headroom",
                "headroom-flat"]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run_sim(binary, scen, policy, tmp):
    out = os.path.join(tmp, "%s-%s" % (os.path.basename(scen)[:-5], policy))
    cmd = [binary, "sim", scen, "--policy", policy, "--report", out, "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("results: %s failed (%d): %s" % (" ".join(cmd), r.returncode,
                                                          r.stderr.strip()))
    with open(os.path.join(out, "summary.csv")) as f:
        row = next(csv.DictReader(f))
    with open(os.path.join(out, "nodes.csv")) as f:
        nodes = list(csv.DictReader(f))
    row["max_thermal"] = max((float(n["max_thermal"]) for n in nodes if n["device"] == "1"),
                             default=0.0)
    row["over_cont_s"] = max((float(n["over_cont_s"]) for n in nodes), default=0.0)
    return row


def run_capacity(binary, spec, policies, tmp, duration, old=False):
    """capacity.csv's rows of one search, each with 'next_failed': what failed
    at the smallest count above the answer (trials.csv), '' when none did."""
    parts = spec.split(":")
    scen, conts = parts[0], [c for c in parts[1:] if c]
    out = os.path.join(tmp, "cap-%s%s" % (os.path.basename(scen)[:-5], "-old" if old else ""))
    cmd = [binary, "capacity", scen, "--policy", ",".join(policies), "--report", out, "--quiet"]
    if duration:
        cmd += ["--duration", str(duration)]
    if old:
        cmd += ["--no-grid-limits", "--no-contingencies"]
    elif conts:
        cmd += ["--contingency", ",".join(conts)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("results: %s failed (%d): %s" % (" ".join(cmd), r.returncode,
                                                          r.stderr.strip()))
    with open(os.path.join(out, "capacity.csv")) as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(out, "trials.csv")) as f:
        trials = list(csv.DictReader(f))
    for row in rows:
        above = [t for t in trials if t["policy"] == row["policy"] and
                 int(t["gpus"]) > int(row["gpus"]) and t["ok"] == "0"]
        nxt = min(above, key=lambda t: int(t["gpus"])) if above else None
        row["next_failed"] = ""
        if nxt:
            why = nxt["failed"]
            if nxt["cont_failed"] not in ("", "-"):
                why += " (%s)" % nxt["cont_failed"]
            row["next_failed"] = "%s at %s" % (why, nxt["gpus"])
    return rows


def fmt(v, nd=3):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if x != x:
        return "—"
    return ("%." + str(nd) + "f") % x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/headroom")
    ap.add_argument("--out", default="docs/results.md")
    ap.add_argument("--scenarios", default="scenarios/*.yaml")
    ap.add_argument("--capacity", default="scenarios/sync-restart.yaml")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--capacity-duration", type=float, default=None)
    a = ap.parse_args()
    scens = sorted(glob.glob(a.scenarios))
    if not scens:
        raise SystemExit("results: no scenario matches %s" % a.scenarios)
    caps = [c for c in a.capacity.split(",") if c]
    t0 = datetime.datetime.now(datetime.timezone.utc)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(a.jobs) as ex:
        futs = {(s, p): ex.submit(run_sim, a.bin, s, p, tmp) for s in scens for p in POLICIES}
        cpol = CAP_POLICIES[:2] if a.quick else CAP_POLICIES
        cdur = 60 if a.quick else a.capacity_duration
        cfuts = {c: ex.submit(run_capacity, a.bin, c, cpol, tmp, cdur) for c in caps}
        ofuts = {c: ex.submit(run_capacity, a.bin, c, cpol, tmp, cdur, True) for c in caps}
        rows = {k: f.result() for k, f in futs.items()}
        crow = {c: f.result() for c, f in cfuts.items()}
        orow = {c: {r["policy"]: r for r in f.result()} for c, f in ofuts.items()}
    t1 = datetime.datetime.now(datetime.timezone.utc)

    L = []
    L.append("# Results: policies × scenarios in the closed-loop simulator\n")
    L.append("Regenerated by `python3 scripts/results.py` (`make results`) on %s, %s, %d jobs, "
             "in %.0f s of wall time%s. Every figure below comes from the CSV files of "
             "`headroom sim` and `headroom capacity`; the scenarios are in `scenarios/` and "
             "docs/sim.md defines every metric.\n"
             % (t0.strftime("%Y-%m-%d"), cpu_name(), a.jobs, (t1 - t0).total_seconds(),
                " — **quick mode: 60-s capacity runs, two policies; not results**" if a.quick
                else (" — capacity trials shortened to %g s of each scenario" % a.capacity_duration
                      if a.capacity_duration else "")))
    L.append("## Every scenario under every policy\n")
    L.append("Columns: trips; work done relative to uncapped; highest thermal state of any "
             "protective device (1 trips); longest time any node spent above its continuous "
             "limit; grid ramp and oscillation-band violation time at the site; energy; "
             "control-loop software latency p99; lease post-condition clamps (must be 0); for "
             "inference workloads the time to first token and between tokens, p99.\n")
    for s in scens:
        name = os.path.basename(s)[:-5]
        L.append("### %s\n" % name)
        L.append("| policy | trips | work | max thermal | over cont. s | ramp viol. s | "
                 "osc. viol. s | energy kWh | p99 ms | clamps | TTFT p99 s | TBT p99 ms |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for p in POLICIES:
            r = rows[(s, p)]
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                p, r["trips"], fmt(r["work_frac"], 4), fmt(r["max_thermal"], 3),
                fmt(r["over_cont_s"], 1), fmt(r["ramp_viol_s"], 1), fmt(r["osc_viol_s"], 1),
                fmt(r["energy_kwh"], 2), fmt(r["lat_p99_ms"], 3), r["lease_clamps"],
                fmt(r.get("ttft_p99_s"), 2), fmt(r.get("tbt_p99_ms"), 1)))
        L.append("")
    if crow:
        L.append("## Capacity recovered\n")
        L.append("The largest GPU count each policy hosts with no trip, no sustained overload, at "
                 "most 1 %% throughput loss and within the site's grid ramp and oscillation "
                 "limits (at most %s s over each), surviving the contingencies named "
                 "(bisection over whole servers, servers added round robin over the racks), "
                 "against static derating's count (every GPU at nameplate, every rated node "
                 "loaded to 70 %% of its capacity); `earlier criterion`: the count with trips, "
                 "sustained load and work only (`--no-grid-limits --no-contingencies`); "
                 "`fails next`: what failed at the smallest larger count tried. docs/sim.md, "
                 "\"Capacity search\".\n"
                 % next((r["max_ramp_viol_s"] for cr in crow.values() for r in cr), "0.1"))
        for c, cr in crow.items():
            parts = c.split(":")
            L.append("### %s\n" % os.path.basename(parts[0])[:-5])
            conts = [os.path.basename(x) for x in parts[1:] if x]
            L.append("Contingencies: %s.\n" % (", ".join("`%s`" % x for x in conts)
                                                if conts else "the scenario's own, if any"))
            L.append("| policy | GPUs hosted | static derating | recovered | fails next | "
                     "earlier criterion | trials | simulated s |")
            L.append("|---|---|---|---|---|---|---|---|")
            for r in cr:
                o = orow[c].get(r["policy"], {})
                L.append("| %s | %s%s | %s | %s %% | %s | %s | %s | %s |" % (
                    r["policy"], r["gpus"], "" if r["bracketed"] == "1" else " (not bracketed)",
                    r["gpus_static"], fmt(r["recovered_pct"], 1), r["next_failed"] or "—",
                    o.get("gpus", "—"), r["trials"], fmt(r["duration_s"], 0)))
            L.append("")
    L.append(open(os.path.join(os.path.dirname(__file__), "results_notes.md")).read())
    text = "\n".join(L) + "\n"
    tmp_out = a.out + ".tmp"
    with open(tmp_out, "w") as f:
        f.write(text)
    os.replace(tmp_out, a.out)
    print("results: wrote %s (%d scenarios x %d policies, %d capacity searches) in %.0f s"
          % (a.out, len(scens), len(POLICIES), len(crow), (t1 - t0).total_seconds()))


if __name__ == "__main__":
    sys.exit(main())
