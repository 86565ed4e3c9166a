/* The oscillation-band controller (loop.h band_ctl, policy headroom-band):
 * 16 GPUs in one synchronous training job on a rack whose site has a
 * 0.1-1 Hz oscillation limit.  The floor the controller settles at is
 * checked against the closed form: the band amplitude of a trapezoidal wave
 * of the job's period, duty and swing through the monitor's band (4th-order
 * Butterworth high-pass and low-pass, |H|^2 = x^8 / (1 + x^8) and
 * 1 / (1 + x^8)), summed over the harmonics (amplitude = sqrt(sum c_n^2),
 * the peak of a sinusoid of the same RMS, as include/headroom/grid.h
 * defines it), solved for the floor that puts it at band_target_frac of the
 * limit.  After settling the band is never violated.  The same load with
 * the controller off (the floor held at its minimum) violates the band for
 * the whole run, so the checks fail without the controller; a load well
 * inside the band leaves the floor at its minimum, and its energy equals the
 * run without the controller. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/sim.h"
#include "simtest.h"

#define N_GPU 16
#define LIMIT_W 2000.0 /* the 0.1-1 Hz band's limit */
#define F_LO 0.1
#define F_HI 1.0

/* A rack of two 8-GPU servers under a site with the band limit; the rack
 * breaker (40 A, 28.7 kW) is never near its limit, so no cap falls. */
static const char *make_tree(void)
{
  static char grid[128];
  snprintf(grid, sizeof grid, ",\n     grid: {oscillation_w: [[%g, %g, %g]]}", F_LO, F_HI, LIMIT_W);
  return simtest_rack16(grid);
}

/* Band amplitude [W] of a periodic trapezoid: swing dp_w, period_s, the
 * high part duty of the period, both edges rise_s long.  Harmonic n of a
 * rectangular wave has amplitude 2 dp / (n pi) |sin(n pi duty)|; edges of
 * length tau multiply it by sinc(n f0 tau). */
static double band_amp_w(double dp_w, double period_s, double duty, double rise_s)
{
  double f0 = 1.0 / period_s, sum = 0.0;
  for (int n = 1; n < 2000; n++) {
    double f = n * f0, c = 2.0 * dp_w / (n * M_PI) * fabs(sin(n * M_PI * duty));
    double x = M_PI * f * rise_s;
    if (x > 0.0)
      c *= fabs(sin(x) / x);
    double xl = pow(f / F_LO, 8.0), xh = pow(f / F_HI, 8.0);
    sum += c * c * (xl / (1.0 + xl)) / (1.0 + xh);
  }
  return sqrt(sum);
}

typedef struct run_out {
  double floor_settled_frac; /* the floor at t_settle */
  double viol_after_s;       /* band violation after t_settle */
  hr_sim_result_t r;
} run_out_t;

static void run(const char *policy, int band_ctl, double compute_w, double comm_w, double dur_s,
                double t_settle_s, run_out_t *o)
{
  char text[2048];
  snprintf(text, sizeof text,
           "version: 1\ntree: t.yaml\nduration_s: %g\nworkloads:\n"
           "  - {kind: training, gpus: [0, %d], period_s: 2, compute_frac: 0.7,\n"
           "     compute_w: %g, comm_w: %g, ramp_s: 2}\n",
           dur_s, N_GPU, compute_w, comm_w);
  hr_scenario_t sc;
  hr_diag_t e;
  int rc = hr_scenario_load_buffer(text, strlen(text), "s.yaml", ".", &sc, &e);
  if (rc != HR_OK)
    print_message("%s:%ld: %s: %s\n", e.source, e.line, e.field, e.message);
  assert_int_equal(rc, HR_OK);
  const char *tt = make_tree();
  hr_tree_t *t = NULL;
  rc = hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e);
  if (rc != HR_OK)
    print_message("%s:%ld: %s: %s\n", e.source, e.line, e.field, e.message);
  assert_int_equal(rc, HR_OK);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg(policy, &ac), HR_OK);
  ac.band_ctl = band_ctl;
  hr_sim_t *s = NULL;
  assert_int_equal(hr_sim_create(&sc, t, &ac, &s, &e), HR_OK);
  hr_scenario_free(&sc);
  double viol_at_settle = NAN;
  o->floor_settled_frac = NAN;
  int64_t k = 0, k_settle = (int64_t)llround(t_settle_s * 1e3); /* 1-ms steps */
  while ((rc = hr_sim_step(s)) == HR_OK) {
    if (++k == k_settle) {
      hr_sim_result_t r;
      assert_int_equal(hr_sim_result(s, &r), HR_OK);
      viol_at_settle = r.osc_viol_s;
      o->floor_settled_frac = r.agent.floor_frac;
    }
  }
  assert_int_equal(rc, HR_ERR_EOF);
  assert_int_equal(hr_sim_result(s, &o->r), HR_OK);
  o->viol_after_s = o->r.osc_viol_s - viol_at_settle;
  hr_sim_destroy(s);
  hr_tree_destroy(t);
}

