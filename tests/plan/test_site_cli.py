"""`headroom plan site` GPU, replica and node-trace options: --gpu-type and
--precision are checked by name, --tp must divide --gpus, speeds derived
from --params-b follow the closed forms of docs/plan.md and hand-set speeds
win, --idle-w reaches the power, and the node trace (every server, at --dt)
sums to the site's 1-s means (site_1s.csv).  Skips (77) without the binary
or the shared data."""
import csv
import json
import os
import subprocess
import sys
import tempfile

from plantest import SKIP, binary_and_data, finish


def run(hr, *args):
    p = subprocess.run([hr, "plan", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    found = binary_and_data("power/h100-inference")
    if not found:
        return SKIP
    hr, data, _ = found
    fails = []

    def expect(cond, what):
        if not cond:
            fails.append(what)

    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "m")
        rc, _, err = run(hr, "train", "--data", data, "--bigru-hidden", "0", "--out", model)
        if rc != 0:
            return finish([f"train: {err}"])
        fac = ["--model-file", model, "--rows", "1", "--racks", "2", "--servers", "2",
               "--hours", "0.02", "--arrival", "poisson", "--rate", "1", "--seed", "2"]
        rc, _, err = run(hr, "site", *fac, "--gpu-type", "h900")
        expect(rc == 2 and "unknown; known: h100" in err, f"--gpu-type h900: {err}")
        rc, _, err = run(hr, "site", *fac, "--precision", "fp4")
        expect(rc == 2 and "bf16 or fp8" in err, f"--precision fp4: {err}")
        rc, _, err = run(hr, "site", *fac, "--tp", "3")
        expect(rc == 2 and "--tp 3 does not divide --gpus 8" in err, f"--tp 3: {err}")
        rc, _, err = run(hr, "site", *fac, "--params-b", "8", "--active-params-b", "9")
        expect(rc == 2 and "exceeds --params-b" in err, f"active > total: {err}")
        rc, _, err = run(hr, "site", *fac, "--node-trace-servers", "2")
        expect(rc == 2 and "needs --node-trace or --out-dir" in err, f"node servers alone: {err}")
        rc, _, err = run(hr, "oversub", *fac, "--node-trace", os.path.join(d, "n.csv"))
        expect(rc == 2 and "are for plan site" in err, f"oversub --node-trace: {err}")
        rc, _, err = run(hr, "site", *fac, "--node-trace", os.path.join(d, "n.csv"),
                         "--node-trace-servers", "5")
        expect(rc == 2 and "the site has 4 servers" in err, f"node servers > site: {err}")

        # Derived speeds: 8B BF16 on one H100 (mbu 0.7, mfu 0.5), ctx 1000, KV 128 KiB.
        rc, out, err = run(hr, "site", *fac, "--gpus", "1", "--gpu-type", "h100", "--params-b",
                           "8", "--ctx-tokens", "1000", "--kv-kib-per-token", "128")
        j = json.loads(out) if rc == 0 else {}
        bw, fl = 3.35e12 * 0.7, 989.4e12 * 0.5
        expect(rc == 0 and abs(j["step_ms"] - 1e3 * 16e9 / bw) < 1e-3, f"step_ms: {out} {err}")
        expect(rc == 0 and abs(j["prefill_tps"] - fl / 16e9) < 0.1, f"prefill_tps: {out}")
        want = 1e3 * (131072 * 1000 / bw + 16e9 / fl)
        expect(rc == 0 and abs(j["step_per_seq_ms"] - want) < 1e-4, f"step_per_seq_ms: {out}")
        # 70B on 4 GPUs of 8 (two replicas per server), FP8: half the bytes.
        rc, out, _ = run(hr, "site", *fac, "--tp", "4", "--params-b", "70", "--precision", "fp8")
        j = json.loads(out) if rc == 0 else {}
        expect(rc == 0 and j["tp"] == 4 and abs(j["step_ms"] - 1e3 * 70e9 / (4 * bw)) < 1e-3,
               f"tp 4 fp8: {out}")
        # Hand-set speeds keep precedence.
        rc, out, _ = run(hr, "site", *fac, "--params-b", "8", "--step-ms", "33",
                         "--prefill-tps", "1234")
        j = json.loads(out) if rc == 0 else {}
        expect(rc == 0 and j["step_ms"] == 33.0 and j["prefill_tps"] == 1234.0,
               f"hand-set speeds: {out}")
        # --idle-w reaches the power: with no request the site is servers x
        # (non-GPU + 8 x idle) x PUE.
        idle = ["--model-file", model, "--rows", "1", "--racks", "1", "--servers", "2",
                "--hours", "0.01", "--arrival", "poisson", "--rate", "1e-6", "--seed", "1"]
        rc, out, _ = run(hr, "site", *idle, "--idle-w", "150")
        j = json.loads(out) if rc == 0 else {}
        expect(rc == 0 and abs(j.get("mean_facility_kw", 0) - 2 * (1000 + 8 * 150) * 1.3 / 1e3)
               < 0.01, f"--idle-w 150: {out}")
        rc, out, _ = run(hr, "site", *idle, "--gpu-type", "a100")
        j = json.loads(out) if rc == 0 else {}
        expect(rc == 0 and abs(j.get("mean_facility_kw", 0) - 2 * (1000 + 8 * 80) * 1.3 / 1e3)
               < 0.01, f"--gpu-type a100 idle: {out}")

        # The node trace: every server at 0.25 s; they sum to site_1s.csv.
        od = os.path.join(d, "out")
        rc, _, err = run(hr, "site", *fac, "--out-dir", od, "--node-trace-servers", "4",
                         "--threads", "2")
        expect(rc == 0, f"site --out-dir: {err}")
        if rc == 0:
            with open(os.path.join(od, "node_trace.csv")) as f:
                rows = list(csv.reader(f))
            expect(rows[0] == ["t_s", "server0_w", "server1_w", "server2_w", "server3_w"],
                   f"node trace header: {rows[0]}")
            expect(len(rows) - 1 == 288 and float(rows[2][0]) == 0.25, "node trace steps")
            with open(os.path.join(od, "site_1s.csv")) as f:
                site = list(csv.reader(f))[1:]
            for s in range(len(site)):
                tot = sum(float(v) for r in rows[1 + 4 * s:5 + 4 * s] for v in r[1:]) / 4
                # Both files round (0.01 W per server, 0.1 W for the site).
                expect(abs(tot - float(site[s][1])) < 0.1, f"node sum at {s} s: {tot} {site[s]}")

        # Poisson arrivals drawn per replica (the default) and the whole
        # workload (--whole-workload): both request counts are Poisson with
        # mean rate x T = 5 x 72 s (within six standard deviations), the
        # default's result does not depend on --threads, and the studies
        # refuse the flag.
        gen = ["--model-file", model, "--rows", "1", "--racks", "2", "--servers", "2",
               "--hours", "0.02", "--arrival", "poisson", "--rate", "5", "--seed", "3"]
        outs = []
        for extra in (["--threads", "1"], ["--threads", "2"], ["--whole-workload"]):
            rc, out, err = run(hr, "site", *gen, *extra)
            expect(rc == 0, f"site {extra}: {err}")
            outs.append(json.loads(out) if rc == 0 else {})
        for o in outs:
            expect(abs(o.get("requests", 0) - 360) < 6 * 360 ** 0.5, f"request count: {o}")
        expect(outs[0] == outs[1], f"threads change the result: {outs[0]} {outs[1]}")
        rc, _, err = run(hr, "oversub", *gen, "--whole-workload")
        expect(rc == 2 and "for plan site" in err, f"oversub --whole-workload: {err}")
        rc, out, err = run(hr, "site", *gen[:-6], "--arrival", "bursty", "--rate", "5")
        expect(rc == 0 and json.loads(out).get("requests", 0) > 0, f"site bursty: {err}")
    return finish(fails)


if __name__ == "__main__":
    sys.exit(main())
