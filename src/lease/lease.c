/* The lease system: one coordinator per node of the tree, the request path,
 * the full rebalance, cascading cuts, modes.  Design: orchestration.md §4
 * ("proposed design"), the draft's tiers (upmu-spec.md), docs/lease.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "lease/lease_int.h"

#define NS_PER_S 1e9

/* settle_leaves() is built for AVX-512 (x86-64-v4), AVX2 and baseline
 * x86-64, chosen at load time like the meter's loops; its file is compiled
 * with -fno-trapping-math (CMakeLists.txt) so that the selects of its loop
 * may be if-converted, which changes no value. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(HR_NO_CLONES)
#define HR_LEASE_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define HR_LEASE_CLONES
#endif

/* What a parent's split reads and writes of a child that the fast rebalance
 * visits, one record per position in the visit order: the bottom-up pass
 * fills it (so it holds this rebalance's values), the child's parents read
 * it and lower its offer.  A rack's servers are consecutive positions, so a
 * rack reads four lines instead of one line of each of five arrays per
 * server (they are 9 nodes apart there). */
typedef struct inner_rec {
  double agg_w;   /* aggregated demand */
  double flo_w;   /* floor_w[k] */
  double offer_w; /* smallest offer of the parents, NAN = none */
  int32_t prio;   /* prio[k] */
  int32_t dead;   /* dead[k] */
} inner_rec_t;

struct hr_lease_sys {
  const hr_tree_t *tree;
  const hr_tree_node_t *nodes; /* the tree's, by tree index: use tnode() */
  size_t n;
  /* Every per-node array below is indexed by the system's own node order,
   * not the tree's: level by level from the roots, and within a level
   * grouped by parent (parents in that order), so that siblings are
   * consecutive and each level is one stretch of every array.  A rebalance
   * then streams its arrays once in order instead of jumping between a
   * rack's record and its servers' and GPUs', 9 and 73 nodes apart in a
   * depth-first tree (about 25 % of the 640,000-GPU rebalance,
   * docs/performance.md).  The public functions take and give tree indices
   * and convert at the boundary. */
  int32_t *tidx;             /* tree index of node k */
  int32_t *lidx;             /* node k of tree index u: lidx[u] */
  size_t lead;               /* the per-node arrays' element that starts a cache line
                                (table_alloc): the first child of the first node with 8
                                or more children, the first a leaf (a server); else 0 */
  hr_lease_cfg_t cfg;
  hr_budget_t *budget;
  /* The lease node k holds from its parent(s), one array per field so that
   * the leaves of a server can be settled with vector instructions; its
   * floor is floor_w[k], its priority prio[k]. */
  double *lease_p_w;
  int64_t *lease_exp_ns;
  int64_t *lease_granted_ns;
  hr_lease_t *view;          /* hr_lease_sys_lease's copies, one per node */
  double *floor_w;
  double *agg_w;             /* rebalance: aggregated demand */
  double *offer_w;           /* rebalance: smallest offer of the parents, NAN = none */
  const hr_coord_cfg_t **ccfg;
  hr_coord_cfg_t *own_cfg;   /* per-node overrides, allocated at setup */
  unsigned char *rated;      /* 255: default, else 0/1 */
  unsigned char *running;
  unsigned char *dead;       /* on a lost feed */
  uint8_t *pstate;           /* policy memory */
  /* Anti-oscillation state of k's grant (settle()), one array per field. */
  int64_t *last_change_ns;
  int64_t *win_start_ns;
  int64_t *hold_until_ns;
  int64_t *damp;             /* 4 x direction changes + (last direction + 1); one word,
                                64 bits wide like every lane of settle_leaves() */
  double *root_prev_w;       /* roots: total granted at the last rebalance */
  int64_t *root_prev_ns;
  unsigned char *dev_mem;    /* one hr_device_t per node with a device */
  size_t dev_size;
  hr_device_t **dev;
  /* scratch for the policies, sized for the largest fan-out */
  size_t max_fan;
  hr__item_t *items;
  double *alloc;
  double *scratch;
  int32_t *kids;
  /* modes */
  hr_mode_t mode;
  unsigned events;
  int64_t calm_since_ns;
  unsigned feeds_lost;
  size_t n_stopped;          /* coordinators stopped (eflo's fast path when 0) */
  /* Hot copies of the tree's links, packed so that a rebalance streams a
   * few bytes per node instead of whole hr_tree_node_t records. */
  int32_t *par, *parb;
  uint8_t *tier;
  uint32_t *ch_off;          /* children of k: ch[ch_off[k] .. ch_off[k + 1]) */
  int32_t *ch;
  double *limit;             /* budget[k].limit_w */
  uint8_t *pha, *phb;        /* phase-weight codes as parent / parent_b sees k */
  uint8_t *three;            /* 1: three-phase node */
  uint8_t *ch_ph;            /* phase-weight code of ch[i] as its parent sees it (PH_W) */
  int32_t *prio;             /* priority of k's lease */
  uint8_t *leafkids;         /* 1: every child is a leaf with one parent */
  int8_t *run_tier;          /* leafkids nodes whose children are consecutive nodes of
                                one tier: that tier, else -1 (settle_leaves) */
  uint8_t *kidrun;           /* 1: not leafkids, and the children are consecutive nodes of
                                one tier, single-fed, each with children of its own (a
                                rack's servers): the fast rebalance settles their own
                                leases in the parent's step with settle_leaves() */
  int32_t *inner;            /* the nodes a rebalance visits: all but the children of
                                leafkids nodes, which their parent settles (topological) */
  size_t n_inner;
  int32_t *in_pos;           /* k's position in inner, -1 when not visited */
  double *in_ph;             /* budget[k].phase_w of inner[i] at in_ph[4 i] (budget_of):
                                in visit order, so the racks' limits stream in sequence
                                instead of each costing a miss on a 48-byte record */
  inner_rec_t *in_rec;       /* fast rebalance: per position in inner */
  int32_t *ch_pos;           /* in_pos[ch[i]] */
  int32_t *in_cp0;           /* per position: the children's first position when they are
                                consecutive positions (a rack's servers), else -1 (kid_pos) */
  int32_t *iota;             /* 0, 1, .. max_fan - 1 */
  double tok_inv[HR_TIER_COUNT]; /* 1 / token_w */
  /* Per-phase accounting (docs/lease.md, "Per phase"): a three-phase node
   * with children holds a cap per conductor as well as its total, because
   * its subtree can load one conductor far more than the others (single-phase
   * servers on one phase).  ph_idx[k] indexes the tables below (4 doubles an
   * entry, the 4th unused), -1 for every other node. */
  int32_t *ph_idx;
  size_t n_ph;
  double *fph;               /* floors per conductor: the children's, mapped */
  double *pph;               /* per-conductor lease caps (before expiry) */
  double *sph;               /* shape: conductor load per watt above the floor of the
                                node's demand (last rebalance; at setup, of its
                                children's room) */
  double *dph;               /* rebalance: demand per conductor */
  double *lim_eff;           /* budgets: the smallest limit on the path from a root */
  /* scratch of a split at a three-phase node: per child, its least load per
   * conductor (ml) and its load per watt above that (ms), 3 doubles each */
  double *ml, *ms;
  int32_t *work;             /* cut cascade work list (n) */
  uint8_t *queued;           /* 1: on the work list */
  /* the first time the system was given: caps never changed count from it */
  int started;
  unsigned auto_events;      /* HR_EVENT_COORD_LOSS / FEED_LOSS the system holds itself */
  unsigned ev_seen;          /* the events the mode last followed */
  hr_lease_stats_t stats;
};

/* The tree's record of node k (tree index tidx[k]; its parent links are
 * tree indices). */
static inline const hr_tree_node_t *tnode(const hr_lease_sys_t *s, size_t k)
{
  return &s->nodes[s->tidx[k]];
}

static inline const int32_t *kids(const hr_lease_sys_t *s, size_t k, size_t *m)
{
  *m = s->ch_off[k + 1] - s->ch_off[k];
  return s->ch + s->ch_off[k];
}

/* The damper word: direction changes counted (0..255) and the direction of
 * the last change (-1, 0, 1), packed so that a leaf carries one word. */
/* The positions of the children of k (visited at position i) in the visit
 * order: in_rec[*base + p[j]].  When they are consecutive positions (a
 * rack's servers follow the rack) p is iota and *base the first: the rack
 * then reads nothing at its node index (ch_off, ch_pos lie 72 children apart
 * per rack, a miss each that the prefetch one rack ahead only moved). */
static inline const int32_t *kid_pos(const hr_lease_sys_t *s, size_t i, size_t k, size_t *base)
{
  int32_t c0 = s->in_cp0[i];
  if (c0 >= 0) {
    *base = (size_t)c0;
    return s->iota;
  }
  *base = 0;
  return s->ch_pos + s->ch_off[k];
}

static inline int64_t damp_word(int64_t n_changes, int64_t dir)
{
  return n_changes * 4 + (dir + 1);
}

static inline int64_t damp_dir(int64_t w)
{
  return (w & 3) - 1;
}

static inline int64_t damp_count(int64_t w)
{
  return w >> 2;
}

/* A double's bit pattern and back (type punning through memcpy, which
 * compiles to nothing). */
static inline uint64_t f64_bits(double x)
{
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static inline double bits_f64(uint64_t u)
{
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* c (0 or 1) ? a : b, as bit operations (see settle_leaves). */
static inline int64_t sel_i64(int64_t c, int64_t a, int64_t b)
{
  uint64_t mk = -(uint64_t)c;
  return (int64_t)(((uint64_t)a & mk) | ((uint64_t)b & ~mk));
}

/* (double)x, correctly rounded like the conversion instruction, in integer
 * and double operations only: AVX2 has no int64 -> double conversion, and
 * without one gcc leaves the whole leaf loop scalar (and branchy) on
 * machines without AVX-512.  hi = x >> 32 (signed) and lo = x & 0xffffffff
 * go into the mantissas of 2^84 + 2^63 and 2^52; removing the offsets from
 * the high part is exact, so the one rounding is the final add. */
static inline double i64_to_f64(int64_t x)
{
  uint64_t hi = (((uint64_t)x >> 32) ^ 0x80000000u) | 0x4530000000000000u; /* 2^84 + 2^63 + hi 2^32 */
  uint64_t lo = ((uint64_t)x & 0xffffffffu) | 0x4330000000000000u;         /* 2^52 + lo */
  uint64_t off = 0x4530000080100000u;                                       /* 2^84 + 2^63 + 2^52 */
  return (bits_f64(hi) - bits_f64(off)) + bits_f64(lo);
}

/* ---- defaults -------------------------------------------------------------- */

static void coord_defaults(hr_coord_cfg_t *c)
{
  memset(c, 0, sizeof *c);
  c->policy = HR_POLICY_PRIORITY;
  c->reserve_frac = 0.0;
  c->ramp_w_per_s = INFINITY;
  c->ramp_acc_ns = 1000000000;
  c->hyst_w = 0.0;
  c->dwell_ns = 0;
  c->damp_changes = 3; /* the draft: more than 3 direction changes = oscillation */
  c->damp_window_ns = 1000000000;
  c->damp_hold_ns = 1000000000;
  c->cap_frac = 0.99; /* Dynamo-style bands, orchestration.md §5 [M] */
  c->target_frac = 0.95;
  c->uncap_frac = 0.90;
  c->bucket_w = 100.0;
  c->t1_frac = 0.80; /* POLCA, orchestration.md §1.3 [M] */
  c->t2_frac = 0.90;
  c->uncap_pct = 0.05;
  c->prio_split = 1;
  c->low_cap_frac = 0.7;
  c->high_cap_frac = 0.85;
}

int hr__coord_cfg_check(const hr_coord_cfg_t *c)
{
  if ((unsigned)c->policy > HR_POLICY_TWO_THRESHOLD)
    return HR_ERR_INVALID_ARG;
  if (!(c->reserve_frac >= 0.0 && c->reserve_frac <= 0.5) || !(c->ramp_w_per_s > 0.0) ||
      c->ramp_acc_ns <= 0 ||
      !(c->hyst_w >= 0.0) || c->dwell_ns < 0 || c->damp_changes < 1 ||
      c->damp_changes > 250 || c->damp_window_ns <= 0 || c->damp_hold_ns < 0 ||
      !(c->uncap_frac > 0.0 && c->uncap_frac < c->target_frac &&
        c->target_frac < c->cap_frac && c->cap_frac <= 1.0) ||
      !(c->bucket_w > 0.0) ||
      !(c->t1_frac > 0.0 && c->t1_frac < c->t2_frac && c->t2_frac <= 1.0) ||
      !(c->uncap_pct >= 0.0 && c->uncap_pct < 1.0) ||
      !(c->low_cap_frac > 0.0 && c->low_cap_frac <= 1.0) ||
      !(c->high_cap_frac > 0.0 && c->high_cap_frac <= 1.0))
    return HR_ERR_RANGE;
  return HR_OK;
}

int hr_lease_cfg_init(hr_lease_cfg_t *cfg)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  hr_budget_cfg_init(&cfg->budget);
  /* The draft's tiers: token 100 W / 1 kW / 10 kW / 1 MW; leases 10-50 ms at
   * the GPU, 50-200 ms at the rack (upmu-spec.md, "Orchestration"). */
  static const double tok[HR_TIER_COUNT] = {100.0, 1e3, 1e4, 1e6};
  static const int64_t ttl[HR_TIER_COUNT] = {50000000, 200000000, 1000000000, 5000000000};
  for (int k = 0; k < HR_TIER_COUNT; k++) {
    cfg->tier[k].token_w = tok[k];
    cfg->tier[k].ttl_ns = ttl[k];
  }
  coord_defaults(&cfg->coord);
  cfg->gpu_floor_frac = 0.3;
  cfg->degraded_frac = 0.9;
  cfg->stable_ns = 10000000000;
  return HR_OK;
}

hr_tier_t hr_lease_tier_of(hr_node_kind_t kind)
{
  switch (kind) {
  case HR_NODE_GPU:
    return HR_TIER_GPU;
  case HR_NODE_SERVER:
    return HR_TIER_RACK;
  case HR_NODE_RACK:
  case HR_NODE_PDU:
  case HR_NODE_BRANCH:
  case HR_NODE_BUSWAY:
    return HR_TIER_CLUSTER;
  default:
    return HR_TIER_SITE;
  }
}

const char *hr_lease_mode_name(hr_mode_t mode)
{
  switch (mode) {
  case HR_MODE_NORMAL:
    return "normal";
  case HR_MODE_DEGRADED:
    return "degraded";
  case HR_MODE_PROTECTION:
    return "protection";
  }
  return "unknown";
}

double hr_lease_cap_w(const hr_lease_t *l, int64_t t_ns)
{
  if (!l)
    return NAN;
  return t_ns < l->expiry_ns ? l->p_w : l->floor_w;
}

int hr_lease_phase_cap_w(const hr_lease_t *l, int64_t t_ns, double out[3])
{
  if (!l || !out)
    return HR_ERR_INVALID_ARG;
  const double *v = t_ns < l->expiry_ns ? l->phase_w : l->floor_phase_w;
  out[0] = v[0];
  out[1] = v[1];
  out[2] = v[2];
  return HR_OK;
}

int hr_lease_due(const hr_lease_t *l, int64_t t_ns)
{
  if (!l)
    return 1;
  /* Renew before half the lease time is used (orchestration.md §4). */
  return t_ns >= l->granted_ns + (l->expiry_ns - l->granted_ns) / 2;
}

/* ---- helpers --------------------------------------------------------------- */

static inline int is_root(const hr_lease_sys_t *s, size_t k)
{
  return s->par[k] < 0;
}

static inline double cap_at(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  if (s->dead[k])
    return 0.0;
  if (is_root(s, k)) {
    double b = s->limit[k];
    if (s->mode == HR_MODE_DEGRADED)
      b *= s->cfg.degraded_frac;
    return b > s->floor_w[k] ? b : s->floor_w[k];
  }
  /* hr_lease_cap_w, inlined: exported functions are not inlined in PIC code. */
  return t < s->lease_exp_ns[k] ? s->lease_p_w[k] : s->floor_w[k];
}

/* What node k's coordinator may hand out at t: its cap, within its limit. */
static inline double avail_at(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  double c = cap_at(s, k, t);
  return c < s->limit[k] || s->dead[k] ? c : s->limit[k];
}

/* 1 when k's lease cannot be renewed or raised now: k's own process is
 * lost, or a live parent's is (a dual-corded node needs both sides' grant).
 * The running side may still cut it: a lower cap is safe for both. */
static inline int held(const hr_lease_sys_t *s, size_t k)
{
  if (s->n_stopped == 0)
    return 0;
  if (!s->running[k])
    return 1;
  int32_t a = s->par[k], b = s->parb[k];
  return (a >= 0 && !s->dead[a] && !s->running[a]) || (b >= 0 && !s->dead[b] && !s->running[b]);
}

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
  hr_phase_t ph = (nc->parent_b == tp && nc->parent != tp) ? nc->phase_b : nc->phase;
  const double ll = 0.57735026918962576; /* 1 / sqrt 3 */
  switch (ph) {
  case HR_PHASE_A:
    w[0] = 1.0;
    break;
  case HR_PHASE_B:
    w[1] = 1.0;
    break;
  case HR_PHASE_C:
    w[2] = 1.0;
    break;
  case HR_PHASE_AB:
    w[0] = w[1] = ll;
    break;
  case HR_PHASE_BC:
    w[1] = w[2] = ll;
    break;
  case HR_PHASE_CA:
    w[2] = w[0] = ll;
    break;
  default:
    w[0] = w[1] = w[2] = 1.0 / 3.0;
  }
}

