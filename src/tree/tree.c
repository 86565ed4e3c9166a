/* Tree builder: checks that need the whole file and lays the nodes out.
 *
 * Order of the checks, each reporting the first problem it meets:
 *   1. ids are unique;
 *   2. every parent and parent_b names a node;
 *   3. the parent links have no cycle (this also yields the topological order);
 *   4. in topological order, each node inherits and checks phases, phase,
 *      voltage and feed against its parents, gets its rating and capacity,
 *      and must not be rated above the nearest rated node upstream on either
 *      feed (the B path of a node below a dual-corded one runs through that
 *      node's parent_b);
 * then the nodes are copied, in topological order, into one immutable array. */
#define _POSIX_C_SOURCE 200809L /* strerror_r */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "core/core.h"
#include "tree/tree_int.h"

struct hr_tree {
  size_t n;
  hr_tree_node_t *nodes;
  uint32_t *child0; /* first index into children of each node */
  int32_t *children;
  hr_device_cfg_t *devices;
  hr_grid_limits_t *grids;
  char *strings;
  uint32_t *by_id; /* node indices sorted by id */
  const char *name;
  hr_redundancy_t redundancy;
};

#define SQRT3 1.7320508075688772

/* Relative tolerance of "same voltage" between a node and what its parent
 * supplies: nameplates round (415 V / sqrt 3 is written 240 V). */
#define VOLTAGE_TOL 0.05

void hr__fmt_power(char *buf, size_t len, double w)
{
  if (!isfinite(w))
    snprintf(buf, len, "unlimited");
  else if (w >= 1e6)
    snprintf(buf, len, "%.4g MW", w / 1e6);
  else if (w >= 1e3)
    snprintf(buf, len, "%.4g kW", w / 1e3);
  else
    snprintf(buf, len, "%.4g W", w);
}

const hr__enum_name_t hr__feed_names[4] = {{0, "none"}, {1, "a"}, {2, "b"}, {3, "ab"}};

const hr__enum_name_t hr__phase_names[7] = {
    {HR_PHASE_ABC, "abc"}, {HR_PHASE_A, "a"},   {HR_PHASE_B, "b"},   {HR_PHASE_C, "c"},
    {HR_PHASE_AB, "ab"},   {HR_PHASE_BC, "bc"}, {HR_PHASE_CA, "ca"},
};

const hr__enum_name_t hr__node_kind_names[12] = {
    {HR_NODE_UTILITY, "utility"},
    {HR_NODE_GENERATOR, "generator"},
    {HR_NODE_TRANSFORMER, "transformer"},
    {HR_NODE_SWITCHGEAR, "switchgear"},
    {HR_NODE_UPS, "ups"},
    {HR_NODE_DISTRIBUTION, "distribution"},
    {HR_NODE_BUSWAY, "busway"},
    {HR_NODE_PDU, "pdu"},
    {HR_NODE_BRANCH, "branch"},
    {HR_NODE_RACK, "rack"},
    {HR_NODE_SERVER, "server"},
    {HR_NODE_GPU, "gpu"},
};

static const char *feed_name(unsigned feed)
{
  return hr__enum_name(hr__feed_names, HR__COUNT(hr__feed_names), (int)(feed & 3u), "none");
}

