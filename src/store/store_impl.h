/* The measurement store's backends (internal; docs/store.md).
 *
 * store.c is the front end every hr_store_* call goes through: the bounded
 * backlog, the writer thread, the statistics.  It picks a backend from the
 * target (hr_store_target_is_pg): SQLite (store_sqlite.c) for a file path,
 * PostgreSQL (store_pg.c) for a libpq URI or conninfo string.  A backend owns
 * one connection; the front end calls it under its database lock only, so a
 * backend needs no locking of its own. */
#ifndef HEADROOM_STORE_IMPL_H
#define HEADROOM_STORE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/store.h"

/* A queued row, event and capture-index entry. */
typedef struct hr__store_qrow {
  int dev, res;
  hr_store_row_t r;
} hr__store_qrow_t;
typedef struct hr__store_qevent {
  int dev;
  hr_store_event_t e;
} hr__store_qevent_t;
typedef struct hr__store_qcap {
  int dev;
  hr_store_capture_t c;
} hr__store_qcap_t;

/* Bucket lengths of the resolutions [ns]. */
extern const int64_t hr__store_res_len_ns[HR_RES_COUNT];

typedef struct hr__store_backend {
  const char *name; /* "sqlite", "postgresql" */
  /* Opens cfg->path (read-only when cfg->read_only: the store must exist,
   * nothing is created).  batch_max: the most rows one write_batch gets.
   * HR_OK, HR_ERR_NOMEM or HR_ERR_IO. */
  int (*open)(const hr_store_cfg_t *cfg, size_t batch_max, void **out);
  int (*close)(void *b); /* frees everything in every case; HR_ERR_IO if closing failed */
  int (*device)(void *b, const char *name, int *id);
  /* One transaction with all of them, or nothing (rolled back). */
  int (*write_batch)(void *b, const hr__store_qrow_t *rows, size_t nr,
                     const hr__store_qevent_t *evs, size_t ne, const hr__store_qcap_t *caps,
                     size_t nc);
  /* Roll-ups then retention as of now_ns, one transaction (store.h). */
  int (*maintain)(void *b, int64_t now_ns, const int64_t keep_ns[HR_RES_COUNT]);
  int (*query_rows)(void *b, const char *device, hr_store_res_t res, int64_t t0_ns, int64_t t1_ns,
                    hr_store_row_cb cb, void *user);
  int (*query_events)(void *b, const char *device, int64_t t0_ns, int64_t t1_ns,
                      hr_store_event_cb cb, void *user);
} hr__store_backend_t;

extern const hr__store_backend_t hr__store_sqlite;
extern const hr__store_backend_t hr__store_pg;

#endif
