/* Tests of the measurement store (include/headroom/store.h) on a real
 * database: rows, events and captures round-trip through flush and the
 * queries; a full backlog drops and counts; roll-ups follow IEC 61000-4-30
 * §4.5 (RMS of RMS values, mean of powers, OR of flags) and retention keeps
 * each resolution for its configured time; meter records map to rows/events;
 * the writer thread flushes by itself; a row written again replaces the
 * earlier one.
 *
 * Backend: a SQLite file in a temporary directory, or — when HR_STORE_TARGET
 * is set, as tests/store/pg_server.sh does — that PostgreSQL database, with
 * the same tests; there, the results are also compared with a SQLite store
 * fed the same rows (the two backends must answer alike). */
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
#include <libpq-fe.h>

#include "headroom/error.h"
#include "headroom/store.h"

#define T0 1767225600000000000LL /* 2026-01-01T00:00:00Z, a multiple of 10 min */
#define MS200 200000000LL

static char dir[64], dbpath[256], sqpath[256]; /* the target; a SQLite file */
static const char *target;                     /* dbpath or HR_STORE_TARGET */
static int pg;                                 /* the target is PostgreSQL */

static int setup(void **state)
{
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/hr_store_XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(dbpath, sizeof dbpath, "%s/t.db", dir);
  snprintf(sqpath, sizeof sqpath, "%s/same.db", dir);
  const char *env = getenv("HR_STORE_TARGET");
  pg = env && *env;
  target = pg ? env : dbpath;
  if (pg && !hr_store_target_is_pg(env)) {
    fprintf(stderr, "HR_STORE_TARGET='%s' is not a PostgreSQL target\n", env);
    return -1;
  }
  printf("store backend: %s\n", pg ? "PostgreSQL" : "SQLite");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Runs sql on the PostgreSQL target (libpq directly, not the store). */
static void pg_exec(const char *sql)
{
  PGconn *c = PQconnectdb(target);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

/* An empty target for each test. */
static void fresh(void)
{
  if (pg)
    pg_exec("SET client_min_messages = warning;"
            "DROP TABLE IF EXISTS device, measurement, event, capture, meta");
  else
    unlink(dbpath);
}

static hr_store_row_t row_at(int64_t k)
{
  hr_store_row_t r;
  memset(&r, 0, sizeof r);
  r.t_ns = T0 + k * MS200;
  r.dur_ns = MS200;
  r.flags = k == 3 ? 16u : 0u;
  r.freq_hz = 50 + 0.001 * (double)(k % 7);
  for (int c = 0; c < 3; c++)
    r.u_rms_v[c] = 230 + (double)((k + c) % 5);
  for (int c = 0; c < 4; c++)
    r.i_rms_a[c] = c == 3 ? NAN : 10 + (double)(k % 3);
  for (int c = 0; c < 3; c++)
    r.p_w[c] = 2000 + (double)(k % 11);
  r.p_total_w = r.p_w[0] + r.p_w[1] + r.p_w[2];
  r.s_eff_va = r.p_total_w / 0.9;
  r.pf_total = 0.9;
  return r;
}

typedef struct got {
  hr_store_row_t rows[8192];
  int n;
} got_t;

static int take_row(const hr_store_row_t *r, void *user)
{
  got_t *g = user;
  if (g->n < 8192)
    g->rows[g->n++] = *r;
  return 0;
}

static int count_ev(const hr_store_event_t *e, void *user)
{
  int *n = user;
  assert_int_equal(e->type, 1);
  (*n)++;
  return 0;
}

static void test_put_flush_query(void **state)
{
  (void)state;
  fresh();
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, target);
  hr_store_t *st;
  assert_int_equal(hr_store_open(&cfg, &st), HR_OK);
  int dev, dev2;
  assert_int_equal(hr_store_device(st, "PDU-A01-001", &dev), HR_OK);
  assert_int_equal(hr_store_device(st, "PDU-A01-002", &dev2), HR_OK);
  assert_int_not_equal(dev, dev2);
  int again;
  assert_int_equal(hr_store_device(st, "PDU-A01-001", &again), HR_OK);
  assert_int_equal(again, dev);
  assert_int_equal(hr_store_device(st, "bad\nname", &again), HR_ERR_INVALID_ARG);
  for (int k = 0; k < 1000; k++) {
    hr_store_row_t r = row_at(k);
    assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
    r.p_total_w = -1;
    assert_int_equal(hr_store_put_row(st, dev2, HR_RES_200MS, &r), HR_OK);
  }
  hr_store_event_t ev = {.t_ns = T0 + 5, .start_ns = T0 + 1, .type = 1, .depth_pct = 12.5};
  assert_int_equal(hr_store_put_event(st, dev, &ev), HR_OK);
  hr_store_capture_t cap = {.start_ns = T0, .trigger_ns = T0 + 1, .n_samples = 100, .fs_hz = 8000};
  snprintf(cap.format, sizeof cap.format, "FLOAT32");
  snprintf(cap.path, sizeof cap.path, "/captures/x");
  assert_int_equal(hr_store_put_capture(st, dev, &cap), HR_OK);
  /* Nothing is visible before the flush: the put path does no I/O. */
  static got_t g;
  g.n = 0;
  assert_int_equal(
      hr_store_query_rows(st, "PDU-A01-001", HR_RES_200MS, T0, T0 + 1000 * MS200, take_row, &g),
      HR_OK);
  assert_int_equal(g.n, 0);
  assert_int_equal(hr_store_flush(st), HR_OK);
  assert_int_equal(hr_store_query_rows(st, "PDU-A01-001", HR_RES_200MS, T0 + 10 * MS200,
                                       T0 + 20 * MS200, take_row, &g),
                   HR_OK);
  assert_int_equal(g.n, 10);
  for (int k = 0; k < 10; k++) {
    hr_store_row_t w = row_at(10 + k);
    assert_int_equal(g.rows[k].t_ns, w.t_ns);
    assert_true(g.rows[k].u_rms_v[2] == w.u_rms_v[2]);
    assert_true(g.rows[k].p_total_w == w.p_total_w);
    assert_true(isnan(g.rows[k].i_rms_a[3]));
  }
  int nev = 0;
  assert_int_equal(hr_store_query_events(st, "PDU-A01-001", T0, T0 + 10, count_ev, &nev), HR_OK);
  assert_int_equal(nev, 1);
  hr_store_stats_t s;
  hr_store_get_stats(st, &s);
  assert_int_equal(s.written, 2002);
  assert_int_equal(s.backlog, 0);
  assert_int_equal(hr_store_close(st), HR_OK);
}

static void test_backlog_full_counts(void **state)
{
  (void)state;
  fresh();
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, target);
  cfg.backlog_rows = 100;
  hr_store_t *st;
  assert_int_equal(hr_store_open(&cfg, &st), HR_OK);
  int dev;
  assert_int_equal(hr_store_device(st, "m", &dev), HR_OK);
  int full = 0;
  for (int k = 0; k < 150; k++) {
    hr_store_row_t r = row_at(k);
    full += hr_store_put_row(st, dev, HR_RES_200MS, &r) == HR_ERR_FULL;
  }
  assert_int_equal(full, 50);
  hr_store_stats_t s;
  hr_store_get_stats(st, &s);
  assert_int_equal(s.dropped_rows, 50);
  assert_int_equal(s.backlog, 100);
  assert_int_equal(hr_store_flush(st), HR_OK);
  static got_t g;
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_200MS, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 100);
  assert_int_equal(hr_store_close(st), HR_OK);
}