void hr__phase_weights(hr_phase_t ph, double w[3])
{
  const double ll = 0.57735026918962576; /* 1 / sqrt 3 */
  w[0] = w[1] = w[2] = 0.0;
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

const char *hr_phase_name(hr_phase_t phase)
{
  return hr__enum_name(hr__phase_names, HR__COUNT(hr__phase_names), (int)phase, "unknown");
}

const char *hr_node_kind_name(hr_node_kind_t kind)
{
  return hr__enum_name(hr__node_kind_names, HR__COUNT(hr__node_kind_names), (int)kind, "unknown");
}

/* ---- ids ---------------------------------------------------------------------- */

typedef struct idx_entry {
  const char *id;
  uint32_t idx;
} idx_entry_t;

static int by_id_then_index(const void *a, const void *b)
{
  const idx_entry_t *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  if (c)
    return c;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

static int32_t lookup(const idx_entry_t *sorted, size_t n, const char *id)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(sorted[mid].id, id);
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && strcmp(sorted[lo].id, id) == 0 ? (int32_t)sorted[lo].idx : -1;
}

/* ---- the build ---------------------------------------------------------------- */

typedef struct bld {
  const hr__doc_t *doc;
  hr__err_t *e;
  size_t n;
  idx_entry_t *sorted;
  int32_t *pa, *pb;    /* parent indices by file index */
  uint32_t *order;     /* file indices in topological order */
  hr_tree_node_t *tmp; /* nodes by file index */
  int32_t *up_a;       /* nearest node with a finite capacity, self included, on the
                          A path (parent links) */
  int32_t *up_b;       /* the same on the B path: through parent_b where a node has
                          one, else through the parent's B path */
} bld_t;

static void put(char *buf, size_t len, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* snprintf that may truncate on purpose, without -Wformat-truncation. */
static void put(char *buf, size_t len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
}

static void field(char *buf, size_t len, const hr__proto_t *p, const char *key)
{
  put(buf, len, "nodes[%s].%s", p->id, key);
}

static int check_ids(bld_t *B)
{
  const hr__doc_t *d = B->doc;
  for (size_t k = 0; k < B->n; k++) {
    B->sorted[k].id = d->nodes[k].id;
    B->sorted[k].idx = (uint32_t)k;
  }
  qsort(B->sorted, B->n, sizeof *B->sorted, by_id_then_index);
  /* Report the repeat that comes first in the file; the earlier node with
   * that id is the first of its run (ties are sorted by file index). */
  size_t worst = B->n;
  for (size_t k = 1; k < B->n; k++)
    if (strcmp(B->sorted[k].id, B->sorted[k - 1].id) == 0 && B->sorted[k].idx < worst)
      worst = B->sorted[k].idx;
  if (worst == B->n)
    return HR_OK;
  size_t first = (size_t)lookup(B->sorted, B->n, d->nodes[worst].id);
  char f[200];
  field(f, sizeof f, &d->nodes[worst], "id");
  return hr__tree_fail(B->e, HR_ERR_PARSE, d->nodes[worst].at_node, f,
                       "duplicate id '%s' (first at line %d)", d->nodes[worst].id,
                       d->nodes[first].at_node.line);
}

static int resolve_parents(bld_t *B)
{
  const hr__doc_t *d = B->doc;
  char f[200];
  for (size_t k = 0; k < B->n; k++) {
    const hr__proto_t *p = &d->nodes[k];
    B->pa[k] = B->pb[k] = -1;
    if (p->parent) {
      B->pa[k] = lookup(B->sorted, B->n, p->parent);
      if (B->pa[k] < 0) {
        field(f, sizeof f, p, "parent");
        return hr__tree_fail(B->e, HR_ERR_NOT_FOUND, p->at_parent, f, "unknown node '%s'",
                             p->parent);
      }
    }
    if (p->parent_b) {
      field(f, sizeof f, p, "parent_b");
      if (!p->parent)
        return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_parent_b, f,
                             "a root node has no second parent");
      B->pb[k] = lookup(B->sorted, B->n, p->parent_b);
      if (B->pb[k] < 0)
        return hr__tree_fail(B->e, HR_ERR_NOT_FOUND, p->at_parent_b, f, "unknown node '%s'",
                             p->parent_b);
      if (B->pb[k] == B->pa[k])
        return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_parent_b, f, "same node as parent");
    }
  }
  return HR_OK;
}

/* Depth-first search along parent links, emitting each node after its
 * parents.  A parent met again while still on the path closes a cycle. */
