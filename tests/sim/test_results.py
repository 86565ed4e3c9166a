#!/usr/bin/env python3
"""scripts/results.py against the command it summarises: the page's rows for a
short scenario equal what `headroom sim` and `headroom capacity --json` print
for the same runs, run independently here."""
import json
import os
import re
import subprocess
import sys
import tempfile

BIN = os.environ.get("HR_BIN", "build/headroom")
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCEN = os.path.join(SRC, "tests/sim/data/tiny.yaml")


def table_rows(text, heading):
    """Rows of the first table after a '### heading' line, as lists of cells."""
    lines = text.splitlines()
    i = lines.index("### " + heading)
    rows = []
    for ln in lines[i + 1:]:
        if ln.startswith("|") and not ln.startswith("|---"):
            rows.append([c.strip() for c in ln.strip("|").split("|")])
        elif rows and not ln.startswith("|"):
            break
    return rows[1:]  # no header


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "results.md")
        r = subprocess.run([sys.executable, os.path.join(SRC, "scripts/results.py"), "--bin", BIN,
                            "--out", out, "--scenarios", SCEN, "--capacity", SCEN, "--jobs", "2"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        text = open(out).read()
        rows = {c[0]: c for c in table_rows(text, "tiny")}
        assert len(rows) == 14, rows.keys()
        for pol in ("none", "dynamo", "headroom"):
            d = os.path.join(tmp, "direct-" + pol)
            j = subprocess.run([BIN, "sim", SCEN, "--policy", pol, "--report", d, "--quiet",
                                "--json"], capture_output=True, text=True, check=True)
            s = json.loads(j.stdout)
            assert rows[pol][1] == str(s["trips"]), (pol, rows[pol], s)
            assert abs(float(rows[pol][2]) - s["work_frac"]) < 6e-5, (pol, rows[pol], s)
            assert abs(float(rows[pol][7]) - s["energy_kwh"]) < 6e-3, (pol, rows[pol], s)
        # the capacity table is the second "### tiny" section
        idx = [m.start() for m in re.finditer(r"^### tiny$", text, re.M)]
        assert len(idx) == 2, idx
        caps = {c[0]: c for c in table_rows(text[idx[1]:], "tiny")}
        j = subprocess.run([BIN, "capacity", SCEN, "--policy", "none,headroom", "--json",
                            "--quiet"], capture_output=True, text=True, check=True)
        for line in j.stdout.splitlines():
            o = json.loads(line)
            row = caps[o["policy"]]
            assert row[1].split()[0] == str(o["gpus"]), (row, o)
            assert row[2] == str(o["gpus_static"]), (row, o)
        print("ok: results page matches %d direct runs" % (3 + 2))


if __name__ == "__main__":
    main()
