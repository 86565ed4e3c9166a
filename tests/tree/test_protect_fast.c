/* hr_device_step_ex's no-trip check (surely_no_trip in src/tree/protect.c)
 * against the plain step that always asks next_trip: two copies of a device
 * stepped with the same currents must hold the same state, bit for bit, after
 * every step (thermal images, integrators, clock, trips and their times).
 * Currents wander around the L pickup (where the check has to decide), with
 * excursions above Isd and Ii, and runs at constant overload until the
 * device trips; both copies are reclosed together.  Steps of 1 ms (the
 * simulator's), 0.1 ms, 10 ms and random lengths. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/protect.h"
#include "tree/protect_int.h"

static uint64_t rng = 0x243F6A8885A308D3ull;

/* Uniform in [0, 1): xorshift64*, 53 bits. */
static double unif(void)
{
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static int same_double(double a, double b)
{
  return memcmp(&a, &b, sizeof a) == 0;
}

static void assert_same_state(const hr_device_t *f, const hr_device_t *p, long step)
{
  int ok = same_double(f->t_s, p->t_s) && f->tripped == p->tripped && f->element == p->element &&
           f->n_trips == p->n_trips && same_double(f->t_trip_s, p->t_trip_s) &&
           same_double(f->s_min_until_s, p->s_min_until_s) && same_double(f->below_s, p->below_s);
  for (int q = 0; q < 3; q++)
    ok &= same_double(f->theta[q], p->theta[q]);
  for (int e = 0; e < HR_ELEM_COUNT; e++)
    ok &= same_double(f->acc[e], p->acc[e]);
  if (!ok) {
    print_error(
        "step %ld: fast and plain differ (theta %.17g/%.17g, t %.17g/%.17g, tripped %d/%d)\n", step,
        f->theta[0], p->theta[0], f->t_s, p->t_s, f->tripped, p->tripped);
    fail();
  }
}

/* Steps both copies through n steps of currents around scale_a; returns the
 * number of trips seen (so a test can check that trips were exercised). */
static unsigned run_pair(const hr_device_cfg_t *cfg, double scale_a, double dt_s, int random_dt,
                         long n)
{
  hr_device_t *f = NULL, *p = NULL;
  assert_int_equal(hr_device_create(cfg, &f), HR_OK);
  assert_int_equal(hr_device_create(cfg, &p), HR_OK);
  hr__device_set_plain(p, 1);
  double level = 1.0;
  unsigned trips = 0;
  for (long k = 0; k < n; k++) {
    /* A new level now and then: mostly near the pickup, sometimes far
     * above (S, I) or at zero. */
    if (unif() < 0.002) {
      double u = unif();
      level = u < 0.1 ? 0.0 : u < 0.8 ? 0.8 + 0.6 * unif() : u < 0.95 ? 1.5 + 5.0 * unif() : 15.0;
    }
    double jitter = 1.0 + 0.01 * (unif() - 0.5);
    hr_device_input_t in = {
        {level * scale_a * jitter, level * scale_a, 0.97 * level * scale_a}, 3, 0.0};
    if (k % 7 == 0)
      in.n_phases = 1;
    double h = random_dt ? dt_s * (0.1 + 2.0 * unif()) : dt_s;
    assert_int_equal(hr_device_step_ex(f, &in, h), HR_OK);
    assert_int_equal(hr_device_step_ex(p, &in, h), HR_OK);
    assert_same_state(f, p, k);
    if (f->tripped) {
      trips++;
      /* Open for a while, then reclosed (both). */
      for (int j = 0; j < 50; j++) {
        hr_device_input_t zero = {{0.0, 0.0, 0.0}, 3, 0.0};
        assert_int_equal(hr_device_step_ex(f, &zero, h), HR_OK);
        assert_int_equal(hr_device_step_ex(p, &zero, h), HR_OK);
      }
      hr_device_reclose(f);
      hr_device_reclose(p);
      assert_same_state(f, p, k);
      level = 0.9;
    }
  }
  hr_device_destroy(f);
  hr_device_destroy(p);
  return trips;
}

static hr_device_cfg_t trip_unit(double ir_a, double tr_s, int s, int i, int memory)
{
  hr_device_cfg_t c;
  assert_int_equal(hr_device_cfg_init(&c, HR_DEVICE_TRIP_UNIT), HR_OK);
  c.u.tu.in_a = ir_a;
  c.u.tu.ir_a = ir_a;
  c.u.tu.tr_s = tr_s;
  c.u.tu.memory = memory;
  if (s) {
    c.u.tu.has_s = 1;
    c.u.tu.isd_a = 6.0 * ir_a;
    c.u.tu.tsd_s = 0.2;
  }
  if (i) {
    c.u.tu.has_i = 1;
    c.u.tu.ii_a = 10.0 * ir_a;
  }
  return c;
}

static void test_trip_units(void **state)
{
  (void)state;
  static const double tr[] = {0.5, 2.0, 8.0, 24.0};
  static const double dts[] = {1e-3, 1e-4, 1e-2};
  unsigned trips = 0;
  for (size_t a = 0; a < sizeof tr / sizeof tr[0]; a++)
    for (int v = 0; v < 4; v++) {
      hr_device_cfg_t c = trip_unit(63.0, tr[a], v & 1, v & 2, v != 3);
      for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++)
        trips += run_pair(&c, 63.0, dts[d], 0, 20000);
      trips += run_pair(&c, 63.0, 1e-3, 1, 20000);
    }
  /* The sequences must reach the trip path, or the comparison proves little. */
  assert_true(trips > 20);
}

/* A constant overload from cold to the trip at 1 ms: the step on which the
 * image crosses k^2 is where the check must give way to next_trip. */
static void test_constant_overload(void **state)
{
  (void)state;
  for (double x = 1.12; x < 3.0; x += 0.07) {
    hr_device_cfg_t c = trip_unit(100.0, 8.0, 0, 0, 1);
    hr_device_t *f = NULL, *p = NULL;
    assert_int_equal(hr_device_create(&c, &f), HR_OK);
    assert_int_equal(hr_device_create(&c, &p), HR_OK);
    hr__device_set_plain(p, 1);
    long k = 0;
    for (; k < 2000000 && !f->tripped; k++) {
      assert_int_equal(hr_device_step(f, x * 100.0, 1e-3), HR_OK);
      assert_int_equal(hr_device_step(p, x * 100.0, 1e-3), HR_OK);
      assert_same_state(f, p, k);
    }
    assert_true(f->tripped);
    hr_device_destroy(f);
    hr_device_destroy(p);
  }
}

/* Relays and fuses take the plain path (the check is for trip units): the
 * two copies agree trivially, which this keeps true. */
static void test_relay_fuse(void **state)
{
  (void)state;
  hr_device_cfg_t c;
  assert_int_equal(hr_device_cfg_init(&c, HR_DEVICE_RELAY), HR_OK);
  c.u.relay.curve = HR_CURVE_IEC_SI;
  c.u.relay.is_a = 100.0;
  c.u.relay.tms = 0.1;
  run_pair(&c, 100.0, 1e-3, 0, 20000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_trip_units),
                                     cmocka_unit_test(test_constant_overload),
                                     cmocka_unit_test(test_relay_fuse)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