static int order_nodes(bld_t *B)
{
  const hr__doc_t *d = B->doc;
  size_t n = B->n, out = 0;
  unsigned char *color = calloc(n, 1); /* 0 new, 1 on the path, 2 done */
  uint32_t *stack = malloc(n * sizeof *stack);
  unsigned char *link = malloc(n); /* next link to follow: 0 parent, 1 parent_b, 2 done */
  int32_t *pos = malloc(n * sizeof *pos);
  int rc = HR_OK;
  if (!color || !stack || !link || !pos) {
    rc = hr__tree_fail(B->e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "(document)", "out of memory");
    goto done;
  }
  for (size_t s = 0; s < n && rc == HR_OK; s++) {
    if (color[s])
      continue;
    size_t sp = 0;
    stack[sp] = (uint32_t)s;
    link[sp] = 0;
    pos[s] = 0;
    color[s] = 1;
    sp++;
    while (sp > 0) {
      uint32_t u = stack[sp - 1];
      if (link[sp - 1] >= 2) {
        color[u] = 2;
        B->order[out++] = u;
        sp--;
        continue;
      }
      int l = link[sp - 1]++;
      int32_t q = l == 0 ? B->pa[u] : B->pb[u];
      if (q < 0 || color[q] == 2)
        continue;
      if (color[q] == 0) {
        color[q] = 1;
        pos[q] = (int32_t)sp;
        stack[sp] = (uint32_t)q;
        link[sp] = 0;
        sp++;
        continue;
      }
      /* Cycle: stack[pos[q]..sp-1] then back to q.  Name it from the node
       * that comes first in the file, following the parent links. */
      size_t a = (size_t)pos[q], len = sp - a, best = a;
      for (size_t j = a; j < sp; j++)
        if (stack[j] < stack[best])
          best = j;
      char path[300], f[200];
      size_t at = 0;
      for (size_t j = 0; j <= len && at < sizeof path; j++) {
        size_t e = a + (best - a + j) % len;
        {
          int w =
              snprintf(path + at, sizeof path - at, "%s%s", j ? " -> " : "", d->nodes[stack[e]].id);
          at += w > 0 ? (size_t)w : 0;
        }
      }
      const hr__proto_t *p = &d->nodes[stack[best]];
      /* The link followed out of the reported node: link[] was advanced past it. */
      int via = link[best] - 1;
      field(f, sizeof f, p, via == 0 ? "parent" : "parent_b");
      rc = hr__tree_fail(B->e, HR_ERR_PARSE, via == 0 ? p->at_parent : p->at_parent_b, f,
                         "cycle through parents: %s", path);
      break;
    }
  }
done:
  free(color);
  free(stack);
  free(link);
  free(pos);
  return rc;
}

static int changes_voltage(hr_node_kind_t kind)
{
  return kind == HR_NODE_TRANSFORMER || kind == HR_NODE_UPS || kind == HR_NODE_GENERATOR;
}

static int line_to_neutral(hr_phase_t ph)
{
  return ph == HR_PHASE_A || ph == HR_PHASE_B || ph == HR_PHASE_C;
}

/* Voltage a parent supplies to a child connected to phase ph. */
static double supply_v(const hr_tree_node_t *par, int child_phases, hr_phase_t ph)
{
  if (par->n_phases == 3 && child_phases == 1 && line_to_neutral(ph))
    return par->u_v / SQRT3;
  return par->u_v;
}

/* Fraction of an upstream node's capacity one child can use: a single-phase
 * load on a three-phase node loads one phase (line to neutral) or two (line
 * to line). */
static double share(const hr_tree_node_t *up, int child_phases, hr_phase_t ph)
{
  if (up->n_phases == 1 || child_phases == 3)
    return 1.0;
  return line_to_neutral(ph) ? 1.0 / 3.0 : 1.0 / SQRT3;
}