static void test_settles_at_closed_form_floor(void **st)
{
  (void)st;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("headroom-band", &ac), HR_OK);
  /* Closed form: the floor F where the band amplitude of 16 GPUs swinging
   * between 700 W and F (edges at the 1-kW/s smoothing ramp) is the
   * target; bisection on the monotone amplitude. */
  double lo = 250.0, hi = 700.0;
  for (int i = 0; i < 100; i++) {
    double f = 0.5 * (lo + hi);
    double a = band_amp_w(N_GPU * (700.0 - f), 2.0, 0.7, (700.0 - f) / ac.smooth_ramp_w_per_s);
    if (a > ac.band_target_frac * LIMIT_W)
      lo = f;
    else
      hi = f;
  }
  double f_target = 0.5 * (lo + hi);
  /* Where the amplitude equals the limit itself (the least floor that
   * keeps the band), for the report. */
  lo = 250.0, hi = 700.0;
  for (int i = 0; i < 100; i++) {
    double f = 0.5 * (lo + hi);
    double a = band_amp_w(N_GPU * (700.0 - f), 2.0, 0.7, (700.0 - f) / ac.smooth_ramp_w_per_s);
    if (a > LIMIT_W)
      lo = f;
    else
      hi = f;
  }
  double f_limit = 0.5 * (lo + hi);

  run_out_t on, off;
  run("headroom-band", 1, 700.0, 250.0, 160.0, 110.0, &on);
  run("headroom-band", 0, 700.0, 250.0, 160.0, 110.0, &off);
  double f_on = on.floor_settled_frac * 700.0;
  print_message("closed form: floor %.1f W at %.0f %% of the limit, %.1f W at the limit; "
                "settled at %.1f W (highest %.1f W, mean %.1f W); band violation %.2f s in all, "
                "%.2f s after 110 s; controller off: %.2f s after 110 s; energy %.4f vs %.4f "
                "kWh off; work %.4f vs %.4f off\n",
                f_target, 100.0 * ac.band_target_frac, f_limit, f_on,
                on.r.agent.floor_max_frac * 700.0, on.r.agent.floor_mean_frac * 700.0,
                on.r.osc_viol_s, on.viol_after_s, off.viol_after_s, on.r.energy_j / 3.6e6,
                off.r.energy_j / 3.6e6, on.r.work_frac, off.r.work_frac);
  assert_int_equal(on.r.trips, 0);
  assert_int_equal(on.r.agent.floor_errors, 0);
  /* Settled within 2 % of TDP (14 W) of the closed form: the controller's
   * falls come in 1-%-of-TDP steps and stop at or above the target. */
  assert_true(fabs(f_on - f_target) <= 14.0);
  assert_true(f_on >= f_limit); /* inside the band */
  assert_true(on.viol_after_s == 0.0);
  /* Without the controller the same load breaks the band all along. */
  assert_true(off.viol_after_s > 45.0);
  assert_true(off.r.agent.floor_sets == 0 && off.r.agent.band_raises == 0);
  /* the price: more energy than the plain run */
  assert_true(on.r.energy_j > off.r.energy_j);
}

