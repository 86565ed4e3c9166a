"""The headroom command on hostile conditions: a full disk, extra operands,
out-of-range options, stop signals and error paths.  Nothing is lost or
accepted silently: a failed write exits non-zero naming the path, a refused
option names itself and its range with exit 2, a stop signal ends the stream
cleanly with exit 128 + signo, and no error path leaks (under a sanitizer
build LeakSanitizer reports on stderr, which fails the check)."""
import json
import os
import signal
import subprocess
import tempfile
import time
import zlib

import numpy as np

HR_BIN = os.environ.get("HR_BIN", "build/headroom")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TREE = os.path.join(ROOT, "examples", "trees", "rack-zone-a1.yaml")
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:" + os.environ.get("ASAN_OPTIONS", ""))
fails, n = [], 0


def check(cond, what):
    global n
    n += 1
    if not cond:
        fails.append(what)
        print("FAIL:", what)


def hr(*args, data=b"", stdout=subprocess.PIPE, timeout=60):
    p = subprocess.run([HR_BIN, *args], input=data, stdout=stdout, stderr=subprocess.PIPE,
                       timeout=timeout, env=ENV)
    err = p.stderr.decode(errors="replace")
    check("LeakSanitizer" not in err, f"no leak in: headroom {' '.join(args)}: {err[-400:]!r}")
    return p.returncode, (p.stdout or b"").decode(errors="replace"), err


def full(*args, data=b""):
    """Runs with standard output on /dev/full."""
    with open("/dev/full", "wb") as f:
        return hr(*args, data=data, stdout=f)


fs, f0 = 8000, 50.0


def wave(seconds, dip_from=None):
    t = np.arange(int(fs * seconds)) / fs
    env = np.ones_like(t)
    if dip_from is not None:
        env[t >= dip_from] = 0.5
    cols = [env * 230 * np.sqrt(2) * np.sin(2 * np.pi * f0 * t - 2 * np.pi * k / 3) for k in range(3)]
    cols += [10 * np.sqrt(2) * np.sin(2 * np.pi * f0 * t - 2 * np.pi * k / 3) for k in range(3)]
    return np.stack(cols, axis=1).astype("<f4").tobytes()


M = ["meter", "--f-nom", "50", "--u-din", "230"]
x = wave(2.0)
tmp = tempfile.mkdtemp()
a_path = os.path.join(tmp, "a.f32")
with open(a_path, "wb") as f:
    f.write(x)

# ---- failed writes exit non-zero with the path and the error.
have_full = os.path.exists("/dev/full")
if have_full:
    rc, _, err = hr(*M, "-o", "/dev/full", a_path)
    check(rc == 1 and "/dev/full" in err and "No space left" in err,
          f"meter -o /dev/full: {rc} {err!r}")
    check("not all of them written" in err, f"meter -o /dev/full: summary says so: {err!r}")
    rc, _, err = full(*M, a_path)
    check(rc == 1 and "standard output" in err and "No space left" in err,
          f"meter > /dev/full: {rc} {err!r}")
    check(err.count("No space left") == 1, f"meter > /dev/full: one message: {err!r}")
    rc, _, err = full("gen", "--seconds", "0.5")
    check(rc == 1 and "standard output" in err, f"gen > /dev/full: {rc} {err!r}")
    rc, _, err = hr("gen", "--seconds", "0.01", "--format", "csv", "--truth", "/dev/full")
    check(rc == 1 and "--truth /dev/full" in err, f"gen --truth /dev/full: {rc} {err!r}")
    rc, _, err = hr("lease", "check", TREE, "--levels", "1.2")
    check(rc == 0, f"lease check --levels 1.2 passes: {rc} {err!r}")
    rc, _, err = full("lease", "check", TREE, "--levels", "1.2")
    check(rc == 1 and "standard output" in err, f"lease check > /dev/full: {rc} {err!r}")
    rc, _, err = full("lease", "check", TREE, "--levels", "1.2", "--json")
    check(rc == 1 and "standard output" in err, f"lease check --json > /dev/full: {rc} {err!r}")
    rc, _, err = hr("plan", "workload", "--arrival", "poisson", "--rate", "5", "--seconds", "60",
                    "--out", "/dev/full")
    check(rc == 1 and "/dev/full" in err and "No space left" in err,
          f"plan workload --out /dev/full: {rc} {err!r}")
    rc, _, err = full("plan", "workload", "--arrival", "poisson", "--rate", "5", "--seconds", "60")
    check(rc == 1 and "standard output" in err, f"plan workload > /dev/full: {rc} {err!r}")
    rc, _, err = full("meter", "--help")
    check(rc == 1, f"meter --help > /dev/full: {rc}")
    # agent: the reason and one message (it said "write error on stdout" and
    # main added a second, reasonless one)
    rc, _, err = full("agent", "--tree", TREE, "--node", "busway-a1", "--f-nom", "50", "--input",
                      a_path)
    check(rc == 1 and "standard output" in err and err.count("No space left") == 1 and
          err.count("standard output") == 1, f"agent > /dev/full: {rc} {err!r}")