/* Phases, phase and voltage on one side (parent or parent_b). */
static int inherit_side(bld_t *B, size_t i, const hr_tree_node_t *par, int side)
{
  const hr__proto_t *p = &B->doc->nodes[i];
  hr_tree_node_t *t = &B->tmp[i];
  char f[200];
  const char *par_id = side == 0 ? p->parent : p->parent_b;
  hr__mark_t at_link = side == 0 ? p->at_parent : p->at_parent_b;
  if (par->kind == HR_NODE_GPU) {
    field(f, sizeof f, p, side == 0 ? "parent" : "parent_b");
    return hr__tree_fail(B->e, HR_ERR_PARSE, at_link, f, "'%s' is a gpu and feeds nothing", par_id);
  }
  if (t->n_phases == 3 && par->n_phases == 1) {
    int given = side == 0 && p->n_phases;
    field(f, sizeof f, p, given ? "phases" : (side == 0 ? "parent" : "parent_b"));
    return hr__tree_fail(B->e, HR_ERR_PARSE, given ? p->at_phases : at_link, f,
                         "a three-phase node cannot be fed from single-phase '%s'", par_id);
  }
  hr_phase_t *ph = side == 0 ? &t->phase : &t->phase_b;
  int has = side == 0 ? p->has_phase : p->has_phase_b;
  hr_phase_t given = side == 0 ? p->phase : p->phase_b;
  hr__mark_t at_ph = side == 0 ? p->at_phase : p->at_phase_b;
  const char *key = side == 0 ? "phase" : "phase_b";
  if (t->n_phases == 3) {
    *ph = HR_PHASE_ABC;
  } else if (par->n_phases == 3) {
    if (has) {
      *ph = given;
    } else if (side == 1) {
      *ph = t->phase; /* the B cord sits on the same phase unless told */
    } else {
      field(f, sizeof f, p, key);
      return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_node, f,
                           "missing (a single-phase node fed from three-phase '%s' names its "
                           "phase: a, b, c, ab, bc or ca)",
                           par_id);
    }
  } else {
    if (has && given != par->phase) {
      field(f, sizeof f, p, key);
      return hr__tree_fail(B->e, HR_ERR_PARSE, at_ph, f,
                           "phase %s differs from phase %s of its single-phase parent '%s'",
                           hr_phase_name(given), hr_phase_name(par->phase), par_id);
    }
    *ph = par->phase;
  }
  double want = supply_v(par, t->n_phases, *ph);
  if (side == 0 && !(p->u_v > 0.0)) {
    if (p->kind == HR_NODE_TRANSFORMER) {
      field(f, sizeof f, p, "voltage_v");
      return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_node, f,
                           "missing (a transformer sets its secondary voltage)");
    }
    t->u_v = want;
    return HR_OK;
  }
  if (changes_voltage(p->kind) || fabs(t->u_v - want) <= VOLTAGE_TOL * want)
    return HR_OK;
  if (side == 0) {
    field(f, sizeof f, p, "voltage_v");
    return hr__tree_fail(B->e, HR_ERR_RANGE, p->at_voltage, f,
                         "%g V differs from the %g V that '%s' supplies (only a transformer or "
                         "UPS changes voltage)",
                         t->u_v, want, par_id);
  }
  field(f, sizeof f, p, "parent_b");
  return hr__tree_fail(B->e, HR_ERR_RANGE, at_link, f,
                       "'%s' supplies %g V but this node runs at %g V", par_id, want, t->u_v);
}

static int check_feeds(bld_t *B, size_t i)
{
  const hr__proto_t *p = &B->doc->nodes[i];
  hr_tree_node_t *t = &B->tmp[i];
  char f[200];
  unsigned inherited = HR_FEED_NONE;
  if (B->pa[i] >= 0)
    inherited = B->tmp[B->pa[i]].feed;
  if (B->pb[i] >= 0) {
    unsigned fa = B->tmp[B->pa[i]].feed, fb = B->tmp[B->pb[i]].feed;
    field(f, sizeof f, p, "parent_b");
    if (B->doc->redundancy == HR_REDUNDANCY_NONE)
      return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_parent_b, f,
                           "a second feed needs redundancy: 2n or n+n");
    if (!((fa == HR_FEED_A && fb == HR_FEED_B) || (fa == HR_FEED_B && fb == HR_FEED_A)))
      return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_parent_b, f,
                           "'%s' must be on the other feed than parent '%s' (feeds %s and %s)",
                           p->parent_b, p->parent, feed_name(fb), feed_name(fa));
    inherited = HR_FEED_AB;
  }
  if (p->has_feed) {
    if (inherited != HR_FEED_NONE && inherited != p->feed) {
      field(f, sizeof f, p, "feed");
      return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_feed, f,
                           "feed %s conflicts with feed %s of parent '%s'", feed_name(p->feed),
                           feed_name(inherited), p->parent);
    }
    t->feed = p->feed;
  } else {
    t->feed = inherited;
  }
  return HR_OK;
}

/* Where the binding rating was written, for messages. */
static void rating_source(const hr__proto_t *p, const hr_tree_node_t *t, hr__mark_t *at, char *key,
                          size_t len)
{
  double cap_w = p->rating_w > 0.0 ? p->rating_w : INFINITY;
  if (p->rating_w > 0.0 && cap_w <= t->capacity_w) {
    *at = p->at_rating_w;
    put(key, len, "%s", p->key_rating_w);
  } else if (p->rating_a > 0.0) {
    *at = p->at_rating_a;
    put(key, len, "rating_a");
  } else {
    *at = p->at_dev_rating;
    put(key, len, "device%s%s", p->key_dev_rating ? "." : "",
        p->key_dev_rating ? p->key_dev_rating : "");
  }
}

