/* The lease system's private layout and the rules every path shares
 * (request, the reference and the fast rebalance, cuts, modes), for the
 * files of src/lease.  docs/lease.md describes the rules; this header holds
 * the data they act on and the small inline helpers the hot loops need
 * inlined across files. */
#ifndef HR_LEASE_SYS_H
#define HR_LEASE_SYS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lease/lease_int.h"

#define NS_PER_S 1e9

/* Room for the lease system's tables (layout.c makes 60 today). */
#define HR__LEASE_MAX_TABLES 96

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
  int32_t *tidx; /* tree index of node k */
  int32_t *lidx; /* node k of tree index u: lidx[u] */
  size_t lead;   /* the per-node arrays' element that starts a cache line
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
  hr_lease_t *view; /* hr_lease_sys_lease's copies, one per node */
  double *floor_w;
  double *agg_w;   /* rebalance: aggregated demand */
  double *mean_w;  /* exponential mean of the observed power, cfg.budget.cont_window_s */
  double *offer_w; /* rebalance: smallest offer of the parents, NAN = none */
  const hr_coord_cfg_t **ccfg;
  hr_coord_cfg_t *own_cfg; /* per-node overrides, allocated at setup */
  unsigned char *rated;    /* 255: default, else 0/1 */
  unsigned char *running;
  unsigned char *dead; /* carries nothing: on a lost feed, or its device or every
                          parent's is tripped (hr__lease_mark_dead) */
  uint8_t *pstate;     /* policy memory */
  /* Anti-oscillation state of k's grant (hr__lease_settle()), one array per field. */
  int64_t *last_change_ns;
  int64_t *win_start_ns;
  int64_t *hold_until_ns;
  int64_t *damp;       /* 4 x direction changes + (last direction + 1); one word,
                          64 bits wide like every lane of settle_leaves() */
  double *root_prev_w; /* roots: total granted at the last rebalance */
  int64_t *root_prev_ns;
  unsigned char *dev_mem; /* one hr_device_t per node with a device */
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
  int any_dead;     /* a feed is lost or some node is dead: the fast rebalance's
                       runs assume neither */
  size_t n_stopped; /* coordinators stopped (eflo's fast path when 0) */
  /* Hot copies of the tree's links, packed so that a rebalance streams a
   * few bytes per node instead of whole hr_tree_node_t records. */
  int32_t *par, *parb;
  uint8_t *tier;
  uint32_t *ch_off; /* children of k: ch[ch_off[k] .. ch_off[k + 1]) */
  int32_t *ch;
  double *limit;      /* budget[k].limit_w */
  uint8_t *pha, *phb; /* phase-weight codes as parent / parent_b sees k */
  uint8_t *three;     /* 1: three-phase node */
  uint8_t *ch_ph;     /* phase-weight code of ch[i] as its parent sees it (PH_W) */
  int32_t *prio;      /* priority of k's lease */
  uint8_t *leafkids;  /* 1: every child is a leaf with one parent */
  int8_t *run_tier;   /* leafkids nodes whose children are consecutive nodes of
                         one tier: that tier, else -1 (settle_leaves) */
  uint8_t *kidrun;    /* 1: not leafkids, and the children are consecutive nodes of
                         one tier, single-fed, each with children of its own (a
                         rack's servers): the fast rebalance settles their own
                         leases in the parent's step with settle_leaves() */
  int32_t *inner;     /* the nodes a rebalance visits: all but the children of
                         leafkids nodes, which their parent settles (topological) */
  size_t n_inner;
  int32_t *in_pos;               /* k's position in inner, -1 when not visited */
  double *in_ph;                 /* budget[k].phase_w of inner[i] at in_ph[4 i] (budget_of):
                                    in visit order, so the racks' limits stream in sequence
                                    instead of each costing a miss on a 48-byte record */
  inner_rec_t *in_rec;           /* fast rebalance: per position in inner */
  int32_t *ch_pos;               /* in_pos[ch[i]] */
  int32_t *in_cp0;               /* per position: the children's first position when they are
                                    consecutive positions (a rack's servers), else -1 (kid_pos) */
  int32_t *iota;                 /* 0, 1, .. max_fan - 1 */
  double tok_inv[HR_TIER_COUNT]; /* 1 / token_w */
  /* Per-phase accounting (docs/lease.md, "Per phase"): a three-phase node
   * with children holds a cap per conductor as well as its total, because
   * its subtree can load one conductor far more than the others (single-phase
   * servers on one phase).  ph_idx[k] indexes the tables below (4 doubles an
   * entry, the 4th unused), -1 for every other node. */
  int32_t *ph_idx;
  size_t n_ph;
  double *fph;     /* floors per conductor: the children's, mapped */
  double *pph;     /* per-conductor lease caps (before expiry) */
  double *sph;     /* shape: conductor load per watt above the floor of the
                      node's demand (last rebalance; at setup, of its
                      children's room) */
  double *dph;     /* rebalance: demand per conductor */
  double *lim_eff; /* budgets: the smallest limit on the path from a root */
  /* Static safe shares (safe.c, hr_lease_sys_safe_share): the total and,
   * for a node with per-phase tables, per conductor (4 doubles a node);
   * safe_r: the continuous rating each is weighted by. */
  double *safe_w, *safe_ph, *safe_r;
  /* Overheads (hr_lease_sys_set_overhead; NULL until the first): each
   * node's own, the sum at and below it, and per conductor for a node with
   * per-phase tables (4 doubles an entry, by ph_idx).  Allocated apart from
   * the tables (hr_lease_sys_destroy frees them). */
  double *ovh_own, *ovh_w, *ovh_ph;
  /* Supplies in place of the utility (hr_lease_sys_set_supply; NULL until
   * the first): each root's rating at its input [W], INFINITY where none;
   * sup_all: every root holds one. */
  double *sup_w;
  int sup_all;
  uint8_t *cutoff;  /* 1: the node's coordinator or one above it is stopped */
  uint8_t *revived; /* 1: found back from the dead by hr__lease_mark_dead,
                       until hr__lease_apply_budgets has acted on it */
  int any_revived;  /* some revived[k] is 1 */
  int safe_dirty;   /* ratings, floors or reserves changed while a coordinator was
                       stopped: safe shares recomputed when none is */
  int64_t *cut_ns;  /* when cutoff last became 1: a lease that expired before
                       fell to its floor then, and stays there */
  /* scratch of a split at a three-phase node: per child, its least load per
   * conductor (ml) and its load per watt above that (ms), 3 doubles each */
  double *ml, *ms;
  int32_t *work;   /* cut cascade work list (n) */
  uint8_t *queued; /* 1: on the work list */
  uint8_t *phkids; /* 1: some child is PH_NODE to this node */
  uint8_t *chk;    /* fast rebalance, per visit position: post-condition done in step */
  /* the first time the system was given: caps never changed count from it */
  int started;
  unsigned auto_events; /* HR_EVENT_COORD_LOSS / FEED_LOSS the system holds itself */
  unsigned ev_seen;     /* the events the mode last followed */
  hr_lease_stats_t stats;
  /* The exact skip of a rebalance that would change nothing but the lease
   * times (hr_lease_sys_rebalance, docs/lease.md "Skipping a rebalance").
   * A full rebalance records whether it was a fixed point with nothing
   * time-dependent binding (skip_ok); the next one with the same demands,
   * nothing changed in between (hr__lease_skip_off) and no lease above its
   * floor run out only renews the leases. */
  int no_skip;           /* hr__lease_set_plain: every rebalance in full */
  int skip_ok;           /* the record holds */
  int64_t skip_bad;      /* set by the settles of a full rebalance: a lease
                            moved, or an increase was held back by a limit that
                            time releases (dwell, damper hold, ramp), or the
                            site's grid envelope bound */
  size_t skip_nset;      /* leases settled by the full rebalance */
  int64_t skip_t_ns;     /* the last rebalance's time (full or skipped) */
  int64_t skip_exp_ns;   /* the earliest expiry of a lease above its floor */
  int env_top;           /* hr__lease_grid_env's last value was its top (g_now + burst) */
  int64_t skip_until_ns; /* the earliest end of a freeze (dwell, damper hold)
                            that holds back an increase */
  int skip_grid;         /* some root has grid limits (its envelope advances) */
  uint64_t skipped;      /* rebalances skipped (tests; not in stats) */
  double *skip_dem;      /* the demands of the recorded rebalance (tree index) */
  uint8_t *skip_pst;     /* policy memory before it */
  void *tables[HR__LEASE_MAX_TABLES]; /* every ALLOC'd table, for destroy */
  size_t n_tables;
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
  uint64_t hi =
      (((uint64_t)x >> 32) ^ 0x80000000u) | 0x4530000000000000u;   /* 2^84 + 2^63 + hi 2^32 */
  uint64_t lo = ((uint64_t)x & 0xffffffffu) | 0x4330000000000000u; /* 2^52 + lo */
  uint64_t off = 0x4530000080100000u;                              /* 2^84 + 2^63 + 2^52 */
  return (bits_f64(hi) - bits_f64(off)) + bits_f64(lo);
}

