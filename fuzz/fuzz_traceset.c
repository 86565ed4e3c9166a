/* libFuzzer harness for the measured-trace loader, hr_plan_traceset_load:
 * the summary CSV and the trace CSVs it lists (untrusted files).
 *
 * Input: the summary, then up to three trace files, separated by lines
 * "====".  They are written to a private folder as traces_summary.csv,
 * a.csv, b.csv and c.csv (a part that is missing is a missing file), so a
 * summary row names a trace as a.csv, b.csv or c.csv.
 *
 * Every input must load or fail with a message (and no set); a loaded set
 * must hold what the format promises: at least 2 samples per trace, every
 * sample finite and >= 0, GPU counts in 1..4096, batch limits in 1..1e6,
 * the 0.1 s step, NUL-terminated labels. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "headroom/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *names[4] = {"traces_summary.csv", "a.csv", "b.csv", "c.csv"};
  const uint8_t *rest = data;
  size_t nrest = size;
  int more = 1;
  for (int k = 0; k < 4; k++) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", hr_fz_tmpdir(), names[k]);
    if (!more) {
      unlink(path);
      continue;
    }
    const uint8_t *part, *next;
    size_t npart, nnext;
    hr_fz_split(rest, nrest, "\n====\n", &part, &npart, &next, &nnext);
    more = next != rest + nrest || nnext != 0;
    if (k == 3)
      npart = nrest; /* the last file takes everything left */
    hr_fz_write(k, names[k], part, npart);
    rest = next;
    nrest = nnext;
  }

  hr_plan_traceset_t *s = NULL;
  hr_diag_t e;
  memset(&e, 0x55, sizeof e);
  e.message[0] = '\0';
  int rc = hr_plan_traceset_load(hr_fz_tmpdir(), &s, &e);
  if (rc != HR_OK) {
    if (s || !memchr(e.message, '\0', sizeof e.message) || e.message[0] == '\0')
      abort();
    return 0;
  }
  for (size_t i = 0; i < s->n; i++) {
    const hr_plan_trace_t *t = &s->tr[i];
    if (t->n < 2 || t->num_gpus < 1 || t->num_gpus > 4096 || t->max_num_seqs < 1 ||
        t->max_num_seqs > 1000000 || t->dt_s != 0.1 || !memchr(t->model, '\0', sizeof t->model))
      abort();
    for (size_t k = 0; k < t->n; k++)
      if (!(t->p_w[k] >= 0.0) || !isfinite(t->p_w[k]))
        abort();
  }
  hr_plan_traceset_destroy(s);
  return 0;
}