static int check_rating(bld_t *B, size_t i)
{
  const hr__proto_t *p = &B->doc->nodes[i];
  hr_tree_node_t *t = &B->tmp[i];
  char f[200], key[64], a[32], b[32], c[32];
  hr__mark_t at;
  t->rating_a = p->rating_a;
  t->rating_w = p->rating_w;
  if (!(t->rating_a > 0.0) && t->device) {
    /* A protective device's continuous setting rates its node. */
    if (t->device->type == HR_DEVICE_TRIP_UNIT)
      t->rating_a = t->device->u.tu.ir_a;
    else if (t->device->type == HR_DEVICE_FUSE)
      t->rating_a = t->device->u.fuse.in_a;
  }
  double cap_a =
      t->rating_a > 0.0 ? t->rating_a * t->u_v * (t->n_phases == 3 ? SQRT3 : 1.0) : INFINITY;
  t->capacity_w = fmin(cap_a, p->rating_w > 0.0 ? p->rating_w : INFINITY);
  if (p->budget_w > 0.0 && p->budget_w > t->capacity_w * (1.0 + 1e-12)) {
    hr__fmt_power(a, sizeof a, p->budget_w);
    hr__fmt_power(b, sizeof b, t->capacity_w);
    field(f, sizeof f, p, p->key_budget);
    return hr__tree_fail(B->e, HR_ERR_RANGE, p->at_budget, f,
                         "%s is above the node's capacity (%s)", a, b);
  }
  if (p->burst_w > 0.0 && p->budget_w > 0.0 && p->burst_w < p->budget_w) {
    hr__fmt_power(a, sizeof a, p->burst_w);
    hr__fmt_power(b, sizeof b, p->budget_w);
    field(f, sizeof f, p, p->key_burst);
    return hr__tree_fail(B->e, HR_ERR_RANGE, p->at_burst, f, "%s is below the budget (%s)", a, b);
  }
  t->budget_w = p->budget_w;
  t->burst_w = p->burst_w;
  int32_t self = isfinite(t->capacity_w) ? (int32_t)i : -1, pa = B->pa[i], pb = B->pb[i];
  int32_t side_a = pa >= 0 ? B->up_a[pa] : -1;
  int32_t side_b = pb >= 0 ? B->up_a[pb] : (pa >= 0 ? B->up_b[pa] : -1);
  B->up_a[i] = self >= 0 ? self : side_a;
  B->up_b[i] = self >= 0 ? self : side_b;
  if (self < 0)
    return HR_OK;
  for (int side = 0; side < 2; side++) {
    int32_t up = side == 0 ? side_a : side_b;
    int32_t par = side == 0 ? pa : (pb >= 0 ? pb : pa);
    if (up < 0 || (side == 1 && up == side_a))
      continue;
    const hr_tree_node_t *u = &B->tmp[up];
    double frac = share(u, t->n_phases, side == 1 && pb >= 0 ? t->phase_b : t->phase);
    double allowed = frac * u->capacity_w;
    if (!(t->capacity_w > allowed * (1.0 + 1e-9)))
      continue;
    rating_source(p, t, &at, key, sizeof key);
    field(f, sizeof f, p, key);
    hr__fmt_power(a, sizeof a, t->capacity_w);
    hr__fmt_power(b, sizeof b, allowed);
    hr__fmt_power(c, sizeof c, u->capacity_w);
    const char *uid = B->doc->nodes[up].id;
    if (frac < 1.0)
      return hr__tree_fail(B->e, HR_ERR_RANGE, at, f,
                           "rated %s, above one phase of %s'%s'%s (%s of %s)", a,
                           up == par ? "its parent " : "", uid, up == par ? "" : " upstream", b, c);
    return hr__tree_fail(B->e, HR_ERR_RANGE, at, f, "rated %s, above %s'%s'%s (%s)", a,
                         up == par ? "its parent " : "", uid, up == par ? "" : " upstream", b);
  }
  return HR_OK;
}

