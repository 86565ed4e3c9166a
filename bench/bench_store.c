/* Store write throughput: rows/s through put + flush into a SQLite file
 * (batched transactions, WAL), as a ratio to a plain SQLite insert loop of
 * the same rows run in the same process, and COMTRADE write/read speed.
 * With HR_STORE_TARGET set to a PostgreSQL database (bench/run_store_pg.sh
 * starts a server for it), also the store into PostgreSQL (binary COPY) in
 * the same rounds, as a ratio to the SQLite store, and a plain libpq loop of
 * prepared INSERTs (same transactions) as its baseline.
 * usage: bench_store [ROWS] [DIR]   (default 2000000 rows in /tmp) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "headroom/capture.h"
#include "headroom/comtrade.h"
#include "headroom/error.h"
#include "headroom/store.h"

#include <libpq-fe.h>
#include <sqlite3.h>

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void rm_db(const char *db)
{
  char p[600];
  unlink(db);
  snprintf(p, sizeof p, "%s-wal", db);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", db);
  unlink(p);
}

enum { DEVICES = 1000 };

/* Empties the PostgreSQL target (the store's tables). */
static void pg_reset(const char *conninfo)
{
  PGconn *c = PQconnectdb(conninfo);
  PGresult *r = PQexec(c, "SET client_min_messages = warning;"
                          "DROP TABLE IF EXISTS device, measurement, event, capture, meta, bare");
  int ok = PQstatus(c) == CONNECTION_OK && PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  if (!ok) {
    fprintf(stderr, "bench_store: %s: cannot reset the PostgreSQL store\n", conninfo);
    exit(1);
  }
}

/* Row k of the stream: 1000 meters, one 200-ms row each per step, in the
 * order they arrive (time-major, interleaved across meters). */
static void row_k(long k, hr_store_row_t *r)
{
  memset(r, 0, sizeof *r);
  r->dur_ns = 200000000;
  r->freq_hz = 50;
  for (int c = 0; c < 3; c++) {
    r->u_rms_v[c] = 230.1 + c;
    r->p_w[c] = 2000 + c;
  }
  for (int c = 0; c < 4; c++)
    r->i_rms_a[c] = 10 + c;
  r->t_ns = 1767225600000000000LL + (k / DEVICES) * 200000000LL;
  r->p_total_w = (double)k;
}

/* The store: put every row (flushing when the backlog is full), close. */
static double run_store(long rows, const char *db, double *put_ns)
{
  hr_store_cfg_t cfg;
  hr_store_cfg_init(&cfg, db);
  cfg.backlog_rows = 1 << 20;
  hr_store_t *st;
  if (hr_store_open(&cfg, &st) != HR_OK)
    exit(1);
  static int dev[DEVICES];
  char name[32];
  for (int d = 0; d < DEVICES; d++) {
    snprintf(name, sizeof name, "PDU-%04d", d);
    if (hr_store_device(st, name, &dev[d]) != HR_OK)
      exit(1);
  }
  hr_store_row_t r;
  double t0 = now_s(), t_put = 0, a = now_s();
  for (long k = 0; k < rows; k++) {
    row_k(k, &r);
    int rc = hr_store_put_row(st, dev[k % DEVICES], HR_RES_200MS, &r);
    if (rc == HR_ERR_FULL) {
      t_put += now_s() - a;
      if (hr_store_flush(st) != HR_OK)
        exit(1);
      a = now_s();
      hr_store_put_row(st, dev[k % DEVICES], HR_RES_200MS, &r);
    }
  }
  t_put += now_s() - a;
  if (hr_store_close(st) != HR_OK)
    exit(1);
  *put_ns = t_put / (double)rows * 1e9;
  return (double)rows / (now_s() - t0);
}

/* The baseline: what a plain use of SQLite gets with the same table, the
 * same rows in the same order and the same transactions (65536 rows), WAL
 * and synchronous=NORMAL, and nothing else. */
