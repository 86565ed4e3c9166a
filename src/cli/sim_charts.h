/* headroom sim's report charts (sim_charts.c): the time series the
 * simulator samples every sample_s, kept in memory by the command and drawn
 * with the study charts' writers (report_chart.c) as PNG and SVG:
 *   power.png       each charted node's power over its continuous limit
 *                   (the line at 1 is the limit);
 *   thermal.png     each charted device's thermal state (1 trips);
 *   caps.png        site power, sum of the GPUs' caps, their demand [kW];
 *   throughput.png  mean throughput factor of the busy GPUs (1 = uncapped).
 * Charted nodes: those with a finite continuous limit or a device, not GPUs
 * or servers, the shallowest first, then in tree order: at most
 * SIM_CHART_NODES (one colour each; the rest are in nodes.csv). */
#ifndef HR_CLI_SIM_CHARTS_H
#define HR_CLI_SIM_CHARTS_H

#include <stdio.h>

#include "headroom/sim.h"

#define SIM_CHART_NODES 7

typedef struct sim_charts sim_charts_t;

/* tree and sim are borrowed and must outlive the object.  NULL when out of
 * memory. */
sim_charts_t *sim_charts_create(const hr_tree_t *tree, const hr_sim_t *sim);
void sim_charts_destroy(sim_charts_t *c);

/* Keeps one sample (and the charted nodes' state now).  0, or -1 when out
 * of memory (the charts are then not drawn; the run goes on). */
int sim_charts_add(sim_charts_t *c, const hr_sim_sample_t *s);

/* Writes the charts into dir and their Markdown section into md.  Returns 0,
 * or -1 after a message on stderr naming the file. */
int sim_charts_write(sim_charts_t *c, const char *dir, FILE *md);

#endif
