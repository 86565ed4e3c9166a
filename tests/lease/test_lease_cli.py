"""headroom lease check: table, JSON lines, options and exit codes."""
import json
import os
import subprocess
import sys

BIN = os.environ.get("HR_BIN")
HERE = os.path.dirname(os.path.abspath(__file__))
TREES = os.path.join(HERE, "..", "..", "examples", "trees")


def run(*args):
    return subprocess.run([BIN, "lease", *args], capture_output=True, text=True, timeout=60)


def main():
    if not BIN or not os.path.exists(BIN):
        print("HR_BIN not set; skipping")
        return 77
    a1 = os.path.join(TREES, "rack-zone-a1.yaml")
    r = run("check", a1)
    assert r.returncode == 1, r  # the instantaneous elements are too fast
    assert "loop 70.0 ms" in r.stdout and "TOO FAST" in r.stdout, r.stdout
    r = run("check", a1, "--json", "--levels", "2,10")
    rows = [json.loads(l) for l in r.stdout.splitlines()]
    br = [x for x in rows if x["node"] == "branch-a1"]
    assert len(br) == 2 and br[1]["element"] == "S", br
    assert abs(br[1]["margin_s"] - 0.070) < 1e-6 and br[1]["in_time"], br
    # Only long-time levels: everything is in time, exit 0.
    r = run("check", a1, "--levels", "1.5,2,3")
    assert r.returncode == 0, r
    # A slower loop turns the 10 x short-time case red.
    r = run("check", a1, "--json", "--levels", "10", "--cluster-ms", "100")
    br = [json.loads(l) for l in r.stdout.splitlines() if "branch-a1" in l]
    assert not br[0]["in_time"] and r.returncode == 1
    for bad in (["check"], ["check", a1, "--rule", "2"], ["check", a1, "--levels", "x"],
                ["check", a1, "--bogus"], ["nope"], ["check", "/nonexistent.yaml"]):
        r = run(*bad)
        assert r.returncode == 2, (bad, r)
    assert run("--help").returncode == 0
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
