#!/usr/bin/env python3
"""Servers' base loads and supply losses in the simulator and the lease
budgets (docs/sim.md, "Base load and supply losses"), against an independent
computation with NumPy.

1. Physics (policy none, constant loads): two servers of a rack at different
   loads, so at different points of the efficiency and power-factor curves.
   Each server's input must be (GPUs + base) / eff(x), x = (GPUs + base) /
   (base + its GPUs' highest draw), eff and PF from numpy.interp of the
   curves (held beyond their ends); its apparent power input / PF(x); the
   rack's and the site's the phasor sum; the site's highest power and the
   energy the sum of the inputs (the site draws more than its GPUs).  Then a
   dual-corded server, whose two sides' supplies each run at half its load
   (each at the efficiency of half the load fraction) while both feeds are
   up, and the survivor at all of it after a feed loss; the same with four
   supplies sharing the load (psus, psu_w), and three on one cord; an odd
   count on a dual-corded server refused.  A base that moves with the
   work (base_busy_w, base_tau_s) against the lag's closed form, and told
   its idle part alone the budgets trip the rack ("moving").
2. base_w 0 and efficiency 1 written out change nothing: every output file
   equals the run without them, byte for byte.
3. Safety at the limit: a 16-A rack breaker (pickup 16 A) at 415 V under 16
   GPUs that want 700 W each (11.2 kW, 15.6 A: within the pickup at the
   GPUs' watts) on two servers with 1.5 kW of base each, at 85-94 %
   efficiency (15.4 kW at the breaker, 21.4 A), under the default
   `headroom` policy for 10 minutes.  Told the base load and the efficiency
   (the defaults), no trip and thermal state below 0.95; told neither, or
   only one of them, the policy grants what it takes for safe and the
   simulator's breaker trips: the test fails if the physics ignores the
   base or the losses, or if the budgets ignore what they are told.
   Dynamo, POLCA and Thunderbolt, told, do not trip either.  On the
   waveform path with the rack metered the agent's image follows the
   breaker's true current and its budgets compare the meter's watts with
   the conductors' limits: no trip, told or not (where metering pays).

About 10 s on two cores."""
import csv
import json
import math
import os
import subprocess
import tempfile

import numpy as np

import simrun
from simrun import TREE_2N, check, finish, rack_tree, run, write

EFF = [[0.1, 0.85], [0.5, 0.94], [1.0, 0.92]]
PF = [[0.1, 0.80], [0.5, 0.95], [1.0, 0.99]]
BASE = 1500.0


def interp(curve, x):
    c = np.array(curve)
    return np.interp(x, c[:, 0], c[:, 1])  # held beyond the ends, as the simulator's


def scenario(tree, supply, work, duration, extra=""):
    return ("version: 1\nname: base\ntree: %s\nduration_s: %g\n%sworkloads:\n%s%s"
            % (tree, duration, supply, work, extra))


