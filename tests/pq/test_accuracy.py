"""IEC 61000-4-30 Class A accuracy of the measurement engine against
independent references (closed-form signals, NumPy quadrature).

Conditions (issue: Foundation and the measurement engine):
 - 50 and 60 Hz, fs = 8 kHz and 12.8 kHz (and 7.68 kHz), f0 +/- 2 Hz,
   10 % 3rd and 5th harmonics plus an interharmonic;
 - RMS voltage within +/-0.1 % of Udin over 10-150 % of Udin (10/12-cycle values);
 - 10-s frequency within +/-10 mHz;
 - active power within +/-0.2 % of apparent power for PF 0.5 lagging .. 0.8 leading,
   with distorted current.
"""
import numpy as np

from pqtest import Signal, check, finish, run_meter, window_mean

n = 0
worst = {"rms": 0.0, "f10": 0.0, "fcyc": 0.0, "p": 0.0}

# --- RMS of the 10/12-cycle interval and per cycle --------------------------
for fs in (8000.0, 12800.0, 7680.0):
    for f0 in (50.0, 60.0):
        for df in (-2.0, 0.0, 1.37, 2.0):
            for level in (0.1, 1.0, 1.5):
                s = Signal(fs=fs, f=f0 + df, u_rms=230.0 * level)
                s.u_harm = [(3, 0.10, 0.3), (5, 0.10, 1.1)]
                s.u_inter = [(f0 * 3.5, 0.02)]
                recs, _, _ = run_meter(s.frames(1.5), "--fs", str(fs), "--f-nom", str(f0),
                                       "--u-din", "230", "--records", "interval,cycle")
                ints = [r for r in recs if r["type"] == "interval" and set(r["flags"]) <= {"event"}]
                check(len(ints) >= 4, f"fs={fs} f={f0+df} level={level}: {len(ints)} clean intervals")
                for r in ints[:3]:
                    t0, t1 = r["t_ns"] * 1e-9, (r["t_ns"] + r["dur_ns"]) * 1e-9
                    for k in range(3):
                        ref = np.sqrt(window_mean(lambda t: s.u(t, k) ** 2, t0, t1))
                        err = abs(r["u_rms_v"][k] - ref) / 230.0
                        worst["rms"] = max(worst["rms"], err)
                        check(err <= 0.001, f"interval RMS fs={fs} f={f0+df} level={level} ch{k}: "
                                            f"{r['u_rms_v'][k]:.4f} vs {ref:.4f} ({err*100:.4f} % Udin)")
                        n += 1
                    # The window itself must be 10/12 cycles of the actual frequency.
                    cycles = (t1 - t0) * (f0 + df)
                    check(abs(cycles - r["n_cycles"]) < 0.01, f"interval length {cycles:.4f} cycles")
                    n += 1

# --- 10-s frequency and the per-cycle estimate -----------------------------------
for fs in (8000.0, 12800.0):
    for f0 in (50.0, 60.0):
        for df in (-2.0, -0.5, 0.0, 0.73, 2.0):
            s = Signal(fs=fs, f=f0 + df, u_rms=230.0)
            s.u_harm = [(3, 0.10, 0.3), (5, 0.10, 1.1)]
            s.u_inter = [(f0 * 3.5, 0.02)]
            recs, _, _ = run_meter(s.frames(20.3), "--fs", str(fs), "--f-nom", str(f0),
                                   "--u-din", "230", "--records", "freq10s,cycle")
            f10 = [r for r in recs if r["type"] == "freq10s"]
            # The stream starts on a 10-s tick: [0, 10) and [10, 20) s are
            # complete intervals (the first one is not dropped as start-up).
            check([r["t_ns"] for r in f10] == [0, 10_000_000_000] and not any(r["flags"] for r in f10),
                  f"10-s frequency values at fs={fs} f={f0+df}: {[(r['t_ns'], r['flags']) for r in f10]}")
            for r in f10:
                err = abs(r["freq_hz"] - (f0 + df))
                worst["f10"] = max(worst["f10"], err)
                check(err <= 0.010, f"10-s frequency fs={fs} f={f0+df}: {r['freq_hz']:.6f}")
                n += 1
            cyc = [r for r in recs if r["type"] == "cycle" and not r["flags"]]
            e = max(abs(r["freq_hz"] - (f0 + df)) for r in cyc)
            worst["fcyc"] = max(worst["fcyc"], e)
            # Documented bound for the per-cycle estimate with 10 % h3/h5 and a 2 %
            # interharmonic (docs/measurements.md).
            check(e <= 0.05, f"per-cycle frequency fs={fs} f={f0+df}: worst error {e*1000:.2f} mHz")
            n += 1

# --- active power, PF 0.5 lagging .. 0.8 leading, distorted current --------------
for f0 in (50.0, 60.0):
    for pf in (0.5, 0.8, 1.0, -0.8):   # negative: leading
        phi = np.arccos(abs(pf)) * (1 if pf > 0 else -1)
        s = Signal(fs=8000.0, f=f0 + 0.7, u_rms=230.0, i_rms=80.0)
        s.u_harm = [(3, 0.05, 0.0), (5, 0.04, 0.5)]
        s.i_harm = [(3, 0.30, 0.4), (5, 0.15, 1.0), (7, 0.08, 2.0)]
        s.i_phi = phi
        recs, _, _ = run_meter(s.frames(1.2), "--fs", "8000", "--f-nom", str(f0), "--u-din", "230",
                               "--records", "cycle,interval")
        for r in [x for x in recs if not x["flags"]][:12]:
            t0, t1 = r["t_ns"] * 1e-9, (r["t_ns"] + r["dur_ns"]) * 1e-9
            for k in range(3):
                p_ref = window_mean(lambda t: s.u(t, k) * s.i(t, k), t0, t1)
                s_ref = np.sqrt(window_mean(lambda t: s.u(t, k) ** 2, t0, t1) *
                                window_mean(lambda t: s.i(t, k) ** 2, t0, t1))
                err = abs(r["p_w"][k] - p_ref) / s_ref
                worst["p"] = max(worst["p"], err)
                check(err <= 0.002, f"{r['type']} P f0={f0} pf={pf} ph{k}: {r['p_w'][k]:.2f} vs "
                                    f"{p_ref:.2f} W ({err*100:.4f} % of S)")
                n += 1

print("worst errors: RMS %.4f %% Udin, 10-s f %.3f mHz, per-cycle f %.3f mHz, P %.4f %% of S" %
      (worst["rms"] * 100, worst["f10"] * 1e3, worst["fcyc"] * 1e3, worst["p"] * 100))
finish("accuracy", n)
