"""The COMTRADE reader against an independent NumPy read of the same bytes.

For every recording under ../shared/data/waveforms/comtrade (each CFG with its
DAT, the CFGs that ship without a DAT paired with the DAT they describe, the
*_missing.dat variants, and every CFF), this test parses the CFG and the DAT
here with plain Python and NumPy (structured dtypes for the binary formats),
then compares with `headroom capture export`:
  - raw codes bit for bit (missing markers as empty fields on both sides),
  - scaled values a*x+b to 1e-12 relative,
  - sample numbers and raw timestamps exactly, digital states exactly.
Then it converts each recording with `headroom capture convert` to every DAT
format (CFG+DAT and CFF) and checks the round trip: integer-coded sources are
exact in every format that holds their codes; otherwise the error is at most
half a code step.
Skips (exit 77) when ../shared/data is absent."""
import os
import subprocess
import sys
import tempfile

import numpy as np

DATA = os.environ.get("HR_SHARED_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data"))
HR_BIN = os.environ.get("HR_BIN", "build/headroom")
W = os.path.join(DATA, "waveforms", "comtrade")
if not os.path.isdir(W):
    print(f"SKIPPED: {W} not found (this clone has no ../shared/data)")
    sys.exit(77)

fails, n_checks = [], 0


def check(cond, what):
    global n_checks
    n_checks += 1
    if not cond:
        fails.append(what)
        print("FAIL:", what)


def cfg_lines(text):
    text = text.rstrip(b"\x1a\x00")
    return [ln.rstrip(b"\r") for ln in text.split(b"\n")]


def parse_cfg(lines):
    """Independent minimal CFG parse: what the oracle needs."""
    first = lines[0].split(b",")
    rev = int(first[-1]) if len(first) >= 3 and first[-1].strip() in (b"1991", b"1999", b"2013") else 1991
    tt, na, nd = [x.strip() for x in lines[1].split(b",")]
    na, nd = int(na[:-1]), int(nd[:-1])
    analog = []
    for k in range(na):
        f = [x.strip() for x in lines[2 + k].split(b",")]
        analog.append(dict(a=float(f[5]), b=float(f[6]), max=float(f[9])))
    i = 2 + na + nd
    nrates = int(lines[i + 1])
    i += 2 + max(nrates, 1)
    start = lines[i].split(b",")[1]
    frac = len(start.split(b".")[1]) if b"." in start else 0
    fmt = lines[i + 2].strip().upper().decode()
    return dict(rev=rev, na=na, nd=nd, analog=analog, fmt=fmt, frac=frac)


