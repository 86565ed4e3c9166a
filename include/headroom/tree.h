/* headroom: the electrical tree.
 *
 * One YAML file (format in docs/tree.md) describes the power path of a site:
 * utility feeds, generators, transformers, switchgear, UPS, distribution
 * boards, busways, PDUs, branch circuits, racks, servers and GPUs; their
 * voltage, phases and the phase each single-phase load sits on; the A/B feeds
 * of 2N and N+N designs (a dual-corded node has a second parent); and the
 * protective device of each node with its settings (protect.h).
 *
 * hr_tree_load_file() validates the file and builds an immutable
 * array of nodes in topological order: every node comes after its parents,
 * so a reverse scan aggregates loads bottom-up and a forward scan pushes
 * budgets top-down.  Nodes are named by string ids; hr_tree_find() maps an id
 * to its index.  A loaded tree is read-only, so any number of threads may
 * read it at once.
 *
 * Validation errors name the file, line, column and field, for example
 *   site.yaml:14:13: nodes[rack-a1].parent: unknown node 'pdu-9'
 * and come back in an hr_diag_t (error.h); the library never prints. */
#ifndef HEADROOM_TREE_H
#define HEADROOM_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/protect.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most nodes one file may describe. */
#define HR_TREE_MAX_NODES 1000000
/* Largest file hr_tree_load_file reads [bytes]; larger files are refused
 * before they are read. */
#define HR_TREE_MAX_BYTES (64u << 20)
/* Deepest nesting of YAML collections a tree file may have (a file needs 6:
 * root, nodes, node, device, melt curve, point); checked while the YAML is
 * scanned, before any document is built. */
#define HR_TREE_MAX_DEPTH 32
/* Largest magnitude of any number in a tree file, and of any power after
 * its unit (rating_mw: 1e9 is the most): keeps every product of two
 * settings finite. */
#define HR_TREE_MAX_VALUE 1e15

typedef enum hr_node_kind {
  HR_NODE_UTILITY = 1, /* utility service / point of common coupling */
  HR_NODE_GENERATOR = 2,
  HR_NODE_TRANSFORMER = 3, /* changes voltage: its voltage_v is the secondary */
  HR_NODE_SWITCHGEAR = 4,
  HR_NODE_UPS = 5,          /* may change voltage */
  HR_NODE_DISTRIBUTION = 6, /* distribution board, RPP, panel */
  HR_NODE_BUSWAY = 7,
  HR_NODE_PDU = 8,    /* floor or rack PDU */
  HR_NODE_BRANCH = 9, /* branch circuit */
  HR_NODE_RACK = 10,
  HR_NODE_SERVER = 11,
  HR_NODE_GPU = 12 /* a leaf: feeds nothing */
} hr_node_kind_t;

/* The conductors a node is connected to. */
typedef enum hr_phase {
  HR_PHASE_ABC = 0, /* three-phase node */
  HR_PHASE_A = 1,   /* single-phase, line A to neutral */
  HR_PHASE_B = 2,
  HR_PHASE_C = 3,
  HR_PHASE_AB = 4, /* single-phase, line to line */
  HR_PHASE_BC = 5,
  HR_PHASE_CA = 6
} hr_phase_t;

/* Feed membership (bit set). */
enum {
  HR_FEED_NONE = 0, /* upstream of the A/B split, or no redundancy */
  HR_FEED_A = 1,
  HR_FEED_B = 2,
  HR_FEED_AB = 3 /* dual-corded: fed from both */
};

typedef enum hr_redundancy {
  HR_REDUNDANCY_NONE = 0,
  HR_REDUNDANCY_2N = 1, /* two independent paths, each sized for the whole load */
  HR_REDUNDANCY_NN = 2  /* N+N */
} hr_redundancy_t;

#define HR_GRID_MAX_BANDS 8

/* A limit on power oscillation in one frequency band: the amplitude (peak)
 * of the site power's content between f_lo_hz and f_hi_hz. */
typedef struct hr_osc_band {
  double f_lo_hz; /* > 0 */
  double f_hi_hz; /* > f_lo_hz */
  double max_w;   /* largest amplitude [W] > 0 */
} hr_osc_band_t;

/* Grid-facing limits of a root (site) node; 0 means "not set". */
typedef struct hr_grid_limits {
  double max_ramp_w_per_s; /* largest allowed rate of change of site power [W/s], >= 0 */
  double max_p_w;          /* largest site import [W], >= 0 */
  double min_p_w;          /* smallest site import [W], 0 <= min <= max */
  double ramp_window_s;    /* window the ramp rate is measured over [s]; 0: 1 s */
  int n_bands;             /* oscillation limits, 0..HR_GRID_MAX_BANDS */
  hr_osc_band_t bands[HR_GRID_MAX_BANDS];
} hr_grid_limits_t;

