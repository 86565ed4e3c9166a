/* The lease system's layout: its own node order, per-node tables (on huge
 * pages where they are large), floors and budgets, create and destroy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/core.h"
#include "lease/lease_sys.h"
#include "tree/tree_int.h"

/* Phase weights of child c as its parent p sees it: the share of c's power
 * that flows in each of p's phase conductors, in units of line-to-neutral
 * power (a line-to-line load of P draws P / sqrt 3 "phase power" on each of
 * its two lines).  A single-phase parent has one conductor pair: slot 0.
 * A three-phase child with children of its own is not a fixed split: it
 * carries caps per conductor (PH_NODE below). */
static void phase_weights_slow(const hr_lease_sys_t *s, size_t c, size_t p, double w[3])
{
  const hr_tree_node_t *nc = tnode(s, c), *np = tnode(s, p);
  const int32_t tp = s->tidx[p];
  w[0] = w[1] = w[2] = 0.0;
  if (np->n_phases != 3) {
    w[0] = 1.0;
    return;
  }
  if (nc->n_phases == 3) {
    w[0] = w[1] = w[2] = 1.0 / 3.0;
    return;
  }
  hr__phase_weights((nc->parent_b == tp && nc->parent != tp) ? nc->phase_b : nc->phase, w);
}

static uint8_t phase_code(const double w[3])
{
  for (uint8_t k = 0; k < 8; k++)
    if (w[0] == PH_W[k][0] && w[1] == PH_W[k][1] && w[2] == PH_W[k][2])
      return k;
  return 0;
}

/* ---- setup ------------------------------------------------------------------- */

/* Floors bottom-up: a node's is the sum of its children's, in total and,
 * for a node with per-phase tables, per conductor (grants are lifted to
 * them by hr__lease_lift_to_floors once they are known to fit). */
void hr__lease_compute_floors(hr_lease_sys_t *s, int64_t t)
{
  for (size_t k = s->n; k-- > 0;) {
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    if (m == 0)
      continue;
    double f = 0.0, fp[3] = {0.0, 0.0, 0.0}, w[3];
    for (size_t j = 0; j < m; j++) {
      size_t c = (size_t)ch[j];
      f += s->floor_w[c];
      if (s->ph_idx[k] >= 0) {
        contrib(s, c, k, s->floor_w[c], s->ph_idx[c] >= 0 ? ph_row(s->fph, s, c) : NULL, w);
        for (int q = 0; q < 3; q++)
          fp[q] += w[q];
      }
    }
    /* A floor that moves moves the cap of a holder at its floor: a change
     * (the ramp counts from it). */
    if (f != s->floor_w[k] && t != INT64_MIN)
      s->last_change_ns[k] = t;
    s->floor_w[k] = f;
    if (s->ph_idx[k] >= 0)
      memcpy(s->fph + 4 * (size_t)s->ph_idx[k], fp, sizeof fp);
  }
}

/* Grants below a (raised) floor are lifted to it, in total and per conductor. */
void hr__lease_lift_to_floors(hr_lease_sys_t *s)
{
  for (size_t k = 0; k < s->n; k++) {
    if (s->lease_p_w[k] < s->floor_w[k])
      s->lease_p_w[k] = s->floor_w[k];
    /* per conductor too: floors are held on every conductor */
    if (s->ph_idx[k] >= 0) {
      double *p = s->pph + 4 * (size_t)s->ph_idx[k];
      const double *f = ph_row(s->fph, s, k);
      for (int q = 0; q < 3; q++)
        p[q] = p[q] < f[q] ? f[q] : p[q];
    }
  }
}

/* The grants marked in queued[] (held at their floor before the floors
 * moved) follow a floor that fell: a holder at its floor has no grant above
 * it, only the floor, which hr__lease_lift_to_floors raises with a raised
 * floor; without this a raise then a lowering would leave the holder the
 * old floor's share, which no coordinator granted.  Each drops to what it
 * can now be cut to (its floor, or what a stopped coordinator below it
 * committed), in total and per conductor, never up; its expiry is kept,
 * and hr__lease_compute_floors already counted the moved floor as a change
 * (a floor moving is not a grant: the damper is left alone).  Clears the
 * marks. */