/* The same from a table: every distinct weight vector gets a code at setup
 * (one byte per node and side), so the hot loops never touch the tree.
 * PH_NODE marks a three-phase child with children under a three-phase
 * parent: its load per conductor is its own (ph_idx tables). */
#define PH_NODE 8
static const double PH_W[9][3] = {
    {1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1},
    {0.57735026918962576, 0.57735026918962576, 0},
    {0, 0.57735026918962576, 0.57735026918962576},
    {0.57735026918962576, 0, 0.57735026918962576}, {1, 0, 0},
    {1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0}};

static uint8_t phase_code(const double w[3])
{
  for (uint8_t k = 0; k < 8; k++)
    if (w[0] == PH_W[k][0] && w[1] == PH_W[k][1] && w[2] == PH_W[k][2])
      return k;
  return 0;
}

/* Code of child c as parent p sees it. */
static inline uint8_t code_of(const hr_lease_sys_t *s, size_t c, size_t p)
{
  return (s->parb[c] == (int32_t)p && s->par[c] != (int32_t)p) ? s->phb[c] : s->pha[c];
}

static inline const double *ph_row(const double *tab, const hr_lease_sys_t *s, size_t k)
{
  return tab + 4 * (size_t)s->ph_idx[k];
}

/* Per-conductor caps of a node with per-phase tables at t (its lease's, or
 * its floors' once the lease expired; a root: its conductor limits). */
static inline void cur_phase(const hr_lease_sys_t *s, size_t k, int64_t t, double out[3])
{
  const double *v = t < s->lease_exp_ns[k] ? ph_row(s->pph, s, k) : ph_row(s->fph, s, k);
  out[0] = v[0];
  out[1] = v[1];
  out[2] = v[2];
}

/* Load that child c puts on parent p's conductors (out[3]) when it holds v
 * [W] in total and, if it has per-phase tables, vph[3] on its own
 * conductors (the same conductors as p's: phases pass straight through a
 * three-phase node). */
static inline void contrib(const hr_lease_sys_t *s, size_t c, size_t p, double v,
                           const double *vph, double out[3])
{
  uint8_t code = code_of(s, c, p);
  if (code == PH_NODE) {
    out[0] = vph[0];
    out[1] = vph[1];
    out[2] = vph[2];
    return;
  }
  const double *w = PH_W[code];
  out[0] = w[0] * v;
  out[1] = w[1] * v;
  out[2] = w[2] * v;
}

/* The least a parent can cut node c to at t, in total (returned) and, for a
 * node with per-phase tables, per conductor into lph (may be NULL).  With
 * every coordinator running that is c's floor.  A stopped coordinator
 * passes no cut down, so what its children hold is committed until it
 * expires (physically they may draw it); a running node passes cuts down,
 * but not past a stopped descendant.  Recursion depth is the tree's depth. */
static double least(const hr_lease_sys_t *s, size_t c, int64_t t, double *lph)
{
  int32_t pi = s->ph_idx[c];
  size_t m = 0;
  const int32_t *ch = kids(s, c, &m);
  const double *f = pi >= 0 ? s->fph + 4 * (size_t)pi : NULL;
  if (s->n_stopped == 0 || m == 0) {
    if (lph && f)
      memcpy(lph, f, 3 * sizeof *lph);
    return s->floor_w[c];
  }
  double e = 0.0, eph[3] = {0.0, 0.0, 0.0}, w[3], xph[3] = {0.0, 0.0, 0.0};
  if (!s->running[c]) {
    for (size_t j = 0; j < m; j++) {
      size_t x = (size_t)ch[j];
      if (s->dead[x])
        continue;
      size_t mx = 0;
      kids(s, x, &mx);
      double v;
      if (mx && !s->running[x]) {
        v = least(s, x, t, xph);
      } else {
        v = cap_at(s, x, t);
        if (s->ph_idx[x] >= 0)
          cur_phase(s, x, t, xph);
      }
      e += v;
      contrib(s, x, c, v, xph, w);
      for (int q = 0; q < 3; q++)
        eph[q] += w[q];
    }
    if (e < s->floor_w[c])
      e = s->floor_w[c];
    if (f)
      for (int q = 0; q < 3; q++)
        eph[q] = eph[q] < f[q] ? f[q] : eph[q];
  } else {
    e = s->floor_w[c];
    if (f)
      memcpy(eph, f, sizeof eph);
    for (size_t j = 0; j < m; j++) {
      size_t x = (size_t)ch[j];
      size_t mx = 0;
      kids(s, x, &mx);
      if (s->dead[x] || mx == 0)
        continue;
      double v = least(s, x, t, xph);
      if (v == s->floor_w[x])
        continue;
      /* contrib() is linear: the part above x's floor. */
      if (s->ph_idx[x] >= 0) {
        const double *fx = ph_row(s->fph, s, x);
        for (int q = 0; q < 3; q++)
          xph[q] -= fx[q];
      }
      e += v - s->floor_w[x];
      contrib(s, x, c, v - s->floor_w[x], xph, w);
      for (int q = 0; q < 3; q++)
        eph[q] += w[q];
    }
  }
  if (lph && f)
    memcpy(lph, eph, sizeof eph);
  return e;
}

static inline double tier_token(const hr_lease_sys_t *s, size_t k)
{
  return s->cfg.tier[s->tier[k]].token_w;
}

static inline int64_t tier_ttl(const hr_lease_sys_t *s, size_t k)
{
  return s->cfg.tier[s->tier[k]].ttl_ns;
}

/* Latest expiry a lease of k may have: its own lease time, and no later than
 * the lease of any parent (so an expiry upstream reaches every leaf). */
static inline int64_t expiry_for(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  int64_t e = t + tier_ttl(s, k);
  int32_t ps[2] = {s->par[k], s->parb[k]};
  for (int j = 0; j < 2; j++)
    if (ps[j] >= 0 && !s->dead[ps[j]] && !is_root(s, (size_t)ps[j]) &&
        s->lease_exp_ns[ps[j]] < e)
      e = s->lease_exp_ns[ps[j]];
  return e;
}

/* Tokens are the increments above the floor (the floor itself is always
 * held), so rounding down never takes a holder below its floor.  The
 * 1e-12 lets a grant that is a whole number of tokens up to rounding keep
 * its last token; the result never exceeds g. */
static inline double quantize_v(double g, double flo, double tok_w, double tok_inv)
{
  double n_tok = (g - flo) * tok_inv * (1.0 + 1e-12);
  double whole = n_tok < 9.0e15 ? trunc(n_tok) : n_tok;
  double q = flo + whole * tok_w;
  q = q > g ? flo + (whole - 1.0) * tok_w : q;
  return g > flo ? q : g;
}

static inline double quantize(const hr_lease_sys_t *s, size_t k, double g)
{
  return quantize_v(g, s->floor_w[k], tier_token(s, k), s->tok_inv[s->tier[k]]);
}

/* The time an increase of k's cap at t counts its ramp from: the last change
 * of its grant, or the moment its cap dropped to the floor when the lease
 * ran out after that (an expiry is a drop like any cut). */
static inline int64_t ramp_from(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  int64_t last = s->last_change_ns[k], e = s->lease_exp_ns[k];
  return (t >= e && s->lease_p_w[k] > s->floor_w[k] && e > last) ? e : last;
}

/* The largest increase at once: ramp x ramp_acc_ns, or one token when a
 * token is larger (else a slow ramp could never grant a whole token). */
static inline double step_cap(const hr_coord_cfg_t *cc, double tok_w)
{
  double c = cc->ramp_w_per_s * ((double)cc->ramp_acc_ns / NS_PER_S);
  return c < tok_w ? tok_w : c;
}

/* k's per-conductor caps for a total grant g: its least per conductor plus
 * its shape times the part above the least (what its parent planned with). */
static inline void set_pph(hr_lease_sys_t *s, size_t k, double g, double lst, const double *lph)
{
  double *p = s->pph + 4 * (size_t)s->ph_idx[k];
  const double *sh = ph_row(s->sph, s, k);
  double x = g > lst ? g - lst : 0.0;
  for (int q = 0; q < 3; q++)
    p[q] = lph[q] + sh[q] * x;
}

/* Applies the increase rules (mode, dwell, damper, ramp, hysteresis) and the
 * token to a proposed grant, records the change, writes the lease. */
static inline double settle(hr_lease_sys_t *s, size_t k, double want, int64_t t, int64_t expiry)
{
  const hr_coord_cfg_t *cc = s->ccfg[s->par[k]];
  double old = cap_at(s, k, t);
  double flo = s->floor_w[k];
  double g = want;
  double lph[3];
  int ph = s->ph_idx[k] >= 0;
  double lst = least(s, k, t, ph ? lph : NULL);
  int64_t last = ramp_from(s, k, t);
  if (g < lst)
    g = lst;
  if (g > old) {
    if (s->mode != HR_MODE_NORMAL || t < s->hold_until_ns[k] || t - last < cc->dwell_ns) {
      g = old;
    } else {
      if (isfinite(cc->ramp_w_per_s)) {
        double allow = cc->ramp_w_per_s * ((double)(t - last) / NS_PER_S);
        double most = step_cap(cc, tier_token(s, k));
        allow = allow > most ? most : allow;
        double up = old + allow;
        if (g > up)
          g = up;
      }
      double q = quantize(s, k, g);
      g = q > old ? q : old;
      if (g - old < cc->hyst_w)
        g = old;
    }
  } else if (g < old) {
    /* Cuts apply at once; rounding down to the token keeps them safe. */
    g = quantize(s, k, g);
  }
  if (g < lst)
    g = lst;
  if (expiry <= t)
    g = flo;
  int dir = g > old ? 1 : g < old ? -1 : 0;
  if (dir != 0) {
    /* The damper counts direction changes inside a window (the draft: more
     * than 3 means oscillation) and freezes increases for a while. */
    int64_t last_dir = damp_dir(s->damp[k]);
    int64_t n_changes = damp_count(s->damp[k]);
    if (last_dir != 0 && dir != last_dir) {
      if (t - s->win_start_ns[k] > cc->damp_window_ns) {
        s->win_start_ns[k] = t;
        n_changes = 0;
      }
      if (n_changes < 255)
        n_changes++;
      if (n_changes > cc->damp_changes)
        s->hold_until_ns[k] = t + cc->damp_hold_ns;
    }
    s->damp[k] = damp_word(n_changes, dir);
    last = t;
  }
  s->last_change_ns[k] = last;
  s->lease_p_w[k] = g;
  s->lease_granted_ns[k] = t;
  s->lease_exp_ns[k] = g > flo ? expiry : t;
  if (ph)
    set_pph(s, k, g, lst, lph);
  return g;
}

