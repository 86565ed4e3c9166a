/* Internals of the control agent shared with the simulator's tests. */
#ifndef HR_AGENT_INT_H
#define HR_AGENT_INT_H

#include "headroom/loop.h"

/* on = 1: the agent's bottom-up power sums every node with the general step
 * (no runs of leaves summed at once), every decision computes the leaves'
 * probes afresh (not only when the active leaves changed) and every lease
 * rebalance runs in full (no exact skip, hr__lease_set_plain): the
 * straightforward forms that the fast ones must match bit for bit
 * (tests/sim/test_sim_plain.c, through hr__sim_set_plain). */
void hr__agent_set_plain(hr_agent_t *a, int on);

/* on = 1: only the lease system's exact skip is off (every rebalance in
 * full, hr__lease_set_plain), the rest fast: bench_sim's in-process
 * baseline for the skip. */
void hr__agent_set_lease_plain(hr_agent_t *a, int on);

/* A reader of leaves 0 .. n-1's powers at once, set by the simulator for its
 * GPUs: it fills p_w[0 .. n-1] and returns 1 only when reading those devices
 * through the actuator (hr_actuator_read_many at t_ns) would give every one
 * valid, taken at t_ns, with that power, and leave the actuator's error
 * message empty; else it returns 0 and the agent reads through the actuator.
 * What the agent does with the readings is the same either way: the reader
 * saves the per-device reading records.  fn NULL: none (the default). */
typedef int (*hr__agent_power_fn)(void *ctx, size_t n, int64_t t_ns, double *p_w);
void hr__agent_set_power_fn(hr_agent_t *a, hr__agent_power_fn fn, void *ctx);

/* Leaf `leaf` (0 .. hr_agent_leaf_count - 1) is a slot without a GPU: it
 * draws nothing, ever, so the supply and grid-ramp envelopes on the caps
 * leave it out (its lowest cap is power no GPU draws).  Its caps are still
 * sent and its lease floor is the caller's (hr_lease_sys_set_floor).  For
 * the simulator's capacity search, whose tree has a slot for every GPU it
 * may try; a deployment's tree lists the GPUs installed.  HR_ERR_RANGE
 * for a leaf out of range. */
int hr__agent_set_absent(hr_agent_t *a, size_t leaf);

#endif
