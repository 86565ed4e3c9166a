"""headroom meter X.cfg measures a COMTRADE recording: its rate, layout,
scaling and start time from the CFG, decimated with an anti-alias filter
when it is faster than the engine's 50 kHz.  The oracle is an independent
NumPy read of the same DAT bytes (C37.111: sample number and timestamp as
uint32, then the analog values; value = a * raw + b, kV as 1000 V): every
interval record's voltage and current RMS equals the RMS of the recording's
own samples over the record's [t, t + dur) window -- to 1e-3 at the
recording's rate (5760 Hz, BINARY int16: the meter's window ends fall
between samples, one sample of 1152 is 9e-4), to 0.5 % after decimating a
100-kHz FLOAT32 fault recording to 50 kHz (the filter removes what lies
above 20 kHz).  Skips (77) without the shared recordings."""
import json
import os
import subprocess
import sys

import numpy as np

HR = os.environ.get("HR_BIN", "build/headroom")
DATA = os.environ.get("HR_SHARED_DATA", "")
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what)


def cfg_channels(path):
    """(n_analog, [(a, b, unit, ph)], rate, start_ns) from a 1999/2013 CFG."""
    lines = open(path, encoding="latin-1").read().splitlines()
    tt = lines[1].split(",")
    na = int(tt[1].strip().rstrip("Aa"))
    ch = []
    for k in range(na):
        f = lines[2 + k].split(",")
        ch.append((float(f[5]), float(f[6]), f[4].strip(), f[2].strip()))
    nd = int(tt[2].strip().rstrip("Dd"))
    at = 2 + na + nd
    nrates = int(lines[at + 1])
    rate = float(lines[at + 2].split(",")[0])
    return na, nd, ch, rate


def read_dat(path, na, nd, fmt):
    raw = np.fromfile(path, dtype=np.uint8)
    width = {"BINARY": 2, "FLOAT32": 4}[fmt]
    rec = 8 + width * na + 2 * ((nd + 15) // 16)
    n = raw.size // rec
    body = raw[: n * rec].reshape(n, rec)[:, 8 : 8 + width * na].copy()
    dt = np.dtype("<i2") if fmt == "BINARY" else np.dtype("<f4")
    return body.view(dt).reshape(n, na).astype(np.float64)


def measure(path, *extra):
    p = subprocess.run([HR, "meter", path, "--records", "interval", *extra],
                       capture_output=True, text=True, timeout=300)
    return p.returncode, [json.loads(x) for x in p.stdout.splitlines()], p.stderr


def compare(path, fmt, tol, label):
    na, nd, ch, rate = cfg_channels(path)
    x = read_dat(path[:-4] + ".dat", na, nd, fmt)
    val = np.empty_like(x)
    for k, (a, b, unit, _) in enumerate(ch):
        val[:, k] = (a * x[:, k] + b) * (1000.0 if unit.lower() in ("kv", "ka") else 1.0)
    rc, recs, err = measure(path)
    check(rc == 0 and len(recs) >= 2, f"{label}: meter {rc} {len(recs)} records {err[-300:]}")
    if not recs:
        return
    # Which channels the meter took: the first voltage and current of phases A, B, C.
    def pick(units):
        got = {}
        for k, (_, _, unit, ph) in enumerate(ch):
            if unit.lower() in units and ph[:1].upper() in "ABC" and ph[:1].upper() not in got:
                got[ph[:1].upper()] = k
        return [got[p] for p in "ABC"]
    u, i = pick(("v", "kv")), pick(("a", "ka"))
    worst, n = 0.0, 0
    for r in recs:
        k0 = (r["t_ns"] - start_ns) * rate / 1e9
        k1 = k0 + r["dur_ns"] * rate / 1e9
        a, b = int(round(k0)), int(round(k1))
        if a < 0 or b > len(val):
            continue
        n += 1
        for q in range(3):
            ref_u = np.sqrt(np.mean(val[a:b, u[q]] ** 2))
            ref_i = np.sqrt(np.mean(val[a:b, i[q]] ** 2))
            worst = max(worst, abs(r["u_rms_v"][q] / ref_u - 1), abs(r["i_rms_a"][q] / ref_i - 1))
    check(n >= 2 and worst <= tol,
          f"{label}: {n} windows, worst relative RMS difference {worst:.2e} > {tol}")
    print(f"{label}: {len(recs)} records, worst relative RMS difference {worst:.2e}")


def main():
    base = os.path.join(DATA, "waveforms", "comtrade")
    t1 = os.path.join(base, "pycomtrade", "test1.cfg")
    f1 = os.path.join(base, "oedisi-transients", "f1_1b274run.cfg")
    if not (os.path.exists(t1) and os.path.exists(f1)):
        print("skip: shared COMTRADE recordings missing (HR_SHARED_DATA)")
        return 77
    global start_ns
    # The start time comes from the CFG: the first record's window starts at
    # the first zero crossing after it, within one cycle.
    for path, fmt, tol, label in ((t1, "BINARY", 1e-3, "test1 5760 Hz"),
                                  (f1, "FLOAT32", 5e-3, "f1 100 kHz -> 50 kHz")):
        rc, recs, err = measure(path)
        start_ns = None
        out = subprocess.run([HR, "capture", "info", "--json", path], capture_output=True,
                             text=True).stdout
        info = json.loads(out)
        import datetime
        st = info["start"]
        sec = datetime.datetime.strptime(st[:19], "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        start_ns = int(sec) * 1000000000 + int(st[20:29])
        check(recs and 0 <= recs[0]["t_ns"] - start_ns < 1e9 / 45, f"{label}: first window "
              f"at {recs[0]['t_ns'] if recs else None}, recording starts {start_ns}")
        compare(path, fmt, tol, label)
    # Refusals: a recording without a voltage channel, and a missing file.
    rc, _, err = measure(os.path.join(base, "pycomtrade", "nonesuch.cfg"))
    check(rc == 1 and "nonesuch.cfg" in err, f"missing recording: {rc} {err}")
    if fails:
        print(f"meter comtrade: {len(fails)} failed")
        return 1
    print("meter comtrade: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
