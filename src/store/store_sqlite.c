/* The measurement store on SQLite: bounded double-buffered backlog, batched
 * transactions, WAL, roll-ups and retention (docs/store.md). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "headroom/error.h"
#include "headroom/store.h"

typedef struct qrow {
  int dev, res;
  hr_store_row_t r;
} qrow_t;
typedef struct qevent {
  int dev;
  hr_store_event_t e;
} qevent_t;
typedef struct qcap {
  int dev;
  hr_store_capture_t c;
} qcap_t;

/* One kind's double buffer: producers append to cur[]; a flush swaps it with
 * spare[] under the lock, then writes spare[] without holding it. */
#define QUEUE(T)                                                                                   \
  struct {                                                                                         \
    T *cur, *spare;                                                                                \
    size_t n_cur, n_spare, cap;                                                                    \
  }

#define EVENT_BACKLOG 65536
#define CAPTURE_BACKLOG 1024

/* A queued row's key and place: sorted, equal keys keep their arrival order
 * (idx breaks ties), so INSERT OR REPLACE still lets the later row win. */
struct rowkey {
  int dev, res;
  int64_t t_ns;
  uint32_t idx;
};

struct hr_store {
  hr_store_cfg_t cfg;
  sqlite3 *db;
  sqlite3_stmt *ins_row, *ins_ev, *ins_cap;
  pthread_mutex_t qlock;  /* the queues, held for a copy only */
  pthread_mutex_t dblock; /* the connection */
  QUEUE(qrow_t) rows;
  QUEUE(qevent_t) evs;
  QUEUE(qcap_t) caps;
  struct rowkey *order; /* a batch's rows in key order (write_rows), batch_rows long */
  size_t n_order;
  hr_store_stats_t st;
  pthread_t writer;
  int writer_on;
  pthread_mutex_t wlock;
  pthread_cond_t wcond;
  int stop;
};

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

static const int64_t res_len_ns[HR_RES_COUNT] = {200000000LL, 3000000000LL, 600000000000LL};

int hr_store_cfg_init(hr_store_cfg_t *cfg, const char *path)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->path = path;
  cfg->backlog_rows = (size_t)1 << 17;
  cfg->batch_rows = 65536;
  cfg->flush_interval_s = 1.0;
  cfg->keep_ns[HR_RES_200MS] = 7 * 86400LL * 1000000000LL;
  cfg->keep_ns[HR_RES_3S] = 90 * 86400LL * 1000000000LL;
  cfg->keep_ns[HR_RES_10MIN] = 730 * 86400LL * 1000000000LL;
  return HR_OK;
}

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

static void queues_free(hr_store_t *s)
{
  free(s->rows.cur);
  free(s->rows.spare);
  free(s->evs.cur);
  free(s->evs.spare);
  free(s->caps.cur);
  free(s->caps.spare);
  free(s->order);
}

int hr_store_open(const hr_store_cfg_t *cfg, hr_store_t **out)
{
  if (!cfg || !out || !cfg->path || cfg->backlog_rows < 16 ||
      cfg->backlog_rows > ((size_t)1 << 24) || cfg->batch_rows < 1 ||
      !(cfg->flush_interval_s >= 0.01) || !(cfg->flush_interval_s <= 60))
    return HR_ERR_INVALID_ARG;
  for (int r = 0; r < HR_RES_COUNT; r++)
    if (cfg->keep_ns[r] <= 0)
      return HR_ERR_INVALID_ARG;
  hr_store_t *s = calloc(1, sizeof *s);
  if (!s)
    return HR_ERR_NOMEM;
  s->cfg = *cfg;
  s->cfg.path = NULL;
  s->rows.cap = cfg->backlog_rows;
  s->rows.cur = malloc(s->rows.cap * sizeof(qrow_t));
  s->rows.spare = malloc(s->rows.cap * sizeof(qrow_t));
  s->evs.cap = EVENT_BACKLOG;
  s->evs.cur = malloc(EVENT_BACKLOG * sizeof(qevent_t));
  s->evs.spare = malloc(EVENT_BACKLOG * sizeof(qevent_t));
  s->caps.cap = CAPTURE_BACKLOG;
  s->caps.cur = malloc(CAPTURE_BACKLOG * sizeof(qcap_t));
  s->caps.spare = malloc(CAPTURE_BACKLOG * sizeof(qcap_t));
  s->n_order = cfg->batch_rows < cfg->backlog_rows ? cfg->batch_rows : cfg->backlog_rows;
  s->order = malloc(s->n_order * sizeof *s->order);
  if (!s->rows.cur || !s->rows.spare || !s->evs.cur || !s->evs.spare || !s->caps.cur ||
      !s->caps.spare || !s->order) {
    queues_free(s);
    free(s);
    return HR_ERR_NOMEM;
  }
  int rc = HR_ERR_IO;
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
  pthread_mutex_init(&s->qlock, NULL);
  pthread_mutex_init(&s->dblock, NULL);
  pthread_mutex_init(&s->wlock, NULL);
  pthread_cond_init(&s->wcond, NULL);
  *out = s;
  return HR_OK;
fail:
  sqlite3_finalize(s->ins_row);
  sqlite3_finalize(s->ins_ev);
  sqlite3_finalize(s->ins_cap);
  sqlite3_close(s->db);
  queues_free(s);
  free(s);
  return rc;
}

