/* headroom plan: configurations no training run had, described by their
 * descriptors (docs/plan.md "Descriptors").
 *
 *   headroom plan generate --model-file M --params-b P [--active-params-b A] [--tp N]
 *                          [--gpu h100] [--precision-bits 16] [--calibrate FILE ...]
 *   headroom plan descriptors [--data DIR] [--seeds N] [--minutes 1,2,5] [--ablate]
 *
 * `descriptors` is the leave-one-model-out table of the descriptor path, with
 * and without calibration, against the pooled model. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"
#include "cmd_plan_desc.h"
#include "headroom/plan.h"
#include "headroom/plan_desc.h"
#include "headroom/plan_gpu.h"

#ifndef HR_PLAN_DEFAULT_DATA
#define HR_PLAN_DEFAULT_DATA "../shared/data"
#endif

/* " (h100, h200, ...)": the GPU names hr_plan_gpu_lookup knows, for an error
 * message (the table is plan_gpu.c's; names past buf's end are cut). */
static const char *gpu_names(char *buf, size_t n)
{
  size_t k = (size_t)snprintf(buf, n, " (");
  const hr_plan_gpu_t *g;
  for (size_t i = 0; (g = hr_plan_gpu_at(i)) != NULL && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", g->name);
  if (k < n)
    snprintf(buf + k, n - k, ")");
  return buf;
}

void plan_desc_args_init(plan_desc_args_t *a)
{
  memset(a, 0, sizeof *a);
  a->precision_bits = 16.0;
  a->gpu = "h100";
  a->tdp_w = a->idle_w = -1.0;
}

/* A descriptors file: model_label,params_b,active_params_b,tp,precision_bits,gpu
 * (header first).  Fills descs for the labels it names; 0, or 2 after
 * naming the file, line and field. */
typedef struct desc_row {
  char label[64];
  hr_plan_desc_t d;
} desc_row_t;

static int read_desc_file(const char *path, desc_row_t **rows, size_t *nrows)
{
  *rows = NULL;
  *nrows = 0;
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "headroom plan generate: --descriptors %s: %s\n", path, strerror(errno));
    return 1;
  }
  static const char *const names[6] = {"model_label", "params_b",       "active_params_b",
                                       "tp",          "precision_bits", "gpu"};
  char line[1024];
  long ln = 0;
  size_t cap = 0;
  int rc = 0;
  while (fgets(line, sizeof line, f)) {
    ln++;
    line[strcspn(line, "\r\n")] = '\0';
    char *fld[6] = {0};
    int nf = 0;
    for (char *s = line, *c; s && nf < 6; s = c ? c + 1 : NULL) {
      c = strchr(s, ',');
      if (c)
        *c = '\0';
      fld[nf++] = s;
    }
    if (ln == 1) {
      for (int k = 0; k < 6; k++)
        if (k >= nf || strcmp(fld[k], names[k]) != 0) {
          fprintf(stderr, "%s:1:%d: the header must be %s,%s,%s,%s,%s,%s\n", path, k + 1, names[0],
                  names[1], names[2], names[3], names[4], names[5]);
          rc = 2;
          goto done;
        }
      continue;
    }
    if (!line[0])
      continue;
    desc_row_t r;
    memset(&r, 0, sizeof r);
    int bad = nf < 6 ? nf : -1, tp = 0;
    if (bad < 0 && (!fld[0][0] || strlen(fld[0]) >= sizeof r.label))
      bad = 0;
    if (bad < 0 && (cli_double(fld[1], &r.d.params_b) != 0 || !(r.d.params_b > 0.0)))
      bad = 1;
    if (bad < 0 && (cli_double(fld[2], &r.d.active_params_b) != 0 || !(r.d.active_params_b > 0.0) ||
                    r.d.active_params_b > r.d.params_b))
      bad = 2;
    if (bad < 0 && (cli_int(fld[3], &tp) != 0 || tp < 1 || tp > 4096))
      bad = 3;
    if (bad < 0 && (cli_double(fld[4], &r.d.precision_bits) != 0 ||
                    !(r.d.precision_bits >= 1.0 && r.d.precision_bits <= 64.0)))
      bad = 4;
    if (bad < 0 && hr_plan_gpu_lookup(fld[5], &r.d.tdp_w, &r.d.idle_w) != HR_OK)
      bad = 5;
    if (bad >= 0) {
      char gn[160];
      fprintf(stderr, "%s:%ld:%d: %s: missing or bad value%s\n", path, ln, bad + 1, names[bad],
              bad == 5   ? gpu_names(gn, sizeof gn)
              : bad == 2 ? " (0 < active <= params_b)"
                         : "");
      rc = 2;
      goto done;
    }
    r.d.tp = tp;
    snprintf(r.label, sizeof r.label, "%s", fld[0]);
    if (*nrows == cap) {
      cap = cap ? 2 * cap : 8;
      desc_row_t *q = realloc(*rows, cap * sizeof *q);
      if (!q) {
        rc = 1;
        goto done;
      }
      *rows = q;
    }
    (*rows)[(*nrows)++] = r;
  }
