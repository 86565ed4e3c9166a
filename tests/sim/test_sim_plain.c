/* The simulator's fast forms against its straightforward ones
 * (hr__sim_set_plain, src/sim/sim_int.h): the same scenario and policy run
 * twice in this process, once with the GPUs read one device at a time
 * through the actuator interface, every GPU looked at for pending caps at
 * every step, every GPU's conductor powers set at every step, every node
 * stepped on its own in the electricity pass, the leaves' probes computed
 * at every decision, the agent's
 * tree summed node by node and the protective devices always asking for
 * their next trip, once with the batch read, the pending-cap shortcut, the
 * conductor powers set only when a GPU's power changed, runs of GPUs stepped
 * at once in the electricity pass, probes reused while the same leaves are
 * active, the agent's runs of
 * leaves summed at once and the no-trip check; the plain run also
 * rebalances the leases in full every time, the fast one skips a rebalance
 * that would only renew them (hr__lease_set_plain).
 * Every decision the agent takes (time, GPU, cap, reason), every sample of
 * the time series (at 10 ms) and every node's result (peaks, thermal state,
 * trips and their times) must be the same, bit for bit, as must the run's
 * totals.  Scenarios: a small tree with every fault event (meter freeze,
 * garbage, telemetry loss, a stuck meter, coordinator crash, utility outage) and a rack
 * breaker that trips without control, and three shipped scenarios, shortened
 * (feed loss in a 2N design, inference mixed with training, the synchronized
 * restart), under several policies.  The agent's own code (also changed for
 * speed: parents' sums in registers, cached sums, batched cap reads) runs in
 * both but for its runs of leaves: what checks the rest is the comparison with the main branch's
 * binary recorded in docs/performance.md. */
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
#include "sim/sim_int.h"

typedef struct run {
  hr_sim_sample_t *smp;
  size_t n_smp, cap_smp;
  hr_agent_decision_t *dec;
  size_t n_dec, cap_dec;
  hr_sim_result_t res;
  hr_sim_node_result_t *nodes;
} run_t;

static void on_sample(void *user, const hr_sim_sample_t *smp)
{
  run_t *r = user;
  if (r->n_smp == r->cap_smp) {
    r->cap_smp = r->cap_smp ? 2 * r->cap_smp : 1024;
    r->smp = realloc(r->smp, r->cap_smp * sizeof *r->smp);
    assert_non_null(r->smp);
  }
  r->smp[r->n_smp++] = *smp;
}

static void on_decision(void *user, const hr_agent_decision_t *d)
{
  run_t *r = user;
  if (r->n_dec == r->cap_dec) {
    r->cap_dec = r->cap_dec ? 2 * r->cap_dec : 1024;
    r->dec = realloc(r->dec, r->cap_dec * sizeof *r->dec);
    assert_non_null(r->dec);
  }
  r->dec[r->n_dec++] = *d;
}

static void run_free(run_t *r)
{
  free(r->smp);
  free(r->dec);
  free(r->nodes);
}

static int same(double a, double b)
{
  return memcmp(&a, &b, sizeof a) == 0;
}

static void run_one(const hr_scenario_t *sc, const hr_tree_t *tree, const char *policy, int plain,
                    run_t *r)
{
  memset(r, 0, sizeof *r);
  hr_agent_cfg_t ac;
  assert_int_equal(hr_sim_policy_cfg(policy, &ac), HR_OK);
  hr_sim_t *s = NULL;
  hr_diag_t e;
  assert_int_equal(hr_sim_create(sc, tree, &ac, &s, &e), HR_OK);
  hr__sim_set_plain(s, plain);
  hr_agent_set_callback(hr_sim_agent(s), on_decision, r);
  assert_int_equal(hr_sim_run(s, on_sample, r), HR_OK);
  assert_int_equal(hr_sim_result(s, &r->res), HR_OK);
  r->nodes = malloc(r->res.n_nodes * sizeof *r->nodes);
  assert_non_null(r->nodes);
  memcpy(r->nodes, r->res.nodes, r->res.n_nodes * sizeof *r->nodes);
  hr_sim_destroy(s);
}

