/* Tree file reader: YAML text -> one hr__proto_t per node.
 *
 * This pass checks everything that can be checked on one node alone: YAML
 * syntax, value types, unknown and duplicate keys, missing keys, the
 * completeness and ranges of device settings.  tree.c then checks what needs
 * the whole file (ids, parents, cycles, phases, voltages, ratings).
 *
 * The input is untrusted (fuzz/fuzz_tree_yaml.c): the walk has a fixed depth
 * whatever the document's nesting, every loop is bounded by the document's
 * size, and the first error ends the read. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/core.h"
#include "tree/tree_int.h"

#define MAX_ID 63
#define MAX_NAME 255

/* An anchor kept for aliases in later parts of the stream: its name and
 * the id of its node in the document that holds it. */
typedef struct anc {
  char *name;
  int id;
} anc_t;

typedef struct anctab {
  anc_t *v;
  size_t n, cap;
} anctab_t;

typedef struct ld {
  yaml_document_t *doc; /* the document the walk reads (the whole file, or one part) */
  hr__err_t *e;
  hr__doc_t *out;
  size_t cap_devs;
  /* Streaming (read_stream): */
  yaml_document_t *adoc; /* copies of anchored nodes, for aliases in later parts */
  anctab_t glob;         /* anchors in adoc */
  size_t copied;         /* nodes materialised by aliases to earlier parts */
  int nodes_id;          /* id in the top document of the streamed `nodes` list, 0: none */
  size_t cap_nodes;      /* entries allocated in out->nodes */
} ld_t;

/* snprintf that may truncate on purpose (messages are cut to fit their
 * buffers); going through vsnprintf keeps -Wformat-truncation quiet. */
static void put(char *buf, size_t len, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void put(char *buf, size_t len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
}

/* ---- errors ----------------------------------------------------------------- */

int hr__tree_fail(hr__err_t *e, int code, hr__mark_t at, const char *field, const char *fmt, ...)
{
  if (e->code != HR_OK)
    return e->code; /* keep the first error */
  e->code = code;
  if (!e->out)
    return code;
  hr__diag_begin(e->out, e->file);
  va_list ap;
  va_start(ap, fmt);
  hr__diag_vfail(e->out, code, at.line, at.col, field, fmt, ap);
  va_end(ap);
  return code;
}

static hr__mark_t mk(const yaml_node_t *n)
{
  hr__mark_t m = {(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
  return m;
}

static const char *sval(const yaml_node_t *n)
{
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A short, printable rendering of a value for messages. */
static void describe(const yaml_node_t *n, char *buf, size_t len)
{
  if (n->type == YAML_MAPPING_NODE) {
    snprintf(buf, len, "a mapping");
    return;
  }
  if (n->type == YAML_SEQUENCE_NODE) {
    snprintf(buf, len, "a sequence");
    return;
  }
  const unsigned char *s = n->data.scalar.value;
  size_t l = n->data.scalar.length;
  char tmp[44];
  size_t k = 0;
  for (; k < l && k < 40; k++)
    tmp[k] = (s[k] >= 0x20 && s[k] < 0x7f && s[k] != '\'') ? (char)s[k] : '?';
  tmp[k] = '\0';
  int quoted = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
               n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  snprintf(buf, len, "%s'%s%s'", quoted ? "the quoted string " : "", tmp, l > 40 ? "..." : "");
}

static void join(char *buf, size_t len, const char *prefix, const char *key)
{
  put(buf, len, "%s.%s", prefix, key);
}

/* ---- typed values ---------------------------------------------------------- */

static int get_num(ld_t *L, const yaml_node_t *v, const char *field, double *out)
{
  const char *s = sval(v);
  if (s && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && v->data.scalar.length > 0 &&
      v->data.scalar.length < 64 && strspn(s, "0123456789+-.eE") == v->data.scalar.length) {
    char *end = NULL;
    double x = hr__num_parse(s, &end);
    if (end == s + v->data.scalar.length) {
      if (!isfinite(x))
        return hr__tree_fail(L->e, HR_ERR_RANGE, mk(v), field, "not a finite number: %s", s);
      if (!(fabs(x) <= HR_TREE_MAX_VALUE))
        return hr__tree_fail(L->e, HR_ERR_RANGE, mk(v), field,
                             "%s is beyond %g, the largest number a tree file may hold", s,
                             HR_TREE_MAX_VALUE);
      *out = x;
      return HR_OK;
    }
  }
  char d[96];
  describe(v, d, sizeof d);
  return hr__tree_fail(L->e, HR_ERR_PARSE, mk(v), field, "expected a number, got %s", d);
}

static int get_pos(ld_t *L, const yaml_node_t *v, const char *field, double *out)
{
  int rc = get_num(L, v, field, out);
  if (rc == HR_OK && !(*out > 0.0))
    return hr__tree_fail(L->e, HR_ERR_RANGE, mk(v), field, "must be positive, got %g", *out);
  return rc;
}

static int get_nonneg(ld_t *L, const yaml_node_t *v, const char *field, double *out)
{
  int rc = get_num(L, v, field, out);
  if (rc == HR_OK && !(*out >= 0.0))
    return hr__tree_fail(L->e, HR_ERR_RANGE, mk(v), field, "must be >= 0, got %g", *out);
  return rc;
}

/* A power in the key's unit (scale to watts): in watts at most
 * HR_TREE_MAX_VALUE, so rating_mw: 1e306 is refused rather than made
 * infinite. */
static int get_power(ld_t *L, const yaml_node_t *v, const char *field, double scale, int pos,
                     double *out_w)
{
  double x;
  int rc = pos ? get_pos(L, v, field, &x) : get_nonneg(L, v, field, &x);
  if (rc != HR_OK)
    return rc;
  if (!(x * scale <= HR_TREE_MAX_VALUE))
    return hr__tree_fail(L->e, HR_ERR_RANGE, mk(v), field, "%g is beyond %g W", x,
                         HR_TREE_MAX_VALUE);
  *out_w = x * scale;
  return HR_OK;
}

static int get_bool(ld_t *L, const yaml_node_t *v, const char *field, int *out)
{
  static const char *const yes[] = {"on", "true", "yes"};
  static const char *const no[] = {"off", "false", "no"};
  const char *s = sval(v);
  if (s && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
    for (int k = 0; k < 3; k++) {
      if (strcasecmp(s, yes[k]) == 0) {
        *out = 1;
        return HR_OK;
      }
      if (strcasecmp(s, no[k]) == 0) {
        *out = 0;
        return HR_OK;
      }
    }
  }
  char d[96];
  describe(v, d, sizeof d);
  return hr__tree_fail(L->e, HR_ERR_PARSE, mk(v), field, "expected on or off, got %s", d);
}

/* A scalar with no NUL inside, at most max bytes; *out borrows the document. */
static int get_text(ld_t *L, const yaml_node_t *v, const char *field, size_t max, const char **out)
{
  const char *s = sval(v);
  if (!s) {
    char d[96];
    describe(v, d, sizeof d);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(v), field, "expected a string, got %s", d);
  }
  if (strlen(s) != v->data.scalar.length)
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(v), field, "contains a NUL character");
  if (v->data.scalar.length > max)
    return hr__tree_fail(L->e, HR_ERR_RANGE, mk(v), field, "longer than %zu characters", max);
  *out = s;
  return HR_OK;
}

static int dup_text(ld_t *L, const char *s, char **out)
{
  size_t n = strlen(s) + 1;
  *out = malloc(n);
  if (!*out)
    return hr__tree_fail(L->e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "(document)", "out of memory");
  memcpy(*out, s, n);
  return HR_OK;
}

static int valid_id(const char *s)
{
  size_t n = strlen(s);
  return n >= 1 && n <= MAX_ID &&
         strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-") == n;
}

static int get_id(ld_t *L, const yaml_node_t *v, const char *field, char **out)
{
  const char *s;
  int rc = get_text(L, v, field, 1000, &s);
  if (rc != HR_OK)
    return rc;
  if (!valid_id(s)) {
    char d[96];
    describe(v, d, sizeof d);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(v), field,
                         "invalid id %s (1 to 63 of A-Z a-z 0-9 _ . : / -)", d);
  }
  return dup_text(L, s, out);
}

static int is_null(const yaml_node_t *v)
{
  const char *s = sval(v);
  return s && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
         (s[0] == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0);
}

/* One of names[0..n-1], case-insensitive; *out is the index. */
/* "a, b or c": the names of t[0..n), for messages, from the table that
 * parses them, so a message cannot list a name the parser refuses. */
static const char *enum_list(const hr__enum_name_t *t, size_t n, char *list, size_t len)
{
  size_t at = 0;
  list[0] = '\0';
  for (size_t k = 0; k < n && at < len; k++) {
    const char *sep = k == 0 ? "" : (k == n - 1 ? " or " : ", ");
    int w = snprintf(list + at, len - at, "%s%s", sep, t[k].name);
    at += w > 0 ? (size_t)w : 0;
  }
  return list;
}

/* Parses v as one of the names of t[0..n) (ASCII case ignored) into *out,
 * the entry's value; the refusal lists the names. */
static int get_enum(ld_t *L, const yaml_node_t *v, const char *field, const hr__enum_name_t *t,
                    size_t n, int *out)
{
  const char *s = sval(v);
  if (s && hr__enum_parse(t, n, s, 1, out) == HR_OK)
    return HR_OK;
  char d[96], list[256];
  describe(v, d, sizeof d);
  return hr__tree_fail(L->e, HR_ERR_PARSE, mk(v), field, "unknown value %s (expected %s)", d,
                       enum_list(t, n, list, sizeof list));
}

/* Matches base + "_w" / "_kw" / "_mw" + tail.  Returns the scale to watts
 * and the unit's index in *unit (0 W, 1 kW, 2 MW), or 0 when key differs. */
static double power_key(const char *key, const char *base, const char *tail, int *unit)
{
  static const char *const units[] = {"_w", "_kw", "_mw"};
  static const double scales[] = {1.0, 1e3, 1e6};
  size_t b = strlen(base);
  if (strncmp(key, base, b) != 0)
    return 0.0;
  for (int u = 0; u < 3; u++) {
    size_t ul = strlen(units[u]);
    if (strncmp(key + b, units[u], ul) == 0 && strcmp(key + b + ul, tail) == 0) {
      *unit = u;
      return scales[u];
    }
  }
  return 0.0;
}

static int map_key(ld_t *L, const yaml_node_pair_t *pr, const char *prefix, const yaml_node_t **k,
                   const yaml_node_t **v, const char **key)
{
  *k = yaml_document_get_node(L->doc, pr->key);
  *v = yaml_document_get_node(L->doc, pr->value);
  *key = sval(*k);
  if (!*key || strlen(*key) != (*k)->data.scalar.length) {
    char d[96];
    describe(*k, d, sizeof d);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(*k), prefix, "keys must be strings, got %s", d);
  }
  return HR_OK;
}

