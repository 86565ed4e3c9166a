#!/usr/bin/python3
"""Writes the seed corpus of fuzz_wire_pb (fuzz/corpus/fuzz_wire_pb/):
PowerMeasurement messages built with Python's google.protobuf from
proto/power_measurement.proto (protoc generates the module in a temporary
folder; Debian protobuf-compiler and python3-protobuf), single and as
length-delimited streams, and malformed ones: truncated, 4 phases, 51
harmonics, a 65-byte or non-UTF-8 device id, unknown fields, a bad wire type,
an 11-byte varint, a length past the end, a huge length prefix.

Run from anywhere: /usr/bin/python3 fuzz/make_corpus_wire_pb.py.  It only
rewrites the seeds whose names it owns.  The output is deterministic."""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus", "fuzz_wire_pb")
MAX_SEED = 6000

tmp = tempfile.mkdtemp()
subprocess.run(["protoc", f"--python_out={tmp}", f"-I{ROOT}/proto",
                f"{ROOT}/proto/power_measurement.proto"], check=True)
sys.path.insert(0, tmp)
pb = importlib.import_module("power_measurement_pb2")


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def delimited(*msgs):
    return b"".join(varint(len(m)) + m for m in msgs)


def put(name, data):
    if len(data) > MAX_SEED:
        raise SystemExit(f"{name}: {len(data)} bytes, over {MAX_SEED}")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def cycle():
    m = pb.PowerMeasurement(timestamp_ns=1764979200008333333, device_id="PDU-A01-001",
                            kind=pb.RECORD_KIND_CYCLE, flags=0, duration_ns=16666667)
    for k in range(3):
        m.phases.add(voltage_rms=277.0 + k, current_rms=100.0 - k, power_active=27700.0,
                     power_apparent=27701.0, power_factor=0.99996, voltage_peak=391.7,
                     current_peak=141.4)
    m.pq.frequency = 59.98
    m.features.peak_factor = 1.4142
    m.power_total = 83100.0
    m.apparent_power_total = 83103.0
    m.power_factor_total = 0.99996
    m.current_neutral_rms = 0.5
    return m


def harm():
    m = pb.PowerMeasurement(timestamp_ns=200000000, device_id="rack-7", kind=pb.RECORD_KIND_HARM,
                            duration_ns=200000000)
    for k in range(3):
        p = m.phases.add(voltage_rms=230.0, current_rms=20.0, power_active=4400.0,
                         power_reactive=-120.5, power_apparent=4600.0, power_factor=0.956,
                         thd_voltage=3.1, thd_current=22.4)
        p.voltage_harmonics.extend([230.0 / h for h in range(1, 51)])
        p.current_harmonics.extend([20.0 / h ** 2 for h in range(1, 51)])
    m.pq.thd_voltage = 3.1
    m.pq.thd_current = 22.4
    m.pq.harmonics.extend([20.0 / h ** 2 for h in range(1, 51)])
    m.pq.frequency = 50.01
    return m


def event():
    m = pb.PowerMeasurement(timestamp_ns=1012508875, device_id="m1", kind=pb.RECORD_KIND_EVENT)
    m.pq.sag_detected = True
    m.pq.swell_detected = False
    e = m.event
    e.type = pb.EVENT_TYPE_DIP
    e.ended = True
    e.channels = 1
    e.start_ns = 995834892
    e.duration_ns = 500000000
    e.extreme = 161.9
    e.depth_pct = 30.0
    e.delta = 0.0
    e.from_value = 0.0
    e.alarm_index = -1
    return m


def ms():
    m = pb.PowerMeasurement(timestamp_ns=1000000, kind=pb.RECORD_KIND_MS, duration_ns=1000000)
    m.power_total = 56800.0
    m.current_peak = 141.4
    m.features.dp_dt = 50.0
    return m


c, h, e, s = (x.SerializeToString() for x in (cycle(), harm(), event(), ms()))
put("empty", b"")
put("cycle", c)
put("harm", h)
put("event", e)
put("ms", s)
put("stream", delimited(s, c, e, s))
put("stream-truncated", delimited(s, c)[:-7])
put("truncated", c[: len(c) // 2])
four = cycle()
four.phases.add(voltage_rms=1.0)
put("four-phases", four.SerializeToString())
h51 = harm()
h51.pq.harmonics.append(0.001)
put("harmonics-51", h51.SerializeToString())
put("device-id-65", b"\x12\x41" + b"x" * 65)
put("device-id-latin1", b"\x12\x03r\xe4k" + s)
put("unknown-fields", b"\xf8\x07\x05" + b"\x82\x08\x03abc" + c)  # fields 127 (varint), 128 (bytes)
put("bad-wire-type", b"\x0f\x00" + s)
put("varint-11", b"\x08" + b"\xff" * 10 + b"\x01")
put("length-past-end", b"\x1a\x7f\x09")
put("prefix-huge", b"\xff\xff\xff\xff\x0f" + s)
put("prefix-11", b"\x80" * 10 + b"\x01")
shutil.rmtree(tmp)
print(f"fuzz_wire_pb: {len(os.listdir(OUT))} seeds in {OUT}")