int hr_store_device(hr_store_t *st, const char *name, int *device_id)
{
  if (!st || !name || !device_id)
    return HR_ERR_INVALID_ARG;
  if (st->cfg.read_only)
    return HR_ERR_STATE;
  size_t n = strlen(name);
  if (n < 1 || n > 64)
    return HR_ERR_INVALID_ARG;
  for (size_t k = 0; k < n; k++)
    if ((unsigned char)name[k] < 0x20 || name[k] == 0x7f)
      return HR_ERR_INVALID_ARG;
  pthread_mutex_lock(&st->dblock);
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
  pthread_mutex_unlock(&st->dblock);
  return rc;
}

static void note_backlog(hr_store_t *st)
{
  st->st.backlog = st->rows.n_cur + st->evs.n_cur + st->caps.n_cur + st->rows.n_spare +
                   st->evs.n_spare + st->caps.n_spare;
  if (st->st.backlog > st->st.backlog_peak)
    st->st.backlog_peak = st->st.backlog;
}

/* The one way into a queue Q: refused on a read-only store, dropped and
 * counted in st->st.DROPPED when full, else the next slot (named `slot`)
 * filled by FILL, all under qlock.  Sets rc. */
#define ENQUEUE(Q, DROPPED, FILL)                                                                  \
  do {                                                                                             \
    pthread_mutex_lock(&st->qlock);                                                                \
    if (st->cfg.read_only) {                                                                       \
      rc = HR_ERR_STATE;                                                                           \
    } else if (st->Q.n_cur == st->Q.cap) {                                                         \
      st->st.DROPPED++;                                                                            \
      rc = HR_ERR_FULL;                                                                            \
    } else {                                                                                       \
      __typeof__(st->Q.cur) slot = &st->Q.cur[st->Q.n_cur++];                                      \
      FILL;                                                                                        \
      st->st.queued++;                                                                             \
      note_backlog(st);                                                                            \
      rc = HR_OK;                                                                                  \
    }                                                                                              \
    pthread_mutex_unlock(&st->qlock);                                                              \
  } while (0)

int hr_store_put_row(hr_store_t *st, int device_id, hr_store_res_t res, const hr_store_row_t *row)
{
  if (!st || !row || (unsigned)res >= HR_RES_COUNT)
    return HR_ERR_INVALID_ARG;
  int rc;
  ENQUEUE(rows, dropped_rows, (slot->dev = device_id, slot->res = (int)res, slot->r = *row));
  return rc;
}

int hr_store_put_event(hr_store_t *st, int device_id, const hr_store_event_t *ev)
{
  if (!st || !ev)
    return HR_ERR_INVALID_ARG;
  int rc;
  ENQUEUE(evs, dropped_events, (slot->dev = device_id, slot->e = *ev));
  return rc;
}

int hr_store_put_capture(hr_store_t *st, int device_id, const hr_store_capture_t *cap)
{
  if (!st || !cap)
    return HR_ERR_INVALID_ARG;
  int rc;
  ENQUEUE(caps, dropped_captures, (slot->dev = device_id, slot->c = *cap));
  return rc;
}

