"""`headroom plan fidelity` on more runs than any fixed table would hold (70),
with labels that share a long prefix and runs that differ only in their GPU
count: every run gets its own row and its own --dump file, the labels are
not cut, and the summary row pools all 70 runs (its mean energy error is the
mean NumPy computes over the dumped series); --train/--test; --seeds N gives
the mean and standard deviation of N one-seed runs.  The traces are synthetic (an
AR(1) process around a level per run, 300 samples); the Splitwise table comes
from the shared data.  Skips (77) without the binary or data."""
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np

from plantest import SKIP, binary_and_data, finish

LABELS = ["Synthetic-Model-Long-Name-Alpha", "Synthetic-Model-Long-Name-Beta"]


def main():
    found = binary_and_data("power/splitwise-lut/perf_model.csv")
    if not found:
        return SKIP
    hr, _, lut = found
    rng = np.random.default_rng(7)
    fails = []
    with tempfile.TemporaryDirectory() as d:
        root = os.path.join(d, "power", "h100-inference")
        os.makedirs(os.path.join(root, "traces"))
        runs = []
        for label in LABELS:
            for gpus in (1, 2, 4, 8, 16):
                for bs in (1, 2, 4, 8, 16, 32, 64):
                    runs.append((label, gpus, bs))
        with open(os.path.join(root, "traces_summary.csv"), "w") as f:
            f.write("model_label,num_gpus,max_num_seqs,trace_file\n")
            for label, gpus, bs in runs:
                name = f"traces/{label}_num_gpus_{gpus}_max_num_seqs_{bs}.csv"
                level = gpus * (150.0 + 40.0 * np.log2(bs)) * (1.2 if label.endswith("a") else 1.0)
                x = np.empty(300)
                x[0] = 0.0
                e = rng.normal(0.0, 0.05 * level, 300)
                for i in range(1, 300):
                    x[i] = 0.8 * x[i - 1] + e[i]
                with open(os.path.join(root, name), "w") as g:
                    g.write("relative_time_s,power_total_W\n")
                    for i in range(300):
                        g.write(f"{0.1 * i:.1f},{max(level + x[i], 1.0):.3f}\n")
                f.write(f"{label},{gpus},{bs},{name}\n")
        out = os.path.join(d, "fid.csv")
        dump = os.path.join(d, "dump")
        os.mkdir(dump)
        p = subprocess.run([hr, "plan", "fidelity", "--data", d, "--lut", lut, "--split", "model",
                            "--fast", "1", "--csv", out, "--dump", dump],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stderr)
            return 1
        with open(out) as f:
            rows = [r for r in csv.DictReader(f) if r["method"] == "mean"]
        held = [r["held_out"] for r in rows if r["held_out"] != "ALL"]
        if len(held) != len(runs) or len(set(held)) != len(runs):
            fails.append(f"{len(held)} rows, {len(set(held))} distinct, expected {len(runs)}")
        for label in LABELS:
            if not any(h.startswith(label + "/") for h in held):
                fails.append(f"label {label} cut or missing in {held[:3]}")
        dumps = [n for n in os.listdir(dump) if n.endswith("_mean.txt")]
        if len(dumps) != len(runs):
            fails.append(f"{len(dumps)} dump files for {len(runs)} runs")
        errs = []
        for label, gpus, bs in runs:
            gt = np.loadtxt(os.path.join(root, f"traces/{label}_num_gpus_{gpus}_max_num_seqs_{bs}.csv"),
                            delimiter=",", skiprows=1)[:, 1]
            gen = np.loadtxt(os.path.join(dump, f"model_{label}_g{gpus}_b{bs}_mean.txt"))
            errs.append(100 * abs(gen.sum() - gt.sum()) / gt.sum())
        allrow = [r for r in rows if r["held_out"] == "ALL"]
        if len(allrow) != 1:
            fails.append(f"{len(allrow)} summary rows")
        else:
            m = float(allrow[0]["energy_err_pct"])
            if abs(m - np.mean(errs)) > 1e-3 * max(1.0, np.mean(errs)):
                fails.append(f"summary mean {m} vs numpy {np.mean(errs)} over {len(errs)} runs")
            med = float(allrow[0]["energy_err_median_pct"])
            if abs(med - np.median(errs)) > 1e-3 * max(1.0, np.median(errs)):
                fails.append(f"summary median {med} vs numpy {np.median(errs)}")
        # --train DIR --test DIR: the other label's runs train, these score.
        tr = os.path.join(d, "train")
        os.makedirs(os.path.join(tr, "traces"))
        with open(os.path.join(root, "traces_summary.csv")) as f:
            lines = f.read().splitlines()
        with open(os.path.join(tr, "traces_summary.csv"), "w") as f:
            f.write(lines[0] + "\n")
            for ln in lines[1:]:
                if ln.startswith(LABELS[0] + ","):
                    f.write(ln + "\n")
                    name = ln.split(",")[3]
                    os.symlink(os.path.join(root, name), os.path.join(tr, name))
        p = subprocess.run([hr, "plan", "fidelity", "--train", tr, "--test", root, "--lut", lut,
                            "--pool", "gpu", "--fast", "1", "--json"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            fails.append(f"--train/--test: {p.returncode} {p.stderr}")
        else:
            import json
            rows = [json.loads(x) for x in p.stdout.splitlines()]
            mean_rows = [r for r in rows if r["method"] == "mean"]
            if len(mean_rows) != len(runs) + 1 or any(r["split"] != "test" for r in rows):
                fails.append(f"--train/--test: {len(mean_rows)} mean rows for {len(runs)} runs")
        # --seeds 3: each row's mean and sample standard deviation of the
        # rows of three one-seed runs (NumPy, ddof=1).
        per_seed = []
        for seed in (5, 6, 7):
            o = os.path.join(d, f"s{seed}.csv")
            p = subprocess.run([hr, "plan", "fidelity", "--data", d, "--lut", lut, "--split",
                                "model", "--fast", "1", "--seed", str(seed), "--csv", o],
                               capture_output=True, text=True)
            with open(o) as f:
                per_seed.append({(r["held_out"], r["method"]): r for r in csv.DictReader(f)})
        o = os.path.join(d, "seeds.csv")
        p = subprocess.run([hr, "plan", "fidelity", "--data", d, "--lut", lut, "--split", "model",
                            "--fast", "1", "--seed", "5", "--seeds", "3", "--csv", o],
                           capture_output=True, text=True)
        if p.returncode != 0:
            fails.append(f"--seeds 3: {p.returncode} {p.stderr}")
        else:
            with open(o) as f:
                agg = list(csv.DictReader(f))
            if len(agg) != len(per_seed[0]):
                fails.append(f"--seeds: {len(agg)} rows, one seed gives {len(per_seed[0])}")
            for r in agg:
                for metric in ("energy_err_pct", "ks", "nrmse", "p99_err_pct"):
                    x = np.array([float(ps[(r["held_out"], r["method"])][metric])
                                  for ps in per_seed])
                    m, sd = float(r[metric + "_mean"]), float(r[metric + "_sd"])
                    tol = 1e-4 * max(1.0, abs(x.mean()))
                    if abs(m - x.mean()) > tol or abs(sd - x.std(ddof=1)) > tol:
                        fails.append(f"--seeds {r['held_out']} {r['method']} {metric}: "
                                     f"{m}+-{sd} vs numpy {x.mean()}+-{x.std(ddof=1)}")
                        break
        p = subprocess.run([hr, "plan", "fidelity", "--train", tr, "--lut", lut],
                           capture_output=True, text=True)
        if p.returncode != 2 or "go together" not in p.stderr:
            fails.append(f"--train without --test: {p.returncode} {p.stderr}")
    return finish(fails)


if __name__ == "__main__":
    sys.exit(main())