def physics(tmp):
    write(tmp, "tree-63.yaml", rack_tree(63))
    work = ("  - {kind: batch, gpus: [0, 8], power_w: 600}\n"
            "  - {kind: batch, gpus: [8, 16], power_w: 150}\n")
    sup = "supply: {base_w: %g, efficiency: %s, pf: %s}\n" % (BASE, json.dumps(EFF), json.dumps(PF))
    d = run(tmp, "phys", write(tmp, "phys.yaml", scenario("tree-63.yaml", sup, work, 40)), "none")
    n = d["nodes"]
    gpus = np.array([8 * 600.0, 8 * 150.0])
    x = (gpus + BASE) / (BASE + 8 * 700.0)
    p_in = (gpus + BASE) / interp(EFF, x)
    pf = interp(PF, x)
    q = p_in * np.tan(np.arccos(pf))
    s_rack = math.hypot(p_in.sum(), q.sum())
    got_p = np.array([float(n["s0"]["max_kw"]), float(n["s1"]["max_kw"])]) * 1e3
    got_s = np.array([float(n["s0"]["max_kva"]), float(n["s1"]["max_kva"])]) * 1e3
    print("servers: GPUs %s W, load %s, eff %s, input %s W (simulator %s), S %s VA (simulator %s)"
          % (gpus, x.round(4), interp(EFF, x).round(4), p_in.round(1), got_p, (p_in / pf).round(1),
             got_s))
    tol = 1.0  # nodes.csv prints kW to 3 decimals
    for k in range(2):
        check(abs(got_p[k] - p_in[k]) <= tol, "s%d: %.1f W, want %.1f" % (k, got_p[k], p_in[k]))
        check(abs(got_s[k] - p_in[k] / pf[k]) <= tol,
              "s%d: %.1f VA, want %.1f" % (k, got_s[k], p_in[k] / pf[k]))
    got_rack = float(n["rack"]["max_kva"]) * 1e3
    check(abs(got_rack - s_rack) <= tol, "rack: %.1f VA, want %.1f" % (got_rack, s_rack))
    check(abs(float(n["rack"]["max_kw"]) * 1e3 - p_in.sum()) <= tol, "rack's real power")
    check(abs(d["max_site_kw"] * 1e3 - p_in.sum()) <= tol,
          "site: %.1f W, want %.1f" % (d["max_site_kw"] * 1e3, p_in.sum()))
    # the site draws the inputs: its power in timeseries.csv, and the energy
    with open(os.path.join(d["dir"], "timeseries.csv")) as f:
        rows = [r for r in csv.DictReader(f) if float(r["t_s"]) >= 1.0]
    site = np.array([float(r["site_p_w"]) for r in rows])
    check(np.all(np.abs(site - p_in.sum()) <= 0.1),
          "timeseries site_p_w %s, want %.1f" % (site.min(), p_in.sum()))
    # every GPU ramps from idle at 80 W/ms: under 10 ms of 40 s (the energy
    # is printed to 0.1 Wh, 0.1 % of it)
    e_want = p_in.sum() * 40 / 3.6e6
    print("energy %.6f kWh (the inputs' %.6f; the GPUs' alone %.6f)"
          % (d["energy_kwh"], e_want, gpus.sum() * 40 / 3.6e6))
    check(abs(d["energy_kwh"] - e_want) <= 0.002 * e_want, "energy %.6f kWh" % d["energy_kwh"])

    # base 0 and efficiency 1 written out: the run without them
    a = run(tmp, "b0", write(tmp, "b0.yaml", scenario("tree-63.yaml",
                                                      "supply: {base_w: 0, efficiency: 1}\n",
                                                      work, 2)), "headroom")
    b = run(tmp, "none", write(tmp, "none.yaml", scenario("tree-63.yaml", "", work, 2)), "headroom")
    for f in ("timeseries.csv", "nodes.csv"):
        with open(os.path.join(a["dir"], f)) as x1, open(os.path.join(b["dir"], f)) as y1:
            check(x1.read() == y1.read(), "base 0, efficiency 1 changes %s" % f)


