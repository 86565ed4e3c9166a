/* Out of memory: every entry point that allocates fails cleanly when its
 * n-th allocation fails, for every n, and leaks nothing.
 *
 * The allocator seam: this test is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,
 * --wrap=free (CMakeLists.txt), so every call the library (and this file)
 * makes goes through the wrappers below.  While armed they count the
 * allocation calls, fail call number fail_at (0-based) and keep the balance
 * of live blocks.  For each entry point the test runs the creation with
 * fail_at = 0, 1, 2, ... until a run sees no injected failure; every run
 * must either fail with HR_ERR_NOMEM and no object, or succeed (an
 * allocation the code can do without), and after the object is destroyed
 * every block must have been freed.  Under AddressSanitizer the same runs
 * also check for stray accesses on the failure paths.
 *
 * Allocations made inside other libraries (libyaml, cairo, the C library's
 * stdio) are not seen: only the library's own calls are wrapped. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifdef HR_FAKE_NVML
#include <dlfcn.h>
#endif

#include "headroom/actuate.h"
#include "headroom/gen.h"
#include "headroom/grid.h"
#include "headroom/lease.h"
#include "headroom/plan.h"
#include "headroom/pq.h"
#include "headroom/predict.h"
#include "headroom/protect.h"
#include "headroom/reader.h"
#include "headroom/tree.h"
#include "report_chart.h" /* the command's chart writers (src/cli) */

/* ---- the seam ------------------------------------------------------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
void __wrap_free(void *p);

static int armed;
static long calls, fail_at = -1, injected, live;

/* 1 when this allocation call is the one to fail. */
static int fail_now(void)
{
  if (!armed)
    return 0;
  if (calls++ == fail_at) {
    injected++;
    return 1;
  }
  return 0;
}

static void *counted(void *p)
{
  if (armed && p)
    live++;
  return p;
}

void *__wrap_malloc(size_t n)
{
  return fail_now() ? NULL : counted(__real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t m)
{
  return fail_now() ? NULL : counted(__real_calloc(n, m));
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
  return fail_now() ? NULL : counted(__real_aligned_alloc(a, n));
}

void *__wrap_realloc(void *p, size_t n)
{
  if (fail_now())
    return NULL; /* p stays valid, as a real failure leaves it */
  void *q = __real_realloc(p, n);
  if (armed && !p && q)
    live++;
  return q;
}

void __wrap_free(void *p)
{
  if (armed && p)
    live--;
  __real_free(p);
}

/* ---- the loop ------------------------------------------------------------ */

/* One entry point: make() creates (returns an HR_* code and the object, or
 * NULL), drop() releases what make() returned. */
typedef struct oom_case {
  const char *name;
  int (*make)(void **obj);
  void (*drop)(void *obj);
} oom_case_t;

/* Runs c with every allocation failing in turn; returns the number of
 * allocation calls of a clean run (the number of failure points). */
static long run_case(const oom_case_t *c)
{
  for (long n = 0;; n++) {
    assert_true(n < 200000); /* a bound on the allocation count */
    void *obj = NULL;
    calls = injected = live = 0;
    fail_at = n;
    armed = 1;
    int rc = c->make(&obj);
    if (rc == HR_OK && c->drop)
      c->drop(obj);
    armed = 0;
    if (rc != HR_OK) {
      if (rc != HR_ERR_NOMEM || obj != NULL || injected != 1)
        fail_msg("%s: allocation %ld failing gave %s (%d injected, object %p)", c->name, n,
                 hr_err_name(rc), (int)injected, obj);
    }
    if (live != 0)
      fail_msg("%s: allocation %ld failing left %ld blocks %s", c->name, n, labs(live),
               live > 0 ? "allocated (a leak)" : "freed twice or not ours");
    if (injected == 0) {
      assert_int_equal(rc, HR_OK); /* nothing failed: it must work */
      return calls;
    }
  }
}

/* ---- fixtures -------------------------------------------------------------- */

static char tmp_dir[256];

static const char *tmp_path(const char *name)
{
  static char buf[8][512];
  static int k;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir, name);
  return buf[k];
}