#define FOR_PAIRS(map, pr)                                                                         \
  for (const yaml_node_pair_t *pr = (map)->data.mapping.pairs.start;                               \
       pr < (map)->data.mapping.pairs.top; pr++)

static const yaml_node_t *find_key(ld_t *L, const yaml_node_t *map, const char *name)
{
  FOR_PAIRS(map, pr)
  {
    const char *k = sval(yaml_document_get_node(L->doc, pr->key));
    if (k && strcmp(k, name) == 0)
      return yaml_document_get_node(L->doc, pr->value);
  }
  return NULL;
}

/* Seen-key bookkeeping: each accepted key owns a slot; a second key for the
 * same slot (a repeat, or rating_kw after rating_w) is an error. */
typedef struct seen {
  int line[48];
  const char *key[48];
} seen_t;

static int see(ld_t *L, seen_t *s, int slot, const char *key, const yaml_node_t *k,
               const char *field)
{
  if (s->line[slot]) {
    if (strcmp(s->key[slot], key) == 0)
      return hr__tree_fail(L->e, HR_ERR_PARSE, mk(k), field, "duplicate key (first at line %d)",
                           s->line[slot]);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(k), field, "conflicts with %s at line %d",
                         s->key[slot], s->line[slot]);
  }
  s->line[slot] = mk(k).line;
  s->key[slot] = key;
  return HR_OK;
}

/* ---- devices ----------------------------------------------------------------- */

enum { V_NUM, V_BOOL, V_ELEMENTS, V_CURVE, V_RESET, V_MELT };

typedef struct dkey {
  const char *key;   /* as written in the file */
  const char *canon; /* as hr_device_cfg_check names it */
  int kind;
} dkey_t;

/* Multiples (ir, isd, ii, ig) and amperes (ir_a ...) share a canonical slot:
 * a file gives one or the other. */
static const dkey_t tu_keys[] = {
    {"curve", "curve", V_ELEMENTS},
    {"in_a", "in_a", V_NUM},
    {"ir", "ir_a", V_NUM},
    {"ir_a", "ir_a", V_NUM},
    {"tr_s", "tr_s", V_NUM},
    {"l_pickup", "l_pickup", V_NUM},
    {"memory", "memory", V_BOOL},
    {"post_trip", "post_trip", V_NUM},
    {"isd", "isd_a", V_NUM},
    {"isd_a", "isd_a", V_NUM},
    {"tsd_s", "tsd_s", V_NUM},
    {"sd_i2t", "sd_i2t", V_BOOL},
    {"s_reset_s", "s_reset_s", V_NUM},
    {"ii", "ii_a", V_NUM},
    {"ii_a", "ii_a", V_NUM},
    {"ti_s", "ti_s", V_NUM},
    {"ig", "ig_a", V_NUM},
    {"ig_a", "ig_a", V_NUM},
    {"tg_s", "tg_s", V_NUM},
    {"g_i2t", "g_i2t", V_BOOL},
};

static const dkey_t relay_keys[] = {
    {"curve", "curve", V_CURVE},   {"is_a", "is_a", V_NUM},   {"tms", "tms", V_NUM},
    {"pickup", "pickup", V_NUM},   {"m_max", "m_max", V_NUM}, {"reset", "reset", V_RESET},
    {"reset_s", "reset_s", V_NUM}, {"k_s", "k_s", V_NUM},     {"alpha", "alpha", V_NUM},
    {"c_s", "c_s", V_NUM},         {"kr_s", "kr_s", V_NUM},   {"ii_a", "ii_a", V_NUM},
    {"ti_s", "ti_s", V_NUM},
};

static const dkey_t fuse_keys[] = {
    {"in_a", "in_a", V_NUM},
    {"melt", "melt", V_MELT},
    {"cool_s", "cool_s", V_NUM},
};

#define MAX_DKEYS 24

typedef struct dvals {
  const dkey_t *keys;
  int n;
  int given[MAX_DKEYS];
  double num[MAX_DKEYS];
  const yaml_node_t *node[MAX_DKEYS];
  const char *text[MAX_DKEYS]; /* the element letters as written */
} dvals_t;

static int kidx(const dvals_t *d, const char *key)
{
  for (int k = 0; k < d->n; k++)
    if (strcmp(d->keys[k].key, key) == 0)
      return k;
  return -1;
}

static int has(const dvals_t *d, const char *key)
{
  int k = kidx(d, key);
  return k >= 0 && d->given[k];
}

static double num(const dvals_t *d, const char *key)
{
  return d->num[kidx(d, key)];
}

static hr__mark_t at(const dvals_t *d, const char *key)
{
  return mk(d->node[kidx(d, key)]);
}

/* "LSIG" and its subsets containing L: bit 1 = S, 2 = I, 3 = G. */
static int parse_elements(const char *s, unsigned *out)
{
  unsigned m = 0;
  size_t n = strlen(s);
  if (n < 1 || n > 4)
    return -1;
  for (size_t k = 0; k < n; k++) {
    const char *p = strchr("LSIG", s[k] >= 'a' && s[k] <= 'z' ? s[k] - 'a' + 'A' : s[k]);
    if (!p || s[k] == '\0' || (m & (1u << (p - "LSIG"))))
      return -1;
    m |= 1u << (p - "LSIG");
  }
  if (!(m & 1u))
    return -1;
  *out = m;
  return 0;
}

static int read_melt(ld_t *L, const yaml_node_t *v, const char *field, hr_fuse_cfg_t *u)
{
  char d[96], f[200];
  if (v->type != YAML_SEQUENCE_NODE) {
    describe(v, d, sizeof d);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(v), field,
                         "expected a sequence of [i_a, t_s] points, got %s", d);
  }
  int n = 0;
  for (const yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
       it++, n++) {
    const yaml_node_t *pt = yaml_document_get_node(L->doc, *it);
    put(f, sizeof f, "%s[%d]", field, n);
    if (n >= HR_FUSE_MAX_POINTS)
      return hr__tree_fail(L->e, HR_ERR_RANGE, mk(pt), f, "more than %d points",
                           HR_FUSE_MAX_POINTS);
    if (pt->type != YAML_SEQUENCE_NODE ||
        pt->data.sequence.items.top - pt->data.sequence.items.start != 2) {
      describe(pt, d, sizeof d);
      return hr__tree_fail(L->e, HR_ERR_PARSE, mk(pt), f, "expected a pair [i_a, t_s], got %s", d);
    }
    const yaml_node_t *iv = yaml_document_get_node(L->doc, pt->data.sequence.items.start[0]);
    const yaml_node_t *tv = yaml_document_get_node(L->doc, pt->data.sequence.items.start[1]);
    int rc = get_num(L, iv, f, &u->i_a[n]);
    if (rc == HR_OK)
      rc = get_num(L, tv, f, &u->t_s[n]);
    if (rc != HR_OK)
      return rc;
  }
  u->n_points = n;
  return HR_OK;
}