def dual_corded(tmp):
    write(tmp, "tree-2n.yaml", TREE_2N)
    work = "  - {kind: batch, gpus: [0, 8], power_w: 500}\n"
    sup = "supply: {base_w: 1000, efficiency: %s}\n" % json.dumps(EFF)
    out_w = 8 * 500.0 + 1000.0
    x = out_w / (1000.0 + 8 * 700.0)
    for tag, ev, side, want in (
            ("2n", "", "pdu-b", 0.5 * out_w / interp(EFF, 0.5 * x)),
            ("2n-lost", "events:\n  - {kind: feed_loss, feed: b, at_s: 1}\n", "pdu-a",
             out_w / interp(EFF, x))):
        d = run(tmp, tag, write(tmp, tag + ".yaml", scenario("tree-2n.yaml", sup, work, 2, ev)),
                "none")
        got = float(d["nodes"][side]["max_kw"]) * 1e3
        print("%s: %s %.1f W (want %.1f)" % (tag, side, got, want))
        check(abs(got - want) <= 1.0, "%s: %s %.1f W, want %.1f" % (tag, side, got, want))
    # Four 2.2-kW supplies sharing the load, two on each cord: each at
    # out / 8.8 kW while both feeds are up, at out / 4.4 kW on one (the
    # default sizes each cord's for the whole server, 6.6 kW: the supplies
    # run at other points of the curve and the inputs differ).
    sup = "supply: {base_w: 1000, efficiency: %s, psus: 4, psu_w: 2200}\n" % json.dumps(EFF)
    for tag, ev, side, want in (
            ("2n-psus", "", "pdu-b", 0.5 * out_w / interp(EFF, out_w / 8800.0)),
            ("2n-psus-lost", "events:\n  - {kind: feed_loss, feed: b, at_s: 1}\n", "pdu-a",
             out_w / interp(EFF, out_w / 4400.0))):
        d = run(tmp, tag, write(tmp, tag + ".yaml", scenario("tree-2n.yaml", sup, work, 2, ev)),
                "none")
        got = float(d["nodes"][side]["max_kw"]) * 1e3
        print("%s: %s %.1f W (want %.1f)" % (tag, side, got, want))
        check(abs(got - want) <= 1.0, "%s: %s %.1f W, want %.1f" % (tag, side, got, want))
    # one supply on a single-corded server: the whole output on it
    write(tmp, "tree-63.yaml", rack_tree(63))
    d = run(tmp, "psus1", write(tmp, "psus1.yaml", scenario(
        "tree-63.yaml", "supply: {base_w: 1000, efficiency: %s, psus: 3, psu_w: 3000}\n"
        % json.dumps(EFF), work, 2)), "none")
    want = out_w / interp(EFF, out_w / 9000.0)
    got = float(d["nodes"]["s0"]["max_kw"]) * 1e3
    print("three 3-kW supplies: s0 %.1f W (want %.1f)" % (got, want))
    check(abs(got - want) <= 1.0, "psus 3: s0 %.1f W, want %.1f" % (got, want))
    # an odd count on a dual-corded server is refused, naming the field
    r = subprocess.run([simrun.BIN, "sim", write(tmp, "odd.yaml", scenario(
        "tree-2n.yaml", "supply: {psus: 3, psu_w: 3000}\n", work, 2)), "--policy", "none",
        "--report", os.path.join(tmp, "odd"), "--quiet"], capture_output=True, text=True)
    check(r.returncode == 2 and "supply.psus" in r.stderr and "'s0'" in r.stderr,
          "odd psus on a dual-corded server: rc %d, %s" % (r.returncode, r.stderr.strip()))


def safety(tmp):
    write(tmp, "tree-16.yaml", rack_tree(16))
    work = "  - {kind: batch, gpus: [0, 16], power_w: 700}\n"
    phys = "base_w: %g, efficiency: %s" % (BASE, json.dumps(EFF))
    runs = (("told", "headroom", ""), ("untold", "headroom", "budget_base_w: 0, budget_eff: 1, "),
            ("no-base", "headroom", "budget_base_w: 0, "), ("no-eff", "headroom", "budget_eff: 1, "),
            ("dynamo", "dynamo", ""), ("polca", "polca", ""), ("thunderbolt", "thunderbolt", ""),
            ("metered", "headroom", ""), ("metered-untold", "headroom", "budget_base_w: 0, budget_eff: 1, "))
    for tag, pol, told in runs:
        sup = "supply: {%s%s}\n" % (told, phys)
        if tag.startswith("metered"):  # the waveform path, the rack metered
            sup += "waveforms: true\nmetered: [rack]\n"
        d = run(tmp, "s-" + tag, write(tmp, "s-%s.yaml" % tag, scenario("tree-16.yaml", sup, work, 600)),
                pol)
        r = d["nodes"]["rack"]
        with open(os.path.join(d["dir"], "timeseries.csv")) as f:
            rows = [x for x in csv.DictReader(f) if float(x["t_s"]) >= 30]
        # the breaker's current, independently: the site's watts at 415 V
        i_max = max(float(x["site_p_w"]) for x in rows) / (math.sqrt(3) * 415)
        th = float(r["max_thermal"])
        print("%-11s %-12s trips %d (rack at %s s), work %.4f, rack current from 30 s at most "
              "%.2f A (pickup 16 A), max thermal %.4f, clamps %d"
              % (tag, pol, d["trips"], r["trip_t_s"], d["work_frac"], i_max, th, d["lease_clamps"]))
        if tag in ("told", "dynamo", "polca", "thunderbolt") or tag.startswith("metered"):
            check(d["trips"] == 0 and d["lease_clamps"] == 0, "%s: the rack trips or clamps" % tag)
            check(th < 0.95, "%s: the rack's thermal state reaches %.4f" % (tag, th))
        else:
            check(r["tripped"] == "1", "%s: the rack does not trip: the simulator's physics or the "
                  "budgets ignore the base load or the losses" % tag)