static void test_rollup_retention(void **state)
{
  (void)state;
  fresh();
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, target);
  hr_store_t *st;
  assert_int_equal(hr_store_open(&cfg, &st), HR_OK);
  int dev;
  assert_int_equal(hr_store_device(st, "m", &dev), HR_OK);
  /* 20 minutes of 200-ms rows. */
  int n = 20 * 60 * 5;
  for (int k = 0; k < n; k++) {
    hr_store_row_t r = row_at(k);
    assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
  }
  assert_int_equal(hr_store_flush(st), HR_OK);
  int64_t now = T0 + (int64_t)n * MS200;
  assert_int_equal(hr_store_maintain(st, now), HR_OK);
  static got_t g;
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_3S, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 400);
  /* Bucket 0: rows 0..14.  RMS of RMS, mean of P, OR of flags. */
  double su = 0, sp = 0;
  for (int k = 0; k < 15; k++) {
    hr_store_row_t r = row_at(k);
    su += r.u_rms_v[1] * r.u_rms_v[1];
    sp += r.p_total_w;
  }
  assert_true(fabs(g.rows[0].u_rms_v[1] - sqrt(su / 15)) < 1e-9);
  assert_true(fabs(g.rows[0].p_total_w - sp / 15) < 1e-9);
  assert_int_equal(g.rows[0].flags, 16);
  assert_int_equal(g.rows[0].dur_ns, 3000000000LL);
  assert_int_equal(g.rows[1].flags, 0);
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_10MIN, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 2);
  /* Maintain again: idempotent. */
  assert_int_equal(hr_store_maintain(st, now), HR_OK);
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_3S, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 400);
  /* Eight days later the 200-ms rows are gone, the 3-s and 10-min rows stay. */
  assert_int_equal(hr_store_maintain(st, now + 8 * 86400LL * 1000000000LL), HR_OK);
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_200MS, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 0);
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_3S, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 400);
  /* After 91 days, only the 10-min rows. */
  assert_int_equal(hr_store_maintain(st, now + 91 * 86400LL * 1000000000LL), HR_OK);
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_3S, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 0);
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_10MIN, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 2);
  assert_int_equal(hr_store_close(st), HR_OK);
}

