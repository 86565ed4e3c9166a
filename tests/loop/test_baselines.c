/* The Dynamo and POLCA baselines as published, against caps computed by hand
 * from their descriptions (docs/loop.md): Dynamo's three bands with a
 * high-bucket-first cut, POLCA's two thresholds with priorities, both on
 * each meter's mean power since the last decision. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/actuate.h"
#include "headroom/loop.h"

/* One server of 4 GPUs (700 W each) under a rack on a 4 A, 415 V trip unit:
 * continuous limit 0.8 x 4 A x 415 V x sqrt 3 = 2300.2 W. */
static const char TREE[] =
    "version: 1\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 100}\n"
    "  - {id: rack, kind: rack, parent: site,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 4, tr_s: 8, ii: 10}}\n"
    "  - {id: srv, kind: server, parent: rack}\n"
    "  - {id: g0, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g1, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g2, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g3, kind: gpu, parent: srv, rating_w: 700}\n";

typedef struct fix {
  hr_tree_t *t;
  hr_actuator_t *act;
  hr_agent_t *a;
  int64_t now;
  hr_clock_t clk;
} fix_t;

/* clocks: HR_LOOP_POLCA's actuator, clock locks (1, its preset) or power
 * caps (0: `polca-power`); ignored by the other policies. */
static void setup_act(fix_t *f, hr_loop_policy_t pol, int clocks)
{
  hr_diag_t e;
  memset(f, 0, sizeof *f);
  assert_int_equal(hr_tree_load_buffer(TREE, sizeof TREE - 1, "t.yaml", &f->t, &e), HR_OK);
  hr_simgpu_cfg_t g;
  hr_simgpu_cfg_init(&g, 4);
  /* Power at its demand within a step: the controllers act on each meter's
   * mean since their last decision, which is then exactly the demand. */
  g.slew_w_per_ms = 1e9;
  assert_int_equal(hr_simgpu_create(&g, &f->act), HR_OK);
  hr_clock_manual(&f->clk, &f->now);
  hr_agent_cfg_t c;
  assert_int_equal(hr_agent_cfg_init(&c, pol), HR_OK);
  if (pol == HR_LOOP_POLCA)
    c.polca_clocks = clocks;
  assert_int_equal(hr_agent_create(f->t, 0, f->act, &f->clk, NULL, &c, &f->a), HR_OK);
  hr_agent_set_read_actuator(f->a, 1);
}

static void setup(fix_t *f, hr_loop_policy_t pol)
{
  setup_act(f, pol, 1);
}

static void teardown(fix_t *f)
{
  hr_agent_destroy(f->a);
  hr_actuator_destroy(f->act);
  hr_tree_destroy(f->t);
}

static void demand(fix_t *f, const double w[4])
{
  for (int k = 0; k < 4; k++)
    assert_int_equal(hr_simgpu_set_demand(f->act, k, w[k], f->now), HR_OK);
}

/* Steps the agent at 1 ms until t_end_s (exclusive). */
static void run_to(fix_t *f, double t_end_s)
{
  int64_t end = (int64_t)llround(t_end_s * 1e9);
  for (; f->now < end; f->now += 1000000)
    assert_int_equal(hr_agent_step(f->a, NULL), HR_OK);
}

static const double LIM = 0.8 * 4.0 * 415.0 * 1.7320508075688772;

static void test_dynamo(void **st)
{
  (void)st;
  fix_t f;
  setup(&f, HR_LOOP_DYNAMO);
  const double w[4] = {700, 700, 650, 300};
  demand(&f, w);
  /* Decisions at 0, 3, 6 s: the one at 3 s sees 2350 W > 0.99 L and cuts to
   * 0.95 L.  High bucket first: the 700 W bucket [600, 700] holds 700, 700
   * and 650 W, which can give 1450 W: an equal share each; 300 W untouched. */
  run_to(&f, 3.5);
  double cut = 2350.0 - 0.95 * LIM, share = cut / 3.0;
  assert_true(fabs(hr_agent_cap_w(f.a, 0) - (700.0 - share)) < 1e-6);
  assert_true(fabs(hr_agent_cap_w(f.a, 1) - (700.0 - share)) < 1e-6);
  assert_true(fabs(hr_agent_cap_w(f.a, 2) - (650.0 - share)) < 1e-6);
  assert_true(isnan(hr_agent_cap_w(f.a, 3))); /* never capped */
  /* At 6 s the rack draws 0.95 L: inside the bands, caps held. */
  run_to(&f, 6.5);
  assert_true(fabs(hr_agent_cap_w(f.a, 0) - (700.0 - share)) < 1e-6);
  /* The load falls below 0.90 L: released to the full cap at the next decision. */
  const double lo[4] = {300, 300, 300, 300};
  demand(&f, lo);
  run_to(&f, 9.5);
  for (size_t k = 0; k < 3; k++)
    assert_true(fabs(hr_agent_cap_w(f.a, k) - 700.0) < 1e-9);
  teardown(&f);
}