void hr__lease_follow_floors(hr_lease_sys_t *s, int64_t t)
{
  for (size_t k = 0; k < s->n; k++) {
    if (!s->queued[k])
      continue;
    s->queued[k] = 0;
    if (!(s->floor_w[k] < s->lease_p_w[k]))
      continue;
    double lph[3];
    int ph = s->ph_idx[k] >= 0;
    double lst = hr__lease_least(s, k, t, ph ? lph : NULL);
    if (lst < s->lease_p_w[k])
      s->lease_p_w[k] = lst;
    if (ph) {
      double *p = s->pph + 4 * (size_t)s->ph_idx[k];
      for (int q = 0; q < 3; q++)
        p[q] = lph[q] < p[q] ? lph[q] : p[q];
    }
  }
}

/* The shape of a three-phase node before any demand is known (the
 * request path uses it until a rebalance has seen one): its children's
 * room above their floors, spread on the conductors they sit on. */
static void init_shapes(hr_lease_sys_t *s)
{
  for (size_t k = s->n; k-- > 0;) {
    if (s->ph_idx[k] < 0)
      continue;
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    double sh[3] = {0.0, 0.0, 0.0}, tot = 0.0, w[3];
    for (size_t j = 0; j < m; j++) {
      size_t c = (size_t)ch[j];
      double room = s->limit[c] - s->floor_w[c];
      if (!(room > 0.0) || !isfinite(room))
        room = 1.0;
      double one[3];
      if (s->ph_idx[c] >= 0) {
        const double *sc = ph_row(s->sph, s, c);
        for (int q = 0; q < 3; q++)
          one[q] = sc[q] * room;
      }
      contrib(s, c, k, room, one, w);
      for (int q = 0; q < 3; q++)
        sh[q] += w[q];
      tot += room;
    }
    double *d = s->sph + 4 * (size_t)s->ph_idx[k];
    for (int q = 0; q < 3; q++)
      d[q] = tot > 0.0 ? sh[q] / tot : 1.0 / 3.0;
  }
}

/* In tree order, so that the node reported (a tree index) is the tree's
 * first offender whatever the system's order.  Per conductor too: floors
 * are never refused, so they must fit every conductor's limit. */
int hr__lease_check_floors(const hr_lease_sys_t *s, size_t *bad)
{
  for (size_t u = 0; u < s->n; u++) {
    size_t k = (size_t)s->lidx[u];
    if (s->dead[k])
      continue;
    double lim = s->budget[k].limit_w, f = 1.0;
    if (is_root(s, k) && s->mode == HR_MODE_DEGRADED)
      f = s->cfg.degraded_frac;
    int over = s->floor_w[k] > lim * f * (1.0 + 1e-9);
    if (s->ph_idx[k] >= 0) {
      const double *fp = ph_row(s->fph, s, k);
      for (int q = 0; q < 3; q++)
        over |= fp[q] > s->budget[k].phase_w[q] * f * (1.0 + 1e-9);
    }
    if (over) {
      if (bad)
        *bad = u;
      return HR_ERR_RANGE;
    }
  }
  return HR_OK;
}

/* Says why node u (tree index, as hr__lease_check_floors reports it) was
 * refused: field "nodes[<id>]" as the tree loader names a node, and which
 * floor does not fit which limit, so the file can be fixed. */
static int floor_diag(const hr_lease_sys_t *s, size_t u, hr_diag_t *d)
{
  size_t k = (size_t)s->lidx[u];
  char field[HR_DIAG_FIELD_BYTES];
  snprintf(field, sizeof field, "nodes[%s]", tnode(s, k)->id);
  double lim = s->budget[k].limit_w, f = 1.0;
  if (is_root(s, k) && s->mode == HR_MODE_DEGRADED)
    f = s->cfg.degraded_frac;
  if (s->floor_w[k] > lim * f * (1.0 + 1e-9))
    return hr__diag_fail(d, HR_ERR_RANGE, 0, 0, field,
                         "the floors below it (%.6g W) do not fit its limit of %.6g W",
                         s->floor_w[k], lim * f);
  if (s->ph_idx[k] >= 0) {
    const double *fp = ph_row(s->fph, s, k);
    for (int q = 0; q < 3; q++)
      if (fp[q] > s->budget[k].phase_w[q] * f * (1.0 + 1e-9))
        return hr__diag_fail(d, HR_ERR_RANGE, 0, 0, field,
                             "the floors below it put %.6g W on phase %c, above that "
                             "conductor's limit of %.6g W",
                             fp[q], 'A' + q, s->budget[k].phase_w[q] * f);
  }
  return hr__diag_fail(d, HR_ERR_RANGE, 0, 0, field, "its floors do not fit its limits");
}