static int inherit(bld_t *B)
{
  const hr__doc_t *d = B->doc;
  char f[200];
  int rc;
  for (size_t k = 0; k < B->n; k++) {
    size_t i = B->order[k];
    const hr__proto_t *p = &d->nodes[i];
    hr_tree_node_t *t = &B->tmp[i];
    t->kind = p->kind;
    t->line = p->at_node.line;
    t->device = p->dev >= 0 ? &d->devs[p->dev] : NULL;
    t->u_v = p->u_v;
    if (p->has_grid && B->pa[i] >= 0) {
      field(f, sizeof f, p, "grid");
      return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_grid, f,
                           "grid limits belong to a root (site) node");
    }
    if (B->pa[i] < 0) {
      if (!(p->u_v > 0.0)) {
        field(f, sizeof f, p, "voltage_v");
        return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_node, f,
                             "missing (a root node sets its voltage)");
      }
      t->n_phases = p->n_phases ? p->n_phases : 3;
      if (t->n_phases == 3 && (p->has_phase || p->has_phase_b)) {
        field(f, sizeof f, p, p->has_phase ? "phase" : "phase_b");
        return hr__tree_fail(B->e, HR_ERR_PARSE, p->has_phase ? p->at_phase : p->at_phase_b, f,
                             "only single-phase nodes sit on a phase");
      }
      t->phase = t->n_phases == 3 ? HR_PHASE_ABC : (p->has_phase ? p->phase : HR_PHASE_A);
      t->phase_b = t->phase;
      t->feed = p->has_feed ? p->feed : HR_FEED_NONE;
      t->depth = 0;
    } else {
      const hr_tree_node_t *pa = &B->tmp[B->pa[i]];
      t->n_phases = p->n_phases ? p->n_phases : pa->n_phases;
      if (t->n_phases == 3 && (p->has_phase || p->has_phase_b)) {
        field(f, sizeof f, p, p->has_phase ? "phase" : "phase_b");
        return hr__tree_fail(B->e, HR_ERR_PARSE, p->has_phase ? p->at_phase : p->at_phase_b, f,
                             "only single-phase nodes sit on a phase");
      }
      if ((rc = inherit_side(B, i, pa, 0)) != HR_OK)
        return rc;
      t->phase_b = t->phase;
      t->depth = pa->depth + 1;
      if (B->pb[i] >= 0) {
        const hr_tree_node_t *pb = &B->tmp[B->pb[i]];
        if ((rc = inherit_side(B, i, pb, 1)) != HR_OK)
          return rc;
        if (pb->depth + 1 > t->depth)
          t->depth = pb->depth + 1;
      } else if (p->has_phase_b) {
        field(f, sizeof f, p, "phase_b");
        return hr__tree_fail(B->e, HR_ERR_PARSE, p->at_phase_b, f, "only for a node with parent_b");
      }
      if ((rc = check_feeds(B, i)) != HR_OK)
        return rc;
    }
    if (B->pa[i] < 0 && (rc = check_feeds(B, i)) != HR_OK)
      return rc;
    if ((rc = check_rating(B, i)) != HR_OK)
      return rc;
  }
  return HR_OK;
}