static void compare(const char *what, const run_t *a, const run_t *b)
{
  /* Decisions. */
  if (a->n_dec != b->n_dec) {
    print_error("%s: %zu decisions plain, %zu fast\n", what, a->n_dec, b->n_dec);
    fail();
  }
  for (size_t k = 0; k < a->n_dec; k++) {
    const hr_agent_decision_t *x = &a->dec[k], *y = &b->dec[k];
    if (x->t_ns != y->t_ns || x->leaf != y->leaf || x->node != y->node ||
        !same(x->cap_w, y->cap_w) || !same(x->prev_cap_w, y->prev_cap_w) || !same(x->p_w, y->p_w) ||
        x->why != y->why || x->err != y->err) {
      print_error("%s: decision %zu differs: t %lld/%lld leaf %zu/%zu cap %.17g/%.17g\n", what, k,
                  (long long)x->t_ns, (long long)y->t_ns, x->leaf, y->leaf, x->cap_w, y->cap_w);
      fail();
    }
  }
  /* Samples (fill_sample clears each, so padding compares too). */
  assert_int_equal(a->n_smp, b->n_smp);
  for (size_t k = 0; k < a->n_smp; k++)
    if (memcmp(&a->smp[k], &b->smp[k], sizeof a->smp[k]) != 0) {
      print_error("%s: sample %zu (t %.3f s) differs: site %.17g/%.17g W\n", what, k, a->smp[k].t_s,
                  a->smp[k].site_p_w, b->smp[k].site_p_w);
      fail();
    }
  /* Nodes (calloc'd by the simulator: padding compares too). */
  assert_int_equal(a->res.n_nodes, b->res.n_nodes);
  for (size_t k = 0; k < a->res.n_nodes; k++)
    if (memcmp(&a->nodes[k], &b->nodes[k], sizeof a->nodes[k]) != 0) {
      print_error("%s: node %zu differs\n", what, k);
      fail();
    }
  /* Totals (not the wall-clock figures). */
  const hr_sim_result_t *x = &a->res, *y = &b->res;
  assert_true(same(x->t_s, y->t_s) && x->n_gpus == y->n_gpus && x->trips == y->trips);
  assert_true(same(x->energy_j, y->energy_j) && same(x->work, y->work) &&
              same(x->work_uncapped, y->work_uncapped));
  assert_true(same(x->ramp_viol_s, y->ramp_viol_s) && same(x->osc_viol_s, y->osc_viol_s) &&
              same(x->max_ramp_w_per_s, y->max_ramp_w_per_s) &&
              same(x->max_site_p_w, y->max_site_p_w));
  assert_true(same(x->gen_over_s, y->gen_over_s) && same(x->gen_ramp_viol_s, y->gen_ramp_viol_s) &&
              x->gen_trips == y->gen_trips);
  assert_true(same(x->ttft_p50_s, y->ttft_p50_s) && same(x->ttft_p99_s, y->ttft_p99_s) &&
              same(x->tbt_p50_s, y->tbt_p50_s) && same(x->tbt_p99_s, y->tbt_p99_s));
  assert_true(x->inf_requests == y->inf_requests && x->inf_completed == y->inf_completed &&
              x->inf_tokens == y->inf_tokens);
  assert_true(x->agent.steps == y->agent.steps && x->agent.decisions == y->agent.decisions &&
              x->agent.caps_set == y->agent.caps_set &&
              x->agent.cap_errors == y->agent.cap_errors &&
              x->agent.step_decisions == y->agent.step_decisions &&
              x->agent.bad_readings == y->agent.bad_readings &&
              x->agent.stuck_readings == y->agent.stuck_readings &&
              x->agent.supply_clamps == y->agent.supply_clamps &&
              x->agent.lease_clamps == y->agent.lease_clamps);
}

/* Runs sc under each policy plain and fast and compares; returns the trips
 * of the first policy's run. */