/* Node k's budget from its device state and the feed state.  A leaf's
 * working limit (limit[]) is also held to the smallest limit on its path
 * from a root: an unrated device draws no more than what feeds it, which
 * bounds every demand the rebalance aggregates. */
static int budget_of(hr_lease_sys_t *s, size_t k)
{
  int r = s->rated[k] == 255 ? -1 : s->rated[k];
  /* s->cfg.budget was checked by hr_lease_sys_create and never changes. */
  int rc = hr__budget_node_checked(tnode(s, k), s->dev[k], &s->cfg.budget, r,
                                   s->dev[k] ? s->mean_w[k] : -1.0, &s->budget[k]);
  if (rc == HR_OK && s->sup_w && s->sup_w[k] < INFINITY) {
    /* A supply in place of the utility bounds the root as a grid max_p_w
     * does: in total, through the supplies' losses (budget.c). */
    double g = s->sup_w[k];
    if (s->cfg.budget.eff < 1.0 && tnode(s, k)->n_children > 0)
      g *= s->cfg.budget.eff;
    if (g < s->budget[k].limit_w)
      s->budget[k].limit_w = g;
  }
  if (rc == HR_OK && s->ovh_w)
    hr__lease_ovh_apply(s, k, &s->budget[k]);
  if (rc == HR_OK && s->dead[k]) {
    s->budget[k].limit_w = 0.0;
    for (int q = 0; q < 3; q++)
      s->budget[k].phase_w[q] = 0.0;
  }
  double e = s->budget[k].limit_w;
  int32_t ps[2] = {s->par[k], s->parb[k]};
  double up = INFINITY;
  int any = 0;
  for (int j = 0; j < 2; j++)
    if (ps[j] >= 0 && !s->dead[ps[j]]) {
      any = 1;
      up = s->lim_eff[ps[j]] < up ? s->lim_eff[ps[j]] : up;
    }
  if (any && up < e)
    e = up;
  s->lim_eff[k] = e;
  size_t m = 0;
  kids(s, k, &m);
  s->limit[k] = m == 0 && !s->dead[k] ? e : s->budget[k].limit_w;
  if (s->in_pos[k] >= 0)
    memcpy(&s->in_ph[4 * (size_t)s->in_pos[k]], s->budget[k].phase_w, sizeof s->budget[k].phase_w);
  return rc;
}

/* A tripped device carries nothing, like a lost feed: its node and what
 * hangs below it only through it are dead until it is reclosed, so their
 * floors are not owed (a limit of 0 cannot hold them) and their leases are
 * revoked (hr__lease_apply_budgets).  A node with two parents lives while
 * either does.  Parents first (the system's order), so a parent's state is
 * known before its children's.  On a lost feed alone this marks what the
 * feeds do: a node's feed is its parents' (tree.h). */
void hr__lease_mark_dead(hr_lease_sys_t *s)
{
  const unsigned feeds = s->feeds_lost;
  int any = feeds != 0, back = 0;
  for (size_t k = 0; k < s->n; k++) {
    unsigned f = tnode(s, k)->feed;
    int d = (f == HR_FEED_A || f == HR_FEED_B) && (f & feeds);
    if (f == HR_FEED_AB && (feeds & HR_FEED_AB) == HR_FEED_AB)
      d = 1;
    if (s->dev[k] && hr_device_tripped(s->dev[k]))
      d = 1;
    int32_t a = s->par[k], b = s->parb[k];
    if (a >= 0 && s->dead[a] && (b < 0 || s->dead[b]))
      d = 1;
    /* (kept until hr__lease_apply_budgets acts on it: budgets may be
     * computed more than once before it runs) */
    if (d)
      s->revived[k] = 0;
    else if (s->dead[k])
      s->revived[k] = 1;
    back |= s->revived[k];
    s->dead[k] = (unsigned char)d;
    any |= d;
  }
  s->any_dead = any;
  s->any_revived = back;
}

/* Every node's budget, parents first (the system's order), after the dead
 * nodes are marked. */
int hr__lease_budgets_all(hr_lease_sys_t *s)
{
  hr__lease_mark_dead(s);
  for (size_t k = 0; k < s->n; k++) {
    int rc = budget_of(s, k);
    if (rc != HR_OK)
      return rc;
  }
  return HR_OK;
}