/* Lowers k's unexpired grant to g (never below what it can be cut to),
 * keeping its expiry; its per-conductor caps shrink in proportion above
 * their least.  Returns 1 when the grant fell. */
static int cut_lease(hr_lease_sys_t *s, size_t k, double g, int64_t t)
{
  double lph[3];
  int ph = s->ph_idx[k] >= 0;
  double lst = least(s, k, t, ph ? lph : NULL);
  if (g < lst)
    g = lst;
  double old = s->lease_p_w[k];
  if (!(t < s->lease_exp_ns[k] && g < old))
    return 0;
  if (ph) {
    double *p = s->pph + 4 * (size_t)s->ph_idx[k];
    double f = old > lst ? (g - lst) / (old - lst) : 0.0;
    for (int q = 0; q < 3; q++) {
      double v = lph[q] + f * (p[q] - lph[q]);
      p[q] = v < p[q] ? v : p[q];
    }
  }
  s->lease_p_w[k] = g;
  s->damp[k] = damp_word(damp_count(s->damp[k]), -1);
  s->last_change_ns[k] = t;
  return 1;
}

/* Conductor limits of node k at t: its device's, and for a node holding a
 * per-phase lease, that lease's (its floors' once it expired); a root's in
 * degraded mode x degraded_frac. */
static inline void phase_avail(const hr_lease_sys_t *s, size_t k, int64_t t, const double *dev,
                               double lim[3])
{
  lim[0] = dev[0];
  lim[1] = dev[1];
  lim[2] = dev[2];
  if (s->dead[k]) {
    lim[0] = lim[1] = lim[2] = 0.0;
    return;
  }
  if (is_root(s, k)) {
    if (s->mode == HR_MODE_DEGRADED)
      for (int q = 0; q < 3; q++)
        lim[q] *= s->cfg.degraded_frac;
    return;
  }
  if (s->ph_idx[k] >= 0) {
    double c[3];
    cur_phase(s, k, t, c);
    for (int q = 0; q < 3; q++)
      lim[q] = c[q] < lim[q] ? c[q] : lim[q];
  }
}

/* Makes n children's grants alloc[] fit the conductor limits lim[3] of
 * their three-phase parent, where child j loads conductor q with
 * ml[3j+q] + ms[3j+q] (alloc[j] - items[j].flo_w): the part above each
 * child's least is scaled on an overloaded conductor, phase by phase (a
 * scaling only lowers the other conductors' loads, so the earlier ones stay
 * within their limits).  A few shrinking retries absorb rounding; what is
 * still over after them goes to the least.  Returns 1 when it cut. */
static int fit_phases(size_t n, const hr__item_t *it, const double *ml, const double *ms,
                      const double lim[3], double *alloc)
{
  int cut = 0;
  for (int q = 0; q < 3; q++) {
    for (int tries = 0; tries < 4; tries++) {
      double base = 0.0, above = 0.0;
      for (size_t j = 0; j < n; j++) {
        base += ml[3 * j + (size_t)q];
        above += ms[3 * j + (size_t)q] * (alloc[j] - it[j].flo_w);
      }
      if (base + above <= lim[q])
        break;
      cut = 1;
      double f = above > 0.0 ? (lim[q] - base) / above : 0.0;
      if (!(f > 0.0))
        f = 0.0;
      if (f > 1.0)
        f = 1.0;
      f *= 1.0 - (double)tries * 1e-12;
      if (tries == 3)
        f = 0.0;
      for (size_t j = 0; j < n; j++)
        if (ms[3 * j + (size_t)q] > 0.0)
          alloc[j] = it[j].flo_w + f * (alloc[j] - it[j].flo_w);
    }
  }
  return cut;
}

/* The load model of child c of p (j-th slot of the scratch): its least per
 * conductor and load per watt above it.  fresh: c is about to be granted
 * anew and takes the shape of its demand (sph); otherwise it is only cut,
 * and its present per-conductor caps shrink in proportion (cut_lease). */
static void child_model(hr_lease_sys_t *s, size_t c, size_t p, int64_t t, double lst,
                        const double *lph, int fresh, size_t j)
{
  double *ml = s->ml + 3 * j, *ms = s->ms + 3 * j;
  uint8_t code = code_of(s, c, p);
  if (s->dead[c]) {
    ml[0] = ml[1] = ml[2] = ms[0] = ms[1] = ms[2] = 0.0;
    return;
  }
  if (code != PH_NODE) {
    const double *w = PH_W[code];
    for (int q = 0; q < 3; q++) {
      ml[q] = w[q] * lst;
      ms[q] = w[q];
    }
    return;
  }
  const double *sh = ph_row(s->sph, s, c);
  double cap = cap_at(s, c, t), cur[3];
  cur_phase(s, c, t, cur);
  for (int q = 0; q < 3; q++) {
    ml[q] = lph[q];
    if (fresh)
      ms[q] = sh[q];
    else
      ms[q] = cap > lst && cur[q] > lph[q] ? (cur[q] - lph[q]) / (cap - lst) : 0.0;
  }
}

/* Makes the unexpired grants of p's children fit p's cap (total and per
 * conductor) by cutting lowest priority / highest bucket first; pushes the
 * children that were cut and have children onto the work list (*top).  A
 * stopped or dead coordinator passes no cut down.  Returns 1 when it cut. */
static int fit_node(hr_lease_sys_t *s, size_t p, int64_t t, size_t *top)
{
  size_t n = 0;
  const int32_t *ch = kids(s, p, &n);
  if (n == 0 || s->dead[p] || !s->running[p])
    return 0;
  double avail = avail_at(s, p, t), sum = 0.0;
  int three = s->three[p];
  for (size_t j = 0; j < n; j++) {
    size_t c = (size_t)ch[j];
    double lph[3] = {0.0, 0.0, 0.0};
    double cap = s->dead[c] ? 0.0 : cap_at(s, c, t);
    double lst = s->dead[c] ? 0.0 : least(s, c, t, s->ph_idx[c] >= 0 ? lph : NULL);
    if (lst > cap)
      lst = cap;
    s->items[j].dem_w = s->alloc[j] = cap;
    s->items[j].flo_w = lst;
    s->items[j].prio = s->prio[c];
    sum += cap;
    if (three)
      child_model(s, c, p, t, lst, lph, 0, j);
  }
  int cut = 0;
  if (sum > avail) {
    hr__cut_high_bucket(n, s->items, s->ccfg[p]->bucket_w, sum - avail, s->alloc, s->scratch);
    cut = 1;
  }
  if (three) {
    double lim[3];
    phase_avail(s, p, t, s->budget[p].phase_w, lim);
    cut |= fit_phases(n, s->items, s->ml, s->ms, lim, s->alloc);
  }
  if (!cut)
    return 0;
  ch = kids(s, p, &n);
  for (size_t j = 0; j < n; j++) {
    size_t c = (size_t)ch[j], m = 0;
    if (s->alloc[j] < s->items[j].dem_w && cut_lease(s, c, s->alloc[j], t)) {
      kids(s, c, &m);
      if (m && top && !s->queued[c]) {
        s->queued[c] = 1;
        s->work[(*top)++] = (int32_t)c;
      }
    }
  }
  return 1;
}

/* The cut cascade from p down: every node whose grant fell has its
 * children fitted in turn, without recursion (a work list of at most one
 * entry per node: a queued node is not queued again). */
static void fit_from(hr_lease_sys_t *s, size_t p, int64_t t)
{
  size_t top = 0;
  s->queued[p] = 1;
  s->work[top++] = (int32_t)p;
  while (top) {
    size_t k = (size_t)s->work[--top];
    s->queued[k] = 0;
    fit_node(s, k, t, &top);
  }
}

/* ---- setup ------------------------------------------------------------------- */

/* Floors bottom-up: a node's is the sum of its children's, in total and,
 * for a node with per-phase tables, per conductor.  Grants below a raised
 * floor are lifted to it. */
static void compute_floors(hr_lease_sys_t *s)
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
    s->floor_w[k] = f;
    if (s->ph_idx[k] >= 0)
      memcpy(s->fph + 4 * (size_t)s->ph_idx[k], fp, sizeof fp);
  }
  for (size_t k = 0; k < s->n; k++)
    if (s->lease_p_w[k] < s->floor_w[k])
      s->lease_p_w[k] = s->floor_w[k];
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
static int check_floors(const hr_lease_sys_t *s, size_t *bad)
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

/* Node k's budget from its device state and the feed state.  A leaf's
 * working limit (limit[]) is also held to the smallest limit on its path
 * from a root: an unrated device draws no more than what feeds it, which
 * bounds every demand the rebalance aggregates. */
static int budget_of(hr_lease_sys_t *s, size_t k)
{
  int r = s->rated[k] == 255 ? -1 : s->rated[k];
  int rc = hr_budget_node(tnode(s, k), s->dev[k], &s->cfg.budget, r, &s->budget[k]);
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

/* Every node's budget, parents first (the system's order). */
static int budgets_all(hr_lease_sys_t *s)
{
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

#define ALLOC(p, cnt)                                                    \
  do {                                                                   \
    (p) = table_alloc((cnt), sizeof *(p), (cnt) == n ? s->lead : 0);     \
    if (!(p))                                                            \
      goto nomem;                                                        \
  } while (0)

int hr_lease_sys_create(const hr_tree_t *tree, const hr_lease_cfg_t *cfg, hr_lease_sys_t **out,
                        size_t *bad_node)
{
  if (!tree || !cfg || !out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  int rc = hr__budget_cfg_check(&cfg->budget);
  if (rc == HR_OK)
    rc = hr__coord_cfg_check(&cfg->coord);
  if (rc != HR_OK)
    return rc;
  for (int k = 0; k < HR_TIER_COUNT; k++)
    if (!(cfg->tier[k].token_w > 0.0) || cfg->tier[k].ttl_ns <= 0)
      return HR_ERR_RANGE;
  if (!(cfg->gpu_floor_frac >= 0.0 && cfg->gpu_floor_frac <= 1.0) ||
      !(cfg->degraded_frac > 0.0 && cfg->degraded_frac <= 1.0) || cfg->stable_ns < 0)
    return HR_ERR_RANGE;
  if (hr_device_size() > HR__DEV_MEM)
    return HR_ERR_UNSUPPORTED;
  hr_lease_sys_t *s = calloc(1, sizeof *s);
  if (!s)
    return HR_ERR_NOMEM;
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
  ALLOC(s->agg_w, n);
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
  if ((rc = budgets_all(s)) != HR_OK)
    goto fail;
  compute_floors(s);
  memcpy(s->pph, s->fph, 4 * s->n_ph * sizeof *s->pph);
  init_shapes(s);
  s->stats.clamp_ns = INT64_MIN;
  if ((rc = check_floors(s, bad_node)) != HR_OK)
    goto fail;
  *out = s;
  return HR_OK;
nomem:
  rc = HR_ERR_NOMEM;
fail:
  hr_lease_sys_destroy(s);
  return rc;
}

void hr_lease_sys_destroy(hr_lease_sys_t *s)
{
  if (!s)
    return;
  free(s->own_cfg); /* calloc'd by hr_lease_sys_set_coord; every other array by ALLOC */
  void *ps[] = {s->budget,   s->lease_p_w,      s->lease_exp_ns,  s->lease_granted_ns,
                s->view,     s->floor_w,        s->agg_w,         s->offer_w,
                (void *)s->ccfg, s->rated,         s->running,     s->dead,
                s->pstate,   s->last_change_ns, s->win_start_ns,  s->hold_until_ns,
                s->damp,                        s->root_prev_w,   s->root_prev_ns, s->dev_mem,
                s->dev,      s->items,          s->alloc,         s->scratch,     s->kids,
                s->par,      s->parb,           s->tier,          s->ch_off,      s->ch,
                s->limit,    s->pha,            s->phb,           s->three,       s->prio,
                s->leafkids, s->kidrun, s->inner,  s->run_tier,      s->ch_ph,       s->in_pos,
                s->in_ph,    s->in_rec,         s->ch_pos,      s->in_cp0,      s->iota,
                s->tidx,     s->lidx,           s->ph_idx,        s->fph,         s->pph,
                s->sph,      s->dph,            s->lim_eff,       s->ml,          s->ms,
                s->work,     s->queued};
  for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++)
    table_free(ps[k]);
  free(s);
}

int hr_lease_sys_set_coord(hr_lease_sys_t *s, size_t k, const hr_coord_cfg_t *cfg)
{
  if (!s || !cfg || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  int rc = hr__coord_cfg_check(cfg);
  if (rc != HR_OK)
    return rc;
  if (!s->own_cfg) {
    s->own_cfg = calloc(s->n, sizeof *s->own_cfg);
    if (!s->own_cfg)
      return HR_ERR_NOMEM;
  }
  s->own_cfg[k] = *cfg;
  s->ccfg[k] = &s->own_cfg[k];
  return HR_OK;
}

/* Sum of the caps of root k's children at t (the site's granted total). */
static double granted_under(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  double g = 0.0;
  for (size_t j = 0; j < m; j++)
    g += cap_at(s, (size_t)ch[j], t);
  return g;
}

/* The system's first time: caps that never changed count their ramp from
 * it (an increase right after creation is ramp-limited like any other), and
 * a site's ramp envelope starts at what is granted then. */
static void start_at(hr_lease_sys_t *s, int64_t t)
{
  if (s->started)
    return;
  s->started = 1;
  for (size_t k = 0; k < s->n; k++) {
    s->last_change_ns[k] = t;
    if (is_root(s, k)) {
      s->root_prev_ns[k] = t;
      s->root_prev_w[k] = granted_under(s, k, t);
    }
  }
}

/* The cut cascade over the whole tree, parents before children (the
 * system's order is topological): a dual-corded child is fitted after both
 * of its parents have cut it. */
static void cut_all(hr_lease_sys_t *s, int64_t t)
{
  for (size_t k = 0; k < s->n; k++)
    fit_node(s, k, t, NULL);
}

/* Budgets from the devices' state and the feeds, then every grant that no
 * longer fits is cut at once. */
static int apply_budgets(hr_lease_sys_t *s, int64_t t)
{
  int rc = budgets_all(s);
  if (rc != HR_OK)
    return rc;
  for (size_t k = 0; k < s->n; k++)
    /* A node's own grant never exceeds its budget. */
    if (!is_root(s, k) && s->lease_p_w[k] > s->budget[k].limit_w)
      cut_lease(s, k, s->budget[k].limit_w, t);
  cut_all(s, t);
  return HR_OK;
}

int hr_lease_sys_set_rated_100(hr_lease_sys_t *s, size_t k, int on, int64_t t)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  start_at(s, t);
  unsigned char old = s->rated[k];
  s->rated[k] = on ? 1 : 0;
  int rc = budgets_all(s);
  if (rc == HR_OK)
    rc = check_floors(s, NULL);
  if (rc != HR_OK) {
    s->rated[k] = old;
    budgets_all(s);
    return rc;
  }
  return apply_budgets(s, t);
}

int hr_lease_sys_set_floor(hr_lease_sys_t *s, size_t k, double floor_w, int64_t t)
{
  if (!s || k >= s->n || !(floor_w >= 0.0) || !isfinite(floor_w))
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  size_t m = 0;
  kids(s, k, &m);
  if (m)
    return HR_ERR_INVALID_ARG;
  start_at(s, t);
  double old = s->floor_w[k];
  s->floor_w[k] = floor_w;
  compute_floors(s);
  if (check_floors(s, NULL) != HR_OK) {
    s->floor_w[k] = old;
    compute_floors(s);
    return HR_ERR_RANGE;
  }
  /* A raised floor is held at once (compute_floors lifted the grants): the
   * holder's siblings make room. */
  cut_all(s, t);
  return HR_OK;
}

int hr_lease_sys_set_priority(hr_lease_sys_t *s, size_t k, int priority)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  s->prio[k] = priority;
  return HR_OK;
}

static void update_mode(hr_lease_sys_t *s, int64_t t);

int hr_lease_sys_set_running(hr_lease_sys_t *s, size_t k, int running, int64_t t)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  start_at(s, t);
  unsigned char r = running ? 1 : 0;
  if (s->running[k] != r)
    s->n_stopped += r ? (size_t)-1 : 1;
  s->running[k] = r;
  /* Losing a coordinator is a mode event by itself (orchestration.md §3.5). */
  if (s->n_stopped)
    s->auto_events |= HR_EVENT_COORD_LOSS;
  else
    s->auto_events &= ~(unsigned)HR_EVENT_COORD_LOSS;
  update_mode(s, t);
  return HR_OK;
}

