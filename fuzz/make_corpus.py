#!/usr/bin/env python3
"""Writes the seed corpora of the harnesses added for the "Fuzzing that
reaches everything" work (fuzz/corpus/<harness>/), from small excerpts of the
shared data (HR_SHARED_DATA, default ../shared/data next to the repository)
and hand-written edge cases: NaN, infinities, 1e308, -0, huge counts, empty
files, quoted headers, non-finite numbers in YAML mappings.

Run it from anywhere; it only rewrites the seeds whose names it owns, so the
files of older corpora (and anything added by hand) stay.  Every seed stays
below a few KB.  The output is deterministic."""
import math
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("HR_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED = 6000


def put(harness, name, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_SEED:
        raise SystemExit(f"{harness}/{name}: {len(data)} bytes, over {MAX_SEED}")
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def head(rel, lines):
    """The first `lines` lines of a shared data file, or None without it."""
    path = os.path.join(DATA, rel)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        out = []
        for _ in range(lines):
            line = f.readline()
            if not line:
                break
            out.append(line)
    return b"".join(out)


def grep(rel, needle, lines):
    path = os.path.join(DATA, rel)
    if not os.path.exists(path):
        return None
    out = []
    with open(path, "rb") as f:
        for line in f:
            if needle in line:
                out.append(line)
                if len(out) == lines:
                    break
    return b"".join(out)


# Values that break numeric code, as text.
SPECIAL = ["nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1e308", "1.8e308", "-0", "0",
           "4.9e-324", "2147483648", "-2147483649", "9223372036854775808", "1e-300", " 7 ",
           "0x10", "", "\"5\""]

# ---------------------------------------------------------------- meter

def meter_seed(b0, b1, b2, b3, b4, fs, f0, layout_n, frames, rate=0, t0=0, poison=None):
    out = bytes([b0, b1, b2, b3, b4]) + struct.pack("<I", rate) + struct.pack("<q", t0)
    vals = []
    for n in range(frames):
        t = n / fs
        ph = 2 * math.pi * f0 * t
        for c in range(layout_n):
            if c < (1 if layout_n == 2 else 3):
                vals.append(325.0 * math.sin(ph - 2.0944 * c))
            else:
                vals.append(40.0 * math.sin(ph - 2.0944 * c - 0.4) * (2.0 if n > frames // 2 else 1.0))
    if poison:
        for i, v in poison:
            vals[i % len(vals)] = v
    return out + struct.pack("<%df" % len(vals), *vals)


def meter():
    h = "fuzz_meter"
    # 1P2W 8 kHz 50 Hz, power step, block 64, 2 repetitions.
    put(h, "1p2w_8k_step", meter_seed(3, 0, 1, 63, 1 << 3, 8000, 50, 2, 320))
    # 3P4W 12.8 kHz 60 Hz, measured neutral, every detector, t0 in 2023.
    put(h, "3p4w_12k8_neutral", meter_seed(5, 1 | (2 << 1) | 8, 0x2f, 31, 1, 12800, 60, 7, 100))
    # 3P3W 7.68 kHz 50 Hz, events only, raw t0 near 2^61.
    put(h, "3p3w_events_t0", meter_seed(2, 1 << 1, 0x40, 255, 7, 7680, 50, 6, 120,
                                        t0=(1 << 61) * 3))
    # Free rate 4000.5 Hz, NaN, inf and a clipped sample.
    put(h, "free_rate_nonfinite", meter_seed(8, 0, 4 | 8, 15, 0, 4000.5, 50, 2, 300,
                                             rate=2000500, poison=[(17, float("nan")),
                                                                   (40, float("inf")),
                                                                   (41, -float("inf")),
                                                                   (90, 3.4e38)]))
    # Harmonics (byte 4 bit 5): free rate 2000 Hz, 50 Hz, 1P2W, a current step,
    # 700 frames twice (a cap on seed size): two 10-cycle windows.
    put(h, "1p2w_2k_harm", meter_seed(8, 0, 0, 99, 32 | (1 << 3), 2000, 50, 2, 700,
                                      rate=2000000))
    # Flicker (byte 3 bit 7): free rate 2000 Hz, 1P2W, 700 frames twice, the
    # stream starting 0.2 s before a 10-min tick (a Pst interval closes in
    # it), a NaN.
    put(h, "1p2w_2k_flicker", meter_seed(8, 0, 0, 199, (1 << 3) | 7, 2000, 50, 2, 700,
                                         rate=2000000, t0=(1700000400 * 10**9 - 2 * 10**8) * 4,
                                         poison=[(901, float("nan"))]))
    # 2 kHz, 40 % tracking, second alarm, zero-ish signal.
    put(h, "2k_quiet", bytes([0, 0xc0, 0x20, 0, 0x18]) + bytes(12) + bytes(8 * 200))


# -------------------------------------------------------------- traceset

def traceset():
    h = "fuzz_traceset"
    summ = head("power/h100-inference/traces_summary.csv", 1) or \
        b"model_label,num_gpus,max_num_seqs,trace_file\n"
    tr = head("power/h100-inference/traces/Llama-3.1-8B_num_gpus_1_max_num_seqs_8.csv", 40) or \
        b"relative_time_s,power_total_W\n0.0,300.5\n0.1,301.25\n"
    tr2 = head("power/h100-inference/traces/Llama-3.1-70B_num_gpus_4_max_num_seqs_64.csv", 30) or tr
    sep = b"\n====\n"
    put(h, "two_traces", summ + b"Llama-3.1-8B,1,8,a.csv\nLlama-3.1-70B,4,64,b.csv\n" + sep + tr +
        sep + tr2)
    put(h, "crlf_bom", b"\xef\xbb\xbf" + summ.replace(b"\n", b"\r\n") + b"M,1,8,a.csv\r\n" + sep +
        tr.replace(b"\n", b"\r\n"))
    put(h, "quoted_header", b'"model_label","num_gpus","max_num_seqs","trace_file"\nm,1,8,a.csv\n' +
        sep + tr)
    for k, v in enumerate(["nan", "inf", "-inf", "1e308", "-0", "-1", "1e400"]):
        put(h, f"power_{k}", summ + b"m,8,8,a.csv\n" + sep +
            f"relative_time_s,power_total_W\n0,{v}\n0.1,{v}\n0.2,5\n".encode())
    put(h, "huge_counts", summ + b"m,4097,8,a.csv\nm,1,1000001,b.csv\nm,9223372036854775808,1,c.csv\n" +
        sep + tr + sep + tr + sep + tr)
    put(h, "empty_summary", b"")
    put(h, "header_only", summ)
    put(h, "missing_file", summ + b"m,1,8,zzz.csv\n")
    put(h, "one_sample", summ + b"m,1,8,a.csv\n" + sep + b"relative_time_s,power_total_W\n0,1\n")
    put(h, "extra_columns", b"x,trace_file,max_num_seqs,num_gpus,model_label,y\n1,a.csv,8,1,m,2\n" +
        sep + b"power_total_W,relative_time_s\n5,0\n6,0.1\n")


# ------------------------------------------------------------------- lut

def lut():
    h = "fuzz_lut"
    hdr = head("power/splitwise-lut/perf_model.csv", 1) or \
        (b"model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,"
         b"prompt_time,token_time,e2e_time,tensor_parallel\n")
    rows = grep("power/splitwise-lut/perf_model.csv", b"llama2-70b,a100-80gb", 4000) or b""
    tp8 = b"".join(l for l in rows.splitlines(True) if l.rstrip().endswith(b",8"))[:2500]
    put(h, "splitwise_tp8", hdr + tp8)
    put(h, "splitwise_head", head("power/splitwise-lut/perf_model.csv", 30) or hdr)
    row = "llama2-70b,a100-80gb,512,{bs},128,1.0,{ap},1,1,1,{tp}\n"
    for k, v in enumerate(SPECIAL[:10]):
        put(h, f"avg_power_{k}", hdr + (row.format(bs=8, ap=v, tp=8) +
                                        row.format(bs=16, ap=0.6, tp=8)).encode())
        put(h, f"batch_{k}", hdr + (row.format(bs=v, ap=0.7, tp=8) +
                                    row.format(bs=4, ap=0.6, tp=8)).encode())
    put(h, "quoted_header", b'"model","hardware","batch_size","average_power","tensor_parallel"\n'
        b"llama2-70b,a100-80gb,8,0.7,8\n")
    put(h, "many_batches", hdr + "".join(row.format(bs=b + 1, ap=0.3 + b / 100.0, tp=8)
                                         for b in range(40)).encode())
    put(h, "empty", b"")


# --------------------------------------------------------------- metrics

def metrics():
    h = "fuzz_plan_metrics"
    a = head("power/h100-inference/traces/Llama-3.1-8B_num_gpus_1_max_num_seqs_8.csv", 90) or \
        b"relative_time_s,power_total_W\n" + b"".join(b"%d,%d\n" % (i, 300 + i % 7) for i in range(100))
    b = head("power/h100-inference/traces/Llama-3.1-8B_num_gpus_1_max_num_seqs_16.csv", 90) or a
    sep = b"\n====\n"
    put(h, "traces_text", b"\x00\x00\x01" + a + sep + b)
    put(h, "values_only", b"\x00\x02\x01" + b"\n".join(b"%d" % (500 + (i * 37) % 50) for i in range(80)) +
        sep + b"\n".join(b"%d" % (510 + (i * 13) % 40) for i in range(80)))
    for k, v in enumerate(SPECIAL[:12]):
        put(h, f"special_{k}", b"\x00\x00\x01" + b"p\n1\n2\n" + v.encode() + b"\n4\n5\n" + sep +
            b"1\n" + v.encode() + b"\n3\n4\n5\n")
    put(h, "bad_dt", b"\x00\x03\x04" + a[:400] + sep + b[:400])
    put(h, "long_line", b"\x00\x00\x01" + b"1" * 700 + b"\n2\n3\n" + sep + b"1\n2\n3\n")
    put(h, "empty", b"\x00\x00\x01" + sep)
    put(h, "binary_two_pairs", b"\x01\x01\x00\x00" + bytes([60, 120, 60, 120]) +
        bytes(range(64, 224)) * 4)
    put(h, "binary_nonfinite", b"\x01\x00\x00\x00" + bytes([100]) + bytes([2, 3, 4, 5, 6, 7]) * 50)


# -------------------------------------------------------------- workload

def workload():
    h = "fuzz_plan_workload"
    put(h, "default_poisson", bytes([1, 0, 0, 0, 0]) + bytes(12) + struct.pack("<I", 400))
    put(h, "bursty", bytes([2, 0, 0, 0, 0, 4 | 2, 0, 0, 0, 200, 200]) + bytes(12) +
        struct.pack("<I", 3000))
    put(h, "diurnal", bytes([3, 0, 0, 0, 0, 8 | 16 | 32 | 1, 0, 0, 0, 100, 100, 100, 100, 100]) +
        bytes(12) + struct.pack("<I", 2000))
    put(h, "specials", bytes([1, 0, 0, 0, 0, 0xff, 0x1f, 0, 0]) + bytes(range(0, 64, 3)) * 3)
    put(h, "lengths_from", bytes([1, 0, 0, 0, 0, 0, 0x20, 0, 0]) + bytes(12) +
        struct.pack("<I", 100) + bytes([5]) + bytes(range(1, 41)) + bytes([0x7f, 0, 0, 0, 0]))
    put(h, "serve", bytes([1, 0, 0, 0, 0]) + bytes(12) + struct.pack("<I", 800) +
        bytes([0x7f]) + struct.pack("<I", 4) + struct.pack("<I", 64) + bytes([1]) +
        bytes([100, 3, 70, 9, 70, 3, 70, 2]) + struct.pack("<I", 100))


# ----------------------------------------------------------------- lease

NONFINITE_TREE = """version: 1
name: nonfinite
nodes:
  - {id: site, kind: utility, voltage_v: 480, phases: 3, rating_w: %s}
  - {id: rack, kind: rack, parent: site, rating_kw: %s, budget_kw: %s}
  - {id: srv, kind: server, parent: rack, rating_w: 6000}
  - {id: g0, kind: gpu, parent: srv, rating_w: %s}
  - {id: g1, kind: gpu, parent: srv, rating_w: 700}
"""


def lease():
    h = "fuzz_lease"
    src = os.path.join(CORPUS, "fuzz_tree_yaml")
    ctl = b"\n#====\n"
    for name in ["rack-zone-a1.yaml", "2n-small.yaml", "site-zones.yaml"]:
        p = os.path.join(src, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                y = f.read()
            put(h, name, y)
            # Demands: NaN, inf, 1e300, denormals, 0 for every leaf, then ops.
            put(h, name + ".special", y + ctl + bytes([0x7f, 0, 0, 0, 0, 3]) +
                bytes([2, 3, 14, 5, 1, 0]) * 40)
    vals = [(".nan", "132", "640", "700"), ("1e308", ".inf", ".nan", "-.inf"),
            ("0", "-0", "1e-320", ".NaN"), ("1e6", "1e300", "1e300", "4.9e-324")]
    for k, v in enumerate(vals):
        put(h, f"nonfinite_{k}.yaml", NONFINITE_TREE % v)
        put(f"fuzz_tree_yaml", f"nonfinite_{k}.yaml", NONFINITE_TREE % v)
    dev = ("  - {id: b, kind: branch, parent: site, rating_a: 100, device: {type: trip_unit, "
           "curve: LSI, in_a: %s, tr_s: %s, isd: 6, tsd_s: 0.2, ii: 12}}\n")
    for k, v in enumerate([(".nan", "8"), ("100", ".inf"), ("1e308", "1e-300")]):
        y = (NONFINITE_TREE % ("1e6", "132", "640", "700")) + dev % v
        put(h, f"device_nonfinite_{k}.yaml", y)
        put("fuzz_tree_yaml", f"device_nonfinite_{k}.yaml", y)


# ---------------------------------------------------------------- charts

def charts():
    h = "fuzz_charts"
    put(h, "two_series", bytes([2, 40]) + b"Facility <power> & \"load\"\0time [h]\0power [kW]\0"
        b"p50\0p95\0a&b\0c<d\0")
    put(h, "nonfinite_y", bytes([1, 30]) + b"t\0x\0y\0s\0\0\0\0" + bytes(30) +
        bytes([2, 3, 4, 5, 6]) * 6)
    put(h, "utf8_names", bytes([3, 12]) + "Leistung \u00b5W \u2013 Zeit\0x\0y\0\u00e9\0\u4e2d\0\0\0".encode())
    put(h, "flat", bytes([1, 3]) + b"flat\0\0\0\0\0\0\0" + bytes([11, 11, 11]))
    put(h, "bad_count", bytes([0, 10]) + b"\0\0\0\0\0\0\0")


# ------------------------------------------------------------------ wire

def wire():
    h = "fuzz_wire"
    for kind in range(0, 8):
        put(h, f"kind_{kind}", struct.pack("<I", kind) + struct.pack("<I", 0x9) +
            struct.pack("<q", 1700000000123456789) + struct.pack("<q", 20000000) +
            struct.pack("<I", 2) + struct.pack("<I", 3) + bytes(range(60, 250)) +
            bytes([9, 1]) + b"pmu-07\0" + struct.pack("<I", 100))
    put(h, "event_nonfinite", struct.pack("<I", 6) + bytes(4) + struct.pack("<q", -1) +
        bytes(8) + struct.pack("<I", 2) + struct.pack("<I", 3) + struct.pack("<I", 5) +
        bytes(4) + struct.pack("<I", 0x3f) + bytes([2, 3, 4, 5, 6, 7]) * 20)
    put(h, "bad_device_id", struct.pack("<I", 2) + bytes(40) + bytes([12, 1]) + b"a\"b\\c\x01d\xffe\0")
    put(h, "time_extremes", struct.pack("<I", 3) + bytes(4) + struct.pack("<q", -(2 ** 63)) +
        struct.pack("<q", 2 ** 63 - 1))


# ------------------------------------------------------------------- gen

def gen():
    h = "fuzz_gen"
    for k in range(-1, 11):
        put(h, f"preset_{k + 1}", struct.pack("<I", k + 1) + bytes(4) + struct.pack("<I", 200) +
            bytes(20))
    put(h, "specials", struct.pack("<I", 2) + struct.pack("<I", 0x7ffff) + bytes(range(0, 64)) * 6)
    put(h, "rack_extremes", struct.pack("<I", 2) + struct.pack("<I", 262144) +
        struct.pack("<I", 1025) + struct.pack("<I", 65) + bytes([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) +
        struct.pack("<I", 11) + bytes([13, 14, 15, 16]))


# ------------------------------------------------------------------- cli

def cli():
    h = "fuzz_cli"

    def args(which, *a):
        return bytes([which]) + b"\0".join(x.encode() for x in a)

    put(h, "meter", args(0, "--fs", "8000", "--layout", "3p4w", "--records", "cycle,event",
                         "--alarm", "p_total_w>100:10", "--step", "p:1000:20:20", "--t0", "now"))
    put(h, "meter_bad", args(0, "--fs", "nan", "--u-din", "inf", "--queue", "1e308"))
    put(h, "gen", args(1, "ai-rack", "--fs", "12800", "--harmonic", "5:3:10", "--dip",
                       "0.5:0.1:70:abc", "--seconds=2"))
    put(h, "gen_bad", args(1, "sine", "--fs", "-0", "--freq", "1e308", "--interharmonic", "nan:1:0"))
    put(h, "demo", args(2, "--seconds", "inf", "--fast", "--json"))
    put(h, "lease_check", args(4, "tree.yaml", "--levels", "1.2,nan,1e308", "--json"))
    for k, sub in enumerate(["workload", "metrics", "train", "fidelity", "generate", "site",
                             "provision", "oversub"]):
        put(h, "plan_" + sub, args(5 + k, "--seed", "18446744073709551615", "--rate", "nan",
                                   "--map", "t,in,out,1e-3", "--dt", "-0", "--rows", "2147483648"))


def plan_csv():
    h = "fuzz_plan_csv"
    az = head("workloads/azure-llm-2023/AzureLLMInferenceTrace_code.csv", 25)
    if az:
        put(h, "azure_code_head.csv", az)
    hdr = b"TIMESTAMP,ContextTokens,GeneratedTokens\n"
    for k, v in enumerate(["nan", "inf", "1e308", "-0", "2147483648", "9223372036854775808",
                           "1e-300", '"5"']):
        put(h, f"tokens_{k}.csv", hdr + b"2023-11-16 18:15:46.6805900,10,5\n"
            b"2023-11-16 18:15:47.0,%s,%s\n" % (v.encode(), v.encode()))
        put(h, f"time_{k}.csv", b"t,in,out\n0,1,1\n%s,2,2\n" % v.encode())
    put(h, "quoted_header.csv", b'"TIMESTAMP","ContextTokens","GeneratedTokens"\n'
        b"2023-11-16 18:15:46.68,10,5\n")
    put(h, "jsonl_nonfinite.jsonl", b'{"timestamp": NaN, "input_length": 1, "output_length": 2}\n'
        b'{"timestamp": 1e308, "input_length": Infinity, "output_length": -0}\n')


def main():
    for fn in [plan_csv, meter, traceset, lut, metrics, workload, lease, charts, wire, gen, cli]:
        fn()
    print("seeds written under", CORPUS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