/* Zeroed memory for one of the per-node arrays, freed with table_free().  A
 * rebalance streams some twenty of them at once; at 730,000 nodes each is
 * several MB, and on 4 KB pages the streams miss the TLB every page, so
 * large arrays are asked for on 2 MB pages where the system offers them
 * (Linux transparent huge pages in "madvise" mode; about 10 % of the
 * 640,000-GPU rebalance, docs/performance.md).  They are mapped afresh:
 * heap memory the tree loader already touched is backed by small pages, and
 * the advice does not change that.  Tables from 2 MB up qualify: the
 * per-child and per-visited-node tables a rack reads (ch_pos, in_rec, in_ph,
 * ch_off, about 3 MB each here) are a line or two per rack 288 bytes apart,
 * a new 4 KB page every 14 racks, and their misses were the largest stalls
 * in the profile (about 1 ms).  A header in front of every table says how it
 * was obtained. */
typedef struct table_hdr {
  void *base;     /* what to give back */
  size_t map_len; /* > 0: mmap'd, that long; 0: calloc'd */
  char pad[64 - sizeof(void *) - sizeof(size_t)];
} table_hdr_t;

/* Element `lead` (< cnt) starts a cache line: the system puts it at the
 * first GPU of the first server (struct hr_lease_sys, lead), so that with 8
 * GPUs a server every server's run is one aligned 64-byte line of each
 * 8-byte array; the vector loads and stores of settle_leaves() and the
 * clamps then never straddle two lines.  Narrower tables are not shifted. */
static void *table_alloc(size_t cnt, size_t size, size_t lead)
{
  if (cnt == 0)
    cnt = 1;
  if (cnt > (SIZE_MAX - (8u << 20)) / size || lead >= cnt)
    return NULL;
  /* Only 8-byte tables are shifted (the ones the kernels load 8 at a time),
   * which also keeps the header in front on an 8-byte boundary. */
  size_t bytes = cnt * size, shift = size == 8 ? (64 - (lead * size) % 64) % 64 : 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const size_t huge = (size_t)2 << 20;
  if (bytes >= huge) {
    /* Room to put the table on a 2 MB boundary with the header before it. */
    size_t len = ((bytes + shift + huge - 1) & ~(huge - 1)) + huge;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
      uintptr_t at = ((uintptr_t)m + sizeof(table_hdr_t) + huge - 1) & ~(uintptr_t)(huge - 1);
      (void)madvise((void *)at, len - (at - (uintptr_t)m), MADV_HUGEPAGE); /* advice only */
      table_hdr_t *h = (table_hdr_t *)(at + shift) - 1;
      h->base = m;
      h->map_len = len;
      return h + 1; /* fresh anonymous memory is zero */
    }
  }
#endif
  unsigned char *raw = calloc(1, sizeof(table_hdr_t) + 64 + shift + bytes);
  if (!raw)
    return NULL;
  uintptr_t at = ((uintptr_t)raw + sizeof(table_hdr_t) + 63) & ~(uintptr_t)63;
  table_hdr_t *h = (table_hdr_t *)(at + shift) - 1;
  h->base = raw;
  h->map_len = 0;
  return h + 1;
}

static void table_free(void *p)
{
  if (!p)
    return;
  table_hdr_t *h = (table_hdr_t *)p - 1;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (h->map_len) {
    munmap(h->base, h->map_len);
    return;
  }
#endif
  free(h->base);
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The system's node order (struct hr_lease_sys): depth is the longest path
 * from a root (the tree is topological, so one pass finds it), levels in
 * order of depth, a level sorted by the position of each node's parent (its
 * A side), then by tree index.  So every node comes after its parents, and
 * a parent's single-fed children of one level are consecutive, in the
 * tree's order. */