int hr_lease_sys_running(const hr_lease_sys_t *s, size_t k)
{
  if (!s || k >= s->n)
    return -1;
  return s->running[s->lidx[k]];
}

/* ---- budgets and state ---------------------------------------------------------- */

int hr_lease_sys_observe(hr_lease_sys_t *s, size_t k, double i_a, double dt_s)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  if (!s->dev[k])
    return HR_OK;
  return hr_device_step(s->dev[k], i_a, dt_s);
}

int hr_lease_sys_device_status(const hr_lease_sys_t *s, size_t k, hr_device_status_t *out)
{
  if (!s || k >= s->n || !out)
    return HR_ERR_INVALID_ARG;
  const hr_device_t *d = s->dev[s->lidx[k]];
  if (!d)
    return HR_ERR_NOT_FOUND;
  hr_device_status(d, out);
  return HR_OK;
}

int hr_lease_sys_reclose(hr_lease_sys_t *s, size_t k, int64_t t)
{
  if (!s || k >= s->n)
    return HR_ERR_INVALID_ARG;
  hr_device_t *d = s->dev[s->lidx[k]];
  if (!d)
    return HR_ERR_NOT_FOUND;
  start_at(s, t);
  hr_device_reclose(d);
  return apply_budgets(s, t);
}

int hr_lease_sys_update_budgets(hr_lease_sys_t *s, int64_t t)
{
  if (!s)
    return HR_ERR_INVALID_ARG;
  start_at(s, t);
  return apply_budgets(s, t);
}

const hr_budget_t *hr_lease_sys_budget(const hr_lease_sys_t *s, size_t k)
{
  return s && k < s->n ? &s->budget[s->lidx[k]] : NULL;
}

/* hr_lease_sys_lease of node k (the system's order). */
static const hr_lease_t *lease_view(const hr_lease_sys_t *s, size_t k)
{
  /* The fields live in separate arrays; the copy is refreshed by every call
   * (s is const, its view array is not). */
  hr_lease_t *v = &s->view[k];
  v->p_w = s->lease_p_w[k];
  v->expiry_ns = s->lease_exp_ns[k];
  v->priority = s->prio[k];
  v->floor_w = s->floor_w[k];
  v->granted_ns = s->lease_granted_ns[k];
  for (int q = 0; q < 3; q++) {
    v->phase_w[q] = s->ph_idx[k] >= 0 ? ph_row(s->pph, s, k)[q] : INFINITY;
    v->floor_phase_w[q] = s->ph_idx[k] >= 0 ? ph_row(s->fph, s, k)[q] : INFINITY;
  }
  return v;
}

const hr_lease_t *hr_lease_sys_lease(const hr_lease_sys_t *s, size_t k)
{
  return s && k < s->n ? lease_view(s, (size_t)s->lidx[k]) : NULL;
}

double hr_lease_sys_cap_w(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  return s && k < s->n ? cap_at(s, (size_t)s->lidx[k], t) : NAN;
}

double hr_lease_sys_avail_w(const hr_lease_sys_t *s, size_t k, int64_t t)
{
  return s && k < s->n ? avail_at(s, (size_t)s->lidx[k], t) : NAN;
}

/* ---- grid ramp, post-condition -------------------------------------------------- */

/* The most root k's children may hold in total at t under the site's grid
 * ramp limit (INFINITY without one), given g_now granted just before.  The
 * envelope grows at max_ramp_w_per_s from its last value, however often it
 * is asked (an allowance too small for a token is not lost but carried),
 * and never more than a window's worth (ramp_window_s, or one token of the
 * children's tier if that is larger) above what is granted: so over any
 * span the total rises at most max_ramp x (span + window).  Cuts are not
 * limited.  Advances the envelope to t. */
static double grid_env(hr_lease_sys_t *s, size_t k, int64_t t, double g_now)
{
  const hr_grid_limits_t *gl = tnode(s, k)->grid;
  if (!gl || !(gl->max_ramp_w_per_s > 0.0))
    return INFINITY;
  double r = gl->max_ramp_w_per_s;
  double win = gl->ramp_window_s > 0.0 ? gl->ramp_window_s : 1.0;
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  double tok = 0.0;
  for (size_t j = 0; j < m; j++)
    tok = tier_token(s, (size_t)ch[j]) > tok ? tier_token(s, (size_t)ch[j]) : tok;
  double burst = r * win > tok ? r * win : tok;
  double e = s->root_prev_w[k];
  if (t > s->root_prev_ns[k])
    e += r * ((double)(t - s->root_prev_ns[k]) / NS_PER_S);
  if (e > g_now + burst)
    e = g_now + burst;
  if (e < g_now)
    e = g_now;
  if (t >= s->root_prev_ns[k]) {
    s->root_prev_w[k] = e;
    s->root_prev_ns[k] = t;
  }
  return e;
}

/* Shortens the leases below k to k's expiry (through running coordinators:
 * a stopped one passes nothing down, and k's own expiry was kept for what
 * it committed).  A lease that ends now drops to its floor. */
static void shorten(hr_lease_sys_t *s, size_t k, int64_t t)
{
  size_t top = 0;
  s->work[top++] = (int32_t)k;
  while (top) {
    size_t p = (size_t)s->work[--top];
    if (!s->running[p] || s->dead[p])
      continue;
    int64_t pe = s->lease_exp_ns[p];
    size_t m = 0;
    const int32_t *ch = kids(s, p, &m);
    for (size_t j = 0; j < m; j++) {
      size_t c = (size_t)ch[j];
      if (s->lease_exp_ns[c] > pe && s->lease_exp_ns[c] > t) {
        s->lease_exp_ns[c] = pe > t ? pe : t;
        size_t mc = 0;
        kids(s, c, &mc);
        if (mc)
          s->work[top++] = (int32_t)c;
      }
    }
  }
}

static void note_clamp(hr_lease_sys_t *s, size_t k, double excess, int64_t t)
{
  s->stats.clamps++;
  if (excess > s->stats.clamp_max_w)
    s->stats.clamp_max_w = excess;
  s->stats.clamp_node = (size_t)s->tidx[k];
  s->stats.clamp_ns = t;
  if (s->cfg.notify)
    s->cfg.notify(s->cfg.notify_user, s->mode, s->events | s->auto_events | HR_EVENT_CLAMP, t);
}

/* Excess [W] of node k's children at t over what k may give: in total, on
 * any conductor; 0 within the tolerance (1e-9 of the limit + 1 µW: sums
 * in a different order differ by rounding).  Also fixes a child lease that
 * outlives k's (*nest = 1). */
static double excess_at(hr_lease_sys_t *s, size_t k, int64_t t, int *nest)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  double avail = avail_at(s, k, t), sum = 0.0, ph[3] = {0.0, 0.0, 0.0}, w[3], cur[3] = {0.0, 0.0, 0.0};
  int three = s->three[k];
  int64_t pe = is_root(s, k) ? INT64_MAX : s->lease_exp_ns[k];
  for (size_t j = 0; j < m; j++) {
    size_t c = (size_t)ch[j];
    if (s->dead[c])
      continue;
    if (s->lease_exp_ns[c] > pe && s->lease_exp_ns[c] > t) {
      s->lease_exp_ns[c] = pe > t ? pe : t;
      *nest = 1;
    }
    double v = cap_at(s, c, t);
    sum += v;
    if (three) {
      if (s->ph_idx[c] >= 0)
        cur_phase(s, c, t, cur);
      contrib(s, c, k, v, cur, w);
      for (int q = 0; q < 3; q++)
        ph[q] += w[q];
    }
  }
  double ex = sum - avail;
  ex = ex > 1e-9 * avail + 1e-6 ? ex : 0.0;
  if (three) {
    double lim[3];
    phase_avail(s, k, t, s->budget[k].phase_w, lim);
    for (int q = 0; q < 3; q++) {
      double e = ph[q] - lim[q];
      if (e > 1e-9 * lim[q] + 1e-6 && e > ex)
        ex = e;
    }
  }
  return ex;
}

/* The post-condition at node k: if its children hold more than it may give
 * (in total or on a conductor), or a child's lease outlives k's, they are
 * cut (the cut cascade, and every child to what it can be cut to if that is
 * not enough), the event raised and counted: a defect then costs
 * performance and is seen, never a trip.  Returns 1 when it acted. */
static int postcheck_node(hr_lease_sys_t *s, size_t k, int64_t t)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  if (m == 0 || s->dead[k] || !s->running[k])
    return 0;
  int nest = 0;
  double ex = excess_at(s, k, t, &nest);
  if (ex == 0.0 && !nest)
    return 0;
  if (ex > 0.0) {
    fit_from(s, k, t);
    int again = 0;
    if (excess_at(s, k, t, &again) > 0.0) {
      ch = kids(s, k, &m);
      for (size_t j = 0; j < m; j++)
        if (!s->dead[ch[j]] && cut_lease(s, (size_t)ch[j], 0.0, t))
          fit_from(s, (size_t)ch[j], t);
    }
  }
  if (nest)
    shorten(s, k, t);
  note_clamp(s, k, ex, t);
  return 1;
}

/* The post-condition over the whole tree, parents first.  fast: after the
 * fast rebalance, whose visited nodes are s->inner and whose servers with
 * a run of leaves were checked by their batch (batch_flush). */
static void postcheck_all(hr_lease_sys_t *s, int64_t t, int fast)
{
  if (!fast) {
    for (size_t k = 0; k < s->n; k++)
      postcheck_node(s, k, t);
    return;
  }
  for (size_t i = 0; i < s->n_inner; i++) {
    size_t k = (size_t)s->inner[i];
    if (s->leafkids[k] && s->run_tier[k] >= 0 && s->feeds_lost == 0 && s->n_stopped == 0 &&
        !s->three[k])
      continue;
    postcheck_node(s, k, t);
  }
}

/* ---- the request path --------------------------------------------------------- */