static int missing(ld_t *L, const yaml_node_t *map, const char *prefix, const char *key,
                   const char *why)
{
  char f[200];
  join(f, sizeof f, prefix, key);
  return hr__tree_fail(L->e, HR_ERR_PARSE, mk(map), f, "missing (%s)", why);
}

/* Keys given for an element the curve does not have. */
static int stray(ld_t *L, const dvals_t *d, const char *prefix, const char *const *keys,
                 const char *curve, char elem)
{
  char f[200];
  for (int k = 0; keys[k]; k++) {
    if (has(d, keys[k])) {
      join(f, sizeof f, prefix, keys[k]);
      return hr__tree_fail(L->e, HR_ERR_PARSE, at(d, keys[k]), f, "curve %s has no %c element",
                           curve, elem);
    }
  }
  return HR_OK;
}

/* A pickup given as a multiple of base (key) or in amperes (key_a). */
static int pickup(const dvals_t *d, const char *mult, const char *amps, double base, double *out)
{
  if (has(d, mult)) {
    *out = num(d, mult) * base;
    return 1;
  }
  if (has(d, amps)) {
    *out = num(d, amps);
    return 1;
  }
  return 0;
}

static int finish_trip_unit(ld_t *L, const yaml_node_t *map, const char *prefix, dvals_t *d,
                            double node_rating_a, hr_trip_unit_cfg_t *u, hr__mark_t *at_rating,
                            const char **key_rating)
{
  static const char *const s_keys[] = {"isd", "isd_a", "tsd_s", "sd_i2t", "s_reset_s", NULL};
  static const char *const i_keys[] = {"ii", "ii_a", "ti_s", NULL};
  static const char *const g_keys[] = {"ig", "ig_a", "tg_s", "g_i2t", NULL};
  int rc;
  if (!has(d, "curve"))
    return missing(L, map, prefix, "curve", "LI, LS, LSI, LIG, LSG or LSIG");
  unsigned el = (unsigned)num(d, "curve");
  const char *curve = d->text[kidx(d, "curve")];
  u->has_s = (el >> 1) & 1u;
  u->has_i = (el >> 2) & 1u;
  u->has_g = (el >> 3) & 1u;
  if (has(d, "in_a")) {
    u->in_a = num(d, "in_a");
    *at_rating = at(d, "in_a");
    *key_rating = "in_a";
  } else if (node_rating_a > 0.0) {
    u->in_a = node_rating_a; /* a breaker's sensor rating defaults to the node's */
  } else {
    return missing(L, map, prefix, "in_a", "and the node has no rating_a to take it from");
  }
  if (pickup(d, "ir", "ir_a", u->in_a, &u->ir_a)) {
    *key_rating = has(d, "ir") ? "ir" : "ir_a";
    *at_rating = at(d, *key_rating);
  } else {
    u->ir_a = u->in_a;
  }
  if (!has(d, "tr_s"))
    return missing(L, map, prefix, "tr_s", "every trip unit has an L element");
  u->tr_s = num(d, "tr_s");
  if (has(d, "l_pickup"))
    u->l_pickup = num(d, "l_pickup");
  if (has(d, "memory"))
    u->memory = (int)num(d, "memory");
  if (has(d, "post_trip"))
    u->post_trip = num(d, "post_trip");
  char why[64];
  if (!u->has_s && (rc = stray(L, d, prefix, s_keys, curve, 'S')) != HR_OK)
    return rc;
  if (!u->has_i && (rc = stray(L, d, prefix, i_keys, curve, 'I')) != HR_OK)
    return rc;
  if (!u->has_g && (rc = stray(L, d, prefix, g_keys, curve, 'G')) != HR_OK)
    return rc;
  if (u->has_s) {
    snprintf(why, sizeof why, "curve %s has an S element", curve);
    if (!pickup(d, "isd", "isd_a", u->ir_a, &u->isd_a))
      return missing(L, map, prefix, "isd", why);
    if (!has(d, "tsd_s"))
      return missing(L, map, prefix, "tsd_s", why);
    u->tsd_s = num(d, "tsd_s");
    if (has(d, "sd_i2t"))
      u->s_i2t = (int)num(d, "sd_i2t");
    if (has(d, "s_reset_s"))
      u->s_reset_s = num(d, "s_reset_s");
  }
  if (u->has_i) {
    snprintf(why, sizeof why, "curve %s has an I element", curve);
    if (!pickup(d, "ii", "ii_a", u->in_a, &u->ii_a))
      return missing(L, map, prefix, "ii", why);
    if (has(d, "ti_s"))
      u->ti_s = num(d, "ti_s");
  }
  if (u->has_g) {
    snprintf(why, sizeof why, "curve %s has a G element", curve);
    if (!pickup(d, "ig", "ig_a", u->in_a, &u->ig_a))
      return missing(L, map, prefix, "ig", why);
    if (!has(d, "tg_s"))
      return missing(L, map, prefix, "tg_s", why);
    u->tg_s = num(d, "tg_s");
    if (has(d, "g_i2t"))
      u->g_i2t = (int)num(d, "g_i2t");
  }
  return HR_OK;
}

static int finish_relay(ld_t *L, const yaml_node_t *map, const char *prefix, dvals_t *d,
                        hr_relay_cfg_t *r)
{
  static const char *const custom_keys[] = {"k_s", "alpha", "c_s", "kr_s", NULL};
  char f[200];
  char names[256];
  if (!has(d, "curve"))
    return missing(L, map, prefix, "curve",
                   enum_list(hr__curve_names, HR__COUNT(hr__curve_names), names, sizeof names));
  r->curve = (hr_curve_t)(int)num(d, "curve");
  if (!has(d, "is_a"))
    return missing(L, map, prefix, "is_a", "the pickup current of the relay");
  r->is_a = num(d, "is_a");
  if (!has(d, "tms"))
    return missing(L, map, prefix, "tms", "the time multiplier or time dial");
  r->tms = num(d, "tms");
  if (has(d, "pickup"))
    r->pickup = num(d, "pickup");
  if (has(d, "m_max"))
    r->m_max = num(d, "m_max");
  if (has(d, "reset"))
    r->reset = (hr_reset_t)(int)num(d, "reset");
  if (r->curve == HR_CURVE_CUSTOM) {
    if (!has(d, "k_s"))
      return missing(L, map, prefix, "k_s", "curve custom needs k_s and alpha");
    if (!has(d, "alpha"))
      return missing(L, map, prefix, "alpha", "curve custom needs k_s and alpha");
    r->custom.k_s = num(d, "k_s");
    r->custom.alpha = num(d, "alpha");
    r->custom.c_s = has(d, "c_s") ? num(d, "c_s") : 0.0;
    if (has(d, "kr_s"))
      r->custom.tr_s = num(d, "kr_s");
    else if (r->reset == HR_RESET_DEPENDENT)
      return missing(L, map, prefix, "kr_s", "curve custom with the dependent reset");
  } else {
    for (int k = 0; custom_keys[k]; k++) {
      if (has(d, custom_keys[k])) {
        join(f, sizeof f, prefix, custom_keys[k]);
        return hr__tree_fail(L->e, HR_ERR_PARSE, at(d, custom_keys[k]), f,
                             "only for curve: custom");
      }
    }
  }
  if (r->reset == HR_RESET_DEFINITE) {
    if (!has(d, "reset_s"))
      return missing(L, map, prefix, "reset_s", "reset: definite needs its time");
    r->reset_s = num(d, "reset_s");
  } else if (has(d, "reset_s")) {
    join(f, sizeof f, prefix, "reset_s");
    return hr__tree_fail(L->e, HR_ERR_PARSE, at(d, "reset_s"), f, "only for reset: definite");
  }
  if (has(d, "ii_a")) {
    r->has_inst = 1;
    r->ii_a = num(d, "ii_a");
    if (has(d, "ti_s"))
      r->ti_s = num(d, "ti_s");
  } else if (has(d, "ti_s")) {
    join(f, sizeof f, prefix, "ti_s");
    return hr__tree_fail(L->e, HR_ERR_PARSE, at(d, "ti_s"), f,
                         "needs ii_a (the instantaneous element)");
  }
  return HR_OK;
}

static int finish_fuse(ld_t *L, const yaml_node_t *map, const char *prefix, dvals_t *d,
                       double node_rating_a, hr_fuse_cfg_t *u, hr__mark_t *at_rating,
                       const char **key_rating)
{
  if (has(d, "in_a")) {
    u->in_a = num(d, "in_a");
    *at_rating = at(d, "in_a");
    *key_rating = "in_a";
  } else if (node_rating_a > 0.0) {
    u->in_a = node_rating_a;
  } else {
    return missing(L, map, prefix, "in_a", "and the node has no rating_a to take it from");
  }
  if (!has(d, "melt"))
    return missing(L, map, prefix, "melt", "a table of [i_a, t_s] melting points");
  if (has(d, "cool_s"))
    u->cool_s = num(d, "cool_s");
  return HR_OK;
}

