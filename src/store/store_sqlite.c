/* The measurement store's SQLite backend (store_impl.h): WAL, batched
 * transactions in key order, roll-ups and retention (docs/store.md). */
#include <math.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headroom/error.h"
#include "headroom/store.h"
#include "store/store_impl.h"

typedef hr__store_qrow_t qrow_t;
typedef hr__store_qevent_t qevent_t;
typedef hr__store_qcap_t qcap_t;

/* A queued row's key and place: sorted, equal keys keep their arrival order
 * (idx breaks ties), so INSERT OR REPLACE still lets the later row win. */
struct rowkey {
  int dev, res;
  int64_t t_ns;
  uint32_t idx;
};

typedef struct sq {
  sqlite3 *db;
  sqlite3_stmt *ins_row, *ins_ev, *ins_cap;
  struct rowkey *order; /* a batch's rows in key order (write_rows), batch_max long */
} sq_t;

static const char schema[] =
    "PRAGMA page_size=16384;" /* a new file only; fewer, larger leaves */
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    /* Rows of 1000 meters arrive interleaved, each appending at its own
     * place in the (device, res, t_ns) B-tree: the default 2 MB page cache
     * cannot hold those 1000 leaf pages, and every insert read one back. */
    "PRAGMA cache_size=-65536;"
    "CREATE TABLE IF NOT EXISTS device(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS measurement("
    " device INTEGER NOT NULL, res INTEGER NOT NULL, t_ns INTEGER NOT NULL, dur_ns INTEGER,"
    " flags INTEGER, freq_hz REAL, u1_v REAL, u2_v REAL, u3_v REAL,"
    " i1_a REAL, i2_a REAL, i3_a REAL, in_a REAL, p1_w REAL, p2_w REAL, p3_w REAL,"
    " p_total_w REAL, s_eff_va REAL, pf_total REAL,"
    " PRIMARY KEY(device, res, t_ns)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS event(device INTEGER NOT NULL, t_ns INTEGER, start_ns INTEGER,"
    " duration_ns INTEGER, type INTEGER, ended INTEGER, channels INTEGER, extreme REAL,"
    " depth_pct REAL, flags INTEGER);"
    "CREATE INDEX IF NOT EXISTS event_time ON event(device, start_ns);"
    "CREATE TABLE IF NOT EXISTS capture(device INTEGER NOT NULL, start_ns INTEGER,"
    " trigger_ns INTEGER, n_samples INTEGER, fs_hz REAL, reasons INTEGER, format TEXT,"
    " path TEXT);"
    "CREATE INDEX IF NOT EXISTS capture_time ON capture(device, start_ns);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER);";

/* SQLite aggregate: bitwise OR of integers (the flags of rolled-up rows). */
static void bitor_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  (void)argc;
  sqlite3_int64 *acc = sqlite3_aggregate_context(ctx, sizeof *acc);
  if (acc)
    *acc |= sqlite3_value_int64(argv[0]);
}
static void bitor_final(sqlite3_context *ctx)
{
  sqlite3_int64 *acc = sqlite3_aggregate_context(ctx, 0);
  sqlite3_result_int64(ctx, acc ? *acc : 0);
}
static void sqrt_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
    sqlite3_result_null(ctx);
  else
    sqlite3_result_double(ctx, sqrt(sqlite3_value_double(argv[0])));
}

static int sq_close(void *h)
{
  sq_t *s = h;
  if (!s)
    return HR_OK;
  sqlite3_finalize(s->ins_row);
  sqlite3_finalize(s->ins_ev);
  sqlite3_finalize(s->ins_cap);
  int rc = sqlite3_close(s->db) == SQLITE_OK ? HR_OK : HR_ERR_IO;
  free(s->order);
  free(s);
  return rc;
}

