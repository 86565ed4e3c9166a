/* headroom: the measurement store (docs/store.md): a SQLite file, or a
 * PostgreSQL database for a fleet (the same calls, the same results).
 *
 * Holds, per device: measurement rows at three resolutions (200 ms = the
 * IEC 61000-4-30 10/12-cycle interval, 3 s, 10 min), events and the capture
 * index.  Writes are queued: hr_store_put_* copies the row into a bounded
 * in-memory backlog under a mutex held for the copy only — no I/O, no
 * allocation — and hr_store_flush (or the writer thread started by
 * hr_store_start_writer) writes the backlog in one transaction per batch.
 * When the backlog is full, the row is dropped and counted
 * (hr_store_stats_t.dropped_*), never silently.
 *
 * Durability: SQLite with a WAL journal, synchronous=NORMAL; PostgreSQL with
 * the server's commit durability (one transaction per batch, rows loaded
 * by binary COPY).  A writer process killed at any
 * point leaves a database that opens and passes an integrity check, holding
 * every row of every committed flush (tests/store/test_store_crash.c); what
 * was only in the backlog — at most flush_interval_s of rows — is lost.
 *
 * Retention (hr_store_maintain): before raw rows age out, complete 3-s and
 * 10-min buckets are rolled up from the finer resolution (RMS quantities as
 * the square root of the mean of squares, IEC 61000-4-30 §4.5; powers and
 * frequency as means; flags OR-ed), then rows older than keep_ns[res] go.
 *
 * Thread safety: put, flush and stats may be called from any thread; queries
 * and maintain take the database lock and may wait for a flush to finish. */
#ifndef HEADROOM_STORE_H
#define HEADROOM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/export.h"
#include "headroom/pq.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_store_res {
  HR_RES_200MS = 0, /* 10/12-cycle values (IEC 61000-4-30 §4.4) */
  HR_RES_3S = 1,    /* 150/180-cycle values, buckets aligned to 3 s of UTC */
  HR_RES_10MIN = 2  /* 10-min values, aligned to 10 min of UTC (§4.5.3) */
} hr_store_res_t;
#define HR_RES_COUNT 3

typedef struct hr_store_row {
  int64_t t_ns;   /* start of the interval [ns since the epoch] */
  int64_t dur_ns; /* its length */
  uint32_t flags; /* HR_FLAG_* */
  double freq_hz;
  double u_rms_v[HR_MAX_U];
  double i_rms_a[HR_MAX_I];
  double p_w[3];
  double p_total_w;
  double s_eff_va;
  double pf_total;
} hr_store_row_t;

typedef struct hr_store_event {
  int64_t t_ns; /* when the engine reported it */
  int64_t start_ns;
  int64_t duration_ns; /* 0 in a start notice */
  int type;            /* hr_event_type_t */
  int ended;
  unsigned channels;
  double extreme, depth_pct;
  uint32_t flags;
} hr_store_event_t;

#define HR_STORE_PATH_BYTES 256
typedef struct hr_store_capture {
  int64_t start_ns, trigger_ns, n_samples;
  double fs_hz;
  unsigned reasons;               /* HR_CAPTURE_* bits */
  char format[16];                /* "FLOAT32", ... */
  char path[HR_STORE_PATH_BYTES]; /* base path of the COMTRADE files */
} hr_store_capture_t;

typedef struct hr_store_cfg {
  const char *path;              /* the target, borrowed for hr_store_open: a SQLite file, or a
                                  * PostgreSQL database (hr_store_target_is_pg) */
  size_t backlog_rows;           /* queued rows at most (all kinds), default 1 << 20 */
  size_t batch_rows;             /* rows per transaction, default 65536 */
  double flush_interval_s;       /* writer thread period, default 1.0, 0.01..60 */
  int64_t keep_ns[HR_RES_COUNT]; /* retention; defaults 7 d, 90 d, 2 years (730 d) */
  int read_only;                 /* 1: queries only; the file must exist and be a store
                                  * (nothing is created or changed); default 0 */
} hr_store_cfg_t;

typedef struct hr_store_stats {
  uint64_t queued;       /* rows accepted by put (all kinds) */
  uint64_t written;      /* rows committed */
  uint64_t dropped_rows; /* measurement rows refused: backlog full */
  uint64_t dropped_events;
  uint64_t dropped_captures;
  uint64_t flushes;      /* committed transactions */
  uint64_t flush_errors; /* failed flushes (rows kept for the next try) */
  size_t backlog;        /* rows waiting now */
  size_t backlog_peak;
} hr_store_stats_t;