/* Index of the first fuse table point hr_device_cfg_check objects to. */
static int bad_point(const hr_fuse_cfg_t *u)
{
  for (int k = 0; k < u->n_points; k++) {
    if (!(u->i_a[k] > 0.0) || !(u->t_s[k] > 0.0))
      return k;
    if (k > 0 && (!(u->i_a[k] > u->i_a[k - 1]) || !(u->t_s[k] < u->t_s[k - 1])))
      return k;
  }
  return 0;
}

static int read_device(ld_t *L, const yaml_node_t *map, const char *prefix, double node_rating_a,
                       hr_device_cfg_t *cfg, hr__mark_t *at_rating, const char **key_rating)
{
  static const hr__enum_name_t resets[] = {{HR_RESET_DEPENDENT, "dependent"},
                                           {HR_RESET_INSTANT, "instant"},
                                           {HR_RESET_DEFINITE, "definite"}};
  char f[200], d64[96];
  int rc;
  if (map->type != YAML_MAPPING_NODE) {
    describe(map, d64, sizeof d64);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(map), prefix, "expected a mapping, got %s", d64);
  }
  const yaml_node_t *tv = find_key(L, map, "type");
  join(f, sizeof f, prefix, "type");
  const hr__enum_name_t *types = hr__device_type_names;
  const size_t n_types = HR__COUNT(hr__device_type_names);
  if (!tv)
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(map), f, "missing (%s)",
                         enum_list(types, n_types, d64, sizeof d64));
  int type;
  if ((rc = get_enum(L, tv, f, types, n_types, &type)) != HR_OK)
    return rc;
  hr_device_cfg_init(cfg, (hr_device_type_t)type);
  dvals_t d;
  memset(&d, 0, sizeof d);
  if (type == HR_DEVICE_TRIP_UNIT) {
    d.keys = tu_keys;
    d.n = (int)(sizeof tu_keys / sizeof tu_keys[0]);
  } else if (type == HR_DEVICE_RELAY) {
    d.keys = relay_keys;
    d.n = (int)(sizeof relay_keys / sizeof relay_keys[0]);
  } else if (type == HR_DEVICE_FUSE) {
    d.keys = fuse_keys;
    d.n = (int)(sizeof fuse_keys / sizeof fuse_keys[0]);
  }
  seen_t seen;
  memset(&seen, 0, sizeof seen);
  const yaml_node_t *melt = NULL;
  FOR_PAIRS(map, pr)
  {
    const yaml_node_t *kn, *v;
    const char *key;
    if ((rc = map_key(L, pr, prefix, &kn, &v, &key)) != HR_OK)
      return rc;
    join(f, sizeof f, prefix, key);
    if (strcmp(key, "type") == 0) {
      if ((rc = see(L, &seen, 47, key, kn, f)) != HR_OK)
        return rc;
      continue;
    }
    int k = kidx(&d, key);
    if (k < 0)
      return hr__tree_fail(L->e, HR_ERR_PARSE, mk(kn), f, "unknown key for a %s device",
                           hr_device_type_name((hr_device_type_t)type));
    int slot = k;
    for (int j = 0; j < k; j++)
      if (strcmp(d.keys[j].canon, d.keys[k].canon) == 0)
        slot = j;
    if ((rc = see(L, &seen, slot, key, kn, f)) != HR_OK)
      return rc;
    d.given[k] = 1;
    d.node[k] = v;
    switch (d.keys[k].kind) {
    case V_NUM:
      rc = get_num(L, v, f, &d.num[k]);
      break;
    case V_BOOL: {
      int b = 0;
      rc = get_bool(L, v, f, &b);
      d.num[k] = b;
      break;
    }
    case V_ELEMENTS: {
      const char *s = NULL;
      unsigned m = 0;
      rc = get_text(L, v, f, 8, &s);
      if (rc == HR_OK && parse_elements(s, &m) != 0) {
        describe(v, d64, sizeof d64);
        rc = hr__tree_fail(L->e, HR_ERR_PARSE, mk(v), f,
                           "unknown value %s (expected LI, LS, LSI, LIG, LSG or LSIG)", d64);
      }
      d.num[k] = m;
      d.text[k] = s;
      break;
    }
    case V_CURVE: {
      int c = 0;
      rc = get_enum(L, v, f, hr__curve_names, HR__COUNT(hr__curve_names), &c);
      d.num[k] = c;
      break;
    }
    case V_RESET: {
      int r = 0;
      rc = get_enum(L, v, f, resets, HR__COUNT(resets), &r);
      d.num[k] = r;
      break;
    }
    case V_MELT:
      melt = v;
      rc = read_melt(L, v, f, &cfg->u.fuse);
      break;
    }
    if (rc != HR_OK)
      return rc;
  }
  switch (type) {
  case HR_DEVICE_TRIP_UNIT:
    rc = finish_trip_unit(L, map, prefix, &d, node_rating_a, &cfg->u.tu, at_rating, key_rating);
    break;
  case HR_DEVICE_RELAY:
    rc = finish_relay(L, map, prefix, &d, &cfg->u.relay);
    break;
  case HR_DEVICE_FUSE:
    rc = finish_fuse(L, map, prefix, &d, node_rating_a, &cfg->u.fuse, at_rating, key_rating);
    break;
  default:
    rc = HR_OK;
  }
  if (rc != HR_OK)
    return rc;
  const char *bad = NULL, *why = NULL;
  if (hr_device_cfg_check(cfg, &bad, &why) == HR_OK)
    return HR_OK;
  /* Report the setting under the key the file used (ir rather than ir_a). */
  hr__mark_t m = mk(map);
  const char *key = bad;
  for (int k = 0; k < d.n; k++) {
    if (d.given[k] && strcmp(d.keys[k].canon, bad) == 0) {
      m = mk(d.node[k]);
      key = d.keys[k].key;
    }
  }
  if (strcmp(bad, "melt") == 0 && melt && cfg->u.fuse.n_points >= 2) {
    int k = bad_point(&cfg->u.fuse);
    const yaml_node_t *pt = yaml_document_get_node(L->doc, melt->data.sequence.items.start[k]);
    join(f, sizeof f, prefix, "melt");
    char fk[220];
    put(fk, sizeof fk, "%s[%d]", f, k);
    return hr__tree_fail(L->e, HR_ERR_RANGE, mk(pt), fk, "%s", why);
  }
  join(f, sizeof f, prefix, key);
  return hr__tree_fail(L->e, HR_ERR_RANGE, m, f, "%s", why);
}

/* ---- grid limits ------------------------------------------------------------- */

/* oscillation_w: [[f_lo_hz, f_hi_hz, max_w], ...] */
static int read_bands(ld_t *L, const yaml_node_t *v, const char *field, hr_grid_limits_t *g)
{
  char d[96], f[200];
  if (v->type != YAML_SEQUENCE_NODE) {
    describe(v, d, sizeof d);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(v), field,
                         "expected a sequence of [f_lo_hz, f_hi_hz, max_w] bands, got %s", d);
  }
  int n = 0;
  for (const yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
       it++, n++) {
    const yaml_node_t *b = yaml_document_get_node(L->doc, *it);
    put(f, sizeof f, "%s[%d]", field, n);
    if (n >= HR_GRID_MAX_BANDS)
      return hr__tree_fail(L->e, HR_ERR_RANGE, mk(b), f, "more than %d bands", HR_GRID_MAX_BANDS);
    if (b->type != YAML_SEQUENCE_NODE ||
        b->data.sequence.items.top - b->data.sequence.items.start != 3) {
      describe(b, d, sizeof d);
      return hr__tree_fail(L->e, HR_ERR_PARSE, mk(b), f,
                           "expected [f_lo_hz, f_hi_hz, max_w], got %s", d);
    }
    double x[3];
    for (int k = 0; k < 3; k++) {
      const yaml_node_t *e = yaml_document_get_node(L->doc, b->data.sequence.items.start[k]);
      int rc = get_num(L, e, f, &x[k]);
      if (rc != HR_OK)
        return rc;
    }
    if (!(x[0] > 0.0) || !(x[1] > x[0]) || !(x[2] > 0.0))
      return hr__tree_fail(L->e, HR_ERR_RANGE, mk(b), f,
                           "need 0 < f_lo_hz < f_hi_hz and max_w > 0 (got %g, %g, %g)", x[0], x[1],
                           x[2]);
    g->bands[n] = (hr_osc_band_t){x[0], x[1], x[2]};
  }
  g->n_bands = n;
  return HR_OK;
}