int hr_lease_sys_request(hr_lease_sys_t *s, size_t c, double want_w, int64_t t,
                         hr_lease_t *out)
{
  if (!s || c >= s->n || !(want_w >= 0.0))
    return HR_ERR_INVALID_ARG;
  c = (size_t)s->lidx[c];
  if (is_root(s, c))
    return HR_ERR_INVALID_ARG;
  if (s->dead[c])
    return HR_ERR_STATE;
  start_at(s, t);
  update_mode(s, t);
  /* A stopped coordinator answers nothing; a stopped node asks nothing. */
  if (held(s, c))
    return HR_ERR_STATE;
  double hi = want_w;
  if (hi > s->limit[c])
    hi = s->limit[c];
  if (s->mode == HR_MODE_PROTECTION)
    hi = 0.0;
  int ph_c = s->ph_idx[c] >= 0;
  double lph[3] = {0.0, 0.0, 0.0};
  double lst = least(s, c, t, ph_c ? lph : NULL);
  int32_t ps[2] = {s->par[c], s->parb[c]};
  for (int j = 0; j < 2 && hi > lst; j++) {
    if (ps[j] < 0 || s->dead[ps[j]])
      continue;
    size_t p = (size_t)ps[j];
    const hr_coord_cfg_t *pc = s->ccfg[p];
    double avail = avail_at(s, p, t);
    double room = avail - pc->reserve_frac * avail;
    double ph[3] = {0.0, 0.0, 0.0}, w[3], cur[3] = {0.0, 0.0, 0.0}, others = 0.0;
    size_t n = 0;
    const int32_t *ch = kids(s, p, &n);
    /* O(fan-out): the caps of the siblings, expired ones at their floors. */
    for (size_t i = 0; i < n; i++) {
      size_t o = (size_t)ch[i];
      if (o == c || s->dead[o])
        continue;
      double g = cap_at(s, o, t);
      others += g;
      if (s->three[p]) {
        if (s->ph_idx[o] >= 0)
          cur_phase(s, o, t, cur);
        contrib(s, o, p, g, cur, w);
        for (int q = 0; q < 3; q++)
          ph[q] += w[q];
      }
    }
    room -= others;
    if (is_root(s, p)) {
      double e = grid_env(s, p, t, others + cap_at(s, c, t));
      if (e - others < room)
        room = e - others;
    }
    if (room < hi)
      hi = room;
    if (s->three[p]) {
      double lim[3];
      phase_avail(s, p, t, s->budget[p].phase_w, lim);
      uint8_t code = code_of(s, c, p);
      const double *sh = code == PH_NODE ? ph_row(s->sph, s, c) : NULL;
      for (int q = 0; q < 3; q++) {
        double r = lim[q] - ph[q];
        if (sh) {
          if (sh[q] > 0.0 && lst + (r - lph[q]) / sh[q] < hi)
            hi = lst + (r - lph[q]) / sh[q];
        } else if (PH_W[code][q] > 0.0 && r / PH_W[code][q] < hi) {
          hi = r / PH_W[code][q];
        }
      }
    }
  }
  settle(s, c, hi, t, expiry_for(s, c, t));
  size_t m = 0;
  kids(s, c, &m);
  if (m)
    fit_from(s, c, t);
  for (int j = 0; j < 2; j++)
    if (ps[j] >= 0)
      postcheck_node(s, (size_t)ps[j], t);
  s->stats.requests++;
  if (out)
    *out = *lease_view(s, c);
  return HR_OK;
}

/* A node's lease drops to what it can be cut to at t: its floor, or what a
 * stopped coordinator below it committed (then its expiry is kept: the
 * commitments end with it).  Its children are cut and shortened to fit. */
static void drop_lease(hr_lease_sys_t *s, size_t k, int64_t t)
{
  double lph[3];
  int ph = s->ph_idx[k] >= 0;
  double lst = least(s, k, t, ph ? lph : NULL);
  double old = cap_at(s, k, t);
  s->lease_p_w[k] = lst;
  if (ph)
    memcpy(s->pph + 4 * (size_t)s->ph_idx[k], lph, sizeof lph);
  if (lst <= s->floor_w[k] || t >= s->lease_exp_ns[k])
    s->lease_exp_ns[k] = t;
  if (lst < old) {
    s->damp[k] = damp_word(damp_count(s->damp[k]), -1);
    s->last_change_ns[k] = t;
  }
}

int hr_lease_sys_release(hr_lease_sys_t *s, size_t c, int64_t t)
{
  if (!s || c >= s->n)
    return HR_ERR_INVALID_ARG;
  c = (size_t)s->lidx[c];
  if (is_root(s, c))
    return HR_ERR_INVALID_ARG;
  start_at(s, t);
  drop_lease(s, c, t);
  size_t m = 0;
  kids(s, c, &m);
  if (m) {
    fit_from(s, c, t);
    shorten(s, c, t);
  }
  return HR_OK;
}

/* ---- the full rebalance ------------------------------------------------------- */

/* A leaf's demand as the aggregation sees it: within its limit, above its floor. */
static inline double leaf_demand(const hr_lease_sys_t *s, size_t k, const double *demand_w)
{
  double d = demand_w[s->tidx[k]]; /* demand_w is by tree index */
  if (!(d >= 0.0))
    d = 0.0;
  if (d > s->limit[k])
    d = s->limit[k];
  if (d < s->floor_w[k])
    d = s->floor_w[k];
  return d;
}

/* leaf_demand() of the leaves c0 .. c0 + m - 1 into dem_w[0 .. m), the same
 * operations, 8 leaves per AVX-512 instruction. */
HR_LEASE_CLONES
static void run_demand(const hr_lease_sys_t *s, size_t c0, size_t m, const double *demand_w,
                       double *dem_w)
{
  const double *restrict d_in = demand_w + s->tidx[c0]; /* a run in both orders */
  const double *restrict lim = s->limit + c0;
  const double *restrict flo = s->floor_w + c0;
  double *restrict out = dem_w;
#pragma omp simd
  for (size_t j = 0; j < m; j++) {
    double d = d_in[j] >= 0.0 ? d_in[j] : 0.0;
    d = d > lim[j] ? lim[j] : d;
    out[j] = d < flo[j] ? flo[j] : d;
  }
}

/* run_demand() inlined for FILL_M leaves (the common server): the call
 * through the clone's resolver costs more than the 8 clamps. */
static inline void run_demand8(const hr_lease_sys_t *s, size_t c0, const double *demand_w,
                               double *dem_w)
{
  const double *restrict d_in = demand_w + s->tidx[c0]; /* a run in both orders */
  const double *restrict lim = s->limit + c0;
  const double *restrict flo = s->floor_w + c0;
  for (size_t j = 0; j < 8; j++) {
    double d = d_in[j] >= 0.0 ? d_in[j] : 0.0;
    d = d > lim[j] ? lim[j] : d;
    dem_w[j] = d < flo[j] ? flo[j] : d;
  }
}

/* What settle() needs of the coordinator above a run of leaves and of the
 * leaves' tier, read once per run instead of once per leaf. */
typedef struct leaf_rules {
  int grow;           /* 1: increases allowed at all (normal mode) */
  int ramp_finite;
  int protect;        /* protection mode: every want is 0 */
  double ramp_w_per_s;
  double hyst_w;
  int64_t dwell_ns;
  int64_t damp_window_ns;
  int64_t damp_hold_ns;
  int damp_changes;
  double tok_w, tok_inv;
  double step_max_w;  /* step_cap(): the largest increase at once */
} leaf_rules_t;

/* A run of leaves waiting to be settled: leaves c0 .. c0 + m - 1, their
 * wants in the batch's want_w from the run's offset, their expiry. */
typedef struct leaf_seg {
  int32_t c0;
  int32_t m;
  int64_t expiry_ns;
  double avail_w; /* what the leaves' parent may give: the post-condition */
  int32_t node;   /* that parent, -1 when the run is not all of its children */
} leaf_seg_t;

/* Runs of one coordinator setting and one tier, settled together: a server's
 * 8 leaves are one vector iteration whose operations depend on each other,
 * so one call per server would leave the core waiting on that chain; a batch
 * lets consecutive servers' iterations overlap.  Deferring is safe because
 * nothing in a rebalance reads a leaf's lease (a leaf is nobody's parent,
 * and the least grant of a leaf is its floor).  4 servers a batch: a lane
 * fill hands over 8 servers at once, and 4 gave about 3 % over 2 at 640,000
 * GPUs (8 no clear difference from 4; docs/performance.md). */
#define LEAF_BATCH_SEGS 4
#define LEAF_BATCH_LEAVES 512
typedef struct leaf_batch {
  const hr_coord_cfg_t *cc;
  int tier;
  size_t n_seg, n_leaf;
  leaf_seg_t seg[LEAF_BATCH_SEGS];
  double want_w[LEAF_BATCH_LEAVES];
} leaf_batch_t;

/* settle() for the leaves of n_seg runs, none on a lost feed, all of one
 * tier, each with one parent whose coordinator runs: a leaf's least grant is
 * its floor (it passes no cut down) and its expiry is its run's.  Every rule
 * of settle() is computed for both directions and selected, so the inner
 * loop has no branches and runs 8 leaves per AVX-512 instruction; the
 * operations are settle()'s, in its order, so the leases are bit for bit the
 * same (tests/lease/test_fast.c compares the two on random trees).  A
 * rebalance moves about half the grants up and half down, a coin flip to a
 * branch predictor, which is what made the scalar settle() slow here. */
HR_LEASE_CLONES
static void settle_leaves(hr_lease_sys_t *s, const leaf_seg_t *seg, size_t n_seg,
                          const double *want_w, int64_t t, const leaf_rules_t *r)
{
  /* Every lane value is 64 bits wide: the vectoriser sizes its vectors by the
   * narrowest type, and a server has 8 leaves, not 16 or 64. */
  const int64_t grow = r->grow, ramp_finite = r->ramp_finite, protect = r->protect;
  const int64_t damp_changes = r->damp_changes;
  const double ramp = r->ramp_w_per_s, hyst = r->hyst_w, tok = r->tok_w, inv = r->tok_inv;
  const double most = r->step_max_w;
  const int64_t dwell = r->dwell_ns, window = r->damp_window_ns, hold = r->damp_hold_ns;
  for (size_t i = 0; i < n_seg; i++) {
    size_t c0 = (size_t)seg[i].c0, m = (size_t)seg[i].m;
    const int64_t expiry = seg[i].expiry_ns, expired = expiry <= t;
    double *restrict p_w = s->lease_p_w + c0;
    int64_t *restrict exp_ns = s->lease_exp_ns + c0;
    int64_t *restrict granted_ns = s->lease_granted_ns + c0;
    const double *restrict floor_w = s->floor_w + c0;
    int64_t *restrict last_ns = s->last_change_ns + c0;
    int64_t *restrict win_ns = s->win_start_ns + c0;
    int64_t *restrict hold_ns = s->hold_until_ns + c0;
    int64_t *restrict damp = s->damp + c0;
    const double *restrict want = want_w;
    want_w += m;
#pragma omp simd
    for (size_t j = 0; j < m; j++) {
      double flo = floor_w[j];
      const int64_t e0 = exp_ns[j], l0 = last_ns[j], ho = hold_ns[j];
      const double p0 = p_w[j];
      double old = t < e0 ? p0 : flo;
      /* An expiry after the last change was a drop: the ramp counts from it
       * (ramp_from()). */
      const int64_t last = sel_i64((t >= e0) & (p0 > flo) & (e0 > l0), e0, l0);
      /* Bitwise selects where a plain one would become a conditional load
       * or store: AVX2 has only masked moves for those, slow on AMD Zen 3
       * (and +0.0 is the all-zero pattern). */
      double w = bits_f64(f64_bits(want[j]) & ~(uint64_t)-protect);
      double g = w < flo ? flo : w;
      /* Increase: mode, damper and dwell, then ramp, token, hysteresis.  The
       * unsigned difference is t - last without signed overflow. */
      int64_t since = (int64_t)((uint64_t)t - (uint64_t)last);
      int64_t frozen = !grow | (t < ho) | (since < dwell);
      double allow = ramp * (i64_to_f64(since) / NS_PER_S);
      allow = allow > most ? most : allow;
      double top = old + allow;
      double up = (ramp_finite & (g > top)) ? top : g;
      double q = quantize_v(up, flo, tok, inv);
      up = q > old ? q : old;
      up = up - old < hyst ? old : up;
      up = frozen ? old : up;
      /* Cut: at once, rounded down to the token. */
      double down = quantize_v(g, flo, tok, inv);
      g = g > old ? up : g < old ? down : g;
      g = g < flo ? flo : g;
      g = expired ? flo : g;
      /* Damper (see settle()). */
      int64_t dir = (int64_t)(g > old) - (int64_t)(g < old);
      int64_t dw = damp[j];
      int64_t ld = damp_dir(dw);
      int64_t flip = (dir != 0) & (ld != 0) & (dir != ld);
      int64_t ws = win_ns[j];
      int64_t reset = flip & ((int64_t)((uint64_t)t - (uint64_t)ws) > window);
      int64_t nch = sel_i64(reset, 0, damp_count(dw));
      nch += flip & (nch < 255);
      win_ns[j] = sel_i64(reset, t, ws);
      hold_ns[j] = sel_i64(flip & (nch > damp_changes), t + hold, ho);
      damp[j] = damp_word(nch, dir != 0 ? dir : ld);
      last_ns[j] = sel_i64(dir != 0, t, last);
      p_w[j] = g;
      granted_ns[j] = t;
      exp_ns[j] = g > flo ? expiry : t;
    }
  }
}

/* settle() of one node whose least grant is its floor (no coordinator
 * stopped), written as settle_leaves()'s lane: both directions computed and
 * selected.  For the servers' and racks' own leases in the fast rebalance:
 * their direction is a coin flip like the leaves', and the branch misses of
 * settle() cost more than the few extra operations; nothing reads the result
 * soon (a server's budget goes into the deferred lane fill), so the longer
 * dependent chain stays off the critical path.  The same operations as
 * settle_leaves(), so the same lease bit for bit (test_fast compares the fast
 * rebalance with the reference, which uses settle()). */