typedef struct hr_store hr_store_t;

/* Row callbacks of the queries: pointers valid during the call only.
 * Return non-zero to stop the query early. */
typedef int (*hr_store_row_cb)(const hr_store_row_t *row, void *user);
typedef int (*hr_store_event_cb)(const hr_store_event_t *ev, void *user);

HR_API int hr_store_cfg_init(hr_store_cfg_t *cfg, const char *path);

/* 1 when target names a PostgreSQL database, as libpq takes it: a URI
 * ("postgresql://user@host:5432/db", "postgres://...") or a conninfo string
 * whose first word is keyword=value ("host=/run/pg port=5433 dbname=hr");
 * 0 for anything else, which is a SQLite file's path. */
HR_API int hr_store_target_is_pg(const char *target);

/* Opens (creating if needed, unless cfg->read_only) a store.  *out is owned
 * by the caller and must be released with hr_store_close.  Returns HR_OK,
 * HR_ERR_INVALID_ARG, HR_ERR_NOMEM or HR_ERR_IO (the file cannot be opened or
 * is not a store; the PostgreSQL server cannot be reached or refuses).  A read-only store refuses
 * puts, flushes and maintenance with HR_ERR_STATE. */
HR_API int hr_store_open(const hr_store_cfg_t *cfg, hr_store_t **out);

/* Stops the writer thread, flushes, closes.  Returns the flush's result;
 * the store is freed in every case.  NULL is allowed. */
HR_API int hr_store_close(hr_store_t *st);

/* Returns the numeric id of device `name` (printable, 1..64 bytes), creating
 * it.  Call at setup, not on the sample path (it touches the database). */
HR_API int hr_store_device(hr_store_t *st, const char *name, int *device_id);

/* Queue one row, event or capture-index entry.  Never blocks on I/O, never
 * allocates.  Returns HR_OK, HR_ERR_FULL (dropped and counted) or
 * HR_ERR_INVALID_ARG. */
HR_API int hr_store_put_row(hr_store_t *st, int device_id, hr_store_res_t res,
                            const hr_store_row_t *row);
HR_API int hr_store_put_event(hr_store_t *st, int device_id, const hr_store_event_t *ev);
HR_API int hr_store_put_capture(hr_store_t *st, int device_id, const hr_store_capture_t *cap);

/* Queues what a meter record means for the store: an HR_REC_INTERVAL record
 * becomes a 200-ms row, an HR_REC_EVENT record an event; others are ignored
 * (HR_OK). */
HR_API int hr_store_put_record(hr_store_t *st, int device_id, const hr_record_t *rec);

/* Writes the backlog now (batches of batch_rows per transaction).  Returns
 * HR_OK or HR_ERR_IO (the rows stay queued for the next try). */
HR_API int hr_store_flush(hr_store_t *st);

/* Starts a thread that flushes every flush_interval_s until close.
 * Returns HR_OK, HR_ERR_STATE (already started) or HR_ERR_NOMEM. */
HR_API int hr_store_start_writer(hr_store_t *st);

/* Roll-ups then retention, as of now_ns (see above).  Returns HR_OK or
 * HR_ERR_IO. */
HR_API int hr_store_maintain(hr_store_t *st, int64_t now_ns);

/* Rows of one device and resolution with t0_ns <= t_ns < t1_ns, in time order.
 * Returns HR_OK, HR_ERR_NOT_FOUND (no such device) or HR_ERR_IO. */
HR_API int hr_store_query_rows(hr_store_t *st, const char *device, hr_store_res_t res,
                               int64_t t0_ns, int64_t t1_ns, hr_store_row_cb cb, void *user);
/* Events whose start is in [t0_ns, t1_ns), in time order.  The same
 * returns. */
HR_API int hr_store_query_events(hr_store_t *st, const char *device, int64_t t0_ns, int64_t t1_ns,
                                 hr_store_event_cb cb, void *user);

HR_API void hr_store_get_stats(hr_store_t *st, hr_store_stats_t *out);

/* "200ms", "3s", "10min" (static), and the inverse (HR_OK or HR_ERR_PARSE). */
HR_API const char *hr_store_res_name(hr_store_res_t res);
HR_API int hr_store_res_parse(const char *name, hr_store_res_t *out);

#ifdef __cplusplus
}
#endif
#endif
