"""Power-swing analytics (`headroom meter --records swing`) on generated
training-like loads whose iteration period, duty and swing are known.

Loads: balanced three-phase currents whose amplitude follows a square or
trapezoid power profile (compute phase at high power, communication phase at
low power) at a known iteration period, with white noise on every current
sample.  The total instantaneous power of balanced sinusoids is constant over
the cycle, so the meter's 1-ms series is the profile smoothed by the one-cycle
sliding mean (a boxcar of 1/f_line s, gain |sinc(f / f_line)|).

Checks, each against an independent reference:
- dominant frequency within one bin (1 / window) of 1 / period (truth);
- dominant amplitude within 1 % of the profile's fundamental Fourier
  amplitude (closed form for the square wave, a NumPy FFT of the ideal
  profile for the trapezoid) times the boxcar gain (truth); 1 % covers the
  Hann two-bin interpolation off a bin centre (measured < 0.07 %) and the noise;
- the power-envelope spectrum (`--swing-spectrum`), bin by bin, and the
  band energies, mean square of each band, against NumPy's FFT of the same
  1-ms series (the meter's own `ms` records over the record's span) summed by
  Parseval, and the window's mean/min/max/RMS: relative 1e-5 plus 2e-6 of the
  window's RMS (float FFT, 10-digit JSON);
- ramp rate: the largest |P(t) - P(t - L)| / L over the window's ticks,
  computed directly from the `ms` series (ticks whose window reaches into the
  startup-flagged ones are skipped, as documented); same tolerance;
- a single linear ramp of known slope (truth) over a ramp window inside it;
- limit events: a ramp limit 1 % above the ramp gives no event, 1 % below it
  exactly one start and one end; a band limit just above the largest band
  value gives none, just below it one start and one end (the swing stops
  before the stream does)."""
import numpy as np

from pqtest import Signal, check, finish, run_meter

n_checks = 0


def ok(cond, what):
    global n_checks
    n_checks += 1
    check(cond, what)


def close(got, want, scale, what, rel=1e-5, absf=2e-6):
    tol = rel * abs(want) + absf * scale + 1e-9
    ok(abs(got - want) <= tol, f"{what}: meter {got:.9g}, numpy {want:.9g} (tol {tol:.3g})")


def load_frames(profile, seconds, fs, f_line, p_nom_w, noise, seed):
    """Frames of a balanced 3P4W load whose total power is p_nom_w * profile(t)."""
    u_rms = 230.0
    i_rms = p_nom_w / (3 * u_rms)
    s = Signal(fs=fs, f=f_line, nphase=3, u_rms=u_rms, i_rms=i_rms)
    s.i_env = lambda t, k: profile(t)
    fr = s.frames(seconds).astype(np.float64)
    rng = np.random.default_rng(seed)
    fr[:, 3:6] += rng.normal(0.0, noise * i_rms, size=fr[:, 3:6].shape)
    return fr.astype("<f4")


def meter(frames, fs, f_line, *args):
    recs, err, _ = run_meter(frames, "--fs", str(fs), "--f-nom", str(f_line), "--u-din", "230",
                             "--records", "ms,swing,event", *args)
    ms = [r for r in recs if r["type"] == "ms"]
    sw = [r for r in recs if r["type"] == "swing"]
    ev = [r for r in recs if r["type"] == "event" and r["event"] == "swing_limit"]
    spec = {(r["window"], r["t_ns"]): r for r in recs if r["type"] == "swing_spectrum"}
    for r in sw:
        r["spectrum"] = spec.get((r["window"], r["t_ns"]))
    return ms, sw, ev


def ms_arrays(ms):
    t = np.array([r["t_ns"] for r in ms], dtype=np.int64)
    p = np.array([r["p_total_w"] for r in ms])
    st = np.array(["startup" in r["flags"] for r in ms])
    return t, p, st


