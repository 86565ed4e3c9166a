/* Crash safety of the store: a child process writes rows as fast as a
 * meter fleet would (its writer thread flushing every 0.25 s) and is killed
 * with SIGKILL in the middle.  The database must then open, pass an
 * integrity check, hold a gap-free prefix of the rows put, and have lost at
 * most the rows of the last second before the kill.
 *
 * SQLite: a file here, PRAGMA integrity_check.  PostgreSQL, when
 * HR_STORE_TARGET is set (tests/store/pg_server.sh): that database, checked
 * with the amcheck extension (bt_index_check of every index with its heap,
 * verify_heapam of every table) and reopened through the store. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "headroom/error.h"
#include "headroom/store.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Child: put rows k = 0, 1, ... at ~20,000 rows/s; after every 1000 rows,
 * report (time, k) on the pipe. */
static void child(const char *db, int fd)
{
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, db);
  cfg.flush_interval_s = 0.25;
  cfg.batch_rows = 4096; /* commit progressively inside a long flush */
  hr_store_t *st;
  if (hr_store_open(&cfg, &st) != HR_OK)
    _exit(3);
  int dev;
  if (hr_store_device(st, "crash", &dev) != HR_OK || hr_store_start_writer(st) != HR_OK)
    _exit(4);
  double t0 = now_s();
  for (int64_t k = 0;; k++) {
    hr_store_row_t r;
    memset(&r, 0, sizeof r);
    r.t_ns = k;
    r.dur_ns = 200000000;
    r.p_total_w = (double)k;
    if (hr_store_put_row(st, dev, HR_RES_200MS, &r) != HR_OK)
      _exit(5); /* the backlog must keep up at this rate */
    if (k % 1000 == 999) {
      double rep[2] = {now_s(), (double)(k + 1)};
      if (write(fd, rep, sizeof rep) != sizeof rep)
        _exit(6);
      while (now_s() - t0 < (double)(k + 1) / 20000.0)
        usleep(1000);
    }
  }
}

/* Runs sql on a PostgreSQL database; the first row's first three integer
 * columns (text results) go to out[] when out is not NULL. */
static void pg_sql(const char *conninfo, const char *sql, int64_t *out)
{
  PGconn *c = PQconnectdb(conninfo);
  if (PQstatus(c) != CONNECTION_OK)
    fail_msg("connect: %s", PQerrorMessage(c));
  PGresult *r = PQexec(c, sql);
  ExecStatusType s = PQresultStatus(r);
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  if (out) {
    assert_int_equal(PQntuples(r), 1);
    for (int k = 0; k < 3 && k < PQnfields(r); k++)
      out[k] = PQgetisnull(r, 0, k) ? -1 : strtoll(PQgetvalue(r, 0, k), NULL, 10);
  }
  PQclear(r);
  PQfinish(c);
}

static int count_row(const hr_store_row_t *r, void *user)
{
  int64_t *n = user;
  assert_true(r->t_ns == *n && r->p_total_w == (double)*n); /* in order, the values put */
  (*n)++;
  return 0;
}

static void test_sigkill(void **state)
{
  (void)state;
  char dir[] = "/tmp/hr_crash_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char db[300];
  snprintf(db, sizeof db, "%s/c.db", dir);
  const char *pg = getenv("HR_STORE_TARGET");
  if (pg && *pg) {
    pg_sql(pg,
           "SET client_min_messages = warning;"
           "DROP TABLE IF EXISTS device, measurement, event, capture, meta",
           NULL);
    snprintf(db, sizeof db, "%s", pg);
  } else {
    pg = NULL;
  }
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    child(db, fds[1]);
    _exit(0);
  }
  close(fds[1]);
  /* Read progress reports for 2.5 s, remember them, then kill. */
  static double rep_t[10000], rep_k[10000];
  int n = 0;
  double start = now_s();
  while (now_s() - start < 2.5 && n < 10000) {
    double rep[2];
    ssize_t got = read(fds[0], rep, sizeof rep);
    if (got != (ssize_t)sizeof rep)
      break;
    rep_t[n] = rep[0];
    rep_k[n] = rep[1];
    n++;
  }
  double t_kill = now_s();
  assert_int_equal(kill(pid, SIGKILL), 0);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  close(fds[0]);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  assert_true(n > 10);
  /* Rows put at least 1 s before the kill must be in the database. */
  double must = 0;
  for (int k = 0; k < n; k++)
    if (rep_t[k] <= t_kill - 1.0)
      must = rep_k[k];
  assert_true(must > 0);
  int64_t cnt, lo, hi;
  if (pg) {
    int64_t v[3];
    pg_sql(pg, "CREATE EXTENSION IF NOT EXISTS amcheck", NULL);
    /* amcheck: every index (with heapallindexed: each heap tuple is in it) */
    pg_sql(pg,
           "SELECT count(bt_index_check(c.oid, true)) FROM pg_index i JOIN pg_class c"
           " ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN"
           " ('device', 'measurement', 'event', 'capture', 'meta')",
           v);
    assert_true(v[0] >= 4);
    pg_sql(pg,
           "SELECT (SELECT count(*) FROM verify_heapam('measurement')) +"
           " (SELECT count(*) FROM verify_heapam('device')) +"
           " (SELECT count(*) FROM verify_heapam('event'))",
           v);
    assert_int_equal(v[0], 0); /* no corruption reported */
    pg_sql(pg, "SELECT count(*), min(t_ns), max(t_ns) FROM measurement", v);
    cnt = v[0];
    lo = v[1];
    hi = v[2];
    /* ... and the store opens it and reads the same rows. */
    hr_store_cfg_t cfg;
    hr_store_cfg_init(&cfg, pg);
    cfg.read_only = 1;
    hr_store_t *st;
    assert_int_equal(hr_store_open(&cfg, &st), HR_OK);
    int64_t seen = 0;
    assert_int_equal(hr_store_query_rows(st, "crash", HR_RES_200MS, 0, INT64_MAX, count_row, &seen),
                     HR_OK);
    assert_int_equal(hr_store_close(st), HR_OK);
    assert_int_equal(seen, cnt);
  } else {
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*), min(t_ns), max(t_ns) FROM measurement",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    cnt = sqlite3_column_int64(q, 0);
    lo = sqlite3_column_int64(q, 1);
    hi = sqlite3_column_int64(q, 2);
    sqlite3_finalize(q);
    sqlite3_close(h);
  }
  printf("killed after %.2f s: %lld rows reported put, %lld in the database, %.0f required\n",
         t_kill - start, (long long)rep_k[n - 1], (long long)cnt, must);
  assert_int_equal(lo, 0);
  assert_int_equal(hi, cnt - 1); /* a gap-free prefix */
  assert_true((double)cnt >= must);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_sigkill)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
