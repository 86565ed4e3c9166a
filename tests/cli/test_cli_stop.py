"""The long-running lease and plan commands stop cleanly on SIGTERM, SIGINT
and SIGHUP, as meter and gen do: whole records, a flushed summary, exit
status 128 + the signal.

Each command writes far more than a pipe holds; the test reads a first part
(so the command is inside its loop, then blocked on the full pipe), sends
the signal, and reads the rest."""

import os
import signal
import subprocess
import sys
import tempfile
import zlib

HR_BIN = os.environ.get("HR_BIN", "build/headroom")
ENV = dict(os.environ, LC_ALL="C")

fails = []
n = 0


def check(cond, what):
    global n
    n += 1
    if not cond:
        fails.append(what)
        print("FAIL:", what, file=sys.stderr)


def stop(args, sig):
    p = subprocess.Popen([HR_BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=ENV)
    head = os.read(p.stdout.fileno(), 100000)  # raw: communicate() reads the fd itself
    p.send_signal(sig)
    rest, err = p.communicate(timeout=60)
    return p.returncode, (head + rest).decode(), err.decode()


tmp = tempfile.mkdtemp(prefix="hr_stop_")

# ---- lease check over a tree of 20,000 breakers (about 9 lines each).
N_DEV = 20000
tree = os.path.join(tmp, "big.yaml")
with open(tree, "w") as f:
    f.write("version: 1\nname: big\nnodes:\n"
            "  - {id: root, kind: switchgear, parent: null, voltage_v: 600, phases: 3}\n")
    for k in range(N_DEV):
        f.write(f"  - {{id: b{k}, kind: branch, parent: root, device: {{type: trip_unit, "
                f"curve: LSI, in_a: 800, tr_s: 8, isd: 6, tsd_s: 0.2, ii: 12}}}}\n")

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    name = signal.Signals(sig).name
    rc, out, err = stop(["lease", "check", tree], sig)
    check(rc == 128 + sig, f"lease check {name}: exit {rc}: {err!r}")
    last = out.rstrip("\n").splitlines()[-1] if out.strip() else ""
    check(out.endswith("\n") and "device(s) checked" in last and "stopped by a signal" in last,
          f"lease check {name}: the summary closes the output: {out[-160:]!r}")
    done = int(last.split()[0]) if last.split() and last.split()[0].isdigit() else -1
    check(0 < done < N_DEV, f"lease check {name}: {done} of {N_DEV} devices before the stop")
    # every device that was started is finished: its 7 level rows are all there
    check(out.count(" rated 800 A)") == done, f"lease check {name}: one header per device")
    check(f"stopped by signal {int(sig)}" in err, f"lease check {name}: message: {err!r}")

# JSON Lines: whole objects only.
rc, out, err = stop(["lease", "check", tree, "--json"], signal.SIGTERM)
lines = out.splitlines()
check(rc == 128 + signal.SIGTERM and out.endswith("\n") and
      all(l.startswith("{") and l.endswith("}") for l in lines) and len(lines) < 7 * N_DEV,
      f"lease check --json SIGTERM: {rc} {out[-120:]!r} {err!r}")

# ---- plan generate: 2 million rows of a TDP model (a small model file of
# valid checksum, as in test_cli_harden.py).
body = "headroom-plan-model 1\ntdp_w_per_gpu 700\nidle_w_per_gpu 60 train_dt_s 0.1\nlut 0\ngroups 0\n"
model = os.path.join(tmp, "m.model")
with open(model, "w") as f:
    f.write(body + "crc32 %08x\n" % zlib.crc32(body.encode()))
G = ["plan", "generate", "--model-file", model, "--method", "tdp", "--model", "x", "--gpus", "8",
     "--seconds", "200000"]
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    name = signal.Signals(sig).name
    rc, out, err = stop(G, sig)
    lines = out.splitlines()
    check(rc == 128 + sig, f"plan generate {name}: exit {rc}: {err!r}")
    check(out.endswith("\n") and lines[0] == "t_s,power_total_W" and
          all(l.count(",") == 1 and l.endswith(".000") for l in lines[1:]) and
          1 < len(lines) < 2000001,
          f"plan generate {name}: whole rows, fewer than all: {len(lines)} {out[-80:]!r}")
    check(f"stopped by signal {int(sig)}" in err, f"plan generate {name}: message: {err!r}")

# Without a signal, everything: 10 s are 100 rows and the header.
rc = subprocess.run([HR_BIN, *G[:-1], "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    env=ENV, timeout=60)
check(rc.returncode == 0 and len(rc.stdout.splitlines()) == 101,
      f"plan generate 10 s: {rc.returncode} {len(rc.stdout.splitlines())} lines")

# ---- plan fidelity: stops between splits or seeds (its folds are library
# calls that run to their end), prints the rows of the finished ones, exits
# 128 + the signal.  Needs the shared traces.
import time
DATA = os.environ.get("HR_SHARED_DATA", "")
if DATA and os.path.exists(os.path.join(DATA, "power/h100-inference/traces_summary.csv")):
    p = subprocess.Popen([HR_BIN, "plan", "fidelity", "--data", DATA, "--only", "Llama-3.1-8B",
                          "--split", "batch", "--fast", "1", "--seeds", "1000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    time.sleep(3)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=300)
    check(p.returncode == 128 + signal.SIGTERM and b"stopped by signal 15" in err,
          f"plan fidelity SIGTERM: exit {p.returncode}: {err[-200:]!r}")
else:
    print("note: no shared traces; the plan fidelity stop check is skipped")

# ---- headroom sim --report: a run far longer than the test stops at its
# next sample: every file is written for the time simulated so far, with
# whole rows, report.md and the message say it is partial, exit 128 + N.
# (Before the stop was caught, SIGTERM left timeseries.csv cut mid-row and
# no report.)
import csv
import time
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCEN = os.path.join(ROOT, "scenarios", "grid-oscillation.yaml")
for sig in (signal.SIGTERM, signal.SIGINT):
    name = signal.Signals(sig).name
    rep = os.path.join(tmp, f"sim_{name}")
    p = subprocess.Popen([HR_BIN, "sim", SCEN, "--policy", "headroom-band", "--report", rep,
                          "--duration", "200000", "--quiet"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    ts = os.path.join(rep, "timeseries.csv")
    t_end = time.monotonic() + 120
    while time.monotonic() < t_end and p.poll() is None and not (
            os.path.exists(ts) and os.path.getsize(ts) > 20000):
        time.sleep(0.05)
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    err = err.decode()
    check(p.returncode == 128 + sig and out == b"", f"sim {name}: exit {p.returncode} {out!r}")
    check(f"stopped by signal {int(sig)}" in err and "partial" in err and rep in err,
          f"sim {name}: message names the partial files: {err!r}")
    with open(ts, newline="") as f:
        text = f.read()
    rows = list(csv.reader(text.splitlines()))
    check(text.endswith("\n") and len(rows) > 2 and all(len(r) == 11 for r in rows),
          f"sim {name}: timeseries.csv has whole rows: {text[-80:]!r}")
    t_last = float(rows[-1][0])
    check(0 < t_last < 200000, f"sim {name}: stopped inside the run at {t_last}")
    md_path = os.path.join(rep, "report.md")
    md = open(md_path).read() if os.path.exists(md_path) else ""
    check(f"Partial run: stopped by signal {int(sig)} at t = {t_last:.3f} s" in md,
          f"sim {name}: report.md says it is partial, up to the last row's time")
    sum_path = os.path.join(rep, "summary.csv")
    summ = list(csv.DictReader(open(sum_path, newline=""))) if os.path.exists(sum_path) else []
    check(len(summ) == 1 and abs(float(summ[0]["t_s"]) - t_last) < 1e-3,
          f"sim {name}: summary.csv covers the same time: {summ[:1]!r}")

# ---- headroom agent reading a stream from a pipe that stays open: a stop
# signal ends it as the end of the input would (whole JSON lines, the
# closing statistics, exit 128 + N); it was killed outright before.
import json
TREE = os.path.join(ROOT, "examples", "trees", "rack-zone-a1.yaml")
wave = subprocess.run([HR_BIN, "gen", "--seconds", "2", "--f-nom", "60"], capture_output=True,
                      env=ENV, timeout=60).stdout
for sig in (signal.SIGTERM, signal.SIGINT):
    name = signal.Signals(sig).name
    p = subprocess.Popen([HR_BIN, "agent", "--tree", TREE, "--node", "busway-a1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=ENV)
    p.stdin.write(wave)
    p.stdin.flush()
    time.sleep(1.0)  # the agent has read the block and waits for more
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    out, err = out.decode(), err.decode()
    lines = out.splitlines()
    check(p.returncode == 128 + sig, f"agent {name}: exit {p.returncode}: {err!r}")
    check(f"stopped by signal {int(sig)}" in err and "decisions" in err,
          f"agent {name}: statistics and message: {err!r}")
    ok = out.endswith("\n") and len(lines) > 0
    for l in lines:
        try:
            json.loads(l)
        except ValueError:
            ok = False
    check(ok, f"agent {name}: whole JSON lines: {out[-120:]!r}")

# ---- headroom capacity: a stop ends the trial in progress (a 30-day run
# here, which would take hours) rather than waiting for it; the finished
# trials are reported, the search marked stopped, exit 128 + N.
for sig in (signal.SIGTERM, signal.SIGINT):
    name = signal.Signals(sig).name
    rep = os.path.join(tmp, f"cap_{name}")
    p = subprocess.Popen([HR_BIN, "capacity", os.path.join(ROOT, "scenarios", "sync-restart.yaml"),
                          "--policy", "headroom", "--duration", "2592000", "--report", rep],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    time.sleep(2.0)
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(False, f"capacity {name}: still running long after the signal")
        continue
    out, err = out.decode(), err.decode()
    check(p.returncode == 128 + sig, f"capacity {name}: exit {p.returncode}: {err!r}")
    check(f"stopped by signal {int(sig)}" in err and "abandoned" in err,
          f"capacity {name}: message: {err!r}")
    check("search stopped" in out and "0 trials" in out, f"capacity {name}: stdout: {out!r}")
    with open(os.path.join(rep, "capacity.md")) as f:
        check("(search stopped)" in f.read(), f"capacity {name}: capacity.md marks it")
    with open(os.path.join(rep, "trials.csv")) as f:
        check(len(f.read().splitlines()) == 1, f"capacity {name}: no abandoned trial in trials.csv")

if fails:
    print(f"cli stop: {len(fails)} of {n} checks failed")
    raise SystemExit(1)
print(f"cli stop: {n} checks passed")