/* Copies the checked nodes into one tree, in topological order. */
static int assemble(bld_t *B, hr_tree_t **out)
{
  const hr__doc_t *d = B->doc;
  size_t n = B->n, n_grids = 0, n_links = 0, bytes = 1;
  for (size_t k = 0; k < n; k++) {
    bytes += strlen(d->nodes[k].id) + 1 + (d->nodes[k].name ? strlen(d->nodes[k].name) : 0) + 1;
    n_grids += d->nodes[k].has_grid ? 1 : 0;
    n_links += (B->pa[k] >= 0) + (B->pb[k] >= 0);
  }
  bytes += d->name ? strlen(d->name) : 0;
  hr_tree_t *t = calloc(1, sizeof *t);
  uint32_t *newidx = malloc(n * sizeof *newidx);
  if (t) {
    t->n = n;
    t->nodes = calloc(n, sizeof *t->nodes);
    t->child0 = calloc(n + 1, sizeof *t->child0);
    t->children = malloc((n_links ? n_links : 1) * sizeof *t->children);
    t->devices = malloc((d->n_devs ? d->n_devs : 1) * sizeof *t->devices);
    t->grids = calloc(n_grids ? n_grids : 1, sizeof *t->grids);
    t->strings = malloc(bytes);
    t->by_id = malloc(n * sizeof *t->by_id);
  }
  if (!t || !newidx || !t->nodes || !t->child0 || !t->children || !t->devices || !t->grids ||
      !t->strings || !t->by_id) {
    free(newidx);
    hr_tree_destroy(t);
    return hr__tree_fail(B->e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "(document)", "out of memory");
  }
  if (d->n_devs)
    memcpy(t->devices, d->devs, d->n_devs * sizeof *t->devices);
  for (size_t k = 0; k < n; k++)
    newidx[B->order[k]] = (uint32_t)k;
  char *s = t->strings;
  size_t g = 0;
  for (size_t k = 0; k < n; k++) {
    size_t i = B->order[k];
    const hr__proto_t *p = &d->nodes[i];
    hr_tree_node_t *nd = &t->nodes[k];
    *nd = B->tmp[i];
    size_t l = strlen(p->id) + 1;
    memcpy(s, p->id, l);
    nd->id = s;
    s += l;
    l = p->name ? strlen(p->name) : 0;
    if (l)
      memcpy(s, p->name, l);
    s[l] = '\0';
    nd->name = s;
    s += l + 1;
    nd->parent = B->pa[i] >= 0 ? (int32_t)newidx[B->pa[i]] : -1;
    nd->parent_b = B->pb[i] >= 0 ? (int32_t)newidx[B->pb[i]] : -1;
    nd->device = p->dev >= 0 ? &t->devices[p->dev] : NULL;
    if (p->has_grid) {
      t->grids[g] = p->grid;
      nd->grid = &t->grids[g++];
    }
    if (nd->parent >= 0)
      t->nodes[nd->parent].n_children++;
    if (nd->parent_b >= 0)
      t->nodes[nd->parent_b].n_children++;
  }
  size_t l = d->name ? strlen(d->name) : 0;
  if (l)
    memcpy(s, d->name, l);
  s[l] = '\0';
  t->name = s;
  t->redundancy = d->redundancy;
  for (size_t k = 0; k < n; k++)
    t->child0[k + 1] = t->child0[k] + t->nodes[k].n_children;
  uint32_t *fill = newidx; /* reuse: the remap is no longer needed after this */
  for (size_t k = 0; k < n; k++)
    fill[k] = 0;
  for (size_t k = 0; k < n; k++) {
    const hr_tree_node_t *nd = &t->nodes[k];
    if (nd->parent >= 0)
      t->children[t->child0[nd->parent] + fill[nd->parent]++] = (int32_t)k;
    if (nd->parent_b >= 0)
      t->children[t->child0[nd->parent_b] + fill[nd->parent_b]++] = (int32_t)k;
  }
  for (size_t k = 0; k < n; k++)
    t->by_id[k] = 0;
  /* B->sorted is by id; map its file indices to the new ones. */
  for (size_t k = 0; k < n; k++)
    t->by_id[k] = B->sorted[k].idx;
  for (size_t k = 0; k < n; k++)
    fill[B->order[k]] = (uint32_t)k;
  for (size_t k = 0; k < n; k++)
    t->by_id[k] = fill[t->by_id[k]];
  free(newidx);
  *out = t;
  return HR_OK;
}

static int build(const hr__doc_t *doc, hr__err_t *e, hr_tree_t **out)
{
  bld_t B;
  memset(&B, 0, sizeof B);
  B.doc = doc;
  B.e = e;
  B.n = doc->n;
  B.sorted = malloc(B.n * sizeof *B.sorted);
  B.pa = malloc(B.n * sizeof *B.pa);
  B.pb = malloc(B.n * sizeof *B.pb);
  B.order = malloc(B.n * sizeof *B.order);
  B.tmp = calloc(B.n, sizeof *B.tmp);
  B.up_a = malloc(B.n * sizeof *B.up_a);
  B.up_b = malloc(B.n * sizeof *B.up_b);
  int rc;
  if (!B.sorted || !B.pa || !B.pb || !B.order || !B.tmp || !B.up_a || !B.up_b)
    rc = hr__tree_fail(e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "(document)", "out of memory");
  else if ((rc = check_ids(&B)) == HR_OK && (rc = resolve_parents(&B)) == HR_OK &&
           (rc = order_nodes(&B)) == HR_OK && (rc = inherit(&B)) == HR_OK)
    rc = assemble(&B, out);
  free(B.sorted);
  free(B.pa);
  free(B.pb);
  free(B.order);
  free(B.tmp);
  free(B.up_a);
  free(B.up_b);
  return rc;
}

