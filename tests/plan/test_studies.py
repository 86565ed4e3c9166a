"""End-to-end studies through the CLI: train on the measured traces, run the
site, provisioning and oversubscription studies on a small facility fed by
the Azure code trace, and check their files against NumPy: PUE scaling,
15-minute demand, the load-duration curve, nameplate sizing, monotone peaks.
Also: a corrupted model file and a bad trace are refused with clear messages.
Skips (77) without the binary or the shared data."""
import csv
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pngcheck  # noqa: E402  (the helpers next to this file)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../cli"))
import svgcheck  # noqa: E402  (tests/cli: reads the charts' SVG series)
from plantest import SKIP, binary_and_data, finish  # noqa: E402



def run(args, ok=True):
    p = subprocess.run(args, capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"{args[1:4]} failed ({p.returncode}): {p.stderr}")
    return p


def table(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def png_geometry():
    """The chart geometry and colours as src/cli/report_chart.h defines them."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../src/cli")
    with open(os.path.join(src, "report_chart.h")) as f:
        g = {k: int(v) for k, v in re.findall(r"#define HR__CHART_([A-Z]+) (\d+)", f.read())}
    with open(os.path.join(src, "report_chart.c")) as f:
        text = f.read()
    cols = re.findall(r"0x([0-9a-f]{6})", text[text.index("hr__chart_colors["):])[:8]
    g["colors"] = [tuple(bytes.fromhex(c)) for c in cols]
    return g


def check_png(path, series, names, fails, which=0):
    """path decodes, has the promised size, shows a legend swatch per
    series, and the line of series `which` (one no other series covers)
    spans the rows its min and max map to (y axis = data range padded by 5 %
    each side) and the plot's width."""
    g = png_geometry()
    try:
        w, h, rows = pngcheck.read(path)
    except (OSError, ValueError) as e:
        fails.append(f"{path}: {e}")
        return
    if (w, h) != (g["W"], g["H"]):
        fails.append(f"{path}: {w}x{h}")
        return
    ml, mt = g["ML"], g["MT"]
    pw, ph = w - ml - g["MR"], h - mt - g["MB"]
    for k in range(len(names)):
        if not pngcheck.pixels_of(rows, g["colors"][k], ml, w, 36, mt - 8):
            fails.append(f"{path}: no legend swatch for {names[k]}")
    lo = min(float(np.nanmin(s)) for s in series)
    hi = max(float(np.nanmax(s)) for s in series)
    pad = 0.05 * (hi - lo)
    y0, y1 = lo - pad, hi + pad
    def row(v):
        return mt + ph - 1 - (v - y0) / (y1 - y0) * (ph - 1)
    pts = pngcheck.pixels_of(rows, g["colors"][which], ml, ml + pw, mt, mt + ph)
    if not pts:
        fails.append(f"{path}: no line in the plot")
        return
    top, bottom = min(p[1] for p in pts), max(p[1] for p in pts)
    s0 = series[which]
    if abs(top - row(np.nanmax(s0))) > 2 or abs(bottom - row(np.nanmin(s0))) > 2:
        fails.append(f"{path}: line rows {top}..{bottom}, expected "
                     f"{row(np.nanmax(s0)):.1f}..{row(np.nanmin(s0)):.1f}")
    left, right = min(p[0] for p in pts), max(p[0] for p in pts)
    if left > ml + 1 or right < ml + pw - 2:
        fails.append(f"{path}: line columns {left}..{right} do not span the plot")


def check_svg(path, series, fails, which=0):
    """path is well-formed XML (Python's parser) with one line per series in
    the series' colour, and the line of series `which` reaches exactly the
    pixel centres of the data's maximum and minimum and spans the plot from
    the first x to the last."""
    g = png_geometry()
    try:
        lines = svgcheck.series(path)
    except Exception as e:  # noqa: BLE001 - any parse failure is a test failure
        fails.append(f"{path}: {e}")
        return
    want = [bytes(g["colors"][k]).hex() for k in range(len(series))]
    if [c for c, _ in lines] != want:
        fails.append(f"{path}: series lines {[c for c, _ in lines]}, expected {want}")
        return
    ml, mt = g["ML"], g["MT"]
    pw, ph = g["W"] - ml - g["MR"], g["H"] - mt - g["MB"]
    lo = min(float(np.nanmin(s)) for s in series)
    hi = max(float(np.nanmax(s)) for s in series)
    pad = 0.05 * (hi - lo)
    y0, y1 = lo - pad, hi + pad
    def row(v):
        return mt + ph - 1 - (v - y0) / (y1 - y0) * (ph - 1) + 0.5
    pts = lines[which][1]
    s0 = series[which]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    # cairo keeps coordinates in 24.8 fixed point (1/256 pixel).
    if abs(min(ys) - row(np.nanmax(s0))) > 0.01 or abs(max(ys) - row(np.nanmin(s0))) > 0.01:
        fails.append(f"{path}: line y {min(ys):.3f}..{max(ys):.3f}, expected "
                     f"{row(np.nanmax(s0)):.3f}..{row(np.nanmin(s0)):.3f}")
    # The last point is the first of the last column's samples when they are
    # all equal (the reduction keeps a column's min and max): within a column.
    if abs(xs[0] - (ml + 0.5)) > 0.01 or not (ml + pw - 1.5 - 0.01 <= xs[-1] <= ml + pw - 0.5 + 0.01) \
            or xs != sorted(xs):
        fails.append(f"{path}: line x {xs[0]:.3f}..{xs[-1]:.3f} (sorted: {xs == sorted(xs)})")


def main():
    found = binary_and_data("workloads/azure-llm-2023/AzureLLMInferenceTrace_code.csv")
    if not found:
        return SKIP
    hr, data, trace = found
    fails = []
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "m.model")
        run([hr, "plan", "train", "--data", data, "--out", model, "--bigru-epochs", "2"])
        fac = ["--rows", "2", "--racks", "3", "--servers", "2", "--hours", "0.5",
               "--csv", trace, "--model-file", model]
        site = os.path.join(d, "site")
        os.mkdir(site)
        run([hr, "plan", "site", "--out-dir", site, "--pue", "1.25"] + fac)
        s1 = np.loadtxt(os.path.join(site, "site_1s.csv"), delimiter=",", skiprows=1)
        if len(s1) != 1800:
            fails.append(f"site_1s rows {len(s1)}")
        if not np.allclose(s1[:, 2], 1.25 * s1[:, 1], rtol=1e-4):
            fails.append("facility != PUE x IT")
        s15 = np.loadtxt(os.path.join(site, "site_15min.csv"), delimiter=",", skiprows=1)
        want15 = s1[:, 1].reshape(2, 900).mean(axis=1)
        if not np.allclose(s15[:, 1], want15, rtol=1e-4):
            fails.append(f"15-min means {s15[:, 1]} vs {want15}")
        ldc = np.loadtxt(os.path.join(site, "ldc_15min.csv"), delimiter=",", skiprows=1)
        if not (np.all(np.diff(ldc[:, 2]) <= 0) and np.isclose(ldc[0, 2], 1.25 * want15.max(),
                                                               rtol=1e-4)):
            fails.append("load-duration curve not sorted or wrong peak")
        rows = np.loadtxt(os.path.join(site, "rows_1s.csv"), delimiter=",", skiprows=1)
        if not np.allclose(rows[:, 1:].sum(axis=1), s1[:, 1], rtol=1e-4):
            fails.append("rows do not sum to the site")
        per_server = s1[:, 1].mean() / 12
        if not (8 * 90 + 1000 <= per_server <= 8 * 700 + 1000):
            fails.append(f"mean server power {per_server} outside idle..TDP")
        check_png(os.path.join(site, "site.png"), [s1[:, 2] / 1e3], ["facility"], fails)
        check_png(os.path.join(site, "ldc.png"), [ldc[:, 2] / 1e3], ["facility"], fails)
        check_svg(os.path.join(site, "site.svg"), [s1[:, 2] / 1e3], fails)
        check_svg(os.path.join(site, "ldc.svg"), [ldc[:, 2] / 1e3], fails)
        with open(os.path.join(site, "report.md")) as f:
            text = f.read()
            if "load factor" not in text:
                fails.append("report.md lacks the load factor")
            if "](site.png)" not in text or "](ldc.png)" not in text:
                fails.append("report.md does not link the PNG charts")

        prov = os.path.join(d, "prov")
        os.mkdir(prov)
        run([hr, "plan", "provision", "--out-dir", prov] + fac)
        t = {r["method"]: r for r in table(os.path.join(prov, "provision.csv"))}
        if set(t) != {"tdp", "mean", "lut", "paper", "markov", "copula", "paper-gru16"}:
            fails.append(f"provision methods {sorted(t)}")
        elif not np.isclose(float(t["tdp"]["peak_facility_kw"]), 12 * 6.6 * 1.3, rtol=1e-6):
            fails.append("tdp peak is not the nameplate")
        elif not float(t["copula"]["peak_facility_kw"]) < float(t["tdp"]["peak_facility_kw"]):
            fails.append("copula peak above nameplate")

        ovs = os.path.join(d, "ovs")
        os.mkdir(ovs)
        out = run([hr, "plan", "oversub", "--out-dir", ovs, "--row-capacity-kw", "60",
                   "--samples", "50"] + fac).stdout
        o = table(os.path.join(ovs, "oversub.csv"))
        for svg in (os.path.join(ovs, "oversub.svg"), os.path.join(prov, "provision.svg")):
            if not os.path.exists(svg):
                fails.append(f"missing {svg}")
        # Oversub chart: p50 and p95 peak (which meet at the last count), then
        # the capacity line, drawn last, which nothing covers.
        check_png(os.path.join(ovs, "oversub.png"),
                  [np.array([float(r["peak_p50_kw"]) for r in o]),
                   np.array([float(r["peak_p95_kw"]) for r in o]), np.array([60.0] * len(o))],
                  ["peak p50", "peak p95", "row capacity"], fails, which=2)
        check_svg(os.path.join(ovs, "oversub.svg"),
                  [np.array([float(r["peak_p50_kw"]) for r in o]),
                   np.array([float(r["peak_p95_kw"]) for r in o]), np.array([60.0] * len(o))],
                  fails, which=2)
        for md, png in ((os.path.join(ovs, "report.md"), "oversub.png"),
                        (os.path.join(prov, "report.md"), "provision.png")):
            with open(md) as f:
                if f"]({png})" not in f.read():
                    fails.append(f"{md} does not link {png}")
        w, h, rows = pngcheck.read(os.path.join(prov, "provision.png"))
        g = png_geometry()
        for k, name in enumerate(["tdp", "mean", "lut"]):  # far apart, none hidden
            if not pngcheck.pixels_of(rows, g["colors"][k], g["ML"], w - g["MR"], g["MT"],
                                      h - g["MB"]):
                fails.append(f"provision.png: no {name} line")
        p50 = [float(r["peak_p50_kw"]) for r in o]
        if len(o) != 6 or any(b <= a for a, b in zip(p50, p50[1:])):
            fails.append(f"oversub peaks not increasing: {p50}")
        if "4 racks by nameplate" not in out:  # floor(60 / (2 x 6.6))
            fails.append("nameplate sizing line: " + out.splitlines()[-1])

        # Refusals with clear messages.
        with open(model) as f:
            text = f.read()
        bad = os.path.join(d, "bad.model")
        with open(bad, "w") as f:
            f.write(text.replace("states ", "states  ", 1))
        p = run([hr, "plan", "site", "--model-file", bad, "--csv", trace], ok=False)
        if p.returncode != 1 or "corrupted" not in p.stderr:
            fails.append("corrupted model: " + p.stderr)
        with open(bad, "w") as f:
            f.write(text.replace("headroom-plan-model 2", "headroom-plan-model 7", 1))
        p = run([hr, "plan", "site", "--model-file", bad, "--csv", trace], ok=False)
        if p.returncode != 1 or "version 7" not in p.stderr:
            fails.append("other version: " + p.stderr)
        badcsv = os.path.join(d, "bad.csv")
        with open(badcsv, "w") as f:
            f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:00:00,1,2\n"
                    "2023-11-16 18:00:01,abc,2\n")
        p = run([hr, "plan", "site", "--model-file", model, "--csv", badcsv], ok=False)
        if p.returncode != 1 or f"{badcsv}:3:2:" not in p.stderr:
            fails.append("bad trace: " + p.stderr)
    return finish(fails)


if __name__ == "__main__":
    sys.exit(main())