def unbalanced(tmp):
    """A three-phase server whose GPUs sit six on phase a, one on b, one on
    c, at 700 W each (4.2 kW on conductor a: 17.5 A at 240 V against a
    16-A LI rack breaker, whose image follows each conductor), with and
    without 3 kW of base (a third on each conductor), 3000 s.  The agent's
    image of the breaker must carry the hottest conductor's current: with
    the balanced share of the total (7.8 A) the policy never cut, the
    breaker reached 0.99 of its trip without a base and tripped at 251 s
    with one."""
    tree = ("version: 1\nnodes:\n"
            "  - {id: rack, kind: rack, parent: null, voltage_v: 415, phases: 3, rating_a: 16,\n"
            "     device: {type: trip_unit, curve: LI, in_a: 16, tr_s: 8, ii: 10}}\n"
            "  - {id: s0, kind: server, parent: rack}\n")
    for g, ph in enumerate("aaaaaabc"):
        tree += ("  - {id: g%d, kind: gpu, parent: s0, phases: 1, phase: %s, rating_w: 700}\n"
                 % (g, ph))
    write(tmp, "tree-unbal.yaml", tree)
    work = "  - {kind: batch, gpus: [0, 8], power_w: 700}\n"
    for base in (0, 3000):
        sup = "supply: {base_w: %d}\n" % base if base else ""
        for pol in ("headroom", "lease-3band"):
            tag = "unbal-%d-%s" % (base, pol)
            d = run(tmp, tag, write(tmp, tag + ".yaml", scenario("tree-unbal.yaml", sup, work, 3000)),
                    pol)
            th = float(d["nodes"]["rack"]["max_thermal"])
            print("unbalanced, base %4d W, %-11s trips %d, work %.4f, max thermal %.4f"
                  % (base, pol, d["trips"], d["work_frac"], th))
            check(d["trips"] == 0 and th < 0.9,
                  "unbalanced, base %d, %s: trips %d, thermal %.4f" % (base, pol, d["trips"], th))


