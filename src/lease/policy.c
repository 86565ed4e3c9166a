/* Allocation policies of a coordinator (orchestration.md §1.1-1.3, §5):
 * strict priority classes, max-min fair share, Dynamo's three-band scheme
 * with high-bucket-first cuts, POLCA's two thresholds.  None allocates. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lease/lease_int.h"

/* Max-min fair water-filling of room_w over the parts above the floors:
 * out = flo + min(ext, lambda), with lambda the level that uses room_w.
 * Items with mask == 0 are left alone.  This is the plain form, kept for
 * fan-outs above WF_SMALL; water_fill() below does the same arithmetic. */
static void water_fill_plain(size_t n, const hr__item_t *it, const unsigned char *mask,
                             double room_w, double *out_w)
{
  /* Raise the level class by class: every pass either saturates at least one
   * item (removed next pass) or settles the level, so at most n passes; for
   * the small fan-outs of the tree (8-64) this beats sorting. */
  size_t active = 0;
  double need = 0.0;
  for (size_t k = 0; k < n; k++)
    if (!mask || mask[k]) {
      double e = it[k].dem_w - it[k].flo_w;
      need += e;
      active++;
    }
  if (need <= room_w) {
    for (size_t k = 0; k < n; k++)
      if (!mask || mask[k])
        out_w[k] = it[k].dem_w;
    return;
  }
  double left = room_w;
  for (size_t k = 0; k < n; k++)
    if (!mask || mask[k])
      out_w[k] = -1.0; /* not yet settled */
  for (size_t pass = 0; pass <= n && active > 0; pass++) {
    double lambda = left / (double)active;
    size_t sat = 0;
    for (size_t k = 0; k < n; k++) {
      if ((mask && !mask[k]) || out_w[k] >= 0.0)
        continue;
      double e = it[k].dem_w - it[k].flo_w;
      if (e <= lambda) {
        out_w[k] = it[k].dem_w;
        left -= e;
        sat++;
      }
    }
    if (sat == 0) {
      for (size_t k = 0; k < n; k++)
        if ((!mask || mask[k]) && out_w[k] < 0.0)
          out_w[k] = it[k].flo_w + lambda;
      return;
    }
    active -= sat;
  }
}

/* Largest fan-out water_fill() handles with its bit sets. */
#define WF_SMALL 64

/* The level test of one water_fill pass, ext[k] <= lambda for k < n, as a
 * bit set: two items per SSE2 compare on x86-64 (every x86-64 has SSE2), so
 * a server's 8 items take 4 compares instead of 8 scalar ones. */
static inline uint64_t below_level(size_t n, const double *ext, double lambda)
{
  uint64_t sat = 0;
  size_t k = 0;
#if defined(__SSE2__)
  __m128d l = _mm_set1_pd(lambda);
  for (; k + 2 <= n; k += 2)
    sat |= (uint64_t)_mm_movemask_pd(_mm_cmple_pd(_mm_loadu_pd(ext + k), l)) << k;
#endif
  for (; k < n; k++)
    sat |= (uint64_t)(ext[k] <= lambda) << k;
  return sat;
}

/* water_fill_plain with the same floating-point operations in the same order
 * (so the same grants to the bit), on bit sets: a pass compares every excess
 * with the level without branches (the saturation tests are coin flips to a
 * branch predictor) and then walks only the items that saturated, in index
 * order, so `left` is reduced in the plain form's order.  A rebalance runs
 * this at every contended coordinator (90,000 times for a 640,000-GPU tree). */
static void water_fill(size_t n, const hr__item_t *it, const unsigned char *mask, double room_w,
                       double *out_w)
{
  if (n > WF_SMALL) {
    water_fill_plain(n, it, mask, room_w, out_w);
    return;
  }
  double ext[WF_SMALL];
  uint64_t act = 0;
  size_t active = 0;
  double need = 0.0;
  for (size_t k = 0; k < n; k++) {
    double e = it[k].dem_w - it[k].flo_w;
    ext[k] = e;
    if (!mask || mask[k]) {
      need += e;
      act |= (uint64_t)1 << k;
      active++;
    }
  }
  if (need <= room_w) {
    for (uint64_t b = act; b; b &= b - 1)
      out_w[__builtin_ctzll(b)] = it[__builtin_ctzll(b)].dem_w;
    return;
  }
  double left = room_w;
  for (size_t pass = 0; pass <= n && active > 0; pass++) {
    double lambda = left / (double)active;
    uint64_t sat = below_level(n, ext, lambda) & act;
    if (!sat) {
      for (uint64_t b = act; b; b &= b - 1) {
        size_t k = (size_t)__builtin_ctzll(b);
        out_w[k] = it[k].flo_w + lambda;
      }
      return;
    }
    for (uint64_t b = sat; b; b &= b - 1) {
      size_t k = (size_t)__builtin_ctzll(b);
      out_w[k] = it[k].dem_w;
      left -= ext[k];
      active--;
    }
    act &= ~sat;
  }
}