/* A cut larger than the top bucket can give takes the next bucket too. */
static void test_dynamo_two_buckets(void **st)
{
  (void)st;
  fix_t f;
  setup(&f, HR_LOOP_DYNAMO);
  const double w[4] = {700, 700, 520, 520};
  demand(&f, w);
  run_to(&f, 3.5);
  /* 2440 W: cut 2440 - 0.95 L = 254.8 W.  The [600, 700] bucket (two GPUs)
   * can give 2 x 500 W, so only they are cut, 127.4 W each. */
  double cut = 2440.0 - 0.95 * LIM;
  assert_true(fabs(hr_agent_cap_w(f.a, 0) - (700.0 - cut / 2)) < 1e-6);
  assert_true(isnan(hr_agent_cap_w(f.a, 2)));
  teardown(&f);
}

/* A training-like load (1-s iterations: 0.3 s at 300 W, 0.7 s at 700 W per
 * GPU) read every 3 s always lands in the 300-W phase: an instantaneous
 * reading shows 1200 W and never cuts, the meter's mean (2320 W > 0.99 L)
 * does. */
static void test_dynamo_mean_not_sample(void **st)
{
  (void)st;
  fix_t f;
  setup(&f, HR_LOOP_DYNAMO);
  for (; f.now < 3500000000; f.now += 1000000) {
    int64_t ph = f.now % 1000000000;
    double w = ph < 300000000 ? 300.0 : 700.0;
    const double d[4] = {w, w, w, w};
    demand(&f, d);
    assert_int_equal(hr_agent_step(f.a, NULL), HR_OK);
  }
  /* The cut at 3 s: mean 2320 W to 0.95 L, spread over the four GPUs, each
   * from its own mean (580 W). */
  double mean = 0.3 * 1200.0 + 0.7 * 2800.0, share = (mean - 0.95 * LIM) / 4.0;
  for (size_t k = 0; k < 4; k++)
    assert_true(fabs(hr_agent_cap_w(f.a, k) - (mean / 4.0 - share)) < 1e-6);
  teardown(&f);
}

static void test_polca(void **st)
{
  (void)st;
  fix_t f;
  setup_act(&f, HR_LOOP_POLCA, 0);                           /* power caps: `polca-power` */
  assert_int_equal(hr_agent_set_priority(f.a, 2, 1), HR_OK); /* high priority */
  assert_int_equal(hr_agent_set_priority(f.a, 3, 1), HR_OK);
  /* 2000 W: above T1 = 0.80 L (1840 W), below T2 = 0.90 L (2070 W): the
   * low-priority GPUs to 0.7 x 700 W. */
  const double w1[4] = {500, 500, 500, 500};
  demand(&f, w1);
  run_to(&f, 1.5);
  assert_true(fabs(hr_agent_cap_w(f.a, 0) - 490.0) < 1e-9);
  assert_true(fabs(hr_agent_cap_w(f.a, 1) - 490.0) < 1e-9);
  assert_true(isnan(hr_agent_cap_w(f.a, 2)) || hr_agent_cap_w(f.a, 2) == 700.0);
  /* 2400 W wanted (low ones held at 490): 2180 W > T2: high to 0.85 x 700. */
  const double w2[4] = {600, 600, 600, 600};
  demand(&f, w2);
  run_to(&f, 3.5);
  assert_true(fabs(hr_agent_cap_w(f.a, 0) - 490.0) < 1e-9);
  assert_true(fabs(hr_agent_cap_w(f.a, 2) - 595.0) < 1e-9);
  assert_true(fabs(hr_agent_cap_w(f.a, 3) - 595.0) < 1e-9);
  /* 490 x 2 + 595 x 2 = 2170 W stays above 0.95 T2: still level 2. */
  run_to(&f, 5.5);
  assert_true(fabs(hr_agent_cap_w(f.a, 2) - 595.0) < 1e-9);
  /* 1200 W: below 0.95 T1, every GPU uncapped. */
  const double w3[4] = {300, 300, 300, 300};
  demand(&f, w3);
  run_to(&f, 7.5);
  for (size_t k = 0; k < 4; k++)
    assert_true(fabs(hr_agent_cap_w(f.a, k) - 700.0) < 1e-9);
  teardown(&f);
}

