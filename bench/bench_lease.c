/* Lease benchmark: request-to-grant latency in-process (p50/p99) and a full
 * rebalance of a 640,000-GPU tree (100 transformers x 100 racks x 8 servers x
 * 8 GPUs), each against a baseline run in the same process:
 *   latency   vs a per-request full-scan allocator that recomputes the
 *             parent's granted total by scanning every lease of the site;
 *   rebalance vs granting the same demands request by request through
 *             hr_lease_sys_request (top-down, every node asks its parent);
 *             and, interleaved with it run for run, the reference form of
 *             the rebalance (hr__lease_sys_rebalance_ref: every node visited,
 *             every leaf settled by the scalar settle(); the same leases).
 * Usage: bench_lease [n_transformers (default 100)] [requests (default 200000)]
 *                    [rebalances (default 7; more for profiling)]
 * Prints one line per figure and the ratios.  docs/performance.md. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "headroom/lease.h"
#include "lease/lease_int.h"

/* The diagnostic as the one line hr_diag_format makes (a static buffer). */
static const char *dtext(const hr_diag_t *d)
{
  static char text[1024];
  hr_diag_format(d, text, sizeof text);
  return text;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of this thread: on a shared machine it leaves out the time other
 * processes held the core. */
static double cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xs(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static double unif(void)
{
  return (double)(xs() >> 11) * (1.0 / 9007199254740992.0);
}

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static char *build_yaml(int n_xf, size_t *len)
{
  size_t cap = (size_t)n_xf * 7301 * 100 + 4096, n = 0; /* lines are < 100 bytes */
  char *p = malloc(cap);
  if (!p)
    return NULL;
#define PUT(...) (n += (size_t)snprintf(p + n, cap - n, __VA_ARGS__))
  PUT("version: 1\nname: bench\nnodes:\n");
  PUT("- {id: u, kind: utility, parent: null, voltage_v: 34500, rating_mw: %d}\n", n_xf * 3);
  const char *ph[3] = {"a", "b", "c"};
  for (int x = 0; x < n_xf; x++) {
    PUT("- {id: x%d, kind: transformer, parent: u, voltage_v: 415, rating_kw: 4200}\n", x);
    for (int r = 0; r < 100; r++) {
      PUT("- {id: r%d.%d, kind: rack, parent: x%d, rating_kw: 60}\n", x, r, x);
      for (int s = 0; s < 8; s++) {
        PUT("- {id: s%d.%d.%d, kind: server, parent: r%d.%d, phases: 1, phase: %s, "
            "rating_w: 6000}\n",
            x, r, s, x, r, ph[s % 3]);
        for (int g = 0; g < 8; g++)
          PUT("- {id: g%d.%d.%d.%d, kind: gpu, parent: s%d.%d.%d, rating_w: 700}\n", x, r, s, g, x,
              r, s);
      }
    }
  }
#undef PUT
  *len = n;
  return p;
}

/* Baseline allocator: each request recomputes the granted total under the
 * GPU's server, rack, transformer and site by scanning every lease. */
static double naive_request(const hr_lease_sys_t *s, const hr_tree_node_t *nd, size_t n_nodes,
                            size_t k, double want, int64_t t)
{
  double sum_server = 0.0, sum_rack = 0.0, sum_xf = 0.0, sum_site = 0.0;
  int32_t srv = nd[k].parent, rack = nd[srv].parent, xf = nd[rack].parent;
  for (size_t j = 0; j < n_nodes; j++) {
    if (nd[j].kind != HR_NODE_GPU || j == k)
      continue;
    double c = hr_lease_sys_cap_w(s, j, t);
    sum_site += c;
    int32_t sj = nd[j].parent, rj = nd[sj].parent;
    if (sj == srv)
      sum_server += c;
    if (rj == rack)
      sum_rack += c;
    if (nd[rj].parent == xf)
      sum_xf += c;
  }
  double g = want;
  double lims[4] = {hr_lease_sys_budget(s, (size_t)srv)->limit_w - sum_server,
                    hr_lease_sys_budget(s, (size_t)rack)->limit_w - sum_rack,
                    hr_lease_sys_budget(s, (size_t)xf)->limit_w - sum_xf,
                    hr_lease_sys_budget(s, 0)->limit_w - sum_site};
  for (int q = 0; q < 4; q++)
    if (lims[q] < g)
      g = lims[q];
  return g;
}

int main(int argc, char **argv)
{
  int n_xf = argc > 1 ? atoi(argv[1]) : 100;
  long n_req = argc > 2 ? atol(argv[2]) : 200000;
  int n_reb = argc > 3 ? atoi(argv[3]) : 7;
  if (n_xf < 1 || n_xf > 120 || n_req < 100 || n_reb < 1 || n_reb > 100000) {
    fprintf(stderr, "usage: bench_lease [n_transformers 1..120] [requests >= 100] "
                    "[rebalances 1..100000]\n");
    return 2;
  }
  size_t len = 0;
  double t0 = now_s();
  char *y = build_yaml(n_xf, &len);
  if (!y)
    return 1;
  hr_tree_t *tree = NULL;
  hr_diag_t err;
  if (hr_tree_load_buffer(y, len, "bench.yaml", &tree, &err) != HR_OK) {
    fprintf(stderr, "%s\n", dtext(&err));
    return 1;
  }
  free(y);
  size_t n = hr_tree_count(tree);
  const hr_tree_node_t *nd = hr_tree_nodes(tree);
  hr_lease_cfg_t cfg;
  hr_lease_cfg_init(&cfg);
  cfg.coord.policy = HR_POLICY_FAIR;
  hr_lease_sys_t *s = NULL;
  if (hr_lease_sys_create(tree, &cfg, &s, NULL) != HR_OK)
    return 1;
  size_t n_gpu = 0;
  size_t *gpus = malloc(n * sizeof *gpus);
  double *dem = calloc(n, sizeof *dem);
  for (size_t k = 0; k < n; k++)
    if (nd[k].kind == HR_NODE_GPU) {
      gpus[n_gpu++] = k;
      dem[k] = 100.0 + 650.0 * unif();
    }
  printf("tree: %zu nodes, %zu GPUs, built and loaded in %.2f s\n", n, n_gpu, now_s() - t0);

  /* Full rebalance, median of n_reb, each run followed by one of the
   * reference form on fresh demands (so that both see the same machine). */
  int64_t t = 1000000000;
  double *reb = malloc((size_t)n_reb * sizeof *reb);
  double *reb_cpu = malloc((size_t)n_reb * sizeof *reb_cpu);
  double *ref = malloc((size_t)n_reb * sizeof *ref);
  for (int r = 0; r < n_reb; r++) {
    for (size_t j = 0; j < n_gpu; j++)
      dem[gpus[j]] = 100.0 + 650.0 * unif();
    t += 100000000;
    double a = now_s(), c = cpu_s();
    hr_lease_sys_rebalance(s, dem, t);
    reb[r] = now_s() - a;
    reb_cpu[r] = cpu_s() - c;
    for (size_t j = 0; j < n_gpu; j++)
      dem[gpus[j]] = 100.0 + 650.0 * unif();
    t += 100000000;
    a = now_s();
    hr__lease_sys_rebalance_ref(s, dem, t);
    ref[r] = now_s() - a;
  }
  qsort(reb_cpu, (size_t)n_reb, sizeof reb_cpu[0], cmp_d);
  qsort(reb, (size_t)n_reb, sizeof reb[0], cmp_d);
  qsort(ref, (size_t)n_reb, sizeof ref[0], cmp_d);
  /* Baseline: the same demands, granted request by request top-down. */
  double base[3];
  for (int r = 0; r < 3; r++) {
    t += 100000000;
    double a = now_s();
    for (size_t k = 1; k < n; k++) {
      double want = nd[k].kind == HR_NODE_GPU ? dem[k] : 1e12;
      hr_lease_sys_request(s, k, want, t, NULL);
    }
    base[r] = now_s() - a;
  }
  qsort(base, 3, sizeof base[0], cmp_d);
  double reb_med = reb[n_reb / 2];
  printf("rebalance %zu GPUs: median %.2f ms (min %.2f) of %d; thread CPU time median %.2f ms\n",
         n_gpu, reb_med * 1e3, reb[0] * 1e3, n_reb, reb_cpu[n_reb / 2] * 1e3);
  free(reb_cpu);
  hr_lease_stats_t st;
  hr_lease_sys_stats(s, &st);
  printf("post-condition clamps: %llu (0 when the rebalance is right)\n",
         (unsigned long long)st.clamps);
  printf("reference rebalance (every node, scalar settle): median %.2f ms (min %.2f); "
         "ratio %.2fx\n",
         ref[n_reb / 2] * 1e3, ref[0] * 1e3, ref[n_reb / 2] / reb_med);
  free(ref);
  printf("baseline request-by-request: median %.2f ms; ratio %.1fx\n", base[1] * 1e3,
         base[1] / reb_med);
  free(reb);

  /* Request-to-grant latency through the in-process transport. */
  hr_lease_transport_t tp;
  hr_lease_transport_inproc(s, &tp);
  double *lat = malloc((size_t)n_req * sizeof *lat);
  t += 100000000;
  for (size_t k = 1; k < n; k++) /* fresh leases above the GPUs */
    if (nd[k].kind != HR_NODE_GPU)
      hr_lease_sys_request(s, k, 1e12, t, NULL);
  for (long i = 0; i < n_req; i++) {
    size_t k = gpus[xs() % n_gpu];
    double want = 100.0 + 650.0 * unif();
    int64_t ti = t + (int64_t)(i % 1000) * 10000; /* within the servers' leases */
    double a = now_s();
    tp.request(tp.ctx, k, want, ti, NULL);
    lat[i] = now_s() - a;
  }
  qsort(lat, (size_t)n_req, sizeof lat[0], cmp_d);
  double p50 = lat[n_req / 2], p99 = lat[(long)(0.99 * (double)n_req)];
  long n_naive = 200;
  double *nl = malloc((size_t)n_naive * sizeof *nl);
  volatile double sink = 0.0;
  for (long i = 0; i < n_naive; i++) {
    size_t k = gpus[xs() % n_gpu];
    double a = now_s();
    sink += naive_request(s, nd, n, k, 500.0, t);
    nl[i] = now_s() - a;
  }
  qsort(nl, (size_t)n_naive, sizeof nl[0], cmp_d);
  printf("request-to-grant (%ld GPU requests): p50 %.2f us, p99 %.2f us\n", n_req, p50 * 1e6,
         p99 * 1e6);
  printf("baseline full-scan allocator (%ld requests): p50 %.1f us, p99 %.1f us; "
         "p50 ratio %.0fx\n",
         n_naive, nl[n_naive / 2] * 1e6, nl[(long)(0.99 * n_naive)] * 1e6, nl[n_naive / 2] / p50);
  (void)sink;
  free(nl);
  free(lat);
  free(dem);
  free(gpus);
  hr_lease_sys_destroy(s);
  hr_tree_destroy(tree);
  return 0;
}
