/* libFuzzer harness for the electrical-tree loader (untrusted YAML).
 *
 * Every input must either load or fail with a message; a loaded tree must
 * be internally consistent (parents first, ids findable, child lists
 * matching parent links), and every device it carries must step and answer
 * time-to-trip questions without undefined behaviour. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "headroom/protect.h"
#include "headroom/tree.h"

/* The diagnostic as the one line hr_diag_format makes (a static buffer). */
static const char *dtext(const hr_diag_t *d)
{
  static char text[1024];
  hr_diag_format(d, text, sizeof text);
  return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise_device(const hr_device_cfg_t *cfg)
{
  _Alignas(max_align_t) unsigned char mem[4096];
  hr_device_t *d;
  if (hr_device_size() > sizeof mem || hr_device_init(mem, sizeof mem, cfg, &d) != HR_OK)
    __builtin_trap(); /* the loader only hands out settings that pass the check */
  static const double mult[] = {0.0, 0.5, 1.0, 1.2, 2.0, 6.0, 15.0, 40.0};
  double ref = cfg->type == HR_DEVICE_TRIP_UNIT ? cfg->u.tu.ir_a
               : cfg->type == HR_DEVICE_RELAY   ? cfg->u.relay.is_a
                                                : cfg->u.fuse.in_a;
  for (size_t k = 0; k < sizeof mult / sizeof mult[0]; k++) {
    double i = mult[k] * ref;
    double t = hr_device_time_to_trip(d, i);
    if (isnan(t) || t < 0.0)
      __builtin_trap();
    hr_device_input_t in = {{i, 0.5 * i, 0.0}, 3, 0.1 * i};
    if (hr_device_step_ex(d, &in, 0.37) != HR_OK)
      __builtin_trap();
    if (hr_device_tripped(d))
      hr_device_reclose(d);
  }
  double w = hr_device_withstand_a(d, 1.0);
  if (isnan(w) || w < 0.0)
    __builtin_trap();
  if (isnan(hr_device_trip_time(cfg, 3.0 * ref)))
    __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  hr_tree_t *t = NULL;
  hr_diag_t e;
  int rc = hr_tree_load_buffer((const char *)data, size, "fuzz", &t, &e);
  if (rc != HR_OK) {
    if (t != NULL || e.code != rc || dtext(&e)[0] == '\0')
      __builtin_trap();
  } else {
    size_t n = hr_tree_count(t), links = 0, listed = 0;
    for (size_t k = 0; k < n; k++) {
      const hr_tree_node_t *nd = hr_tree_node(t, k);
      size_t idx = 0, nc = 0;
      if (nd->parent >= (int32_t)k || nd->parent_b >= (int32_t)k)
        __builtin_trap();
      if (hr_tree_find(t, nd->id, &idx) != HR_OK || idx != k)
        __builtin_trap();
      links += (nd->parent >= 0) + (nd->parent_b >= 0);
      hr_tree_children(t, k, &nc);
      listed += nc;
      if (!(nd->u_v > 0.0) || (nd->n_phases != 1 && nd->n_phases != 3))
        __builtin_trap();
      if (isnan(hr_tree_node_current_a(nd, 1000.0)))
        __builtin_trap();
      if (nd->device)
        exercise_device(nd->device);
    }
    if (links != listed)
      __builtin_trap();
    hr_tree_destroy(t);
  }
  /* The same bytes as a lone device mapping. */
  hr_device_cfg_t cfg;
  if (hr_tree_device_parse((const char *)data, size, &cfg, &e) == HR_OK &&
      cfg.type != HR_DEVICE_NONE)
    exercise_device(&cfg);
  return 0;
}