/* GPU k's power now [W]. */
static double power_w(fix_t *f, int k)
{
  hr_act_reading_t r;
  assert_int_equal(hr_actuator_read(f->act, k, HR_POWER_INSTANT, f->now, &r), HR_OK);
  return r.p_w;
}

/* What a GPU of demand d_w draws under a lock at mhz of 1980 MHz: the clock
 * model's closed form, 70 + (d - 70) (mhz / 1980)^(1 / 0.647). */
static double locked_w(double d_w, int mhz)
{
  return 70.0 + (d_w - 70.0) * pow(mhz / 1980.0, 1.0 / 0.647);
}

/* POLCA as published: clock locks.  Above T1 only the low-priority GPUs
 * are locked, at round(0.769 x 1980) = 1523 MHz; above T2 the others too, at
 * round(0.889 x 1980) = 1760 MHz; once the power is 5 % below T1 every lock
 * is reset.  No cap is ever sent: a lock is not a power limit. */
static void test_polca_clocks(void **st)
{
  (void)st;
  fix_t f;
  setup(&f, HR_LOOP_POLCA);
  assert_int_equal(hr_agent_set_priority(f.a, 2, 1), HR_OK); /* high priority */
  assert_int_equal(hr_agent_set_priority(f.a, 3, 1), HR_OK);
  const int lo_mhz = 1523, hi_mhz = 1760;
  /* 2 x 380 + 2 x 650 = 2060 W: above T1 (1840.2 W), not above T2 (2070.2 W). */
  const double w1[4] = {380, 380, 650, 650};
  demand(&f, w1);
  run_to(&f, 1.5);
  assert_int_equal(hr_agent_clock_mhz(f.a, 0), lo_mhz);
  assert_int_equal(hr_agent_clock_mhz(f.a, 1), lo_mhz);
  assert_int_equal(hr_agent_clock_mhz(f.a, 2), 0);
  assert_int_equal(hr_agent_clock_mhz(f.a, 3), 0);
  assert_true(fabs(power_w(&f, 0) - locked_w(380, lo_mhz)) < 1e-9);
  assert_true(fabs(power_w(&f, 2) - 650.0) < 1e-9);
  /* Locked, the row draws 2 x 276.7 + 1300 = 1853 W, above 0.95 T1: held. */
  run_to(&f, 3.5);
  assert_int_equal(hr_agent_clock_mhz(f.a, 0), lo_mhz);
  assert_int_equal(hr_agent_clock_mhz(f.a, 2), 0);
  /* Every GPU wants 700 W: the mean over 3..4 s, (1853 + 2380) / 2 W, is
   * above T2: the high-priority GPUs are locked too. */
  const double w2[4] = {700, 700, 700, 700};
  demand(&f, w2);
  run_to(&f, 4.5);
  assert_int_equal(hr_agent_clock_mhz(f.a, 0), lo_mhz);
  assert_int_equal(hr_agent_clock_mhz(f.a, 2), hi_mhz);
  assert_int_equal(hr_agent_clock_mhz(f.a, 3), hi_mhz);
  assert_true(fabs(power_w(&f, 0) - locked_w(700, lo_mhz)) < 1e-9);
  assert_true(fabs(power_w(&f, 3) - locked_w(700, hi_mhz)) < 1e-9);
  /* 2 x 490 + 2 x 595 = 2170 W stays above 0.95 T2 (1966.7 W): level 2. */
  run_to(&f, 6.5);
  assert_int_equal(hr_agent_clock_mhz(f.a, 2), hi_mhz);
  /* 300 W each: the mean over 6..7 s, (2170 + 970) / 2 W, is below
   * 0.95 T1 (1748.2 W): every lock reset, the GPUs back at their demand. */
  const double w3[4] = {300, 300, 300, 300};
  demand(&f, w3);
  run_to(&f, 7.5);
  for (int k = 0; k < 4; k++) {
    assert_int_equal(hr_agent_clock_mhz(f.a, (size_t)k), 0);
    assert_true(fabs(power_w(&f, k) - 300.0) < 1e-9);
    assert_true(isnan(hr_agent_cap_w(f.a, (size_t)k)));
  }
  hr_agent_stats_t sa;
  assert_int_equal(hr_agent_stats(f.a, &sa), HR_OK);
  assert_int_equal(sa.clock_locks, 8); /* 2 at T1, 2 at T2, 4 resets */
  assert_int_equal(sa.clock_errors, 0);
  assert_int_equal(sa.caps_set, 0);
  teardown(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dynamo),
      cmocka_unit_test(test_dynamo_two_buckets),
      cmocka_unit_test(test_dynamo_mean_not_sample),
      cmocka_unit_test(test_polca),
      cmocka_unit_test(test_polca_clocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
