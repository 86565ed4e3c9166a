/* libFuzzer harness for the Splitwise LUT CSV (hr_plan_train_cfg_t.lut_csv,
 * read by hr_plan_model_train).
 *
 * The input is the LUT file.  A tiny model (two synthetic traces, one GMM
 * state, no GRU) is trained with it, so the loader runs on every input and
 * training costs little.  The LUT must load or fail with a message naming
 * it; a model trained with a LUT must generate finite, non-negative power
 * with the LUT method for batch sizes 0 .. 1e6, and must survive the model
 * file round trip (save, load) with bit-identical output. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "headroom/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NT 2
#define NS 128

static hr_plan_traceset_t set;
static hr_plan_trace_t tr[NT];
static double pw[NT][NS];

static void init_set(void)
{
  if (set.n)
    return;
  for (int k = 0; k < NT; k++) {
    snprintf(tr[k].model, sizeof tr[k].model, "m");
    tr[k].num_gpus = 1;
    tr[k].max_num_seqs = 8 << (3 * k);
    tr[k].dt_s = 0.1;
    tr[k].n = NS;
    tr[k].p_w = pw[k];
    for (int i = 0; i < NS; i++)
      pw[k][i] = 300.0 + 200.0 * k + 40.0 * sin(0.3 * i) + (i % 7);
  }
  set.tr = tr;
  set.n = NT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > (1u << 20))
    return 0;
  init_set();
  const char *lut = hr_fz_write(0, "lut.csv", data, size);
  hr_plan_train_cfg_t cfg;
  hr_plan_train_cfg_init(&cfg);
  cfg.k_min = cfg.k_max = 1;
  cfg.gmm_max_points = 100;
  cfg.em_iters = 1;
  cfg.clf_epochs = 1;
  cfg.gru_hidden = 0;
  cfg.gru_epochs = 0;
  cfg.bigru_hidden = 0; /* the paper's BiGRU (default 64 units, 500 epochs) took seconds an input */
  cfg.pooled = 0;
  cfg.lut_csv = lut;
  hr_plan_model_t *m = NULL;
  hr_diag_t e;
  memset(&e, 0, sizeof e);
  int rc = hr_plan_model_train(&set, NULL, &cfg, &m, &e);
  if (rc != HR_OK) {
    char etext[1024];
    hr_diag_format(&e, etext, sizeof etext);
    if (m || !strstr(etext, lut))
      abort();
    return 0;
  }
  static const double batches[] = {0.0, 0.5, 1.0, 2.0, 7.5, 8.0, 100.0, 4096.0, 1e6};
  enum { NB = sizeof batches / sizeof batches[0] };
  double p[NB], q[NB];
  rc = hr_plan_model_generate(m, HR_PLAN_LUT, "m", 8, batches, NB, 1, p);
  if (rc != HR_OK)
    abort(); /* the LUT loaded, so the LUT method must work */
  /* LUT power is finite: the loader refuses a ratio beyond 10
   * (fuzz/reproducers/lut-huge-ratio-infinite-power). */
  for (int i = 0; i < NB; i++)
    if (!isfinite(p[i]) || p[i] < 0.0)
      abort();
  char path[256];
  snprintf(path, sizeof path, "%s/m.model", hr_fz_tmpdir());
  if (hr_plan_model_save(m, path) != HR_OK)
    abort();
  hr_plan_model_t *m2 = NULL;
  int lrc = hr_plan_model_load(path, &m2, &e);
  if (lrc != HR_OK) {
    char etext[1024];
    hr_diag_format(&e, etext, sizeof etext);
    fprintf(stderr, "fuzz_lut: the saved model does not load: %s\n", etext);
    abort();
  }
  if (hr_plan_model_generate(m2, HR_PLAN_LUT, "m", 8, batches, NB, 1, q) != HR_OK ||
      memcmp(p, q, sizeof p) != 0)
    abort();
  hr_plan_model_destroy(m2);
  hr_plan_model_destroy(m);
  return 0;
}
