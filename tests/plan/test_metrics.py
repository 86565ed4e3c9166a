"""Fidelity metrics of `headroom plan metrics` against NumPy/SciPy.

The oracle follows the paper's definitions, written here independently:
  * energy error: 100 |sum gen - sum gt| / sum gt per trace, averaged;
  * ACF: mean removed, normalised by lag 0 (biased estimator), lags 1..50,
    ACF vectors averaged over traces first, then one R^2;
  * KS: scipy.stats.ks_2samp statistic on the pooled samples;
  * NRMSE: RMSE / (max - min of gt) per trace, averaged;
  * p95/p99: numpy.quantile (linear) on pooled samples, relative error;
  * ramps: |diff| of block means over ramp_dt, max and p99.
Also checks the CLI's located errors on bad workload CSVs.
Exit 77 (skipped) when the binary is missing.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import stats

SKIP = 77
LAGS = 50


def acf(x):
    x = np.asarray(x, float) - np.mean(x)
    c0 = np.dot(x, x)
    return np.array([np.dot(x[:-k], x[k:]) / c0 for k in range(1, LAGS + 1)])


def ramps(x, m, dt):
    nb = len(x) // m
    b = np.asarray(x[: nb * m]).reshape(nb, m).mean(axis=1)
    return np.abs(np.diff(b)) / (m * dt)


def oracle(pairs, dt, ramp_dt):
    e = np.mean([100 * abs(g.sum() - t.sum()) / t.sum() for t, g in pairs])
    a_t = np.mean([acf(t) for t, _ in pairs], axis=0)
    a_g = np.mean([acf(g) for _, g in pairs], axis=0)
    r2 = 1 - np.sum((a_t - a_g) ** 2) / np.sum((a_t - a_t.mean()) ** 2)
    pt = np.concatenate([t for t, _ in pairs])
    pg = np.concatenate([g for _, g in pairs])
    ks = stats.ks_2samp(pt, pg).statistic
    nrmse = np.mean([np.sqrt(np.mean((t - g) ** 2)) / (t.max() - t.min()) for t, g in pairs])
    q = lambda x, p: np.quantile(x, p)
    p95 = 100 * abs(q(pg, .95) - q(pt, .95)) / q(pt, .95)
    p99 = 100 * abs(q(pg, .99) - q(pt, .99)) / q(pt, .99)
    m = int(round(ramp_dt / dt))
    rt = np.concatenate([ramps(t, m, dt) for t, _ in pairs])
    rg = np.concatenate([ramps(g, m, dt) for _, g in pairs])
    rp = 100 * abs(q(rg, .99) - q(rt, .99)) / q(rt, .99)
    return dict(energy_err_pct=e, acf_r2=r2, ks=ks, nrmse=nrmse, p95_err_pct=p95,
                p99_err_pct=p99, ramp_gt_w_per_s=rt.max(), ramp_gen_w_per_s=rg.max(),
                ramp_p99_err_pct=rp)


def ar1(rng, n, mu, phi, sd):
    x = np.empty(n)
    x[0] = mu
    for i in range(1, n):
        x[i] = mu + phi * (x[i - 1] - mu) + rng.normal(0, sd)
    return x


def main():
    hr = os.environ.get("HR_BIN")
    if not hr or not os.path.exists(hr):
        print("skip: HR_BIN not set or missing")
        return SKIP
    rng = np.random.default_rng(5)
    fails = 0
    with tempfile.TemporaryDirectory() as d:
        for case in range(3):
            pairs = []
            for k in range(3):
                n = int(rng.integers(300, 900))
                t = ar1(rng, n, 2000 + 300 * k, 0.9, 40)
                g = ar1(rng, n, 2050 + 300 * k, 0.7 + 0.1 * case, 50)
                if case == 2:  # ties: quantised power, as meters report it
                    t, g = np.round(t, -1), np.round(g, -1)
                pairs.append((t, g))
            files = []
            for j, (t, g) in enumerate(pairs):
                for name, x in (("gt", t), ("gen", g)):
                    p = os.path.join(d, f"{name}{case}_{j}.txt")
                    np.savetxt(p, x, fmt="%.10f")
                    files.append(p)
            out = subprocess.run([hr, "plan", "metrics", "--dt", "0.25", "--ramp-dt", "1"] + files,
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print("metrics failed:", out.stderr)
                return 1
            got = json.loads(out.stdout)
            want = oracle(pairs, 0.25, 1.0)
            for key, v in want.items():
                if not np.isclose(got[key], v, rtol=1e-7, atol=1e-9):
                    print(f"case {case} {key}: got {got[key]} want {v}")
                    fails += 1
            for j, (t, _) in enumerate(pairs):
                if not np.allclose(got["acf_gt"][j], acf(t), atol=1e-9):
                    print(f"case {case} acf {j} differs")
                    fails += 1
        # Constant output has no ACF: reported as null, not a number.
        c = os.path.join(d, "const.txt")
        np.savetxt(c, np.full(200, 5.0))
        np.savetxt(os.path.join(d, "v.txt"), ar1(rng, 200, 5, 0.5, 1))
        out = subprocess.run([hr, "plan", "metrics", os.path.join(d, "v.txt"), c],
                             capture_output=True, text=True)
        if out.returncode != 0 or json.loads(out.stdout)["acf_r2"] is not None:
            print("constant series: acf_r2 should be null", out.stdout, out.stderr)
            fails += 1
        # Located errors from the workload loader.
        bad = os.path.join(d, "bad.csv")
        with open(bad, "w") as f:
            f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                    "2023-11-16 18:15:46.1,3,4\n2023-11-16 18:15:47.1,3,-4\n")
        out = subprocess.run([hr, "plan", "workload", "--csv", bad], capture_output=True, text=True)
        if out.returncode != 1 or f"{bad}:3:3:" not in out.stderr:
            print("bad csv: want file:3:3 in", repr(out.stderr))
            fails += 1
    print("ok" if fails == 0 else f"{fails} failures")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
