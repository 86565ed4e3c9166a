/* plan module: the versioned model file (save, parse, load). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_model_int.h"

/* ------------------------------------------------------------ model file */

#define MAGIC "headroom-plan-model"

typedef struct sbuf {
  char *p;
  size_t n, cap;
  int oom;
} sbuf_t;

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
  if (b->oom)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0) {
      b->oom = 1;
      return;
    }
    if ((size_t)k < b->cap - b->n) {
      b->n += (size_t)k;
      return;
    }
    size_t nc = (b->cap + (size_t)k + 1) * 2;
    char *q = realloc(b->p, nc);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = nc;
  }
}

int hr_plan_model_save(const hr_plan_model_t *m, const char *path)
{
  if (!m || !path)
    return HR_ERR_INVALID_ARG;
  sbuf_t b = {malloc(4096), 0, 4096, 0};
  if (!b.p)
    return HR_ERR_NOMEM;
  b.p[0] = '\0';
  sb_printf(&b, "%s %d\n", MAGIC, HR_PLAN_MODEL_VERSION);
  sb_printf(&b, "tdp_w_per_gpu %.17g\nidle_w_per_gpu %.17g train_dt_s %.17g\nlut %d\n",
            m->tdp_w_per_gpu, m->idle_w_per_gpu, m->train_dt_s, m->nlut);
  for (int i = 0; i < m->nlut; i++)
    sb_printf(&b, "%.17g %.17g\n", m->lut_b[i], m->lut_r[i]);
  sb_printf(&b, "groups %d\n", m->ng);
  for (int gi = 0; gi < m->ng; gi++) {
    const group_t *g = &m->gr[gi];
    int k = g->g.k;
    sb_printf(&b, "group %s\nstates %d\n", g->label, k);
    for (int j = 0; j < k; j++)
      sb_printf(&b, "%.17g %.17g %.17g %.17g\n", g->g.w[j], g->g.mu[j], g->g.sd[j], g->phi[j]);
    sb_printf(&b, "%.17g %.17g %.17g %.17g %.17g %.17g\n", g->g.bic, g->p_lo, g->p_hi, g->mean_w,
              g->a_mu, g->a_sd);
    for (int j = 0; j < k; j++)
      sb_printf(&b, "%.17g %.17g %.17g\n", g->clf[j][0], g->clf[j][1], g->clf[j][2]);
    sb_printf(&b, "gru %d\n", g->gru_h);
    if (g->gru_h > 0) {
      size_t np = hr__plan_gru_nparams(g->gru_h, k);
      for (size_t i = 0; i < np; i++)
        sb_printf(&b, i ? " %.17g" : "%.17g", g->gru_w[i]);
      sb_printf(&b, "\n");
    }
    sb_printf(&b, "batches %d\n", g->nb);
    for (int i = 0; i < g->nb; i++) {
      sb_printf(&b, "%.17g", g->batch[i]);
      for (int j = 0; j < k; j++)
        sb_printf(&b, " %.17g", g->occ[i][j]);
      for (int j = 0; j < k * k; j++)
        sb_printf(&b, " %.17g", g->trans[i][j]);
      for (int j = 0; j < ZLAGS; j++)
        sb_printf(&b, " %.17g", g->acfz[i][j]);
      for (int j = 0; j < NQ; j++)
        sb_printf(&b, " %.17g", g->qtab[i][j]);
      sb_printf(&b, "\n");
    }
  }
  if (!b.oom)
    sb_printf(&b, "crc32 %08x\n", (unsigned)hr__plan_crc32(b.p, b.n));
  if (b.oom) {
    free(b.p);
    return HR_ERR_NOMEM;
  }
  FILE *f = fopen(path, "wb");
  int rc = HR_OK;
  if (!f || fwrite(b.p, 1, b.n, f) != b.n)
    rc = HR_ERR_IO;
  if (f && fclose(f) != 0)
    rc = HR_ERR_IO;
  free(b.p);
  return rc;
}

/* A cursor over the model text: whole lines, numbers parsed strictly. */
typedef struct mcur {
  const char *p, *end;
  long line;
  char buf[1 << 17];
} mcur_t;

static int next_line(mcur_t *c)
{
  if (c->p >= c->end)
    return 0;
  const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
  size_t n = nl ? (size_t)(nl - c->p) : (size_t)(c->end - c->p);
  if (n >= sizeof c->buf)
    return 0;
  memcpy(c->buf, c->p, n);
  c->buf[n] = '\0';
  c->p += n + (nl ? 1 : 0);
  c->line++;
  return 1;
}