static inline void settle_bf(hr_lease_sys_t *s, size_t k, double want, int64_t t,
                             int64_t expiry)
{
  const hr_coord_cfg_t *cc = s->ccfg[s->par[k]];
  const int tier = s->tier[k];
  const double tok = s->cfg.tier[tier].token_w, inv = s->tok_inv[tier];
  const double ramp = cc->ramp_w_per_s;
  const int64_t ramp_finite = isfinite(ramp) != 0, grow = s->mode == HR_MODE_NORMAL;
  double flo = s->floor_w[k];
  double old = t < s->lease_exp_ns[k] ? s->lease_p_w[k] : flo;
  double w = s->mode == HR_MODE_PROTECTION ? 0.0 : want;
  double g = w < flo ? flo : w;
  int64_t last = ramp_from(s, k, t);
  int64_t since = (int64_t)((uint64_t)t - (uint64_t)last);
  int64_t hold_old = s->hold_until_ns[k];
  int64_t frozen = !grow | (t < hold_old) | (since < cc->dwell_ns);
  double allow = ramp * ((double)since / NS_PER_S);
  double most = step_cap(cc, tok);
  allow = allow > most ? most : allow;
  double top = old + allow;
  double up = (ramp_finite & (g > top)) ? top : g;
  double q = quantize_v(up, flo, tok, inv);
  up = q > old ? q : old;
  up = up - old < cc->hyst_w ? old : up;
  up = frozen ? old : up;
  double down = quantize_v(g, flo, tok, inv);
  g = g > old ? up : g < old ? down : g;
  g = g < flo ? flo : g;
  g = expiry <= t ? flo : g;
  int64_t dir = (int64_t)(g > old) - (int64_t)(g < old);
  int64_t dw = s->damp[k];
  int64_t ld = damp_dir(dw);
  int64_t flip = (dir != 0) & (ld != 0) & (dir != ld);
  int64_t ws = s->win_start_ns[k];
  int64_t reset = flip & ((int64_t)((uint64_t)t - (uint64_t)ws) > cc->damp_window_ns);
  int64_t nch = reset ? 0 : damp_count(dw);
  nch += flip & (nch < 255);
  s->win_start_ns[k] = reset ? t : ws;
  s->hold_until_ns[k] = (flip & (nch > cc->damp_changes)) ? t + cc->damp_hold_ns : hold_old;
  s->damp[k] = damp_word(nch, dir != 0 ? dir : ld);
  s->last_change_ns[k] = dir != 0 ? t : last;
  s->lease_p_w[k] = g;
  s->lease_granted_ns[k] = t;
  s->lease_exp_ns[k] = g > flo ? expiry : t;
}

/* The rules of settle() for nodes of tier `tier` under coordinator settings cc. */
static leaf_rules_t leaf_rules(const hr_lease_sys_t *s, const hr_coord_cfg_t *cc, int tier)
{
  leaf_rules_t r = {s->mode == HR_MODE_NORMAL, isfinite(cc->ramp_w_per_s) != 0,
                    s->mode == HR_MODE_PROTECTION, cc->ramp_w_per_s, cc->hyst_w, cc->dwell_ns,
                    cc->damp_window_ns, cc->damp_hold_ns, cc->damp_changes,
                    s->cfg.tier[tier].token_w, s->tok_inv[tier],
                    step_cap(cc, s->cfg.tier[tier].token_w)};
  return r;
}

static void batch_flush(hr_lease_sys_t *s, leaf_batch_t *lb, int64_t t)
{
  if (lb->n_seg == 0)
    return;
  const hr_coord_cfg_t *cc = lb->cc;
  leaf_rules_t r = leaf_rules(s, cc, lb->tier);
  settle_leaves(s, lb->seg, lb->n_seg, lb->want_w, t, &r);
  /* The post-condition of a run that is all of its parent's children, while
   * the grants are in cache: their sum within what the parent may give
   * (every one is unexpired or at its floor, and nested by construction). */
  for (size_t i = 0; i < lb->n_seg; i++) {
    const leaf_seg_t *g = &lb->seg[i];
    if (g->node < 0)
      continue;
    double sum = 0.0;
    for (int32_t j = 0; j < g->m; j++)
      sum += s->lease_p_w[g->c0 + j];
    if (sum - g->avail_w > 1e-9 * g->avail_w + 1e-6)
      postcheck_node(s, (size_t)g->node, t);
  }
  lb->n_seg = lb->n_leaf = 0;
}

/* Queues leaves c0 .. c0 + m - 1 (one tier, m <= LEAF_BATCH_LEAVES) under
 * coordinator settings cc, lease expiry expiry_ns; returns where their m
 * wants go, so that a policy can write them there directly. */
static double *batch_slot(hr_lease_sys_t *s, leaf_batch_t *lb, const hr_coord_cfg_t *cc,
                          int tier, size_t c0, size_t m, int64_t expiry_ns, double avail_w,
                          int32_t node, int64_t t)
{
  if (lb->n_seg > 0 && (lb->cc != cc || lb->tier != tier || lb->n_seg == LEAF_BATCH_SEGS ||
                        lb->n_leaf + m > LEAF_BATCH_LEAVES))
    batch_flush(s, lb, t);
  lb->cc = cc;
  lb->tier = tier;
  lb->seg[lb->n_seg].c0 = (int32_t)c0;
  lb->seg[lb->n_seg].m = (int32_t)m;
  lb->seg[lb->n_seg].expiry_ns = expiry_ns;
  lb->seg[lb->n_seg].avail_w = avail_w;
  lb->seg[lb->n_seg].node = node;
  lb->n_seg++;
  double *w = lb->want_w + lb->n_leaf;
  lb->n_leaf += m;
  return w;
}

/* Queues leaves c0 .. c0 + m - 1 (one tier) under coordinator settings cc,
 * wants want_w[0 .. m), lease expiry expiry_ns. */
static void batch_add(hr_lease_sys_t *s, leaf_batch_t *lb, const hr_coord_cfg_t *cc, int tier,
                      size_t c0, size_t m, const double *want_w, int64_t expiry_ns,
                      double avail_w, int32_t node, int64_t t)
{
  if (lb->n_seg > 0 && (lb->cc != cc || lb->tier != tier || lb->n_seg == LEAF_BATCH_SEGS ||
                        lb->n_leaf + m > LEAF_BATCH_LEAVES))
    batch_flush(s, lb, t);
  if (m > LEAF_BATCH_LEAVES) {
    /* A server with more leaves than a batch: settle it in pieces. */
    for (size_t j = 0; j < m; j += LEAF_BATCH_LEAVES) {
      size_t k = m - j < LEAF_BATCH_LEAVES ? m - j : LEAF_BATCH_LEAVES;
      batch_add(s, lb, cc, tier, c0 + j, k, want_w + j, expiry_ns, INFINITY, -1, t);
    }
    if (node >= 0) {
      batch_flush(s, lb, t);
      postcheck_node(s, (size_t)node, t);
    }
    return;
  }
  memcpy(batch_slot(s, lb, cc, tier, c0, m, expiry_ns, avail_w, node, t), want_w,
         m * sizeof *want_w);
}

/* Servers of FILL_M leaves under fair share whose water fills run together,
 * one server per lane (FILL_M lanes): a server's fill is a chain of
 * dependent passes with branches on coin-flip comparisons, which one server
 * at a time leaves the core waiting on or mispredicting; across servers the
 * lanes are independent and the passes branch-free. */
#define FILL_M 8
typedef struct fill_group {
  size_t n;
  const hr_coord_cfg_t *cc[FILL_M];
  int tier[FILL_M];
  size_t c0[FILL_M];
  int64_t expiry_ns[FILL_M];
  double avail_w[FILL_M];
  int32_t node[FILL_M];
  double b[FILL_M];
  double dem[FILL_M][FILL_M]; /* [leaf][server] */
  double flo[FILL_M][FILL_M];
  double out[FILL_M][FILL_M];
} fill_group_t;

/* hr__fair_fill() (hr__policy_alloc's fair share) of the n <= FILL_M servers
 * of a group, each in its lane: the same operations in the same order per
 * lane (sums in leaf order, a pass's level fixed while `left` drops in leaf
 * order), with selects instead of branches, so the same grants bit for bit.
 * Unused lanes have a zero budget and are settled at their floors. */
HR_LEASE_CLONES
static void fill_lanes(fill_group_t *g)
{
  const size_t m = FILL_M;
  double left[FILL_M], act[FILL_M], lam[FILL_M], ext[FILL_M][FILL_M];
  int64_t done[FILL_M], st[FILL_M][FILL_M], any[FILL_M];
  for (size_t l = g->n; l < FILL_M; l++) {
    g->b[l] = 0.0;
    for (size_t j = 0; j < m; j++)
      g->dem[j][l] = g->flo[j][l] = 0.0;
  }
  double sflo[FILL_M], need[FILL_M];
  for (size_t l = 0; l < FILL_M; l++)
    sflo[l] = need[l] = 0.0;
  for (size_t j = 0; j < m; j++)
    for (size_t l = 0; l < FILL_M; l++) {
      sflo[l] += g->flo[j][l];
      ext[j][l] = g->dem[j][l] - g->flo[j][l];
      need[l] += ext[j][l];
    }
  int64_t low[FILL_M];
  for (size_t l = 0; l < FILL_M; l++) {
    low[l] = !(g->b[l] > sflo[l]);
    left[l] = g->b[l] - sflo[l];
    done[l] = low[l] | (need[l] <= left[l]);
    act[l] = (double)m;
  }
  for (size_t j = 0; j < m; j++)
    for (size_t l = 0; l < FILL_M; l++) {
      g->out[j][l] = low[l] ? g->flo[j][l] : g->dem[j][l];
      st[j][l] = 0;
    }
  for (size_t pass = 0; pass <= m; pass++) {
    int64_t all = 1;
    for (size_t l = 0; l < FILL_M; l++)
      all &= done[l];
    if (all)
      break;
    for (size_t l = 0; l < FILL_M; l++) {
      lam[l] = left[l] / act[l];
      any[l] = 0;
    }
    for (size_t j = 0; j < m; j++)
      for (size_t l = 0; l < FILL_M; l++) {
        int64_t sat = !done[l] & !st[j][l] & (ext[j][l] <= lam[l]);
        st[j][l] |= sat;
        any[l] |= sat;
        left[l] = sat ? left[l] - ext[j][l] : left[l];
        act[l] = sat ? act[l] - 1.0 : act[l];
      }
    int64_t fin[FILL_M];
    for (size_t l = 0; l < FILL_M; l++)
      fin[l] = !done[l] & !any[l];
    for (size_t j = 0; j < m; j++)
      for (size_t l = 0; l < FILL_M; l++)
        g->out[j][l] = (fin[l] & !st[j][l]) ? g->flo[j][l] + lam[l] : g->out[j][l];
    for (size_t l = 0; l < FILL_M; l++)
      done[l] |= fin[l] | (act[l] == 0.0);
  }
}

void hr__fill_lanes(size_t n_srv, const double *dem_w, const double *flo_w, const double *b_w,
                    double *out_w)
{
  fill_group_t g;
  g.n = n_srv;
  for (size_t l = 0; l < n_srv; l++) {
    g.b[l] = b_w[l];
    for (size_t j = 0; j < FILL_M; j++) {
      g.dem[j][l] = dem_w[l * FILL_M + j];
      g.flo[j][l] = flo_w[l * FILL_M + j];
    }
  }
  fill_lanes(&g);
  for (size_t l = 0; l < n_srv; l++)
    for (size_t j = 0; j < FILL_M; j++)
      out_w[l * FILL_M + j] = g.out[j][l];
}

static void fill_flush(hr_lease_sys_t *s, fill_group_t *g, leaf_batch_t *lb, int64_t t)
{
  if (g->n == 0)
    return;
  fill_lanes(g);
  for (size_t l = 0; l < g->n; l++) {
    double *w = batch_slot(s, lb, g->cc[l], g->tier[l], g->c0[l], FILL_M, g->expiry_ns[l],
                           g->avail_w[l], g->node[l], t);
    for (size_t j = 0; j < FILL_M; j++)
      w[j] = g->out[j][l];
  }
  g->n = 0;
}

/* Queues a server whose FILL_M leaves c0 .. are a run of one tier: their
 * demands and floors into its lane, its budget b.  Deferring the fill is safe
 * for the reason batch_add's deferring is: nothing reads a leaf's want but
 * its own settle. */
static void fill_add(hr_lease_sys_t *s, fill_group_t *g, leaf_batch_t *lb,
                     const hr_coord_cfg_t *cc, int tier, size_t c0, int64_t expiry_ns, double b,
                     double avail_w, int32_t node, const double *demand_w, int64_t t)
{
  double dem[FILL_M];
  run_demand8(s, c0, demand_w, dem);
  size_t l = g->n;
  g->cc[l] = cc;
  g->tier[l] = tier;
  g->c0[l] = c0;
  g->expiry_ns[l] = expiry_ns;
  g->avail_w[l] = avail_w;
  g->node[l] = node;
  g->b[l] = b;
  for (size_t j = 0; j < FILL_M; j++) {
    g->dem[j][l] = dem[j];
    g->flo[j][l] = s->floor_w[c0 + j];
  }
  if (++g->n == FILL_M)
    fill_flush(s, g, lb, t);
}

/* Inner nodes ahead of the one being split whose records the top-down pass
 * asks the memory for early: a rack comes every 73 nodes of a 64-GPU rack,
 * too far apart for the hardware prefetcher, and its budget record, lease
 * and policy state would otherwise each cost a full memory latency. */
#define PREFETCH_AHEAD 9

