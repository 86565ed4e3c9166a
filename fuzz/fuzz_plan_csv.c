/* libFuzzer harness for the workload loaders, CSV and JSON Lines (untrusted
 * trace files).
 *
 * Every input must either load or fail with a located message; a loaded
 * workload must have strictly increasing times starting at 0 and
 * non-negative token counts.  Both the Azure mapping and a numeric-time
 * mapping are exercised, and the same bytes as JSON Lines. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "headroom/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, const hr_plan_csv_map_t *map, int jsonl)
{
  hr_plan_workload_t *w = NULL;
  hr_diag_t e;
  memset(&e, 0, sizeof e);
  int rc = jsonl ? hr_plan_workload_parse_jsonl((const char *)data, size, map, &w, &e)
                 : hr_plan_workload_parse_csv((const char *)data, size, map, &w, &e);
  if (rc != HR_OK) {
    if (w || e.message[0] == '\0' || !memchr(e.message, '\0', sizeof e.message) || e.line < 0 ||
        e.column < 0)
      __builtin_trap();
    return;
  }
  for (size_t i = 0; i < w->n; i++) {
    if (w->req[i].in_tokens < 0 || w->req[i].out_tokens < 0)
      __builtin_trap();
    if (i == 0 ? w->req[0].t_s != 0.0 : !(w->req[i].t_s > w->req[i - 1].t_s))
      __builtin_trap();
  }
  hr_plan_workload_destroy(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const hr_plan_csv_map_t numeric = {"t", "in", "out", 1e-3};
  static const hr_plan_csv_map_t mooncake = {"timestamp", "input_length", "output_length", 1e-3};
  check(data, size, NULL, 0);
  check(data, size, &numeric, 0);
  check(data, size, &mooncake, 1);
  return 0;
}
