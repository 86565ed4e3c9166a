/* Helpers shared by the libFuzzer harnesses (header-only: each harness is
 * one executable).
 *
 *   hr_fz_t        a cursor over the input that hands out bytes, integers
 *                  and doubles; past the end it hands out zeros;
 *   hr_fz_double   a double that is, by the next byte, one of the values
 *                  that break numeric code (0, -0, NaN, +-inf, 1e308,
 *                  denormals, ...), a small ordinary value, or raw bits;
 *   hr_fz_tmpdir   a private folder for harnesses whose API reads or
 *                  writes files, removed at exit;
 *   hr_fz_write    writes bytes to a file in that folder. */
#ifndef HR_FUZZ_UTIL_H
#define HR_FUZZ_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <signal.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct hr_fz {
  const uint8_t *p;
  size_t n, pos;
} hr_fz_t;

static inline hr_fz_t hr_fz_init(const uint8_t *p, size_t n)
{
  hr_fz_t f = {p, n, 0};
  return f;
}

static inline size_t hr_fz_left(const hr_fz_t *f)
{
  return f->n - f->pos;
}

static inline uint8_t hr_fz_u8(hr_fz_t *f)
{
  return f->pos < f->n ? f->p[f->pos++] : 0;
}

static inline uint32_t hr_fz_u32(hr_fz_t *f)
{
  uint32_t v = 0;
  for (int k = 0; k < 4; k++)
    v |= (uint32_t)hr_fz_u8(f) << (8 * k);
  return v;
}

static inline uint64_t hr_fz_u64(hr_fz_t *f)
{
  uint64_t lo = hr_fz_u32(f);
  return lo | (uint64_t)hr_fz_u32(f) << 32;
}

/* An integer in [lo, hi]. */
static inline long hr_fz_range(hr_fz_t *f, long lo, long hi)
{
  uint32_t span = (uint32_t)(hi - lo) + 1u;
  return lo + (long)(span ? hr_fz_u32(f) % span : hr_fz_u32(f));
}

/* The values that numeric code gets wrong most often. */
static const double hr_fz_special[] = {
    0.0,  -0.0, NAN, INFINITY, -INFINITY, 1e308,        -1e308,        DBL_MAX, DBL_MIN, 4.9e-324,
    -1.0, 1.0,  0.5, 1e-300,   1e300,     2147483648.0, -2147483649.0, 9.3e18,  1e-9,    1e9};
#define HR_FZ_NSPECIAL (sizeof hr_fz_special / sizeof hr_fz_special[0])

/* A double: a special value, `typical` scaled by a small factor, or raw bits. */
static inline double hr_fz_double(hr_fz_t *f, double typical)
{
  uint8_t sel = hr_fz_u8(f);
  if (sel < 64)
    return hr_fz_special[sel % HR_FZ_NSPECIAL];
  if (sel < 224)
    return typical * (double)(hr_fz_u8(f) + 1) / 64.0;
  uint64_t bits = hr_fz_u64(f);
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

/* A finite double the same way (NaN and infinities replaced by typical). */
static inline double hr_fz_finite(hr_fz_t *f, double typical)
{
  double d = hr_fz_double(f, typical);
  return isfinite(d) ? d : typical;
}

static char hr_fz_dir[64];

static void hr_fz_rmdir(void)
{
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", hr_fz_dir);
  if (hr_fz_dir[0] && system(cmd) != 0)
    fprintf(stderr, "cannot remove %s\n", hr_fz_dir);
}

/* A private folder <base>/hrfuzz.<pid>, made once per process (base is
 * /dev/shm when it exists, so the files never touch a disk).  A crash skips
 * the removal at exit, so folders of processes that are gone are removed
 * first. */
static inline const char *hr_fz_tmpdir(void)
{
  if (!hr_fz_dir[0]) {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    DIR *d = opendir(base);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
      long pid = 0;
      char tail = 0;
      if (sscanf(e->d_name, "hrfuzz.%ld%c", &pid, &tail) == 1 && pid > 0 &&
          kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
        snprintf(hr_fz_dir, sizeof hr_fz_dir, "%s/%s", base, e->d_name);
        hr_fz_rmdir();
      }
    }
    if (d)
      closedir(d);
    snprintf(hr_fz_dir, sizeof hr_fz_dir, "%s/hrfuzz.%ld", base, (long)getpid());
    if (mkdir(hr_fz_dir, 0700) != 0 && errno != EEXIST)
      abort();
    atexit(hr_fz_rmdir);
  }
  return hr_fz_dir;
}

/* Writes n bytes to <tmpdir>/name; returns the path (static buffer per slot). */
static inline const char *hr_fz_write(int slot, const char *name, const void *p, size_t n)
{
  static char path[8][256];
  snprintf(path[slot & 7], sizeof path[0], "%s/%s", hr_fz_tmpdir(), name);
  FILE *f = fopen(path[slot & 7], "wb");
  if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
    abort();
  return path[slot & 7];
}

/* Splits data at the first occurrence of sep (a short byte string): the part
 * before goes to *a, the rest to *b.  Without sep, everything is *a. */
static inline void hr_fz_split(const uint8_t *data, size_t size, const char *sep, const uint8_t **a,
                               size_t *na, const uint8_t **b, size_t *nb)
{
  size_t ls = strlen(sep);
  *a = data;
  *na = size;
  *b = data + size;
  *nb = 0;
  for (size_t i = 0; i + ls <= size; i++)
    if (memcmp(data + i, sep, ls) == 0) {
      *na = i;
      *b = data + i + ls;
      *nb = size - i - ls;
      return;
    }
}

#endif
