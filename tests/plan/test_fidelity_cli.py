"""`headroom plan fidelity` end to end on one model's runs (--only, --fast):
every method has a row for every held-out configuration plus the summary,
the CSV agrees with the printed table, the metrics of one row recomputed
from --dump with NumPy/SciPy match, and the model's summary row gives the
mean and the median of the per-run energy errors as NumPy computes them.
Skips (77) without the binary or data."""
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import stats

from plantest import SKIP, binary_and_data, finish

METHODS = ["tdp", "mean", "lut", "paper", "markov", "copula", "paper-gru16"]


def main():
    found = binary_and_data("power/h100-inference/traces_summary.csv")
    if not found:
        return SKIP
    hr, data, summary = found
    label = "Llama-3.1-8B"
    with open(summary) as f:
        runs = [r for r in csv.DictReader(f) if r["model_label"] == label]
    fails = []
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "fid.csv")
        dump = os.path.join(d, "dump")
        os.mkdir(dump)
        p = subprocess.run([hr, "plan", "fidelity", "--data", data, "--split", "batch", "--only",
                            label, "--fast", "1", "--csv", out, "--dump", dump],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stderr)
            return 1
        with open(out) as f:
            rows = list(csv.DictReader(f))
        held = {r["held_out"] for r in rows if r["held_out"] not in ("ALL",)
                and not r["held_out"].endswith("/ALL")}
        if len(held) != len(runs):
            fails.append(f"{len(held)} held-out configurations, expected {len(runs)}")
        for m in METHODS:
            n = sum(1 for r in rows if r["method"] == m)
            if n != len(runs) + 2:  # each run, the model's ALL, the overall ALL
                fails.append(f"{m}: {n} rows")
        allrows = {r["method"]: r for r in rows if r["held_out"] == "ALL"}
        if float(allrows["tdp"]["ks"]) < float(allrows["copula"]["ks"]):
            fails.append("TDP has a better KS than the copula model")
        if not float(allrows["copula"]["energy_err_pct"]) < 5.0:
            fails.append(f"copula energy error {allrows['copula']['energy_err_pct']}")
        # Recompute one configuration's energy error and KS from the dump.
        r0 = runs[0]
        gt = np.loadtxt(os.path.join(data, "power/h100-inference", r0["trace_file"]),
                        delimiter=",", skiprows=1)[:, 1]
        def dumped(r):  # the file names carry the GPU count and the batch size
            return np.loadtxt(os.path.join(
                dump, f"batch_{label}_g{r['num_gpus']}_b{r['max_num_seqs']}_copula.txt"))

        def measured(r):
            return np.loadtxt(os.path.join(data, "power/h100-inference", r["trace_file"]),
                              delimiter=",", skiprows=1)[:, 1]
        gen = dumped(r0)
        e = 100 * abs(gen.sum() - gt.sum()) / gt.sum()
        ks = stats.ks_2samp(gt, gen).statistic
        row = [r for r in rows if r["method"] == "copula"
               and r["held_out"] == f"3.1-8B/g{r0['num_gpus']}-b{r0['max_num_seqs']}"][0]
        # The dump rounds to 1 mW, so compare loosely.
        if abs(float(row["energy_err_pct"]) - e) > 1e-3 or abs(float(row["ks"]) - ks) > 2e-3:
            fails.append(f"row {row} vs numpy e={e} ks={ks}")
        # The model's summary: mean and median over its runs.
        errs = []
        for r in runs:
            a, b = measured(r), dumped(r)
            errs.append(100 * abs(b.sum() - a.sum()) / a.sum())
        srow = [r for r in rows if r["method"] == "copula" and r["held_out"] == "3.1-8B/ALL"][0]
        if abs(float(srow["energy_err_pct"]) - np.mean(errs)) > 1e-3:
            fails.append(f"summary mean {srow['energy_err_pct']} vs numpy {np.mean(errs)}")
        if abs(float(srow["energy_err_median_pct"]) - np.median(errs)) > 1e-3:
            fails.append(f"summary median {srow['energy_err_median_pct']} vs numpy "
                         f"{np.median(errs)}")
    return finish(fails)


if __name__ == "__main__":
    sys.exit(main())