static int sq_open(const hr_store_cfg_t *cfg, size_t batch_max, void **out)
{
  sq_t *s = calloc(1, sizeof *s);
  if (!s)
    return HR_ERR_NOMEM;
  s->order = malloc(batch_max * sizeof *s->order);
  if (!s->order) {
    free(s);
    return HR_ERR_NOMEM;
  }
  const int ro = cfg->read_only != 0;
  if (sqlite3_open_v2(cfg->path, &s->db,
                      (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                          SQLITE_OPEN_FULLMUTEX,
                      NULL) != SQLITE_OK)
    goto fail;
  sqlite3_busy_timeout(s->db, 5000);
  if (ro) {
    /* A reader must not turn another program's database (or a typo's new
     * file) into a store: the tables must be there already. */
    sqlite3_stmt *q = NULL;
    int have = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                           " ('device', 'measurement', 'event', 'capture', 'meta')",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
      have = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (have != 5)
      goto fail;
  } else if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
    goto fail;
  }
  if (sqlite3_create_function(s->db, "hr_bitor", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
                              bitor_step, bitor_final) != SQLITE_OK ||
      sqlite3_create_function(s->db, "hr_sqrt", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                              sqrt_fn, NULL, NULL) != SQLITE_OK)
    goto fail;
  if (sqlite3_prepare_v2(
          s->db,
          "INSERT OR REPLACE INTO measurement VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
          "?,?,?)",
          -1, &s->ins_row, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db, "INSERT INTO event VALUES(?,?,?,?,?,?,?,?,?,?)", -1, &s->ins_ev,
                         NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db, "INSERT INTO capture VALUES(?,?,?,?,?,?,?,?)", -1, &s->ins_cap,
                         NULL) != SQLITE_OK)
    goto fail;
  *out = s;
  return HR_OK;
fail:
  sq_close(s);
  return HR_ERR_IO;
}

static int sq_device(void *h, const char *name, int *device_id)
{
  sq_t *st = h;
  sqlite3_stmt *q = NULL;
  int rc = HR_ERR_IO;
  if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO device(name) VALUES(?)", -1, &q, NULL) ==
          SQLITE_OK &&
      sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_DONE) {
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT id FROM device WHERE name=?", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      *device_id = sqlite3_column_int(q, 0);
      rc = HR_OK;
    }
  }
  sqlite3_finalize(q);
  return rc;
}

static void bind_real(sqlite3_stmt *q, int i, double v)
{
  if (isfinite(v))
    sqlite3_bind_double(q, i, v);
  else
    sqlite3_bind_null(q, i);
}

