#!/usr/bin/env python3
"""The site's ramp limit with supplies whose efficiency falls with load
(docs/loop.md, "Supply limit"; lease.h budget.eff_max).

A rack of two 8-GPU servers under a site whose ramp limit is 8 kW/s over
1 s; 16 GPUs of synchronous training (700 W compute, 300 W communication,
1.6-s iterations, so that a 1-s window spans a phase change) under the
default `headroom` policy.  The supplies' efficiency falls from 0.96 at 40 %
load to 0.85 at full load: a communication phase draws 4.8 kW of GPUs at
0.955 (5.03 kW in), a compute phase 11.2 kW at 0.85 (13.18 kW in), a rise of
8.15 kW against 8.  Told the lowest efficiency alone, the caps' envelope
lets the GPUs' watts rise by 0.85 x 8 kW = 6.8 kW from 4.8, which lets the
whole compute phase through and the input rises by 8.15 kW; told the
highest too (the default: the curve's), the envelope is k x 4.8 kW + 6.8 kW
with k = 0.85 / 0.96 and the input's rise stays within 8 kW.

Checked against the grid's own definition, |P(t) - P(t - 1 s)| (docs/grid.md),
on the time series: with the curve's highest told, no rise above 8 kW and 0 s
of ramp violation, work at least 0.99; told a flat efficiency
(budget_eff_max = budget_eff) the rise exceeds 8 kW (what the setting buys);
with a flat curve (0.9 everywhere) the told highest equals the lowest and
the run is the one without the setting, byte for byte.  Then a base that
follows the GPUs at once (base_busy_w 1200 W a server, no lag, flat 0.9):
its rise comes with theirs (1200 / 5600 W a watt), and the envelope's rise
is the ramp / (1 + 0.214); the site rises at most 8 kW (+0.1 %: the agent
sees the lowest draw at its decisions, 1.8 W over at the end of the start
ramp).  The build before rose 9.3 kW (14.9 s over the limit).

About 2 s."""
import os
import tempfile

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
        check(r <= RAMP_W * 1.0001, "told the curve's highest: the site rose %.1f W in 1 s" % r)
        check(d["ramp_viol_s"] == 0.0, "told the curve's highest: %.3f s over the ramp limit"
              % d["ramp_viol_s"])
        check(d["work_frac"] >= 0.99 and d["trips"] == 0,
              "told the curve's highest: work %.4f, trips %d" % (d["work_frac"], d["trips"]))
        d, r = go("flat-told", "supply: {efficiency: %s, budget_eff_max: 0.85}" % CURVE)
        check(r > RAMP_W * 1.01, "told a flat 0.85: the site rose only %.1f W (the case does not "
              "test what the highest efficiency buys)" % r)
        # A base that follows the GPUs at once (300 W at idle, 1.5 kW at full
        # load a server): each watt of theirs brings 1200 / 5600 W more, and
        # the envelope's rise is the ramp / (1 + that).
        d, r = go("moving", "supply: {base_w: 300, base_busy_w: 1200, efficiency: 0.9}")
        check(r <= RAMP_W * 1.001, "a base following the GPUs: the site rose %.1f W in 1 s" % r)
        check(d["work_frac"] >= 0.98 and d["trips"] == 0,
              "a base following the GPUs: work %.4f, trips %d" % (d["work_frac"], d["trips"]))
        a, _ = go("flat", "supply: {efficiency: 0.9}")
        b, _ = go("flat-max", "supply: {efficiency: 0.9, budget_eff_max: 0.9}")
        for f in ("timeseries.csv", "nodes.csv"):
            with open(os.path.join(a["dir"], f)) as x, open(os.path.join(b["dir"], f)) as y:
                check(x.read() == y.read(), "a flat curve's told highest changes %s" % f)
    simrun.finish()


if __name__ == "__main__":
    main()