static int read_grid(ld_t *L, const yaml_node_t *map, const char *prefix, hr_grid_limits_t *g)
{
  char f[200], d[64];
  int rc, unit;
  if (map->type != YAML_MAPPING_NODE) {
    describe(map, d, sizeof d);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(map), prefix, "expected a mapping, got %s", d);
  }
  seen_t seen;
  memset(&seen, 0, sizeof seen);
  static const char *const min_spell[] = {"min_w", "min_kw", "min_mw"};
  const yaml_node_t *at_min = NULL;
  const char *min_key = "min_w";
  FOR_PAIRS(map, pr)
  {
    const yaml_node_t *kn, *v;
    const char *key;
    if ((rc = map_key(L, pr, prefix, &kn, &v, &key)) != HR_OK)
      return rc;
    join(f, sizeof f, prefix, key);
    double scale, x = 0.0, *dst;
    int slot;
    if (strcmp(key, "oscillation_w") == 0) {
      if ((rc = see(L, &seen, 3, key, kn, f)) != HR_OK || (rc = read_bands(L, v, f, g)) != HR_OK)
        return rc;
      continue;
    }
    if (strcmp(key, "ramp_window_s") == 0) {
      if ((rc = see(L, &seen, 4, key, kn, f)) != HR_OK || (rc = get_nonneg(L, v, f, &x)) != HR_OK)
        return rc;
      g->ramp_window_s = x;
      continue;
    }
    if ((scale = power_key(key, "max_ramp", "_per_s", &unit)) > 0.0) {
      slot = 0;
      dst = &g->max_ramp_w_per_s;
    } else if ((scale = power_key(key, "max", "", &unit)) > 0.0) {
      slot = 1;
      dst = &g->max_p_w;
    } else if ((scale = power_key(key, "min", "", &unit)) > 0.0) {
      slot = 2;
      dst = &g->min_p_w;
      at_min = v;
      min_key = min_spell[unit];
    } else {
      return hr__tree_fail(L->e, HR_ERR_PARSE, mk(kn), f, "unknown key");
    }
    if ((rc = see(L, &seen, slot, key, kn, f)) != HR_OK ||
        (rc = get_power(L, v, f, scale, 0, &x)) != HR_OK)
      return rc;
    *dst = x;
  }
  if (at_min && g->max_p_w > 0.0 && g->min_p_w > g->max_p_w) {
    join(f, sizeof f, prefix, min_key);
    return hr__tree_fail(L->e, HR_ERR_RANGE, mk(at_min), f, "above the maximum");
  }
  return HR_OK;
}

/* ---- nodes ------------------------------------------------------------------- */

enum {
  N_ID,
  N_NAME,
  N_KIND,
  N_PARENT,
  N_PARENT_B,
  N_FEED,
  N_VOLTAGE,
  N_PHASES,
  N_PHASE,
  N_PHASE_B,
  N_RATING_A,
  N_RATING_W,
  N_BUDGET,
  N_BURST,
  N_DEVICE,
  N_GRID,
  N_COUNT
};

static const char *const node_keys[N_COUNT] = {
    "id",    "name",    "kind",     "parent", "parent_b", "feed", "voltage_v", "phases",
    "phase", "phase_b", "rating_a", NULL,     NULL,       NULL,   "device",    "grid",
};

static const char *const rating_spell[] = {"rating_w", "rating_kw", "rating_mw"};
static const char *const budget_spell[] = {"budget_w", "budget_kw", "budget_mw"};
static const char *const burst_spell[] = {"burst_w", "burst_kw", "burst_mw"};

static int add_device(ld_t *L, const hr_device_cfg_t *cfg, int32_t *idx)
{
  hr__doc_t *o = L->out;
  if (o->n_devs == L->cap_devs) {
    size_t cap = L->cap_devs ? 2 * L->cap_devs : 16;
    hr_device_cfg_t *p = realloc(o->devs, cap * sizeof *p);
    if (!p)
      return hr__tree_fail(L->e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "(document)", "out of memory");
    o->devs = p;
    L->cap_devs = cap;
  }
  o->devs[o->n_devs] = *cfg;
  *idx = (int32_t)o->n_devs++;
  return HR_OK;
}

static int read_node(ld_t *L, const yaml_node_t *map, size_t index, hr__proto_t *p)
{
  char label[96], f[200], d[64];
  int rc, has_parent_key = 0;
  p->dev = -1;
  p->at_node = mk(map);
  snprintf(label, sizeof label, "nodes[%zu]", index);
  if (map->type != YAML_MAPPING_NODE) {
    describe(map, d, sizeof d);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(map), label, "expected a mapping, got %s", d);
  }
  /* Messages name the node by its id when it has a usable one. */
  const yaml_node_t *idv = find_key(L, map, "id");
  const char *ids = sval(idv);
  if (ids && strlen(ids) == idv->data.scalar.length && valid_id(ids))
    put(label, sizeof label, "nodes[%s]", ids);
  seen_t seen;
  memset(&seen, 0, sizeof seen);
  const yaml_node_t *devmap = NULL;
  FOR_PAIRS(map, pr)
  {
    const yaml_node_t *kn, *v;
    const char *key, *text;
    if ((rc = map_key(L, pr, label, &kn, &v, &key)) != HR_OK)
      return rc;
    join(f, sizeof f, label, key);
    int slot = -1, unit = 0, e = 0;
    double scale = 0.0, x = 0.0;
    for (int s = 0; s < N_COUNT; s++)
      if (node_keys[s] && strcmp(key, node_keys[s]) == 0)
        slot = s;
    if (slot < 0) {
      if ((scale = power_key(key, "rating", "", &unit)) > 0.0)
        slot = N_RATING_W;
      else if ((scale = power_key(key, "budget", "", &unit)) > 0.0)
        slot = N_BUDGET;
      else if ((scale = power_key(key, "burst", "", &unit)) > 0.0)
        slot = N_BURST;
      else
        return hr__tree_fail(L->e, HR_ERR_PARSE, mk(kn), f, "unknown key");
    }
    if ((rc = see(L, &seen, slot, key, kn, f)) != HR_OK)
      return rc;
    switch (slot) {
    case N_ID:
      rc = get_id(L, v, f, &p->id);
      break;
    case N_NAME:
      rc = get_text(L, v, f, MAX_NAME, &text);
      if (rc == HR_OK)
        rc = dup_text(L, text, &p->name);
      break;
    case N_KIND:
      rc = get_enum(L, v, f, hr__node_kind_names, HR__COUNT(hr__node_kind_names), &e);
      p->kind = (hr_node_kind_t)e;
      break;
    case N_PARENT:
      has_parent_key = 1;
      p->at_parent = mk(v);
      if (!is_null(v))
        rc = get_id(L, v, f, &p->parent);
      break;
    case N_PARENT_B:
      p->at_parent_b = mk(v);
      if (!is_null(v))
        rc = get_id(L, v, f, &p->parent_b);
      break;
    case N_FEED:
      /* a or b: "none" and "ab" are what a node inherits, not what it says */
      rc = get_enum(L, v, f, hr__feed_names + 1, 2, &e);
      p->feed = (unsigned)e;
      p->has_feed = 1;
      p->at_feed = mk(v);
      break;
    case N_VOLTAGE:
      rc = get_pos(L, v, f, &p->u_v);
      p->at_voltage = mk(v);
      break;
    case N_PHASES:
      rc = get_num(L, v, f, &x);
      if (rc == HR_OK && x != 1.0 && x != 3.0)
        rc = hr__tree_fail(L->e, HR_ERR_RANGE, mk(v), f, "must be 1 or 3, got %g", x);
      p->n_phases = (int)x;
      p->at_phases = mk(v);
      break;
    case N_PHASE:
    case N_PHASE_B:
      /* one of the single phases: a three-phase node says phases: 3 instead */
      rc = get_enum(L, v, f, hr__phase_names + 1, HR__COUNT(hr__phase_names) - 1, &e);
      if (slot == N_PHASE) {
        p->phase = (hr_phase_t)e;
        p->has_phase = 1;
        p->at_phase = mk(v);
      } else {
        p->phase_b = (hr_phase_t)e;
        p->has_phase_b = 1;
        p->at_phase_b = mk(v);
      }
      break;
    case N_RATING_A:
      rc = get_pos(L, v, f, &p->rating_a);
      p->at_rating_a = mk(v);
      break;
    case N_RATING_W:
      rc = get_power(L, v, f, scale, 1, &x);
      p->rating_w = x;
      p->key_rating_w = rating_spell[unit];
      p->at_rating_w = mk(v);
      break;
    case N_BUDGET:
      rc = get_power(L, v, f, scale, 1, &x);
      p->budget_w = x;
      p->key_budget = budget_spell[unit];
      p->at_budget = mk(v);
      break;
    case N_BURST:
      rc = get_power(L, v, f, scale, 1, &x);
      p->burst_w = x;
      p->key_burst = burst_spell[unit];
      p->at_burst = mk(v);
      break;
    case N_DEVICE:
      devmap = v;
      p->at_device = mk(v);
      break;
    case N_GRID:
      rc = read_grid(L, v, f, &p->grid);
      p->has_grid = 1;
      p->at_grid = mk(v);
      break;
    }
    if (rc != HR_OK)
      return rc;
  }
  if (!p->id) {
    join(f, sizeof f, label, "id");
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(map), f, "missing (every node needs an id)");
  }
  if (!p->kind) {
    join(f, sizeof f, label, "kind");
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(map), f,
                         "missing (utility, generator, transformer, switchgear, ups, distribution, "
                         "busway, pdu, branch, rack, server or gpu)");
  }
  if (!has_parent_key) {
    join(f, sizeof f, label, "parent");
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(map), f, "missing (write parent: null for a root)");
  }
  if (devmap) {
    char pre[120];
    hr_device_cfg_t cfg;
    put(pre, sizeof pre, "%s.device", label);
    p->at_dev_rating = mk(devmap);
    rc = read_device(L, devmap, pre, p->rating_a, &cfg, &p->at_dev_rating, &p->key_dev_rating);
    if (rc != HR_OK)
      return rc;
    if (cfg.type != HR_DEVICE_NONE && (rc = add_device(L, &cfg, &p->dev)) != HR_OK)
      return rc;
  }
  return HR_OK;
}

