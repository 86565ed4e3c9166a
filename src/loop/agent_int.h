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

#endif
