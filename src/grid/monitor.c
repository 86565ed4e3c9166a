/* Ramp rate and band-limited oscillation amplitude of the site's power.
 * Each band is a 4th-order Butterworth high-pass at f_lo cascaded with a
 * 4th-order Butterworth low-pass at f_hi (flat to within 1 % an octave inside
 * the edges); the amplitude is sqrt(2) times the RMS of the band's output
 * over two periods of f_lo, the peak of a sinusoid of that RMS. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/grid.h"

typedef struct bq {
  double b0, b1, b2, a1, a2, x1, x2, y1, y2;
} bq_t;

typedef struct band {
  bq_t s[4];
  double *sq; /* ring of squared outputs */
  int len, head, count;
  double sum;
  int resum; /* samples until the running sum is recomputed (drift) */
} band_t;

struct hr_grid_monitor {
  hr_grid_limits_t lim;
  double dt_s;
  double *p; /* ring of power over the ramp window */
  int plen, phead, pcount;
  band_t band[HR_GRID_MAX_BANDS];
};

static void design(bq_t *q, double fs, double fc, double quality, int high)
{
  double w0 = 2.0 * M_PI * fc / fs, c = cos(w0), al = sin(w0) / (2.0 * quality), a0 = 1.0 + al;
  memset(q, 0, sizeof *q);
  q->b0 = (high ? (1.0 + c) : (1.0 - c)) / 2.0 / a0;
  q->b1 = (high ? -(1.0 + c) : (1.0 - c)) / a0;
  q->b2 = q->b0;
  q->a1 = -2.0 * c / a0;
  q->a2 = (1.0 - al) / a0;
}

static double step(bq_t *q, double x)
{
  double y = q->b0 * x + q->b1 * q->x1 + q->b2 * q->x2 - q->a1 * q->y1 - q->a2 * q->y2;
  q->x2 = q->x1;
  q->x1 = x;
  q->y2 = q->y1;
  q->y1 = y;
  return y;
}

int hr_grid_monitor_create(const hr_grid_limits_t *lim, double dt_s, hr_grid_monitor_t **out)
{
  if (!lim || !out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  if (!(dt_s >= 1e-4 && dt_s <= 1.0) || lim->n_bands < 0 || lim->n_bands > HR_GRID_MAX_BANDS ||
      lim->ramp_window_s < 0 || !isfinite(lim->ramp_window_s))
    return HR_ERR_RANGE;
  for (int k = 0; k < lim->n_bands; k++) {
    const hr_osc_band_t *b = &lim->bands[k];
    if (!(b->f_lo_hz > 0 && b->f_hi_hz > b->f_lo_hz && b->f_hi_hz < 0.4 / dt_s && b->max_w > 0) ||
        2.0 / b->f_lo_hz / dt_s > 1e7)
      return HR_ERR_RANGE;
  }
  hr_grid_monitor_t *m = calloc(1, sizeof *m);
  if (!m)
    return HR_ERR_NOMEM;
  m->lim = *lim;
  m->dt_s = dt_s;
  double w = lim->ramp_window_s > 0 ? lim->ramp_window_s : 1.0;
  m->plen = (int)lround(w / dt_s) + 1;
  if (m->plen < 2)
    m->plen = 2;
  m->p = calloc((size_t)m->plen, sizeof *m->p);
  int ok = m->p != NULL;
  const double fs = 1.0 / dt_s, q1 = 0.54119610014619698, q2 = 1.3065629648763766;
  for (int k = 0; k < lim->n_bands && ok; k++) {
    band_t *b = &m->band[k];
    design(&b->s[0], fs, lim->bands[k].f_lo_hz, q1, 1);
    design(&b->s[1], fs, lim->bands[k].f_lo_hz, q2, 1);
    design(&b->s[2], fs, lim->bands[k].f_hi_hz, q1, 0);
    design(&b->s[3], fs, lim->bands[k].f_hi_hz, q2, 0);
    b->len = (int)ceil(2.0 / lim->bands[k].f_lo_hz / dt_s);
    b->sq = calloc((size_t)b->len, sizeof *b->sq);
    ok = b->sq != NULL;
  }
  if (!ok) {
    hr_grid_monitor_destroy(m);
    return HR_ERR_NOMEM;
  }
  *out = m;
  return HR_OK;
}

void hr_grid_monitor_destroy(hr_grid_monitor_t *m)
{
  if (!m)
    return;
  for (int k = 0; k < HR_GRID_MAX_BANDS; k++)
    free(m->band[k].sq);
  free(m->p);
  free(m);
}

void hr_grid_monitor_push(hr_grid_monitor_t *m, double p_w, hr_grid_status_t *out)
{
  hr_grid_status_t st;
  memset(&st, 0, sizeof st);
  st.p_w = p_w;
  st.settled = 1;

  /* Ramp over the window: the oldest sample kept is window seconds back. */
  int slot = (m->phead + m->pcount) % m->plen;
  if (m->pcount == m->plen) {
    slot = m->phead;
    m->phead = (m->phead + 1) % m->plen;
  } else {
    m->pcount++;
  }
  m->p[slot] = p_w;
  if (m->pcount == m->plen) {
    double w = (m->plen - 1) * m->dt_s;
    st.ramp_w_per_s = fabs(p_w - m->p[m->phead]) / w;
  } else {
    st.settled = 0;
  }
  const hr_grid_limits_t *L = &m->lim;
  if (L->max_ramp_w_per_s > 0 && st.ramp_w_per_s > L->max_ramp_w_per_s)
    st.violations |= HR_GRID_VIOL_RAMP;
  if (L->max_p_w > 0 && p_w > L->max_p_w)
    st.violations |= HR_GRID_VIOL_MAX;
  if (L->min_p_w > 0 && p_w < L->min_p_w)
    st.violations |= HR_GRID_VIOL_MIN;

  for (int k = 0; k < L->n_bands; k++) {
    band_t *b = &m->band[k];
    double y = p_w;
    for (int s = 0; s < 4; s++)
      y = step(&b->s[s], y);
    double y2 = y * y;
    int bs = (b->head + b->count) % b->len;
    if (b->count == b->len) {
      bs = b->head;
      b->sum -= b->sq[bs];
      b->head = (b->head + 1) % b->len;
    } else {
      b->count++;
    }
    b->sq[bs] = y2;
    b->sum += y2;
    if (--b->resum <= 0) {
      /* Recompute the running sum now and then: subtracting old squares
       * from it accumulates rounding. */
      b->sum = 0.0;
      for (int j = 0; j < b->count; j++)
        b->sum += b->sq[j];
      b->resum = b->len;
    }
    st.band_amp_w[k] = sqrt(2.0 * fmax(b->sum, 0.0) / b->count);
    if (b->count < b->len)
      st.settled = 0;
    if (st.band_amp_w[k] > L->bands[k].max_w)
      st.violations |= HR_GRID_VIOL_BAND0 << k;
  }
  if (out)
    *out = st;
}