void hr__fair_fill(size_t n, const double *dem_w, const double *flo_w, double budget_w,
                   double *out_w)
{
  /* hr__policy_alloc's opening, then water_fill() with no mask: the same
   * operations in the same order, on arrays (a server's leaves' floors are
   * used where they lie instead of being copied into items). */
  double sum_flo = 0.0;
  for (size_t k = 0; k < n; k++)
    sum_flo += flo_w[k];
  if (!(budget_w > sum_flo)) {
    for (size_t k = 0; k < n; k++)
      out_w[k] = flo_w[k];
    return;
  }
  double room_w = budget_w - sum_flo;
  double ext[WF_SMALL];
  double need = 0.0;
  for (size_t k = 0; k < n; k++) {
    ext[k] = dem_w[k] - flo_w[k];
    need += ext[k];
  }
  if (need <= room_w) {
    for (size_t k = 0; k < n; k++)
      out_w[k] = dem_w[k];
    return;
  }
  uint64_t act = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
  size_t active = n;
  double left = room_w;
  for (size_t pass = 0; pass <= n && active > 0; pass++) {
    double lambda = left / (double)active;
    uint64_t sat = below_level(n, ext, lambda) & act;
    if (!sat) {
      for (uint64_t b = act; b; b &= b - 1) {
        size_t k = (size_t)__builtin_ctzll(b);
        out_w[k] = flo_w[k] + lambda;
      }
      return;
    }
    for (uint64_t b = sat; b; b &= b - 1) {
      size_t k = (size_t)__builtin_ctzll(b);
      out_w[k] = dem_w[k];
      left -= ext[k];
      active--;
    }
    act &= ~sat;
  }
}

/* Highest priority strictly below `below` among the items, or INT_MIN when none. */
static int next_class(size_t n, const hr__item_t *it, long below)
{
  long best = (long)INT32_MIN - 1;
  for (size_t k = 0; k < n; k++)
    if (it[k].prio < below && it[k].prio > best)
      best = it[k].prio;
  return best < INT32_MIN ? INT32_MIN : (int)best;
}

static int any_class(size_t n, const hr__item_t *it, long below)
{
  for (size_t k = 0; k < n; k++)
    if (it[k].prio < below)
      return 1;
  return 0;
}

static void alloc_priority(size_t n, const hr__item_t *it, double room_w, double *out_w,
                           double *scratch)
{
  unsigned char *mask = (unsigned char *)scratch;
  long below = (long)INT32_MAX + 1;
  while (any_class(n, it, below)) {
    int c = next_class(n, it, below);
    double need = 0.0;
    for (size_t k = 0; k < n; k++) {
      mask[k] = it[k].prio == c;
      if (mask[k])
        need += it[k].dem_w - it[k].flo_w;
    }
    if (need <= room_w) {
      for (size_t k = 0; k < n; k++)
        if (mask[k])
          out_w[k] = it[k].dem_w;
      room_w -= need;
    } else {
      water_fill(n, it, mask, room_w, out_w);
      room_w = 0.0;
    }
    below = c;
  }
}

/* Equal cuts of need_w over the items in mask (each down to its floor at
 * most), water-filled so that an item that reaches its floor passes the rest
 * of its share on: every pass either finishes or takes at least one item to
 * its floor, exactly (out = flo, not out - room, which can land a rounding
 * error above it and leave the item in the set), so at most one pass per
 * item.  Returns what could not be cut (0 unless every member reached its
 * floor first). */
static double equal_cuts(size_t n, const hr__item_t *it, unsigned char *mask, size_t m,
                         double need_w, double *out_w)
{
  double left = need_w;
  while (left > 0.0 && m > 0) {
    double share = left / (double)m;
    size_t hit = 0;
    for (size_t k = 0; k < n; k++)
      if (mask[k] && out_w[k] - it[k].flo_w <= share) {
        left -= out_w[k] - it[k].flo_w;
        out_w[k] = it[k].flo_w;
        mask[k] = 0;
        hit++;
      }
    if (hit == 0) {
      for (size_t k = 0; k < n; k++)
        if (mask[k])
          out_w[k] -= share;
      return 0.0;
    }
    m -= hit;
  }
  return left > 0.0 ? left : 0.0;
}

