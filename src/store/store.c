/* The measurement store's front end: bounded double-buffered backlog, the
 * writer thread, statistics; the database work goes to a backend
 * (store_impl.h: SQLite for a file, PostgreSQL for a libpq target;
 * docs/store.md). */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "headroom/error.h"
#include "headroom/store.h"
#include "store/store_impl.h"

typedef hr__store_qrow_t qrow_t;
typedef hr__store_qevent_t qevent_t;
typedef hr__store_qcap_t qcap_t;

/* One kind's double buffer: producers append to cur[]; a flush swaps it with
 * spare[] under the lock, then writes spare[] without holding it. */
#define QUEUE(T)                                                                                   \
  struct {                                                                                         \
    T *cur, *spare;                                                                                \
    size_t n_cur, n_spare, cap;                                                                    \
  }

#define EVENT_BACKLOG 65536
#define CAPTURE_BACKLOG 1024

const int64_t hr__store_res_len_ns[HR_RES_COUNT] = {200000000LL, 3000000000LL, 600000000000LL};

struct hr_store {
  hr_store_cfg_t cfg;
  const hr__store_backend_t *be;
  void *db;               /* the backend's connection */
  pthread_mutex_t qlock;  /* the queues, held for a copy only */
  pthread_mutex_t dblock; /* the connection */
  QUEUE(qrow_t) rows;
  QUEUE(qevent_t) evs;
  QUEUE(qcap_t) caps;
  size_t batch; /* rows per transaction */
  hr_store_stats_t st;
  pthread_t writer;
  int writer_on;
  pthread_mutex_t wlock;
  pthread_cond_t wcond;
  int stop;
};

int hr_store_target_is_pg(const char *t)
{
  if (!t)
    return 0;
  if (strncmp(t, "postgresql://", 13) == 0 || strncmp(t, "postgres://", 11) == 0)
    return 1;
  /* conninfo: keyword=value ...; a keyword is letters and '_' (libpq). */
  size_t k = 0;
  while (islower((unsigned char)t[k]) || t[k] == '_')
    k++;
  return k > 0 && t[k] == '=';
}

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

static void queues_free(hr_store_t *s)
{
  free(s->rows.cur);
  free(s->rows.spare);
  free(s->evs.cur);
  free(s->evs.spare);
  free(s->caps.cur);
  free(s->caps.spare);
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
  s->be = hr_store_target_is_pg(cfg->path) ? &hr__store_pg : &hr__store_sqlite;
  s->rows.cap = cfg->backlog_rows;
  s->rows.cur = malloc(s->rows.cap * sizeof(qrow_t));
  s->rows.spare = malloc(s->rows.cap * sizeof(qrow_t));
  s->evs.cap = EVENT_BACKLOG;
  s->evs.cur = malloc(EVENT_BACKLOG * sizeof(qevent_t));
  s->evs.spare = malloc(EVENT_BACKLOG * sizeof(qevent_t));
  s->caps.cap = CAPTURE_BACKLOG;
  s->caps.cur = malloc(CAPTURE_BACKLOG * sizeof(qcap_t));
  s->caps.spare = malloc(CAPTURE_BACKLOG * sizeof(qcap_t));
  s->batch = cfg->batch_rows < cfg->backlog_rows ? cfg->batch_rows : cfg->backlog_rows;
  if (!s->rows.cur || !s->rows.spare || !s->evs.cur || !s->evs.spare || !s->caps.cur ||
      !s->caps.spare) {
    queues_free(s);
    free(s);
    return HR_ERR_NOMEM;
  }
  int rc = s->be->open(cfg, s->batch, &s->db);
  if (rc != HR_OK) {
    queues_free(s);
    free(s);
    return rc;
  }
  pthread_mutex_init(&s->qlock, NULL);
  pthread_mutex_init(&s->dblock, NULL);
  pthread_mutex_init(&s->wlock, NULL);
  pthread_cond_init(&s->wcond, NULL);
  *out = s;
  return HR_OK;
}

static int name_ok(const char *name)
{
  size_t n = name ? strlen(name) : 0;
  if (n < 1 || n > 64)
    return 0;
  for (size_t k = 0; k < n; k++)
    if ((unsigned char)name[k] < 0x20 || name[k] == 0x7f)
      return 0;
  return 1;
}

int hr_store_device(hr_store_t *st, const char *name, int *device_id)
{
  if (!st || !name || !device_id)
    return HR_ERR_INVALID_ARG;
  if (st->cfg.read_only)
    return HR_ERR_STATE;
  if (!name_ok(name))
    return HR_ERR_INVALID_ARG;
  pthread_mutex_lock(&st->dblock);
  int rc = st->be->device(st->db, name, device_id);
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
  size_t done = 0, batch = st->batch;
  /* Events and captures go with the first batch. */
  do {
    size_t nr = st->rows.n_spare - done < batch ? st->rows.n_spare - done : batch;
    int first = done == 0;
    rc = st->be->write_batch(st->db, st->rows.spare + done, nr, st->evs.spare,
                             first ? st->evs.n_spare : 0, st->caps.spare,
                             first ? st->caps.n_spare : 0);
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
  int crc = st->be->close(st->db);
  if (crc != HR_OK && rc == HR_OK)
    rc = crc;
  pthread_mutex_destroy(&st->qlock);
  pthread_mutex_destroy(&st->dblock);
  pthread_mutex_destroy(&st->wlock);
  pthread_cond_destroy(&st->wcond);
  queues_free(st);
  free(st);
  return rc;
}

int hr_store_maintain(hr_store_t *st, int64_t now_ns)
{
  if (!st)
    return HR_ERR_INVALID_ARG;
  if (st->cfg.read_only)
    return HR_ERR_STATE;
  pthread_mutex_lock(&st->dblock);
  int rc = st->be->maintain(st->db, now_ns, st->cfg.keep_ns);
  pthread_mutex_unlock(&st->dblock);
  return rc;
}

int hr_store_query_rows(hr_store_t *st, const char *device, hr_store_res_t res, int64_t t0_ns,
                        int64_t t1_ns, hr_store_row_cb cb, void *user)
{
  if (!st || !device || !cb || (unsigned)res >= HR_RES_COUNT)
    return HR_ERR_INVALID_ARG;
  pthread_mutex_lock(&st->dblock);
  int rc = st->be->query_rows(st->db, device, res, t0_ns, t1_ns, cb, user);
  pthread_mutex_unlock(&st->dblock);
  return rc;
}

int hr_store_query_events(hr_store_t *st, const char *device, int64_t t0_ns, int64_t t1_ns,
                          hr_store_event_cb cb, void *user)
{
  if (!st || !device || !cb)
    return HR_ERR_INVALID_ARG;
  pthread_mutex_lock(&st->dblock);
  int rc = st->be->query_events(st->db, device, t0_ns, t1_ns, cb, user);
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
