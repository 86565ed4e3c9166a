#!/usr/bin/env python3
"""A tree with empty GPU slots (what the capacity search runs: a slot for
every GPU it may try) must be controlled as the tree of the installed GPUs
alone (docs/sim.md, "Capacity search").

A rack under a site whose grid limit is 8 kW/s over 1 s; 16 GPUs of
synchronous training (700 W compute, 300 W communication, 1-s iterations, a
restart at 20 s) on two servers, once in a tree of exactly those two
servers and once in a tree of four, the other two servers' 16 slots empty.
Under the default `headroom` policy the caps' grid-ramp envelope holds the
caps' sum within one ramp window's rise above the lowest recent draw:
4.8 kW + 8 kW, above the compute phase's 11.2 kW.  An empty slot draws
nothing; counted at its lowest cap (200 W) the 16 empty slots would add
3.2 kW of caps nothing draws and cut the job's compute phase (work 0.956 on
the build before the fix, against 0.998).  Then the same with 500 W of base
load a server and 90 % supplies, told to the policy: the envelope rises at
0.9 × 8 kW in the GPUs' watts, 4.8 + 7.2 = 12 kW, still above 11.2 kW.

Checked, for each case: the work of the two runs within 1e-3 of each other
and at least 0.99 (what the envelope costs the restart is the same in
both); no trip; and the site's power rising by at most the limit in any
1-s window of the time series (an independent reading of the physics: the
fix must not let the caps step the site).

About 3 s."""
import tempfile

import simrun
from simrun import check, rise_1s_w, run, site_tree, write

RAMP_W = 8000.0
GRID = "{max_ramp_kw_per_s: 8, ramp_window_s: 1}"

SCEN = """version: 1
name: empty-slots
tree: TREE
duration_s: 60
step_ms: 1
gpus: 16
SUPPLY
workloads:
  - {kind: training, gpus: [0, 16], period_s: 1.0, compute_frac: 0.7, compute_w: 700,
     comm_w: 300, start_s: 0, ramp_s: 5, restarts: [20], restart_s: 5}
"""


def main():
    with tempfile.TemporaryDirectory() as tmp:
        write(tmp, "t4.yaml", site_tree(4, GRID))
        write(tmp, "t2.yaml", site_tree(2, GRID))
        for tag, supply in (("gpus", ""),
                            ("base", "supply: {base_w: 500, efficiency: 0.9}")):
            res = {}
            for t in ("t4", "t2"):
                scen = write(tmp, "%s-%s.yaml" % (tag, t),
                             SCEN.replace("TREE", t + ".yaml").replace("SUPPLY", supply))
                res[t] = run(tmp, "%s-%s" % (tag, t), scen, "headroom")
            a, b = res["t4"], res["t2"]
            print("%s: work with empty slots %.5f, without %.5f" % (tag, a["work_frac"],
                                                                   b["work_frac"]))
            check(abs(a["work_frac"] - b["work_frac"]) <= 1e-3,
                  "%s: work %.5f with 16 empty slots, %.5f without" %
                  (tag, a["work_frac"], b["work_frac"]))
            for t, d in res.items():
                check(d["work_frac"] >= 0.99, "%s %s: work %.5f" % (tag, t, d["work_frac"]))
                check(d["trips"] == 0, "%s %s: %d trips" % (tag, t, d["trips"]))
                r = rise_1s_w(d)
                check(r <= RAMP_W * 1.001, "%s %s: the site rose %.0f W in 1 s (limit %.0f)" %
                      (tag, t, r, RAMP_W))
    simrun.finish()


if __name__ == "__main__":
    main()
