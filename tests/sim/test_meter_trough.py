#!/usr/bin/env python3
"""A site meter holds the grid's ramp limit where sampled GPU telemetry
misses the troughs (docs/loop.md, "A site meter's troughs"; loop.h
tel_window_ns, lease.h budget.eff_marg_max).

A rack of two 8-GPU servers under a site whose ramp limit is 4 kW/s over
1 s; 16 GPUs of synchronous training at 700 W, with a communication phase
of 200 W for 10 % of each iteration, under the default `headroom` policy.
The GPUs report as an H100 does: the mean of 25-ms windows every 100 ms
(docs/sim.md, "Telemetry"), all at once or each on its own phase
(`telemetry_async`, as unsynchronized real GPUs).  A 37 to 110-ms trough
often falls between two windows, so the lowest draw the readings show is
above the true one, and the caps' envelope (at most the ramp above that
lowest draw) lets the site rise by more than the limit.  With the site
metered (the waveform path: the real measurement engine on the site's
8-kHz waveforms) the agent takes the meter's lowest input, tied to the
readings' watts by comparing the two over the readings' own windows.

Checked against the grid's definition, P(t) - P(t - 1 s) (docs/grid.md), on
the time series (and the simulator's own highest rise at every 1-ms step),
and the simulator's count of time over the limit:
- only the rack metered (the site's troughs unseen): at least one of the
  runs rises above 4.4 kW in 1 s (the defect; 5.1-8.0 kW measured);
- the site metered, samples together and apart: at most 0.05 s over the
  limit in 60 s and no rise above 4 kW + 5 % (measured: at most 4.152 kW,
  at a single step; 0.002 s over),
  work at
  least 0.85 (0.82 apart),
  and the meter's trough lowered the envelope (meter_lows > 0);
- the same on the fast path, whose stand-in meter gives the site's
  one-cycle mean power from the simulated power (no waveforms);
- the same with supplies whose efficiency follows the 80 PLUS Titanium
  levels and a base that follows the GPUs (the trough turned into the GPUs'
  watts at the curve's highest marginal efficiency, 1.027);
- at 2-ms steps (the agent reading every other 1-ms record) the same;
- 60-ms troughs every 3 s, further apart than the envelopes' memory: the
  site meter's recurring troughs hold the caps (at most 0.2 s over in a
  minute, the first troughs; the rack metered over 1 s), every 12 s too
  (held from the newer trough), and a restart's 3-s idle every 12 s is not
  held between restarts (work as with the rack metered);
- a site meter reporting garbage costs no more work or ramp than a rack
  meter; a generator's envelope after a utility outage on a site without
  a grid ramp limit has the meter's troughs from the start;
- with telemetry at every millisecond the meter changes little: work within
  0.01 of the run with only the rack metered, and the rise within the
  limit.

About 15 s."""
import tempfile

import simrun
from simrun import check, rise_1s_w, run, site_tree, write

SCEN = """version: 1
name: meter-trough
tree: tree.yaml
duration_s: 60
step_ms: 1
gpus: 16
TEL
waveforms: WAVEFORMS
metered: [METERED]
SUPPLY
workloads:
  - {kind: training, gpus: [0, 16], period_s: PERIOD, compute_frac: 0.9, compute_w: 700,
     comm_w: 200, start_s: 0, ramp_s: 5}
"""
SAMPLED = "gpu: {telemetry_period_ms: 100, telemetry_window_ms: 25}"
APART = "gpu: {telemetry_period_ms: 100, telemetry_window_ms: 25, telemetry_async: true}"
TITANIUM = ("supply: {efficiency: [[0.1, 0.90], [0.2, 0.94], [0.5, 0.96], [1.0, 0.91]], "
            "base_w: 400, base_busy_w: 600, base_tau_s: 2}")