static void test_records_and_writer(void **state)
{
  (void)state;
  fresh();
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, target);
  cfg.flush_interval_s = 0.05;
  hr_store_t *st;
  assert_int_equal(hr_store_open(&cfg, &st), HR_OK);
  int dev;
  assert_int_equal(hr_store_device(st, "m", &dev), HR_OK);
  assert_int_equal(hr_store_start_writer(st), HR_OK);
  assert_int_equal(hr_store_start_writer(st), HR_ERR_STATE);
  hr_record_t rec;
  memset(&rec, 0, sizeof rec);
  rec.kind = HR_REC_INTERVAL;
  rec.n_u = 1;
  rec.n_i = 1;
  rec.t_ns = T0;
  rec.dur_ns = MS200;
  rec.u.interval.u_rms_v[0] = 231;
  rec.u.interval.p_total_w = 5;
  assert_int_equal(hr_store_put_record(st, dev, &rec), HR_OK);
  rec.kind = HR_REC_CYCLE; /* ignored */
  assert_int_equal(hr_store_put_record(st, dev, &rec), HR_OK);
  rec.kind = HR_REC_EVENT;
  rec.u.event.type = HR_EVT_DIP;
  rec.u.event.start_ns = T0 + 7;
  assert_int_equal(hr_store_put_record(st, dev, &rec), HR_OK);
  static got_t g;
  for (int tries = 0; tries < 200; tries++) { /* the writer flushes within ~50 ms */
    g.n = 0;
    assert_int_equal(hr_store_query_rows(st, "m", HR_RES_200MS, 0, INT64_MAX, take_row, &g), HR_OK);
    if (g.n)
      break;
    usleep(10000);
  }
  assert_int_equal(g.n, 1);
  assert_true(g.rows[0].u_rms_v[0] == 231 && isnan(g.rows[0].u_rms_v[1]));
  int nev = 0;
  assert_int_equal(hr_store_query_events(st, "m", 0, INT64_MAX, count_ev, &nev), HR_OK);
  assert_int_equal(nev, 1);
  /* A device the store does not know is an error, not an empty answer
   * (store.h): a misspelt name must not look like a quiet meter. */
  assert_int_equal(hr_store_query_rows(st, "nobody", HR_RES_200MS, 0, 1, take_row, &g),
                   HR_ERR_NOT_FOUND);
  assert_int_equal(hr_store_query_events(st, "nobody", 0, 1, count_ev, &nev), HR_ERR_NOT_FOUND);
  assert_int_equal(hr_store_close(st), HR_OK);
  /* Read-only: the same rows, and nothing can be written. */
  hr_store_cfg_t rcfg;
  hr_store_cfg_init(&rcfg, target);
  rcfg.read_only = 1;
  assert_int_equal(hr_store_open(&rcfg, &st), HR_OK);
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_200MS, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 1);
  assert_int_equal(hr_store_put_record(st, dev, &rec), HR_ERR_STATE);
  assert_int_equal(hr_store_flush(st), HR_ERR_STATE);
  assert_int_equal(hr_store_maintain(st, 0), HR_ERR_STATE);
  assert_int_equal(hr_store_start_writer(st), HR_ERR_STATE);
  assert_int_equal(hr_store_close(st), HR_OK);
  if (pg) {
    /* A database without the store's tables is not a store to a reader,
     * which creates nothing there; a server that is not there fails. */
    fresh();
    assert_int_equal(hr_store_open(&rcfg, &st), HR_ERR_IO);
    hr_store_cfg_t bad;
    hr_store_cfg_init(&bad, "host=127.0.0.1 port=1 user=hr dbname=postgres connect_timeout=5");
    assert_int_equal(hr_store_open(&bad, &st), HR_ERR_IO);
    return;
  }
  /* A file that is not a database is refused. */
  FILE *f = fopen(dbpath, "w");
  assert_non_null(f);
  fputs("this is not a database, not even close; it is long enough to have a header\n", f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(hr_store_open(&cfg, &st), HR_ERR_IO);
}

