/* Simulator internals shared by the files of src/sim: the waveform path
 * (sim_wave.c), the latency histogram the simulator keeps, and the spread
 * population order (search.c). */
#ifndef HR_SIM_INT_H
#define HR_SIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/loop.h"
#include "headroom/sim.h"
#include "headroom/tree.h"

/* ---- latency histogram -----------------------------------------------------
 * The agent's binning (docs/loop.md): 20 log-spaced bins per decade from
 * 100 ns to 100 s; a percentile is its bin's upper edge, at most the max. */
#define HR__LAT_BINS 180
#define HR__LAT_LO_S 1e-7

typedef struct hr__lathist {
  uint32_t bin[HR__LAT_BINS];
  uint64_t n;
  double max_s;
} hr__lathist_t;

void hr__lathist_add(hr__lathist_t *h, double s);
/* The q-quantile (0 < q <= 1) [s]; NAN when empty. */
double hr__lathist_quantile(const hr__lathist_t *h, double q);

/* ---- the waveform path ---------------------------------------------------------
 * One meter (pq.h) per metered node.  Each simulation step, the node's
 * per-conductor power of the step (line-to-neutral watts, as the fast path
 * computes them) becomes fs x step samples of nominal voltage and of current
 * in phase with it (power factor 1, the fast path's assumption), the meter
 * measures them, and its records go to the agent through
 * hr_agent_push_record, as a deployed meter's would. */
typedef struct hr__simwave hr__simwave_t;

/* Resolves sc->metered on tree (each entry a node id or a node kind name:
 * every node of that kind) and creates the meters, their records going to
 * agent (borrowed; must outlive the object).  step_ns must be a whole number
 * of sample periods.  Returns HR_OK, HR_ERR_RANGE (an unknown node, a step
 * that is not whole samples, a node without voltage: diag says which),
 * HR_ERR_NOMEM, or the meter's error. */
int hr__simwave_create(const hr_scenario_t *sc, const hr_tree_t *tree, hr_agent_t *agent,
                       int64_t step_ns, hr__simwave_t **out, hr_diag_t *diag);
void hr__simwave_destroy(hr__simwave_t *w);

/* Synthesises and meters the samples of [t_ns, t_ns + step_ns) for every
 * metered node: ph_w holds 3 conductor powers per tree index [W], powered
 * one flag per tree index (an unpowered node's voltage and current are 0).
 * Samples follow one another: t_ns must advance by step_ns per call.
 * Returns HR_OK or the meter's error. */
int hr__simwave_push(hr__simwave_t *w, const double *ph_w, const unsigned char *powered,
                     int64_t t_ns);

size_t hr__simwave_meters(const hr__simwave_t *w);
uint64_t hr__simwave_records(const hr__simwave_t *w);

/* Writes the tree's n_slots leaves (nodes without children) in spread order
 * (HR_POP_SPREAD, sim.h) into slot_node.  Returns HR_OK, HR_ERR_NOMEM, or
 * HR_ERR_STATE when the leaves found are not n_slots. */
int hr__sim_spread_order(const hr_tree_t *tree, int32_t *slot_node, size_t n_slots);

#endif
