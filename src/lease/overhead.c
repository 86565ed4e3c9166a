/* Overheads: load no cap controls (a server's base load), which lowers the
 * limits of every node it flows through (docs/lease.md, "Supply losses and
 * base load"). */
#include <stdlib.h>

#include "lease/lease_sys.h"

/* The sums at and below every node, bottom up (the system's order is
 * topological): a child's in full on each of its parents, as a dual-corded
 * node's loads are counted; per conductor where the node keeps per-phase
 * tables, a node's own a third on each (those nodes are three-phase). */
static void ovh_sum(hr_lease_sys_t *s)
{
  for (size_t k = s->n; k-- > 0;) {
    double v = s->ovh_own[k];
    double q[3] = {v / 3.0, v / 3.0, v / 3.0}, w[3];
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    for (size_t j = 0; j < m; j++) {
      size_t c = (size_t)ch[j];
      v += s->ovh_w[c];
      if (s->ph_idx[k] >= 0) {
        contrib(s, c, k, s->ovh_w[c], s->ph_idx[c] >= 0 ? ph_row(s->ovh_ph, s, c) : NULL, w);
        for (int p = 0; p < 3; p++)
          q[p] += w[p];
      }
    }
    s->ovh_w[k] = v;
    if (s->ph_idx[k] >= 0) {
      double *r = s->ovh_ph + 4 * (size_t)s->ph_idx[k];
      for (int p = 0; p < 3; p++)
        r[p] = q[p];
    }
  }
}

int hr_lease_sys_set_overhead(hr_lease_sys_t *s, const size_t *nodes, const double *base_w,
                              size_t count, int64_t t)
{
  if (!s || (count && (!nodes || !base_w)))
    return HR_ERR_INVALID_ARG;
  for (size_t j = 0; j < count; j++) {
    if (nodes[j] >= s->n || !(base_w[j] >= 0.0) || !(base_w[j] < INFINITY))
      return HR_ERR_INVALID_ARG;
    size_t m = 0;
    kids(s, (size_t)s->lidx[nodes[j]], &m);
    if (m == 0)
      return HR_ERR_INVALID_ARG; /* a leaf's own draw is its cap's business */
  }
  if (count == 0)
    return HR_OK;
  const int fresh = !s->ovh_own; /* allocated here: freed again on a refusal */
  if (fresh) {
    double *own = calloc(s->n, sizeof *own), *sum = calloc(s->n, sizeof *sum);
    double *ph = calloc(4 * (s->n_ph ? s->n_ph : 1), sizeof *ph);
    if (!own || !sum || !ph) {
      free(own);
      free(sum);
      free(ph);
      return HR_ERR_NOMEM;
    }
    s->ovh_own = own;
    s->ovh_w = sum;
    s->ovh_ph = ph;
  }
  double *old = malloc(s->n * sizeof *old);
  if (!old)
    return HR_ERR_NOMEM;
  memcpy(old, s->ovh_own, s->n * sizeof *old);
  hr__lease_skip_off(s);
  hr__lease_start_at(s, t);
  for (size_t j = 0; j < count; j++)
    s->ovh_own[s->lidx[nodes[j]]] = base_w[j];
  ovh_sum(s);
  int rc = hr__lease_budgets_all(s);
  if (rc == HR_OK)
    rc = hr__lease_check_floors(s, NULL);
  if (rc != HR_OK) {
    memcpy(s->ovh_own, old, s->n * sizeof *old);
    free(old);
    ovh_sum(s);
    if (fresh) {
      free(s->ovh_own);
      free(s->ovh_w);
      free(s->ovh_ph);
      s->ovh_own = s->ovh_w = s->ovh_ph = NULL;
    }
    hr__lease_budgets_all(s);
    return rc;
  }
  free(old);
  hr__lease_safe_refresh(s);
  return hr__lease_apply_budgets(s, t);
}

double hr_lease_sys_overhead_w(const hr_lease_sys_t *s, size_t k)
{
  if (!s || k >= s->n)
    return NAN;
  return s->ovh_w ? s->ovh_w[s->lidx[k]] : 0.0;
}

void hr__lease_ovh_apply(const hr_lease_sys_t *s, size_t k, hr_budget_t *b)
{
  const double o = s->ovh_w[k];
  if (!(o > 0.0))
    return;
  double *v[4] = {&b->cont_w, &b->burst_w, &b->inst_w, &b->limit_w};
  for (int j = 0; j < 4; j++)
    *v[j] = *v[j] > o ? *v[j] - o : 0.0;
  if (s->ph_idx[k] >= 0) {
    const double *r = ph_row(s->ovh_ph, s, k);
    for (int p = 0; p < 3; p++)
      b->phase_w[p] = b->phase_w[p] > r[p] ? b->phase_w[p] - r[p] : 0.0;
  } else {
    b->phase_w[0] = b->phase_w[0] > o ? b->phase_w[0] - o : 0.0;
  }
}

int hr__lease_has_overhead(const hr_lease_sys_t *s)
{
  return s && s->ovh_w != NULL;
}

double hr__lease_ovh_own_w(const hr_lease_sys_t *s, size_t k)
{
  return s && s->ovh_own && k < s->n ? s->ovh_own[s->lidx[k]] : 0.0;
}
