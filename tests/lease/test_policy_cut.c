/* Dynamo's high-bucket-first cut (hr__cut_high_bucket) against plain
 * bookkeeping, on random items with floors, priorities and magnitudes from
 * denormal to 1e300:
 *   1. the cut is whole: the sum falls by need (or every item reaches its
 *      floor), up to rounding (1e-12 of the sum);
 *   2. no item goes below its floor or above where it was;
 *   3. lower priority classes give first: a class is cut only when every
 *      lower one is at its floors;
 *   4. it ends, whatever the numbers: 1e12 W demands over 100 W buckets used
 *      to walk the bucket edge down one width at a time (issue "Lease
 *      safety", defect 2), and a rounding error above a floor used to end
 *      the cut early and drop the rest of it (defect 1). */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lease/lease_int.h"
#include "leasetest.h"

#define N_MAX 24

static void on_alarm(int sig)
{
  (void)sig;
  static const char msg[] = "test_policy_cut: more than 20 s of CPU time (a hang)\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(1);
}

/* A magnitude from a wide range: mostly watts, sometimes extreme. */
static double mag(void)
{
  switch (irand(10)) {
  case 0:
    return unif(0.0, 1e-300);
  case 1:
    return unif(1e9, 1e12);
  case 2:
    return unif(1e18, 1e20);
  case 3:
    return 1e300 * unif(0.1, 1.0);
  default:
    return unif(0.0, 3000.0);
  }
}

static void one_case(void)
{
  hr__item_t it[N_MAX];
  double out[N_MAX], before[N_MAX], scratch[2 * N_MAX];
  size_t n = 1 + (size_t)irand(N_MAX);
  int wide = irand(3) == 0;
  double sum = 0.0, give = 0.0;
  for (size_t k = 0; k < n; k++) {
    double flo = wide ? mag() : unif(0.0, 300.0);
    double top = flo + (wide ? mag() : unif(0.0, 700.0));
    if (irand(8) == 0)
      top = flo; /* already at its floor */
    it[k].flo_w = flo;
    it[k].dem_w = top;
    it[k].prio = irand(3);
    out[k] = before[k] = top;
    sum += top;
    give += top - flo;
  }
  double need = give * unif(0.0, irand(5) == 0 ? 1.2 : 1.0);
  double bucket = irand(4) == 0 ? unif(1.0, 500.0) : 186.0;
  hr__cut_high_bucket(n, it, bucket, need, out, scratch);
  double after = 0.0;
  for (size_t k = 0; k < n; k++) {
    assert_true(out[k] >= it[k].flo_w);
    assert_true(out[k] <= before[k]);
    after += out[k];
  }
  double want = need < give ? sum - need : sum - give;
  if (!(after <= want + 1e-12 * sum + 1e-9)) {
    print_error("n %zu need %.17g give %.17g: sum %.17g -> %.17g, expected %.17g\n", n, need, give,
                sum, after, want);
    fail();
  }
  /* Lower classes first: if some item of class c was cut, every item of a
   * lower class is at its floor. */
  for (size_t k = 0; k < n; k++) {
    if (!(out[k] < before[k]))
      continue;
    for (size_t j = 0; j < n; j++)
      if (it[j].prio < it[k].prio)
        assert_true(out[j] == it[j].flo_w);
  }
}

/* A guard on CPU time, not wall time: the machine is shared. */
static void guard(int seconds)
{
  struct itimerval v = {{0, 0}, {seconds, 0}};
  signal(SIGPROF, on_alarm);
  setitimer(ITIMER_PROF, &v, NULL);
}

static void test_random_cuts(void **st)
{
  (void)st;
  guard(20);
  rng = 0x5DEECE66Dull;
  for (int i = 0; i < 200000; i++)
    one_case();
  guard(0);
}

/* The case 2: one unrated GPU and five of 1 kW demanding 1e12 W
 * (and more) under a 5 kW server, 100 W buckets: the cut must end at once
 * and leave the budget. */
static void test_huge_demands(void **st)
{
  (void)st;
  guard(20);
  const double dem[] = {1e12, 1e20, 1e300, INFINITY};
  for (size_t d = 0; d < sizeof dem / sizeof dem[0]; d++) {
    hr__item_t it[6];
    double out[6], scratch[12], sum = 0.0;
    for (int k = 0; k < 6; k++) {
      it[k].flo_w = k == 0 ? 210.0 : 300.0;
      it[k].dem_w = dem[d];
      it[k].prio = 0;
      out[k] = dem[d];
      sum += out[k];
    }
    double target = 5000.0;
    hr__cut_high_bucket(6, it, 100.0, sum - target, out, scratch);
    double after = 0.0;
    for (int k = 0; k < 6; k++) {
      assert_true(out[k] >= it[k].flo_w);
      after += out[k];
    }
    if (isfinite(dem[d]))
      assert_true(after <= target + 1e-12 * sum); /* rounding of the cut itself */
  }
  guard(0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_cuts),
      cmocka_unit_test(test_huge_demands),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