done:
  fclose(f);
  if (rc) {
    free(*rows);
    *rows = NULL;
    *nrows = 0;
  }
  return rc;
}

static const char *term_name(unsigned t)
{
  switch (t) {
  case HR_PLAN_DF_PARAMS:
    return "params per GPU";
  case HR_PLAN_DF_TP:
    return "tp";
  case HR_PLAN_DF_PRECISION:
    return "precision";
  case HR_PLAN_DF_MOE:
    return "mixture-of-experts ratio";
  default:
    return "?";
  }
}

int plan_desc_model(const hr_plan_model_t *m, const char *mf, const plan_desc_args_t *a, int gpus,
                    double batch, const char *label, hr_plan_model_t **out)
{
  *out = NULL;
  hr_plan_desc_t t = {.params_b = a->params_b,
                      .active_params_b = a->active_b > 0.0 ? a->active_b : a->params_b,
                      .tp = a->tp > 0 ? a->tp : gpus,
                      .precision_bits = a->precision_bits};
  if (hr_plan_gpu_lookup(a->gpu, &t.tdp_w, &t.idle_w) != HR_OK) {
    char gn[160];
    fprintf(stderr, "headroom plan generate: --gpu %s: not known%s\n", a->gpu,
            gpu_names(gn, sizeof gn));
    return 2;
  }
  int gpu_known = a->tdp_w < 0.0 && a->idle_w < 0.0;
  if (a->tdp_w >= 0.0)
    t.tdp_w = a->tdp_w;
  if (a->idle_w >= 0.0)
    t.idle_w = a->idle_w;
  if (!(t.active_params_b <= t.params_b) || !(t.idle_w < t.tdp_w)) {
    fprintf(stderr, "headroom plan generate: %s\n",
            !(t.active_params_b <= t.params_b) ? "--active-params-b must not exceed --params-b"
                                               : "--idle-w must be below --tdp-w");
    return 2;
  }
  desc_row_t *rows = NULL;
  size_t nrows = 0;
  if (a->descriptors && (read_desc_file(a->descriptors, &rows, &nrows)) != 0)
    return 2;
  size_t cap = 0;
  while (hr_plan_model_label(m, cap))
    cap++;
  const char **labels = calloc(cap + 1, sizeof *labels);
  hr_plan_desc_t *descs = calloc(cap + 1, sizeof *descs);
  int rc = 0;
  size_t n = 0;
  if (!labels || !descs) {
    rc = 1;
    goto done;
  }
  for (size_t i = 0; i < cap; i++) {
    const char *l = hr_plan_model_label(m, i);
    int found = 0;
    for (size_t r = 0; r < nrows && !found; r++)
      if (strcmp(rows[r].label, l) == 0) {
        descs[n] = rows[r].d;
        found = 1;
      }
    if (!found)
      found = hr_plan_desc_known(l, 0, &descs[n]) == HR_OK;
    if (found)
      labels[n++] = l;
    else
      fprintf(stderr,
              "headroom plan generate: note: label %s of %s has no descriptor (built in or "
              "--descriptors): left out of the regression\n",
              l, mf);
  }
  if (n == 0) {
    fprintf(stderr,
            "headroom plan generate: --params-b: %s holds no label with a descriptor (give "
            "--descriptors FILE)\n",
            mf);
    rc = 2;
    goto done;
  }
  hr_plan_desc_report_t rep;
  hr_diag_t e = {0};
  int lrc = hr_plan_desc_predict(m, labels, descs, n, NULL, &t, label, out, &rep, &e);
  if (lrc != HR_OK) {
    fprintf(stderr, "headroom plan generate: descriptor model: %s%s%s\n", hr_strerror(lrc),
            e.message[0] ? ": " : "", e.message);
    rc = 1;
    goto done;
  }
  int gpu_seen = 0, prec_seen = 0, moe_seen = t.active_params_b == t.params_b;
  for (size_t i = 0; i < n; i++) {
    gpu_seen = gpu_seen || (descs[i].tdp_w == t.tdp_w && descs[i].idle_w == t.idle_w);
    prec_seen = prec_seen || descs[i].precision_bits == t.precision_bits;
    moe_seen = moe_seen || descs[i].active_params_b < descs[i].params_b;
  }
  fprintf(stderr,
          "headroom plan generate: descriptor model from %d configurations (%d points, in-sample "
          "R2 %.3f); target %.3g B parameters (%.3g B active) on %d x %s, %g-bit: %.2f "
          "standardised units from the nearest, %.2f of a range outside it\n",
          rep.configs, rep.points, rep.r2_in_sample, t.params_b, t.active_params_b, t.tp, a->gpu,
          t.precision_bits, rep.distance, rep.outside);
  if (rep.outside > 0.0 || rep.not_varied || !gpu_seen || !prec_seen || !moe_seen ||
      rep.distance > 1.0) {
    fprintf(stderr, "headroom plan generate: warning: outside the training range:");
    if (rep.outside > 0.0)
      fprintf(stderr, " extrapolated %.2f ranges beyond a term;", rep.outside);
    for (unsigned b = 1; b <= HR_PLAN_DF_MOE; b <<= 1)
      if (rep.not_varied & b)
        fprintf(stderr, " %s not varied in training (effect unknown, taken as none);",
                term_name(b));
    if (!gpu_seen)
      fprintf(stderr,
              " GPU %s (TDP %g W, idle %g W%s) unlike every training GPU: levels scaled by "
              "TDP - idle, not validated;",
              a->gpu, t.tdp_w, t.idle_w, gpu_known ? "" : ", given");
    if (!prec_seen)
      fprintf(stderr,
              " %g-bit weights unlike every training configuration (precision is not a "
              "regression term by default);",
              t.precision_bits);
    if (!moe_seen && !(rep.not_varied & HR_PLAN_DF_MOE))
      fprintf(stderr, " mixture-of-experts while every training model is dense;");
    if (rep.distance > 1.0 && rep.outside == 0.0)
      fprintf(stderr, " far from every training configuration;");
    fprintf(stderr, " treat the trace as a rough estimate\n");
  }
  if (a->cal_levels) {
    double iw, fw, fb = 0.0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", a->cal_levels);
    char *c = strchr(buf, ','), *c2 = c ? strchr(c + 1, ',') : NULL;
    if (c)
      *c = '\0';
    if (c2)
      *c2 = '\0';
    if (!c || cli_double(buf, &iw) != 0 || cli_double(c + 1, &fw) != 0 ||
        (c2 && (cli_double(c2 + 1, &fb) != 0 || !(fb >= 1.0))) ||
        hr_plan_desc_calibrate_levels(*out, label, iw, fw, fb) != HR_OK) {
      fprintf(stderr,
              "headroom plan generate: --calibrate-levels IDLE,FULL[,BATCH]: watts per GPU with "
              "0 <= IDLE < FULL (the median at BATCH >= 1, default the largest trained), got "
              "'%s'\n",
              a->cal_levels);
      rc = 2;
      goto done;
    }
  }
  if (a->calibrate) {
    /* FILE[,FILE...] with --calibrate-batch B[,B...] (one each, or none:
     * all at --batch). */
    enum { MAXSEG = 16 };
    char fb[4096], bb[1024];
    char *files[MAXSEG], *bs[MAXSEG];
    int nf = 0, nbt = 0;
    snprintf(fb, sizeof fb, "%s", a->calibrate);
    snprintf(bb, sizeof bb, "%s", a->cal_batch ? a->cal_batch : "");
    for (char *tok = strtok(fb, ","); tok && nf <= MAXSEG; tok = strtok(NULL, ","))
      if (nf < MAXSEG)
        files[nf++] = tok;
      else
        nf++;
    char *save = NULL;
    for (char *tok = strtok_r(bb, ",", &save); tok && nbt <= MAXSEG;
         tok = strtok_r(NULL, ",", &save))
      if (nbt < MAXSEG)
        bs[nbt++] = tok;
      else
        nbt++;
    if (nf == 0 || nf > MAXSEG || (a->cal_batch && nbt != nf)) {
      fprintf(stderr,
              "headroom plan generate: --calibrate FILE[,FILE...] (at most %d) with as many "
              "--calibrate-batch values\n",
              MAXSEG);
      rc = 2;
      goto done;
    }
    double *ps[MAXSEG] = {0}, cb[MAXSEG], dt = hr_plan_model_dt(m), used_s = 0.0;
    size_t nps[MAXSEG];
    for (int k = 0; k < nf && rc == 0; k++) {
      cb[k] = batch;
      if (a->cal_batch && (cli_double(bs[k], &cb[k]) != 0 || !(cb[k] >= 0.0))) {
        fprintf(stderr, "headroom plan generate: --calibrate-batch: '%s' is not a batch >= 0\n",
                bs[k]);
        rc = 2;
        break;
      }
      lrc = hr_plan_power_load(files[k], dt, &ps[k], &nps[k], &e);
      if (lrc != HR_OK) {
        char msg[1024];
        hr_diag_format(&e, msg, sizeof msg);
        fprintf(stderr, "headroom plan generate: --calibrate: %s (%s)\n", msg, hr_err_name(lrc));
        rc = 1;
        break;
      }
      if (a->cal_minutes > 0.0 && (double)nps[k] * dt > a->cal_minutes * 60.0 / nf)
        nps[k] = (size_t)(a->cal_minutes * 60.0 / nf / dt);
      used_s += (double)nps[k] * dt;
    }
    if (rc == 0) {
      lrc = hr_plan_desc_calibrate(*out, label, (const double *const *)ps, nps, cb, (size_t)nf, dt,
                                   t.tp);
      if (lrc != HR_OK) {
        fprintf(stderr,
                "headroom plan generate: --calibrate %s: %s (each file needs at least 100 "
                "samples of %g s: %g s)\n",
                a->calibrate, hr_strerror(lrc), dt, 100 * dt);
        rc = 2;
      } else
        fprintf(stderr,
                "headroom plan generate: calibrated on %.1f min of measured power (%d "
                "file%s)\n",
                used_s / 60.0, nf, nf > 1 ? "s" : "");
    }
    for (int k = 0; k < nf && k < MAXSEG; k++)
      free(ps[k]);
  }
done:
  if (rc) {
    hr_plan_model_destroy(*out);
    *out = NULL;
  }
  free(rows);
  free(labels);
  free(descs);
  return rc;
}