/* A row put again for the same (device, resolution, time) replaces the
 * earlier one: within one flush (the later put wins) and across flushes. */
static void test_rewrite_later_wins(void **state)
{
  (void)state;
  fresh();
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, target);
  hr_store_t *st;
  assert_int_equal(hr_store_open(&cfg, &st), HR_OK);
  int dev;
  assert_int_equal(hr_store_device(st, "m", &dev), HR_OK);
  for (int k = 0; k < 10; k++) {
    hr_store_row_t r = row_at(k);
    assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
  }
  assert_int_equal(hr_store_flush(st), HR_OK);
  /* Row 2 twice in one flush, row 5 once more; row 12 is new. */
  hr_store_row_t r = row_at(2);
  r.p_total_w = 1;
  assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
  r.p_total_w = 2;
  r.u_rms_v[0] = NAN;
  assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
  r = row_at(5);
  r.flags = 7;
  assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
  r = row_at(12);
  assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
  assert_int_equal(hr_store_flush(st), HR_OK);
  static got_t g;
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_200MS, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 11);
  assert_true(g.rows[2].p_total_w == 2 && isnan(g.rows[2].u_rms_v[0]));
  assert_true(g.rows[2].u_rms_v[1] == row_at(2).u_rms_v[1]);
  assert_int_equal(g.rows[5].flags, 7);
  assert_int_equal(g.rows[10].t_ns, row_at(12).t_ns);
  /* Within one flush, duplicates among many rows of several devices. */
  int dev2;
  assert_int_equal(hr_store_device(st, "m2", &dev2), HR_OK);
  for (int k = 0; k < 3000; k++) {
    hr_store_row_t w = row_at(k % 1000);
    w.p_total_w = k;
    assert_int_equal(hr_store_put_row(st, (k / 1000) % 2 ? dev : dev2, HR_RES_200MS, &w), HR_OK);
  }
  assert_int_equal(hr_store_flush(st), HR_OK);
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m2", HR_RES_200MS, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 1000);
  /* Device m2 got time j from k = j, then from k = 2000 + j: the later. */
  for (int j = 0; j < 1000; j++)
    assert_true(g.rows[j].p_total_w == 2000 + j);
  assert_int_equal(hr_store_close(st), HR_OK);
}

static int take_ev(const hr_store_event_t *e, void *user)
{
  hr_store_event_t *out = user;
  out[0] = *e;
  return 0;
}

/* On PostgreSQL: the same rows, roll-ups, retention and events give the same
 * answers as a SQLite store (raw values exactly, roll-ups to 1e-12: the two
 * engines may sum a mean's terms in different orders). */