/* No number a trained model holds (watts, weights, probabilities, BIC) comes
 * near this; a larger one is a damaged or hand-made file, and would make
 * generated power overflow to infinity. */
#define MODEL_MAX_ABS 1e12
/* Per-GPU power [W] and the training step [s] a model file may state. */
#define MODEL_MAX_GPU_W 1e5
#define MODEL_MAX_DT_S 3600.0

/* Parses exactly cnt numbers from the current line. */
static int nums(mcur_t *c, double *v, int cnt)
{
  if (!next_line(c))
    return 0;
  char *s = c->buf;
  for (int i = 0; i < cnt; i++) {
    char *e;
    v[i] = strtod(s, &e);
    if (e == s || !(fabs(v[i]) <= MODEL_MAX_ABS)) /* also refuses inf and NaN */
      return 0;
    s = e;
  }
  while (*s == ' ')
    s++;
  return *s == '\0';
}

static int keyed_int(mcur_t *c, const char *key, int lo, int hi, int *v)
{
  if (!next_line(c))
    return 0;
  size_t kl = strlen(key);
  if (strncmp(c->buf, key, kl) != 0 || c->buf[kl] != ' ')
    return 0;
  char *e;
  long x = strtol(c->buf + kl + 1, &e, 10);
  if (*e != '\0' || x < lo || x > hi)
    return 0;
  *v = (int)x;
  return 1;
}