static inline int is_root(const hr_lease_sys_t *s, size_t k)
{
  return s->par[k] < 0;
}

double hr__lease_least(const hr_lease_sys_t *s, size_t c, int64_t t, double *lph);

/* What node k's lease falls to once expired: its floor, or with
 * HR_EXPIRY_SAFE_SHARE below a stopped coordinator min(its last grant, its
 * safe share), never below the floor (so never above what it held). */
static inline double hr__lease_fallback_w(const hr_lease_sys_t *s, size_t k)
{
  double f = s->floor_w[k];
  if (!s->cfg.expiry_fallback || s->n_stopped == 0 || !s->cutoff[k] ||
      s->lease_exp_ns[k] <= s->cut_ns[k])
    return f;
  double v = s->lease_p_w[k] < s->safe_w[k] ? s->lease_p_w[k] : s->safe_w[k];
  return v > f ? v : f;
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
  if (t < s->lease_exp_ns[k])
    return s->lease_p_w[k];
  /* With the safe-share fallback, what lies below a stopped coordinator
   * outlives its own lease: once that ran out, its cap is what its
   * subtree may still draw, its children's commitments (as its parents
   * count it). */
  if (s->cfg.expiry_fallback && s->n_stopped && !s->running[k]) {
    /* (never above its last grant: an expiry raises nothing) */
    double l = hr__lease_least(s, k, t, NULL);
    l = l < s->lease_p_w[k] ? l : s->lease_p_w[k];
    return l > s->floor_w[k] ? l : s->floor_w[k];
  }
  return hr__lease_fallback_w(s, k);
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

/* The same from a table: every distinct weight vector gets a code at setup
 * (one byte per node and side), so the hot loops never touch the tree.
 * PH_NODE marks a three-phase child with children under a three-phase
 * parent: its load per conductor is its own (ph_idx tables). */
#define PH_NODE 8
static const double PH_W[9][3] = {{1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0},
                                  {1, 0, 0},
                                  {0, 1, 0},
                                  {0, 0, 1},
                                  {0.57735026918962576, 0.57735026918962576, 0},
                                  {0, 0.57735026918962576, 0.57735026918962576},
                                  {0.57735026918962576, 0, 0.57735026918962576},
                                  {1, 0, 0},
                                  {1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0}};

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
  if (t >= s->lease_exp_ns[k] && s->cfg.expiry_fallback && s->n_stopped && !s->running[k]) {
    /* as cap_at: its children's commitments, within its last grant */
    const double *p = ph_row(s->pph, s, k);
    hr__lease_least(s, k, t, out);
    for (int q = 0; q < 3; q++) {
      double x = out[q] < p[q] ? out[q] : p[q];
      out[q] = x > v[q] ? x : v[q];
    }
  } else if (t >= s->lease_exp_ns[k] && s->cfg.expiry_fallback && s->n_stopped && s->cutoff[k] &&
             s->lease_exp_ns[k] > s->cut_ns[k]) {
    /* The expiry fallback per conductor: min(last grant, safe share),
     * at least the floors. */
    const double *p = ph_row(s->pph, s, k), *sf = s->safe_ph + 4 * k;
    for (int q = 0; q < 3; q++) {
      double x = p[q] < sf[q] ? p[q] : sf[q];
      out[q] = x > out[q] ? x : out[q];
    }
  }
}

