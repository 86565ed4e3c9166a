/* Internals shared by the simulator's files. */
#ifndef HEADROOM_SIM_INT_H
#define HEADROOM_SIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/tree.h"

/* Writes the tree's n_slots leaves (nodes without children) in spread order
 * (HR_POP_SPREAD, sim.h) into slot_node.  Returns HR_OK, HR_ERR_NOMEM, or
 * HR_ERR_STATE when the leaves found are not n_slots. */
int hr__sim_spread_order(const hr_tree_t *tree, int32_t *slot_node, size_t n_slots);

#endif
