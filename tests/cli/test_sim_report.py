"""headroom sim --report DIR: report.md links its charts (PNG and SVG), every
linked file exists and is valid (the PNG's signature and size, the SVG read by
Python's XML parser through svgcheck.py), each chart has the series the
report says (one line per charted node, the limit line flat at 1), and the
waveform path's latency section is there with ordered percentiles
(docs/sim.md).  A scenario asking for waveforms without metered nodes is
refused naming the key."""
import csv
import os
import re
import struct
import subprocess
import sys
import tempfile

HR_BIN = os.path.abspath(os.environ.get("HR_BIN", "build/headroom"))
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import svgcheck  # noqa: E402

fails, n = [], 0


def check(cond, what):
    global n
    n += 1
    if not cond:
        fails.append(what)
        print("FAIL:", what)


tmp = tempfile.mkdtemp()
tree = os.path.join(ROOT, "scenarios", "trees", "rack-1x2.yaml")
scen = os.path.join(tmp, "s.yaml")
with open(scen, "w") as f:
    f.write(f"""version: 1
name: report-test
tree: {tree}
duration_s: 3
metered: [server]
workloads:
  - {{kind: training, gpus: [0, 16], period_s: 0.5, compute_frac: 0.6, compute_w: 700,
     comm_w: 250, ramp_s: 0.3, restarts: [1.5], restart_s: 0.3}}
""")


def run(*args):
    p = subprocess.run([HR_BIN, "sim", scen, "--policy", "headroom", "--quiet", *args],
                       capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


# --- the waveform path's report ------------------------------------------------
rep = os.path.join(tmp, "wave")
rc, out, err = run("--report", rep, "--waveforms")
check(rc == 0, f"sim --waveforms: exit {rc}: {err}")
md = open(os.path.join(rep, "report.md")).read()
check("waveform path: 2 metered nodes at 8000 Hz" in md, "report names the waveform path")
pngs = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", md)
svgs = re.findall(r"\[SVG\]\(([^)]+\.svg)\)", md)
check(sorted(pngs) == ["caps.png", "power.png", "thermal.png", "throughput.png"],
      f"charts linked: {pngs}")
check([s[:-4] for s in svgs] == [p[:-4] for p in pngs], f"an SVG beside every PNG: {svgs}")
for p in pngs:
    size = png_size(os.path.join(rep, p))
    check(size == (900, 500), f"{p}: a 900x500 PNG (got {size})")
lines = {}
for s in svgs:
    try:
        lines[s] = svgcheck.series(os.path.join(rep, s))
    except Exception as e:  # noqa: BLE001 - unreadable is a failure
        check(False, f"{s}: {e}")

# Charted nodes: not GPUs or servers, with a device or a finite limit (nodes.csv).
with open(os.path.join(rep, "nodes.csv")) as f:
    nodes = [r for r in csv.DictReader(f) if r["kind"] not in ("gpu", "server")]
limited = [r for r in nodes if r["cont_kw"] not in ("inf", "nan")]
devices = [r for r in nodes if r["device"] == "1"]
check(len(lines.get("power.svg", [])) == len(limited) + 1,
      f"power.svg: {len(limited)} nodes + the limit line, got {len(lines.get('power.svg', []))}")
check(len(lines.get("thermal.svg", [])) == len(devices) + 1,
      f"thermal.svg: {len(devices)} devices + the trip line")
check(len(lines.get("caps.svg", [])) == 3, "caps.svg: site power, caps, demand")
check(len(lines.get("throughput.svg", [])) == 1, "throughput.svg: one line")
if lines.get("power.svg"):
    lim = lines["power.svg"][-1][1]
    check(len({round(y, 3) for _, y in lim}) == 1, "the continuous limit is a flat line")
    # The rack's line peaks where nodes.csv says: its highest power over its
    # limit, on the chart's y axis (above the limit line when over it).
    rack = [r for r in limited if r["node"] == "rack-0"][0]
    over = float(rack["max_kw"]) > float(rack["cont_kw"])
    rack_line = lines["power.svg"][[r["node"] for r in limited].index("rack-0")][1]
    top = min(y for _, y in rack_line)  # SVG y grows downwards
    check((top < lim[0][1]) == over, "the rack's line crosses the limit line iff nodes.csv says")

m = re.search(r"\| all that set a cap \| (\d+) \| ([\d.]+) ms \| ([\d.]+) ms \| ([\d.]+) ms \|",
              md)
check(m is not None, "latency row in report.md")
if m:
    cnt, p50, p99, mx = int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))
    check(cnt > 0 and 0 < p50 <= p99 <= mx, f"latency ordered: {cnt} {p50} {p99} {mx}")

