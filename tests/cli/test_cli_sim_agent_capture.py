"""sim, agent and capture on the shared option parser: every refused option
is named, with its valid range or values, exit 2; --opt=value, --, - for
standard input and --help behave as in every other subcommand (docs/cli.md)."""
import csv
import io
import json
import os
import subprocess
import tempfile

HR_BIN = os.path.abspath(os.environ.get("HR_BIN", "build/headroom"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TREE = os.path.join(ROOT, "examples", "trees", "rack-zone-a1.yaml")
SCEN = os.path.join(ROOT, "scenarios", "checkpoint-storm.yaml")
fails, n = [], 0


def check(cond, what):
    global n
    n += 1
    if not cond:
        fails.append(what)
        print("FAIL:", what)


def hr(*args, data=b"", cwd=None):
    p = subprocess.run([HR_BIN, *args], input=data, capture_output=True, timeout=120, cwd=cwd)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def refused(args, *words):
    """Exit 2 and one message on stderr naming every word (option, range)."""
    rc, out, err = hr(*args)
    check(rc == 2 and all(w in err for w in words) and not out,
          f"headroom {' '.join(args)}: {rc} {err!r} (expected 2 naming {words})")


tmp = tempfile.mkdtemp()
report = os.path.join(tmp, "report")

# ---- refusals: the option and its range or its values.
refused(["sim", SCEN, "--policy", "nonesuch", "--report", report], "--policy", "static70", "headroom")
refused(["sim", SCEN, "--policy", "none", "--report", report, "--gpus", "-1"],
        "--gpus", "[0, 16777216]")
refused(["sim", SCEN, "--policy", "none", "--report", report, "--gpus=1.5"], "--gpus", "whole")
refused(["sim", SCEN, "--policy", "none", "--report", report, "--gpus", "nan"], "--gpus")
refused(["sim", SCEN, "--report", report], "--policy", "required")
refused(["sim", SCEN, "--policy", "none"], "--report", "required")
refused(["sim", "--policy", "none", "--report", report], "no scenario")
refused(["sim", SCEN, SCEN, "--policy", "none", "--report", report], "unexpected argument")
refused(["sim", SCEN, "--bogus"], "unknown option --bogus")
refused(["sim", SCEN, "--policy"], "missing value: --policy")
refused(["sim", SCEN, "--quiet=1"], "--quiet", "takes no value")

A = ["agent", "--tree", TREE, "--node", "busway-a1"]
refused(A + ["--fs", "100"], "--fs", "2000 and 50000")
refused(A + ["--f-nom=55"], "--f-nom", "50 or 60")
refused(A + ["--u-din", "-5"], "--u-din")
refused(A + ["--fs", "inf"], "--fs", "not a number")
refused(A + ["--csv-skip-columns", "65"], "--csv-skip-columns", "[0, 64]")
refused(A + ["--layout", "2p2w"], "--layout", "3p4w")
refused(A + ["--format", "f64"], "--format", "f32le", "i16le", "csv")
refused(A + ["--policy", "nonesuch"], "--policy", "thunderbolt")
refused(A + ["--actuator", "gpio"], "--actuator", "nvml", "rapl")
refused(["agent", "--node", "busway-a1"], "--tree", "required")
refused(["agent", "--tree", TREE], "--node", "required")
refused(["agent", "--tree", "-", "--node", "busway-a1"], "--tree", "--input")
refused(A + ["extra"], "unexpected argument 'extra'")
refused(A + ["--bogus"], "unknown option --bogus")

refused(["capture", "convert", "x.cfg", "out", "--format", "float64"], "--format", "ascii", "binary32")
refused(["capture", "convert", "x.cfg"], "2 operands")
refused(["capture", "list", "--raw", tmp], "unknown option --raw")
refused(["capture", "info", "a.cfg", "b.cfg"], "unexpected argument 'b.cfg'")
refused(["capture", "export", "a.cfg", "--dat"], "missing value: --dat")
refused(["capture", "nonesuch"], "unknown subcommand 'nonesuch'")
rc, _, err = hr("capture")
check(rc == 2 and "list" in err and "convert" in err, f"capture with no subcommand: {rc} {err!r}")

# ---- --help: exit 0, on standard output, generated from the table.
for args, opt in [(["sim"], "--gpus"), (["agent"], "--csv-skip-columns"),
                  (["capture", "export"], "--raw"), (["capture", "convert"], "--ns")]:
    rc, out, _ = hr(*args, "--bogus", "--help")
    check(rc == 0 and out.startswith("usage: headroom " + " ".join(args)) and opt in out,
          f"{' '.join(args)} --help: {rc} {out[:80]!r}")

# ---- sim: --opt=value and a scenario on standard input, a tree path from the
# current folder.
with open(SCEN, "rb") as f:
    scen = f.read().replace(b"duration_s: 120", b"duration_s: 2")
rc, out, err = hr("sim", "-", "--policy=none", f"--report={report}", "--quiet", data=scen,
                  cwd=os.path.join(ROOT, "scenarios"))
check(rc == 0 and "trips 0" in out and os.path.exists(os.path.join(report, "summary.csv")),
      f"sim - --policy=none: {rc} {out!r} {err[-300:]!r}")

# ---- sim --json: the closing summary as one JSON object, the same numbers as
# summary.csv.
rc, out, err = hr("sim", "-", "--policy=none", f"--report={report}", "--quiet", "--json",
                  data=scen, cwd=os.path.join(ROOT, "scenarios"))
try:
    js = json.loads(out)
    with open(os.path.join(report, "summary.csv")) as f:
        row = next(csv.DictReader(f))
    same = all(abs(float(row[k]) - float(js[k])) <= 1e-6 * max(1.0, abs(float(row[k])))
               for k in ("gpus", "t_s", "trips", "work_frac", "energy_kwh", "max_site_kw",
                         "decisions", "caps_set"))
    check(rc == 0 and same and js["policy"] == "none", f"sim --json: {js} vs {row}")
except (ValueError, StopIteration, KeyError) as e:
    check(False, f"sim --json: {rc} {out!r} {e}")

# ---- agent: the tree from standard input, the waveform from a file; "--"
# ends the options (no operands are taken, so one after it is refused).
wave = subprocess.run([HR_BIN, "gen", "--seconds", "0.05"], capture_output=True, timeout=60).stdout
wpath = os.path.join(tmp, "w.f32")
with open(wpath, "wb") as f:
    f.write(wave)
with open(TREE, "rb") as f:
    tree = f.read()
rc, out, err = hr("agent", "--tree", "-", "--node", "busway-a1", f"--input={wpath}", data=tree)
check(rc == 0 and '"cap_w"' in out and "steps" in err, f"agent --tree -: {rc} {err[-300:]!r}")
refused(A + ["--", "--input"], "unexpected argument '--input'")
# headroom-smooth sends each GPU its smoothing profile; the stand-alone
# simulated GPUs have no power smoothing: every one refuses, the agent runs
# on and its summary says how many and why, naming a GPU.
rc, out, err = hr(*A, "--policy", "headroom-smooth", f"--input={wpath}")
check(rc == 0 and '"cap_w"' in out and "refused the power-smoothing profile" in err
      and "simgpu device 0" in err and "no power smoothing" in err,
      f"agent --policy headroom-smooth: {rc} {err[-400:]!r}")
refused(A + ["--policy", "headroom-admit"], "--policy", "simulator only")
# supply losses and base loads: the ranges, a base that leaves the GPUs'
# floors no room under the servers' 5.8-kW ratings (4.64 kW continuous,
# floors 4 x 360 W) refused naming the option, one that fits runs.
refused(A + ["--budget-eff", "0.4"], "--budget-eff", "0.5")
refused(A + ["--server-base-w", "-1"], "--server-base-w")
rc, out, err = hr(*A, "--server-base-w", "4000", f"--input={wpath}")
check(rc == 2 and "--server-base-w" in err and "4000 W" in err,
      f"agent --server-base-w 4000: {rc} {err[-300:]!r}")
rc, out, err = hr(*A, "--server-base-w", "1000", "--budget-eff", "0.9", f"--input={wpath}")
check(rc == 0 and '"cap_w"' in out, f"agent --server-base-w 1000: {rc} {err[-300:]!r}")
# the ramp envelopes' settings: the marginal efficiency and the base's rise
refused(A + ["--budget-eff-ramp", "0.05"], "--budget-eff-ramp", "0.1..1")
refused(A + ["--budget-eff-ramp", "1.5"], "--budget-eff-ramp")
refused(A + ["--base-per-w", "-1"], "--base-per-w")
refused(A + ["--base-per-w", "nan"], "--base-per-w")
rc, out, err = hr(*A, "--budget-eff", "0.9", "--budget-eff-ramp", "0.82", "--base-per-w", "0.2",
                  f"--input={wpath}")
check(rc == 0 and '"cap_w"' in out,
      f"agent --budget-eff-ramp 0.82 --base-per-w 0.2: {rc} {err[-300:]!r}")
# a meter's troughs: the highest marginal efficiency (not below the lowest)
# and the readings' window (not beyond the stale time)
refused(A + ["--budget-eff-marg-max", "2.5"], "--budget-eff-marg-max")
refused(A + ["--budget-eff", "0.9", "--budget-eff-marg-max", "0.8"], "--budget-eff-marg-max",
        "below the lowest marginal efficiency")
refused(A + ["--telemetry-window-ms", "-1"], "--telemetry-window-ms")
refused(A + ["--telemetry-window-ms", "1e5"], "--telemetry-window-ms", "stale")
rc, out, err = hr(*A, "--budget-eff", "0.9", "--budget-eff-marg-max", "1.03",
                  "--telemetry-window-ms", "25", f"--input={wpath}")
check(rc == 0 and '"cap_w"' in out,
      f"agent --budget-eff-marg-max 1.03 --telemetry-window-ms 25: {rc} {err[-300:]!r}")

# ---- capture: the CFG on standard input with --dat, the same CSV as from the file.
DATA = os.environ.get("HR_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
cfg = os.path.join(DATA, "waveforms", "comtrade", "comtrade-io", "ascii_1991.cfg")
if os.path.exists(cfg):
    dat = cfg[:-4] + ".dat"
    rc1, a, _ = hr("capture", "export", cfg)
    with open(cfg, "rb") as f:
        rc2, b, err = hr("capture", "export", "-", "--dat", dat, "-o", "-", data=f.read())
    check(rc1 == 0 and rc2 == 0 and a == b and a, f"capture export - --dat: {rc1} {rc2} {err!r}")
    with open(dat, "rb") as f:
        rc3, c, err = hr("capture", "export", cfg, "--dat=-", data=f.read())
    check(rc3 == 0 and c == a, f"capture export --dat -: {rc3} {err!r}")
    # --json: list gives one object per recording with the CSV's values, info
    # one object with every channel.
    folder = os.path.dirname(cfg)
    rc1, a, _ = hr("capture", "list", folder)
    rc2, b, err = hr("capture", "list", "--json", folder)
    rows = list(csv.DictReader(io.StringIO(a)))
    objs = [json.loads(x) for x in b.splitlines()]
    check(rc1 == rc2 and len(rows) == len(objs) and len(rows) > 0 and
          all(r["name"] == o["name"] and int(r["samples"]) == o["samples"] and
              r["format"] == o["format"] for r, o in zip(rows, objs)),
          f"capture list --json: {rc1} {rc2} {len(rows)} {len(objs)} {err!r}")
    rc, out, err = hr("capture", "info", "--json", cfg)
    try:
        js = json.loads(out)
        check(rc == 0 and len(js["channels"]) == js["analog"] + js["digital"] and
              js["samples"] > 0, f"capture info --json: {js}")
    except ValueError as e:
        check(False, f"capture info --json: {rc} {out!r} {e}")
    refused(["capture", "info", "-"], "--dat", "must name the DAT")
    refused(["capture", "export", "-", "--dat", "-"], "--dat", "must name the DAT")
else:
    print("note: no shared COMTRADE data; the standard-input checks of capture are skipped")

if fails:
    print(f"cli sim/agent/capture: {len(fails)} of {n} checks failed")
    raise SystemExit(1)
print(f"cli sim/agent/capture: {n} checks passed")