def read_dat(cfg, data):
    na, nd, fmt = cfg["na"], cfg["nd"], cfg["fmt"]
    if fmt == "ASCII":
        rows = []
        for ln in data.rstrip(b"\x1a\x00").splitlines():
            if not ln.strip():
                continue
            f = [x.strip() for x in ln.split(b",")]
            if len(f) == 2 + na + nd + 1 and f[-1] == b"":
                f = f[:-1]
            rows.append(f)
        n = np.array([int(r[0]) for r in rows], dtype=np.int64)
        ts = [int(r[1]) if r[1] else None for r in rows]
        raw = np.full((len(rows), na), np.nan)
        for k, r in enumerate(rows):
            for c in range(na):
                v = r[2 + c]
                if v == b"":
                    continue
                x = float(v)
                if x == 99999.0 and (cfg["rev"] == 1999 or x > cfg["analog"][c]["max"]):
                    continue
                raw[k, c] = x
        dig = np.array([[int(x) for x in r[2 + na:]] for r in rows], dtype=np.int64).reshape(len(rows), nd)
        return n, ts, raw, dig
    words = (nd + 15) // 16
    vt = {"BINARY": "<i2", "BINARY32": "<i4", "FLOAT32": "<f4"}[fmt]
    dt = np.dtype([("n", "<u4"), ("ts", "<u4"), ("a", vt, (na,)), ("d", "<u2", (words,))])
    cnt = len(data) // dt.itemsize
    rec = np.frombuffer(data[: cnt * dt.itemsize], dtype=dt)
    raw = rec["a"].astype(np.float64)
    if fmt == "BINARY":
        raw[rec["a"] == -32768] = np.nan
    elif fmt == "BINARY32":
        raw[rec["a"] == -(2**31)] = np.nan
    ts = [None if t == 0xFFFFFFFF else int(t) for t in rec["ts"]]
    bits = np.zeros((cnt, nd), dtype=np.int64)
    for c in range(nd):
        bits[:, c] = (rec["d"][:, c // 16] >> (c % 16)) & 1
    return rec["n"].astype(np.int64), ts, raw, bits


def split_cff(data):
    lines = data.split(b"\n")
    pos, cfg_txt, dat = 0, None, None
    cfg_start = None
    for ln in lines:
        s = ln.rstrip(b"\r")
        nxt = pos + len(ln) + 1
        if s.startswith(b"-") and b"file type" in s.lower():
            kind = s.lower().split(b"file type")[1].strip(b" :-").upper()
            if cfg_start is not None and cfg_txt is None:
                cfg_txt = data[cfg_start:pos]
            if kind.startswith(b"CFG"):
                cfg_start = nxt
            elif kind.startswith(b"DAT"):
                dat = data[nxt:]
                if b":" in kind:
                    dat = dat[: int(kind.split(b":")[1].strip(b" -"))]
                break
        pos = nxt
    return cfg_txt, dat


def export(path, dat=None, raw=False):
    args = [HR_BIN, "capture", "export", path] + (["--dat", dat] if dat else []) + (["--raw"] if raw else [])
    p = subprocess.run(args, capture_output=True)
    if p.returncode != 0:
        return None, p.stderr.decode(errors="replace")
    lines = p.stdout.decode().splitlines()[1:]
    return [ln.split(",") for ln in lines], ""


def col(rows, k):
    return np.array([float(r[k]) if r[k] != "" else np.nan for r in rows])


def same(a, b):
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def compare(label, path, dat, cfg, n, ts, raw, dig):
    rows, err = export(path, dat, raw=True)
    check(rows is not None, f"{label}: export failed: {err}")
    if rows is None:
        return
    check(len(rows) == len(n), f"{label}: {len(rows)} samples, oracle {len(n)}")
    if len(rows) != len(n):
        return
    na, nd = cfg["na"], cfg["nd"]
    check(same(col(rows, 0), n.astype(float)), f"{label}: sample numbers differ")
    ts_c = [int(r[1]) if r[1] else None for r in rows]
    check(ts_c == ts, f"{label}: raw timestamps differ")
    got = np.stack([col(rows, 3 + c) for c in range(na)], axis=1) if na else np.zeros((len(n), 0))
    check(same(got, raw), f"{label}: raw codes differ")
    if nd:
        gd = np.stack([col(rows, 3 + na + c) for c in range(nd)], axis=1)
        check(same(gd, dig.astype(float)), f"{label}: digital states differ")
    rows_s, _ = export(path, dat)
    a = np.array([ch["a"] for ch in cfg["analog"]])
    b = np.array([ch["b"] for ch in cfg["analog"]])
    want = raw * a + b
    got_s = np.stack([col(rows_s, 3 + c) for c in range(na)], axis=1) if na else want
    ok = np.isnan(want) == np.isnan(got_s)
    fin = ~np.isnan(want)
    ok &= ~fin | (np.abs(got_s - want) <= 1e-12 * np.maximum(1.0, np.abs(want)))
    check(bool(np.all(ok)), f"{label}: scaled values differ (max {np.nanmax(np.abs(got_s - want)) if fin.any() else 0})")
    print(f"ok {label}: {len(n)} samples x {na}A+{nd}D ({cfg['fmt']})")
    return rows_s


def round_trip(label, path, dat, cfg, raw, rows_scaled):
    integer = bool(np.all(np.isnan(raw) | (raw == np.round(raw))))
    absmax = np.nanmax(np.abs(raw)) if raw.size and np.isfinite(raw).any() else 0
    with tempfile.TemporaryDirectory() as td:
        for fmt in ("ascii", "binary", "binary32", "float32"):
            for cff in (False, True):
                base = os.path.join(td, f"rt_{fmt}_{int(cff)}")
                args = [HR_BIN, "capture", "convert", path, base, "--format", fmt]
                args += (["--dat", dat] if dat else []) + (["--cff"] if cff else [])
                if cfg["frac"] > 6:
                    args.append("--ns")
                p = subprocess.run(args, capture_output=True)
                check(p.returncode == 0, f"{label}: convert {fmt} cff={cff}: {p.stderr.decode()}")
                if p.returncode:
                    continue
                out = base + (".cff" if cff else ".cfg")
                check(not any(x.startswith(os.path.basename(base)) and ".tmp." in x for x in os.listdir(td)),
                      f"{label}: temporary file left behind")
                rows, err = export(out)
                check(rows is not None and len(rows) == len(rows_scaled), f"{label}: re-read {fmt}: {err}")
                if rows is None or len(rows) != len(rows_scaled):
                    continue
                na = cfg["na"]
                exact = fmt in ("ascii",) or (integer and (
                    fmt == "binary32" or (fmt == "binary" and absmax <= 32767) or (fmt == "float32" and absmax < 2**24)))
                if fmt == "float32" and not integer:
                    exact = cfg["fmt"] == "FLOAT32"
                for c in range(na):
                    a0 = col(rows_scaled, 3 + c)
                    a1 = col(rows, 3 + c)
                    if exact:
                        check(same(a0, a1), f"{label}: {fmt} cff={cff} channel {c + 1} not exact")
                    else:
                        span = np.nanmax(a0) - np.nanmin(a0) if np.isfinite(a0).any() else 0
                        lim = span / (2 * (32767 if fmt == "binary" else 2147483647)) * 1.01 + 1e-300
                        if fmt == "float32":
                            lim = np.nanmax(np.abs(a0)) * 2**-24 if np.isfinite(a0).any() else 0
                        err_ = np.nanmax(np.abs(a1 - a0)) if np.isfinite(a0).any() else 0
                        check(err_ <= lim, f"{label}: {fmt} cff={cff} channel {c + 1} error {err_} > {lim}")
                for k in (0, 2):  # sample numbers, timestamps
                    check([r[k] for r in rows] == [r[k] for r in rows_scaled],
                          f"{label}: {fmt} column {k} changed")
                if cfg["nd"]:
                    check([r[3 + na:] for r in rows] == [r[3 + na:] for r in rows_scaled],
                          f"{label}: {fmt} digital changed")


cases = []
for d in sorted(os.listdir(W)):
    for f in sorted(os.listdir(os.path.join(W, d))):
        p = os.path.join(W, d, f)
        if f.lower().endswith(".cff"):
            cases.append((f"{d}/{f}", p, None))
        elif f.lower().endswith(".cfg"):
            stem = p[:-4]
            if os.path.exists(stem + ".dat"):
                cases.append((f"{d}/{f}", p, None))
            else:  # CFGs shipped without their DAT describe sample_ascii.dat
                cases.append((f"{d}/{f}+sample_ascii.dat", p, os.path.join(W, d, "sample_ascii.dat")))
        elif f.lower().endswith("_missing.dat"):
            cfgp = os.path.join(W, d, f.replace("_missing.dat", ".cfg"))
            cases.append((f"{d}/{f}", cfgp, p))

check(len(cases) >= 16, f"only {len(cases)} recordings found")
for label, path, dat in cases:
    raw_bytes = open(path, "rb").read()
    if path.lower().endswith(".cff"):
        cfg_txt, dat_bytes = split_cff(raw_bytes)
    else:
        cfg_txt, dat_bytes = raw_bytes, open(dat or path[:-4] + ".dat", "rb").read()
    cfg = parse_cfg(cfg_lines(cfg_txt))
    n, ts, raw, dig = read_dat(cfg, dat_bytes)
    rows = compare(label, path, dat, cfg, n, ts, raw, dig)
    if rows is not None:
        round_trip(label, path, dat, cfg, raw, rows)

# The missing-value files really hold markers, and the reader saw them.
for label, path, dat in cases:
    if "missing" in label:
        rows, _ = export(path, dat, raw=True)
        check(rows is not None and any(x == "" for r in rows for x in r[3:]), f"{label}: no missing values seen")

print(f"{n_checks} checks, {len(fails)} failures")
sys.exit(1 if fails else 0)