# --- the fast path's report: no latency section, still the charts ----------------
rep2 = os.path.join(tmp, "fast")
rc, out, err = run("--report", rep2)
check(rc == 0, f"sim fast: exit {rc}: {err}")
md2 = open(os.path.join(rep2, "report.md")).read()
check("fast path: no waveforms" in md2 and "waveform path" not in md2, "fast path named")
check(all(os.path.exists(os.path.join(rep2, p)) for p in pngs), "fast path charts exist")

# --- inference and fault tables: report.md against summary.csv -----------------
inf = os.path.join(tmp, "inf.yaml")
with open(inf, "w") as f:
    f.write(f"""version: 1
name: report-inference
tree: {tree}
duration_s: 4
workloads:
  - {{kind: inference, gpus: [0, 16], gpus_per_replica: 4, rate_per_s: 6, seed: 3}}
events:
  - {{kind: meter_garbage, node: srv-0-1, at_s: 1, duration_s: 1}}
""")
rep3 = os.path.join(tmp, "inf")
p = subprocess.run([HR_BIN, "sim", inf, "--policy", "headroom", "--report", rep3, "--quiet"],
                   capture_output=True, text=True, timeout=120)
check(p.returncode == 0, f"sim inference: exit {p.returncode}: {p.stderr}")
if p.returncode == 0:
    md3 = open(os.path.join(rep3, "report.md")).read()
    row = next(csv.DictReader(open(os.path.join(rep3, "summary.csv"))))
    m = re.search(r"\| time to first token p50 / p99 \| ([\d.]+) / ([\d.]+) s \|", md3)
    check(m is not None, "inference table in report.md")
    if m:
        check(abs(float(m.group(1)) - float(row["ttft_p50_s"])) < 1e-3 and
              float(m.group(1)) <= float(m.group(2)), "TTFT in report.md = summary.csv, ordered")
    m = re.search(r"\| requests generated / completed \| (\d+) / (\d+) \|", md3)
    check(m is not None and m.group(2) == row["inf_completed"] and int(m.group(2)) > 0 and
          int(m.group(1)) >= int(m.group(2)), "requests in report.md = summary.csv")
    m = re.search(r"\| readings refused as garbage \| (\d+) \|", md3)
    # 8 GPUs x 1000 steps of garbage, every one refused
    check(m is not None and m.group(1) == row["bad_readings"] == "8000",
          f"garbage readings: {m.group(1) if m else None} / {row['bad_readings']}")

# --- waveforms without metered nodes: refused naming the key --------------------
bad = os.path.join(tmp, "bad.yaml")
with open(bad, "w") as f:
    f.write(f"version: 1\ntree: {tree}\nduration_s: 1\nwaveforms: true\n")
p = subprocess.run([HR_BIN, "sim", bad, "--policy", "none", "--report", os.path.join(tmp, "b")],
                   capture_output=True, timeout=60)
check(p.returncode == 2 and b"metered" in p.stderr, f"refused: {p.returncode} {p.stderr!r}")

print(f"{n - len(fails)}/{n} checks passed")
sys.exit(1 if fails else 0)