/* ------------------------------------------------- plan descriptors */

typedef struct variant {
  char name[32];
  int pooled;     /* 1: the pooled group of the fold's model */
  unsigned terms; /* descriptor terms */
  double minutes; /* calibration minutes, 0: none */
} variant_t;

/* The metrics kept per (variant, fold or ALL, seed). */
enum { M_DE, M_DE_MED, M_ACF, M_KS, M_N };

static int parse_minutes(const char *s, double *mins, int cap)
{
  int n = 0;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    double v;
    if (n == cap || cli_double(tok, &v) != 0 || !(v > 0.0) || v > 1e4)
      return -1;
    mins[n++] = v;
  }
  return n;
}

static int cmp_dbl(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* "params,interact,bpg" -> HR_PLAN_DF_* (the batch terms always). */
static int parse_terms(const char *s, unsigned *out)
{
  static const struct {
    const char *name;
    unsigned bit;
  } tn[] = {{"params", HR_PLAN_DF_PARAMS},     {"tp", HR_PLAN_DF_TP},
            {"interact", HR_PLAN_DF_INTERACT}, {"precision", HR_PLAN_DF_PRECISION},
            {"moe", HR_PLAN_DF_MOE},           {"bpg", HR_PLAN_DF_BPG},
            {"batch", HR_PLAN_DF_BATCH}};
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  *out = HR_PLAN_DF_BATCH;
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    size_t k = 0;
    while (k < sizeof tn / sizeof tn[0] && strcmp(tok, tn[k].name) != 0)
      k++;
    if (k == sizeof tn / sizeof tn[0])
      return -1;
    *out |= tn[k].bit;
  }
  return 0;
}