void hr__cut_high_bucket(size_t n, const hr__item_t *it, double bucket_w, double need_w,
                         double *out_w, double *scratch)
{
  unsigned char *mask = (unsigned char *)scratch;
  if (!(bucket_w > 0.0) || !isfinite(bucket_w))
    bucket_w = 100.0;
  if (!(need_w > 0.0))
    return;
  long above = (long)INT32_MIN - 1;
  /* Classes from the lowest priority up: one pass per class, so at most n. */
  while (need_w > 0.0) {
    long best = (long)INT32_MAX + 1;
    for (size_t k = 0; k < n; k++)
      if (it[k].prio > above && it[k].prio < best)
        best = it[k].prio;
    if (best > INT32_MAX)
      break;
    int c = (int)best;
    above = best;
    double give = 0.0;
    for (size_t k = 0; k < n; k++)
      if (it[k].prio == c && out_w[k] > it[k].flo_w)
        give += out_w[k] - it[k].flo_w;
    if (give <= need_w) {
      for (size_t k = 0; k < n; k++)
        if (it[k].prio == c && out_w[k] > it[k].flo_w)
          out_w[k] = it[k].flo_w;
      need_w -= give;
      continue;
    }
    /* High bucket first (Dynamo): the members are the items at or above a
     * bucket edge; the edge moves down until they can give need_w with equal
     * cuts.  It jumps from one member's bucket to the next lower one, never by
     * one bucket width at a time: with a 1e12 W demand and 100 W buckets the
     * width-by-width walk never ends.  Each step adds at least one item, and
     * the lowest edge takes in every item that can give, which is enough
     * (give > need_w), so at most n steps. */
    /* Each item's bucket edge, at most the item itself (floor(x / w) * w can
     * round above x at 1e19 W), so that an item is always at or above its
     * own edge and every step takes at least one item in. */
    double *edge_of = scratch + n;
    for (size_t k = 0; k < n; k++) {
      mask[k] = 0;
      double e = floor(out_w[k] / bucket_w) * bucket_w;
      edge_of[k] = e < out_w[k] ? e : out_w[k];
    }
    size_t m = 0;
    double can = 0.0;
    for (;;) {
      double edge = -INFINITY;
      for (size_t k = 0; k < n; k++)
        if (!mask[k] && it[k].prio == c && out_w[k] > it[k].flo_w && edge_of[k] > edge)
          edge = edge_of[k];
      if (edge == -INFINITY)
        break; /* every item that can give is in */
      for (size_t k = 0; k < n; k++)
        if (!mask[k] && it[k].prio == c && out_w[k] > it[k].flo_w && edge_of[k] >= edge) {
          mask[k] = 1;
          m++;
          can += out_w[k] - it[k].flo_w;
        }
      if (can >= need_w)
        break;
    }
    /* Rounding can leave a little to cut after the members all reached their
     * floors: the next class gives it. */
    need_w = equal_cuts(n, it, mask, m, need_w, out_w);
  }
}

void hr__policy_alloc(const hr_coord_cfg_t *cfg, uint8_t *state, size_t n, const hr__item_t *it,
                      double budget_w, double ref_w, double *out_w, double *scratch)
{
  double sum_flo = 0.0, sum_dem = 0.0;
  for (size_t k = 0; k < n; k++) {
    sum_flo += it[k].flo_w;
    sum_dem += it[k].dem_w;
  }
  if (!(budget_w > sum_flo)) {
    for (size_t k = 0; k < n; k++)
      out_w[k] = it[k].flo_w;
    return;
  }
  double room = budget_w - sum_flo;
  switch (cfg->policy) {
  case HR_POLICY_PRIORITY:
    alloc_priority(n, it, room, out_w, scratch);
    return;
  case HR_POLICY_FAIR:
    water_fill(n, it, NULL, room, out_w);
    return;
  case HR_POLICY_THREE_BAND: {
    /* Dynamo's three bands damp oscillation: once capped, stay capped until
     * power falls below the uncapping threshold. */
    if (sum_dem > cfg->cap_frac * ref_w)
      *state = 1;
    else if (*state && sum_dem < cfg->uncap_frac * ref_w)
      *state = 0;
    for (size_t k = 0; k < n; k++)
      out_w[k] = it[k].dem_w;
    double target = *state ? cfg->target_frac * ref_w : budget_w;
    target = target < budget_w ? target : budget_w;
    if (sum_dem > target)
      hr__cut_high_bucket(n, it, cfg->bucket_w, sum_dem - target, out_w, scratch);
    return;
  }
  case HR_POLICY_TWO_THRESHOLD: {
    /* POLCA: T1 caps low priority, T2 caps everything; uncap a set
     * percentage below the threshold that capped. */
    uint8_t lv = *state;
    if (sum_dem > cfg->t2_frac * ref_w)
      lv = 2;
    else if (sum_dem > cfg->t1_frac * ref_w && lv < 1)
      lv = 1;
    if (lv == 2 && sum_dem < (1.0 - cfg->uncap_pct) * cfg->t2_frac * ref_w)
      lv = sum_dem > cfg->t1_frac * ref_w ? 1 : 0;
    if (lv == 1 && sum_dem < (1.0 - cfg->uncap_pct) * cfg->t1_frac * ref_w)
      lv = 0;
    *state = lv;
    double sum = 0.0;
    for (size_t k = 0; k < n; k++) {
      double o = it[k].dem_w;
      if (lv >= 1 && it[k].prio < cfg->prio_split)
        o *= cfg->low_cap_frac;
      else if (lv >= 2)
        o *= cfg->high_cap_frac;
      out_w[k] = o < it[k].flo_w ? it[k].flo_w : o;
      sum += out_w[k];
    }
    if (sum > budget_w)
      hr__cut_high_bucket(n, it, cfg->bucket_w, sum - budget_w, out_w, scratch);
    return;
  }
  }
  for (size_t k = 0; k < n; k++)
    out_w[k] = it[k].flo_w;
}