static unsigned check_policies(const char *name, const hr_scenario_t *sc, const hr_tree_t *tree,
                               const char *const *policies, size_t n_pol, size_t *decisions)
{
  unsigned trips0 = 0;
  for (size_t p = 0; p < n_pol; p++) {
    run_t a, b;
    run_one(sc, tree, policies[p], 1, &a);
    run_one(sc, tree, policies[p], 0, &b);
    char what[128];
    snprintf(what, sizeof what, "%s, %s", name, policies[p]);
    compare(what, &a, &b);
    if (p == 0)
      trips0 = a.res.trips;
    *decisions += a.n_dec;
    run_free(&a);
    run_free(&b);
  }
  return trips0;
}

/* Two racks of two 8-GPU servers under a row breaker; the racks' LI units
 * (4 A, 0.5-s band) trip within seconds of full training power without
 * control. */
static const char tree_text[] =
    "version: 1\nnodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 100,\n"
    "     grid: {max_ramp_kw_per_s: 20, ramp_window_s: 1}}\n"
    "  - {id: row, kind: branch, parent: site,\n"
    "     device: {type: trip_unit, curve: LSI, in_a: 40, tr_s: 2, isd: 6, tsd_s: 0.2, ii: 10}}\n"
    "  - {id: rack-0, kind: rack, parent: row,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 4, tr_s: 0.5, ii: 10}}\n"
    "  - {id: rack-1, kind: rack, parent: row,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 4, tr_s: 0.5, ii: 10}}\n"
    "  - {id: s00, kind: server, parent: rack-0}\n"
    "  - {id: s01, kind: server, parent: rack-0}\n"
    "  - {id: s10, kind: server, parent: rack-1}\n"
    "  - {id: s11, kind: server, parent: rack-1}\n"
    "  - {id: g000, kind: gpu, parent: s00, rating_w: 700}\n"
    "  - {id: g001, kind: gpu, parent: s00, rating_w: 700}\n"
    "  - {id: g002, kind: gpu, parent: s00, rating_w: 700}\n"
    "  - {id: g003, kind: gpu, parent: s00, rating_w: 700}\n"
    "  - {id: g010, kind: gpu, parent: s01, rating_w: 700}\n"
    "  - {id: g011, kind: gpu, parent: s01, rating_w: 700}\n"
    "  - {id: g012, kind: gpu, parent: s01, rating_w: 700}\n"
    "  - {id: g013, kind: gpu, parent: s01, rating_w: 700}\n"
    "  - {id: g100, kind: gpu, parent: s10, rating_w: 700}\n"
    "  - {id: g101, kind: gpu, parent: s10, rating_w: 700}\n"
    "  - {id: g102, kind: gpu, parent: s10, rating_w: 700}\n"
    "  - {id: g103, kind: gpu, parent: s10, rating_w: 700}\n"
    "  - {id: g110, kind: gpu, parent: s11, rating_w: 700}\n"
    "  - {id: g111, kind: gpu, parent: s11, rating_w: 700}\n"
    "  - {id: g112, kind: gpu, parent: s11, rating_w: 700}\n"
    "  - {id: g113, kind: gpu, parent: s11, rating_w: 700}\n";

static const char sc_text[] =
    "version: 1\ntree: unused\nduration_s: 24\nsample_s: 0.01\ngpus: 14\npopulate: spread\n"
    "workloads:\n"
    "  - {kind: training, gpus: [0, 10], period_s: 0.5, compute_frac: 0.6, compute_w: 700,\n"
    "     comm_w: 250, ramp_s: 1, restarts: [5], restart_s: 1, checkpoint_every_s: 6,\n"
    "     checkpoint_s: 1, checkpoint_w: 150}\n"
    "  - {kind: batch, gpus: [10, 14], power_w: 600, priority: 0}\n"
    "events:\n"
    "  - {kind: meter_freeze, node: s00, at_s: 3, duration_s: 2}\n"
    "  - {kind: meter_garbage, node: rack-1, at_s: 6, duration_s: 2}\n"
    "  - {kind: telemetry_loss, at_s: 9, duration_s: 1}\n"
    "  - {kind: meter_stuck, node: s00, at_s: 19.5, duration_s: 4}\n"
    "  - {kind: coordinator_crash, node: row, at_s: 11, duration_s: 2}\n"
    "  - {kind: utility_outage, at_s: 15, duration_s: 4, gen_kw: 8, ramp_kw_per_s: 3, "
    "overload_s: 2}\n";