static int cmp_key(const void *a, const void *b)
{
  const struct rowkey *x = a, *y = b;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  if (x->res != y->res)
    return x->res < y->res ? -1 : 1;
  if (x->t_ns != y->t_ns)
    return x->t_ns < y->t_ns ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int write_rows(sq_t *st, const qrow_t *rows, size_t n)
{
  sqlite3_stmt *q = st->ins_row;
  /* In key order, each leaf page of the table is visited once per batch
   * instead of once per row (10x the rate for 1000 interleaved meters,
   * docs/performance.md). */
  for (size_t k = 0; k < n; k++)
    st->order[k] = (struct rowkey){rows[k].dev, rows[k].res, rows[k].r.t_ns, (uint32_t)k};
  qsort(st->order, n, sizeof *st->order, cmp_key);
  for (size_t o = 0; o < n; o++) {
    size_t k = st->order[o].idx;
    const hr_store_row_t *r = &rows[k].r;
    sqlite3_bind_int(q, 1, rows[k].dev);
    sqlite3_bind_int(q, 2, rows[k].res);
    sqlite3_bind_int64(q, 3, r->t_ns);
    sqlite3_bind_int64(q, 4, r->dur_ns);
    sqlite3_bind_int64(q, 5, r->flags);
    bind_real(q, 6, r->freq_hz);
    for (int c = 0; c < 3; c++)
      bind_real(q, 7 + c, r->u_rms_v[c]);
    for (int c = 0; c < 4; c++)
      bind_real(q, 10 + c, r->i_rms_a[c]);
    for (int c = 0; c < 3; c++)
      bind_real(q, 14 + c, r->p_w[c]);
    bind_real(q, 17, r->p_total_w);
    bind_real(q, 18, r->s_eff_va);
    bind_real(q, 19, r->pf_total);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
      return HR_ERR_IO;
  }
  return HR_OK;
}

static int write_events(sq_t *st, const qevent_t *evs, size_t n)
{
  sqlite3_stmt *q = st->ins_ev;
  for (size_t k = 0; k < n; k++) {
    const hr_store_event_t *e = &evs[k].e;
    sqlite3_bind_int(q, 1, evs[k].dev);
    sqlite3_bind_int64(q, 2, e->t_ns);
    sqlite3_bind_int64(q, 3, e->start_ns);
    sqlite3_bind_int64(q, 4, e->duration_ns);
    sqlite3_bind_int(q, 5, e->type);
    sqlite3_bind_int(q, 6, e->ended);
    sqlite3_bind_int64(q, 7, e->channels);
    bind_real(q, 8, e->extreme);
    bind_real(q, 9, e->depth_pct);
    sqlite3_bind_int64(q, 10, e->flags);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
      return HR_ERR_IO;
  }
  return HR_OK;
}

static int write_caps(sq_t *st, const qcap_t *cs, size_t n)
{
  sqlite3_stmt *q = st->ins_cap;
  for (size_t k = 0; k < n; k++) {
    const hr_store_capture_t *c = &cs[k].c;
    sqlite3_bind_int(q, 1, cs[k].dev);
    sqlite3_bind_int64(q, 2, c->start_ns);
    sqlite3_bind_int64(q, 3, c->trigger_ns);
    sqlite3_bind_int64(q, 4, c->n_samples);
    bind_real(q, 5, c->fs_hz);
    sqlite3_bind_int64(q, 6, c->reasons);
    sqlite3_bind_text(q, 7, c->format, (int)strnlen(c->format, sizeof c->format), SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 8, c->path, (int)strnlen(c->path, sizeof c->path), SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
      return HR_ERR_IO;
  }
  return HR_OK;
}

/* One transaction; on failure it is rolled back and the rows stay queued. */
static int sq_write_batch(void *h, const qrow_t *rows, size_t nr, const qevent_t *evs, size_t ne,
                          const qcap_t *cs, size_t nc)
{
  sq_t *st = h;
  if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return HR_ERR_IO;
  int rc = write_rows(st, rows, nr);
  if (rc == HR_OK)
    rc = write_events(st, evs, ne);
  if (rc == HR_OK)
    rc = write_caps(st, cs, nc);
  if (rc == HR_OK && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = HR_ERR_IO;
  if (rc != HR_OK)
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* Roll-up of resolution `from` into `to` for complete buckets before now. */
static int rollup(sq_t *st, int from, int to, int64_t now_ns)
{
  int64_t len = hr__store_res_len_ns[to];
  int64_t upto = now_ns / len * len;
  /* IEC 61000-4-30 §4.5: RMS values aggregate as the square root of the
   * arithmetic mean of the squares; powers and frequency as means; the total
   * power factor as P/S of the means. */
  static const char sql[] =
      "INSERT OR IGNORE INTO measurement SELECT device, ?1, (t_ns / ?2) * ?2, ?2, hr_bitor(flags),"
      " avg(freq_hz), hr_sqrt(avg(u1_v*u1_v)), hr_sqrt(avg(u2_v*u2_v)), hr_sqrt(avg(u3_v*u3_v)),"
      " hr_sqrt(avg(i1_a*i1_a)), hr_sqrt(avg(i2_a*i2_a)), hr_sqrt(avg(i3_a*i3_a)),"
      " hr_sqrt(avg(in_a*in_a)), avg(p1_w), avg(p2_w), avg(p3_w), avg(p_total_w), avg(s_eff_va),"
      " CASE WHEN avg(s_eff_va) > 0 THEN avg(p_total_w) / avg(s_eff_va) END"
      " FROM measurement WHERE res = ?3 AND t_ns < ?4 AND t_ns >= ?5 GROUP BY device, t_ns / ?2";
  sqlite3_stmt *q = NULL, *m = NULL;
  char key[32];
  snprintf(key, sizeof key, "rollup_%d", to);
  int64_t mark = INT64_MIN;
  if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key=?", -1, &m, NULL) != SQLITE_OK)
    return HR_ERR_IO;
  sqlite3_bind_text(m, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step(m) == SQLITE_ROW)
    mark = sqlite3_column_int64(m, 0);
  sqlite3_finalize(m);
  if (mark >= upto)
    return HR_OK;
  int rc = HR_ERR_IO;
  if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK) {
    sqlite3_bind_int(q, 1, to);
    sqlite3_bind_int64(q, 2, len);
    sqlite3_bind_int(q, 3, from);
    sqlite3_bind_int64(q, 4, upto);
    sqlite3_bind_int64(q, 5, mark == INT64_MIN ? INT64_MIN : mark);
    if (sqlite3_step(q) == SQLITE_DONE)
      rc = HR_OK;
  }
  sqlite3_finalize(q);
  if (rc == HR_OK && sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO meta VALUES(?, ?)", -1, &m,
                                        NULL) == SQLITE_OK) {
    sqlite3_bind_text(m, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(m, 2, upto);
    rc = sqlite3_step(m) == SQLITE_DONE ? HR_OK : HR_ERR_IO;
    sqlite3_finalize(m);
  }
  return rc;
}

static int sq_maintain(void *h, int64_t now_ns, const int64_t keep_ns[HR_RES_COUNT])
{
  sq_t *st = h;
  int rc = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? HR_OK : HR_ERR_IO;
  if (rc == HR_OK)
    rc = rollup(st, HR_RES_200MS, HR_RES_3S, now_ns);
  if (rc == HR_OK)
    rc = rollup(st, HR_RES_3S, HR_RES_10MIN, now_ns);
  for (int r = 0; r < HR_RES_COUNT && rc == HR_OK; r++) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "DELETE FROM measurement WHERE res=? AND t_ns < ?", -1, &q,
                           NULL) != SQLITE_OK) {
      rc = HR_ERR_IO;
      break;
    }
    sqlite3_bind_int(q, 1, r);
    /* Saturating: a stream that starts near the int64 floor keeps all. */
    sqlite3_bind_int64(q, 2, now_ns < INT64_MIN + keep_ns[r] ? INT64_MIN : now_ns - keep_ns[r]);
    rc = sqlite3_step(q) == SQLITE_DONE ? HR_OK : HR_ERR_IO;
    sqlite3_finalize(q);
  }
  if (rc == HR_OK) { /* events and captures follow the longest retention */
    sqlite3_stmt *q;
    for (int t = 0; t < 2 && rc == HR_OK; t++) {
      if (sqlite3_prepare_v2(st->db,
                             t ? "DELETE FROM capture WHERE start_ns < ?"
                               : "DELETE FROM event WHERE start_ns < ?",
                             -1, &q, NULL) != SQLITE_OK) {
        rc = HR_ERR_IO;
        break;
      }
      const int64_t keep = keep_ns[HR_RES_10MIN];
      sqlite3_bind_int64(q, 1, now_ns < INT64_MIN + keep ? INT64_MIN : now_ns - keep);
      rc = sqlite3_step(q) == SQLITE_DONE ? HR_OK : HR_ERR_IO;
      sqlite3_finalize(q);
    }
  }
  if (rc == HR_OK && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = HR_ERR_IO;
  if (rc != HR_OK)
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static double col_real(sqlite3_stmt *q, int i)
{
  return sqlite3_column_type(q, i) == SQLITE_NULL ? NAN : sqlite3_column_double(q, i);
}

/* HR_OK when the store knows device, HR_ERR_NOT_FOUND when not, HR_ERR_IO
 * (under dblock): an empty answer must not hide a misspelt name. */
static int device_known(sq_t *st, const char *device)
{
  sqlite3_stmt *q = NULL;
  int rc = HR_ERR_IO;
  if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM device WHERE name = ?", -1, &q, NULL) ==
          SQLITE_OK &&
      sqlite3_bind_text(q, 1, device, -1, SQLITE_TRANSIENT) == SQLITE_OK) {
    int s = sqlite3_step(q);
    rc = s == SQLITE_ROW ? HR_OK : s == SQLITE_DONE ? HR_ERR_NOT_FOUND : HR_ERR_IO;
  }
  sqlite3_finalize(q);
  return rc;
}

static int sq_query_rows(void *h, const char *device, hr_store_res_t res, int64_t t0_ns,
                         int64_t t1_ns, hr_store_row_cb cb, void *user)
{
  sq_t *st = h;
  sqlite3_stmt *q = NULL;
  int rc = device_known(st, device);
  if (rc != HR_OK) {
    return rc;
  }
  rc = HR_ERR_IO;
  if (sqlite3_prepare_v2(st->db,
                         "SELECT m.* FROM measurement m JOIN device d ON d.id = m.device"
                         " WHERE d.name = ? AND m.res = ? AND m.t_ns >= ? AND m.t_ns < ?"
                         " ORDER BY m.t_ns",
                         -1, &q, NULL) == SQLITE_OK) {
    sqlite3_bind_text(q, 1, device, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 2, (int)res);
    sqlite3_bind_int64(q, 3, t0_ns);
    sqlite3_bind_int64(q, 4, t1_ns);
    int s;
    rc = HR_OK;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
      hr_store_row_t r;
      r.t_ns = sqlite3_column_int64(q, 2);
      r.dur_ns = sqlite3_column_int64(q, 3);
      r.flags = (uint32_t)sqlite3_column_int64(q, 4);
      r.freq_hz = col_real(q, 5);
      for (int c = 0; c < 3; c++)
        r.u_rms_v[c] = col_real(q, 6 + c);
      for (int c = 0; c < 4; c++)
        r.i_rms_a[c] = col_real(q, 9 + c);
      for (int c = 0; c < 3; c++)
        r.p_w[c] = col_real(q, 13 + c);
      r.p_total_w = col_real(q, 16);
      r.s_eff_va = col_real(q, 17);
      r.pf_total = col_real(q, 18);
      if (cb(&r, user))
        break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
      rc = HR_ERR_IO;
  }
  sqlite3_finalize(q);
  return rc;
}

static int sq_query_events(void *h, const char *device, int64_t t0_ns, int64_t t1_ns,
                           hr_store_event_cb cb, void *user)
{
  sq_t *st = h;
  sqlite3_stmt *q = NULL;
  int rc = device_known(st, device);
  if (rc != HR_OK) {
    return rc;
  }
  rc = HR_ERR_IO;
  if (sqlite3_prepare_v2(st->db,
                         "SELECT e.t_ns, e.start_ns, e.duration_ns, e.type, e.ended, e.channels,"
                         " e.extreme, e.depth_pct, e.flags FROM event e JOIN device d"
                         " ON d.id = e.device WHERE d.name = ? AND e.start_ns >= ?"
                         " AND e.start_ns < ? ORDER BY e.start_ns, e.t_ns",
                         -1, &q, NULL) == SQLITE_OK) {
    sqlite3_bind_text(q, 1, device, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, t0_ns);
    sqlite3_bind_int64(q, 3, t1_ns);
    int s;
    rc = HR_OK;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
      hr_store_event_t e = {.t_ns = sqlite3_column_int64(q, 0),
                            .start_ns = sqlite3_column_int64(q, 1),
                            .duration_ns = sqlite3_column_int64(q, 2),
                            .type = sqlite3_column_int(q, 3),
                            .ended = sqlite3_column_int(q, 4),
                            .channels = (unsigned)sqlite3_column_int64(q, 5),
                            .extreme = col_real(q, 6),
                            .depth_pct = col_real(q, 7),
                            .flags = (uint32_t)sqlite3_column_int64(q, 8)};
      if (cb(&e, user))
        break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
      rc = HR_ERR_IO;
  }
  sqlite3_finalize(q);
  return rc;
}

const hr__store_backend_t hr__store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .device = sq_device,
    .write_batch = sq_write_batch,
    .maintain = sq_maintain,
    .query_rows = sq_query_rows,
    .query_events = sq_query_events,
};
