/* Internals of the control agent shared with the simulator's tests. */
#ifndef HR_AGENT_INT_H
#define HR_AGENT_INT_H

#include "headroom/loop.h"

/* on = 1: the agent's bottom-up power sums every node with the general step
 * (no runs of leaves summed at once) and every decision computes the leaves'
 * probes afresh (not only when the active leaves changed): the
 * straightforward forms that the fast ones must match bit for bit
 * (tests/sim/test_sim_plain.c, through hr__sim_set_plain). */
void hr__agent_set_plain(hr_agent_t *a, int on);

#endif
