"""The command line as a data tool in a pipeline: headroom meter's records
leave as they are made on a live pipe (a dip event is read while the input
is still open), "-" reads standard input wherever a file is read, --opt=value
and "--" work, and --version answers."""
import json
import os
import select
import subprocess
import time

import numpy as np

HR_BIN = os.environ.get("HR_BIN", "build/headroom")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TREE = os.path.join(ROOT, "examples", "trees", "rack-zone-a1.yaml")
fails, n = [], 0


def check(cond, what):
    global n
    n += 1
    if not cond:
        fails.append(what)
        print("FAIL:", what)


fs, f0 = 8000, 50.0


def wave(seconds, dip=None):
    t = np.arange(int(fs * seconds)) / fs
    env = np.ones_like(t)
    if dip:
        env[(t >= dip[0]) & (t < dip[1])] = 0.5
    cols = [env * 230 * np.sqrt(2) * np.sin(2 * np.pi * f0 * t - 2 * np.pi * k / 3)
            for k in range(3)]
    cols += [10 * np.sqrt(2) * np.sin(2 * np.pi * f0 * t - 2 * np.pi * k / 3) for k in range(3)]
    return np.stack(cols, axis=1).astype("<f4").tobytes()


# ---- a dip event read from a live pipe before the input ends.
p = subprocess.Popen([HR_BIN, "meter", "--quiet", "--f-nom=50", "--u-din=230", "--records=event",
                      "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
p.stdin.write(wave(2.0, dip=(0.5, 0.8)))
p.stdin.flush()
got, buf, deadline = None, b"", time.monotonic() + 20
while got is None and time.monotonic() < deadline:
    r, _, _ = select.select([p.stdout], [], [], 0.5)
    if r:
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        for line in buf.decode().splitlines():
            rec = json.loads(line)
            if rec.get("type") == "event" and "dip" in json.dumps(rec):
                got = rec
alive = p.poll() is None
p.stdin.close()
p.stdout.read()
p.wait(timeout=20)
check(got is not None, f"a dip event read from the live pipe: {buf[:300]!r}")
check(alive, "the dip event came while the meter's input was still open")

# ---- --version
r = subprocess.run([HR_BIN, "--version"], capture_output=True, text=True)
check(r.returncode == 0 and r.stdout.startswith("headroom "), f"--version: {r.stdout!r}")

# ---- "-" for standard input.
with open(TREE, "rb") as f:
    tree = f.read()
r = subprocess.run([HR_BIN, "lease", "check", "-", "--json", "--levels=2"], input=tree,
                   capture_output=True)
rows = [json.loads(l) for l in r.stdout.decode().splitlines() if l]
check(r.returncode in (0, 1) and rows, f"lease check -: {r.returncode} {r.stderr[-200:]!r}")
trace = b'"TIMESTAMP","ContextTokens","GeneratedTokens"\n0,10,20\n1.5,"30",40\n'
r = subprocess.run([HR_BIN, "plan", "workload", "--csv", "-"], input=trace, capture_output=True)
check(r.returncode == 0 and json.loads(r.stdout)["requests"] == 2,
      f"plan workload --csv - with a quoted header: {r.returncode} {r.stderr!r}")
jl = b'{"timestamp": 1e1, "input_length": 1e1, "output_length": 5, "note": "' + b"x" * 100 + \
     b'"}\n{"time\\u0073tamp": 2000, "input_length": 3, "output_length": 4}\n'
r = subprocess.run([HR_BIN, "plan", "workload", "--csv", "-", "--trace-format", "jsonl"], input=jl,
                   capture_output=True)
check(r.returncode == 0 and json.loads(r.stdout)["requests"] == 2,
      f"JSON Lines: 1e1, escapes, long values: {r.returncode} {r.stderr!r}")
bad = b'{"timestamp": 0, "input_length": "12", "output_length": 5}\n'
r = subprocess.run([HR_BIN, "plan", "workload", "--csv", "-", "--trace-format=jsonl"], input=bad,
                   capture_output=True)
check(r.returncode == 1 and b"input_length" in r.stderr,
      f"JSON Lines: a string is not a count: {r.returncode} {r.stderr!r}")
series = "".join(f"{v}\n" for v in range(100)).encode()
with open("/tmp/hr_stream_gen.txt", "wb") as f:
    f.write(series)
r = subprocess.run([HR_BIN, "plan", "metrics", "-", "/tmp/hr_stream_gen.txt"], input=series,
                   capture_output=True)
check(r.returncode == 0 and json.loads(r.stdout)["energy_err_pct"] == 0,
      f"plan metrics -: {r.returncode} {r.stderr!r}")
os.unlink("/tmp/hr_stream_gen.txt")

# ---- "--" ends the options; --opt=value; refusals name the option.
r = subprocess.run([HR_BIN, "meter", "--quiet", "--records=cycle", "--", "-"],
                   input=wave(0.2), capture_output=True)
check(r.returncode == 0 and r.stdout.count(b"\n") >= 5, f"meter -- -: {r.returncode}")
r = subprocess.run([HR_BIN, "lease", "check", TREE, "--rule=2"], capture_output=True, text=True)
check(r.returncode == 2 and "--rule" in r.stderr and "(0, 1]" in r.stderr,
      f"--rule=2 refused: {r.stderr!r}")
r = subprocess.run([HR_BIN, "demo", "--json=1"], capture_output=True, text=True)
check(r.returncode == 2 and "--json" in r.stderr, f"a flag with a value: {r.stderr!r}")

# ---- lease check --svg: the time-current chart a protection engineer reads.
import tempfile
import xml.etree.ElementTree as ET

svg = os.path.join(tempfile.mkdtemp(), "tcc.svg")
r = subprocess.run([HR_BIN, "lease", "check", TREE, "--json", "--levels", "1.5,3,10",
                    "--cluster-ms", "100", "--svg", svg], capture_output=True, text=True)
rows = [json.loads(l) for l in r.stdout.splitlines() if l]
nodes = sorted({row["node"] for row in rows})
try:
    root = ET.parse(svg).getroot()
except (OSError, ET.ParseError) as e:
    root = None
    check(False, f"lease check --svg writes SVG: {e} {r.stderr!r}")
if root is not None:
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(ns + "text")]
    check(all(nd in texts for nd in nodes), f"a legend entry per device: {nodes} in {texts}")
    levels = [l for l in root.iter(ns + "line") if l.get("class") == "level"]
    check(len(levels) == 3, f"one line per overload level: {len(levels)}")
    loop = [l for l in root.iter(ns + "line") if l.get("class") == "loop"]
    # loop = 5 + 20 + 100 + 20 ms; y of t on the chart's log axis 1e-3..1e5 s, rows 50..580.
    y = 640 - 60 - (np.log10(0.145) + 3) / 8 * (640 - 50 - 60)
    check(len(loop) == 1 and abs(float(loop[0].get("y1")) - y) < 0.1,
          f"the loop latency line at {y:.1f}: {[l.attrib for l in loop]}")
    curves = [c for c in root.iter(ns + "polyline") if c.get("class") == "curve"]
    check(len(curves) >= len(nodes), f"a trip curve per device: {len(curves)} for {len(nodes)}")
    for c in curves:
        pts = [tuple(map(float, p.split(","))) for p in c.get("points").split()]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        # Inverse time: more current never trips later (y grows downward as t falls).
        check(all(b > a for a, b in zip(xs, xs[1:])) and all(b >= a - 1e-6 for a, b in zip(ys, ys[1:])),
              f"a trip curve falls with current: {pts[:6]}")

if fails:
    print(f"cli streams: {len(fails)} of {n} checks failed")
    raise SystemExit(1)
print(f"cli streams: {n} checks passed")
