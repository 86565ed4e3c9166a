/* libFuzzer harness for the simulator's scenario loader (untrusted YAML)
 * and the simulator's creation and first steps, the waveform path included.
 *
 * Every input must either load or fail with a message; a loaded scenario
 * runs over a fixed rack (two 8-GPU servers) for at most 40 ms: creation
 * either succeeds or names the field it refuses, and every step returns
 * HR_OK or HR_ERR_EOF. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "headroom/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TREE[] =
    "version: 1\nnodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 100}\n"
    "  - {id: rack, kind: rack, parent: site,\n"
    "     device: {type: trip_unit, curve: LI, in_a: 16, tr_s: 8, ii: 10}}\n"
    "  - {id: s0, kind: server, parent: rack}\n"
    "  - {id: s1, kind: server, parent: rack, phases: 1, phase: ab}\n"
    "  - {id: g00, kind: gpu, parent: s0, rating_w: 700}\n"
    "  - {id: g01, kind: gpu, parent: s0, rating_w: 700}\n"
    "  - {id: g10, kind: gpu, parent: s1, rating_w: 700}\n"
    "  - {id: g11, kind: gpu, parent: s1, rating_w: 700}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static hr_tree_t *tree;
  hr_diag_t e;
  if (!tree && hr_tree_load_buffer(TREE, sizeof TREE - 1, "t.yaml", &tree, &e) != HR_OK)
    __builtin_trap();
  hr_scenario_t sc;
  memset(&e, 0, sizeof e);
  int rc = hr_scenario_load_buffer((const char *)data, size, "s.yaml", ".", &sc, &e);
  if (rc != HR_OK) {
    if (!e.message[0] || !e.field[0])
      __builtin_trap(); /* every refusal names the field and says why */
    return 0;
  }
  if (sc.duration_s > 0.04)
    sc.duration_s = 0.04;
  hr_agent_cfg_t ac;
  hr_sim_policy_cfg(size % 2 ? "headroom" : "none", &ac);
  hr_sim_t *s = NULL;
  memset(&e, 0, sizeof e);
  rc = hr_sim_create(&sc, tree, &ac, &s, &e);
  if (rc == HR_OK) {
    int k = 0;
    while ((rc = hr_sim_step(s)) == HR_OK && k++ < 2000) {
    }
    if (rc != HR_OK && rc != HR_ERR_EOF)
      __builtin_trap();
    hr_sim_result_t res;
    if (hr_sim_result(s, &res) != HR_OK || res.trips > 8)
      __builtin_trap();
    hr_sim_destroy(s);
  } else if (s != NULL || (rc == HR_ERR_RANGE && !e.field[0])) {
    __builtin_trap();
  }
  hr_scenario_free(&sc);
  return 0;
}
