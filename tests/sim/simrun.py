"""What the simulator's Python tests share (not a test itself): the binary,
the failure list, a rack of two 8-GPU servers under one breaker, and a run
of `headroom sim` read back (summary, nodes.csv)."""
import csv
import json
import os
import subprocess
import sys

BIN = os.environ.get("HR_BIN", "build/headroom")
fails = []


def check(ok, msg):
    if not ok:
        fails.append(msg)


# A 415-V site, a rack behind an LI trip unit of RACK_A amperes, two servers
# of eight 700-W GPUs (rack_tree fills RACK_A in).
TREE = """version: 1
nodes:
  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 400}
  - {id: rack, kind: rack, parent: site,
     device: {type: trip_unit, curve: LI, in_a: RACK_A, tr_s: 8, ii: 10}}
"""
for _s in range(2):
    TREE += "  - {id: s%d, kind: server, parent: rack}\n" % _s
    for _g in range(8):
        TREE += "  - {id: g%d_%d, kind: gpu, parent: s%d, rating_w: 700}\n" % (_s, _g, _s)


# A 2N pair of feeds, each a UPS and a 63-A PDU, and one dual-corded server
# of eight 700-W GPUs on both PDUs.
TREE_2N = ("version: 1\nredundancy: 2n\nnodes:\n"
           "  - {id: ups-a, kind: ups, parent: null, feed: a, voltage_v: 415, phases: 3, rating_a: 400}\n"
           "  - {id: pdu-a, kind: pdu, parent: ups-a,\n"
           "     device: {type: trip_unit, curve: LI, in_a: 63, tr_s: 8, ii: 10}}\n"
           "  - {id: ups-b, kind: ups, parent: null, feed: b, voltage_v: 415, phases: 3, rating_a: 400}\n"
           "  - {id: pdu-b, kind: pdu, parent: ups-b,\n"
           "     device: {type: trip_unit, curve: LI, in_a: 63, tr_s: 8, ii: 10}}\n"
           "  - {id: s0, kind: server, parent: pdu-a, parent_b: pdu-b}\n"
           + "".join("  - {id: g%d, kind: gpu, parent: s0, rating_w: 700}\n" % _g for _g in range(8)))


def rack_tree(rack_a):
    return TREE.replace("RACK_A", str(rack_a))


def site_tree(servers, grid=None, rack_a=100):
    """A 415-V site (with the grid limits `grid`, a YAML flow mapping, when
    given), a rack behind an LI trip unit of rack_a amperes, and `servers`
    servers of eight 700-W GPUs (s0 .. s<n-1>)."""
    t = ("version: 1\nnodes:\n"
         "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 400%s}\n"
         "  - {id: rack, kind: rack, parent: site,\n"
         "     device: {type: trip_unit, curve: LI, in_a: %g, tr_s: 8, ii: 10}}\n"
         % (",\n     grid: %s" % grid if grid else "", rack_a))
    for s in range(servers):
        t += "  - {id: s%d, kind: server, parent: rack}\n" % s
        t += "".join("  - {id: g%d_%d, kind: gpu, parent: s%d, rating_w: 700}\n" % (s, g, s)
                     for g in range(8))
    return t


def rise_1s_w(d):
    """The largest rise of the site's power over 1 s in a run's
    timeseries.csv, as the grid's ramp is defined: P(t) - P(t - 1 s)
    (docs/grid.md), at the series' own sample times."""
    import numpy as np
    ts = np.genfromtxt(os.path.join(d["dir"], "timeseries.csv"), delimiter=",", names=True,
                       dtype=None, encoding=None)
    t, p = ts["t_s"], ts["site_p_w"]
    w = int(round(1.0 / np.median(np.diff(t))))
    return float(np.max(p[w:] - p[:-w]))


def write(tmp, name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def run(tmp, tag, scen, policy):
    """`headroom sim SCEN --policy POLICY --json` into tmp/tag: the summary
    as a dict, with "nodes" (nodes.csv by node id) and "dir"."""
    out = os.path.join(tmp, tag)
    cmd = [BIN, "sim", scen, "--policy", policy, "--report", out, "--quiet", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    d = json.loads(r.stdout)
    with open(os.path.join(out, "nodes.csv")) as f:
        d["nodes"] = {n["node"]: n for n in csv.DictReader(f)}
    d["dir"] = out
    return d


def finish():
    """Prints the failures (exit 1) or ok."""
    if fails:
        print("FAIL:\n  " + "\n  ".join(fails))
        sys.exit(1)
    print("ok")