/* ---- public ------------------------------------------------------------------- */

int hr_tree_load_buffer(const char *text, size_t len, const char *name, hr_tree_t **out,
                        hr_diag_t *err)
{
  if (err)
    memset(err, 0, sizeof *err);
  if (!out)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  hr__err_t e = {name ? name : "<buffer>", err, HR_OK};
  if (!text && len)
    return hr__tree_fail(&e, HR_ERR_INVALID_ARG, (hr__mark_t){0, 0}, "(document)", "no text given");
  if (len > HR_TREE_MAX_BYTES)
    return hr__tree_fail(&e, HR_ERR_RANGE, (hr__mark_t){0, 0}, "(document)", "larger than %u bytes",
                         HR_TREE_MAX_BYTES);
  hr__doc_t doc;
  int rc = hr__tree_read(text ? text : "", len, &e, &doc);
  if (rc == HR_OK)
    rc = build(&doc, &e, out);
  hr__doc_free(&doc);
  return rc;
}

int hr_tree_load_file(const char *path, hr_tree_t **out, hr_diag_t *err)
{
  if (err)
    memset(err, 0, sizeof *err);
  if (!out || !path)
    return HR_ERR_INVALID_ARG;
  *out = NULL;
  char *buf = NULL;
  size_t len = 0;
  hr__diag_begin(err, path);
  int rc = hr__file_read(path, HR_TREE_MAX_BYTES, &buf, &len, err);
  if (rc == HR_OK)
    rc = hr_tree_load_buffer(buf, len, path, out, err);
  free(buf);
  return rc;
}

void hr_tree_destroy(hr_tree_t *t)
{
  if (!t)
    return;
  free(t->nodes);
  free(t->child0);
  free(t->children);
  free(t->devices);
  free(t->grids);
  free(t->strings);
  free(t->by_id);
  free(t);
}

size_t hr_tree_count(const hr_tree_t *t)
{
  return t ? t->n : 0;
}

const hr_tree_node_t *hr_tree_nodes(const hr_tree_t *t)
{
  return t ? t->nodes : NULL;
}

const hr_tree_node_t *hr_tree_node(const hr_tree_t *t, size_t idx)
{
  return t && idx < t->n ? &t->nodes[idx] : NULL;
}

int hr_tree_find(const hr_tree_t *t, const char *id, size_t *idx)
{
  if (!t || !id || !idx)
    return HR_ERR_INVALID_ARG;
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(t->nodes[t->by_id[mid]].id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < t->n && strcmp(t->nodes[t->by_id[lo]].id, id) == 0) {
    *idx = t->by_id[lo];
    return HR_OK;
  }
  return HR_ERR_NOT_FOUND;
}

const int32_t *hr_tree_children(const hr_tree_t *t, size_t idx, size_t *n)
{
  if (n)
    *n = 0;
  if (!t || idx >= t->n || t->nodes[idx].n_children == 0)
    return NULL;
  if (n)
    *n = t->nodes[idx].n_children;
  return &t->children[t->child0[idx]];
}

const char *hr_tree_name(const hr_tree_t *t)
{
  return t ? t->name : "";
}

hr_redundancy_t hr_tree_redundancy(const hr_tree_t *t)
{
  return t ? t->redundancy : HR_REDUNDANCY_NONE;
}

double hr_tree_node_current_a(const hr_tree_node_t *node, double s_va)
{
  if (!node || !(node->u_v > 0.0))
    return NAN;
  return s_va / (node->u_v * (node->n_phases == 3 ? SQRT3 : 1.0));
}

int hr_tree_device_parse(const char *text, size_t len, hr_device_cfg_t *cfg, hr_diag_t *err)
{
  if (err)
    memset(err, 0, sizeof *err);
  if (!cfg || (!text && len))
    return HR_ERR_INVALID_ARG;
  hr__err_t e = {"<device>", err, HR_OK};
  if (len > HR_TREE_MAX_BYTES)
    return hr__tree_fail(&e, HR_ERR_RANGE, (hr__mark_t){0, 0}, "(document)", "larger than %u bytes",
                         HR_TREE_MAX_BYTES);
  hr_device_cfg_t tmp;
  int rc = hr__tree_read_device(text ? text : "", len, &e, &tmp);
  if (rc == HR_OK)
    *cfg = tmp;
  return rc;
}