def oracle_window(t, p, st, rec, bands, ramps):
    """NumPy's values for one swing record, from the ms series."""
    i0 = int(np.searchsorted(t, rec["t_ns"]))
    n = rec["dur_ns"] // 1000000
    x = p[i0:i0 + n]
    assert len(x) == n and t[i0] == rec["t_ns"]
    X = np.fft.rfft(x - x.mean())
    s2 = np.abs(X) ** 2 / n**2
    s2[1:(n + 1) // 2] *= 2  # one-sided; k = 0 and n/2 once
    f = np.arange(len(X)) * 1000.0 / n
    out = {"mean": x.mean(), "min": x.min(), "max": x.max(), "rms": x.std(),
           "bands": [np.sqrt(s2[(f >= lo - 1e-9) & (f <= hi + 1e-9)].sum()) for lo, hi in bands],
           "spectrum": np.sqrt(s2), "bin_hz": 1000.0 / n}
    last_st = np.nonzero(st)[0].max() if st.any() else -1
    rr = []
    for L in ramps:
        best = 0.0
        for j in range(i0, i0 + n):
            if j - L < 0 or j - L <= last_st:
                continue
            v = (p[j] - p[j - L]) * 1000.0 / L
            if abs(v) > abs(best):
                best = v
        rr.append(best)
    out["ramps"] = rr
    return out


def check_oracle(ms, sw, bands, ramps, label):
    t, p, st = ms_arrays(ms)
    for r in sw:
        o = oracle_window(t, p, st, r, bands, ramps)
        sc = o["rms"]
        w = f"{label} window {r['window']} at {r['t_ns'] / 1e9:g} s"
        close(r["p_mean_w"], o["mean"], sc, w + " mean")
        close(r["p_min_w"], o["min"], sc, w + " min")
        close(r["p_max_w"], o["max"], sc, w + " max")
        close(r["swing_rms_w"], o["rms"], sc, w + " swing RMS")
        if r["spectrum"] is not None:
            got = np.array(r["spectrum"]["spectrum_w"])
            ok(len(got) == len(o["spectrum"]) and r["spectrum"]["bin_hz"] == o["bin_hz"],
               w + f" spectrum: {len(got)} bins, numpy {len(o['spectrum'])}")
            if len(got) == len(o["spectrum"]):
                err = np.abs(got - o["spectrum"]) - (1e-5 * o["spectrum"] + 2e-6 * sc)
                ok(err.max() <= 0, w + f" spectrum bin {err.argmax()}: {got[err.argmax()]:.9g}, "
                   f"numpy {o['spectrum'][err.argmax()]:.9g}")
        for b in range(len(bands)):
            close(r["band_rms_w"][b], o["bands"][b], sc, w + f" band {bands[b]}")
        for q in range(len(ramps)):
            close(r["ramp_w_per_s"][q], o["ramps"][q], sc * 1000.0 / ramps[q], w + f" ramp {ramps[q]} ms")


def square_case():
    """Square load: period 0.5 s (2 Hz), duty 0.6, 40 % to 100 % of 120 kW,
    60 Hz grid at 8 kHz; windows 0.125, 2 and 10 s; one bin-centred and one
    off-centre iteration rate."""
    fs, fl, pn = 8000.0, 60.0, 120e3
    bands = [(0.1, 2.0), (3.0, 30.0), (1.5, 2.5)]
    ramps = [50, 1000]
    for period, duty in ((0.5, 0.6), (0.37, 0.45)):
        prof = lambda t: np.where((t / period) % 1.0 < duty, 1.0, 0.4)
        fr = load_frames(prof, 21.0, fs, fl, pn, 0.01, 1)
        args = ["--swing-window", "0.125", "--swing-window", "2", "--swing-window", "10",
                "--swing-spectrum"]
        for lo, hi in bands:
            args += ["--swing-band", f"{lo}:{hi}"]
        for L in ramps:
            args += ["--swing-ramp", str(L / 1000)]
        ms, sw, ev = meter(fr, fs, fl, *args)
        ok(all(r["spectrum"] is not None for r in sw), "every swing record has its spectrum")
        ok(len([r for r in sw if r["window"] == 2]) == 2, f"two 10-s windows (got {len(sw)} records)")
        ok(len([r for r in sw if r["window"] == 0]) == len(ms) // 125,
           f"{len(ms) // 125} windows of 125 ms")
        f0 = 1.0 / period
        h = 0.6 * pn
        truth = 2 * h / np.pi * np.sin(np.pi * duty) * abs(np.sinc(f0 / fl))
        for r in sw:
            if r["window"] == 0 or "startup" in r["flags"]:
                continue
            ok(abs(r["dom_freq_hz"] - f0) <= r["bin_hz"],
               f"period {period}: dominant {r['dom_freq_hz']:.4f} Hz, truth {f0:.4f} Hz "
               f"(bin {r['bin_hz']} Hz)")
            ok(abs(r["dom_amp_w"] - truth) <= 0.01 * truth,
               f"period {period} window {r['window']}: amplitude {r['dom_amp_w']:.1f} W, "
               f"truth {truth:.1f} W")
        check_oracle(ms, sw, bands, ramps, f"square {period} s")


def trapezoid_case():
    """Trapezoid load at 50 Hz (7.68 kHz): period 1.25 s, 100-ms ramps,
    60 % at high power, 30 % to 100 % of 2 MW; window 10 s."""
    fs, fl, pn = 7680.0, 50.0, 2e6
    period, rise, high = 1.25, 0.1, 0.6

    def prof(t):
        ph = (np.asarray(t) / period) % 1.0 * period
        up = np.clip(ph / rise, 0, 1)
        down = np.clip((ph - (high * period)) / rise, 0, 1)
        return 0.3 + 0.7 * (up - down)

    fr = load_frames(prof, 21.0, fs, fl, pn, 0.005, 2)
    bands = [(0.1, 2.0), (3.0, 30.0)]
    ms, sw, ev = meter(fr, fs, fl, "--swing-window", "10", "--swing-window", "0.25",
                       "--swing-ramp", "0.05")
    tt = np.arange(100000) / 100000 * period
    c1 = 2 * abs(np.fft.rfft(prof(tt))[1]) / len(tt)
    truth = pn * c1 * abs(np.sinc(1 / period / fl))
    n10 = 0
    for r in sw:
        if r["window"] != 0 or "startup" in r["flags"]:
            continue
        n10 += 1
        ok(abs(r["dom_freq_hz"] - 1 / period) <= r["bin_hz"],
           f"trapezoid: dominant {r['dom_freq_hz']} Hz, truth {1 / period} Hz")
        ok(abs(r["dom_amp_w"] - truth) <= 0.01 * truth,
           f"trapezoid: amplitude {r['dom_amp_w']:.1f} W, truth {truth:.1f} W")
        # The 50-ms ramp inside a 100-ms edge: 0.7 * pn / 0.1 s, smoothed by the
        # 20-ms boxcar only at the ends of the edge (60 ms of linear slope).
        slope = 0.7 * pn / rise
        ok(abs(abs(r["ramp_w_per_s"][0]) - slope) <= 0.01 * slope,
           f"trapezoid: ramp {r['ramp_w_per_s'][0]:.0f} W/s, truth {slope:.0f} W/s")
    ok(n10 == 1, f"one settled 10-s window (got {n10})")
    check_oracle(ms, sw, bands, [50], "trapezoid")


def ramp_limit_case():
    """One linear ramp of 500 kW/s (100 kW to 200 kW in 0.2 s at t = 3 s),
    ramp window 0.1 s: a limit 1 % above gives no event, 1 % below one."""
    fs, fl = 8000.0, 60.0
    slope = 500e3
    prof = lambda t: 0.5 + 0.5 * np.clip((t - 3.0) / 0.2, 0, 1)
    fr = load_frames(prof, 6.0, fs, fl, 200e3, 0.0, 3)
    for factor, want in ((1.01, 0), (0.99, 1)):
        ms, sw, ev = meter(fr, fs, fl, "--swing-window", "1", "--swing-ramp", "0.1",
                           "--swing-ramp-limit", str(slope * factor))
        starts = [e for e in ev if e["phase"] == "start"]
        ends = [e for e in ev if e["phase"] == "end"]
        ok(len(starts) == want and len(ends) == want,
           f"ramp limit {factor} x slope: {len(starts)} starts, {len(ends)} ends, want {want}")
        for e in ends:
            ok("open" not in e["flags"] and e["limit"] == "ramp" and e["index"] == 0,
               "ramp event closed by the series")
            ok(abs(e["max_w_per_s"] - slope) <= 0.002 * slope,
               f"ramp event maximum {e['max_w_per_s']:.0f} W/s, truth {slope:.0f}")
            ok(2.9e9 < e["start_ns"] < 3.25e9, f"ramp event starts at {e['start_ns'] / 1e9} s")
        got = max(abs(r["ramp_w_per_s"][0]) for r in sw)
        ok(abs(got - slope) <= 0.002 * slope, f"largest ramp {got:.0f} W/s, truth {slope:.0f}")


def band_limit_case():
    """A 3-Hz square swing for 20 s, then flat for 20 s; 5-s windows, band
    2.5:3.5 Hz.  Limit just above the largest band value: no event; just
    below: one start and one end."""
    fs, fl = 8000.0, 60.0
    prof = lambda t: np.where(t < 20.0, np.where((t * 3.0) % 1.0 < 0.5, 1.0, 0.5), 0.75)
    fr = load_frames(prof, 40.0, fs, fl, 100e3, 0.01, 4)
    base = ["--swing-window", "5", "--swing-band", "2.5:3.5"]
    ms, sw, ev = meter(fr, fs, fl, *base)
    vals = [r["band_rms_w"][0] for r in sw if "startup" not in r["flags"]]
    top = max(vals)
    ok(len(ev) == 0, "no limit, no event")
    for factor, want in ((1.001, 0), (0.99, 1)):
        ms, sw, ev = meter(fr, fs, fl, *base, "--swing-band-limit", str(top * factor))
        starts = [e for e in ev if e["phase"] == "start"]
        ends = [e for e in ev if e["phase"] == "end"]
        ok(len(starts) == want and len(ends) == want,
           f"band limit {factor} x max: {len(starts)} starts, {len(ends)} ends, want {want}")
        for e in ends:
            ok("open" not in e["flags"] and e["limit"] == "band" and e["index"] == 0,
               "band event closed by the series")
            ok(abs(e["max_w"] - top) <= 1e-6 * top, f"band event maximum {e['max_w']} W, {top}")
            ok(e["start_ns"] + e["duration_ns"] <= 25e9, "ends once the swing stopped")


def cli_errors():
    """Refused swing options name the option and say why (exit 2)."""
    fr = load_frames(lambda t: np.ones_like(t), 0.2, 8000.0, 60.0, 1e4, 0.0, 5)
    cases = [
        (["--swing-window", "0.127"], "--swing-window: swing.window_s[0]", "prime factor"),
        (["--swing-window", "0.1"], "--swing-window: swing.window_s[0]", "whole number of ms"),
        (sum([["--swing-window", "1"] for _ in range(5)], []),
         "--swing-window", "at most 4"),
        (["--swing-band", "3"], "--swing-band", "invalid value"),
        (["--swing-band", "5:2"], "--swing-band: swing.band_lo_hz[0]", "lo < hi"),
        (["--swing-band-limit", "1", "--swing-band-limit", "2", "--swing-band-limit", "3"],
         "--swing-band-limit", "3 limits for 2 bands"),
        (["--swing-ramp-limit", "-5"], "--swing-ramp-limit", "invalid value"),
        (["--swing-ramp", "0.0005"], "--swing-ramp: swing.ramp_window_s[0]", "whole number"),
        (["--swing-hysteresis-pct", "100"], "--swing-hysteresis-pct", "below 100"),
    ]
    for args, opt, why in cases:
        recs, err, rc = run_meter(fr, "--records", "swing", *args, check_rc=False)
        ok(rc == 2 and opt in err and why in err, f"{args}: exit {rc}, stderr {err.strip()!r}")
    # Without --records swing the options are not checked.
    recs, err, rc = run_meter(fr, "--swing-window", "0.127", check_rc=False)
    ok(rc == 0, f"swing options unchecked without swing records: exit {rc} {err}")


cli_errors()
square_case()
trapezoid_case()
ramp_limit_case()
band_limit_case()
finish("test_swing_oracle", n_checks)
