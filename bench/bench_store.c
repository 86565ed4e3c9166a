/* Store write throughput: rows/s through put + flush into a SQLite file
 * (batched transactions, WAL), and COMTRADE write/read speed.
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

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  long rows = argc > 1 ? atol(argv[1]) : 2000000;
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  char db[512];
  snprintf(db, sizeof db, "%s/bench_store_%ld.db", dir, (long)getpid());
  hr_store_cfg_t cfg;
  hr_store_cfg_default(&cfg, db);
  cfg.backlog_rows = 1 << 20;
  hr_store_t *st;
  if (hr_store_open(&cfg, &st) != HR_OK)
    return 1;
  enum { DEVICES = 1000 };
  static int dev[DEVICES];
  char name[32];
  for (int d = 0; d < DEVICES; d++) {
    snprintf(name, sizeof name, "PDU-%04d", d);
    if (hr_store_device(st, name, &dev[d]) != HR_OK)
      return 1;
  }
  hr_store_row_t r;
  memset(&r, 0, sizeof r);
  r.dur_ns = 200000000;
  r.freq_hz = 50;
  for (int c = 0; c < 3; c++) {
    r.u_rms_v[c] = 230.1 + c;
    r.p_w[c] = 2000 + c;
  }
  for (int c = 0; c < 4; c++)
    r.i_rms_a[c] = 10 + c;
  double t0 = now_s(), t_put = 0;
  for (long k = 0; k < rows; k++) {
    r.t_ns = 1767225600000000000LL + (k / DEVICES) * 200000000LL;
    r.p_total_w = (double)k;
    double a = now_s();
    int rc = hr_store_put_row(st, dev[k % DEVICES], HR_RES_200MS, &r);
    t_put += now_s() - a;
    if (rc == HR_ERR_FULL) {
      if (hr_store_flush(st) != HR_OK)
        return 1;
      hr_store_put_row(st, dev[k % DEVICES], HR_RES_200MS, &r);
    }
  }
  if (hr_store_close(st) != HR_OK)
    return 1;
  double el = now_s() - t0;
  printf("store: %ld rows (1000 devices, 200 ms rows) in %.2f s: %.0f rows/s into SQLite; "
         "put alone %.0f ns/row\n",
         rows, el, (double)rows / el, t_put / (double)rows * 1e9);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "du -k '%s' | cut -f1", db);
  FILE *p = popen(cmd, "r");
  long kb = 0;
  if (p && fscanf(p, "%ld", &kb) == 1)
    printf("store: %.1f bytes per 200-ms row on disk\n", (double)kb * 1024.0 / (double)rows);
  if (p)
    pclose(p);
  unlink(db);
  snprintf(cmd, sizeof cmd, "%s-wal", db);
  unlink(cmd);
  snprintf(cmd, sizeof cmd, "%s-shm", db);
  unlink(cmd);

  /* Capture write: a 10-s window of 7 channels at 8 kHz, FLOAT32 and BINARY32. */
  int64_t nf = 80000;
  float *fr = malloc((size_t)nf * 7 * sizeof *fr);
  for (int64_t k = 0; k < nf * 7; k++)
    fr[k] = (float)(325 * sin(0.0392699 * (double)(k / 7) + (double)(k % 7)));
  hr_capture_window_t w = {.id = 1, .n_frames = nf, .start_ns = 1767225600000000000LL,
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
    if (hr_ct_read(cfgp, NULL, &rec, NULL) != HR_OK)
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
