"""headroom meter --output-format proto|pbjson against an independent decoder.

protoc (Debian protobuf-compiler) generates the Python module of
proto/power_measurement.proto in a temporary folder; Python's google.protobuf
(Debian python3-protobuf, the C++/upb implementation, not protobuf-c) decodes
the length-delimited stream that headroom wrote.  Every message is compared,
field by field, with the JSON Lines record the engine wrote for the same
input (--output-format json, 10 significant digits), and every pbjson line,
read by google.protobuf.json_format.Parse, must equal the binary message
exactly.  The .proto's draft fields keep the draft's names and numbers.
Signals: headroom gen dip, swell and harmonics (3P4W), and a 1P2W sine."""
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HR_BIN = os.environ.get("HR_BIN", "build/headroom")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(ROOT, "proto", "power_measurement.proto")
fails, n_checks = [], 0


def check(cond, what):
    global n_checks
    n_checks += 1
    if not cond:
        fails.append(what)
        if len(fails) <= 30:
            print("FAIL:", what)


protoc = shutil.which("protoc")
try:
    from google.protobuf import json_format  # noqa: F401
except ImportError:
    json_format = None
if not protoc or json_format is None:
    print("test_pb_oracle: needs protoc and python3-protobuf (scripts/install-deps.sh)")
    sys.exit(1)

tmp = tempfile.mkdtemp(prefix="hr_pb_oracle_")
subprocess.run([protoc, f"--python_out={tmp}", f"-I{os.path.dirname(PROTO)}", PROTO], check=True)
sys.path.insert(0, tmp)
pb = importlib.import_module("power_measurement_pb2")
PM = pb.PowerMeasurement

# The draft's fields: names and numbers (upmu-spec.md, "Data format").
draft = {
    "PowerMeasurement": ["timestamp_ns", "device_id", "phases", "pq", "features"],
    "PhaseData": ["voltage_rms", "current_rms", "power_active", "power_reactive",
                  "power_apparent", "power_factor"],
    "PowerQuality": ["thd_voltage", "thd_current", "harmonics", "frequency", "sag_detected",
                     "swell_detected"],
    "Features": ["dp_dt", "peak_factor", "load_factor", "power_trend"],
}
for msg, names in draft.items():
    desc = getattr(pb, msg).DESCRIPTOR
    for num, name in enumerate(names, 1):
        f = desc.fields_by_number.get(num)
        check(f is not None and f.name == name, f"{msg} field {num} is {name}")
    for f in desc.fields:
        if f.label == f.LABEL_REPEATED and f.type == f.TYPE_DOUBLE:
            check(f.GetOptions().packed, f"{msg}.{f.name} packed, as proto3 packs it")


def varint(b, pos):
    """Base-128 varint at b[pos]: (value, next position); written here, not
    taken from protobuf's internals."""
    v, shift = 0, 0
    while True:
        if pos >= len(b):
            raise ValueError("truncated varint")
        c = b[pos]
        v |= (c & 0x7F) << shift
        pos += 1
        if not c & 0x80:
            return v, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint too long")


def messages(data):
    out, pos = [], 0
    while pos < len(data):
        n, pos = varint(data, pos)
        check(pos + n <= len(data), f"frame at {pos} of {n} bytes inside the stream")
        m = PM()
        m.ParseFromString(data[pos:pos + n])
        # The parser keeps what it does not know: nothing must be unknown.
        check(not m.UnknownFields() if hasattr(m, "UnknownFields") else True,
              "no unknown fields")
        out.append(m)
        pos += n
    return out


def close(a, b, what, rel=6e-10):
    """a: exact (from the message); b: the JSON record's 10 significant digits."""
    if b is None:
        ok = a is None or (isinstance(a, float) and not math.isfinite(a))
    else:
        ok = a is not None and abs(a - b) <= rel * abs(b) + 1e-300
    check(ok, f"{what}: message {a!r} vs record {b!r}")


def opt(m, field):
    return getattr(m, field) if m.HasField(field) else None