# A folder as a store: named for what it is (query said "No such file or
# directory", a stale errno; meter --store said "input/output error").
rc, _, err = hr("query", tmp, "--device", "d1")
check(rc == 1 and tmp in err and "is a directory" in err, f"query DIR: {rc} {err!r}")
rc, _, err = hr(*M, "--store", tmp, a_path)
check(rc == 1 and f"--store {tmp}" in err and "is a directory" in err,
      f"meter --store DIR: {rc} {err!r}")
# sim and capacity > /dev/full: the reason, once (they flushed stdout
# themselves and main() could then only say "write error").
SIMS = os.path.join(ROOT, "tests", "sim", "data", "tiny.yaml")
if have_full:
    for args in (["sim", SIMS, "--policy", "none", "--report", os.path.join(tmp, "simfull")],
                 ["capacity", SIMS, "--policy", "none", "--quiet"]):
        rc, _, err = full(*args)
        check(rc == 1 and err.count("standard output: No space left") == 1,
              f"{args[0]} > /dev/full: {rc} {err!r}")
# plan fidelity --csv /dev/full: the command, the file, the reason (it
# said "/dev/full: write failed", with no command).  Needs the shared traces.
DATA = os.environ.get("HR_SHARED_DATA", "")
if have_full and DATA and os.path.exists(os.path.join(DATA, "power/h100-inference")):
    rc, _, err = hr("plan", "fidelity", "--data", DATA, "--only", "Llama-3.1-8B", "--split",
                    "batch", "--fast", "1", "--seeds", "1", "--csv", "/dev/full", timeout=300)
    check(rc == 1 and "headroom plan: /dev/full: write failed: No space left" in err,
          f"plan fidelity --csv /dev/full: {rc} {err!r}")
else:
    print("note: no shared traces; the plan fidelity --csv /dev/full check is skipped")
# A folder as the scenario or the tree: the reason (it said "read error").
for args in (["sim", tmp, "--policy", "none", "--report", os.path.join(tmp, "r")],
             ["capacity", tmp], ["lease", "check", tmp]):
    rc, _, err = hr(*args)
    check(rc == 2 and tmp in err and "Is a directory" in err, f"{args[0]} DIR: {rc} {err!r}")
# agent on a folder: the path and the reason (it said "read error on the input")
rc, _, err = hr("agent", "--tree", TREE, "--node", "busway-a1", "--input", tmp)
check(rc == 1 and tmp in err and "Is a directory" in err, f"agent --input DIR: {rc} {err!r}")

# plan generate > /dev/full, with a small model file of valid checksum.
body = "headroom-plan-model 1\ntdp_w_per_gpu %s\nidle_w_per_gpu 60 train_dt_s 0.1\nlut 0\ngroups 0\n"


def model(tdp):
    text = body % tdp
    path = os.path.join(tmp, f"m_{tdp}.model")
    with open(path, "w") as f:
        f.write(text + "crc32 %08x\n" % zlib.crc32(text.encode()))
    return path


G = ["plan", "generate", "--method", "tdp", "--model", "x", "--gpus", "8", "--batch", "1",
     "--seconds", "10"]
rc, out, err = hr(*G, "--model-file", model("700"))
check(rc == 0 and "5600.000" in out, f"plan generate with a good model: {rc} {err!r}")
if have_full:
    rc, _, err = full(*G, "--model-file", model("700"))
    check(rc == 1 and "standard output" in err, f"plan generate > /dev/full: {rc} {err!r}")
# A model file stating an infinite TDP with a valid checksum printed inf.
rc, out, err = hr(*G, "--model-file", model("inf"))
check(rc == 1 and "inf" not in out and "tdp_w_per_gpu" in err and ":2:" in err,
      f"tdp_w_per_gpu inf refused at line 2: {rc} {out[:40]!r} {err!r}")