/* Load that child c puts on parent p's conductors (out[3]) when it holds v
 * [W] in total and, if it has per-phase tables, vph[3] on its own
 * conductors (the same conductors as p's: phases pass straight through a
 * three-phase node). */
static inline void contrib(const hr_lease_sys_t *s, size_t c, size_t p, double v, const double *vph,
                           double out[3])
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
    if (ps[j] >= 0 && !s->dead[ps[j]] && !is_root(s, (size_t)ps[j]) && s->lease_exp_ns[ps[j]] < e)
      e = s->lease_exp_ns[ps[j]];
  return e;
}

/* Tokens are the increments above the floor (the floor itself is always
 * held), so rounding down never takes a holder below its floor.  The
 * 1e-12 lets a grant that is a whole number of tokens up to rounding keep
 * its last token; the result never exceeds g. */
static inline double quantize_v(double g, double flo, double tok_w, double tok_inv)
{
  /* The tolerance is relative to g, not only to the token count: the phase
   * fit shaves allocations by up to 3e-12 of their size to fit strictly
   * (hr__lease_fit_phases), and a whole token (700 W -> 600 W) must not be
   * lost to that.  The overshoot it allows (4e-12 of g) is far inside the
   * post-conditions' tolerance (1e-9 of the limit + 1 uW). */
  double slack = 4e-12 * fabs(g);
  double n_tok = ((g - flo) + slack) * tok_inv * (1.0 + 1e-12);
  double whole = n_tok < 9.0e15 ? trunc(n_tok) : n_tok;
  double q = flo + whole * tok_w;
  q = q > g + slack ? flo + (whole - 1.0) * tok_w : q;
  return g > flo ? q : g;
}