static int level_order(hr_lease_sys_t *s)
{
  size_t n = s->n;
  const hr_tree_node_t *nd = s->nodes;
  uint32_t *depth = malloc(n * sizeof *depth);
  uint64_t *key = malloc(n * sizeof *key);
  size_t *start = NULL;
  uint32_t max_d = 0;
  int rc = HR_ERR_NOMEM;
  if (!depth || !key)
    goto done;
  for (size_t u = 0; u < n; u++) {
    uint32_t d = 0;
    if (nd[u].parent >= 0 && depth[nd[u].parent] + 1 > d)
      d = depth[nd[u].parent] + 1;
    if (nd[u].parent_b >= 0 && depth[nd[u].parent_b] + 1 > d)
      d = depth[nd[u].parent_b] + 1;
    depth[u] = d;
    if (d > max_d)
      max_d = d;
  }
  start = calloc((size_t)max_d + 2, sizeof *start);
  if (!start)
    goto done;
  for (size_t u = 0; u < n; u++)
    start[depth[u] + 1]++;
  for (uint32_t d = 0; d <= max_d; d++)
    start[d + 1] += start[d];
  /* tidx by depth, then by tree index (a stable counting sort) ... */
  for (size_t u = 0; u < n; u++)
    s->tidx[start[depth[u]]++] = (int32_t)u;
  for (uint32_t d = max_d + 1; d > 0; d--)
    start[d] = start[d - 1];
  start[0] = 0;
  /* ... then each level by its parents' positions, known from the levels
   * above. */
  for (uint32_t d = 0; d <= max_d; d++) {
    size_t a = start[d], b = start[d + 1];
    for (size_t k = a; k < b; k++) {
      int32_t u = s->tidx[k];
      int32_t pa = nd[u].parent >= 0 ? nd[u].parent : nd[u].parent_b;
      uint64_t pp = pa >= 0 ? (uint64_t)s->lidx[pa] : 0;
      key[k] = pp << 32 | (uint64_t)(uint32_t)u;
    }
    qsort(key + a, b - a, sizeof *key, cmp_u64);
    for (size_t k = a; k < b; k++) {
      s->tidx[k] = (int32_t)(uint32_t)key[k];
      s->lidx[s->tidx[k]] = (int32_t)k;
    }
  }
  rc = HR_OK;
done:
  free(start);
  free(key);
  free(depth);
  return rc;
}

/* Every table is recorded as it is made, so that destroy frees exactly
 * what create got, however far it got. */
#define ALLOC(p, cnt)                                                                              \
  do {                                                                                             \
    if (s->n_tables == HR__LEASE_MAX_TABLES)                                                       \
      goto nomem;                                                                                  \
    (p) = table_alloc((cnt), sizeof *(p), (cnt) == n ? s->lead : 0);                               \
    if (!(p))                                                                                      \
      goto nomem;                                                                                  \
    s->tables[s->n_tables++] = (void *)(p);                                                        \
  } while (0)