static void write_file(const char *name, const char *text)
{
  FILE *f = fopen(tmp_path(name), "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static const char tree_yaml[] =
    "version: 1\n"
    "name: oom\n"
    "redundancy: none\n"
    "nodes:\n"
    "  - {id: site, kind: utility, parent: null, voltage_v: 480, phases: 3, rating_kw: 500,\n"
    "     grid: {max_ramp_w_per_s: 1e6, oscillation_w: [[0.1, 1, 1e4]]}}\n"
    "  - {id: main, kind: switchgear, parent: site, device: {type: trip_unit, curve: LSIG,\n"
    "     in_a: 600, tr_s: 12, isd: 4, tsd_s: 0.3, ii: 10, ig_a: 300, tg_s: 0.4}}\n"
    "  - {id: pdu, kind: pdu, parent: main, rating_a: 200,\n"
    "     device: {type: relay, curve: iec_si, is_a: 200, tms: 0.5}}\n"
    "  - {id: rack, kind: rack, parent: pdu, rating_kw: 60, budget_kw: 50,\n"
    "     device: {type: fuse, in_a: 100, melt: [[150, 100], [300, 5], [1000, 0.01]]}}\n"
    "  - {id: srv, kind: server, parent: rack, rating_kw: 8}\n"
    "  - {id: g0, kind: gpu, parent: srv, rating_w: 700}\n"
    "  - {id: g1, kind: gpu, parent: srv, rating_w: 700}\n";

static hr_tree_t *tree;            /* for the lease system */
static hr_plan_traceset_t *traces; /* for training */
static hr_plan_model_t *model;     /* for generation and the site */
static char *model_text;           /* a saved model file */
static size_t model_len;
static hr_plan_workload_t *workload;

static const char summary_csv[] = "model_label,num_gpus,max_num_seqs,trace_file\n"
                                  "m,1,8,a.csv\n"
                                  "m,1,64,b.csv\n";

static void trace_csv(const char *name, double level)
{
  char buf[8192];
  size_t k = (size_t)snprintf(buf, sizeof buf, "relative_time_s,power_total_W\n");
  for (int i = 0; i < 150; i++)
    k += (size_t)snprintf(buf + k, sizeof buf - k, "%.1f,%.3f\n", 0.1 * i,
                          level + 40.0 * sin(0.3 * i) + (i % 7));
  write_file(name, buf);
}

static const char lut_csv[] =
    "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,"
    "token_time,e2e_time,tensor_parallel\n"
    "llama2-70b,a100-80gb,512,1,128,1.0,0.50,1,1,1,8\n"
    "llama2-70b,a100-80gb,512,8,128,1.0,0.70,1,1,1,8\n"
    "llama2-70b,a100-80gb,512,64,128,1.0,0.90,1,1,1,8\n";

static void tiny_train_cfg(hr_plan_train_cfg_t *c)
{
  hr_plan_train_cfg_init(c);
  c->k_min = 1;
  c->k_max = 2;
  c->gmm_max_points = 100;
  c->em_iters = 2;
  c->clf_epochs = 1;
  c->gru_hidden = 2;
  c->gru_epochs = 1;
  c->gru_window = 8;
  c->gru_windows = 1;
  c->bigru_hidden = 2; /* the paper's BiGRU, tiny */
  c->bigru_epochs = 1;
  c->bigru_window = 8;
  c->pooled = 1;
  c->lut_csv = tmp_path("lut.csv");
}

static int setup(void **state)
{
  (void)state;
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/hr_oom_XXXXXX");
  assert_non_null(mkdtemp(tmp_dir));
  write_file("traces_summary.csv", summary_csv);
  trace_csv("a.csv", 300.0);
  trace_csv("b.csv", 450.0);
  write_file("lut.csv", lut_csv);
  hr_diag_t te;
  if (hr_tree_load_buffer(tree_yaml, strlen(tree_yaml), "oom", &tree, &te) != HR_OK)
    fail_msg("%s", te.message);
  hr_diag_t pe;
  assert_int_equal(hr_plan_traceset_load(tmp_dir, &traces, &pe), HR_OK);
  hr_plan_train_cfg_t tc;
  tiny_train_cfg(&tc);
  assert_int_equal(hr_plan_model_train(traces, NULL, &tc, &model, &pe), HR_OK);
  assert_int_equal(hr_plan_model_save(model, tmp_path("m.model")), HR_OK);
  FILE *f = fopen(tmp_path("m.model"), "rb");
  assert_non_null(f);
  model_text = malloc(1 << 20);
  assert_non_null(model_text);
  model_len = fread(model_text, 1, 1 << 20, f);
  fclose(f);
  assert_true(model_len > 0 && model_len < (1 << 20));
  hr_plan_gen_cfg_t gc;
  hr_plan_gen_cfg_init(&gc);
  gc.duration_s = 120.0;
  gc.rate_per_s = 2.0;
  gc.max_requests = 10000;
  assert_int_equal(hr_plan_workload_generate(&gc, &workload), HR_OK);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  hr_tree_destroy(tree);
  hr_plan_traceset_destroy(traces);
  hr_plan_model_destroy(model);
  hr_plan_workload_destroy(workload);
  free(model_text);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* ---- the entry points ------------------------------------------------------ */

static int make_meter(void **o)
{
  hr_meter_cfg_t c;
  hr_meter_cfg_init(&c, 8000.0, 50.0, 230.0, HR_LAYOUT_3P4W);
  return hr_meter_create(&c, (hr_meter_t **)o);
}

static void drop_meter(void *o)
{
  hr_meter_destroy(o);
}

static int make_device(void **o)
{
  hr_device_cfg_t c;
  hr_diag_t e;
  static const char text[] = "{type: relay, curve: ieee_vi, is_a: 400, tms: 2}";
  int rc = hr_tree_device_parse(text, strlen(text), &c, &e);
  return rc != HR_OK ? rc : hr_device_create(&c, (hr_device_t **)o);
}

static void drop_device(void *o)
{
  hr_device_destroy(o);
}

static int make_tree(void **o)
{
  hr_diag_t e;
  return hr_tree_load_buffer(tree_yaml, strlen(tree_yaml), "oom", (hr_tree_t **)o, &e);
}

static void drop_tree(void *o)
{
  hr_tree_destroy(o);
}

static int make_tree_file(void **o)
{
  write_file("tree.yaml", tree_yaml);
  hr_diag_t e;
  return hr_tree_load_file(tmp_path("tree.yaml"), (hr_tree_t **)o, &e);
}

static int make_lease(void **o)
{
  hr_lease_cfg_t c;
  hr_lease_cfg_init(&c);
  return hr_lease_sys_create(tree, &c, (hr_lease_sys_t **)o, NULL);
}

static void drop_lease(void *o)
{
  hr_lease_sys_destroy(o);
}

static int make_predictor(void **o)
{
  hr_predict_cfg_t c;
  hr_predict_cfg_init(&c, 0.01);
  return hr_predictor_create(&c, (hr_predictor_t **)o);
}

static void drop_predictor(void *o)
{
  hr_predictor_destroy(o);
}

static int make_grid(void **o)
{
  hr_grid_limits_t lim;
  memset(&lim, 0, sizeof lim);
  lim.max_ramp_w_per_s = 1e6;
  lim.max_p_w = 5e5;
  lim.n_bands = 2;
  lim.bands[0] = (hr_osc_band_t){0.1, 1.0, 1e4};
  lim.bands[1] = (hr_osc_band_t){1.0, 10.0, 5e3};
  return hr_grid_monitor_create(&lim, 0.01, (hr_grid_monitor_t **)o);
}

static void drop_grid(void *o)
{
  hr_grid_monitor_destroy(o);
}

static int make_reader(void **o)
{
  hr_reader_cfg_t c;
  hr_reader_cfg_init(&c, HR_FMT_CSV, 3);
  return hr_reader_create(&c, (hr_reader_t **)o);
}

static void drop_reader(void *o)
{
  hr_reader_destroy(o);
}

static int make_gen(void **o)
{
  hr_gen_cfg_t c;
  hr_gen_cfg_init(&c);
  int rc = hr_gen_cfg_preset(&c, "ai-rack", NULL);
  return rc != HR_OK ? rc : hr_gen_create(&c, (hr_gen_t **)o);
}

static void drop_gen(void *o)
{
  hr_gen_destroy(o);
}

static int make_simgpu(void **o)
{
  hr_simgpu_cfg_t c;
  hr_simgpu_cfg_init(&c, 8);
  return hr_simgpu_create(&c, (hr_actuator_t **)o);
}

static void drop_actuator(void *o)
{
  hr_actuator_destroy(o);
}

#ifdef HR_FAKE_NVML
static int make_nvml(void **o)
{
  hr_diag_t why;
  return hr_nvml_open(HR_FAKE_NVML, (hr_actuator_t **)o, &why);
}
#endif

static void drop_workload(void *o)
{
  hr_plan_workload_destroy(o);
}

static int make_workload_csv(void **o)
{
  static const char csv[] = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                            "2023-11-16 18:15:46.6805900,374,44\n"
                            "2023-11-16 18:15:50.9951690,396,109\n"
                            "2023-11-16 18:15:51.0,879,55\n";
  hr_diag_t e;
  return hr_plan_workload_parse_csv(csv, strlen(csv), NULL, (hr_plan_workload_t **)o, &e);
}

static int make_workload_jsonl(void **o)
{
  static const char js[] = "{\"timestamp\": 27482, \"input_length\": 6955, \"output_length\": 52}\n"
                           "{\"timestamp\": 30535, \"input_length\": 6472, \"output_length\": 26,"
                           " \"hash_ids\": [46, 47]}\n";
  static const hr_plan_csv_map_t map = {"timestamp", "input_length", "output_length", 1e-3};
  hr_diag_t e;
  return hr_plan_workload_parse_jsonl(js, strlen(js), &map, (hr_plan_workload_t **)o, &e);
}

static int make_workload_file(void **o)
{
  hr_diag_t e;
  write_file("w.csv", "t,in,out\n0,1,2\n0.5,3,4\n");
  static const hr_plan_csv_map_t map = {"t", "in", "out", 1.0};
  return hr_plan_workload_load(tmp_path("w.csv"), &map, (hr_plan_workload_t **)o, &e);
}

static int make_workload_gen(void **o)
{
  hr_plan_gen_cfg_t c;
  hr_plan_gen_cfg_init(&c);
  c.arrival = HR_PLAN_ARRIVAL_DIURNAL;
  c.duration_s = 600.0;
  c.min_rate_per_s = 0.5;
  c.max_rate_per_s = 4.0;
  c.period_s = 300.0;
  c.lengths_from = workload;
  c.max_requests = 100000;
  return hr_plan_workload_generate(&c, (hr_plan_workload_t **)o);
}

static int make_traceset(void **o)
{
  hr_diag_t e;
  return hr_plan_traceset_load(tmp_dir, (hr_plan_traceset_t **)o, &e);
}

static void drop_traceset(void *o)
{
  hr_plan_traceset_destroy(o);
}

static int make_model_train(void **o)
{
  hr_plan_train_cfg_t c;
  tiny_train_cfg(&c);
  hr_diag_t e;
  return hr_plan_model_train(traces, NULL, &c, (hr_plan_model_t **)o, &e);
}

static void drop_model(void *o)
{
  hr_plan_model_destroy(o);
}

static int make_model_parse(void **o)
{
  hr_diag_t e;
  return hr_plan_model_parse(model_text, model_len, (hr_plan_model_t **)o, &e);
}

static int make_model_load(void **o)
{
  hr_diag_t e;
  return hr_plan_model_load(tmp_path("m.model"), (hr_plan_model_t **)o, &e);
}

/* Generation allocates scratch (the copula's tables, the GRU's state): it
 * makes no object, so *o stays NULL. */
static int make_generate(void **o)
{
  (void)o;
  double a[200], p[200];
  for (int i = 0; i < 200; i++)
    a[i] = 1.0 + (i * 7) % 60;
  for (int meth = 0; meth < HR_PLAN_METHOD_COUNT_; meth++) {
    int rc = hr_plan_model_generate_dt(model, meth, "m", 4, a, 200, 0.25, 3, p);
    if (rc != HR_OK)
      return rc;
  }
  return HR_OK;
}

static int make_site(void **o)
{
  hr_plan_site_cfg_t c;
  hr_plan_site_cfg_init(&c);
  c.threads = 1; /* the seam's counters are not atomic: one thread, one order */
  c.rows = 1;
  c.racks_per_row = 2;
  c.servers_per_rack = 2;
  c.model = "m";
  return hr_plan_site_run(model, &c, workload, 120.0, (hr_plan_site_t **)o);
}

/* The same site with each replica's arrivals drawn on the fly: every
 * allocation failure of the per-replica workloads is reported too. */
static int make_site_gen(void **o)
{
  hr_plan_site_cfg_t c;
  hr_plan_site_cfg_init(&c);
  c.threads = 1; /* the seam's counters are not atomic: one thread, one order */
  c.rows = 1;
  c.racks_per_row = 2;
  c.servers_per_rack = 2;
  c.model = "m";
  hr_plan_gen_cfg_t g;
  hr_plan_gen_cfg_init(&g);
  g.duration_s = 120.0;
  g.rate_per_s = 2.0;
  return hr_plan_site_run_gen(model, &c, &g, 120.0, (hr_plan_site_t **)o);
}

static void drop_site(void *o)
{
  hr_plan_site_destroy(o);
}

static int make_provision(void **o)
{
  hr_plan_site_cfg_t c;
  hr_plan_site_cfg_init(&c);
  c.threads = 1; /* the seam's counters are not atomic: one thread, one order */
  c.rows = 1;
  c.racks_per_row = 2;
  c.servers_per_rack = 2;
  c.model = "m";
  return hr_plan_provision_run(model, &c, workload, 120.0, NULL, NULL, (hr_plan_provision_t **)o);
}

static void drop_provision(void *o)
{
  hr_plan_provision_destroy(o);
}

static int make_oversub_study(void **o)
{
  hr_plan_site_cfg_t c;
  hr_plan_site_cfg_init(&c);
  c.threads = 1; /* the seam's counters are not atomic: one thread, one order */
  c.rows = 1;
  c.racks_per_row = 3;
  c.servers_per_rack = 2;
  c.model = "m";
  return hr_plan_oversub_study_run(model, &c, workload, 120.0, 30e3, 20, NULL, NULL,
                                   (hr_plan_oversub_study_t **)o);
}

static void drop_oversub_study(void *o)
{
  hr_plan_oversub_study_destroy(o);
}

static int make_metrics(void **o)
{
  (void)o;
  const double *gt[2] = {traces->tr[0].p_w, traces->tr[1].p_w};
  const double *gen[2] = {traces->tr[1].p_w, traces->tr[0].p_w};
  size_t len[2] = {traces->tr[0].n, traces->tr[1].n};
  hr_plan_fidelity_t f;
  int rc = hr_plan_fidelity_compute(gt, gen, len, 2, 0.1, 1.0, &f);
  double ks;
  return rc != HR_OK ? rc : hr_plan_ks(gt[0], len[0], gen[0], len[0], &ks);
}

static int make_serve(void **o)
{
  (void)o;
  hr_plan_serve_cfg_t c;
  hr_plan_serve_cfg_init(&c);
  double active[120];
  return hr_plan_serve_run(&c, workload->req, workload->n, 1.0, 120, active, NULL, NULL);
}

static int make_oversub(void **o)
{
  (void)o;
  double racks[4 * 50];
  for (int i = 0; i < 200; i++)
    racks[i] = 1000.0 + (i * 37) % 300;
  hr_plan_oversub_t r;
  return hr_plan_oversub_sample(racks, 4, 50, 2, 20, 2200.0, 5, &r);
}

static int make_charts(void **o)
{
  (void)o;
  double x[50], y[50];
  for (int i = 0; i < 50; i++) {
    x[i] = i;
    y[i] = 100.0 + (i * 13) % 40;
  }
  const double *ys[1] = {y};
  const char *nm[1] = {"p"};
  int rc = hr__chart_png_write(tmp_path("c.png"), "t", "x", "y", x, ys, nm, 1, 50);
  return rc != HR_OK ? rc : hr__chart_svg_write(tmp_path("c.svg"), "t", "x", "y", x, ys, nm, 1, 50);
}

#define CASE(name, drop)                                                                           \
  {                                                                                                \
#name, make_##name, drop                                                                       \
  }

static const oom_case_t cases[] = {
    CASE(meter, drop_meter),
    CASE(device, drop_device),
    CASE(tree, drop_tree),
    CASE(tree_file, drop_tree),
    CASE(lease, drop_lease),
    CASE(predictor, drop_predictor),
    CASE(grid, drop_grid),
    CASE(reader, drop_reader),
    CASE(gen, drop_gen),
    CASE(simgpu, drop_actuator),
#ifdef HR_FAKE_NVML
    CASE(nvml, drop_actuator),
#endif
    CASE(workload_csv, drop_workload),
    CASE(workload_jsonl, drop_workload),
    CASE(workload_file, drop_workload),
    CASE(workload_gen, drop_workload),
    CASE(traceset, drop_traceset),
    CASE(model_train, drop_model),
    CASE(model_parse, drop_model),
    CASE(model_load, drop_model),
    CASE(generate, NULL),
    CASE(site, drop_site),
    CASE(site_gen, drop_site),
    CASE(provision, drop_provision),
    CASE(oversub_study, drop_oversub_study),
    CASE(metrics, NULL),
    CASE(serve, NULL),
    CASE(oversub, NULL),
    CASE(charts, NULL),
};

/* The seam itself: a failure is injected where asked and counted. */
static void seam_counts_and_fails(void **state)
{
  (void)state;
  /* Through volatile pointers, so the compiler cannot fold the calls. */
  void *(*volatile m)(size_t) = malloc;
  void *(*volatile ca)(size_t, size_t) = calloc;
  void *(*volatile re)(void *, size_t) = realloc;
  void (*volatile fr)(void *) = free;
  calls = injected = live = 0;
  fail_at = 1;
  armed = 1;
  void *a = m(8), *b = m(8), *c = ca(2, 8);
  void *d = re(NULL, 16);
  armed = 0;
  assert_non_null(a);
  assert_null(b);
  assert_non_null(c);
  assert_non_null(d);
  assert_int_equal(calls, 4);
  assert_int_equal(injected, 1);
  assert_int_equal(live, 3);
  armed = 1;
  fr(a);
  fr(c);
  fr(d);
  armed = 0;
  assert_int_equal(live, 0);
}

static void every_allocation_fails_cleanly(void **state)
{
  (void)state;
  long total = 0;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    long n = run_case(&cases[k]);
    /* Each entry point listed allocates: a count of 0 means the seam does
     * not see its allocations (and the case tests nothing). */
    if (n == 0)
      fail_msg("%s: no allocation seen", cases[k].name);
    printf("  %-16s %6ld allocation points\n", cases[k].name, n);
    total += n;
  }
  printf("  %zu entry points, %ld allocation points, each failed once\n",
         sizeof cases / sizeof cases[0], total);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(seam_counts_and_fails),
      cmocka_unit_test(every_allocation_fails_cleanly),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
