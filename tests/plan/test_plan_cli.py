"""`headroom plan` option handling, the same for every subcommand (one
table-driven parser in src/cli/cmd_plan.c): --help exits 0; unknown
options, missing values, non-numbers and fractional counts exit 2 naming
the subcommand; the shared workload options behave alike in `workload` and
`site`; train --exclude, generate and metrics work from their options.
Skips (77) without the binary or the shared data."""
import json
import os
import subprocess
import sys
import tempfile

from plantest import SKIP, binary_and_data, finish

SUBS = ["workload", "metrics", "train", "fidelity", "generate", "site", "provision", "oversub"]


def run(hr, *args):
    p = subprocess.run([hr, "plan", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    found = binary_and_data("workloads/azure-llm-2023/AzureLLMInferenceTrace_code.csv")
    if not found:
        return SKIP
    hr, data, trace = found
    fails = []

    def expect(cond, what):
        if not cond:
            fails.append(what)

    rc, out, _ = run(hr)
    expect(rc == 2, f"plan without a subcommand: {rc}")
    rc, out, _ = run(hr, "--help")
    expect(rc == 0 and "subcommands:" in out, "plan --help")
    rc, _, err = run(hr, "bogus")
    expect(rc == 2 and "unknown subcommand" in err, "unknown subcommand")
    for s in SUBS:
        rc, out, _ = run(hr, s, "--help")
        expect(rc == 0 and "subcommands:" in out, f"{s} --help: {rc}")
        rc, _, err = run(hr, s, "--bogus", "1")
        expect(rc == 2 and f"headroom plan {s}: unknown option --bogus" in err, f"{s} --bogus: {err}")
        num = "--dt" if s == "metrics" else "--seed"  # a numeric option of each
        rc, _, err = run(hr, s, num)
        expect(rc == 2 and f"headroom plan {s}: missing value: {num}" in err, f"{s} {num}: {err}")
        rc, _, err = run(hr, s, num, "abc")
        expect(rc == 2 and "not a number: 'abc'" in err, f"{s} {num} abc: {err}")
    rc, _, err = run(hr, "site", "--rows", "2.5", "--csv", trace, "--model-file", "x")
    expect(rc == 2 and "not a whole number" in err, f"--rows 2.5: {err}")
    rc, _, err = run(hr, "generate", "--seed", "-1")
    expect(rc == 2 and "not a whole number >= 0" in err, f"--seed -1: {err}")
    rc, _, err = run(hr, "train", "stray")
    expect(rc == 2 and "unexpected argument 'stray'" in err, f"stray argument: {err}")

    # The shared workload options.
    gen = ["--arrival", "poisson", "--rate", "5", "--seconds", "100", "--seed", "3"]
    rc, out, _ = run(hr, "workload", *gen)
    rc2, out2, _ = run(hr, "workload", *gen)
    j = json.loads(out) if rc == 0 else {}
    expect(rc == 0 and out == out2 and 400 < j.get("requests", 0) < 600,
           f"workload generation: {out}")
    rc, _, err = run(hr, "workload", "--arrival", "nope", "--rate", "5")
    expect(rc == 2 and "poisson, bursty or diurnal" in err, f"--arrival nope: {err}")
    rc, out, _ = run(hr, "workload", "--csv", trace)
    rc2, out2, _ = run(hr, "workload", "--csv", trace, "--map",
                       "TIMESTAMP,ContextTokens,GeneratedTokens")
    expect(rc == 0 and out == out2 and json.loads(out)["requests"] == 8819,
           f"replay with and without the default --map: {out} {out2}")
    rc, _, err = run(hr, "workload", "--csv", trace, "--map", "a,b")
    expect(rc == 2 and "--map TIME,IN,OUT" in err, f"--map a,b: {err}")

    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "m.model")
        rc, _, err = run(hr, "train", "--data", data)
        expect(rc == 2 and "--out MODEL is required" in err, f"train without --out: {err}")
        rc, _, err = run(hr, "train", "--data", data, "--out", model, "--exclude", "Llama-3.1-8B",
                         "--bigru-epochs", "2")
        expect(rc == 0, f"train --exclude: {err}")
        with open(model) as f:
            text = f.read()
        expect("Llama-3.1-8B" not in text and "Llama-3.1-70B" in text,
               "--exclude left the label in the model")
        # A label the file does not hold is refused, listing the ones it does
        # (it used to fall back to the pooled group silently) ...
        rc, out, err = run(hr, "generate", "--model-file", model, "--model", "Llama-3.1-8B",
                           "--gpus", "1", "--batch", "64", "--seconds", "5", "--method", "copula")
        expect(rc == 2 and out == "" and "--model Llama-3.1-8B: not in the model file" in err
               and "Llama-3.1-70B" in err and "--pooled" in err, f"generate unknown label: {err}")
        # ... and the pooled group is asked for by name.
        rc, out, err = run(hr, "generate", "--model-file", model, "--pooled",
                           "--gpus", "1", "--batch", "64", "--seconds", "5", "--method", "copula")
        lines = out.splitlines()
        expect(rc == 0 and len(lines) == 51 and lines[0] == "t_s,power_total_W",
               f"generate: {rc} {len(lines)} {err}")
        nopool = os.path.join(d, "nopool.model")
        rc, _, err = run(hr, "train", "--data", data, "--out", nopool, "--exclude", "Llama-3.1-8B",
                         "--pool", "none", "--bigru-epochs", "2")
        expect(rc == 0, f"train --pool none: {err}")
        rc, _, err = run(hr, "generate", "--model-file", nopool, "--pooled", "--method", "copula")
        expect(rc == 2 and "has no pooled group" in err, f"generate --pooled on --pool none: {err}")
        # paper is the BiGRU: a model trained without one says so and names
        # the way out; paper-gru16 still runs from it.
        nobi = os.path.join(d, "nobi.model")
        rc, _, err = run(hr, "train", "--data", data, "--out", nobi, "--exclude", "Llama-3.1-8B",
                         "--bigru-hidden", "0")
        expect(rc == 0, f"train --bigru-hidden 0: {err}")
        rc, out, err = run(hr, "generate", "--model-file", nobi, "--pooled", "--method", "paper")
        expect(rc == 1 and out == "" and "has no BiGRU" in err and "paper-gru16" in err,
               f"generate paper without a BiGRU: {rc} {err}")
        rc, out, err = run(hr, "generate", "--model-file", nobi, "--pooled", "--method",
                           "paper-gru16", "--seconds", "2")
        expect(rc == 0 and len(out.splitlines()) == 21, f"generate paper-gru16: {rc} {err}")
        rc, out, err = run(hr, "generate", "--model-file", model, "--pooled", "--method", "paper",
                           "--seconds", "2")
        expect(rc == 0 and len(out.splitlines()) == 21, f"generate paper (BiGRU): {rc} {err}")
        rc, _, err = run(hr, "train", "--data", data, "--out", nopool, "--pool", "all")
        expect(rc == 2 and "--pool none|batch|gpu" in err, f"train --pool all: {err}")
        rc, _, err = run(hr, "generate", "--model-file", model, "--method", "nope")
        expect(rc == 2 and "--model-file MODEL" in err, f"generate --method nope: {err}")
        series = os.path.join(d, "s.csv")
        with open(series, "w") as f:
            f.write("\n".join(lines))
        rc, out, err = run(hr, "metrics", "--dt", "0.1", series, series)
        expect(rc == 0 and json.loads(out)["energy_err_pct"] == 0.0, f"metrics: {err}")
        rc, _, err = run(hr, "metrics", series)
        expect(rc == 2 and "pairs of files" in err, f"metrics with one file: {err}")
        fac = ["--model-file", model, "--rows", "1", "--racks", "2", "--servers", "2",
               "--hours", "0.05"]
        rc, _, err = run(hr, "site", *fac, "--csv", trace, "--rate", "3")
        expect(rc == 2 and "one of --csv TRACE or" in err, f"site --csv and --rate: {err}")
        rc, _, err = run(hr, "oversub", "--csv", trace)
        expect(rc == 2 and "headroom plan oversub: --model-file" in err, f"oversub: {err}")
        rc, a, _ = run(hr, "site", *fac, "--arrival", "poisson", "--rate", "2", "--seed", "4")
        rc2, b, _ = run(hr, "site", *fac, "--arrival", "poisson", "--rate", "2", "--seed", "4")
        rc3, c, _ = run(hr, "site", *fac, "--arrival", "poisson", "--rate", "2", "--seed", "5")
        expect(rc == rc2 == rc3 == 0 and a == b and a != c, "site seeds")
        ja = json.loads(a) if rc == 0 else {}
        expect(ja.get("servers") == 4 and abs(ja.get("hours", 0) - 0.05) < 1e-9,
               f"site facility options: {a}")
        rc, slow, _ = run(hr, "site", *fac, "--csv", trace, "--step-ms", "200", "--no-chunked",
                          "--max-seqs", "8")
        rc2, fast, _ = run(hr, "site", *fac, "--csv", trace)
        expect(rc == rc2 == 0 and json.loads(slow)["mean_ttft_s"] > json.loads(fast)["mean_ttft_s"],
               "serving options do not reach the simulator")
        rc, _, err = run(hr, "fidelity", "--data", data, "--split", "nope")
        expect(rc == 2 and "--split batch|model|both" in err, f"--split nope: {err}")
        rc, _, err = run(hr, "fidelity", "--data", data, "--only", "nomodel")
        expect(rc == 2 and "matches no run" in err, f"--only nomodel: {err}")
    return finish(fails)


if __name__ == "__main__":
    sys.exit(main())
