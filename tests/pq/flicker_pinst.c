/* Test helper for tests/pq/test_flicker_oracle.py: runs the flickermeter
 * over one channel of float32 little-endian samples on stdin and prints
 * "frame pinst" for every classified Pinst (100 per second).
 * usage: flicker_pinst FS_HZ F_NOM_HZ LAMP_V */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "headroom/flicker.h"

typedef struct ctx {
  double fs;
  int64_t t0;
  int failed;
} ctx_t;

static void on_pinst(int64_t t_ns, const double *p, int n, void *user)
{
  ctx_t *c = user;
  (void)n;
  /* The frame count at that instant: t = t0 + k / fs. */
  long long k = llround((double)(t_ns - c->t0) * 1e-9 * c->fs);
  if (printf("%lld %.9g\n", k, p[0]) < 0)
    c->failed = 1;
}

int main(int argc, char **argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: flicker_pinst FS_HZ F_NOM_HZ LAMP_V\n");
    return 2;
  }
  hr_flicker_cfg_t cfg;
  hr_flicker_cfg_init(&cfg, atof(argv[1]), atof(argv[2]), atoi(argv[3]), 1);
  hr_flicker_t *f = NULL;
  if (hr_flicker_create(&cfg, &f) != HR_OK) {
    fprintf(stderr, "flicker_pinst: bad configuration\n");
    return 2;
  }
  ctx_t c = {cfg.fs_hz, cfg.t0_ns, 0};
  hr_flicker_set_pinst_cb(f, on_pinst, &c);
  static float buf[8192];
  size_t n;
  while ((n = fread(buf, sizeof buf[0], 8192, stdin)) > 0) {
    size_t k = 0;
    while (k < n) {
      k += hr_flicker_push(f, buf + k, 1, n - k);
      while (hr_flicker_take(f, NULL))
        ;
    }
  }
  hr_flicker_destroy(f);
  if (c.failed || fflush(stdout) != 0) {
    fprintf(stderr, "flicker_pinst: write failed\n");
    return 1;
  }
  return 0;
}