static inline void prefetch_node(const hr_lease_sys_t *s, size_t pos, size_t k)
{
  __builtin_prefetch(&s->lease_exp_ns[k]);
  __builtin_prefetch(&s->lease_p_w[k]);
  __builtin_prefetch(&s->last_change_ns[k]);
  __builtin_prefetch(&s->hold_until_ns[k]);
  /* Its flags and settings: one byte or word each in arrays of their own, a
   * server's 9 nodes from the last, so a new line every few servers. */
  __builtin_prefetch(&s->ccfg[k]);
  __builtin_prefetch(&s->limit[k]);
  __builtin_prefetch(&s->ch_off[k]);
  __builtin_prefetch(&s->three[k]);
  __builtin_prefetch(&s->running[k]);
  __builtin_prefetch(&s->tier[k]);
  __builtin_prefetch(&s->pstate[k]);
  if (!s->leafkids[k]) {
    /* A rack: its phase limits and its servers' records (inner_rec_t),
     * ahead of where the hardware prefetcher has got to (they are per
     * position, but a rack's come 9 positions apart). */
    __builtin_prefetch(&s->in_ph[4 * pos]);
    size_t m = s->ch_off[k + 1] - s->ch_off[k];
    if (m > 16)
      return;
    size_t cb = 0;
    const int32_t *cp = kid_pos(s, pos, k, &cb);
    for (size_t j = 0; j < m; j++)
      __builtin_prefetch(&s->in_rec[cb + (size_t)cp[j]]);
    return;
  }
  if (s->run_tier[k] < 0)
    return;
  /* The leaves of a run: their first and last element of every array the
   * split and settle_leaves() read (a run of 8 spans at most two lines). */
  size_t c0 = (size_t)s->ch[s->ch_off[k]], c1 = c0 + (s->ch_off[k + 1] - s->ch_off[k]) - 1;
  const void *p[] = {s->lease_p_w,   s->lease_exp_ns,  s->lease_granted_ns, s->floor_w,
                     s->limit,       s->last_change_ns, s->win_start_ns,    s->hold_until_ns,
                     s->damp};
  /* Every 8-byte array starts its lines at the same elements (table_alloc's
   * lead), so one test tells whether the run spans one line or two. */
  int two = (((c0 - s->lead) ^ (c1 - s->lead)) >> 3) != 0;
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
    __builtin_prefetch((const char *)p[i] + 8 * c0);
    if (two)
      __builtin_prefetch((const char *)p[i] + 8 * c1);
  }
  __builtin_prefetch(&s->prio[c0]);
  __builtin_prefetch(&s->dead[c0]);
}

/* The bottom-up pass's counterpart of prefetch_node(): what it reads of an
 * inner node ahead (it walks backwards, where the racks' child lists and the
 * nodes' own fields come one line each, too sparse for the hardware). */
static inline void prefetch_up(const hr_lease_sys_t *s, size_t k, const double *demand_w)
{
  __builtin_prefetch(&s->limit[k]);
  __builtin_prefetch(&s->floor_w[k]);
  __builtin_prefetch(&s->prio[k]);
  __builtin_prefetch(&s->dead[k]);
  __builtin_prefetch(&s->run_tier[k]);
  __builtin_prefetch(&s->leafkids[k]);
  uint32_t o = s->ch_off[k];
  __builtin_prefetch(&s->ch[o]);
  if (!s->leafkids[k]) {
    __builtin_prefetch(&s->ch_pos[o]);
    return;
  }
  size_t c0 = (size_t)s->ch[o], c1 = c0 + (s->ch_off[k + 1] - o) - 1;
  if (s->run_tier[k] < 0)
    return;
  const double *p[] = {s->limit + c0, s->floor_w + c0, demand_w + s->tidx[c0]};
  for (size_t j = 0; j < sizeof p / sizeof p[0]; j++) {
    __builtin_prefetch(p[j]);
    __builtin_prefetch(p[j] + (c1 - c0));
  }
}

/* Demand of three-phase node k per conductor from its children's demands
 * dem[] (d: their sum): each conductor's is held to the conductor's limit
 * (a phase cannot carry more, however much the others have room), the
 * total follows (the part above the floors in proportion), and the node's
 * shape (sph: load per conductor per watt above its floor) is set from it,
 * for its parent's split and its own per-conductor caps.  Returns the
 * total. */
static double phase_demand(hr_lease_sys_t *s, size_t k, const double *dem, double d)
{
  size_t m = 0;
  const int32_t *ch = kids(s, k, &m);
  double raw[3] = {0.0, 0.0, 0.0}, w[3];
  for (size_t j = 0; j < m; j++) {
    size_t c = (size_t)ch[j];
    if (s->dead[c])
      continue;
    contrib(s, c, k, dem[j], s->ph_idx[c] >= 0 ? ph_row(s->dph, s, c) : NULL, w);
    for (int q = 0; q < 3; q++)
      raw[q] += w[q];
  }
  const double *f = ph_row(s->fph, s, k), *lim = s->budget[k].phase_w;
  double cl[3], a_raw = 0.0, a_cl = 0.0, flo = s->floor_w[k];
  for (int q = 0; q < 3; q++) {
    double l = lim[q] > f[q] ? lim[q] : f[q];
    cl[q] = raw[q] < l ? raw[q] : l;
    cl[q] = cl[q] > f[q] ? cl[q] : f[q];
    a_raw += (raw[q] > f[q] ? raw[q] : f[q]) - f[q];
    a_cl += cl[q] - f[q];
  }
  if (a_raw > 0.0 && a_cl < a_raw && d > flo)
    d = flo + (d - flo) * (a_cl / a_raw);
  if (d > flo && a_cl > 0.0) {
    double *sh = s->sph + 4 * (size_t)s->ph_idx[k];
    for (int q = 0; q < 3; q++)
      sh[q] = (cl[q] - f[q]) / (d - flo);
  }
  return d;
}

/* The rebalance.  fast = 0 is the reference form: it visits every node and
 * settles leaves with settle(); fast = 1 visits only s->inner, aggregates
 * and settles the leaves of leafkids nodes inside their parent's step with
 * settle_leaves().  Both give the same leases, bit for bit. */
static int rebalance(hr_lease_sys_t *s, const double *demand_w, int64_t t, int fast)
{
  if (!s || !demand_w)
    return HR_ERR_INVALID_ARG;
  start_at(s, t);
  update_mode(s, t);
  size_t n_visit = fast ? s->n_inner : s->n;
  /* Bottom-up: demand of a node = the sum of its children's, within its
   * limit and above its floor.  A dual-corded child counts in full on both
   * sides (each feed must carry it alone). */
  for (size_t i = n_visit; i-- > 0;) {
    size_t k = fast ? (size_t)s->inner[i] : i;
    if (fast && i >= PREFETCH_AHEAD)
      prefetch_up(s, (size_t)s->inner[i - PREFETCH_AHEAD], demand_w);
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    double d;
    if (m == 0) {
      d = demand_w[s->tidx[k]];
      if (!(d >= 0.0))
        d = 0.0;
    } else if (s->ph_idx[k] >= 0) {
      /* A three-phase node: its children's demands kept (s->alloc) for the
       * per-conductor demand; the sum in the same order as below. */
      d = 0.0;
      for (size_t j = 0; j < m; j++) {
        size_t c = (size_t)ch[j];
        double v;
        if (s->leafkids[k])
          v = leaf_demand(s, c, demand_w);
        else if (fast) {
          size_t cb = 0;
          const int32_t *cp = kid_pos(s, i, k, &cb);
          v = s->in_rec[cb + (size_t)cp[j]].agg_w;
        } else
          v = s->agg_w[c];
        s->alloc[j] = v;
        d += v;
      }
      d = phase_demand(s, k, s->alloc, d);
    } else if (fast && s->run_tier[k] >= 0) {
      /* Clamps in vectors, then the sum in the reference's order. */
      d = 0.0;
      if (m == 8) {
        double dem[8]; /* a local array: with s->alloc the clamps stay scalar (aliasing) */
        run_demand8(s, (size_t)ch[0], demand_w, dem);
        for (size_t j = 0; j < 8; j++)
          d += dem[j];
      } else {
        run_demand(s, (size_t)ch[0], m, demand_w, s->alloc);
        for (size_t j = 0; j < m; j++)
          d += s->alloc[j];
      }
    } else if (fast && s->leafkids[k]) {
      d = 0.0;
      for (size_t j = 0; j < m; j++)
        d += leaf_demand(s, (size_t)ch[j], demand_w);
    } else if (fast) {
      size_t cb = 0;
      const int32_t *cp = kid_pos(s, i, k, &cb);
      d = 0.0;
      for (size_t j = 0; j < m; j++)
        d += s->in_rec[cb + (size_t)cp[j]].agg_w;
    } else {
      d = 0.0;
      for (size_t j = 0; j < m; j++)
        d += s->agg_w[ch[j]];
    }
    if (d > s->limit[k])
      d = s->limit[k];
    if (d < s->floor_w[k])
      d = s->floor_w[k];
    if (s->ph_idx[k] >= 0) {
      /* Its demand per conductor as its parent sees it: floors plus the
       * shape times the part above them. */
      const double *f = ph_row(s->fph, s, k), *sh = ph_row(s->sph, s, k);
      double *dp = s->dph + 4 * (size_t)s->ph_idx[k];
      for (int q = 0; q < 3; q++)
        dp[q] = f[q] + sh[q] * (d - s->floor_w[k]);
    }
    if (fast) {
      inner_rec_t *r = &s->in_rec[i];
      r->agg_w = d;
      r->flo_w = s->floor_w[k];
      r->offer_w = INFINITY;
      r->prio = s->prio[k];
      r->dead = s->dead[k];
    } else {
      s->agg_w[k] = d;
      s->offer_w[k] = INFINITY;
    }
  }
  /* Top-down: settle a node's own lease from its parents' offers, then split
   * its cap among its children. */
  leaf_batch_t lb;
  lb.n_seg = lb.n_leaf = 0;
  fill_group_t fg;
  fg.n = 0;
  for (size_t i = 0; i < n_visit; i++) {
    size_t k = fast ? (size_t)s->inner[i] : i;
    if (fast && i + PREFETCH_AHEAD < n_visit)
      prefetch_node(s, i + PREFETCH_AHEAD, (size_t)s->inner[i + PREFETCH_AHEAD]);
    if (s->dead[k])
      continue;
    /* A node offered nothing (its parents are stopped) keeps its old lease,
     * which runs out by itself; one with a stopped parent or process is only
     * cut by the running side (held); its own coordinator may still run. */
    double offer = fast ? s->in_rec[i].offer_w : s->offer_w[k];
    if (!is_root(s, k) && isfinite(offer)) {
      double want = offer;
      if (s->mode == HR_MODE_PROTECTION)
        want = 0.0;
      if (s->n_stopped && held(s, k)) {
        cut_lease(s, k, want, t);
      } else if (fast && s->n_stopped == 0) {
        settle_bf(s, k, want, t, expiry_for(s, k, t));
        if (s->ph_idx[k] >= 0)
          set_pph(s, k, s->lease_p_w[k], s->floor_w[k], ph_row(s->fph, s, k));
      } else {
        settle(s, k, want, t, expiry_for(s, k, t));
      }
    }
    size_t m = 0;
    const int32_t *ch = kids(s, k, &m);
    if (m == 0 || !s->running[k])
      continue;
    int leaf_step = fast && s->leafkids[k];
    const hr_coord_cfg_t *cc = s->ccfg[k];
    /* avail_at, inlined (an exported call goes through the PLT). */
    double b = cap_at(s, k, t);
    if (!(b < s->limit[k] || s->dead[k]))
      b = s->limit[k];
    b -= cc->reserve_frac * b;
    if (is_root(s, k) && tnode(s, k)->grid) {
      /* Grid-facing ramp limit at the site node (grid_env). */
      double e = grid_env(s, k, t, granted_under(s, k, t));
      if (e < b)
        b = e;
    }
    size_t n_dead = 0;
    /* A run of leaves (consecutive, one tier), none dead or held. */
    int run = leaf_step && s->run_tier[k] >= 0 && s->feeds_lost == 0 && s->n_stopped == 0;
    if (run && cc->policy == HR_POLICY_FAIR && m <= 64 && !s->three[k]) {
      /* The common server: a run of leaves, fair share, no phase limits.  The
       * policy reads the floors where they lie and writes the wants straight
       * into the batch (the steps below, without the copies). */
      size_t c0 = (size_t)ch[0];
      int tier = s->run_tier[k];
      int64_t pe = is_root(s, k) ? INT64_MAX : s->lease_exp_ns[k];
      int64_t e = t + s->cfg.tier[tier].ttl_ns;
      double av = avail_at(s, k, t);
      if (m == FILL_M) {
        fill_add(s, &fg, &lb, cc, tier, c0, e < pe ? e : pe, b, av, (int32_t)k, demand_w, t);
        continue;
      }
      double dem[64];
      run_demand(s, c0, m, demand_w, dem);
      hr__fair_fill(m, dem, s->floor_w + c0, b,
                    batch_slot(s, &lb, cc, tier, c0, m, e < pe ? e : pe, av, (int32_t)k, t));
      continue;
    } else if (run) {
      /* A run: clamps in vectors. */
      size_t c0 = (size_t)ch[0];
      run_demand(s, c0, m, demand_w, s->alloc);
      for (size_t j = 0; j < m; j++) {
        s->items[j].dem_w = s->alloc[j];
        s->items[j].flo_w = s->floor_w[c0 + j];
        s->items[j].prio = s->prio[c0 + j];
      }
    } else if (leaf_step) {
      /* Leaves: the aggregate is recomputed from demand_w rather than stored
       * (one array less to write and read back), and a leaf's least grant is
       * its floor (least()). */
      for (size_t j = 0; j < m; j++) {
        size_t c = (size_t)ch[j];
        int dc = s->dead[c];
        n_dead += (size_t)dc;
        double dem = dc ? 0.0 : leaf_demand(s, c, demand_w);
        if (s->n_stopped && held(s, c)) {
          double g = cap_at(s, c, t);
          dem = dem < g ? dem : g;
        }
        s->items[j].dem_w = dem;
        s->items[j].flo_w = dc ? 0.0 : s->floor_w[c];
        s->items[j].prio = s->prio[c];
      }
    } else if (fast) {
      /* The children's records, filled by the bottom-up pass; their least
       * grant is their floor unless a coordinator is stopped (least()). */
      size_t cb = 0;
      const int32_t *cp = kid_pos(s, i, k, &cb);
      for (size_t j = 0; j < m; j++) {
        const inner_rec_t *r = &s->in_rec[cb + (size_t)cp[j]];
        double dem = r->agg_w, flo = s->n_stopped ? least(s, (size_t)ch[j], t, NULL) : r->flo_w;
        if (s->n_stopped && held(s, (size_t)ch[j])) {
          /* It cannot take more now, only be cut. */
          double c = cap_at(s, (size_t)ch[j], t);
          dem = dem < c ? dem : c;
        }
        dem = r->dead ? 0.0 : dem;
        flo = r->dead ? 0.0 : flo;
        s->items[j].dem_w = dem < flo ? flo : dem;
        s->items[j].flo_w = flo;
        s->items[j].prio = r->prio;
      }
    } else {
      for (size_t j = 0; j < m; j++) {
        size_t c = (size_t)ch[j];
        double dem = s->dead[c] ? 0.0 : s->agg_w[c];
        double flo = s->dead[c] ? 0.0 : least(s, c, t, NULL);
        if (s->n_stopped && held(s, c)) {
          double g = cap_at(s, c, t);
          dem = dem < g ? dem : g;
        }
        s->items[j].dem_w = dem < flo ? flo : dem;
        s->items[j].flo_w = flo;
        s->items[j].prio = s->prio[c];
      }
    }
    hr__policy_alloc(cc, &s->pstate[k], m, s->items, b, s->alloc, s->scratch);
    if (s->three[k]) {
      /* Every conductor of a three-phase node: each child's load on it is
       * modelled from its least and its shape (child_model), and the parts
       * above the least are scaled where a conductor is over (fit_phases). */
      for (size_t j = 0; j < m; j++) {
        size_t c = (size_t)ch[j];
        double lph[3];
        const double *lp = NULL;
        if (code_of(s, c, k) == PH_NODE) {
          if (s->n_stopped) {
            least(s, c, t, lph);
            lp = lph;
          } else {
            lp = ph_row(s->fph, s, c);
          }
        }
        child_model(s, c, k, t, s->items[j].flo_w, lp, !(s->n_stopped && held(s, c)), j);
      }
      double lim[3];
      phase_avail(s, k, t, fast ? &s->in_ph[4 * i] : s->budget[k].phase_w, lim);
      fit_phases(m, s->items, s->ml, s->ms, lim, s->alloc);
    }
    if (s->leafkids[k]) {
      /* Children that are single-parent leaves (GPUs under a server): settle
       * them now, while their data is in cache, and mark them done (NAN). */
      int64_t pe = is_root(s, k) ? INT64_MAX : s->lease_exp_ns[k];
      int prot = s->mode == HR_MODE_PROTECTION;
      if (fast) {
        int tier = s->run_tier[k];
        double av = avail_at(s, k, t);
        if (run) {
          /* One run: consecutive, one tier (expiry_for, with the one parent known). */
          int64_t e = t + s->cfg.tier[tier].ttl_ns;
          batch_add(s, &lb, cc, tier, (size_t)ch[0], m, s->alloc, e < pe ? e : pe, av, (int32_t)k,
                    t);
        } else {
          for (size_t j = 0; j < m; j++) {
            size_t c = (size_t)ch[j];
            if (s->dead[c])
              continue;
            if (s->n_stopped && held(s, c)) {
              cut_lease(s, c, prot ? 0.0 : s->alloc[j], t);
              continue;
            }
            int64_t e = t + tier_ttl(s, c);
            batch_add(s, &lb, cc, s->tier[c], c, 1, &s->alloc[j], e < pe ? e : pe, INFINITY, -1,
                      t);
          }
        }
        continue;
      }
      for (size_t j = 0; j < m; j++) {
        size_t c = (size_t)ch[j];
        if (s->dead[c])
          continue;
        double want = prot ? 0.0 : s->alloc[j];
        int64_t e = t + tier_ttl(s, c); /* expiry_for, with the one parent known */
        if (s->n_stopped && held(s, c))
          cut_lease(s, c, want, t);
        else
          settle(s, c, want, t, e < pe ? e : pe);
        s->offer_w[c] = NAN;
      }
      continue;
    }
    if (fast) {
      size_t cb = 0;
      const int32_t *cp = kid_pos(s, i, k, &cb);
      int now = s->kidrun[k] && s->n_stopped == 0 && s->feeds_lost == 0;
      for (size_t j = 0; j < m && now; j++)
        now = isfinite(s->alloc[j]) != 0;
      if (now) {
        /* Children with this node as their one parent, nobody stopped, no
         * feed lost: each child's offer is its grant here, its least grant
         * its floor, its expiry expiry_for()'s, the same for all; so their
         * own leases are settled now as one run, with the leaves' kernel
         * (settle_bf's operations, 8 to a vector), and their visits skip
         * the settle (offer NAN).  Nothing reads a child's lease before its
         * visit but this. */
        size_t c0 = (size_t)ch[0];
        int tier = s->tier[c0];
        int64_t e = t + s->cfg.tier[tier].ttl_ns;
        if (!is_root(s, k) && s->lease_exp_ns[k] < e)
          e = s->lease_exp_ns[k];
        leaf_seg_t seg = {(int32_t)c0, (int32_t)m, e, INFINITY, -1};
        leaf_rules_t r = leaf_rules(s, cc, tier);
        settle_leaves(s, &seg, 1, s->alloc, t, &r);
        for (size_t j = 0; j < m; j++) {
          s->in_rec[cb + (size_t)cp[j]].offer_w = NAN;
          if (s->ph_idx[c0 + j] >= 0)
            set_pph(s, c0 + j, s->lease_p_w[c0 + j], s->floor_w[c0 + j],
                    ph_row(s->fph, s, c0 + j));
        }
        continue;
      }
      for (size_t j = 0; j < m; j++) {
        inner_rec_t *r = &s->in_rec[cb + (size_t)cp[j]];
        if (!isnan(r->offer_w) && s->alloc[j] < r->offer_w)
          r->offer_w = s->alloc[j];
      }
      continue;
    }
    for (size_t j = 0; j < m; j++) {
      size_t c = (size_t)ch[j];
      if (!isnan(s->offer_w[c]) && s->alloc[j] < s->offer_w[c])
        s->offer_w[c] = s->alloc[j];
    }
  }
  if (fast) {
    fill_flush(s, &fg, &lb, t);
    batch_flush(s, &lb, t);
  }
  /* The post-condition: the leaves settled in runs were checked by their
   * batch (batch_flush); the rest here. */
  postcheck_all(s, t, fast);
  s->stats.rebalances++;
  return HR_OK;
}