RAMP_W = 4000.0
PERIODS = (0.37, 0.5, 1.1)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        write(tmp, "tree.yaml", site_tree(2, "{max_ramp_kw_per_s: 4, ramp_window_s: 1}"))

        def go(tag, period, metered, tel=SAMPLED, supply="", waveforms=True):
            text = (SCEN.replace("TEL", tel).replace("METERED", metered)
                    .replace("SUPPLY", supply).replace("PERIOD", str(period))
                    .replace("WAVEFORMS", "true" if waveforms else "false"))
            d = run(tmp, tag, write(tmp, tag + ".yaml", text), "headroom")
            # the larger of the series' rise and the simulator's own at every step
            r = max(rise_1s_w(d), d["max_ramp_kw_per_s"] * 1e3)
            print("%-22s rise %6.0f W in 1 s (limit %.0f), %.3f s over, work %.4f, "
                  "meter troughs taken %d" % (tag, r, RAMP_W, d["ramp_viol_s"], d["work_frac"],
                                              d["meter_lows"]))
            check(d["trips"] == 0, "%s: %d trips" % (tag, d["trips"]))
            return d, r

        def rack_site(tag, text_of, what):
            """The scenario text_of(metered) with the rack and with the site
            metered: their summaries by "rack" and "site", each printed."""
            out = {}
            for met in ("rack", "site"):
                out[met] = run(tmp, "%s-%s" % (tag, met),
                               write(tmp, "%s-%s.yaml" % (tag, met), text_of(met)), "headroom")
                print("%s, %s metered: work %.4f, %.3f s over the ramp limit"
                      % (what, met, out[met]["work_frac"], out[met]["ramp_viol_s"]))
            return out

        worst = 0.0
        for per in PERIODS:
            for tag, tel in (("rack", SAMPLED), ("rack-apart", APART)):
                _, r = go("%s-%g" % (tag, per), per, "rack", tel=tel)
                worst = max(worst, r)
        check(worst > RAMP_W * 1.1, "only the rack metered: the site rose at most %.0f W in 1 s; "
              "the case no longer shows the readings missing troughs" % worst)

        for per in PERIODS:
            for tag, tel, supply, least in (("site", SAMPLED, "", 0.85),
                                            ("site-apart", APART, "", 0.82),
                                            ("site-titanium", SAMPLED, TITANIUM, 0.78),
                                            ("site-fast", SAMPLED, "", 0.85),
                                            ("site-fast-apart", APART, "", 0.82)):
                d, r = go("%s-%g" % (tag, per), per, "site", tel=tel, supply=supply,
                          waveforms="fast" not in tag)
                check(r <= RAMP_W * 1.05, "%s, %g-s iterations: the site rose %.0f W in 1 s"
                      % (tag, per, r))
                check(d["ramp_viol_s"] <= 0.05, "%s, %g-s iterations: %.3f s over the ramp limit"
                      % (tag, per, d["ramp_viol_s"]))
                check(d["work_frac"] >= least, "%s, %g-s iterations: work %.4f"
                      % (tag, per, d["work_frac"]))
                check(d["meter_lows"] > 0, "%s, %g-s iterations: the meter's trough was never "
                      "taken" % (tag, per))

        # A site meter that reports garbage (NaN, infinity, -250 W taken as 0 W,
        # 10 MW in turn) for 20 s under a steady 19.2-kW load: no worse than
        # the rack metered (a review's reproducer: the 0-W records cut every
        # cap to its lowest, work 0.973 -> 0.782 and 1 s over the ramp limit
        # from the cut itself).
        write(tmp, "tree4.yaml", site_tree(4, "{max_ramp_kw_per_s: 4, ramp_window_s: 1}",
                                           rack_a=400))
        garb = rack_site("garbage", lambda met: (
            "version: 1\nname: garbage\ntree: tree4.yaml\nduration_s: 60\nstep_ms: 1\n"
            "gpus: 32\n%s\nwaveforms: true\nmetered: [%s]\nworkloads:\n"
            "  - {kind: batch, gpus: [0, 32], power_w: 600}\nevents:\n"
            "  - {kind: meter_garbage, node: site, at_s: 20, duration_s: 20}\n"
            % (SAMPLED, met)), "garbage")
        check(garb["site"]["work_frac"] >= garb["rack"]["work_frac"] - 0.005,
              "site meter's garbage: work %.4f against %.4f with the rack metered"
              % (garb["site"]["work_frac"], garb["rack"]["work_frac"]))
        check(garb["site"]["ramp_viol_s"] <= garb["rack"]["ramp_viol_s"] + 0.05,
              "site meter's garbage: %.3f s over the ramp limit against %.3f"
              % (garb["site"]["ramp_viol_s"], garb["rack"]["ramp_viol_s"]))

        # A utility outage on a site without a grid ramp limit: the generator's
        # envelope has the meter's troughs from the outage's first step (a
        # review's reproducer: the tracker started with the envelope, 0.31 s
        # over the generator's 4-kW/s load acceptance).
        write(tmp, "tree-nogrid.yaml", site_tree(2))
        text = (SCEN.replace("tree.yaml", "tree-nogrid.yaml").replace("TEL", SAMPLED)
                .replace("METERED", "site").replace("SUPPLY", "").replace("PERIOD", "0.37")
                .replace("WAVEFORMS", "true").replace("duration_s: 60", "duration_s: 40")
                + "events:\n  - {kind: utility_outage, at_s: 15.2, duration_s: 20, gen_kw: 20, "
                "ramp_kw_per_s: 4}\n")
        d = run(tmp, "outage", write(tmp, "outage.yaml", text), "headroom")
        print("outage at 15.2 s, site metered: %.3f s over the generator's ramp, %.3f s over its "
              "rating, %d generator trips, work %.4f"
              % (d["gen_ramp_viol_s"], d["gen_over_s"], d["gen_trips"], d["work_frac"]))
        check(d["gen_ramp_viol_s"] <= 0.05 and d["gen_trips"] == 0,
              "outage: %.3f s over the generator's ramp, %d trips"
              % (d["gen_ramp_viol_s"], d["gen_trips"]))

        # Troughs further apart than the envelopes' 1-2-s memory (60 ms every
        # 3 s): forgotten between their returns, the caps climbed back before
        # each (rack metered: 2.0 s over in a minute; the site metered before
        # its recurring troughs were remembered: 4.3 s); remembered, only the
        # first troughs rise over the limit.
        rec = rack_site("recur", lambda met: (
            SCEN.replace("TEL", SAMPLED).replace("METERED", met).replace("SUPPLY", "")
            .replace("PERIOD", "3").replace("compute_frac: 0.9", "compute_frac: 0.98")
            .replace("WAVEFORMS", "false")), "60-ms troughs every 3 s")
        check(rec["rack"]["ramp_viol_s"] > 1.0, "recurring troughs, rack metered: only %.3f s "
              "over; the case no longer shows them forgotten" % rec["rack"]["ramp_viol_s"])
        check(rec["site"]["ramp_viol_s"] <= 0.2, "recurring troughs, site metered: %.3f s over"
              % rec["site"]["ramp_viol_s"])
        # ... every 12 s over 2 minutes: held from the newer trough (a review's
        # reproducer: held until 20 s after the older, the hold ended 4 s
        # before each trough, 5.5 s over); and a synchronized restart's 3-s
        # idle every 12 s is no short trough, not held between restarts (a
        # review's reproducer: work 0.824 -> 0.721 for the same time over).
        text = (SCEN.replace("TEL", SAMPLED).replace("METERED", "site").replace("SUPPLY", "")
                .replace("PERIOD", "12").replace("compute_frac: 0.9", "compute_frac: 0.99")
                .replace("WAVEFORMS", "false").replace("duration_s: 60", "duration_s: 120"))
        d = run(tmp, "recur12", write(tmp, "recur12.yaml", text), "headroom")
        print("60-ms troughs every 12 s, site metered, 120 s: %.3f s over the ramp limit, work "
              "%.4f" % (d["ramp_viol_s"], d["work_frac"]))
        check(d["ramp_viol_s"] <= 1.5, "troughs every 12 s, site metered: %.3f s over"
              % d["ramp_viol_s"])
        rs = rack_site("restarts", lambda met: (
            "version: 1\nname: restarts\ntree: tree4.yaml\nduration_s: 60\nstep_ms: 1\n"
            "gpus: 32\n%s\nmetered: [%s]\nworkloads:\n"
            "  - {kind: training, gpus: [0, 32], period_s: 0.5, compute_frac: 0.9, "
            "compute_w: 700, comm_w: 650, start_s: 0, ramp_s: 5, "
            "restarts: [10, 22, 34, 46], restart_s: 3}\n" % (SAMPLED, met)),
            "restarts every 12 s")
        check(rs["site"]["work_frac"] >= rs["rack"]["work_frac"] - 0.02,
              "restarts: work %.4f with the site metered, %.4f with the rack"
              % (rs["site"]["work_frac"], rs["rack"]["work_frac"]))

        # Steps of 2 ms: the agent reads every other 1-ms record of the meter (a
        # review's reproducer: the 5-ms hold took each step for a gap and the
        # meter was never used, 7.5 kW in 1 s and 2.3 s over).
        for met in ("rack", "site"):
            text = (SCEN.replace("step_ms: 1", "step_ms: 2")
                    .replace("TEL", "gpu: {telemetry_period_ms: 100, telemetry_window_ms: 24}")
                    .replace("METERED", met).replace("SUPPLY", "").replace("PERIOD", "0.5")
                    .replace("WAVEFORMS", "true"))
            d = run(tmp, "step2-" + met, write(tmp, "step2-%s.yaml" % met, text), "headroom")
            r = max(rise_1s_w(d), d["max_ramp_kw_per_s"] * 1e3)
            print("2-ms steps, %s metered: rise %.0f W in 1 s, %.3f s over, work %.4f, meter "
                  "troughs taken %d" % (met, r, d["ramp_viol_s"], d["work_frac"], d["meter_lows"]))
            if met == "site":
                check(r <= RAMP_W * 1.05 and d["ramp_viol_s"] <= 0.05 and d["meter_lows"] > 0,
                      "2-ms steps, site metered: rise %.0f W, %.3f s over, %d troughs taken"
                      % (r, d["ramp_viol_s"], d["meter_lows"]))
            else:
                check(r > RAMP_W * 1.1, "2-ms steps, rack metered: rose only %.0f W" % r)

        per = PERIODS[0]
        d0, _ = go("ms-rack", per, "rack", tel="")
        d1, r1 = go("ms-site", per, "site", tel="")
        check(abs(d1["work_frac"] - d0["work_frac"]) <= 0.01, "1-ms telemetry: work %.4f with "
              "the site metered, %.4f without" % (d1["work_frac"], d0["work_frac"]))
        check(r1 <= RAMP_W * 1.005, "1-ms telemetry, site metered: rose %.0f W in 1 s" % r1)
    simrun.finish()


if __name__ == "__main__":
    main()