def generator(tmp):
    """scenarios/utility-outage.yaml (256 GPUs on a 90-kW generator that
    takes 30 kW/s) with 800 W of base a server and the efficiency curve:
    the generator's rating and ramp hold the site's input, so the agent's
    envelope on the caps is the rating x eff less the base loads, its ramp
    x eff.  Held in the GPUs' watts at the generator's figures, the site drew
    more than 90 kW for 5 s and the generator tripped."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(root, "scenarios", "utility-outage.yaml")) as f:
        text = f.read().replace("tree: trees/", "tree: %s/" % os.path.join(root, "scenarios", "trees"))
    text += "supply: {base_w: 800, efficiency: %s}\n" % json.dumps(EFF)
    d = run(tmp, "gen", write(tmp, "gen.yaml", text), "headroom")
    print("utility outage, base 800 W: trips %d, generator trips %d, over its rating %.3f s, "
          "work %.4f" % (d["trips"], d["gen_trips"], d["gen_over_s"], d["work_frac"]))
    check(d["trips"] == 0 and d["gen_trips"] == 0 and d["gen_over_s"] < 0.1,
          "utility outage with base loads: trips %d, generator over %.3f s"
          % (d["trips"], d["gen_over_s"]))


def moving(tmp):
    """A base that moves with the work (base_busy_w, base_tau_s): two
    servers of a 63-A rack, s0's eight GPUs idle (70 W) until 10 s, then at
    600 W, s1's idle throughout.  Its base is 400 W plus 1200 W x f, f the GPUs' load fraction
    u = power / (8 x 700 W) through a first-order lag of 20 s; its input
    (GPUs + base) / eff(x), x = (GPUs + base) / (400 + 1200 + 8 x 700).  The
    oracle: f(t) = u1 + (u0 - u1) exp(-(t - 10) / 20) from u0 = 0.1 (s1
    at u0 throughout), the site the sum of the two inputs, the
    continuous response (the GPUs' ramp to 600 W, a few ms, is left out: a
    few tenths of a watt).  Then with no lag (base_tau_s 0) the base steps
    with the load, and base_busy_w 0 written out changes nothing.  Then
    safety at the limit: the 16-A rack of the safety case above, whose 16
    GPUs want 700 W, with 300 W of base at idle and 1200 W more at full
    load (the safety case's 1.5 kW at full load): told the most the base
    draws (the default) no trip; told its idle 300 W, the rack trips."""
    write(tmp, "tree-63.yaml", rack_tree(63))
    work = "  - {kind: batch, gpus: [0, 8], power_w: 600, start_s: 10}\n"
    for tau in (20.0, 0.0):
        sup = ("supply: {base_w: 400, base_busy_w: 1200, base_tau_s: %g, efficiency: %s}\n"
               % (tau, json.dumps(EFF)))
        d = run(tmp, "mv%g" % tau, write(tmp, "mv%g.yaml" % tau,
                                         scenario("tree-63.yaml", sup, work, 80)), "none")
        with open(os.path.join(d["dir"], "timeseries.csv")) as f:
            rows = list(csv.DictReader(f))
        t = np.array([float(r["t_s"]) for r in rows])
        got = np.array([float(r["site_p_w"]) for r in rows])
        keep = (t > 0.5) & (np.abs(t - 10.0) > 0.05)
        t, got = t[keep], got[keep]
        g = np.where(t < 10.0, 8 * 70.0, 8 * 600.0)
        u0, u1 = 8 * 70.0 / 5600.0, 8 * 600.0 / 5600.0
        fr = np.where(t < 10.0, u0,
                      u1 + (u0 - u1) * (np.exp(-(t - 10.0) / tau) if tau > 0 else 0.0))
        out = g + 400.0 + 1200.0 * fr
        idle = 8 * 70.0 + 400.0 + 1200.0 * u0  # s1, idle throughout
        want = (out / interp(EFF, out / (400.0 + 1200.0 + 5600.0))
                + idle / interp(EFF, idle / (400.0 + 1200.0 + 5600.0)))
        err = np.max(np.abs(got - want))
        i63 = np.argmin(np.abs(t - (10.0 + tau))) if tau > 0 else None
        print("moving base, tau %g s: input %.1f W idle, %.1f W at the end (want %.1f, %.1f), "
              "largest error %.3f W%s" % (tau, got[0], got[-1], want[0], want[-1], err,
                                          ", at 10 s + tau %.1f W (want %.1f)" %
                                          (got[i63], want[i63]) if i63 is not None else ""))
        check(err <= 1.0, "moving base, tau %g: the input is %.3f W off the lag's" % (tau, err))
    a = run(tmp, "mv-b0", write(tmp, "mv-b0.yaml", scenario(
        "tree-63.yaml", "supply: {base_w: 400, base_busy_w: 0, base_tau_s: 5}\n", work, 12)), "headroom")
    b = run(tmp, "mv-c", write(tmp, "mv-c.yaml", scenario(
        "tree-63.yaml", "supply: {base_w: 400}\n", work, 12)), "headroom")
    for f in ("timeseries.csv", "nodes.csv"):
        with open(os.path.join(a["dir"], f)) as x1, open(os.path.join(b["dir"], f)) as y1:
            check(x1.read() == y1.read(), "base_busy_w 0 changes %s" % f)

    write(tmp, "tree-16.yaml", rack_tree(16))
    work = "  - {kind: batch, gpus: [0, 16], power_w: 700}\n"
    phys = "base_w: 300, base_busy_w: 1200, base_tau_s: 30, efficiency: %s" % json.dumps(EFF)
    for tag, told in (("told-most", ""), ("told-idle", "budget_base_w: 300, ")):
        sup = "supply: {%s%s}\n" % (told, phys)
        d = run(tmp, "mv-" + tag, write(tmp, "mv-%s.yaml" % tag,
                                        scenario("tree-16.yaml", sup, work, 600)), "headroom")
        r = d["nodes"]["rack"]
        print("moving base, %-9s trips %d (rack at %s s), work %.4f, max thermal %s"
              % (tag, d["trips"], r["trip_t_s"], d["work_frac"], r["max_thermal"]))
        if tag == "told-most":
            check(d["trips"] == 0 and float(r["max_thermal"]) < 0.95,
                  "moving base told its most: trips %d, thermal %s" % (d["trips"], r["max_thermal"]))
        else:
            check(r["tripped"] == "1", "moving base told its idle base: the rack does not trip")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        physics(tmp)
        moving(tmp)
        dual_corded(tmp)
        safety(tmp)
        unbalanced(tmp)
        generator(tmp)
    finish()


if __name__ == "__main__":
    main()