int hr_lease_sys_create(const hr_tree_t *tree, const hr_lease_cfg_t *cfg, hr_lease_sys_t **out,
                        hr_diag_t *diag)
{
  hr__diag_begin(diag, NULL);
  if (!tree || !cfg || !out)
    return hr__diag_fail(diag, HR_ERR_INVALID_ARG, 0, 0, NULL, "tree, cfg and out are required");
  *out = NULL;
  int rc = hr__budget_cfg_check(&cfg->budget);
  if (rc != HR_OK)
    return hr__diag_fail(diag, rc, 0, 0, "budget", "out of range (see hr_budget_cfg_t)");
  rc = hr__coord_cfg_check(&cfg->coord);
  if (rc != HR_OK)
    return hr__diag_fail(diag, rc, 0, 0, "coord", "out of range (see hr_coord_cfg_t)");
  for (int k = 0; k < HR_TIER_COUNT; k++)
    if (!(cfg->tier[k].token_w > 0.0) || cfg->tier[k].ttl_ns <= 0) {
      char field[32];
      snprintf(field, sizeof field, "tier[%d]", k);
      return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, field,
                           "token_w and ttl_ns must be > 0 (got %g W, %lld ns)",
                           cfg->tier[k].token_w, (long long)cfg->tier[k].ttl_ns);
    }
  if (!(cfg->gpu_floor_frac >= 0.0 && cfg->gpu_floor_frac <= 1.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "gpu_floor_frac",
                         "must be between 0 and 1 (got %g)", cfg->gpu_floor_frac);
  if (!(cfg->degraded_frac > 0.0 && cfg->degraded_frac <= 1.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "degraded_frac",
                         "must be > 0 and at most 1 (got %g)", cfg->degraded_frac);
  if (cfg->expiry_fallback != HR_EXPIRY_FLOOR && cfg->expiry_fallback != HR_EXPIRY_SAFE_SHARE)
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "expiry_fallback",
                         "must be %d (floor) or %d (safe_share) (got %d)", HR_EXPIRY_FLOOR,
                         HR_EXPIRY_SAFE_SHARE, cfg->expiry_fallback);
  if (cfg->stable_ns < 0)
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "stable_ns", "must be >= 0 (got %lld)",
                         (long long)cfg->stable_ns);
  if (hr_device_size() > HR__DEV_MEM)
    return hr__diag_fail(diag, HR_ERR_UNSUPPORTED, 0, 0, NULL,
                         "hr_device_t is larger than this build's lease tables allow");
  hr_lease_sys_t *s = calloc(1, sizeof *s);
  if (!s)
    return hr__diag_fail(diag, HR_ERR_NOMEM, 0, 0, NULL, "out of memory");
  s->tree = tree;
  s->nodes = hr_tree_nodes(tree);
  s->n = hr_tree_count(tree);
  s->cfg = *cfg;
  for (int k = 0; k < HR_TIER_COUNT; k++)
    s->tok_inv[k] = 1.0 / cfg->tier[k].token_w;
  size_t n = s->n;
  ALLOC(s->tidx, n);
  ALLOC(s->lidx, n);
  if ((rc = level_order(s)) != HR_OK)
    goto fail;
  for (size_t k = 0; k < n; k++) {
    size_t m = 0;
    const int32_t *c = hr_tree_children(tree, (size_t)s->tidx[k], &m);
    if (m >= 8 && hr_tree_node(tree, (size_t)c[0])->n_children == 0) {
      s->lead = (size_t)s->lidx[c[0]];
      break;
    }
  }
  ALLOC(s->budget, n);
  ALLOC(s->lease_p_w, n);
  ALLOC(s->lease_exp_ns, n);
  ALLOC(s->lease_granted_ns, n);
  ALLOC(s->view, n);
  ALLOC(s->floor_w, n);
  ALLOC(s->safe_w, n);
  ALLOC(s->safe_r, n);
  ALLOC(s->safe_ph, 4 * n);
  ALLOC(s->cutoff, n);
  ALLOC(s->revived, n);
  ALLOC(s->cut_ns, n);
  ALLOC(s->agg_w, n);
  ALLOC(s->mean_w, n);
  ALLOC(s->offer_w, n);
  ALLOC(s->ccfg, n);
  ALLOC(s->rated, n);
  ALLOC(s->running, n);
  ALLOC(s->dead, n);
  ALLOC(s->pstate, n);
  ALLOC(s->last_change_ns, n);
  ALLOC(s->win_start_ns, n);
  ALLOC(s->hold_until_ns, n);
  ALLOC(s->damp, n);
  ALLOC(s->root_prev_w, n);
  ALLOC(s->root_prev_ns, n);
  ALLOC(s->dev, n);
  ALLOC(s->par, n);
  ALLOC(s->parb, n);
  ALLOC(s->tier, n);
  ALLOC(s->ch_off, n + 1);
  ALLOC(s->limit, n);
  ALLOC(s->pha, n);
  ALLOC(s->phb, n);
  ALLOC(s->three, n);
  ALLOC(s->prio, n);
  ALLOC(s->leafkids, n);
  ALLOC(s->skip_dem, n);
  ALLOC(s->skip_pst, n);
  {
    size_t tot = 0;
    for (size_t k = 0; k < n; k++) {
      size_t m = 0;
      const hr_tree_node_t *nk = tnode(s, k);
      hr_tree_children(tree, (size_t)s->tidx[k], &m);
      s->ch_off[k] = (uint32_t)tot;
      tot += m;
      s->par[k] = nk->parent >= 0 ? s->lidx[nk->parent] : -1;
      s->parb[k] = nk->parent_b >= 0 ? s->lidx[nk->parent_b] : -1;
      s->tier[k] = (uint8_t)hr_lease_tier_of(nk->kind);
      s->three[k] = nk->n_phases == 3;
      double w[3];
      if (s->par[k] >= 0) {
        phase_weights_slow(s, k, (size_t)s->par[k], w);
        s->pha[k] = phase_code(w);
      }
      if (s->parb[k] >= 0) {
        phase_weights_slow(s, k, (size_t)s->parb[k], w);
        s->phb[k] = phase_code(w);
      }
    }
    s->ch_off[n] = (uint32_t)tot;
    /* Per-phase tables for the three-phase nodes with children; such a
     * node under a three-phase parent loads it by its own per-conductor
     * caps, not by a fixed split. */
    ALLOC(s->ph_idx, n);
    for (size_t k = 0; k < n; k++) {
      s->ph_idx[k] = -1;
      if (s->three[k] && s->ch_off[k + 1] > s->ch_off[k])
        s->ph_idx[k] = (int32_t)s->n_ph++;
    }
    for (size_t k = 0; k < n; k++) {
      if (s->ph_idx[k] < 0)
        continue;
      if (s->par[k] >= 0 && s->three[s->par[k]])
        s->pha[k] = PH_NODE;
      if (s->parb[k] >= 0 && s->three[s->parb[k]])
        s->phb[k] = PH_NODE;
    }
    ALLOC(s->fph, 4 * s->n_ph);
    ALLOC(s->pph, 4 * s->n_ph);
    ALLOC(s->sph, 4 * s->n_ph);
    ALLOC(s->dph, 4 * s->n_ph);
    ALLOC(s->ch, tot);
    for (size_t k = 0; k < n; k++) {
      size_t m = 0;
      const int32_t *c = hr_tree_children(tree, (size_t)s->tidx[k], &m);
      for (size_t j = 0; j < m; j++)
        s->ch[s->ch_off[k] + j] = s->lidx[c[j]];
      int leaves = m > 0;
      for (size_t j = 0; j < m && leaves; j++) {
        size_t mm = 0;
        hr_tree_children(tree, (size_t)c[j], &mm);
        leaves = mm == 0 && s->nodes[c[j]].parent_b < 0;
      }
      s->leafkids[k] = (uint8_t)leaves;
    }
    ALLOC(s->inner, n);
    ALLOC(s->ch_ph, tot);
    for (size_t k = 0; k < n; k++)
      for (uint32_t i = s->ch_off[k]; i < s->ch_off[k + 1]; i++) {
        int32_t c = s->ch[i];
        s->ch_ph[i] = s->parb[c] == (int32_t)k && s->par[c] != (int32_t)k ? s->phb[c] : s->pha[c];
      }
    ALLOC(s->phkids, n);
    for (size_t k = 0; k < n; k++)
      for (uint32_t i = s->ch_off[k]; i < s->ch_off[k + 1]; i++)
        s->phkids[k] |= s->ch_ph[i] == PH_NODE;
    ALLOC(s->run_tier, n);
    for (size_t k = 0; k < n; k++) {
      size_t m = s->ch_off[k + 1] - s->ch_off[k];
      const int32_t *c = s->ch + s->ch_off[k];
      int run = s->leafkids[k];
      /* Consecutive in both orders: the demands are read by tree index. */
      for (size_t j = 1; j < m && run; j++)
        run = c[j] == c[0] + (int32_t)j && s->tidx[c[j]] == s->tidx[c[0]] + (int32_t)j &&
              s->tier[c[j]] == s->tier[c[0]];
      s->run_tier[k] = (int8_t)(run ? s->tier[c[0]] : -1);
    }
    ALLOC(s->kidrun, n);
    for (size_t k = 0; k < n; k++) {
      size_t m = s->ch_off[k + 1] - s->ch_off[k];
      const int32_t *c = s->ch + s->ch_off[k];
      int run = m > 0 && !s->leafkids[k];
      for (size_t j = 0; j < m && run; j++)
        run = c[j] == c[0] + (int32_t)j && s->parb[c[j]] < 0 && s->tier[c[j]] == s->tier[c[0]] &&
              s->ch_off[c[j] + 1] > s->ch_off[c[j]];
      s->kidrun[k] = (uint8_t)run;
    }
    ALLOC(s->in_pos, n);
    for (size_t k = 0; k < n; k++) {
      s->in_pos[k] = -1;
      if (s->par[k] < 0 || !s->leafkids[s->par[k]]) {
        s->in_pos[k] = (int32_t)s->n_inner;
        s->inner[s->n_inner++] = (int32_t)k;
      }
    }
    ALLOC(s->in_ph, 4 * s->n_inner);
    ALLOC(s->in_rec, s->n_inner);
    ALLOC(s->ch_pos, tot);
    for (size_t i = 0; i < tot; i++)
      s->ch_pos[i] = s->in_pos[s->ch[i]];
    ALLOC(s->in_cp0, s->n_inner);
    ALLOC(s->chk, s->n_inner);
    for (size_t i = 0; i < s->n_inner; i++) {
      size_t k = (size_t)s->inner[i], o = s->ch_off[k], m = s->ch_off[k + 1] - o;
      int run = m > 0 && s->ch_pos[o] >= 0;
      for (size_t j = 1; j < m && run; j++)
        run = s->ch_pos[o + j] == s->ch_pos[o] + (int32_t)j;
      s->in_cp0[i] = run ? s->ch_pos[o] : -1;
    }
  }
  s->dev_size = (hr_device_size() + 15) & ~(size_t)15;
  size_t n_dev = 0;
  for (size_t k = 0; k < n; k++) {
    size_t m = 0;
    kids(s, k, &m);
    if (m > s->max_fan)
      s->max_fan = m;
    if (tnode(s, k)->device)
      n_dev++;
  }
  ALLOC(s->dev_mem, n_dev * s->dev_size + 16);
  ALLOC(s->items, s->max_fan);
  ALLOC(s->ml, 3 * s->max_fan);
  ALLOC(s->ms, 3 * s->max_fan);
  ALLOC(s->lim_eff, n);
  ALLOC(s->work, n);
  ALLOC(s->queued, n);
  ALLOC(s->alloc, s->max_fan);
  ALLOC(s->scratch, 2 * s->max_fan);
  ALLOC(s->kids, s->max_fan);
  ALLOC(s->iota, s->max_fan);
  for (size_t j = 0; j < s->max_fan; j++)
    s->iota[j] = (int32_t)j;
  {
    unsigned char *base = s->dev_mem + ((16 - ((uintptr_t)s->dev_mem & 15)) & 15);
    size_t d = 0;
    for (size_t k = 0; k < n; k++) {
      s->ccfg[k] = &s->cfg.coord;
      s->rated[k] = 255;
      s->running[k] = 1;
      s->last_change_ns[k] = INT64_MIN / 2;
      s->win_start_ns[k] = INT64_MIN / 2;
      s->hold_until_ns[k] = INT64_MIN / 2;
      s->damp[k] = damp_word(0, 0);
      s->root_prev_ns[k] = INT64_MIN;
      if (tnode(s, k)->device) {
        rc = hr_device_init(base + d * s->dev_size, s->dev_size, tnode(s, k)->device, &s->dev[k]);
        if (rc != HR_OK)
          goto fail;
        d++;
      }
      size_t m = 0;
      kids(s, k, &m);
      if (m == 0) {
        double cap = tnode(s, k)->capacity_w;
        if (!isfinite(cap))
          cap = tnode(s, k)->kind == HR_NODE_GPU ? 700.0 : 0.0;
        s->floor_w[k] = cfg->gpu_floor_frac * cap;
      }
      s->lease_exp_ns[k] = INT64_MIN;
      s->lease_granted_ns[k] = INT64_MIN;
    }
  }
  if ((rc = hr__lease_budgets_all(s)) != HR_OK)
    goto fail;
  hr__lease_compute_floors(s, INT64_MIN);
  hr__lease_lift_to_floors(s);
  memcpy(s->pph, s->fph, 4 * s->n_ph * sizeof *s->pph);
  init_shapes(s);
  hr__lease_cutoff_compute(s, INT64_MIN);
  hr__lease_safe_compute(s);
  s->stats.clamp_ns = INT64_MIN;
  size_t bad = 0;
  if ((rc = hr__lease_check_floors(s, &bad)) != HR_OK) {
    floor_diag(s, bad, diag);
    goto fail;
  }
  *out = s;
  return HR_OK;
nomem:
  rc = HR_ERR_NOMEM;
fail:
  /* Floors and NOMEM say more above; any other code says what it is. */
  if (diag && diag->code == HR_OK)
    hr__diag_fail(diag, rc, 0, 0, NULL, "%s", hr_strerror(rc));
  hr_lease_sys_destroy(s);
  return rc;
}

void hr_lease_sys_destroy(hr_lease_sys_t *s)
{
  if (!s)
    return;
  free(s->own_cfg); /* calloc'd by hr_lease_sys_set_coord; every other array by ALLOC */
  free(s->ovh_own); /* these three by hr_lease_sys_set_overhead */
  free(s->ovh_w);
  free(s->ovh_ph);
  free(s->sup_w); /* by hr_lease_sys_set_supply */
  for (size_t k = 0; k < s->n_tables; k++)
    table_free(s->tables[k]);
  free(s);
}