/* ---- document ---------------------------------------------------------------- */

static int read_top(ld_t *L, const yaml_node_t *root)
{
  static const hr__enum_name_t red_names[] = {
      {HR_REDUNDANCY_NONE, "none"}, {HR_REDUNDANCY_2N, "2n"}, {HR_REDUNDANCY_NN, "n+n"}};
  char d[96];
  int rc;
  hr__doc_t *o = L->out;
  if (root->type != YAML_MAPPING_NODE) {
    describe(root, d, sizeof d);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(root), "(document)",
                         "expected a mapping with a nodes: list, got %s", d);
  }
  seen_t seen;
  memset(&seen, 0, sizeof seen);
  const yaml_node_t *nodes = NULL;
  FOR_PAIRS(root, pr)
  {
    const yaml_node_t *kn, *v;
    const char *key, *text;
    if ((rc = map_key(L, pr, "(document)", &kn, &v, &key)) != HR_OK)
      return rc;
    int slot;
    if (strcmp(key, "version") == 0)
      slot = 0;
    else if (strcmp(key, "name") == 0)
      slot = 1;
    else if (strcmp(key, "redundancy") == 0)
      slot = 2;
    else if (strcmp(key, "nodes") == 0)
      slot = 3;
    else
      return hr__tree_fail(L->e, HR_ERR_PARSE, mk(kn), key, "unknown key");
    if ((rc = see(L, &seen, slot, key, kn, key)) != HR_OK)
      return rc;
    if (slot == 0) {
      double x = 0.0;
      if ((rc = get_num(L, v, key, &x)) != HR_OK)
        return rc;
      if (x != 1.0)
        return hr__tree_fail(L->e, HR_ERR_RANGE, mk(v), key,
                             "unsupported version %g (this library reads version 1)", x);
    } else if (slot == 1) {
      if ((rc = get_text(L, v, key, MAX_NAME, &text)) != HR_OK ||
          (rc = dup_text(L, text, &o->name)) != HR_OK)
        return rc;
    } else if (slot == 2) {
      int e = 0;
      if ((rc = get_enum(L, v, key, red_names, HR__COUNT(red_names), &e)) != HR_OK)
        return rc;
      o->redundancy = (hr_redundancy_t)e;
      o->at_redundancy = mk(v);
    } else {
      nodes = v;
    }
  }
  if (!nodes)
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(root), "nodes", "missing (the list of nodes)");
  if (nodes->type != YAML_SEQUENCE_NODE) {
    describe(nodes, d, sizeof d);
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(nodes), "nodes",
                         "expected a sequence of nodes, got %s", d);
  }
  if (L->nodes_id && nodes == yaml_document_get_node(L->doc, L->nodes_id)) {
    /* Streamed: the items were read one at a time as they came. */
    if (o->n == 0)
      return hr__tree_fail(L->e, HR_ERR_PARSE, mk(nodes), "nodes",
                           "empty (a tree needs at least one node)");
    return HR_OK;
  }
  size_t n = (size_t)(nodes->data.sequence.items.top - nodes->data.sequence.items.start);
  if (n == 0)
    return hr__tree_fail(L->e, HR_ERR_PARSE, mk(nodes), "nodes",
                         "empty (a tree needs at least one node)");
  if (n > HR_TREE_MAX_NODES)
    return hr__tree_fail(L->e, HR_ERR_RANGE, mk(nodes), "nodes", "more than %d nodes",
                         HR_TREE_MAX_NODES);
  o->nodes = calloc(n, sizeof *o->nodes);
  if (!o->nodes)
    return hr__tree_fail(L->e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "(document)", "out of memory");
  o->n = n;
  for (size_t k = 0; k < n; k++) {
    const yaml_node_t *item = yaml_document_get_node(L->doc, nodes->data.sequence.items.start[k]);
    if ((rc = read_node(L, item, k, &o->nodes[k])) != HR_OK)
      return rc;
  }
  return HR_OK;
}

static int yaml_fail(ld_t *L, const yaml_parser_t *ps)
{
  if (ps->error == YAML_MEMORY_ERROR)
    return hr__tree_fail(L->e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "yaml", "out of memory");
  const char *problem = ps->problem ? ps->problem : "malformed YAML";
  hr__mark_t m;
  if (ps->error == YAML_READER_ERROR) {
    /* The reader reports a byte offset, not a line; the scanner's mark is the
     * nearest place we have. */
    m = (hr__mark_t){(int)ps->mark.line + 1, (int)ps->mark.column + 1};
    return hr__tree_fail(L->e, HR_ERR_PARSE, m, "yaml", "%s (byte %zu)", problem,
                         ps->problem_offset);
  }
  m = (hr__mark_t){(int)ps->problem_mark.line + 1, (int)ps->problem_mark.column + 1};
  if (ps->context)
    return hr__tree_fail(L->e, HR_ERR_PARSE, m, "yaml", "%s %s", problem, ps->context);
  return hr__tree_fail(L->e, HR_ERR_PARSE, m, "yaml", "%s", problem);
}

/* The stream as events, before any document is built: refuses nesting
 * deeper than HR_TREE_MAX_DEPTH and a top-level `nodes` list longer than
 * HR_TREE_MAX_NODES, and the YAML errors the loader would meet.  Events are
 * freed as they come, so memory stays flat whatever the file; and libyaml's
 * scanner, whose work per token grows with the flow depth (a 200 KB file of
 * 10^5 nested brackets took 41 s), never goes deeper than the limit.  The
 * document loader then only sees streams of bounded depth and size. */
static int precheck(ld_t *L, const char *text, size_t len, size_t *n_items)
{
  yaml_parser_t ps;
  if (!yaml_parser_initialize(&ps))
    return hr__tree_fail(L->e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "yaml", "out of memory");
  yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
  int rc = HR_OK, depth = 0, root_map = 0, next_is_nodes = 0, in_nodes = 0;
  size_t top_pos = 0, items = 0; /* position in the root mapping (even: a key) */
  for (int done = 0; !done && rc == HR_OK;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&ps, &ev)) {
      rc = yaml_fail(L, &ps);
      break;
    }
    hr__mark_t at = {(int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1};
    int starts = ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
                 ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT;
    if (starts && in_nodes && depth == 2 && ++items > HR_TREE_MAX_NODES)
      rc = hr__tree_fail(L->e, HR_ERR_RANGE, at, "nodes", "more than %d nodes", HR_TREE_MAX_NODES);
    if (starts && depth == 1 && root_map) {
      /* A key of the root mapping: is the value that follows `nodes`? */
      if (top_pos % 2 == 0)
        next_is_nodes = ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 5 &&
                        memcmp(ev.data.scalar.value, "nodes", 5) == 0;
      else if (next_is_nodes && ev.type == YAML_SEQUENCE_START_EVENT)
        in_nodes = 1;
      top_pos++;
    }
    switch (ev.type) {
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (depth == 0)
        root_map = ev.type == YAML_MAPPING_START_EVENT;
      if (++depth > HR_TREE_MAX_DEPTH)
        rc = hr__tree_fail(L->e, HR_ERR_RANGE, at, "yaml",
                           "nested deeper than %d levels (a tree file needs 6)", HR_TREE_MAX_DEPTH);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      if (--depth == 1)
        in_nodes = 0;
      break;
    case YAML_DOCUMENT_END_EVENT:
      if (n_items && !*n_items)
        *n_items = items; /* the first document's (a second one is refused) */
      depth = root_map = next_is_nodes = in_nodes = 0;
      top_pos = items = 0;
      break;
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&ps);
  return rc;
}

/* Runs fn on the single document of text; returns its result or the YAML
 * error. */