int hr_lease_sys_rebalance(hr_lease_sys_t *s, const double *demand_w, int64_t t)
{
  return rebalance(s, demand_w, t, 1);
}

int hr__lease_sys_rebalance_ref(hr_lease_sys_t *s, const double *demand_w, int64_t t)
{
  return rebalance(s, demand_w, t, 0);
}

int hr__lease_sys_osc(const hr_lease_sys_t *s, size_t k, int64_t out[5])
{
  if (!s || !out || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  out[0] = s->last_change_ns[k];
  out[1] = s->win_start_ns[k];
  out[2] = s->hold_until_ns[k];
  out[3] = damp_dir(s->damp[k]);
  out[4] = damp_count(s->damp[k]);
  return HR_OK;
}

int hr_lease_sys_osc(const hr_lease_sys_t *s, size_t k, hr_lease_osc_t *out)
{
  if (!s || !out || k >= s->n)
    return HR_ERR_INVALID_ARG;
  k = (size_t)s->lidx[k];
  int64_t never = INT64_MIN / 2;
  out->last_change_ns = s->last_change_ns[k] == never ? INT64_MIN : s->last_change_ns[k];
  int64_t e = s->lease_exp_ns[k], from = s->last_change_ns[k];
  /* As ramp_from(), for any later t: a lease still running drops at its
   * expiry, which is when the ramp will count from if nothing changes first. */
  if (s->lease_p_w[k] > s->floor_w[k] && e > from && e != INT64_MIN)
    from = e;
  out->ramp_from_ns = from == never ? INT64_MIN : from;
  out->damp_window_ns = s->win_start_ns[k];
  out->hold_until_ns = s->hold_until_ns[k];
  out->last_dir = (int)damp_dir(s->damp[k]);
  out->n_changes = (int)damp_count(s->damp[k]);
  return HR_OK;
}

int hr_lease_sys_stats(const hr_lease_sys_t *s, hr_lease_stats_t *out)
{
  if (!s || !out)
    return HR_ERR_INVALID_ARG;
  *out = s->stats;
  return HR_OK;
}

/* ---- modes ---------------------------------------------------------------------- */

static hr_mode_t mode_for(unsigned ev)
{
  if (ev & HR_EVENT_FEED_LOSS)
    return HR_MODE_PROTECTION;
  if (ev & (HR_EVENT_TELEMETRY_LOSS | HR_EVENT_COORD_LOSS | HR_EVENT_UTILITY_LOSS))
    return HR_MODE_DEGRADED;
  return HR_MODE_NORMAL;
}

/* Protection: every lease revoked at once, each holder at its floor, except
 * what cannot be reached: the leases granted by a stopped coordinator stay
 * (it passes nothing down), and a node above one keeps what it committed. */
static void revoke_all(hr_lease_sys_t *s, int64_t t)
{
  for (size_t k = 0; k < s->n; k++) {
    if (is_root(s, k) || s->dead[k])
      continue;
    int32_t a = s->par[k], b = s->parb[k];
    if (s->n_stopped && ((a >= 0 && !s->dead[a] && !s->running[a]) ||
                         (b >= 0 && !s->dead[b] && !s->running[b])))
      continue;
    drop_lease(s, k, t);
  }
}

static void enter_mode(hr_lease_sys_t *s, hr_mode_t m, int64_t t)
{
  if (m == s->mode)
    return;
  s->mode = m;
  if (m == HR_MODE_PROTECTION)
    revoke_all(s, t);
  else if (m == HR_MODE_DEGRADED)
    cut_all(s, t); /* the roots' budgets fell by degraded_frac */
  if (s->cfg.notify)
    s->cfg.notify(s->cfg.notify_user, m, s->events | s->auto_events, t);
}

/* The mode follows the events (the caller's and the system's own): it
 * worsens at once, and improves one step at a time, each only after the
 * events have been clear (or milder) for stable_ns. */
static void update_mode(hr_lease_sys_t *s, int64_t t)
{
  unsigned ev = s->events | s->auto_events;
  hr_mode_t want = mode_for(ev);
  if (ev != s->ev_seen || want > s->mode)
    s->calm_since_ns = t;
  s->ev_seen = ev;
  if (want > s->mode) {
    enter_mode(s, want, t);
  } else if (want < s->mode && t - s->calm_since_ns >= s->cfg.stable_ns) {
    enter_mode(s, (hr_mode_t)(s->mode - 1), t);
    s->calm_since_ns = t;
  }
}

int hr_lease_sys_set_events(hr_lease_sys_t *s, unsigned events, int64_t t)
{
  if (!s)
    return HR_ERR_INVALID_ARG;
  start_at(s, t);
  s->events = events & ~(unsigned)HR_EVENT_CLAMP;
  update_mode(s, t);
  return HR_OK;
}

hr_mode_t hr_lease_sys_mode(const hr_lease_sys_t *s)
{
  return s ? s->mode : HR_MODE_NORMAL;
}

unsigned hr_lease_sys_events(const hr_lease_sys_t *s)
{
  return s ? s->events | s->auto_events : 0u;
}

int hr_lease_sys_set_feed_lost(hr_lease_sys_t *s, unsigned feeds, int64_t t)
{
  if (!s || feeds > HR_FEED_AB)
    return HR_ERR_INVALID_ARG;
  start_at(s, t);
  s->feeds_lost = feeds;
  for (size_t k = 0; k < s->n; k++) {
    unsigned f = tnode(s, k)->feed;
    s->dead[k] = (f == HR_FEED_A || f == HR_FEED_B) && (f & feeds) ? 1 : 0;
    if (f == HR_FEED_AB && (feeds & HR_FEED_AB) == HR_FEED_AB)
      s->dead[k] = 1;
  }
  int rc = apply_budgets(s, t);
  /* Losing a feed is a protection event (orchestration.md §3.5). */
  if (feeds)
    s->auto_events |= HR_EVENT_FEED_LOSS;
  else
    s->auto_events &= ~(unsigned)HR_EVENT_FEED_LOSS;
  update_mode(s, t);
  return rc;
}

/* ---- in-process transport -------------------------------------------------------- */

static int tp_request(void *ctx, size_t node, double want_w, int64_t t, hr_lease_t *out)
{
  return hr_lease_sys_request((hr_lease_sys_t *)ctx, node, want_w, t, out);
}

static int tp_release(void *ctx, size_t node, int64_t t)
{
  return hr_lease_sys_release((hr_lease_sys_t *)ctx, node, t);
}

int hr_lease_transport_inproc(hr_lease_sys_t *s, hr_lease_transport_t *tp)
{
  if (!s || !tp)
    return HR_ERR_INVALID_ARG;
  tp->ctx = s;
  tp->request = tp_request;
  tp->release = tp_release;
  return HR_OK;
}
