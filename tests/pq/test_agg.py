"""IEC 61000-4-30 §4.5 aggregation (agg150, agg10min) against NumPy.

References, independent of the meter's aggregation code:
  - NumPy aggregates the meter's own 10/12-cycle records (its `interval`
    records of the same run) by the standard's rule: the square root of the
    mean of the squares of the values (§4.5.1; ../shared/reference/
    power-quality.md §2.2, [std]); P and frequency as a plain mean.  Limit
    1e-9 relative: the same doubles summed in another order.
  - Which values belong to which aggregate follows from the standard's text
    alone: a 150/180-cycle value is fifteen 10/12-cycle values (§4.5.2); a
    10/12-cycle value that overlaps the 10-min tick is the last of the old
    10-min interval, and the 10/12-cycle intervals restart at the tick
    (§4.5.3); at the tick a new 150/180-cycle value starts while the one in
    progress completes (the overlap of §4.5.3's figure; as the Hioki PQ3198
    manual, appendix A14, words it).
  - Flags (§4.7): an aggregate overlapping the generated dip or swell (its
    true times, known from the signal) is flagged "event"; one that ends a
    cycle before the disturbance or starts two cycles after it is not.
  - The 10-min value of a slowly modulated voltage against its closed form
    sqrt(mean(U(t)^2)): Class A voltage uncertainty ±0.1 % of Udin ([std]).
"""
import numpy as np

from pqtest import Signal, check, finish, run_meter

UDIN = 230.0
TEN = 600_000_000_000
TICK = 1_700_000_400_000_000_000  # a multiple of 600 s
assert TICK % TEN == 0
n = 0


def rms_agg(vals):
    v = np.asarray(vals, dtype=np.float64)
    return np.sqrt(np.mean(v * v, axis=0))


def close(a, b, rel=1e-9):
    return np.all(np.abs(np.asarray(a) - np.asarray(b)) <= rel * np.maximum(1.0, np.abs(b)))