static int with_document(const char *text, size_t len, hr__err_t *e, hr__doc_t *out,
                         int (*fn)(ld_t *, const yaml_node_t *, void *), void *arg)
{
  ld_t L;
  memset(&L, 0, sizeof L);
  L.e = e;
  L.out = out;
  int pre = precheck(&L, text, len, NULL);
  if (pre != HR_OK)
    return pre;
  yaml_parser_t ps;
  if (!yaml_parser_initialize(&ps))
    return hr__tree_fail(e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "yaml", "out of memory");
  yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
  yaml_document_t doc;
  L.doc = &doc;
  if (!yaml_parser_load(&ps, &doc)) {
    int rc = yaml_fail(&L, &ps);
    yaml_parser_delete(&ps);
    return rc;
  }
  int rc = HR_OK;
  const yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) {
    rc = hr__tree_fail(e, HR_ERR_PARSE, (hr__mark_t){1, 1}, "(document)", "empty document");
  } else {
    /* A second document would be silently ignored; refuse it instead. */
    yaml_document_t more;
    if (!yaml_parser_load(&ps, &more)) {
      rc = yaml_fail(&L, &ps);
    } else {
      const yaml_node_t *r2 = yaml_document_get_root_node(&more);
      if (r2)
        rc = hr__tree_fail(e, HR_ERR_PARSE, mk(r2), "(document)",
                           "more than one YAML document in the file");
      yaml_document_delete(&more);
    }
  }
  yaml_parser_delete(&ps);
  if (rc == HR_OK) {
    rc = fn(&L, root, arg);
  }
  yaml_document_delete(&doc);
  return rc;
}

/* ---- streaming read of a tree file ------------------------------------------
 *
 * A document model of the whole file costs about 1.5 KB per tree node (a
 * million-node file took 1.5 GB and 76 s).  So the file is composed one part
 * at a time: the top-level mapping into a small document, and each item of
 * its `nodes` list into a document of its own that read_node walks and that
 * is freed at once.  The walk is the same as on a whole document.
 *
 * Aliases may point to anchors in earlier parts: an anchored node is copied
 * into a side document when its part is done, and an alias to it copies it
 * into the part that uses it.  Copies are counted: a stream whose aliases
 * expand to more than HR__TREE_MAX_COPIED nodes (a "billion laughs") is
 * refused. */
#define HR__TREE_MAX_COPIED ((size_t)1 << 22)

static int stream_oom(ld_t *L)
{
  return hr__tree_fail(L->e, HR_ERR_NOMEM, (hr__mark_t){0, 0}, "yaml", "out of memory");
}

static int next_event(ld_t *L, yaml_parser_t *ps, yaml_event_t *ev)
{
  if (!yaml_parser_parse(ps, ev))
    return yaml_fail(L, ps);
  return HR_OK;
}

static void anc_free(anctab_t *t)
{
  for (size_t i = 0; i < t->n; i++)
    free(t->v[i].name);
  free(t->v);
  memset(t, 0, sizeof *t);
}

/* Adds (or, for a name seen before, replaces) an anchor; takes name. */
static int anc_put(ld_t *L, anctab_t *t, char *name, int id)
{
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].name, name) == 0) {
      free(name);
      t->v[i].id = id;
      return HR_OK;
    }
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    anc_t *v = realloc(t->v, cap * sizeof *v);
    if (!v) {
      free(name);
      return stream_oom(L);
    }
    t->v = v;
    t->cap = cap;
  }
  t->v[t->n].name = name;
  t->v[t->n++].id = id;
  return HR_OK;
}

static int anc_get(const anctab_t *t, const char *name)
{
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].name, name) == 0)
      return t->v[i].id;
  return 0;
}

static void set_marks(yaml_document_t *doc, int id, const yaml_event_t *ev)
{
  yaml_node_t *n = yaml_document_get_node(doc, id);
  n->start_mark = ev->start_mark;
  n->end_mark = ev->end_mark;
}

/* Copies node sid of src, with everything under it, into dst as *did. */
static int copy_node(ld_t *L, yaml_document_t *src, int sid, yaml_document_t *dst, int *did,
                     hr__mark_t at, int depth)
{
  const yaml_node_t *n = yaml_document_get_node(src, sid);
  if (++L->copied > HR__TREE_MAX_COPIED || depth > 2 * HR_TREE_MAX_DEPTH)
    return hr__tree_fail(L->e, HR_ERR_RANGE, at, "yaml",
                         "aliases expand to more than %zu nodes or %d levels", HR__TREE_MAX_COPIED,
                         2 * HR_TREE_MAX_DEPTH);
  yaml_char_t *tag = n->tag;
  int id = 0, rc;
  if (n->type == YAML_SCALAR_NODE)
    id = yaml_document_add_scalar(dst, tag, n->data.scalar.value, (int)n->data.scalar.length,
                                  n->data.scalar.style);
  else if (n->type == YAML_SEQUENCE_NODE)
    id = yaml_document_add_sequence(dst, tag, n->data.sequence.style);
  else
    id = yaml_document_add_mapping(dst, tag, n->data.mapping.style);
  if (!id)
    return stream_oom(L);
  yaml_node_t *d = yaml_document_get_node(dst, id);
  d->start_mark = n->start_mark;
  d->end_mark = n->end_mark;
  if (n->type == YAML_SEQUENCE_NODE) {
    /* Indices, not pointers: src may be dst's own earlier part. */
    size_t k = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    for (size_t i = 0; i < k; i++) {
      int c;
      n = yaml_document_get_node(src, sid);
      if ((rc = copy_node(L, src, n->data.sequence.items.start[i], dst, &c, at, depth + 1)) !=
          HR_OK)
        return rc;
      if (!yaml_document_append_sequence_item(dst, id, c))
        return stream_oom(L);
    }
  } else if (n->type == YAML_MAPPING_NODE) {
    size_t k = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    for (size_t i = 0; i < k; i++) {
      int ck, cv;
      n = yaml_document_get_node(src, sid);
      int key = n->data.mapping.pairs.start[i].key, val = n->data.mapping.pairs.start[i].value;
      if ((rc = copy_node(L, src, key, dst, &ck, at, depth + 1)) != HR_OK ||
          (rc = copy_node(L, src, val, dst, &cv, at, depth + 1)) != HR_OK)
        return rc;
      if (!yaml_document_append_mapping_pair(dst, id, ck, cv))
        return stream_oom(L);
    }
  }
  *did = id;
  return HR_OK;
}

/* Keeps the anchors of a finished part for aliases in later parts. */
static int promote(ld_t *L, yaml_document_t *part, anctab_t *local)
{
  int rc = HR_OK;
  for (size_t i = 0; i < local->n && rc == HR_OK; i++) {
    int id;
    hr__mark_t at = mk(yaml_document_get_node(part, local->v[i].id));
    if ((rc = copy_node(L, part, local->v[i].id, L->adoc, &id, at, 0)) != HR_OK)
      break;
    rc = anc_put(L, &L->glob, local->v[i].name, id);
    local->v[i].name = NULL;
  }
  for (size_t i = 0; i < local->n; i++)
    free(local->v[i].name);
  local->n = 0;
  return rc;
}

/* Composes the node that starts with ev (taken: deleted here) and the events
 * up to its end into doc, as libyaml's loader does; *id is its id.  Depth
 * is bounded by precheck. */
static int compose(ld_t *L, yaml_parser_t *ps, yaml_event_t *ev, yaml_document_t *doc,
                   anctab_t *local, int *id)
{
  int rc = HR_OK;
  const yaml_char_t *anchor = NULL;
  *id = 0;
  switch (ev->type) {
  case YAML_ALIAS_EVENT: {
    const char *name = (const char *)ev->data.alias.anchor;
    int lid = anc_get(local, name), gid = lid ? 0 : anc_get(&L->glob, name);
    hr__mark_t at = {(int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1};
    if (lid)
      *id = lid; /* shared, as libyaml's loader shares */
    else if (gid)
      rc = copy_node(L, L->adoc, gid, doc, id, at, 0);
    else
      rc = hr__tree_fail(L->e, HR_ERR_PARSE, at, "yaml", "found undefined alias *%s", name);
    yaml_event_delete(ev);
    return rc;
  }
  case YAML_SCALAR_EVENT:
    *id = yaml_document_add_scalar(doc, ev->data.scalar.tag, ev->data.scalar.value,
                                   (int)ev->data.scalar.length, ev->data.scalar.style);
    anchor = ev->data.scalar.anchor;
    break;
  case YAML_SEQUENCE_START_EVENT:
    *id =
        yaml_document_add_sequence(doc, ev->data.sequence_start.tag, ev->data.sequence_start.style);
    anchor = ev->data.sequence_start.anchor;
    break;
  case YAML_MAPPING_START_EVENT:
    *id = yaml_document_add_mapping(doc, ev->data.mapping_start.tag, ev->data.mapping_start.style);
    anchor = ev->data.mapping_start.anchor;
    break;
  default:
    yaml_event_delete(ev);
    return hr__tree_fail(L->e, HR_ERR_PARSE, (hr__mark_t){0, 0}, "yaml", "unexpected event");
  }
  if (!*id) {
    yaml_event_delete(ev);
    return stream_oom(L);
  }
  set_marks(doc, *id, ev);
  if (anchor) {
    char *name = strdup((const char *)anchor);
    if (!name || (rc = anc_put(L, local, name, *id)) != HR_OK) {
      yaml_event_delete(ev);
      return name ? rc : stream_oom(L);
    }
  }
  yaml_event_type_t type = ev->type;
  yaml_event_delete(ev);
  if (type == YAML_SCALAR_EVENT)
    return HR_OK;
  for (;;) {
    yaml_event_t c;
    if ((rc = next_event(L, ps, &c)) != HR_OK)
      return rc;
    if (c.type == YAML_SEQUENCE_END_EVENT || c.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&c);
      return HR_OK;
    }
    int k;
    if ((rc = compose(L, ps, &c, doc, local, &k)) != HR_OK)
      return rc;
    if (type == YAML_SEQUENCE_START_EVENT) {
      if (!yaml_document_append_sequence_item(doc, *id, k))
        return stream_oom(L);
      continue;
    }
    int v;
    if ((rc = next_event(L, ps, &c)) != HR_OK || (rc = compose(L, ps, &c, doc, local, &v)) != HR_OK)
      return rc;
    if (!yaml_document_append_mapping_pair(doc, *id, k, v))
      return stream_oom(L);
  }
}

