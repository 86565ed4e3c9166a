/* headroom sim's report charts (sim_charts.h, docs/sim.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_chart.h"
#include "sim_charts.h"

/* Columns kept per sample: t, site, caps, demand, speed, then per charted
 * node its power over its limit and its thermal state. */
enum { C_T, C_SITE, C_CAPS, C_DEM, C_SPEED, C_NODES };

struct sim_charts {
  const hr_tree_t *tree;
  const hr_sim_t *sim;
  size_t node[SIM_CHART_NODES];
  double cont_w[SIM_CHART_NODES];
  int has_dev[SIM_CHART_NODES];
  int n_node;
  size_t cols;
  double *v; /* n x cols */
  size_t n, cap;
  int oom;
};

sim_charts_t *sim_charts_create(const hr_tree_t *tree, const hr_sim_t *sim)
{
  sim_charts_t *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->tree = tree;
  c->sim = sim;
  hr_sim_result_t res;
  if (hr_sim_result(sim, &res) != HR_OK) {
    free(c);
    return NULL;
  }
  const hr_tree_node_t *nd = hr_tree_nodes(tree);
  /* The shallowest nodes first: the site, its rows, then racks. */
  for (int32_t depth = 0; c->n_node < SIM_CHART_NODES; depth++) {
    int any = 0;
    for (size_t k = 0; k < res.n_nodes && c->n_node < SIM_CHART_NODES; k++) {
      if (nd[k].depth != depth)
        continue;
      any = 1;
      if (nd[k].kind == HR_NODE_GPU || nd[k].kind == HR_NODE_SERVER)
        continue;
      if (!res.nodes[k].has_device && !isfinite(res.nodes[k].cont_w))
        continue;
      c->node[c->n_node] = k;
      c->cont_w[c->n_node] = res.nodes[k].cont_w;
      c->has_dev[c->n_node] = res.nodes[k].has_device;
      c->n_node++;
    }
    if (!any)
      break;
  }
  c->cols = C_NODES + 2 * (size_t)c->n_node;
  return c;
}

void sim_charts_destroy(sim_charts_t *c)
{
  if (!c)
    return;
  free(c->v);
  free(c);
}

int sim_charts_add(sim_charts_t *c, const hr_sim_sample_t *s)
{
  if (c->oom)
    return -1;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 1024;
    double *v = realloc(c->v, cap * c->cols * sizeof *v);
    if (!v) {
      c->oom = 1;
      return -1;
    }
    c->v = v;
    c->cap = cap;
  }
  double *r = &c->v[c->n * c->cols];
  r[C_T] = s->t_s;
  r[C_SITE] = s->site_p_w / 1e3;
  r[C_CAPS] = s->caps_w / 1e3;
  r[C_DEM] = s->demand_w / 1e3;
  r[C_SPEED] = s->speed;
  for (int j = 0; j < c->n_node; j++) {
    double p = NAN, th = NAN;
    hr_sim_node_state(c->sim, c->node[j], &p, &th);
    r[C_NODES + 2 * j] = isfinite(c->cont_w[j]) && c->cont_w[j] > 0.0 ? p / c->cont_w[j] : NAN;
    r[C_NODES + 2 * j + 1] = c->has_dev[j] ? th : NAN;
  }
  c->n++;
  return 0;
}

static int chart(const char *dir, const char *stem, const char *title, const char *ylabel,
                 const double *x, const double *const *y, const char *const *names, int ns,
                 size_t n, FILE *md, int *bad)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.png", dir, stem);
  int rc = hr__chart_png_write(path, title, "time [s]", ylabel, x, y, names, ns, n);
  if (rc == HR_OK) {
    snprintf(path, sizeof path, "%s/%s.svg", dir, stem);
    rc = hr__chart_svg_write(path, title, "time [s]", ylabel, x, y, names, ns, n);
  }
  if (rc != HR_OK) {
    /* The writers leave errno saying why for HR_ERR_IO (report_chart.h). */
    fprintf(stderr, "headroom sim: cannot write %s: %s\n", path,
            rc == HR_ERR_IO ? strerror(errno) : hr_strerror(rc));
    *bad = 1;
    return -1;
  }
  if (fprintf(md, "### %s\n\n![%s](%s.png)\n\n[SVG](%s.svg)\n\n", title, title, stem, stem) < 0)
    *bad = 1;
  return 0;
}

int sim_charts_write(sim_charts_t *c, const char *dir, FILE *md)
{
  int bad = 0;
  if (fprintf(md, "## Charts\n\n") < 0)
    return -1;
  if (c->oom || c->n < 2) {
    if (fprintf(md, "No charts: %s.\n\n",
                c->oom ? "out of memory for the series" : "fewer than two samples") < 0)
      return -1;
    return c->oom ? -1 : 0;
  }
  size_t n = c->n;
  double *col = malloc((c->cols) * n * sizeof *col); /* column-major copy */
  if (!col) {
    fprintf(stderr, "headroom sim: out of memory for the charts\n");
    return -1;
  }
  for (size_t j = 0; j < c->cols; j++)
    for (size_t i = 0; i < n; i++)
      col[j * n + i] = c->v[i * c->cols + j];
  const double *x = &col[C_T * n];
  const double *y[SIM_CHART_NODES + 1];
  const char *names[SIM_CHART_NODES + 1];
  char lbl[SIM_CHART_NODES][96];
  int ns = 0;

  /* Power over each node's continuous limit, and the limit itself. */
  double *one = malloc(n * sizeof *one);
  if (!one) {
    free(col);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    one[i] = 1.0;
  for (int j = 0; j < c->n_node; j++) {
    if (!isfinite(c->cont_w[j]))
      continue;
    const hr_tree_node_t *x_nd = hr_tree_node(c->tree, c->node[j]);
    snprintf(lbl[ns], sizeof lbl[ns], "%s (%.1f kW)", x_nd->id, c->cont_w[j] / 1e3);
    y[ns] = &col[(C_NODES + 2 * (size_t)j) * n];
    names[ns] = lbl[ns];
    ns++;
  }
  if (ns > 0) {
    y[ns] = one;
    names[ns] = "continuous limit";
    chart(dir, "power", "Power against continuous limits", "power / continuous limit", x, y, names,
          ns + 1, n, md, &bad);
  }
  ns = 0;
  for (int j = 0; j < c->n_node; j++) {
    if (!c->has_dev[j])
      continue;
    y[ns] = &col[(C_NODES + 2 * (size_t)j + 1) * n];
    names[ns] = hr_tree_node(c->tree, c->node[j])->id;
    ns++;
  }
  if (ns > 0) {
    y[ns] = one;
    names[ns] = "trip";
    chart(dir, "thermal", "Protective devices' thermal state", "thermal state (1 trips)", x, y,
          names, ns + 1, n, md, &bad);
  }
  const double *yc[3] = {&col[C_SITE * n], &col[C_CAPS * n], &col[C_DEM * n]};
  const char *nc[3] = {"site power", "sum of caps", "demand"};
  chart(dir, "caps", "Site power, caps and demand", "kW", x, yc, nc, 3, n, md, &bad);
  const double *ys[1] = {&col[C_SPEED * n]};
  const char *nsp[1] = {"mean throughput factor"};
  chart(dir, "throughput", "Throughput of the busy GPUs (1 = uncapped)", "throughput factor", x, ys,
        nsp, 1, n, md, &bad);
  free(one);
  free(col);
  return bad ? -1 : 0;
}