static void test_same_as_sqlite(void **state)
{
  (void)state;
  if (!pg)
    skip();
  fresh();
  unlink(sqpath);
  hr_store_t *st[2];
  hr_store_cfg_t cfg[2];
  hr_store_cfg_init(&cfg[0], target);
  hr_store_cfg_init(&cfg[1], sqpath);
  int n = 25 * 60 * 5;
  for (int b = 0; b < 2; b++) {
    assert_int_equal(hr_store_open(&cfg[b], &st[b]), HR_OK);
    int dev[3];
    for (int d = 0; d < 3; d++) {
      char name[16];
      snprintf(name, sizeof name, "dev-%d", d);
      assert_int_equal(hr_store_device(st[b], name, &dev[d]), HR_OK);
    }
    for (int k = 0; k < n; k++)
      for (int d = 0; d < 3; d++) {
        hr_store_row_t r = row_at(k);
        r.p_w[1] += 0.1 * d + 1e-3 * k;
        r.u_rms_v[0] *= 1 + 1e-4 * (double)((k * 7919 + d) % 13);
        if (d == 2)
          r.i_rms_a[0] = r.i_rms_a[1] = r.i_rms_a[2] = NAN;
        assert_int_equal(hr_store_put_row(st[b], dev[d], HR_RES_200MS, &r), HR_OK);
      }
    hr_store_event_t ev = {.t_ns = T0 + 900 * MS200,
                           .start_ns = T0 + 899 * MS200,
                           .duration_ns = 123456789,
                           .type = 1,
                           .ended = 1,
                           .channels = 5,
                           .extreme = 161.25,
                           .depth_pct = NAN,
                           .flags = 0x80000001u};
    assert_int_equal(hr_store_put_event(st[b], dev[1], &ev), HR_OK);
    assert_int_equal(hr_store_flush(st[b]), HR_OK);
    assert_int_equal(hr_store_maintain(st[b], T0 + (int64_t)n * MS200), HR_OK);
    assert_int_equal(hr_store_maintain(st[b], T0 + (int64_t)n * MS200 + 86400LL * 1000000000LL),
                     HR_OK);
  }
  static got_t g[2];
  for (int d = 0; d < 3; d++)
    for (int res = 0; res < HR_RES_COUNT; res++) {
      char name[16];
      snprintf(name, sizeof name, "dev-%d", d);
      for (int b = 0; b < 2; b++) {
        g[b].n = 0;
        assert_int_equal(hr_store_query_rows(st[b], name, (hr_store_res_t)res, T0 - 1,
                                             T0 + (int64_t)n * MS200, take_row, &g[b]),
                         HR_OK);
      }
      assert_int_equal(g[0].n, g[1].n);
      assert_true(g[0].n > 0);
      double tol = res == HR_RES_200MS ? 0 : 1e-12;
      for (int k = 0; k < g[0].n; k++) {
        const hr_store_row_t *a = &g[0].rows[k], *b = &g[1].rows[k];
        assert_int_equal(a->t_ns, b->t_ns);
        assert_int_equal(a->dur_ns, b->dur_ns);
        assert_int_equal(a->flags, b->flags);
        const double *x = &a->freq_hz, *y = &b->freq_hz; /* freq_hz .. pf_total */
        size_t nv = (offsetof(hr_store_row_t, pf_total) - offsetof(hr_store_row_t, freq_hz)) /
                        sizeof(double) +
                    1;
        for (size_t v = 0; v < nv; v++) {
          if (isnan(x[v]) || isnan(y[v])) {
            assert_true(isnan(x[v]) && isnan(y[v]));
            continue;
          }
          if (!(fabs(x[v] - y[v]) <= tol * fabs(y[v])))
            fail_msg("dev %d res %d row %d value %zu: %.17g (PostgreSQL) vs %.17g (SQLite)", d, res,
                     k, v, x[v], y[v]);
        }
      }
    }
  hr_store_event_t e[2];
  for (int b = 0; b < 2; b++) {
    memset(&e[b], 0, sizeof e[b]);
    assert_int_equal(hr_store_query_events(st[b], "dev-1", 0, INT64_MAX, take_ev, &e[b]), HR_OK);
  }
  assert_true(e[0].t_ns == e[1].t_ns && e[0].start_ns == e[1].start_ns &&
              e[0].duration_ns == e[1].duration_ns && e[0].type == e[1].type &&
              e[0].ended == e[1].ended && e[0].channels == e[1].channels &&
              e[0].extreme == e[1].extreme && isnan(e[0].depth_pct) && isnan(e[1].depth_pct) &&
              e[0].flags == e[1].flags && e[0].flags == 0x80000001u);
  for (int b = 0; b < 2; b++)
    assert_int_equal(hr_store_close(st[b]), HR_OK);
}

/* A capture path that is not UTF-8 (Latin-1 "Köln") is stored, not a flush
 * error that would hold back every later row: PostgreSQL takes UTF-8 only,
 * so there the byte becomes U+FFFD; SQLite keeps the bytes. */
