/* The grid hold under a load's own swing (loop.h hold_release, policy
 * headroom; docs/results.md, sync-restart, issue 13).  104 GPUs of the
 * shipped synchronized restart (scenarios/sync-restart.yaml, servers spread
 * over the row's four racks): the job's 1-Hz iterations violate the site's
 * 1-5 Hz oscillation band for the whole run, so every step re-arms the hold.
 * The stop at 40 s ends the violation; the hold lapses, the leases follow
 * the idle GPUs down, and the restart at 50 s is caught by the re-armed hold
 * half-way up its leases: the site's ramp limit is 55 kW/s here (the row's
 * tree says 100), and the caps' ramp envelope (the lowest draw of the last
 * one to two seconds, the idle 7.3 kW, plus 55 kW) holds the restart's caps
 * at 62.3 kW of 72.8 for its first two seconds.  (With 100 kW/s they come
 * back at once and the hold has nothing to catch; they came back slowly at
 * 100 kW/s only while the envelope counted the 216 empty slots at their
 * lowest caps.)  Nothing else binds: 104 x 700 W = 72.8 kW against the row's
 * 115-kW continuous limit, 32 GPUs (22.4 kW) per rack against 36.2 kW, and
 * the iterations' 41.6-kW swing within 55 kW/s.  So once the caps may come
 * back the caps' sum is, in closed form, every GPU's rating: 72 800 W.  Checked: with hold_release
 * (headroom's default: in a hold a cap may rise back to the highest it held in the last one to two
 * grid_hold_s) the caps sum to 72 800 W from 52.5 s on; with it off (no cap rises in a hold) they
 * stay below for the rest of the run (the defect: 66.1 kW here, 67.9 kW in the issue); and up
 * to 50.5 s the two runs are the same. */
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

#define N_GPU 104
#define RATING_W 700.0
#define T_END_S 62.0
#define N_SMP 7000
#define RAMP_KW_S " 55" /* three characters, in place of the tree's 100 */

typedef struct run_out {
  double t_s[N_SMP], caps_w[N_SMP];
  size_t n;
} run_out_t;

static void on_sample(void *user, const hr_sim_sample_t *smp)
{
  run_out_t *r = user;
  if (r->n < N_SMP) {
    r->t_s[r->n] = smp->t_s;
    r->caps_w[r->n] = smp->caps_w;
    r->n++;
  }
}

static void run(int hold_release, run_out_t *out)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/scenarios/sync-restart.yaml", HR_SOURCE_DIR);
  FILE *f = fopen(path, "rb");
  if (!f) {
    print_error("%s: missing, skipped\n", path);
    skip();
  }
  static char text[8192], edited[8400];
  size_t len = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[len] = '\0';
  /* The scenario at 104 GPUs in the capacity search's spread order. */
  const char *g = strstr(text, "\ngpus: 320\n"), *w = strstr(text, "gpus: [0, 320]");
  assert_non_null(g);
  assert_non_null(w);
  int n = snprintf(edited, sizeof edited, "%.*s\ngpus: %d\npopulate: spread\nsample_s: 0.01\n%.*s",
                   (int)(g - text), text, N_GPU, (int)(w - (g + 11)), g + 11);
  n += snprintf(edited + n, sizeof edited - (size_t)n, "gpus: [0, %d]%s", N_GPU, w + 14);
  assert_true(n > 0 && (size_t)n < sizeof edited);

  char dir[1024];
  snprintf(dir, sizeof dir, "%s/scenarios", HR_SOURCE_DIR);
  hr_scenario_t sc;
  hr_diag_t e;
  assert_int_equal(hr_scenario_load_buffer(edited, (size_t)n, "hold", dir, &sc, &e), HR_OK);
  sc.duration_s = T_END_S;
  /* The row's tree with the site's ramp limit at RAMP_KW_S. */
  f = fopen(sc.tree_path, "rb");
  assert_non_null(f);
  static char tt[262144];
  size_t tl = fread(tt, 1, sizeof tt - 1, f);
  fclose(f);
  tt[tl] = '\0';
  char *rp = strstr(tt, "max_ramp_kw_per_s: 100,");
  assert_non_null(rp);
  memcpy(rp, "max_ramp_kw_per_s: " RAMP_KW_S ",", 23);
  hr_tree_t *tree = NULL;
  assert_int_equal(hr_tree_load_buffer(tt, tl, "row", &tree, &e), HR_OK);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg("headroom", &ac), HR_OK);
  assert_int_equal(ac.hold_release, 1); /* headroom's default */
  ac.hold_release = hold_release;
  hr_sim_t *s = NULL;
  assert_int_equal(hr_sim_create(&sc, tree, &ac, &s, &e), HR_OK);
  out->n = 0;
  assert_int_equal(hr_sim_run(s, on_sample, out), HR_OK);
  hr_sim_result_t r;
  assert_int_equal(hr_sim_result(s, &r), HR_OK);
  assert_int_equal(r.trips, 0);
  hr_sim_destroy(s);
  hr_tree_destroy(tree);
  hr_scenario_free(&sc);
}

static void test_hold_release(void **state)
{
  (void)state;
  static run_out_t on, off;
  run(1, &on);
  run(0, &off);
  assert_int_equal(on.n, off.n);
  assert_true(on.t_s[on.n - 1] > T_END_S - 0.1);
  const double full_w = N_GPU * RATING_W;
  double off_max_w = 0.0;
  size_t n_late = 0, n_same = 0;
  for (size_t k = 0; k < on.n; k++) {
    assert_true(on.t_s[k] == off.t_s[k]);
    if (on.t_s[k] <= 50.5) {
      /* Until a hold catches caps below where they were, the same run. */
      assert_true(on.caps_w[k] == off.caps_w[k]);
      n_same++;
    } else if (on.t_s[k] >= 52.5) {
      /* Back at every GPU's rating (the grid ramp envelope lets the caps up
       * to the leases by 52.2 s). */
      assert_true(fabs(on.caps_w[k] - full_w) <= 1.0);
      if (off.caps_w[k] > off_max_w)
        off_max_w = off.caps_w[k];
      n_late++;
    }
  }
  assert_true(n_same > 5000 && n_late > 900);
  /* Without the release the hold pins the caps below the GPUs' want (the
   * check above would fail without the option). */
  assert_true(off_max_w < full_w - 1000.0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_hold_release)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