static double run_bare(long rows, const char *db)
{
  sqlite3 *h;
  sqlite3_stmt *q;
  if (sqlite3_open(db, &h) != SQLITE_OK ||
      sqlite3_exec(h,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE measurement(device INTEGER NOT NULL, res INTEGER NOT NULL,"
                   " t_ns INTEGER NOT NULL, dur_ns INTEGER, flags INTEGER, freq_hz REAL,"
                   " u1_v REAL, u2_v REAL, u3_v REAL, i1_a REAL, i2_a REAL, i3_a REAL, in_a REAL,"
                   " p1_w REAL, p2_w REAL, p3_w REAL, p_total_w REAL, s_eff_va REAL,"
                   " pf_total REAL, PRIMARY KEY(device, res, t_ns)) WITHOUT ROWID;",
                   NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(h,
                         "INSERT OR REPLACE INTO measurement VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                         "?,?,?,?,?)",
                         -1, &q, NULL) != SQLITE_OK)
    exit(1);
  double t0 = now_s();
  hr_store_row_t r;
  for (long k = 0; k < rows; k++) {
    if (k % 65536 == 0 && sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
      exit(1);
    row_k(k, &r);
    sqlite3_bind_int(q, 1, 1 + (int)(k % DEVICES));
    sqlite3_bind_int(q, 2, 0);
    sqlite3_bind_int64(q, 3, r.t_ns);
    sqlite3_bind_int64(q, 4, r.dur_ns);
    sqlite3_bind_int64(q, 5, r.flags);
    sqlite3_bind_double(q, 6, r.freq_hz);
    for (int c = 0; c < 3; c++)
      sqlite3_bind_double(q, 7 + c, r.u_rms_v[c]);
    for (int c = 0; c < 4; c++)
      sqlite3_bind_double(q, 10 + c, r.i_rms_a[c]);
    for (int c = 0; c < 3; c++)
      sqlite3_bind_double(q, 14 + c, r.p_w[c]);
    sqlite3_bind_double(q, 17, r.p_total_w);
    sqlite3_bind_double(q, 18, r.s_eff_va);
    sqlite3_bind_double(q, 19, r.pf_total);
    if (sqlite3_step(q) != SQLITE_DONE)
      exit(1);
    sqlite3_reset(q);
    if ((k % 65536 == 65535 || k == rows - 1) &&
        sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
      exit(1);
  }
  sqlite3_finalize(q);
  if (sqlite3_close(h) != SQLITE_OK)
    exit(1);
  return (double)rows / (now_s() - t0);
}

/* The PostgreSQL baseline: a prepared INSERT per row through libpq, the same
 * table and unique index as the store's, transactions of 65536 rows. */
static double run_bare_pg(long rows, const char *conninfo)
{
  PGconn *c = PQconnectdb(conninfo);
  PGresult *r = PQexec(
      c, "CREATE TABLE bare(t_ns BIGINT NOT NULL, device INTEGER NOT NULL, res SMALLINT NOT NULL,"
         " dur_ns BIGINT, flags BIGINT, freq_hz FLOAT8, u1_v FLOAT8, u2_v FLOAT8, u3_v FLOAT8,"
         " i1_a FLOAT8, i2_a FLOAT8, i3_a FLOAT8, in_a FLOAT8, p1_w FLOAT8, p2_w FLOAT8,"
         " p3_w FLOAT8, p_total_w FLOAT8, s_eff_va FLOAT8, pf_total FLOAT8);"
         "CREATE UNIQUE INDEX bare_key ON bare(device, res, t_ns)");
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    exit(1);
  PQclear(r);
  r = PQprepare(c, "ins",
                "INSERT INTO bare VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,"
                "$17,$18,$19)",
                0, NULL);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    exit(1);
  PQclear(r);
  double t0 = now_s();
  hr_store_row_t row;
  char v[19][32];
  const char *pv[19];
  for (int k = 0; k < 19; k++)
    pv[k] = v[k];
  for (long k = 0; k < rows; k++) {
    if (k % 65536 == 0)
      PQclear(PQexec(c, "BEGIN"));
    row_k(k, &row);
    snprintf(v[0], 32, "%lld", (long long)row.t_ns);
    snprintf(v[1], 32, "%d", 1 + (int)(k % DEVICES));
    snprintf(v[2], 32, "0");
    snprintf(v[3], 32, "%lld", (long long)row.dur_ns);
    snprintf(v[4], 32, "%u", row.flags);
    const double *d = &row.freq_hz;
    for (int j = 0; j < 14; j++)
      snprintf(v[5 + j], 32, "%.17g", d[j]);
    r = PQexecPrepared(c, "ins", 19, pv, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      exit(1);
    PQclear(r);
    if (k % 65536 == 65535 || k == rows - 1)
      PQclear(PQexec(c, "COMMIT"));
  }
  PQfinish(c);
  return (double)rows / (now_s() - t0);
}

int main(int argc, char **argv)
{
  long rows = argc > 1 ? atol(argv[1]) : 2000000;
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  char db[512], cmd[600];
  snprintf(db, sizeof db, "%s/bench_store_%ld.db", dir, (long)getpid());
  /* Alternating rounds, so that a neighbour's load falls on both. */
  double s_sum = 0, b_sum = 0, put_ns = 0, pg_sum = 0, pgb_sum = 0, pg_bytes = 0;
  const char *pg = getenv("HR_STORE_TARGET");
  if (pg && !*pg)
    pg = NULL;
  long bare_rows = rows < 200000 ? rows : 200000; /* the INSERT loop is slow */
  for (int round = 0; round < 2; round++) {
    rm_db(db);
    double b = run_bare(rows, db);
    rm_db(db);
    double s = run_store(rows, db, &put_ns);
    printf("round %d: store %.0f rows/s, plain SQLite %.0f rows/s\n", round + 1, s, b);
    s_sum += s;
    b_sum += b;
    if (pg) {
      pg_reset(pg);
      double p_put = 0, p = run_store(rows, pg, &p_put);
      printf("round %d: store into PostgreSQL (COPY) %.0f rows/s\n", round + 1, p);
      pg_sum += p;
      if (round == 1) { /* table and index, as the server counts them */
        PGconn *c = PQconnectdb(pg);
        PGresult *q = PQexec(c, "SELECT pg_total_relation_size('measurement')::float8 / count(*)"
                                " FROM measurement");
        if (PQresultStatus(q) == PGRES_TUPLES_OK && PQntuples(q) == 1)
          pg_bytes = strtod(PQgetvalue(q, 0, 0), NULL);
        PQclear(q);
        PQfinish(c);
      }
      pg_reset(pg);
      double pb = run_bare_pg(bare_rows, pg);
      printf("round %d: plain PostgreSQL INSERT loop %.0f rows/s (%ld rows)\n", round + 1, pb,
             bare_rows);
      pgb_sum += pb;
    }
  }
  if (pg) {
    pg_reset(pg);
    printf("store: %ld rows (1000 devices, 200 ms rows, interleaved): %.0f rows/s into PostgreSQL"
           " (binary COPY), %.2fx the SQLite store in the same rounds, %.1fx a plain libpq"
           " INSERT loop (%.0f rows/s)\n",
           rows, pg_sum / 2, pg_sum / s_sum, pg_sum / pgb_sum, pgb_sum / 2);
    printf("store: %.1f bytes per 200-ms row in PostgreSQL (table and indexes)\n", pg_bytes);
  }
  printf("store: %ld rows (1000 devices, 200 ms rows, interleaved): %.0f rows/s into SQLite, "
         "%.2fx a plain SQLite insert loop (%.0f rows/s); put %.0f ns/row\n",
         rows, s_sum / 2, s_sum / b_sum, b_sum / 2, put_ns);
  snprintf(cmd, sizeof cmd, "du -k '%s' | cut -f1", db);
  FILE *p = popen(cmd, "r");
  long kb = 0;
  if (p && fscanf(p, "%ld", &kb) == 1)
    printf("store: %.1f bytes per 200-ms row on disk\n", (double)kb * 1024.0 / (double)rows);
  if (p)
    pclose(p);
  rm_db(db);

  /* Capture write: a 10-s window of 7 channels at 8 kHz, FLOAT32 and BINARY32. */
  int64_t nf = 80000;
  float *fr = malloc((size_t)nf * 7 * sizeof *fr);
  for (int64_t k = 0; k < nf * 7; k++)
    fr[k] = (float)(325 * sin(0.0392699 * (double)(k / 7) + (double)(k % 7)));
  hr_capture_window_t w = {.id = 1,
                           .n_frames = nf,
                           .start_ns = 1767225600000000000LL,
                           .trigger_ns = 1767225601000000000LL};
  hr_capture_meta_t meta = {.device_id = "bench", .layout = HR_LAYOUT_3P4W, .line_freq_hz = 50};
  for (int f = HR_CT_BINARY32; f <= HR_CT_FLOAT32; f++) {
    char path[4096];
    double a = now_s();
    if (hr_capture_write_comtrade(&w, fr, 7, 8000, &meta, dir, (hr_ct_format_t)f, 6, 0, path,
                                  sizeof path) != HR_OK)
      return 1;
    double wt = now_s() - a;
    char cfgp[4200];
    snprintf(cfgp, sizeof cfgp, "%s.cfg", path);
    hr_ct_rec_t *rec;
    a = now_s();
    if (hr_ct_read(cfgp, NULL, &rec, NULL, NULL) != HR_OK)
      return 1;
    double rt = now_s() - a;
    printf("comtrade %s: write %.0f samples/s (%.1f ms per 10-s capture), read %.0f samples/s\n",
           hr_ct_format_name((hr_ct_format_t)f), (double)(nf * 7) / wt, wt * 1e3,
           (double)(nf * 7) / rt);
    hr_ct_rec_destroy(rec);
    unlink(cfgp);
    snprintf(cfgp, sizeof cfgp, "%s.dat", path);
    unlink(cfgp);
  }
  free(fr);
  return 0;
}