static void test_capture_path_not_utf8(void **state)
{
  (void)state;
  fresh();
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, target);
  hr_store_t *st;
  assert_int_equal(hr_store_open(&cfg, &st), HR_OK);
  int dev;
  assert_int_equal(hr_store_device(st, "m", &dev), HR_OK);
  hr_store_capture_t cap = {.start_ns = T0, .trigger_ns = T0 + 1, .n_samples = 10, .fs_hz = 8000};
  snprintf(cap.format, sizeof cap.format, "FLOAT32");
  snprintf(cap.path, sizeof cap.path, "/captures/K\xf6ln-\xc3\xa9");
  assert_int_equal(hr_store_put_capture(st, dev, &cap), HR_OK);
  hr_store_row_t r = row_at(0);
  assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
  assert_int_equal(hr_store_flush(st), HR_OK);
  hr_store_stats_t ss;
  hr_store_get_stats(st, &ss);
  assert_int_equal(ss.written, 2);
  assert_int_equal(ss.flush_errors, 0);
  assert_int_equal(hr_store_close(st), HR_OK);
  if (!pg)
    return;
  PGconn *c = PQconnectdb(target);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *q = PQexec(c, "SELECT path, format, n_samples FROM capture");
  assert_int_equal(PQresultStatus(q), PGRES_TUPLES_OK);
  assert_int_equal(PQntuples(q), 1);
  assert_string_equal(PQgetvalue(q, 0, 0), "/captures/K\xef\xbf\xbdln-\xc3\xa9");
  assert_string_equal(PQgetvalue(q, 0, 1), "FLOAT32");
  assert_string_equal(PQgetvalue(q, 0, 2), "10");
  PQclear(q);
  PQfinish(c);
}

/* PostgreSQL: the server ends the store's session (a restart, an
 * administrator); the next flush fails and keeps its rows, the one after
 * re-opens the connection and writes them. */
static void test_pg_reconnect(void **state)
{
  (void)state;
  if (!pg)
    skip();
  fresh();
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, target);
  hr_store_t *st;
  assert_int_equal(hr_store_open(&cfg, &st), HR_OK);
  int dev;
  assert_int_equal(hr_store_device(st, "m", &dev), HR_OK);
  hr_store_row_t r = row_at(0);
  assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
  assert_int_equal(hr_store_flush(st), HR_OK);
  pg_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
          " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  r = row_at(1);
  assert_int_equal(hr_store_put_row(st, dev, HR_RES_200MS, &r), HR_OK);
  int first = hr_store_flush(st);
  assert_true(first == HR_OK || first == HR_ERR_IO);
  printf("flush after the session was ended: %s\n", hr_strerror(first));
  assert_int_equal(hr_store_flush(st), HR_OK);
  hr_store_stats_t ss;
  hr_store_get_stats(st, &ss);
  assert_int_equal(ss.written, 2);
  assert_int_equal(ss.backlog, 0);
  assert_int_equal(ss.flush_errors, first == HR_OK ? 0 : 1);
  static got_t g;
  g.n = 0;
  assert_int_equal(hr_store_query_rows(st, "m", HR_RES_200MS, 0, INT64_MAX, take_row, &g), HR_OK);
  assert_int_equal(g.n, 2);
  assert_int_equal(hr_store_close(st), HR_OK);
}

static void test_target_kind(void **state)
{
  (void)state;
  assert_int_equal(hr_store_target_is_pg("postgresql://hr@localhost/db"), 1);
  assert_int_equal(hr_store_target_is_pg("postgres://localhost"), 1);
  assert_int_equal(hr_store_target_is_pg("host=/tmp port=5433 dbname=hr"), 1);
  assert_int_equal(hr_store_target_is_pg("dbname=hr"), 1);
  assert_int_equal(hr_store_target_is_pg("/var/lib/headroom/store.db"), 0);
  assert_int_equal(hr_store_target_is_pg("store.db"), 0);
  assert_int_equal(hr_store_target_is_pg("a b=c.db"), 0);
  assert_int_equal(hr_store_target_is_pg("./host=x.db"), 0);
  assert_int_equal(hr_store_target_is_pg(""), 0);
  assert_int_equal(hr_store_target_is_pg(NULL), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_flush_query),       cmocka_unit_test(test_backlog_full_counts),
      cmocka_unit_test(test_rollup_retention),      cmocka_unit_test(test_records_and_writer),
      cmocka_unit_test(test_rewrite_later_wins),    cmocka_unit_test(test_same_as_sqlite),
      cmocka_unit_test(test_capture_path_not_utf8), cmocka_unit_test(test_pg_reconnect),
      cmocka_unit_test(test_target_kind),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