int cmd_plan_descriptors(int argc, char **argv)
{
  const char *data = NULL, *minutes = "1,2,5", *csvp = NULL;
  uint64_t seed = 1;
  int seeds = 3, ablate = 0;
  double ridge = 1.0, kernel = 1.0;
  const char *terms_s = NULL;
  const cli_opt_t t[] = {
      {.name = "--terms",
       .kind = CLI_STR,
       .dst = &terms_s,
       .arg = "LIST",
       .help = "descriptor terms of the desc rows: params,tp,interact,precision,moe,bpg\n"
               "(default params,bpg,moe)"},
      {.name = "--data",
       .kind = CLI_STR,
       .dst = &data,
       .arg = "DIR",
       .help = "shared data folder (default $HR_SHARED_DATA, else\n" HR_PLAN_DEFAULT_DATA ")"},
      {.name = "--seed",
       .kind = CLI_U64,
       .dst = &seed,
       .arg = "N",
       .help = "first generation seed (default 1)"},
      {.name = "--seeds",
       .kind = CLI_INT,
       .dst = &seeds,
       .arg = "N",
       .help = "seeds SEED..SEED+N-1: mean and standard deviation (default 3)",
       CLI_RANGE(1, 1000)},
      {.name = "--minutes",
       .kind = CLI_STR,
       .dst = &minutes,
       .arg = "LIST",
       .help = "calibration minutes to try (default 1,2,5)"},
      {.name = "--ablate",
       .kind = CLI_FLAG,
       .dst = &ablate,
       .help = "also drop one descriptor term at a time (and add tp)"},
      {.name = "--ridge",
       .kind = CLI_DBL,
       .dst = &ridge,
       .arg = "R",
       .help = "ridge penalty of the regression (default 1)",
       CLI_RANGE(0, 1e6)},
      {.name = "--kernel",
       .kind = CLI_DBL,
       .dst = &kernel,
       .arg = "K",
       .help = "autocorrelation kernel width (default 1)",
       CLI_RANGE_GT(0, 1e6)},
      {.name = "--csv",
       .kind = CLI_STR,
       .dst = &csvp,
       .arg = "FILE",
       .help = "also write the rows as CSV to FILE"},
  };
  const cli_spec_t spec = {
      .prog = "headroom plan descriptors",
      .usage = "[options]",
      .about = "Leave-one-model-out on the measured H100 traces: each model is predicted from\n"
               "the others by its descriptors (parameters, tensor parallelism, precision, GPU),\n"
               "then calibrated on minutes of its lowest- and highest-batch runs; scored on\n"
               "its other runs against the pooled copula model (docs/plan.md \"Descriptors\").",
      .opts = t,
      .n_opts = (int)(sizeof t / sizeof t[0]),
      .epilog = "Other plan subcommands: headroom plan --help; docs/plan.md."};
  int rc = cli_parse(&spec, argc, argv, NULL, NULL);
  if (rc != CLI_GO_ON)
    return rc;
  double mins[16];
  int nmin = parse_minutes(minutes, mins, 16);
  if (nmin < 0) {
    fprintf(stderr,
            "headroom plan descriptors: --minutes: a list of up to 16 numbers in (0, 10^4], got "
            "'%s'\n",
            minutes);
    return 2;
  }
  /* Checked before the traces are loaded: an exit here owns nothing. */
  unsigned dt = HR_PLAN_DF_DEFAULT;
  if (terms_s && parse_terms(terms_s, &dt) != 0) {
    fprintf(stderr,
            "headroom plan descriptors: --terms: a list of params, tp, interact, precision, moe, "
            "bpg, got '%s'\n",
            terms_s);
    return 2;
  }
  const char *d = data ? data : getenv("HR_SHARED_DATA");
  if (!d || !*d)
    d = HR_PLAN_DEFAULT_DATA;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/power/h100-inference", d);
  hr_plan_traceset_t *set = NULL;
  hr_diag_t e = {0};
  if ((rc = hr_plan_traceset_load(dir, &set, &e)) != HR_OK) {
    fprintf(stderr, "headroom plan descriptors: %s: %s%s%s\n", dir, hr_strerror(rc),
            e.message[0] ? ": " : "", e.message);
    return 1;
  }
  /* The variants: pooled, descriptors alone, with calibration, ablations. */
  variant_t v[40];
  int nv = 0;
  v[nv++] = (variant_t){"pooled", 1, 0, 0};
  v[nv++] = (variant_t){"desc", 0, dt, 0};
  /* Levels only: the idle power of the GPU table and the median of the
   * held-out model's highest-batch run as its full-load level. */
  v[nv++] = (variant_t){"desc+levels", 0, dt, -1.0};
  for (int i = 0; i < nmin; i++) {
    v[nv] = (variant_t){"", 0, dt, mins[i]};
    snprintf(v[nv].name, sizeof v[nv].name, "desc+cal%gm", mins[i]);
    nv++;
  }
  if (ablate) {
    /* Each term of the desc rows dropped, then each other one added. */
    static const struct {
      unsigned bit;
      const char *name;
    } tn[] = {{HR_PLAN_DF_PARAMS, "params"},
              {HR_PLAN_DF_TP, "tp"},
              {HR_PLAN_DF_INTERACT, "interact"},
              {HR_PLAN_DF_PRECISION, "precision"},
              {HR_PLAN_DF_BPG, "bpg"}};
    v[nv++] = (variant_t){"batch-only", 0, HR_PLAN_DF_BATCH | (dt & HR_PLAN_DF_BPG), 0};
    for (size_t k = 0; k < sizeof tn / sizeof tn[0]; k++) {
      v[nv] = (variant_t){"", 0, dt ^ tn[k].bit, 0};
      snprintf(v[nv].name, sizeof v[nv].name, "desc%c%s", dt & tn[k].bit ? '-' : '+', tn[k].name);
      nv++;
    }
  }
  /* The folds: one per label with a built-in descriptor. */
  size_t nl = 0;
  const char *lab[64];
  for (size_t i = 0; i < set->n; i++) {
    int seen = 0;
    for (size_t k = 0; k < nl && !seen; k++)
      seen = strcmp(lab[k], set->tr[i].model) == 0;
    hr_plan_desc_t dd;
    if (!seen && nl < 64 && hr_plan_desc_known(set->tr[i].model, 0, &dd) == HR_OK)
      lab[nl++] = set->tr[i].model;
  }
  if (nl < 2) {
    fprintf(stderr, "headroom plan descriptors: %s holds fewer than 2 known models\n", dir);
    hr_plan_traceset_destroy(set);
    return 1;
  }
  /* gen[(v * seeds + s) * set->n + j]: the generated run j (NULL: not
   * scored); cal[l] = the calibration run of fold l. */
  size_t ngen = (size_t)nv * (size_t)seeds * set->n;
  double **gen = calloc(ngen, sizeof *gen);
  long *cal = calloc(nl, sizeof *cal), *cal2 = calloc(nl, sizeof *cal2);
  int *frc = calloc(nl, sizeof *frc);
  double *used = calloc(nl * (size_t)nv, sizeof *used); /* calibration seconds */
  if (!gen || !cal || !cal2 || !frc || !used) {
    free(cal2);
    free(used);
    free(gen);
    free(cal);
    free(frc);
    hr_plan_traceset_destroy(set);
    return 1;
  }
  const int tty = isatty(2);
  int done = 0;
#pragma omp parallel for schedule(dynamic, 1)
  for (long l = 0; l < (long)nl; l++) {
    unsigned char *use = malloc(set->n);
    const char *tl[64];
    hr_plan_desc_t td[64], target;
    size_t ntl = 0;
    long c = -1, c2 = -1; /* calibration runs: the lowest and the highest batch */
    hr_plan_model_t *m = NULL;
    hr_plan_train_cfg_t cfg;
    hr_plan_train_cfg_init(&cfg);
    /* Only the copula tables matter here: no networks, one GMM state. */
    cfg.gru_hidden = cfg.bigru_hidden = 0;
    cfg.k_min = cfg.k_max = 1;
    cfg.em_iters = 1;
    cfg.pooled = 1;
    cfg.lut_csv = NULL;
    cfg.seed = seed;
    int lrc = use ? HR_OK : HR_ERR_NOMEM;
    for (size_t j = 0; use && j < set->n; j++) {
      use[j] = strcmp(set->tr[j].model, lab[l]) != 0;
      if (!use[j] && (c < 0 || set->tr[j].max_num_seqs < set->tr[c].max_num_seqs))
        c = (long)j;
      if (!use[j] && (c2 < 0 || set->tr[j].max_num_seqs > set->tr[c2].max_num_seqs))
        c2 = (long)j;
    }
    cal[l] = c;
    cal2[l] = c2;
    if (lrc == HR_OK)
      lrc = hr_plan_model_train(set, use, &cfg, &m, NULL);
    for (size_t k = 0; k < nl && lrc == HR_OK; k++)
      if ((long)k != l && hr_plan_desc_known(lab[k], 0, &td[ntl]) == HR_OK)
        tl[ntl++] = lab[k];
    if (lrc == HR_OK)
      lrc = hr_plan_desc_known(lab[l], 0, &target);
    for (int vi = 0; vi < nv && lrc == HR_OK; vi++) {
      hr_plan_model_t *pm = NULL;
      const hr_plan_model_t *gm = m;
      const char *gl = NULL;
      if (!v[vi].pooled) {
        hr_plan_desc_cfg_t dc;
        hr_plan_desc_cfg_init(&dc);
        dc.terms = v[vi].terms;
        dc.ridge = ridge;
        dc.kernel = kernel;
        lrc = hr_plan_desc_predict(m, tl, td, ntl, &dc, &target, "target", &pm, NULL, NULL);
        if (lrc == HR_OK && v[vi].minutes < 0.0) {
          const hr_plan_trace_t *ct = &set->tr[c2];
          double *x = malloc(ct->n * sizeof *x);
          if (!x) {
            lrc = HR_ERR_NOMEM;
          } else {
            for (size_t q = 0; q < ct->n; q++)
              x[q] = ct->p_w[q] / ct->num_gpus;
            qsort(x, ct->n, sizeof *x, cmp_dbl);
            lrc = hr_plan_desc_calibrate_levels(pm, "target", target.idle_w,
                                                hr_plan_quantile_sorted(x, ct->n, 0.5),
                                                ct->max_num_seqs);
            free(x);
          }
        }
        if (lrc == HR_OK && v[vi].minutes > 0.0) {
          /* Half the minutes at each end of the batch range (all of a run
           * shorter than that). */
          const hr_plan_trace_t *ct[2] = {&set->tr[c], &set->tr[c2]};
          const double *pp[2];
          size_t nc[2];
          double cb[2];
          for (int k = 0; k < 2; k++) {
            nc[k] = (size_t)(v[vi].minutes * 30.0 / ct[k]->dt_s);
            if (nc[k] > ct[k]->n)
              nc[k] = ct[k]->n;
            pp[k] = ct[k]->p_w;
            cb[k] = ct[k]->max_num_seqs;
            used[l * (size_t)nv + (size_t)vi] += (double)nc[k] * ct[k]->dt_s;
          }
          lrc = hr_plan_desc_calibrate(pm, "target", pp, nc, cb, 2, ct[0]->dt_s, ct[0]->num_gpus);
        }
        gm = pm;
        gl = "target";
      }
      for (int s = 0; s < seeds && lrc == HR_OK; s++)
        for (size_t j = 0; j < set->n && lrc == HR_OK; j++) {
          const hr_plan_trace_t *tr = &set->tr[j];
          if (use[j] || (long)j == c || (long)j == c2)
            continue;
          double *a = malloc(tr->n * sizeof *a), *p = malloc(tr->n * sizeof *p);
          if (!a || !p) {
            free(a);
            free(p);
            lrc = HR_ERR_NOMEM;
            break;
          }
          for (size_t q = 0; q < tr->n; q++)
            a[q] = tr->max_num_seqs;
          lrc = hr_plan_model_generate_dt(gm, HR_PLAN_COPULA, gl, tr->num_gpus, a, tr->n, tr->dt_s,
                                          seed + (uint64_t)s * 1000u + j, p);
          free(a);
          gen[((size_t)vi * (size_t)seeds + (size_t)s) * set->n + j] = p;
        }
      hr_plan_model_destroy(pm);
    }
    hr_plan_model_destroy(m);
    free(use);
    frc[l] = lrc;
#pragma omp critical(hr_desc_progress)
    {
      done++;
      if (tty)
        fprintf(stderr, "\rdescriptors: %d/%zu folds", done, nl);
    }
  }
  if (tty)
    fprintf(stderr, "\n");
  rc = HR_OK;
  for (size_t l = 0; l < nl && rc == HR_OK; l++)
    if ((rc = frc[l]) != HR_OK)
      fprintf(stderr, "headroom plan descriptors: fold %s: %s\n", lab[l], hr_strerror(rc));
  FILE *csv = NULL;
  if (rc == HR_OK && csvp && !(csv = fopen(csvp, "w"))) {
    fprintf(stderr, "headroom plan descriptors: --csv %s: %s\n", csvp, strerror(errno));
    rc = HR_ERR_IO;
  }
  if (rc == HR_OK) {
    printf(
        "# leave-one-model-out, copula tables: pooled vs descriptors (+ calibration on the "
        "minutes of the held-out model's lowest- and highest-batch runs, not scored); mean +- sd "
        "over seeds %llu..%llu; goals dE < 6.35 %%, ACF R2 > 0.96, KS < 0.22\n",
        (unsigned long long)seed, (unsigned long long)(seed + (uint64_t)seeds - 1));
    printf("%-16s %-16s %16s %9s %16s %16s %s\n", "held_out", "variant", "dE_%", "dE_med_%",
           "acf_r2", "ks", "goals");
    if (csv)
      fprintf(csv, "held_out,variant,energy_err_pct_mean,energy_err_pct_sd,"
                   "energy_err_median_pct_mean,acf_r2_mean,acf_r2_sd,ks_mean,ks_sd,runs\n");
  }
  /* Rows: each fold, then ALL (every scored run of every fold). */
  const double **gt = calloc(set->n, sizeof *gt);
  const double **gg = calloc(set->n, sizeof *gg);
  size_t *len = calloc(set->n, sizeof *len);
  for (size_t l = 0; l <= nl && rc == HR_OK && gt && gg && len; l++)
    for (int vi = 0; vi < nv && rc == HR_OK; vi++) {
      double x[M_N][1000];
      size_t m = 0;
      for (int s = 0; s < seeds && rc == HR_OK; s++) {
        m = 0;
        for (size_t j = 0; j < set->n; j++) {
          double *p = gen[((size_t)vi * (size_t)seeds + (size_t)s) * set->n + j];
          if (!p || (l < nl && strcmp(set->tr[j].model, lab[l]) != 0))
            continue;
          gt[m] = set->tr[j].p_w;
          gg[m] = p;
          len[m++] = set->tr[j].n;
        }
        hr_plan_fidelity_t f;
        if ((rc = hr_plan_fidelity_compute(gt, gg, len, m, set->tr[0].dt_s, 1.0, &f)) != HR_OK)
          break;
        x[M_DE][s] = f.energy_err_pct;
        x[M_DE_MED][s] = f.energy_err_median_pct;
        x[M_ACF][s] = f.acf_r2;
        x[M_KS][s] = f.ks;
      }
      if (rc != HR_OK)
        break;
      double mu[M_N], sd[M_N];
      for (int k = 0; k < M_N; k++) {
        double a = 0.0, b = 0.0;
        for (int s = 0; s < seeds; s++)
          a += x[k][s] / seeds;
        for (int s = 0; s < seeds; s++)
          b += (x[k][s] - a) * (x[k][s] - a);
        mu[k] = a;
        sd[k] = seeds > 1 ? sqrt(b / (seeds - 1)) : 0.0;
      }
      const char *held = l < nl ? lab[l] : "ALL";
      char c1[40], c2[40], c3[40];
      snprintf(c1, sizeof c1, "%.2f +- %.2f", mu[M_DE], sd[M_DE]);
      snprintf(c2, sizeof c2, "%.3f +- %.3f", mu[M_ACF], sd[M_ACF]);
      snprintf(c3, sizeof c3, "%.3f +- %.3f", mu[M_KS], sd[M_KS]);
      printf("%-16s %-16s %16s %9.2f %16s %16s %s%s%s\n", held, v[vi].name, c1, mu[M_DE_MED], c2,
             c3, mu[M_DE] < 6.35 ? "E" : "-", mu[M_ACF] > 0.96 ? "A" : "-",
             mu[M_KS] < 0.22 ? "K" : "-");
      if (csv)
        fprintf(csv, "%s,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%zu\n", held, v[vi].name, mu[M_DE],
                sd[M_DE], mu[M_DE_MED], mu[M_ACF], sd[M_ACF], mu[M_KS], sd[M_KS], m);
    }
  if (rc == HR_OK) {
    printf("# calibration runs (not scored), half the minutes from each, seconds used per "
           "variant:");
    for (size_t l = 0; l < nl; l++) {
      printf(" %s batch %d (%.0f s) and %d (%.0f s):", lab[l], set->tr[cal[l]].max_num_seqs,
             set->tr[cal[l]].n * set->tr[cal[l]].dt_s, set->tr[cal2[l]].max_num_seqs,
             set->tr[cal2[l]].n * set->tr[cal2[l]].dt_s);
      for (int vi = 0; vi < nv; vi++)
        if (v[vi].minutes > 0.0)
          printf(" %.0f", used[l * (size_t)nv + (size_t)vi]);
      printf("%s", l + 1 < nl ? ";" : "\n");
    }
  }
  free(gt);
  free(gg);
  free(len);
  if (csv && cli_close_out(csv, "headroom plan descriptors", csvp) != 0 && rc == HR_OK)
    rc = HR_ERR_IO;
  for (size_t i = 0; i < ngen; i++)
    free(gen[i]);
  free(gen);
  free(cal);
  free(cal2);
  free(used);
  free(frc);
  hr_plan_traceset_destroy(set);
  return rc == HR_OK ? 0 : 1;
}