int hr_plan_model_parse(const char *buf, size_t len, hr_plan_model_t **out, hr_plan_error_t *err)
{
  if (!buf || !out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  mcur_t *c = malloc(sizeof *c);
  if (!c)
    return HR_ERR_NOMEM;
  c->p = buf;
  c->end = buf + len;
  c->line = 0;
  int version;
  if (!keyed_int(c, MAGIC, 0, 1 << 30, &version)) {
    hr__plan_err(err, 1, 0, "not a headroom plan model file");
    free(c);
    return HR_ERR_PARSE;
  }
  if (version != HR_PLAN_MODEL_VERSION) {
    hr__plan_err(err, 1, 0, "model file version %d; this build reads version %d (retrain or "
                            "use a matching headroom)",
                 version, HR_PLAN_MODEL_VERSION);
    free(c);
    return HR_ERR_UNSUPPORTED;
  }
  /* The checksum line is the last one and covers every byte before it. */
  size_t body = len;
  while (body > 0 && (buf[body - 1] == '\n' || buf[body - 1] == '\r'))
    body--;
  while (body > 0 && buf[body - 1] != '\n')
    body--;
  unsigned want;
  char tail[32] = {0};
  size_t tl = len - body < sizeof tail - 1 ? len - body : sizeof tail - 1;
  memcpy(tail, buf + body, tl);
  if (sscanf(tail, "crc32 %8x", &want) != 1 || hr__plan_crc32(buf, body) != want) {
    hr__plan_err(err, 0, 0, "model file is corrupted (checksum mismatch or missing)");
    free(c);
    return HR_ERR_PARSE;
  }
  c->end = buf + body;
  hr_plan_model_t *m = calloc(1, sizeof *m);
  int rc = HR_ERR_PARSE;
  double v[8];
  if (!m)
    goto oom;
  if (!next_line(c) || sscanf(c->buf, "tdp_w_per_gpu %lf", &m->tdp_w_per_gpu) != 1)
    goto bad;
  /* The checksum only proves the file is what was written; the values are
   * checked like any input (an infinite TDP would print inf samples). */
  if (!(m->tdp_w_per_gpu > 0 && m->tdp_w_per_gpu <= MODEL_MAX_GPU_W)) {
    hr__plan_err(err, c->line, 0, "tdp_w_per_gpu %g: outside (0, %g] W", m->tdp_w_per_gpu,
                 MODEL_MAX_GPU_W);
    goto bad_range;
  }
  if (!next_line(c) ||
      sscanf(c->buf, "idle_w_per_gpu %lf train_dt_s %lf", &m->idle_w_per_gpu, &m->train_dt_s) != 2)
    goto bad;
  if (!(m->idle_w_per_gpu >= 0 && m->idle_w_per_gpu <= MODEL_MAX_GPU_W) ||
      !(m->train_dt_s > 0 && m->train_dt_s <= MODEL_MAX_DT_S)) {
    hr__plan_err(err, c->line, 0,
                 "idle_w_per_gpu %g, train_dt_s %g: need 0 <= idle <= %g W and 0 < dt <= %g s",
                 m->idle_w_per_gpu, m->train_dt_s, MODEL_MAX_GPU_W, MODEL_MAX_DT_S);
    goto bad_range;
  }
  if (!keyed_int(c, "lut", 0, LUTMAX, &m->nlut))
    goto bad;
  for (int i = 0; i < m->nlut; i++) {
    if (!nums(c, v, 2) || !(v[0] >= 1.0) || (i > 0 && !(v[0] > m->lut_b[i - 1])))
      goto bad;
    m->lut_b[i] = v[0];
    m->lut_r[i] = v[1];
  }
  if (!keyed_int(c, "groups", 0, 4096, &m->ng))
    goto bad;
  m->gr = calloc((size_t)m->ng + 1, sizeof *m->gr);
  if (!m->gr)
    goto oom;
  for (int gi = 0; gi < m->ng; gi++) {
    group_t *g = &m->gr[gi];
    int k;
    if (!next_line(c) || strncmp(c->buf, "group ", 6) != 0 || strlen(c->buf + 6) >= sizeof g->label ||
        c->buf[6] == '\0')
      goto bad;
    snprintf(g->label, sizeof g->label, "%s", c->buf + 6);
    if (!keyed_int(c, "states", 1, HR__PLAN_KMAX, &k))
      goto bad;
    g->g.k = k;
    for (int j = 0; j < k; j++) {
      if (!nums(c, v, 4) || !(v[0] > 0) || !(v[2] > 0) || !(v[3] >= 0 && v[3] < 1))
        goto bad;
      g->g.w[j] = v[0];
      g->g.mu[j] = v[1];
      g->g.sd[j] = v[2];
      g->phi[j] = v[3];
    }
    if (!nums(c, v, 6) || !(v[2] >= v[1]) || !(v[5] > 0))
      goto bad;
    g->g.bic = v[0];
    g->p_lo = v[1];
    g->p_hi = v[2];
    g->mean_w = v[3];
    g->a_mu = v[4];
    g->a_sd = v[5];
    for (int j = 0; j < k; j++) {
      if (!nums(c, v, 3))
        goto bad;
      memcpy(g->clf[j], v, 3 * sizeof v[0]);
    }
    if (!keyed_int(c, "gru", 0, HR__PLAN_GRU_HMAX, &g->gru_h))
      goto bad;
    if (g->gru_h > 0 && !nums(c, g->gru_w, (int)hr__plan_gru_nparams(g->gru_h, k)))
      goto bad;
    if (!keyed_int(c, "batches", 1, NBMAX, &g->nb))
      goto bad;
    double row[1 + HR__PLAN_KMAX + HR__PLAN_KMAX * HR__PLAN_KMAX + ZLAGS + NQ];
    for (int i = 0; i < g->nb; i++) {
      if (!nums(c, row, 1 + k + k * k + ZLAGS + NQ) || !(row[0] >= 1.0) ||
          (i > 0 && !(row[0] > g->batch[i - 1])))
        goto bad;
      g->batch[i] = row[0];
      for (int j = 0; j < k + k * k; j++)
        if (!(row[1 + j] >= 0.0 && row[1 + j] <= 1.0 + 1e-9))
          goto bad;
      memcpy(g->occ[i], row + 1, (size_t)k * sizeof row[0]);
      memcpy(g->trans[i], row + 1 + k, (size_t)(k * k) * sizeof row[0]);
      const double *az = row + 1 + k + k * k, *qt = az + ZLAGS;
      for (int j = 0; j < ZLAGS; j++)
        if (!(fabs(az[j]) <= 1.0))
          goto bad;
      for (int j = 0; j < NQ; j++)
        if (j > 0 && !(qt[j] >= qt[j - 1]))
          goto bad; /* a quantile table must not decrease */
      memcpy(g->acfz[i], az, ZLAGS * sizeof az[0]);
      memcpy(g->qtab[i], qt, NQ * sizeof qt[0]);
    }
  }
  if (next_line(c))
    goto bad; /* trailing lines before the checksum */
  free(c);
  *out = m;
  return HR_OK;
bad:
  hr__plan_err(err, c->line, 0, "malformed model file (or a number beyond %g)", MODEL_MAX_ABS);
  free(c);
  hr_plan_model_destroy(m);
  return rc;
bad_range:
  free(c);
  hr_plan_model_destroy(m);
  return HR_ERR_RANGE;
oom:
  free(c);
  hr_plan_model_destroy(m);
  return HR_ERR_NOMEM;
}

int hr_plan_model_load(const char *path, hr_plan_model_t **out, hr_plan_error_t *err)
{
  if (!path || !out)
    return HR_ERR_INVALID_ARG;
  char *buf;
  size_t len;
  int rc = hr__plan_read_file(path, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "cannot read the model file");
    return rc;
  }
  rc = hr_plan_model_parse(buf, len, out, err);
  free(buf);
  return rc;
}