FLAGS = ["bad_sample", "clipped", "no_zc", "freq_range", "event", "startup", "irregular", "open",
         "cancelled"]
EVENTS = ["", "dip", "swell", "interruption", "rvc", "power_step", "current_step", "alarm",
          "swing_limit"]
KINDS = {"half": 1, "cycle": 2, "ms": 3, "interval": 4, "freq10s": 5, "event": 6, "agg150": 7,
         "agg10min": 8, "harm": 9, "swing": 12}
RECORDS = "half,cycle,ms,interval,freq10s,event,harm,agg150,swing"


def run(sig_args, meter_args, dev):  # noqa: C901
    samples = os.path.join(tmp, "x.f32")
    subprocess.run([HR_BIN, "gen", *sig_args, "--out", samples], check=True)
    base = [HR_BIN, "meter", "--quiet", "--records", RECORDS, *meter_args, samples]
    if dev is not None:
        base[3:3] = ["--device-id", dev]
    out = {}
    for fmt in ("json", "proto", "pbjson"):
        p = subprocess.run(base + ["--output-format", fmt], capture_output=True, timeout=120)
        check(p.returncode == 0, f"meter {fmt} exits 0: {p.stderr.decode()[-300:]}")
        out[fmt] = p.stdout
    recs = [json.loads(x) for x in out["json"].decode().splitlines()]
    spectra = [r for r in recs if r["type"] == "harm_spectrum"]
    recs = [r for r in recs if r["type"] != "harm_spectrum"]
    msgs = messages(out["proto"])
    lines = out["pbjson"].decode().splitlines()
    check(len(msgs) == len(recs) == len(lines),
          f"{sig_args}: {len(msgs)} messages, {len(recs)} records, {len(lines)} pbjson lines")
    # pbjson: the proto3 JSON mapping of the same messages, exactly.
    for k, (m, line) in enumerate(zip(msgs, lines)):
        j = json_format.Parse(line, PM())
        check(j == m, f"{sig_args}: pbjson line {k} equals the binary message")
    spec = iter(spectra)
    ms = []  # the 1-ms records so far: (end time, P)
    for m, r in zip(msgs, recs):
        compare(m, r, dev, spec)
        if r["type"] == "ms":
            ms.append((r["t_ns"] + r["dur_ns"], r["p_total_w"]))
        elif r["type"] == "interval":
            features(m, r, ms[-1024:])
    # Without the 1-ms records asked for, the intervals' messages are the same
    # (the meter makes the series for them and does not write it).
    def proto(records):
        p = subprocess.run(base + ["--output-format", "proto", "--records", records],
                           capture_output=True, timeout=120)
        return [m for m in messages(p.stdout) if m.kind == pb.RECORD_KIND_INTERVAL]
    only, with_ms = proto("interval"), proto("interval,ms")
    ivs = [m for m in msgs if m.kind == pb.RECORD_KIND_INTERVAL]
    check(len(only) == len(with_ms) == len(ivs) and all(a == b for a, b in zip(only, with_ms)),
          f"{sig_args}: --records interval gives the messages of --records interval,ms")
    check(all(a.features == b.features for a, b in zip(only, ivs)),
          f"{sig_args}: and the features of the run with every record")
    return len(msgs)


def features(m, r, ms):
    """load_factor and power_trend of an interval: NumPy over the 1-ms
    records that ended inside its window and came before it."""
    a, b = r["t_ns"], r["t_ns"] + r["dur_ns"]
    pts = [(e, p) for e, p in ms if a < e <= b]
    w = f"interval@{a}"
    check(len(pts) >= 0.9 * r["dur_ns"] / 1e6, f"{w}: {len(pts)} 1-ms records in the window")
    x = np.array([(e - a) * 1e-9 for e, _ in pts])
    p = np.array([v for _, v in pts])
    close(opt(m.features, "load_factor"), p.mean() / p.max(), f"{w}: load_factor", rel=1e-9)
    slope = np.polyfit(x, p, 1)[0] / 1e6
    # JSON's 10 digits of P move the slope by about 1e-9 P / window.
    tol = 10 * 5e-10 * np.abs(p).max() / (r["dur_ns"] * 1e-9) / 1e6
    got = opt(m.features, "power_trend")
    check(got is not None and abs(got - slope) <= tol + 1e-9 * abs(slope),
          f"{w}: power_trend {got} vs NumPy {slope} (tolerance {tol:.3g})")