# ---- extra operands are refused, not silently dropped.
rc, out, err = hr(*M, a_path, a_path)
check(rc == 2 and "one input only" in err and out == "", f"meter a b: {rc} {err!r}")

# ---- refused options name themselves and their range, exit 2.
for args, name, rng in [
    (["--scale-u", "0"], "--scale-u", "nonzero"),
    (["--scale-i", "1e40"], "--scale-i", "at most"),
    (["--csv-skip-columns", "65"], "--csv-skip-columns", "0 to 64"),
    (["--t0-ns", "9223372036854775807"], "--t0-ns", "4102444800000000000"),
    (["--t0-ns", "-1"], "--t0-ns", "4102444800000000000"),
    (["--fs", "10"], "--fs", "2000 and 50000"),
    (["--track-pct", "90"], "--track-pct", "between 1 and 40"),
    (["--p-step", "nan:5:10"], "--p-step", ""),
]:
    rc, _, err = hr(*M, *args)
    check(rc == 2 and name in err and rng in err, f"meter {args}: {rc} {err!r}")
rc, _, err = hr("gen", "--t0-ns", "9223372036854775807", "--seconds", "0.1")
check(rc == 2 and "--t0-ns" in err and "4102444800000000000" in err, f"gen --t0-ns max: {err!r}")
rc, _, err = hr("gen", "--samples", "9223372036854775807", "--fs", "8000", "--format", "csv")
check(rc == 2 and "--samples" in err, f"gen --samples beyond the clock: {rc} {err!r}")
# The latest start time works and stays in 2099/2100 (no wrap to 1677).
rc, out, err = hr(*M, "--t0-ns", "4102444800000000000", "--records", "cycle", data=x[: len(x) // 4])
recs = [json.loads(l) for l in out.splitlines() if l]
check(rc == 0 and recs and all(r["t_ns"] >= 4102444800000000000 for r in recs),
      f"meter at HR_T0_NS_MAX: {rc} {err!r}")

SITE = ["--model-file", model("700"), "--arrival", "poisson", "--rate", "1"]
for args, name in [(["--servers", "1e9"], "--servers"), (["--dt", "1e-9"], "--dt"),
                   (["--pue", "-1"], "--pue"), (["--hours", "-1"], "--hours"),
                   (["--rows", "1000", "--racks", "1000", "--servers", "2"], "--rows x --racks"),
                   (["--hours", "8000", "--dt", "0.01"], "--hours/--dt"),
                   (["--cv", "1e8"], "--cv")]:
    rc, _, err = hr("plan", "site", *SITE, *args, timeout=30)
    check(rc == 2 and name in err, f"plan site {args}: {rc} {err!r}")
rc, _, err = hr("plan", "train", "--out", os.path.join(tmp, "m"), "--exclude", "Llama-3.1-8B/abc")
check(rc == 2 and "--exclude" in err, f"plan train --exclude L/abc: {rc} {err!r}")
rc, _, err = hr("plan", "metrics", "--dt", "1e-9", "a", "b")
check(rc == 2 and "--dt" in err and "[0.001, 86400]" in err, f"plan metrics --dt: {err!r}")

# ---- hangs: each finishes (or is refused) within seconds.
try:
    rc, _, err = hr("plan", "workload", "--arrival", "bursty", "--rate", "1", "--seconds", "10",
                    "--cv", "1e8", timeout=20)
    check(rc == 2 and "--cv" in err and "[1, 100]" in err, f"workload --cv 1e8: {rc} {err!r}")
except subprocess.TimeoutExpired:
    check(False, "plan workload --cv 1e8 hangs")
gt, gen = os.path.join(tmp, "gt.txt"), os.path.join(tmp, "gen.txt")
with open(gt, "w") as f:
    f.write("p\n" + "".join(f"{v}\n" for v in range(100)))
with open(gen, "w") as f:
    f.write("p\n" + "".join(f"{v}\n" if v != 50 else "nan\n" for v in range(100)))
try:
    rc, _, err = hr("plan", "metrics", gt, gen, timeout=20)
    check(rc == 1 and f"{gen}:52:" in err and "finite" in err, f"metrics with NaN: {rc} {err!r}")
except subprocess.TimeoutExpired:
    check(False, "plan metrics with a NaN hangs")

# ---- workload times far apart: refused where read, never "span_s":inf.
wl = os.path.join(tmp, "wl.csv")
with open(wl, "w") as f:
    f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n-1e308,10,10\n1e308,10,10\n")
rc, out, err = hr("plan", "workload", "--csv", wl)
check(rc == 1 and "inf" not in out and f"{wl}:3:" in err, f"workload +-1e308: {rc} {out!r} {err!r}")

# ---- lease check --json: a device that never trips at a level has null times.
rc, out, err = hr("lease", "check", TREE, "--json", "--levels", "1.01,2")
rows = [json.loads(l) for l in out.splitlines() if l]
check(any(r["t_trip_s"] is None for r in rows), f"lease check JSON: never trips is null")
check(rows and all(r["t_trip_s"] is None or r["t_trip_s"] > 0 for r in rows),
      f"lease check JSON: t_trip_s positive or null: {out[:200]!r}")
check(all(r["margin_s"] is None or abs(r["margin_s"]) < 1e300 for r in rows),
      f"lease check JSON: no 1e308 sentinel: {out[:200]!r}")

# ---- error paths under LeakSanitizer (the check in hr() fails on a report).
for args in (["meter", "-o", "/nonexistent/x", a_path], ["meter", "/nonexistent/in"],
             ["meter", "--format", "csv", "--csv-skip-columns", "2", "-o", "/nonexistent/x"],
             ["gen", "--seconds", "0.01", "--out", "/nonexistent/x"],
             ["gen", "--seconds", "0.01", "--truth", "/nonexistent/x"],
             ["lease", "check", "/nonexistent.yaml"],
             ["plan", "workload", "--csv", "/nonexistent.csv"],
             ["plan", "generate", "--model-file", "/nonexistent.model"]):
    rc, _, err = hr(*args)
    check(rc in (1, 2) and "nonexistent" in err, f"error path {args}: {rc} {err!r}")


# ---- stop signals: a live pipe, then the signal; the output ends on a whole
# record, the open dip gets its closing record, exit 128 + signo.
def stop_meter(sig, extra=()):
    p = subprocess.Popen([HR_BIN, *M, "--records", "cycle,event", *extra, "-"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=ENV)
    data = wave(2.0, dip_from=1.5)
    p.stdin.write(data)
    p.stdin.flush()
    time.sleep(1.0)  # the meter has read everything and waits for more
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    p.stdin.close() if not p.stdin.closed else None
    return p.returncode, out.decode(), err.decode()


for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    rc, out, err = stop_meter(sig)
    name = signal.Signals(sig).name
    check(rc == 128 + sig, f"{name}: exit {rc}, want {128 + sig}: {err!r}")
    check(out.endswith("\n"), f"{name}: output ends on a whole record")
    try:
        recs = [json.loads(l) for l in out.splitlines()]
    except ValueError:
        recs = []
        check(False, f"{name}: every line is JSON")
    cycles = [r for r in recs if r.get("type") == "cycle"]
    events = [r for r in recs if r.get("type") == "event"]
    check(len(cycles) >= 95, f"{name}: all cycles written: {len(cycles)}")
    check(any("open" in r.get("flags", []) for r in events),
          f"{name}: the dip in progress gets its open end record: {events}")
    check("stopped by " + name in err and "frames" in err, f"{name}: summary on stderr: {err!r}")

# gen stops the same way, on whole frames.
p = subprocess.Popen([HR_BIN, "gen", "--seconds", "3600", "--format", "csv"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
head = os.read(p.stdout.fileno(), 100000)  # raw: communicate() reads the fd itself
p.send_signal(signal.SIGTERM)
rest, err = p.communicate(timeout=20)
text = (head + rest).decode()
check(p.returncode == 128 + signal.SIGTERM, f"gen SIGTERM: exit {p.returncode}: {err!r}")
lines = text.splitlines()
check(text.endswith("\n") and len({len(l.split(",")) for l in lines}) == 1,
      f"gen SIGTERM: whole lines only: {text[-80:]!r}")

# demo (paced by the wall clock) stops on SIGINT with its summary.
p = subprocess.Popen([HR_BIN, "demo", "--seconds", "30"], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, env=ENV)
time.sleep(1.5)
p.send_signal(signal.SIGINT)
out, err = p.communicate(timeout=20)
check(p.returncode == 128 + signal.SIGINT and b"s measured" in out and b"stopped by" in err,
      f"demo SIGINT: {p.returncode} {out[-120:]!r} {err!r}")

if fails:
    print(f"cli hardening: {len(fails)} of {n} checks failed")
    raise SystemExit(1)
print(f"cli hardening: {n} checks passed")
