/* plan module: measured power traces (h100-inference layout). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "plan/plan_int.h"

void hr_plan_traceset_destroy(hr_plan_traceset_t *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++) {
    free(s->tr[i].p_w);
    free(s->tr[i].active);
  }
  free(s->tr);
  free(s);
}

/* Prefixes err->message with the file name, so a failure deep in the set names
 * the file it came from. */
static void name_file(hr_diag_t *err, const char *file)
{
  if (!err)
    return;
  size_t cap = sizeof err->message, fl = strlen(file), tl = strlen(err->message);
  if (fl + 2 >= cap)
    fl = cap - 3;
  if (fl + 2 + tl >= cap)
    tl = cap - 1 - fl - 2;
  memmove(err->message + fl + 2, err->message, tl);
  memcpy(err->message, file, fl);
  err->message[fl] = ':';
  err->message[fl + 1] = ' ';
  err->message[fl + 2 + tl] = '\0';
}

static int load_power(const char *path, hr_plan_trace_t *t, hr_diag_t *err)
{
  char *buf;
  size_t len;
  int rc = hr__plan_read_file(path, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "cannot read the file");
    return rc;
  }
  hr__plan_csv_t c;
  /* No name in the cursor's messages: the caller prefixes the file's. */
  hr__plan_csv_init(&c, buf, len, NULL, err);
  size_t cap = 0;
  rc = hr__plan_csv_next(&c);
  if (rc < 0)
    goto done; /* out of memory, or a bad line: the cursor said which */
  int col = rc == 1 ? hr__plan_csv_find(&c, "power_total_W") : -1;
  if (col < 0) {
    hr__plan_err(err, 1, 0, "missing column 'power_total_W' in the header");
    rc = HR_ERR_PARSE;
    goto done;
  }
  while ((rc = hr__plan_csv_next(&c)) == 1) {
    double p;
    if (c.nf <= col || hr__plan_parse_double(c.f[col], &p) != HR_OK || p < 0.0) {
      hr__plan_err(err, c.line, col + 1, "power_total_W: not a non-negative number");
      rc = HR_ERR_PARSE;
      goto done;
    }
    if (t->n == cap) {
      size_t nc = cap ? cap * 2 : 4096;
      double *q = realloc(t->p_w, nc * sizeof *q);
      if (!q) {
        hr__plan_err(err, 0, 0, "out of memory");
        rc = HR_ERR_NOMEM;
        goto done;
      }
      t->p_w = q;
      cap = nc;
    }
    t->p_w[t->n++] = p;
  }
  if (rc == 0 && t->n < 2) {
    hr__plan_err(err, c.line, 0, "fewer than 2 samples");
    rc = HR_ERR_PARSE;
  }
  if (rc < 0)
    goto done;
  rc = HR_OK;
done:
  hr__plan_csv_free(&c);
  free(buf);
  return rc;
}

static int traceset_load_body(const char *dir, hr_plan_traceset_t **out, hr_diag_t *err)
{
  if (!dir || !out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/traces_summary.csv", dir);
  char *buf;
  size_t len;
  int rc = hr__plan_read_file(path, &buf, &len);
  if (rc != HR_OK) {
    hr__plan_err(err, 0, 0, "%s: cannot read the file", path);
    return rc;
  }
  hr_plan_traceset_t *s = calloc(1, sizeof *s);
  if (!s) {
    free(buf);
    hr__plan_err(err, 0, 0, "%s: out of memory", path);
    return HR_ERR_NOMEM;
  }
  hr__plan_csv_t c;
  hr__plan_csv_init(&c, buf, len, path, err);
  size_t cap = 0;
  static const char *names[4] = {"model_label", "num_gpus", "max_num_seqs", "trace_file"};
  int col[4];
  rc = hr__plan_csv_next(&c);
  /* An allocation failure on the header line is HR_ERR_NOMEM, not a
   * missing column. */
  if (rc < 0)
    goto fail;
  if ((rc = hr__plan_csv_columns(&c, rc, names, 4, col, path)) != HR_OK)
    goto fail;
  while ((rc = hr__plan_csv_next(&c)) == 1) {
    int bad = -1;
    for (int k = 0; k < 4; k++)
      if (c.nf <= col[k])
        bad = k;
    long g = 0, b = 0;
    if (bad < 0 && (hr__plan_parse_long(c.f[col[1]], &g) != HR_OK || g < 1 || g > 4096))
      bad = 1;
    if (bad < 0 && (hr__plan_parse_long(c.f[col[2]], &b) != HR_OK || b < 1 || b > 1000000))
      bad = 2;
    if (bad >= 0) {
      hr__plan_err(err, c.line, bad < c.nf ? col[bad] + 1 : 0, "%s: %s: missing or bad value", path,
                   names[bad]);
      rc = HR_ERR_PARSE;
      goto fail;
    }
    if (s->n == cap) {
      size_t nc = cap ? cap * 2 : 64;
      hr_plan_trace_t *q = realloc(s->tr, nc * sizeof *q);
      if (!q) {
        hr__plan_err(err, 0, 0, "%s: out of memory", path);
        rc = HR_ERR_NOMEM;
        goto fail;
      }
      s->tr = q;
      cap = nc;
    }
    hr_plan_trace_t *t = &s->tr[s->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->model, sizeof t->model, "%s", c.f[col[0]]);
    t->num_gpus = (int)g;
    t->max_num_seqs = (int)b;
    t->dt_s = 0.1;
    char file[4096];
    snprintf(file, sizeof file, "%s/%s", dir, c.f[col[3]]);
    if ((rc = load_power(file, t, err)) != HR_OK) {
      name_file(err, file);
      goto fail;
    }
  }
  if (rc < 0)
    goto fail;
  hr__plan_csv_free(&c);
  free(buf);
  *out = s;
  return HR_OK;
fail:
  hr__plan_csv_free(&c);
  free(buf);
  hr_plan_traceset_destroy(s);
  return rc;
}

/* Clears *err on entry and records the returned code in it (error.h). */
int hr_plan_traceset_load(const char *dir, hr_plan_traceset_t **out, hr_diag_t *err)
{
  hr__diag_begin(err, NULL);
  int rc = traceset_load_body(dir, out, err);
  if (err && rc != HR_OK)
    err->code = rc;
  return rc;
}