def compare(m, r, dev, spec):
    t = r["type"]
    w = f"{t}@{r['t_ns']}"
    check(m.timestamp_ns == r["t_ns"], f"{w}: timestamp_ns")
    check(m.device_id == (dev or ""), f"{w}: device_id {m.device_id!r}")
    check(m.kind == KINDS[t], f"{w}: kind {m.kind}")
    check([FLAGS[b] for b in range(9) if m.flags >> b & 1] == r["flags"], f"{w}: flags")
    check(m.duration_ns == r["dur_ns"], f"{w}: duration_ns")
    ph = list(m.phases)
    nu = len(r.get("u_rms_v", []))
    if t in ("half", "cycle", "interval", "agg150"):
        ni = len(r["i_rms_a"])
        check(len(ph) == max(nu, min(ni, 3)), f"{w}: {len(ph)} phases")
        for k in range(nu):
            close(opt(ph[k], "voltage_rms"), r["u_rms_v"][k], f"{w}: phases[{k}].voltage_rms")
        for k in range(min(ni, 3)):
            close(opt(ph[k], "current_rms"), r["i_rms_a"][k], f"{w}: phases[{k}].current_rms")
        close(opt(m, "current_neutral_rms"), r["i_rms_a"][3] if ni == 4 else None,
              f"{w}: current_neutral_rms")
    if t == "cycle":
        for k in range(len(r["p_w"]) if nu > 1 else 1):
            close(opt(ph[k], "power_active"), r["p_w"][k], f"{w}: power_active")
            close(opt(ph[k], "power_apparent"), r["s_va"][k], f"{w}: power_apparent")
            close(opt(ph[k], "power_factor"), r["pf"][k], f"{w}: power_factor")
            close(opt(ph[k], "power_reactive"), None, f"{w}: no reactive power in a cycle")
        for k in range(nu):
            close(opt(ph[k], "voltage_peak"), r["u_peak_v"][k], f"{w}: voltage_peak")
        close(opt(m, "power_total"), r["p_total_w"], f"{w}: power_total")
        close(opt(m, "apparent_power_total"), r["s_eff_va"], f"{w}: apparent_power_total")
        close(opt(m, "power_factor_total"), r["pf_total"], f"{w}: power_factor_total")
        close(opt(m.pq, "frequency"), r["freq_hz"], f"{w}: pq.frequency")
        close(opt(m.features, "peak_factor"), max(r["i_crest"][:3]), f"{w}: peak_factor")
    elif t == "ms":
        check(len(ph) == 0, f"{w}: no phases")
        close(opt(m, "power_total"), r["p_total_w"], f"{w}: power_total")
        close(opt(m, "current_peak"), r["i_peak_a"], f"{w}: current_peak")
        # The draft's MW/s; the record's W/s.
        close(opt(m.features, "dp_dt"), r["dpdt_w_per_s"] / 1e6, f"{w}: dp_dt [MW/s]")
    elif t == "interval":
        close(opt(m, "power_total"), r["p_total_w"], f"{w}: power_total")
        close(opt(m.pq, "frequency"), r["freq_hz"], f"{w}: pq.frequency")
        for k in range(len(r["p_w"]) if nu > 1 else 1):
            close(opt(ph[k], "power_active"), r["p_w"][k], f"{w}: power_active")
    elif t == "agg150":
        close(opt(m, "power_total"), r["p_total_w"], f"{w}: power_total")
        close(opt(m.pq, "frequency"), r["freq_hz"], f"{w}: pq.frequency")
        for k in range(len(r["p_w"]) if nu > 1 else 1):
            close(opt(ph[k], "power_active"), r["p_w"][k], f"{w}: power_active")
    elif t == "swing":
        check(len(ph) == 0, f"{w}: no phases")
        close(opt(m, "power_total"), r["p_mean_w"], f"{w}: power_total = mean")
        close(opt(m.features, "load_factor"), r["p_mean_w"] / r["p_max_w"], f"{w}: load_factor",
              rel=2e-9)
    elif t == "freq10s":
        close(opt(m.pq, "frequency"), r["freq_hz"], f"{w}: pq.frequency")
    elif t == "event":
        e = m.event
        check(m.HasField("event"), f"{w}: event present")
        check(EVENTS[e.type] == r["event"], f"{w}: event type {e.type}")
        check(e.ended == (r["phase"] == "end"), f"{w}: ended")
        check(e.start_ns == r["start_ns"], f"{w}: start_ns")
        if e.ended:
            check(e.duration_ns == r["duration_ns"], f"{w}: duration_ns")
        names = r["channels"]
        check(bin(e.channels).count("1") == len(names), f"{w}: channels {e.channels:b} {names}")
        check(m.pq.sag_detected == (r["event"] == "dip"), f"{w}: sag_detected")
        check(m.pq.swell_detected == (r["event"] == "swell"), f"{w}: swell_detected")
        key = {"dip": "residual_v", "interruption": "residual_v", "swell": "max_v",
               "rvc": "du_max_v", "power_step": "to_w", "current_step": "to_a",
               "alarm": "extreme"}[r["event"]]
        close(e.extreme, r[key], f"{w}: extreme ({key})")
        if e.ended and r["event"] in ("dip", "interruption"):
            close(e.depth_pct, r["depth_pct"], f"{w}: depth_pct")
    elif t == "harm":
        close(opt(m.pq, "frequency"), r["freq_hz"], f"{w}: pq.frequency")
        close(opt(m, "power_total"), r["p_w"], f"{w}: power_total")
        close(opt(m.pq, "thd_voltage"), max(r["u_thd_pct"]), f"{w}: pq.thd_voltage")
        close(opt(m.pq, "thd_current"), max(r["i_thd_pct"][:3]), f"{w}: pq.thd_current")
        for k in range(nu):
            close(opt(ph[k], "thd_voltage"), r["u_thd_pct"][k], f"{w}: phases[{k}].thd_voltage")
        s = next(spec)
        check(s["t_ns"] == r["t_ns"], f"{w}: its spectrum line")
        chans = {c["ch"]: c for c in s["channels"]}
        i1 = chans["i1"]["sg"]
        check(len(m.pq.harmonics) == 50, f"{w}: 50 harmonics")
        for h in range(1, 51):
            close(m.pq.harmonics[h - 1], i1[h], f"{w}: pq.harmonics[{h}] = i1 subgroup")
        for k in range(nu):
            sg = chans[f"u{k + 1}"]["sg"]
            check(len(ph[k].voltage_harmonics) == 50, f"{w}: phase {k} voltage harmonics")
            for h in (1, 3, 5, 7, 50):
                close(ph[k].voltage_harmonics[h - 1], sg[h], f"{w}: phases[{k}] u h{h}")
            close(opt(ph[k], "voltage_rms"), chans[f"u{k + 1}"]["rms"], f"{w}: u rms")


# A format the meter does not know: refused, naming the option.
p = subprocess.run([HR_BIN, "meter", "--output-format", "xml", "-"], input=b"", capture_output=True)
check(p.returncode == 2 and b"--output-format" in p.stderr,
      f"--output-format xml: exit 2 naming the option ({p.returncode}, {p.stderr!r})")

total = 0
total += run(["dip", "--seconds", "3"], [], "PDU-A01-001")
total += run(["swell", "--seconds", "3"], [], "rack-7")
total += run(["harmonics", "--seconds", "11"], [], None)
total += run(["sine", "--layout", "1p2w", "--seconds", "2"], ["--layout", "1p2w"], "m1")
shutil.rmtree(tmp)
print(f"test_pb_oracle: {total} messages, {n_checks} checks, {len(fails)} failures")
sys.exit(1 if fails else 0)