typedef struct hr_tree_node {
  const char *id;   /* unique id, [A-Za-z0-9_.:/-]{1,63}; owned by the tree */
  const char *name; /* free text, "" when not given; owned by the tree */
  hr_node_kind_t kind;
  int32_t parent;                /* index of the parent (A side), -1 for a root; < own index */
  int32_t parent_b;              /* index of the second (B side) parent, -1 if none; < own index */
  int32_t depth;                 /* 0 for roots, else 1 + the larger parent depth */
  uint32_t n_children;           /* nodes fed from this one, listed by hr_tree_children */
  double u_v;                    /* nominal voltage [V]: line-to-line for three-phase and
                                    line-to-line single-phase nodes, line-to-neutral for
                                    phase A/B/C nodes */
  int n_phases;                  /* 1 or 3 */
  hr_phase_t phase;              /* conductors on the parent's side (HR_PHASE_ABC if three-phase) */
  hr_phase_t phase_b;            /* conductors on parent_b's side (== phase when no parent_b) */
  unsigned feed;                 /* HR_FEED_* bits */
  double rating_a;               /* continuous current rating [A]; from the device (Ir, or
                                    a fuse's In) when not given; 0 when unknown */
  double rating_w;               /* power rating [W] as given; 0 when not given */
  double capacity_w;             /* the smaller of rating_w and rating_a x u_v (x sqrt 3 for
                                    three-phase) [W], at unity power factor; INFINITY when
                                    the node has no rating */
  double budget_w;               /* steady power budget [W] for the lease layer; 0 = not set */
  double burst_w;                /* short-burst budget [W]; 0 = not set */
  const hr_device_cfg_t *device; /* protective device, NULL when none; owned by the tree */
  const hr_grid_limits_t *grid;  /* grid-facing limits (roots only), NULL when none */
  int line;                      /* line of the node in its file (1-based), for messages */
} hr_tree_node_t;

typedef struct hr_tree hr_tree_t;

/* Loads and validates a tree file.  On success *out is a new tree the
 * caller owns (free with hr_tree_destroy).  On failure *out is NULL and, when
 * diag is not NULL, *diag says where and why (source: the path; field: the
 * key path "nodes[rack-a1].device.tr_s", "yaml", "(document)" or "(file)").  Returns HR_OK;
 * HR_ERR_IO (cannot read), HR_ERR_PARSE (YAML syntax, wrong type, unknown or missing key, cycle),
 * HR_ERR_NOT_FOUND (unknown parent), HR_ERR_RANGE (value out of range, child
 * rated above its parent, file too large), HR_ERR_NOMEM, HR_ERR_INVALID_ARG. */
HR_API int hr_tree_load_file(const char *path, hr_tree_t **out, hr_diag_t *diag);

/* As hr_tree_load_file, from len bytes of text (need not be NUL-terminated);
 * name stands for the file name in messages (NULL: "<buffer>"). */
HR_API int hr_tree_load_buffer(const char *text, size_t len, const char *name, hr_tree_t **out,
                               hr_diag_t *diag);

/* Frees a tree and everything it owns; NULL is a no-op.  Node, string and
 * device pointers obtained from it become invalid. */
HR_API void hr_tree_destroy(hr_tree_t *tree);

/* Number of nodes. */
HR_API size_t hr_tree_count(const hr_tree_t *tree);

/* The node array, hr_tree_count() long, in topological order (borrowed). */
HR_API const hr_tree_node_t *hr_tree_nodes(const hr_tree_t *tree);

/* Node idx, or NULL when idx >= hr_tree_count() (borrowed). */
HR_API const hr_tree_node_t *hr_tree_node(const hr_tree_t *tree, size_t idx);

/* Finds a node by id.  Returns HR_OK and writes *idx, or HR_ERR_NOT_FOUND,
 * or HR_ERR_INVALID_ARG for NULL arguments.  O(log n). */
HR_API int hr_tree_find(const hr_tree_t *tree, const char *id, size_t *idx);

/* Indices of the nodes fed from node idx (through parent or parent_b), in
 * topological order; *n receives their number.  The array is borrowed.
 * Returns NULL with *n = 0 for a leaf or a bad idx. */
HR_API const int32_t *hr_tree_children(const hr_tree_t *tree, size_t idx, size_t *n);

/* The file's name: key, "" when not given (borrowed). */
HR_API const char *hr_tree_name(const hr_tree_t *tree);

/* The file's redundancy: key. */
HR_API hr_redundancy_t hr_tree_redundancy(const hr_tree_t *tree);

/* Line current [A] that apparent power s_va [VA] draws at the node:
 * s / (sqrt 3 u) for three-phase nodes, s / u for single-phase ones.
 * NAN for a NULL node or a node without voltage. */
HR_API double hr_tree_node_current_a(const hr_tree_node_t *node, double s_va);

/* Static lower-case names ("rack", "gpu"; "a", "bc", "abc"), or "unknown". */
HR_API const char *hr_node_kind_name(hr_node_kind_t kind);
HR_API const char *hr_phase_name(hr_phase_t phase);

/* Parses one device mapping in the tree format (the value of a node's
 * device: key, for example "{type: relay, curve: ieee_vi, is_a: 400, tms: 2}")
 * into *cfg, with the same checks.  Settings that a node would supply (in_a
 * from rating_a) must be given.  Returns as hr_tree_load_buffer; field names
 * start with "device". */
HR_API int hr_tree_device_parse(const char *text, size_t len, hr_device_cfg_t *cfg,
                                hr_diag_t *diag);

#ifdef __cplusplus
}
#endif
#endif