static void test_faults_small_tree(void **state)
{
  (void)state;
  hr_tree_t *tree = NULL;
  hr_diag_t e;
  assert_int_equal(hr_tree_load_buffer(tree_text, strlen(tree_text), "plain.yaml", &tree, &e),
                   HR_OK);
  hr_scenario_t sc;
  assert_int_equal(hr_scenario_load_buffer(sc_text, strlen(sc_text), "plain", ".", &sc, &e), HR_OK);
  static const char *const pol[] = {"none",     "headroom",    "thunderbolt",
                                    "dynamo",   "polca",       "headroom-smooth",
                                    "static70", "lease-3band", "lease-2thr"};
  size_t decisions = 0;
  unsigned trips =
      check_policies("small tree", &sc, tree, pol, sizeof pol / sizeof pol[0], &decisions);
  /* The comparison covers a trip (uncontrolled) and many decisions. */
  assert_true(trips > 0);
  assert_true(decisions > 100);
  hr_scenario_free(&sc);
  hr_tree_destroy(tree);
}

static void shipped(const char *file, double dur_s, const char *const *pol, size_t n_pol,
                    const hr_sim_supply_cfg_t *supply)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/scenarios/%s", HR_SOURCE_DIR, file);
  hr_scenario_t sc;
  hr_diag_t e;
  assert_int_equal(hr_scenario_load_file(path, &sc, &e), HR_OK);
  sc.duration_s = dur_s;
  if (supply)
    sc.supply = *supply;
  hr_tree_t *tree = NULL;
  assert_int_equal(hr_tree_load_file(sc.tree_path, &tree, &e), HR_OK);
  size_t decisions = 0;
  check_policies(file, &sc, tree, pol, n_pol, &decisions);
  assert_true(decisions > 0);
  hr_tree_destroy(tree);
  hr_scenario_free(&sc);
}

static void test_shipped(void **state)
{
  (void)state;
  static const char *const p1[] = {"headroom", "dynamo"};
  shipped("feed-loss-2n.yaml", 33.0, p1, 2, NULL);
  static const char *const p2[] = {"headroom", "polca"};
  shipped("mixed-training-inference.yaml", 8.0, p2, 2, NULL);
  static const char *const p3[] = {"headroom-thermal", "thunderbolt"};
  shipped("sync-restart.yaml", 8.0, p3, 2, NULL);
  /* The supplies' power factor (reactive power split over the dual-corded
   * servers' feeds, and all of it on the survivor once feed b is lost). */
  const hr_sim_supply_cfg_t pf = {
      .n_pf = 3, .pf_load = {0.1, 0.5, 1.0}, .pf = {0.8, 0.95, 0.99}, .budget_base_w = -1};
  static const char *const p4[] = {"headroom", "none"};
  shipped("feed-loss-2n.yaml", 33.0, p4, 2, &pf);
  /* With base loads and losses as well (each side's supply at its own share). */
  const hr_sim_supply_cfg_t bl = {.n_pf = 3,
                                  .pf_load = {0.1, 0.5, 1.0},
                                  .pf = {0.8, 0.95, 0.99},
                                  .base_w = 1200,
                                  .n_eff = 3,
                                  .eff_load = {0.1, 0.5, 1.0},
                                  .eff = {0.88, 0.95, 0.93},
                                  .budget_base_w = -1};
  shipped("feed-loss-2n.yaml", 33.0, p4, 2, &bl);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_faults_small_tree),
                                     cmocka_unit_test(test_shipped)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