/* A coordinator's demand rounded up to its token above its floor: its parent
 * then offers whole tokens, which the settle's rounding down keeps, so the
 * subtree is granted what its leaves ask and not up to a token less at every
 * tier (a few GPUs in a big row were held a token below their draw for
 * ever).  Only a request: budgets, limits and the post-conditions bound what
 * is granted. */
static inline double quantize_up_v(double d, double flo, double tok_w, double tok_inv)
{
  double n_tok = (d - flo) * tok_inv * (1.0 - 1e-12);
  double whole = n_tok < 9.0e15 ? ceil(n_tok) : n_tok;
  return d > flo ? flo + whole * tok_w : d;
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

/* A held node (a stopped parent or process) is only cut by its running
 * parents, and only they can shorten it: to no later than their own leases,
 * so that it never outlives them. */
static inline void nest_held(hr_lease_sys_t *s, size_t k, int64_t t)
{
  int32_t ps[2] = {s->par[k], s->parb[k]};
  for (int j = 0; j < 2; j++) {
    int32_t p = ps[j];
    if (p < 0 || s->dead[p] || !s->running[p] || s->par[p] < 0)
      continue;
    int64_t e = s->lease_exp_ns[p];
    if (s->lease_exp_ns[k] > e && s->lease_exp_ns[k] > t)
      s->lease_exp_ns[k] = e > t ? e : t;
  }
}

/* Anything that may change what a rebalance finds: the next one runs in full. */
static inline void hr__lease_skip_off(hr_lease_sys_t *s)
{
  s->skip_ok = 0;
}

/* ---- shared rules (rules.c, layout.c) ------------------------------------- */

/* The least a parent can cut c to at t; per conductor into lph (may be NULL). */
double hr__lease_least(const hr_lease_sys_t *s, size_t c, int64_t t, double *lph);
/* Settles a proposed grant (increase rules, token) and writes k's lease. */
double hr__lease_settle(hr_lease_sys_t *s, size_t k, double want, int64_t t, int64_t expiry);
/* Cuts k's unexpired grant to g (not below its least); 1 when it fell. */
int hr__lease_cut(hr_lease_sys_t *s, size_t k, double g, int64_t t);
int hr__lease_fit_phases(size_t n, const hr__item_t *it, const double *ml, const double *ms,
                         const double lim[3], double *alloc);
void hr__lease_child_model(hr_lease_sys_t *s, size_t c, size_t p, int64_t t, double lst,
                           const double *lph, int fresh, size_t j);
/* Every child ch[0..m) of three-phase node k modelled on the conductors
 * (hr__lease_child_model into items[j], ml, ms), from its least when a
 * coordinator is stopped and from its floor otherwise.  The fast and the
 * reference rebalance share it; each then fits the conductors to its own
 * limits. */
void hr__lease_model_children(hr_lease_sys_t *s, size_t k, int64_t t, const int32_t *ch, size_t m);
int hr__lease_fit_node(hr_lease_sys_t *s, size_t p, int64_t t, size_t *top);
void hr__lease_fit_from(hr_lease_sys_t *s, size_t p, int64_t t);
void hr__lease_cut_all(hr_lease_sys_t *s, int64_t t);
double hr__lease_granted_under(const hr_lease_sys_t *s, size_t k, int64_t t);
void hr__lease_start_at(hr_lease_sys_t *s, int64_t t);
/* Safe shares (safe.c): computed at creation and when ratings, floors or
 * reserves change; the cut-off flags from the running flags; the
 * conversion of expired leases below a stopped coordinator into standing
 * fallback leases (called by hr__lease_start_at), and their hand-over to a
 * restarted coordinator. */
int hr__lease_safe_compute(hr_lease_sys_t *s);
/* hr__lease_safe_compute now, or once no coordinator is stopped: a safe
 * share never moves under a fallback that stands on it. */
int hr__lease_safe_refresh(hr_lease_sys_t *s);
void hr__lease_cutoff_compute(hr_lease_sys_t *s, int64_t t);
void hr__lease_fallback_at(hr_lease_sys_t *s, int64_t t);
void hr__lease_fallback_restart(hr_lease_sys_t *s, size_t r, double lst, const double *lph,
                                int64_t t);
int hr__lease_apply_budgets(hr_lease_sys_t *s, int64_t t);
double hr__lease_grid_env(hr_lease_sys_t *s, size_t k, int64_t t, double g_now);
void hr__lease_shorten(hr_lease_sys_t *s, size_t k, int64_t t);
int hr__lease_postcheck_node(hr_lease_sys_t *s, size_t k, int64_t t);
void hr__lease_postcheck_all(hr_lease_sys_t *s, int64_t t, int fast);
void hr__lease_drop(hr_lease_sys_t *s, size_t k, int64_t t);
/* Drops every lease a running coordinator can reach (hr__lease_drop): what
 * entering protection mode does, and a feed lost or back in it (lease.c). */
void hr__lease_revoke_all(hr_lease_sys_t *s, int64_t t);
double hr__lease_phase_demand(hr_lease_sys_t *s, size_t k, const double *dem, double d);
void hr__lease_update_mode(hr_lease_sys_t *s, int64_t t);
/* Floors bottom-up; t: when they changed (INT64_MIN at creation). */
void hr__lease_compute_floors(hr_lease_sys_t *s, int64_t t);
void hr__lease_lift_to_floors(hr_lease_sys_t *s);
void hr__lease_follow_floors(hr_lease_sys_t *s, int64_t t);
int hr__lease_check_floors(const hr_lease_sys_t *s, size_t *bad);
int hr__lease_budgets_all(hr_lease_sys_t *s);
/* Lowers node k's budget b by its overheads (overhead.c; s->ovh_w set). */
void hr__lease_ovh_apply(const hr_lease_sys_t *s, size_t k, hr_budget_t *b);
/* Marks the nodes that carry nothing (dead[], any_dead) from the lost feeds
 * and the devices' state; hr__lease_budgets_all does it first. */
void hr__lease_mark_dead(hr_lease_sys_t *s);
const hr_lease_t *hr__lease_view(const hr_lease_sys_t *s, size_t k);

#endif
