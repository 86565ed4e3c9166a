#!/usr/bin/env python3
"""The site's ramp limit with supplies whose efficiency falls with load
(docs/loop.md, "Supply limit"; lease.h budget.eff_ramp).

A rack of two 8-GPU servers under a site whose ramp limit is 8 kW/s over
1 s; 16 GPUs of synchronous training (700 W compute, 300 W communication,
1.6-s iterations, so that a 1-s window spans a phase change) under the
default `headroom` policy.  The supplies' efficiency falls from 0.96 at 40 %
load to 0.85 at full load: a communication phase draws 4.8 kW of GPUs at
0.955 (5.03 kW in), a compute phase 11.2 kW at 0.85 (13.18 kW in), a rise of
8.15 kW against 8.  Told the lowest efficiency alone, the caps' envelope
lets the GPUs' watts rise by 0.85 x 8 kW = 6.8 kW from 4.8, which lets the
whole compute phase through and the input rises by 8.15 kW.  A watt more of
output costs 1 / (eff^2 / (eff - x eff'(x))) of input, 1 / 0.699 at full
load on this curve: told that lowest marginal efficiency (the default: the
curve's), the envelope lets the GPUs rise by 0.699 x 8 kW and the input's
rise stays within 8 kW.

Checked against the grid's own definition, |P(t) - P(t - 1 s)| (docs/grid.md),
on the time series: told the curve's marginal efficiency, no rise above
8 kW and 0 s of ramp violation, work at least 0.97; told a flat efficiency
(budget_eff_ramp = 0.85) the rise exceeds 8 kW (what the setting buys);
with a flat curve (0.9 everywhere) the marginal efficiency is 0.9 and the
run is the one with budget_eff_ramp 0.9 written out, byte for byte.  A
steady load is not cut: 16 GPUs of batch work at 600 W under a 1-kW/s
limit on the same curve reach their full 9.6 kW and hold it (an earlier
form of the bound charged the curve's spread on the whole draw even when
it did not move, and held such a load near ramp x eff / (1 - eff /
eff_max) - base, 7.4 kW here).  Then a base that follows the GPUs at once
(base_busy_w 1200 W a server, no lag, flat 0.9): its rise comes with
theirs (1200 / 5600 W a watt), and the envelope's rise is the ramp /
(1 + 0.214); the site rises at most 8 kW (+0.1 %: the agent sees the lowest
draw at its decisions, 1.8 W over at the end of the start ramp).  The build
before rose 9.3 kW (14.9 s over the limit).

About 3 s."""
import os
import tempfile

import numpy as np

import simrun
from simrun import check, rise_1s_w, run, site_tree, write

SCEN = """version: 1
name: ramp-eff
tree: tree.yaml
duration_s: 30
step_ms: 1
gpus: 16
SUPPLY
workloads:
  - {kind: training, gpus: [0, 16], period_s: 1.6, compute_frac: 0.7, compute_w: 700,
     comm_w: 300, start_s: 0, ramp_s: 5}
"""
CURVE = "[[0.4, 0.96], [1.0, 0.85]]"
RAMP_W = 8000.0


def main():
    with tempfile.TemporaryDirectory() as tmp:
        write(tmp, "tree.yaml", site_tree(2, "{max_ramp_kw_per_s: 8, ramp_window_s: 1}"))

        def go(tag, supply):
            d = run(tmp, tag, write(tmp, tag + ".yaml", SCEN.replace("SUPPLY", supply)),
                    "headroom")
            r = rise_1s_w(d)
            print("%-10s rise %.1f W in 1 s (limit %.0f), ramp violation %.3f s, work %.4f"
                  % (tag, r, RAMP_W, d["ramp_viol_s"], d["work_frac"]))
            return d, r

        d, r = go("curve", "supply: {efficiency: %s}" % CURVE)
        check(r <= RAMP_W * 1.0001, "told the curve's marginal efficiency: the site rose %.1f W "
              "in 1 s" % r)
        check(d["ramp_viol_s"] == 0.0, "told the curve's marginal efficiency: %.3f s over the "
              "ramp limit" % d["ramp_viol_s"])
        check(d["work_frac"] >= 0.97 and d["trips"] == 0, "told the curve's marginal efficiency: "
              "work %.4f, trips %d" % (d["work_frac"], d["trips"]))
        d, r = go("flat-told", "supply: {efficiency: %s, budget_eff_ramp: 0.85}" % CURVE)
        check(r > RAMP_W * 1.01, "told a flat 0.85: the site rose only %.1f W (the case does not "
              "test what the marginal efficiency buys)" % r)
        # A steady load under a slow limit is not cut: it reaches its demand
        # and holds it (the input at 9.6 kW of GPUs, 4.8 kW a server at load
        # fraction 0.857 on the curve).
        write(tmp, "tree1.yaml", site_tree(2, "{max_ramp_kw_per_s: 1, ramp_window_s: 1}"))
        st = write(tmp, "steady.yaml", SCEN.replace("tree.yaml", "tree1.yaml").replace(
            "duration_s: 30", "duration_s: 60").replace("SUPPLY", "supply: {efficiency: %s}" % CURVE)
            .replace("{kind: training, gpus: [0, 16], period_s: 1.6, compute_frac: 0.7, "
                     "compute_w: 700,\n     comm_w: 300, start_s: 0, ramp_s: 5}",
                     "{kind: batch, gpus: [0, 16], power_w: 600}"))
        d = run(tmp, "steady", st, "headroom")
        ts = np.genfromtxt(os.path.join(d["dir"], "timeseries.csv"), delimiter=",", names=True,
                           dtype=None, encoding=None)
        late = ts["site_p_w"][ts["t_s"] >= 40.0]
        x = 4800.0 / 5600.0
        want = 9600.0 / np.interp(x, [0.4, 1.0], [0.96, 0.85])
        print("steady    site %.1f..%.1f W from 40 s (the full load's input %.1f W), work %.4f"
              % (late.min(), late.max(), want, d["work_frac"]))
        check(abs(late.min() - want) <= 0.001 * want and abs(late.max() - want) <= 0.001 * want,
              "a steady load under a slow ramp limit is held at %.1f..%.1f W of its %.1f W"
              % (late.min(), late.max(), want))
        # A base that follows the GPUs at once (300 W at idle, 1.5 kW at full
        # load a server): each watt of theirs brings 1200 / 5600 W more, and
        # the envelope's rise is the ramp / (1 + that).
        d, r = go("moving", "supply: {base_w: 300, base_busy_w: 1200, efficiency: 0.9}")
        check(r <= RAMP_W * 1.001, "a base following the GPUs: the site rose %.1f W in 1 s" % r)
        check(d["work_frac"] >= 0.98 and d["trips"] == 0,
              "a base following the GPUs: work %.4f, trips %d" % (d["work_frac"], d["trips"]))
        a, _ = go("flat", "supply: {efficiency: 0.9}")
        b, _ = go("flat-ramp", "supply: {efficiency: 0.9, budget_eff_ramp: 0.9}")
        for f in ("timeseries.csv", "nodes.csv"):
            with open(os.path.join(a["dir"], f)) as x, open(os.path.join(b["dir"], f)) as y:
                check(x.read() == y.read(), "a flat curve's marginal efficiency is not its "
                      "efficiency: %s differs" % f)
    simrun.finish()


if __name__ == "__main__":
    main()