def check_against_intervals(label, recs):
    """Every aggregate against NumPy over the interval records it must hold."""
    global n
    iv = [r for r in recs if r["type"] == "interval"]
    a150 = [r for r in recs if r["type"] == "agg150"]
    a10 = [r for r in recs if r["type"] == "agg10min"]
    starts = [r["t_ns"] for r in iv]
    # 10/12-cycle values tile the time line except at a 10-min tick, where
    # the next one starts at the first cycle at or after the tick.
    resync = []
    for k in range(1, len(iv)):
        end = iv[k - 1]["t_ns"] + iv[k - 1]["dur_ns"]
        if end != iv[k]["t_ns"]:
            tick = (iv[k]["t_ns"] // TEN) * TEN
            T = 1.0 / iv[k]["freq_hz"]
            check(iv[k - 1]["t_ns"] < tick < end and 0 <= iv[k]["t_ns"] - tick <= T * 1e9 + 1,
                  f"{label}: values {k - 1},{k} overlap ({iv[k - 1]['t_ns']}..{end}, {iv[k]['t_ns']}) "
                  f"but not at a tick")
            resync.append(k)
        n += 1
    for a in a150:
        k0 = starts.index(a["t_ns"]) if a["t_ns"] in starts else -1
        check(k0 >= 0 and k0 + 15 <= len(iv), f"{label}: agg150 at {a['t_ns']} starts no value")
        if k0 < 0 or k0 + 15 > len(iv):
            continue
        v = iv[k0:k0 + 15]
        check(a["n_values"] == 15 and a["n_cycles"] == sum(r["n_cycles"] for r in v),
              f"{label}: agg150 at {a['t_ns']}: {a['n_values']} values, {a['n_cycles']} cycles")
        check(a["t_ns"] + a["dur_ns"] == v[-1]["t_ns"] + v[-1]["dur_ns"], f"{label}: agg150 end")
        check(close(a["u_rms_v"], rms_agg([r["u_rms_v"] for r in v])), f"{label}: agg150 Urms "
              f"{a['u_rms_v']} vs {rms_agg([r['u_rms_v'] for r in v])}")
        check(close(a["i_rms_a"], rms_agg([r["i_rms_a"] for r in v])), f"{label}: agg150 Irms")
        check(close(a["p_w"], np.mean([r["p_w"] for r in v], axis=0), 1e-9), f"{label}: agg150 P")
        check(close(a["freq_hz"], np.mean([r["freq_hz"] for r in v])), f"{label}: agg150 f")
        fl = set().union(*[set(r["flags"]) for r in v])
        check(set(a["flags"]) == fl, f"{label}: agg150 flags {a['flags']} vs its values' {sorted(fl)}")
        n += 8
    for a in a10:
        t1 = a["t_ns"] + a["dur_ns"]
        check(a["t_ns"] % TEN == 0 and a["dur_ns"] == TEN, f"{label}: agg10min at {a['t_ns']}")
        v = [r for r in iv if a["t_ns"] <= r["t_ns"] < t1]
        check(len(v) == a["n_values"], f"{label}: agg10min {a['n_values']} values, {len(v)} start in it")
        check(v[-1]["t_ns"] + v[-1]["dur_ns"] > t1 or v[-1]["t_ns"] + v[-1]["dur_ns"] == t1,
              f"{label}: the last value of the 10-min interval reaches the tick")
        check(close(a["u_rms_v"], rms_agg([r["u_rms_v"] for r in v])), f"{label}: agg10min Urms")
        check(close(a["p_w"], np.mean([r["p_w"] for r in v], axis=0), 1e-9), f"{label}: agg10min P")
        n += 5
    return iv, a150, a10, resync


class Disturbed(Signal):
    def __init__(self, fs, f, t0_s, levels):
        super().__init__(fs=fs, f=f, u_rms=UDIN, i_rms=30.0)
        self.i_phi = 0.3
        self.t0_s, self.levels = t0_s, levels

    def env(self, t, k):
        e = np.ones_like(t)
        for a, b, lv in self.levels:
            e = np.where((t + self.t0_s >= a) & (t + self.t0_s < b), lv[k], e)
        return e

    def u(self, t, k):
        return UDIN * np.sqrt(2) * self.env(t, k) * np.sin(2 * np.pi * self.f * t - 2 * np.pi * k / 3)


# 1. Across a 10-min tick with a dip and a swell, 60 Hz at 8 kHz and 50 Hz at
#    7.68 kHz: the stream starts 2.5 s before the tick (times below are
#    seconds after the tick).
for fs, f in ((8000.0, 60.0), (7680.0, 50.0)):
    label = f"{f:g} Hz at {fs / 1000:g} kHz"
    t0_s = -2.5
    events = [(1.2, 1.5, (1.0, 0.5, 1.0)), (4.1, 4.3, (1.15, 1.0, 1.0))]
    sig = Disturbed(fs, f, t0_s, events)
    recs, _, _ = run_meter(sig.frames(9.5), "--fs", str(fs), "--f-nom", f"{f:g}", "--u-din", str(UDIN),
                           "--t0-ns", str(TICK + int(t0_s * 1e9)),
                           "--records", "interval,agg150,agg10min,event")
    iv, a150, a10, resync = check_against_intervals(label, recs)
    check(len(resync) == 1, f"{label}: {len(resync)} resynchronisations, want 1 (at the tick)")
    # The 10-min value [tick - 10 min, tick): cut (the stream began inside it).
    check(len(a10) == 1 and a10[0]["t_ns"] == TICK - TEN and "startup" in a10[0]["flags"],
          f"{label}: the 10-min value cut by the stream start: {[(r['t_ns'], r['flags']) for r in a10]}")
    # A new 150/180-cycle value starts at the first value after the tick, and
    # the one in progress completes with fifteen (they overlap).
    if resync:
        k = resync[0]
        new = [a for a in a150 if a["t_ns"] == iv[k]["t_ns"]]
        old = [a for a in a150 if a["t_ns"] < TICK < a["t_ns"] + a["dur_ns"]]
        check(len(new) == 1 and len(old) == 1 and old[0]["t_ns"] + old[0]["dur_ns"] > new[0]["t_ns"],
              f"{label}: 150/180-cycle values at the tick: {[(a['t_ns'] - TICK, a['dur_ns']) for a in a150]}")
    # Flags against the true disturbance times.
    T = 1.0 / f
    for a in a150:
        s = (a["t_ns"] - TICK) * 1e-9
        e = s + a["dur_ns"] * 1e-9
        clear = all(e < t - T or s > b + 2 * T for t, b, _ in events)
        inside = any(s <= t and e >= b for t, b, _ in events)
        if clear:
            check("event" not in a["flags"], f"{label}: agg150 [{s:.3f}, {e:.3f}) s flagged, no event near")
        if inside:
            check("event" in a["flags"], f"{label}: agg150 [{s:.3f}, {e:.3f}) s holds an event, unflagged")
            n += 1
    flagged = sum("event" in a["flags"] for a in a150)
    check(flagged >= 2, f"{label}: {flagged} flagged 150/180-cycle values")
    print(f"{label}: {len(iv)} values, {len(a150)} agg150 ({flagged} flagged), {len(a10)} agg10min, "
          f"resync at value {resync}")

# 2. A complete 10-min interval: 1P2W 50.03 Hz (50 Hz nominal) at 4 kHz from 1.0074 s before a
#    tick (the crossings 0.37 of a cycle off the ticks, so both ticks fall
#    inside a 10/12-cycle value) to 0.5 s after the next, the amplitude
#    modulated by 5 % with a 97-s period (so the RMS aggregation has
#    something to do).
fs, f = 4000.0, 50.03  # off nominal: the 10/12-cycle values drift against the clock
sig = Signal(fs=fs, f=f, nphase=1, u_rms=UDIN, i_rms=10.0)
LEAD = 1.0074  # s from the stream start to the tick
MOD = lambda t: 1.0 + 0.05 * np.sin(2 * np.pi * (t - LEAD) / 97.0)  # t from the stream start
sig.u_env = lambda t, k: MOD(t)
recs, _, _ = run_meter(sig.frames(601.5), "--fs", str(fs), "--f-nom", "50", "--u-din", str(UDIN),
                       "--layout", "1p2w", "--t0-ns", str(TICK - int(LEAD * 1e9)),
                       "--records", "interval,agg150,agg10min")
iv, a150, a10, resync = check_against_intervals("1p2w 50.03 Hz, 10 min", recs)
full = [a for a in a10 if a["t_ns"] == TICK]
check(len(a10) == 2 and len(full) == 1, f"10-min values: {[(a['t_ns'] - TICK, a['flags']) for a in a10]}")
if full:
    a = full[0]
    check(a["flags"] == [], f"complete 10-min value flagged {a['flags']}")
    check(abs(a["n_values"] - 600 * f / 10) <= 1.0, f"complete 10-min value holds {a['n_values']} values")
    # Closed form: RMS over [tick, tick + 600 s) of a sine of amplitude MOD(t).
    tt = np.linspace(LEAD, LEAD + 600.0, 600_001)
    ref = UDIN * np.sqrt(np.mean(MOD(tt) ** 2))
    e = abs(a["u_rms_v"][0] - ref) / UDIN
    check(e <= 1e-3, f"10-min Urms {a['u_rms_v'][0]:.4f} V vs closed form {ref:.4f} V ({e * 100:.4f} % Udin)")
    print(f"complete 10-min value: {a['n_values']} values, Urms {a['u_rms_v'][0]:.4f} V vs "
          f"{ref:.4f} V ({e * 100:.4f} % of Udin)")
    n += 4
check(len(resync) == 2, f"1p2w: resynchronisations at {resync}, want two ticks")
n += 1

# 3. A stream that starts exactly on a 10-min tick: its first 10-min value is
#    there, not dropped as start-up (it carries the flags of its first values,
#    which start before the zero-crossing filter settled).
recs, _, _ = run_meter(sig.frames(600.5), "--fs", str(fs), "--f-nom", "50", "--u-din", str(UDIN),
                       "--layout", "1p2w", "--t0-ns", str(TICK), "--records", "interval,agg10min")
iv, _, a10, _ = check_against_intervals("1p2w from a tick", recs)
check(len(a10) == 1 and a10[0]["t_ns"] == TICK and abs(a10[0]["n_values"] - 600 * f / 10) <= 1.0,
      f"stream from a tick: 10-min values {[(a['t_ns'] - TICK, a['n_values'], a['flags']) for a in a10]}")
check(len(a10) == 1 and set(a10[0]["flags"]) == set().union(*[set(r["flags"]) for r in iv if r["t_ns"] < TICK + TEN]),
      "stream from a tick: the 10-min value's flags are its values'")
n += 2
finish("agg", n)