/* The items of the `nodes` list, one document each, after its start event. */
static int stream_nodes(ld_t *L, yaml_parser_t *ps)
{
  hr__doc_t *o = L->out;
  for (;;) {
    yaml_event_t ev;
    int rc = next_event(L, ps, &ev);
    if (rc != HR_OK)
      return rc;
    if (ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      return HR_OK;
    }
    if (o->n == L->cap_nodes) { /* precheck counted them: cannot happen */
      hr__mark_t at = {(int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1};
      yaml_event_delete(&ev);
      return hr__tree_fail(L->e, HR_ERR_RANGE, at, "nodes", "more than %zu nodes", L->cap_nodes);
    }
    yaml_document_t item;
    if (!yaml_document_initialize(&item, NULL, NULL, NULL, 1, 1)) {
      yaml_event_delete(&ev);
      return stream_oom(L);
    }
    anctab_t local = {0};
    int id;
    rc = compose(L, ps, &ev, &item, &local, &id);
    if (rc == HR_OK) {
      L->doc = &item;
      rc = read_node(L, yaml_document_get_node(&item, id), o->n, &o->nodes[o->n]);
      o->n++; /* filled or partly filled: hr__doc_free frees it either way */
    }
    if (rc == HR_OK)
      rc = promote(L, &item, &local);
    anc_free(&local);
    yaml_document_delete(&item);
    if (rc != HR_OK)
      return rc;
  }
}

/* The top-level mapping into top, with its `nodes` list streamed (the list
 * stays empty in top; read_top knows it by L->nodes_id). */
static int stream_top(ld_t *L, yaml_parser_t *ps, yaml_event_t *start, yaml_document_t *top,
                      int *root)
{
  int rc;
  anctab_t local = {0};
  *root = yaml_document_add_mapping(top, start->data.mapping_start.tag,
                                    start->data.mapping_start.style);
  if (!*root) {
    yaml_event_delete(start);
    return stream_oom(L);
  }
  set_marks(top, *root, start);
  yaml_event_delete(start);
  for (rc = HR_OK; rc == HR_OK;) {
    yaml_event_t ev;
    if ((rc = next_event(L, ps, &ev)) != HR_OK)
      break;
    if (ev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&ev);
      break;
    }
    int k, v = 0;
    if ((rc = compose(L, ps, &ev, top, &local, &k)) != HR_OK ||
        (rc = next_event(L, ps, &ev)) != HR_OK)
      break;
    const char *key = sval(yaml_document_get_node(top, k));
    if (!L->nodes_id && key && strcmp(key, "nodes") == 0 && ev.type == YAML_SEQUENCE_START_EVENT &&
        !ev.data.sequence_start.anchor) {
      v = yaml_document_add_sequence(top, ev.data.sequence_start.tag, ev.data.sequence_start.style);
      if (v)
        set_marks(top, v, &ev);
      yaml_event_delete(&ev);
      if (!v) {
        rc = stream_oom(L);
        break;
      }
      L->nodes_id = v;
      if (L->cap_nodes) {
        L->out->nodes = calloc(L->cap_nodes, sizeof *L->out->nodes);
        if (!L->out->nodes) {
          rc = stream_oom(L);
          break;
        }
      }
      if ((rc = promote(L, top, &local)) != HR_OK || (rc = stream_nodes(L, ps)) != HR_OK)
        break;
      L->doc = top;
    } else if ((rc = compose(L, ps, &ev, top, &local, &v)) != HR_OK) {
      break;
    }
    if (!yaml_document_append_mapping_pair(top, *root, k, v))
      rc = stream_oom(L);
    else if (rc == HR_OK)
      rc = promote(L, top, &local);
  }
  anc_free(&local);
  return rc;
}

/* hr__tree_read's reader: precheck, then the stream part by part. */
static int read_stream(const char *text, size_t len, hr__err_t *e, hr__doc_t *out)
{
  ld_t L;
  memset(&L, 0, sizeof L);
  L.e = e;
  L.out = out;
  size_t n_items = 0;
  int rc = precheck(&L, text, len, &n_items);
  if (rc != HR_OK)
    return rc;
  L.cap_nodes = n_items;
  yaml_parser_t ps;
  yaml_document_t top, adoc;
  int top_ok = 0, adoc_ok = 0;
  if (!yaml_parser_initialize(&ps))
    return stream_oom(&L);
  yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
  top_ok = yaml_document_initialize(&top, NULL, NULL, NULL, 1, 1);
  adoc_ok = yaml_document_initialize(&adoc, NULL, NULL, NULL, 1, 1);
  L.adoc = &adoc;
  L.doc = &top;
  yaml_event_t ev;
  int root = 0;
  anctab_t local = {0};
  if (!top_ok || !adoc_ok)
    rc = stream_oom(&L);
  if (rc == HR_OK && (rc = next_event(&L, &ps, &ev)) == HR_OK) /* stream start */
    yaml_event_delete(&ev);
  if (rc == HR_OK && (rc = next_event(&L, &ps, &ev)) == HR_OK) {
    if (ev.type == YAML_STREAM_END_EVENT)
      rc = hr__tree_fail(e, HR_ERR_PARSE, (hr__mark_t){1, 1}, "(document)", "empty document");
    yaml_event_delete(&ev); /* document start */
  }
  if (rc == HR_OK && (rc = next_event(&L, &ps, &ev)) == HR_OK) {
    if (ev.type == YAML_MAPPING_START_EVENT)
      rc = stream_top(&L, &ps, &ev, &top, &root);
    else
      rc = compose(&L, &ps, &ev, &top, &local, &root);
  }
  if (rc == HR_OK && (rc = next_event(&L, &ps, &ev)) == HR_OK) /* document end */
    yaml_event_delete(&ev);
  if (rc == HR_OK && (rc = next_event(&L, &ps, &ev)) == HR_OK) {
    /* A second document would be silently ignored; refuse it instead. */
    int more = ev.type == YAML_DOCUMENT_START_EVENT;
    yaml_event_delete(&ev);
    if (more && (rc = next_event(&L, &ps, &ev)) == HR_OK) {
      hr__mark_t at = {(int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1};
      yaml_event_delete(&ev);
      rc = hr__tree_fail(e, HR_ERR_PARSE, at, "(document)",
                         "more than one YAML document in the file");
    }
  }
  if (rc == HR_OK) {
    L.doc = &top;
    rc = read_top(&L, yaml_document_get_node(&top, root));
  }
  anc_free(&local);
  anc_free(&L.glob);
  if (top_ok)
    yaml_document_delete(&top);
  if (adoc_ok)
    yaml_document_delete(&adoc);
  yaml_parser_delete(&ps);
  return rc;
}

int hr__tree_read(const char *text, size_t len, hr__err_t *e, hr__doc_t *doc)
{
  memset(doc, 0, sizeof *doc);
  return read_stream(text, len, e, doc);
}

static int device_fn(ld_t *L, const yaml_node_t *root, void *arg)
{
  hr__mark_t m;
  const char *k = NULL;
  return read_device(L, root, "device", 0.0, arg, &m, &k);
}

int hr__tree_read_device(const char *text, size_t len, hr__err_t *e, hr_device_cfg_t *cfg)
{
  hr__doc_t doc;
  memset(&doc, 0, sizeof doc);
  return with_document(text, len, e, &doc, device_fn, cfg);
}

void hr__doc_free(hr__doc_t *doc)
{
  for (size_t k = 0; k < doc->n; k++) {
    free(doc->nodes[k].id);
    free(doc->nodes[k].name);
    free(doc->nodes[k].parent);
    free(doc->nodes[k].parent_b);
  }
  free(doc->nodes);
  free(doc->devs);
  free(doc->name);
  memset(doc, 0, sizeof *doc);
}