int hr_store_put_record(hr_store_t *st, int device_id, const hr_record_t *rec)
{
  if (!st || !rec)
    return HR_ERR_INVALID_ARG;
  if (rec->kind == HR_REC_INTERVAL) {
    const hr_interval_rec_t *v = &rec->u.interval;
    hr_store_row_t r;
    memset(&r, 0, sizeof r);
    r.t_ns = rec->t_ns;
    r.dur_ns = rec->dur_ns;
    r.flags = rec->flags;
    r.freq_hz = v->freq_hz;
    for (int k = 0; k < HR_MAX_U; k++)
      r.u_rms_v[k] = k < rec->n_u ? v->u_rms_v[k] : NAN;
    for (int k = 0; k < HR_MAX_I; k++)
      r.i_rms_a[k] = k < rec->n_i ? v->i_rms_a[k] : NAN;
    for (int k = 0; k < 3; k++)
      r.p_w[k] = k < rec->n_u ? v->p_w[k] : NAN;
    r.p_total_w = v->p_total_w;
    r.s_eff_va = v->s_eff_va;
    r.pf_total = v->pf_total;
    return hr_store_put_row(st, device_id, HR_RES_200MS, &r);
  }
  if (rec->kind == HR_REC_EVENT) {
    const hr_event_rec_t *e = &rec->u.event;
    hr_store_event_t ev = {.t_ns = rec->t_ns,
                           .start_ns = e->start_ns,
                           .duration_ns = e->duration_ns,
                           .type = (int)e->type,
                           .ended = e->ended,
                           .channels = e->channels,
                           .extreme = e->extreme,
                           .depth_pct = e->depth_pct,
                           .flags = rec->flags};
    return hr_store_put_event(st, device_id, &ev);
  }
  return HR_OK;
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

static int write_rows(hr_store_t *st, const qrow_t *rows, size_t n)
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

static int write_events(hr_store_t *st, const qevent_t *evs, size_t n)
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

static int write_caps(hr_store_t *st, const qcap_t *cs, size_t n)
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
static int commit_batch(hr_store_t *st, const qrow_t *rows, size_t nr, const qevent_t *evs,
                        size_t ne, const qcap_t *cs, size_t nc)
{
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

int hr_store_flush(hr_store_t *st)
{
  if (!st)
    return HR_ERR_INVALID_ARG;
  if (st->cfg.read_only)
    return HR_ERR_STATE;
  pthread_mutex_lock(&st->dblock);
  /* Swap the producers' buffers with the (empty) spares: O(1) under qlock. */
  pthread_mutex_lock(&st->qlock);
#define SWAP(Q, T)                                                                                 \
  if (st->Q.n_spare == 0) {                                                                        \
    T *tmp = st->Q.cur;                                                                            \
    st->Q.cur = st->Q.spare;                                                                       \
    st->Q.spare = tmp;                                                                             \
    st->Q.n_spare = st->Q.n_cur;                                                                   \
    st->Q.n_cur = 0;                                                                               \
  }
  SWAP(rows, qrow_t)
  SWAP(evs, qevent_t)
  SWAP(caps, qcap_t)
#undef SWAP
  pthread_mutex_unlock(&st->qlock);
  int rc = HR_OK;
  size_t done = 0, batch = st->n_order;
  /* Events and captures go with the first batch. */
  do {
    size_t nr = st->rows.n_spare - done < batch ? st->rows.n_spare - done : batch;
    int first = done == 0;
    rc = commit_batch(st, st->rows.spare + done, nr, st->evs.spare, first ? st->evs.n_spare : 0,
                      st->caps.spare, first ? st->caps.n_spare : 0);
    if (rc != HR_OK)
      break;
    pthread_mutex_lock(&st->qlock);
    st->st.written += nr + (first ? st->evs.n_spare + st->caps.n_spare : 0);
    st->st.flushes++;
    pthread_mutex_unlock(&st->qlock);
    if (first)
      st->evs.n_spare = st->caps.n_spare = 0;
    done += nr;
  } while (done < st->rows.n_spare);
  pthread_mutex_lock(&st->qlock);
  if (rc == HR_OK)
    st->rows.n_spare = 0;
  else {
    /* Keep what was not committed at the front of spare for the next try. */
    memmove(st->rows.spare, st->rows.spare + done, (st->rows.n_spare - done) * sizeof(qrow_t));
    st->rows.n_spare -= done;
    st->st.flush_errors++;
  }
  note_backlog(st);
  pthread_mutex_unlock(&st->qlock);
  pthread_mutex_unlock(&st->dblock);
  return rc;
}

static void *writer_main(void *arg)
{
  hr_store_t *st = arg;
  pthread_mutex_lock(&st->wlock);
  while (!st->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double s = st->cfg.flush_interval_s;
    ts.tv_sec += (time_t)s;
    ts.tv_nsec += (long)((s - floor(s)) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&st->wcond, &st->wlock, &ts);
    pthread_mutex_unlock(&st->wlock);
    (void)hr_store_flush(st); /* failures are counted in flush_errors */
    pthread_mutex_lock(&st->wlock);
  }
  pthread_mutex_unlock(&st->wlock);
  return NULL;
}

int hr_store_start_writer(hr_store_t *st)
{
  if (!st)
    return HR_ERR_INVALID_ARG;
  if (st->writer_on || st->cfg.read_only)
    return HR_ERR_STATE;
  if (pthread_create(&st->writer, NULL, writer_main, st) != 0)
    return HR_ERR_NOMEM;
  st->writer_on = 1;
  return HR_OK;
}

int hr_store_close(hr_store_t *st)
{
  if (!st)
    return HR_OK;
  if (st->writer_on) {
    pthread_mutex_lock(&st->wlock);
    st->stop = 1;
    pthread_cond_signal(&st->wcond);
    pthread_mutex_unlock(&st->wlock);
    pthread_join(st->writer, NULL);
  }
  int rc = st->cfg.read_only ? HR_OK : hr_store_flush(st);
  sqlite3_finalize(st->ins_row);
  sqlite3_finalize(st->ins_ev);
  sqlite3_finalize(st->ins_cap);
  if (sqlite3_close(st->db) != SQLITE_OK && rc == HR_OK)
    rc = HR_ERR_IO;
  pthread_mutex_destroy(&st->qlock);
  pthread_mutex_destroy(&st->dblock);
  pthread_mutex_destroy(&st->wlock);
  pthread_cond_destroy(&st->wcond);
  queues_free(st);
  free(st);
  return rc;
}

/* Roll-up of resolution `from` into `to` for complete buckets before now. */
static int rollup(hr_store_t *st, int from, int to, int64_t now_ns)
{
  int64_t len = res_len_ns[to];
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

int hr_store_maintain(hr_store_t *st, int64_t now_ns)
{
  if (!st)
    return HR_ERR_INVALID_ARG;
  if (st->cfg.read_only)
    return HR_ERR_STATE;
  pthread_mutex_lock(&st->dblock);
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
    sqlite3_bind_int64(
        q, 2, now_ns < INT64_MIN + st->cfg.keep_ns[r] ? INT64_MIN : now_ns - st->cfg.keep_ns[r]);
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
      const int64_t keep = st->cfg.keep_ns[HR_RES_10MIN];
      sqlite3_bind_int64(q, 1, now_ns < INT64_MIN + keep ? INT64_MIN : now_ns - keep);
      rc = sqlite3_step(q) == SQLITE_DONE ? HR_OK : HR_ERR_IO;
      sqlite3_finalize(q);
    }
  }
  if (rc == HR_OK && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = HR_ERR_IO;
  if (rc != HR_OK)
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_unlock(&st->dblock);
  return rc;
}

static double col_real(sqlite3_stmt *q, int i)
{
  return sqlite3_column_type(q, i) == SQLITE_NULL ? NAN : sqlite3_column_double(q, i);
}

/* HR_OK when the store knows device, HR_ERR_NOT_FOUND when not, HR_ERR_IO
 * (under dblock): an empty answer must not hide a misspelt name. */
static int device_known(hr_store_t *st, const char *device)
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

int hr_store_query_rows(hr_store_t *st, const char *device, hr_store_res_t res, int64_t t0_ns,
                        int64_t t1_ns, hr_store_row_cb cb, void *user)
{
  if (!st || !device || !cb || (unsigned)res >= HR_RES_COUNT)
    return HR_ERR_INVALID_ARG;
  pthread_mutex_lock(&st->dblock);
  sqlite3_stmt *q = NULL;
  int rc = device_known(st, device);
  if (rc != HR_OK) {
    pthread_mutex_unlock(&st->dblock);
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
  pthread_mutex_unlock(&st->dblock);
  return rc;
}

int hr_store_query_events(hr_store_t *st, const char *device, int64_t t0_ns, int64_t t1_ns,
                          hr_store_event_cb cb, void *user)
{
  if (!st || !device || !cb)
    return HR_ERR_INVALID_ARG;
  pthread_mutex_lock(&st->dblock);
  sqlite3_stmt *q = NULL;
  int rc = device_known(st, device);
  if (rc != HR_OK) {
    pthread_mutex_unlock(&st->dblock);
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
  pthread_mutex_unlock(&st->dblock);
  return rc;
}

void hr_store_get_stats(hr_store_t *st, hr_store_stats_t *out)
{
  if (!st || !out)
    return;
  pthread_mutex_lock(&st->qlock);
  note_backlog(st);
  *out = st->st;
  pthread_mutex_unlock(&st->qlock);
}

const char *hr_store_res_name(hr_store_res_t res)
{
  static const char *const n[] = {"200ms", "3s", "10min"};
  return (unsigned)res < HR_RES_COUNT ? n[res] : "unknown";
}

int hr_store_res_parse(const char *name, hr_store_res_t *out)
{
  for (int r = 0; r < HR_RES_COUNT && name && out; r++)
    if (strcasecmp(name, hr_store_res_name((hr_store_res_t)r)) == 0) {
      *out = (hr_store_res_t)r;
      return HR_OK;
    }
  return HR_ERR_PARSE;
}
