/* IEC 61000-4-30 §4.5 aggregation of the 10/12-cycle values: 150/180-cycle
 * values (§4.5.2) and 10-min values of the UTC clock (§4.5.3), flagged as
 * their values are (§4.7).  The rules, as include/headroom/pq.h states them
 * for hr_agg_rec_t:
 *   - a magnitude is aggregated as the square root of the arithmetic mean of
 *     the squares of its values (§4.5.1); active power and frequency, which
 *     the standard does not aggregate, as the arithmetic mean;
 *   - a 150/180-cycle value is fifteen 10/12-cycle values, gapless;
 *   - a 10/12-cycle value belongs to the 10-min interval in which it starts:
 *     the one that overlaps the tick is the last of the old interval
 *     (§4.5.3), and meter.c starts the next one at the first cycle at or
 *     after the tick (resynchronisation);
 *   - at the tick a new 150/180-cycle value starts with the first value of
 *     the new 10-min interval, while the one in progress goes on until it
 *     has fifteen (the two overlap).
 * Fixed size: two 150/180-cycle accumulators (only one tick can fall inside
 * fifteen values) and one 10-min accumulator; nothing is allocated after
 * hr__agg_create. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"

#define N150 15 /* 10/12-cycle values in a 150/180-cycle value (§4.5.2) */

typedef struct agg_acc {
  int n, n_cycles;
  int64_t t0_ns, t1_ns; /* first value's start, last value's end */
  double u2[HR_MAX_U], i2[HR_MAX_I];
  double p[3], p_total, f;
  uint32_t flags;
} agg_acc_t;

struct hr__agg {
  agg_acc_t a150[2]; /* [0]: the value in progress; [1]: the one started at a
                        10-min tick while [0] completes (n = 0 otherwise) */
  agg_acc_t a10;
  int64_t end10_ns; /* tick that ends the current 10-min interval; INT64_MIN
                       before the first value */
  uint32_t flags10; /* HR_FLAG_STARTUP: the stream began inside it */
};

int64_t hr__agg_next_tick(int64_t t_ns)
{
  int64_t q = t_ns / HR__AGG_10MIN_NS;
  if (t_ns % HR__AGG_10MIN_NS < 0)
    q--; /* floor */
  if (q >= INT64_MAX / HR__AGG_10MIN_NS - 1)
    return INT64_MAX;
  return (q + 1) * HR__AGG_10MIN_NS;
}

int hr__agg_create(const hr_meter_t *m, hr__agg_t **out)
{
  *out = NULL;
  if (!(m->cfg.records & (HR_RECMASK(HR_REC_AGG150) | HR_RECMASK(HR_REC_AGG10MIN))))
    return HR_OK;
  hr__agg_t *a = calloc(1, sizeof *a);
  if (!a)
    return HR_ERR_NOMEM;
  hr__agg_reset(a);
  *out = a;
  return HR_OK;
}

void hr__agg_destroy(hr__agg_t *a)
{
  free(a);
}

void hr__agg_reset(hr__agg_t *a)
{
  if (!a)
    return;
  memset(a, 0, sizeof *a);
  a->end10_ns = INT64_MIN;
}

static void acc_add(agg_acc_t *a, const hr_record_t *rec)
{
  const hr_interval_rec_t *v = &rec->u.interval;
  if (a->n == 0)
    a->t0_ns = rec->t_ns;
  a->t1_ns = rec->t_ns + rec->dur_ns;
  a->n++;
  a->n_cycles += v->n_cycles;
  for (int c = 0; c < rec->n_u; c++)
    a->u2[c] += v->u_rms_v[c] * v->u_rms_v[c];
  for (int c = 0; c < rec->n_i; c++)
    a->i2[c] += v->i_rms_a[c] * v->i_rms_a[c];
  for (int p = 0; p < 3; p++)
    a->p[p] += v->p_w[p];
  a->p_total += v->p_total_w;
  a->f += v->freq_hz;
  a->flags |= rec->flags;
}

static void emit(hr_meter_t *m, const agg_acc_t *a, hr_rec_kind_t kind, int64_t t_ns,
                 int64_t dur_ns, uint32_t flags)
{
  hr_record_t rec;
  hr__meter_rec_init(m, &rec, kind);
  rec.t_ns = t_ns;
  rec.dur_ns = dur_ns;
  rec.flags = a->flags | flags;
  hr_agg_rec_t *y = &rec.u.agg;
  const double inv = 1.0 / a->n;
  y->n_values = a->n;
  y->n_cycles = a->n_cycles;
  y->freq_hz = a->f * inv;
  for (int c = 0; c < m->nu; c++)
    y->u_rms_v[c] = sqrt(a->u2[c] * inv);
  for (int c = 0; c < m->ni; c++)
    y->i_rms_a[c] = sqrt(a->i2[c] * inv);
  for (int p = 0; p < 3; p++)
    y->p_w[p] = a->p[p] * inv;
  y->p_total_w = a->p_total * inv;
  hr__meter_emit(m, &rec);
}

static void emit10(hr_meter_t *m, hr__agg_t *a)
{
  if (a->a10.n)
    emit(m, &a->a10, HR_REC_AGG10MIN, a->end10_ns - HR__AGG_10MIN_NS, HR__AGG_10MIN_NS, a->flags10);
  memset(&a->a10, 0, sizeof a->a10);
}

void hr__agg_interval(hr_meter_t *m, const hr_record_t *rec)
{
  hr__agg_t *a = m->agg;
  const int64_t s = rec->t_ns, e = rec->t_ns + rec->dur_ns;
  int resync = 0;
  if (a->end10_ns == INT64_MIN || s >= a->end10_ns) {
    /* The first value of a 10-min interval. */
    resync = a->end10_ns != INT64_MIN;
    emit10(m, a); /* nothing left normally: emitted at the overlapping value */
    a->end10_ns = hr__agg_next_tick(s);
    a->flags10 = !resync && m->cfg.t0_ns > a->end10_ns - HR__AGG_10MIN_NS ? HR_FLAG_STARTUP : 0;
  }
  /* §4.5.2: fifteen values, gapless; at a 10-min tick a new one starts
   * while the one in progress completes. */
  const int both = a->a150[1].n > 0 || (resync && a->a150[0].n > 0);
  acc_add(&a->a150[0], rec);
  if (both)
    acc_add(&a->a150[1], rec);
  if (a->a150[0].n == N150) {
    const agg_acc_t *v = &a->a150[0];
    emit(m, v, HR_REC_AGG150, v->t0_ns, v->t1_ns - v->t0_ns, 0);
    a->a150[0] = a->a150[1];
    memset(&a->a150[1], 0, sizeof a->a150[1]);
  }
  /* §4.5.3: the value that overlaps the tick is the last of the interval. */
  acc_add(&a->a10, rec);
  if (e >= a->end10_ns)
    emit10(m, a);
}
