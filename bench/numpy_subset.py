"""Vectorised NumPy baseline for bench/run.sh: per-cycle RMS of every channel,
per-cycle active power per phase and per-cycle frequency from interpolated
rising zero crossings of channel 0.  Prints best-of-N samples per second."""
import sys
import time

import numpy as np


def subset(x, fs):
    u0 = x[:, 0]
    s = np.signbit(u0)
    idx = np.nonzero(s[:-1] & ~s[1:])[0]               # rising crossings between idx and idx+1
    a, b = u0[idx], u0[idx + 1]
    pos = idx + a / (a - b)                              # interpolated positions
    freq = fs / np.diff(pos)
    edges = idx + 1
    sq = np.add.reduceat(x[edges[0]:edges[-1]] ** 2, edges[:-1] - edges[0], axis=0)
    n = np.diff(edges)[:, None]
    rms = np.sqrt(sq / n)
    p = np.add.reduceat(x[edges[0]:edges[-1], 0:3] * x[edges[0]:edges[-1], 3:6],
                        edges[:-1] - edges[0], axis=0) / n
    return rms, p, freq


def main():
    path, fs, repeats = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 5
    x = np.fromfile(path, dtype="<f4").reshape(-1, 7)
    best = 1e30
    for _ in range(repeats):
        t0 = time.perf_counter()
        rms, p, freq = subset(x, fs)
        best = min(best, time.perf_counter() - t0)
    print(f"numpy subset samples_per_s={x.size / best:.4g} cycles={len(freq)}")


if __name__ == "__main__":
    main()
