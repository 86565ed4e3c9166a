/* plan module: the versioned model file (save, parse, load). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "plan/plan_model_int.h"

/* ------------------------------------------------------------ model file */

#define MAGIC "headroom-plan-model"
#define BIGRU_LINE 512 /* BiGRU parameters per line of the file */

/* Appends the numbers v[0..n), each with 17 significant digits (enough to
 * read back the same double) and '.' as the decimal separator whatever the
 * locale, separated by spaces, then a newline when nl. */
static void put_nums(hr__buf_t *b, const double *v, int n, int nl)
{
  for (int i = 0; i < n; i++) {
    if (i)
      hr__buf_put(b, " ", 1);
    hr__buf_num(b, v[i], 17);
  }
  if (nl)
    hr__buf_put(b, "\n", 1);
}

int hr_plan_model_save(const hr_plan_model_t *m, const char *path)
{
  if (!m || !path)
    return HR_ERR_INVALID_ARG;
  hr__buf_t b = {0};
  hr__buf_printf(&b, "%s %d\n", MAGIC, HR_PLAN_MODEL_VERSION);
  hr__buf_printf(&b, "tdp_w_per_gpu ");
  put_nums(&b, &m->tdp_w_per_gpu, 1, 1);
  hr__buf_printf(&b, "idle_w_per_gpu ");
  put_nums(&b, &m->idle_w_per_gpu, 1, 0);
  hr__buf_printf(&b, " train_dt_s ");
  put_nums(&b, &m->train_dt_s, 1, 1);
  hr__buf_printf(&b, "lut %d\n", m->nlut);
  for (int i = 0; i < m->nlut; i++)
    put_nums(&b, (const double[]){m->lut_b[i], m->lut_r[i]}, 2, 1);
  hr__buf_printf(&b, "groups %d\n", m->ng);
  for (int gi = 0; gi < m->ng; gi++) {
    const group_t *g = &m->gr[gi];
    int k = g->g.k;
    hr__buf_printf(&b, "group %s\nstates %d\n", g->label, k);
    for (int j = 0; j < k; j++)
      put_nums(&b, (const double[]){g->g.w[j], g->g.mu[j], g->g.sd[j], g->phi[j]}, 4, 1);
    put_nums(&b, (const double[]){g->g.bic, g->p_lo, g->p_hi, g->mean_w, g->a_mu, g->a_sd}, 6, 1);
    for (int j = 0; j < k; j++)
      put_nums(&b, g->clf[j], 3, 1);
    hr__buf_printf(&b, "gru %d\n", g->gru_h);
    if (g->gru_h > 0)
      put_nums(&b, g->gru_w, (int)hr__plan_gru_nparams(g->gru_h, k), 1);
    hr__buf_printf(&b, "bigru %d\n", g->bigru_h);
    /* The BiGRU's 2e4+ numbers go BIGRU_LINE to a line (lines stay short). */
    for (int i = 0, np = (int)hr__plan_bigru_nparams(g->bigru_h, k); g->bigru_h > 0 && i < np;
         i += BIGRU_LINE)
      put_nums(&b, g->bigru_w + i, np - i < BIGRU_LINE ? np - i : BIGRU_LINE, 1);
    hr__buf_printf(&b, "arange ");
    put_nums(&b, (const double[]){g->a_lo, g->a_hi}, 2, 1);
    hr__buf_printf(&b, "batches %d\n", g->nb);
    for (int i = 0; i < g->nb; i++) {
      put_nums(&b, &g->batch[i], 1, 0);
      hr__buf_put(&b, " ", k > 0 ? 1 : 0);
      put_nums(&b, g->occ[i], k, 0);
      hr__buf_put(&b, " ", k * k > 0 ? 1 : 0);
      put_nums(&b, g->trans[i], k * k, 0);
      hr__buf_put(&b, " ", 1);
      put_nums(&b, g->acfz[i], ZLAGS, 0);
      hr__buf_put(&b, " ", 1);
      put_nums(&b, g->qtab[i], NQ, 1);
    }
  }
  if (!b.nomem)
    hr__buf_printf(&b, "crc32 %08x\n", (unsigned)hr__plan_crc32(b.p, b.len));
  if (b.nomem) {
    hr__buf_free(&b);
    return HR_ERR_NOMEM;
  }
  FILE *f = fopen(path, "wb");
  int rc = HR_OK;
  if (!f || fwrite(b.p, 1, b.len, f) != b.len)
    rc = HR_ERR_IO;
  if (f && fclose(f) != 0)
    rc = HR_ERR_IO;
  hr__buf_free(&b);
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
#define MODEL_MAX_GPU_W HR__PLAN_MAX_GPU_W
#define MODEL_MAX_DT_S 3600.0

/* Parses exactly cnt numbers from s (the rest of a line). */
static int nums_in(const char *s, double *v, int cnt)
{
  for (int i = 0; i < cnt; i++) {
    char *e;
    v[i] = hr__num_parse(s, &e);
    if (e == s || !(fabs(v[i]) <= MODEL_MAX_ABS))
      return 0;
    s = e;
  }
  while (*s == ' ')
    s++;
  return *s == '\0';
}

/* "KEY n1 n2 ...": exactly cnt numbers after the key. */
static int keyed_nums(mcur_t *c, const char *key, double *v, int cnt)
{
  size_t kl = strlen(key);
  return next_line(c) && strncmp(c->buf, key, kl) == 0 && c->buf[kl] == ' ' &&
         nums_in(c->buf + kl + 1, v, cnt);
}

/* Parses exactly cnt numbers from the current line. */
static int nums(mcur_t *c, double *v, int cnt)
{
  if (!next_line(c))
    return 0;
  char *s = c->buf;
  for (int i = 0; i < cnt; i++) {
    char *e;
    v[i] = hr__num_parse(s, &e);
    if (e == s || !(fabs(v[i]) <= MODEL_MAX_ABS)) /* also refuses inf and NaN */
      return 0;
    s = e;
  }
  while (*s == ' ')
    s++;
  return *s == '\0';
}

/* Reads "<key> <number>" at *s (leading blanks skipped, as sscanf's "%lf"
 * would, but in the C locale) and moves *s past the number. */
static int key_num(const char **s, const char *key, double *v)
{
  const char *p = *s + strspn(*s, " \t");
  size_t n = strlen(key);
  if (strncmp(p, key, n) != 0 || (p[n] != ' ' && p[n] != '\t'))
    return 0;
  char *e;
  double x = hr__num_parse(p + n, &e);
  if (e == p + n)
    return 0;
  *v = x;
  *s = e;
  return 1;
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

static int model_parse_body(const char *buf, size_t len, hr_plan_model_t **out, hr_diag_t *err)
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
  /* Version 1 (before the BiGRU) still loads: its groups have no BiGRU. */
  if (version != HR_PLAN_MODEL_VERSION && version != 1) {
    hr__plan_err(err, 1, 0,
                 "model file version %d; this build reads versions 1 and %d (retrain or "
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
  const char *at;
  if (!next_line(c))
    goto bad;
  at = c->buf;
  if (!key_num(&at, "tdp_w_per_gpu", &m->tdp_w_per_gpu))
    goto bad;
  /* The checksum only proves the file is what was written; the values are
   * checked like any input (an infinite TDP would print inf samples). */
  if (!(m->tdp_w_per_gpu > 0 && m->tdp_w_per_gpu <= MODEL_MAX_GPU_W)) {
    hr__plan_err(err, c->line, 0, "tdp_w_per_gpu %g: outside (0, %g] W", m->tdp_w_per_gpu,
                 MODEL_MAX_GPU_W);
    goto bad_range;
  }
  if (!next_line(c))
    goto bad;
  at = c->buf;
  if (!key_num(&at, "idle_w_per_gpu", &m->idle_w_per_gpu) ||
      !key_num(&at, "train_dt_s", &m->train_dt_s))
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
    if (!next_line(c) || strncmp(c->buf, "group ", 6) != 0 ||
        strlen(c->buf + 6) >= sizeof g->label || c->buf[6] == '\0')
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
    if (version >= 2 && !keyed_int(c, "bigru", 0, HR__PLAN_BIGRU_HMAX, &g->bigru_h))
      goto bad;
    for (int i = 0, np = (int)hr__plan_bigru_nparams(g->bigru_h, k); g->bigru_h > 0 && i < np;
         i += BIGRU_LINE)
      if (!nums(c, g->bigru_w + i, np - i < BIGRU_LINE ? np - i : BIGRU_LINE))
        goto bad;
    if (version >= 2) {
      double ar[2];
      if (!keyed_nums(c, "arange", ar, 2) || !(ar[0] >= 0.0 && ar[1] >= ar[0]))
        goto bad;
      g->a_lo = ar[0];
      g->a_hi = ar[1];
    }
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

static int model_load_body(const char *path, hr_plan_model_t **out, hr_diag_t *err)
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

/* Clears *err on entry and records the returned code in it (error.h). */
int hr_plan_model_parse(const char *buf, size_t len, hr_plan_model_t **out, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = model_parse_body(buf, len, out, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}

/* Clears *err on entry and records the returned code in it (error.h). */
int hr_plan_model_load(const char *path, hr_plan_model_t **out, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = model_load_body(path, out, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}