static void test_inside_band_leaves_floor_at_minimum(void **st)
{
  (void)st;
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("headroom-band", &ac), HR_OK);
  /* 16 x 60 W of swing: amplitude well inside the limit even by the
   * 1 / sqrt(2) bound the controller starts from. */
  double a = band_amp_w(N_GPU * 60.0, 2.0, 0.7, 0.0);
  assert_true(N_GPU * 60.0 / sqrt(2.0) < ac.band_hi_frac * LIMIT_W);
  run_out_t on, off;
  run("headroom-band", 1, 400.0, 340.0, 60.0, 30.0, &on);
  /* Without the controller: plain headroom, no smoothing at all (the
   * profile's ramps are switched on only while the floor is raised). */
  run("headroom", 0, 400.0, 340.0, 60.0, 30.0, &off);
  print_message("inside the band (closed-form amplitude %.0f W of %.0f W): floor at 30 s %.3f, "
                "at the end %.3f, highest %.3f (%llu rises); energy %.6f vs %.6f kWh without "
                "the controller\n",
                a, LIMIT_W, on.floor_settled_frac, on.r.agent.floor_frac, on.r.agent.floor_max_frac,
                (unsigned long long)on.r.agent.band_raises, on.r.energy_j / 3.6e6,
                off.r.energy_j / 3.6e6);
  /* The job's start ramp (idle to 400 W) is a swing the controller cannot
   * tell from an oscillation until its window has passed: it may lift the
   * floor for it, but never to the workload's trough (340 W), and the floor
   * is back at its minimum once the ramp is out of the swing's window. */
  assert_true(on.r.agent.floor_max_frac * 700.0 < 340.0);
  assert_true(on.floor_settled_frac == ac.smooth_floor_frac);
  assert_true(on.r.agent.floor_frac == ac.smooth_floor_frac);
  assert_true(on.r.osc_viol_s == 0.0);
  /* The floor's brief rise during the start ramp switches the profile's
   * ramps on for as long: they slow a few of the iteration's 60-W steps
   * (measured +0.07 %); a floor that held the troughs up would cost
   * 16 x (floor - 340 W) x 0.3 of the time, more than 1 %. */
  assert_true(on.r.energy_j <= off.r.energy_j * 1.001);
}

/* Settings the controller cannot work with are refused when the agent is
 * made, not discovered in the loop. */
static void test_bad_settings_refused(void **st)
{
  (void)st;
  static const char text[] = "version: 1\ntree: t.yaml\nduration_s: 1\nworkloads: []\n";
  hr_scenario_t sc;
  hr_diag_t e;
  assert_int_equal(hr_scenario_load_buffer(text, strlen(text), "s.yaml", ".", &sc, &e), HR_OK);
  const char *tt = make_tree();
  hr_tree_t *t = NULL;
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
  for (int c = 0; c < 5; c++) {
    hr_agent_cfg_t ac;
    assert_int_equal(hr_sim_policy_cfg("headroom-band", &ac), HR_OK);
    if (c == 0)
      ac.smooth_floor_frac = 0.0; /* no floor to start from: smoothing off */
    else if (c == 1)
      ac.band_floor_max_frac = 0.95; /* above NVML's 90 % */
    else if (c == 2)
      ac.band_target_frac = ac.band_hi_frac; /* no hysteresis */
    else if (c == 3)
      ac.band_down_frac_per_s = 0.0;
    else
      ac.band_hold_s = NAN;
    hr_sim_t *s = NULL;
    assert_int_equal(hr_sim_create(&sc, t, &ac, &s, &e), HR_ERR_RANGE);
    assert_null(s);
  }
  hr_scenario_free(&sc);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_settings_refused),
      cmocka_unit_test(test_settles_at_closed_form_floor),
      cmocka_unit_test(test_inside_band_leaves_floor_at_minimum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
