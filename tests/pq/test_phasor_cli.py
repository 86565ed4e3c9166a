"""headroom meter --records phasor: synchrophasor records through the command.

A 3P3W stream (line-to-line voltages, which the C tests do not use) at 7680 Hz
and 50.7 Hz nominal 50, starting 0.3 s after a whole second, built with NumPy
from closed form; the truth of every channel's phasor (the sum of the two
phase phasors for a line-to-line voltage), frequency and ROCOF at each report
time is computed here.  Checks: reports at every S + n/25 s inside the
stream, P-class limits of IEEE C37.118.1-2011 Table 3 / 1a-2014 Table 4
(TVE 1 %, FE 0.005 Hz, RFE 0.4 Hz/s) on every channel and the positive
sequences, the M class option, and the refusal of a rate the standard does
not have for 50 Hz."""
import json
import os
import subprocess
import sys

import numpy as np

HR_BIN = os.environ.get("HR_BIN", os.path.join(os.path.dirname(__file__), "../../build/headroom"))
S0 = 1_700_000_000
OFF = 0.3
FS, F0, F, RATE = 7680.0, 50.0, 50.7, 25
U, I, PHI0, LAG = 400.0 / np.sqrt(3), 20.0, 0.4, 0.35

fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what)


def signal(seconds):
    t = OFF + np.arange(int(seconds * FS)) / FS
    th = 2 * np.pi * F * t + PHI0
    ua, ub, uc = (np.sqrt(2) * U * np.cos(th - k * 2 * np.pi / 3) for k in range(3))
    cur = [np.sqrt(2) * I * np.cos(th - k * 2 * np.pi / 3 - LAG) for k in range(3)]
    x = np.stack([ua - ub, ub - uc, uc - ua] + cur, axis=1).astype(np.float32)
    return x


def truth(t):
    """Phasors (uab, ubc, uca, ia, ib, ic) at t [s from S0]."""
    base = np.exp(1j * (2 * np.pi * (F - F0) * t + PHI0))
    a = np.exp(-2j * np.pi / 3)
    ph = [U * base * a**k for k in range(3)]
    u = [ph[0] - ph[1], ph[1] - ph[2], ph[2] - ph[0]]
    i = [I * base * a**k * np.exp(-1j * LAG) for k in range(3)]
    return u, i


def run(args, x):
    return subprocess.run([HR_BIN, "meter", "--quiet", "--layout", "3p3w", "--fs", str(FS), "--f-nom",
                           str(F0), "--u-din", "400", "--t0-ns", str(S0 * 10**9 + int(OFF * 1e9))] + args +
                          ["-"], input=x.tobytes(), capture_output=True)


def tve(mag, deg, z):
    return abs(mag * np.exp(1j * np.radians(deg)) - z) / abs(z)


x = signal(2.0)
p = run(["--records", "phasor", "--phasor-rate", str(RATE)], x)
check(p.returncode == 0, f"meter exit {p.returncode}: {p.stderr.decode()}")
recs = [json.loads(line) for line in p.stdout.decode().splitlines()]
check(all(r["type"] == "phasor" and r["class"] == "P" and r["rate_fps"] == RATE for r in recs),
      "only P-class phasor records at the rate asked for")
times = np.array([(r["t_ns"] - S0 * 10**9) * 1e-9 for r in recs])
n = np.round(times * RATE)
check(np.all(np.abs(times - n / RATE) < 2e-9), "reports at S + n/rate")
check(np.all(np.diff(n) == 1), "no report missing")
# The window (2 cycles) and the frequency step (half a cycle either side) fit in the stream.
first = np.ceil((OFF + 1.5 / F0) * RATE) / RATE
last = np.floor((OFF + (len(x) - 2) / FS - 1.5 / F0) * RATE) / RATE
check(abs(times[0] - first) < 1e-6 and times[-1] <= last + 1e-6 and times[-1] >= last - 1.0 / RATE - 1e-6,
      f"first/last report {times[0]:.4f}/{times[-1]:.4f}, expected {first:.4f}/{last:.4f}")
worst_tve = worst_fe = worst_rfe = 0.0
for r, t in zip(recs, n / RATE):
    u, i = truth(t)
    for c in range(3):
        worst_tve = max(worst_tve, tve(r["u_mag_v"][c], r["u_ang_deg"][c], u[c]),
                        tve(r["i_mag_a"][c], r["i_ang_deg"][c], i[c]))
    worst_tve = max(worst_tve, tve(r["u_pos_mag_v"], r["u_pos_ang_deg"], u[0]),
                    tve(r["i_pos_mag_a"], r["i_pos_ang_deg"], i[0]))
    worst_fe = max(worst_fe, abs(r["freq_hz"] - F))
    worst_rfe = max(worst_rfe, abs(r["rocof_hz_per_s"]))
print(f"P 3P3W {F} Hz fs {FS} {RATE}/s: {len(recs)} reports, worst TVE {100 * worst_tve:.4f} %, "
      f"FE {worst_fe:.5f} Hz, RFE {worst_rfe:.4f} Hz/s")
check(worst_tve <= 0.01 and worst_fe <= 0.005 and worst_rfe <= 0.4, "P-class limits")
check(len(recs) >= 40, f"{len(recs)} reports")

p = run(["--records", "phasor", "--phasor-rate", "50", "--phasor-class", "m"], x)
recs = [json.loads(line) for line in p.stdout.decode().splitlines()]
check(p.returncode == 0 and recs and all(r["class"] == "M" for r in recs), "M class through --phasor-class m")
if recs:
    t = round((recs[0]["t_ns"] - S0 * 10**9) * 1e-9 * 50) / 50
    u, _ = truth(t)
    w = tve(recs[0]["u_pos_mag_v"], recs[0]["u_pos_ang_deg"], u[0])
    print(f"M 3P3W first report: TVE {100 * w:.4f} %, FE {abs(recs[0]['freq_hz'] - F):.5f} Hz")
    check(w <= 0.01 and abs(recs[0]["freq_hz"] - F) <= 0.005, "M-class first report")

p = run(["--records", "phasor", "--phasor-rate", "60"], x)
err = p.stderr.decode()
check(p.returncode == 2 and "--phasor-rate" in err and "10, 25 or 50" in err, f"60/s at 50 Hz refused: {err}")

if fails:
    print(f"test_phasor_cli: {len(fails)} checks failed")
    sys.exit(1)
print("test_phasor_cli: all checks passed")
