#!/usr/bin/env python3
"""POLCA's clock locks are fractions of the GPUs' highest clock: the agent in
the simulator must lock at fractions of the simulated GPUs' own
`gpu.clock_max_mhz`, not of its default 1980 MHz.  The same row under
`polca` with the GPUs' highest clock at 1000, 1980 and 4000 MHz does the same
work to within the rounding of a lock to whole MHz, and less than with no
control (the locks act).  Before the fix, 1000 MHz made every lock a no-op
(work 1.000, as with no control) and 4000 MHz slowed the row further."""
import json
import os
import subprocess
import sys
import tempfile

BIN = os.environ.get("HR_BIN", "build/headroom")
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TREE = os.path.join(SRC, "scenarios/trees/row-4x10.yaml")


def work(tmp, mhz, policy):
    path = os.path.join(tmp, "s-%d-%s.yaml" % (mhz, policy))
    with open(path, "w") as f:
        f.write("version: 1\nname: clk\ntree: %s\nduration_s: 5\ngpus: 64\n"
                "gpu: {clock_max_mhz: %d}\n"
                "workloads:\n  - {kind: batch, gpus: [0, 64], power_w: 690}\n" % (TREE, mhz))
    r = subprocess.run([BIN, "sim", path, "--policy", policy, "--report",
                        os.path.join(tmp, "r-%d-%s" % (mhz, policy)), "--quiet", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])["work_frac"]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        none = work(tmp, 1980, "none")
        w = {m: work(tmp, m, "polca") for m in (1000, 1980, 4000)}
        print("work: none %.4f, polca at 1000/1980/4000 MHz %s" % (none, w))
        assert none > 0.999, none
        assert w[1980] < none - 0.05, w  # the locks act on this row
        for m in (1000, 4000):
            assert abs(w[m] - w[1980]) < 0.005, (m, w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
