"""Writes the benchmark signal: 3P4W + neutral (7 float32 channels), 277 V,
an AI-rack-like current that steps between 35 % and 100 % every 0.75 s with
8-ms ramps, 10 % h3/h5 in the current, small noise.  Deterministic."""
import sys

import numpy as np

path, seconds, fs, f0 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rng = np.random.default_rng(1)
chunk = int(fs * 10)
n_total = int(seconds * fs)
with open(path, "wb") as out:
    for start in range(0, n_total, chunk):
        n = np.arange(start, min(start + chunk, n_total))
        t = n / fs
        phase = (t % 1.5) / 1.5
        level = np.where(phase < 0.5, 0.35 + 0.65 * np.clip(phase * 1.5 / 0.008, 0, 1),
                         1.0 - 0.65 * np.clip((phase - 0.5) * 1.5 / 0.008, 0, 1))
        cols = []
        for k in range(3):
            w = 2 * np.pi * f0 * t - 2 * np.pi * k / 3
            cols.append(277 * np.sqrt(2) * np.sin(w) + rng.normal(0, 0.5, t.size))
        cur = []
        for k in range(3):
            w = 2 * np.pi * f0 * t - 2 * np.pi * k / 3
            cur.append(level * 80 * np.sqrt(2) * (np.sin(w - 0.1) + 0.1 * np.sin(3 * w) + 0.1 * np.sin(5 * w)))
        cols += cur + [-(cur[0] + cur[1] + cur[2])]
        np.stack(cols, axis=1).astype("<f4").tofile(out)
