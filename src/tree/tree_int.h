/* Private declarations shared by the tree loader (tree_load.c) and the tree
 * builder (tree.c). */
#ifndef HR_TREE_TREE_INT_H
#define HR_TREE_TREE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "headroom/protect.h"
#include "headroom/tree.h"

/* A place in the file, 1-based; line 0 means "no place". */
typedef struct hr__mark {
  int line;
  int col;
} hr__mark_t;

/* One node as read from the file, before validation. */
typedef struct hr__proto {
  char *id; /* owned copies (malloc), NULL when missing */
  char *name;
  char *parent; /* NULL for a root */
  char *parent_b;
  hr_node_kind_t kind;
  double u_v;
  int n_phases; /* 0 when not given */
  int has_phase, has_phase_b, has_feed;
  hr_phase_t phase, phase_b;
  unsigned feed;
  double rating_a, rating_w, budget_w, burst_w;
  int32_t dev; /* index into hr__doc_t.devs, -1 when no device */
  int has_grid;
  hr_grid_limits_t grid;
  /* Where things were written, and the spelling of unit-suffixed keys. */
  hr__mark_t at_node, at_parent, at_parent_b, at_voltage, at_phases, at_phase, at_phase_b, at_feed,
      at_rating_a, at_rating_w, at_budget, at_burst, at_device, at_grid;
  const char *key_rating_w, *key_budget, *key_burst;
  /* Where the device's continuous rating (Ir, or a fuse's In) was written,
   * and under which key; NULL key when it came from the node's rating_a. */
  hr__mark_t at_dev_rating;
  const char *key_dev_rating;
} hr__proto_t;

/* Parsed file: protos in file order plus the top-level keys. */
typedef struct hr__doc {
  hr__proto_t *nodes;
  size_t n;
  hr_device_cfg_t *devs;
  size_t n_devs;
  char *name;
  hr_redundancy_t redundancy;
  hr__mark_t at_redundancy;
} hr__doc_t;

/* Error sink shared by both passes. */
typedef struct hr__err {
  const char *file;
  hr_diag_t *out;
  int code;
} hr__err_t;

/* Records the first error (later ones are ignored) and returns code. */
int hr__tree_fail(hr__err_t *e, int code, hr__mark_t at, const char *field, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Reads YAML text into *doc (tree_load.c).  Frees nothing on failure: call
 * hr__doc_free either way. */
int hr__tree_read(const char *text, size_t len, hr__err_t *e, hr__doc_t *doc);

/* Parses a standalone device mapping (hr_tree_device_parse). */
int hr__tree_read_device(const char *text, size_t len, hr__err_t *e, hr_device_cfg_t *cfg);

void hr__doc_free(hr__doc_t *doc);

/* Formats a power with a unit that suits it ("800 kW", "3.118 MW"). */
void hr__fmt_power(char *buf, size_t len, double w);

/* ---- one table per enum: its names (hr_*_name) and its parser (the tree
 * loader, hr_curve_parse), through hr__enum_name / hr__enum_parse (core.h).
 * The phase and feed tables start with the value a file never spells (a
 * three-phase node has no phase: key, a node's feed: is a or b), so the
 * loader parses from the second entry on. */
extern const hr__enum_name_t hr__node_kind_names[12];  /* tree.c */
extern const hr__enum_name_t hr__phase_names[7];       /* tree.c: "abc" first */
extern const hr__enum_name_t hr__feed_names[4];        /* tree.c: "none" first, then a, b, ab */
extern const hr__enum_name_t hr__device_type_names[4]; /* protect.c */
extern const hr__enum_name_t hr__curve_names[9];       /* curve.c: the trip-curve family */

/* The share of a single-phase load on phase ph that each of a three-phase
 * node's conductors carries, in units of line-to-neutral power: 1 on its
 * own conductor, 1 / sqrt 3 on each of a line-to-line load's two, a third
 * on each for HR_PHASE_ABC (tree.c; the lease layout and the agent's per-
 * conductor sums). */
void hr__phase_weights(hr_phase_t ph, double w[3]);

#endif
