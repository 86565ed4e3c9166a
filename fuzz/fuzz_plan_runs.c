/* libFuzzer harness for the request-driven run loader, hr_plan_runs_load,
 * and the calibration power loader, hr_plan_power_load (untrusted files).
 *
 * Input: the manifest, then up to three files, separated by lines "====".
 * They are written to a private folder as runs.csv, p.csv, a.csv and b.csv
 * (a part that is missing is a missing file), so a manifest row names its
 * power and activity files among p.csv, a.csv and b.csv.
 *
 * Every input must load or fail with a message (and no set); a loaded set
 * must hold what the format promises: at least 2 bins of 0.25 s per run,
 * power and A(t) finite and >= 0, GPU counts in 1..4096, batch limits in
 * 1..1e6, NUL-terminated labels.  p.csv alone goes through
 * hr_plan_power_load with the same promises. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "headroom/plan_desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *names[4] = {"runs.csv", "p.csv", "a.csv", "b.csv"};
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
  int rc = hr_plan_runs_load(hr_fz_tmpdir(), 0.0, &s, &e);
  if (rc != HR_OK) {
    if (s || !memchr(e.message, '\0', sizeof e.message) || e.message[0] == '\0')
      abort();
  } else {
    for (size_t i = 0; i < s->n; i++) {
      const hr_plan_trace_t *t = &s->tr[i];
      if (t->n < 2 || t->num_gpus < 1 || t->num_gpus > 4096 || t->max_num_seqs < 1 ||
          t->max_num_seqs > 1000000 || t->dt_s != 0.25 || !t->active ||
          !memchr(t->model, '\0', sizeof t->model))
        abort();
      for (size_t k = 0; k < t->n; k++)
        if (!(t->p_w[k] >= 0.0) || !isfinite(t->p_w[k]) || !(t->active[k] >= 0.0) ||
            !isfinite(t->active[k]))
          abort();
    }
    hr_plan_traceset_destroy(s);
  }
  char path[256];
  snprintf(path, sizeof path, "%s/p.csv", hr_fz_tmpdir());
  double *p = NULL;
  size_t n = 0;
  memset(&e, 0x55, sizeof e);
  e.message[0] = '\0';
  rc = hr_plan_power_load(path, 0.1, &p, &n, &e);
  if (rc != HR_OK) {
    if (p || n || !memchr(e.message, '\0', sizeof e.message) || e.message[0] == '\0')
      abort();
    return 0;
  }
  for (size_t k = 0; k < n; k++)
    if (!(p[k] >= 0.0) || !isfinite(p[k]))
      abort();
  free(p);
  return 0;
}
