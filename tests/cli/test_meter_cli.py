"""headroom meter on bad input: every problem gives a clear message naming
where it is, and nothing already accepted is lost."""
import json
import os
import subprocess
import tempfile

import numpy as np

HR_BIN = os.environ.get("HR_BIN", "build/headroom")
fails, n = [], 0


def check(cond, what):
    global n
    n += 1
    if not cond:
        fails.append(what)
        print("FAIL:", what)


def meter(data, *args):
    p = subprocess.run([HR_BIN, "meter", "--quiet", "--f-nom", "50", "--u-din", "230", *args],
                       input=data, capture_output=True, timeout=60)
    recs = [json.loads(x) for x in p.stdout.decode().splitlines() if x]
    return p.returncode, recs, p.stderr.decode()


fs, f0 = 8000, 50.0
t = np.arange(int(fs * 1.0)) / fs
cols = [230 * np.sqrt(2) * np.sin(2 * np.pi * f0 * t - 2 * np.pi * k / 3) for k in range(3)]
cols += [10 * np.sqrt(2) * np.sin(2 * np.pi * f0 * t - 2 * np.pi * k / 3) for k in range(3)]
x = np.stack(cols, axis=1).astype("<f4")

# Truncated raw stream: 1 s of frames plus 5 stray bytes.
rc, recs, err = meter(x.tobytes() + b"\x01\x02\x03\x04\x05", "--records", "cycle")
check(rc == 1, f"truncated stream exits 1 (got {rc})")
check(str(x.nbytes) in err and "5" in err, f"truncation message names offset {x.nbytes}: {err!r}")
check(len(recs) >= 45, f"cycles before the truncation are kept: {len(recs)}")

# CSV with a wrong channel count on one line.
with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    f.write("ua_v,ub_v,uc_v,ia_a,ib_a,ic_a\n")
    for k in range(4000):
        f.write(",".join(f"{v:.4f}" for v in x[k]) + "\n")
    f.write("1,2,3,4,5\n")
    path = f.name
rc, recs, err = meter(b"", "--format", "csv", "--records", "cycle", path)
check(rc == 1 and "4002" in err and "5" in err and path in err,
      f"CSV channel count error names file, line 4002 and the count: {err!r}")
check(len(recs) >= 20, f"cycles before the bad CSV line are kept: {len(recs)}")
rc, recs2, err = meter(b"", "--format", "csv", "--skip-bad-lines", "--records", "cycle", path)
check(rc == 0 and "skipped" in err, f"--skip-bad-lines goes on and says so: {rc} {err!r}")
os.unlink(path)

# NaN samples: flagged records and a message with the frame and channel.
y = x.copy()
y[4000, 4] = np.nan
rc, recs, err = meter(y.tobytes(), "--records", "cycle")
bad = [r for r in recs if "bad_sample" in r["flags"]]
check(rc == 0 and "frame 4000" in err and "channel 4" in err, f"NaN reported: {err!r}")
check(1 <= len(bad) <= 2, f"only the cycles over the NaN are flagged: {len(bad)}")
check(all(v is not None for r in recs for v in r["i_rms_a"]), "no NaN leaks into records")

# No zero crossings at all (a DC signal): flagged records, a message, no hang.
z = np.ones_like(x) * 50
rc, recs, err = meter(z.tobytes(), "--records", "cycle")
check(rc == 0 and "zero crossing" in err, f"no-crossing message: {err!r}")
check(recs and all("no_zc" in r["flags"] for r in recs), "every cycle flagged no_zc")

# Frequency far outside the range: 100 Hz into a 50 Hz meter.
w = np.stack([230 * np.sqrt(2) * np.sin(2 * np.pi * 100 * t - 2 * np.pi * k / 3) for k in range(3)] +
             [np.zeros_like(t)] * 3, axis=1).astype("<f4")
rc, recs, err = meter(w.tobytes(), "--records", "cycle")
flagged = [r for r in recs if "freq_range" in r["flags"]]
check(rc == 0 and len(flagged) >= len(recs) - 2, f"100 Hz flagged out of range: {len(flagged)}/{len(recs)}")

# Bad options name the option.
rc, _, err = meter(b"", "--fs", "abc")
check(rc == 2 and "--fs" in err, f"bad --fs: {err!r}")
rc, _, err = meter(b"", "--fs", "1000")
check(rc == 2 and "fs_hz" in err, f"out-of-range fs: {err!r}")
rc, _, err = meter(b"", "--alarm", "bogus>3")
check(rc == 2 and "--alarm" in err, f"bad alarm: {err!r}")
rc, _, err = meter(b"", "/nonexistent/file")
check(rc == 1 and "/nonexistent/file" in err, f"missing file: {err!r}")

# int16 input with a scale, clipping flagged.
codes = np.clip(np.round(x / np.array([0.012] * 3 + [0.0004] * 3)), -32768, 32767).astype("<i2")
rc, recs, err = meter(codes.tobytes(), "--format", "i16le", "--scale-u", "0.012", "--scale-i", "0.0004",
                      "--records", "cycle")
late = [r["u_rms_v"][0] for r in recs if r["t_ns"] > 300_000_000]
check(rc == 0 and late and abs(np.median(late) - 230) < 0.23, f"i16 scaling: {late[:3]}")
check(any("clipped" in r["flags"] for r in recs), "i16 current at full scale flagged clipped")

if fails:
    print(f"meter cli: {len(fails)} of {n} checks failed")
    raise SystemExit(1)
print(f"meter cli: {n} checks passed")
