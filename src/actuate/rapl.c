/* CPU packages through Linux powercap (RAPL): power from the energy counter,
 * the cap as constraint_0 (long term) of each top-level zone. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate_int.h"
#include "core/core.h"

#define MAX_ZONES 64

typedef struct zone {
  char dir[512];
  char name[64];
  uint64_t last_uj;
  int64_t last_t_ns;
  int have_last;
  uint64_t range_uj; /* the counter wraps at this value; 0 if unknown */
} zone_t;

typedef struct rapl {
  zone_t z[MAX_ZONES];
} rapl_t;

/* Reads one unsigned integer from dir/file. */
static int read_u64(const char *dir, const char *file, uint64_t *out)
{
  char path[640];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "r");
  if (!f)
    return -errno;
  unsigned long long v = 0;
  int ok = fscanf(f, "%llu", &v) == 1;
  fclose(f);
  if (!ok)
    return -EINVAL;
  *out = v;
  return 0;
}

/* Top-level zones are "<prefix>:<digits>" with exactly one colon. */
static int is_top_zone(const char *name)
{
  const char *c = strchr(name, ':');
  if (!c || c == name || strchr(c + 1, ':') || !strstr(name, "rapl") || !c[1])
    return 0;
  for (const char *p = c + 1; *p; p++)
    if (!isdigit((unsigned char)*p))
      return 0;
  return 1;
}

static int cmp_zone(const void *a, const void *b)
{
  return strcmp(((const zone_t *)a)->dir, ((const zone_t *)b)->dir);
}

static int rp_read(hr_actuator_t *a, int dev, hr_power_source_t src, int64_t t_ns,
                   hr_act_reading_t *out)
{
  (void)src;
  rapl_t *r = a->impl;
  zone_t *z = &r->z[dev];
  uint64_t e = 0, lim = 0;
  int rc = read_u64(z->dir, "energy_uj", &e);
  if (rc < 0)
    return hr__act_fail(a, rc == -EACCES ? HR_ERR_STATE : HR_ERR_IO,
                        "rapl %s: reading %s/energy_uj: %s", z->name, z->dir, strerror(-rc));
  if (read_u64(z->dir, "constraint_0_power_limit_uw", &lim) == 0)
    out->cap_w = lim / 1e6;
  if (z->have_last && t_ns > z->last_t_ns) {
    uint64_t d =
        e >= z->last_uj ? e - z->last_uj : (z->range_uj ? z->range_uj - z->last_uj + e + 1 : 0);
    out->p_w = (double)d / ((double)(t_ns - z->last_t_ns) / 1000.0);
    out->valid = e >= z->last_uj || z->range_uj;
  }
  z->last_uj = e;
  z->last_t_ns = t_ns;
  z->have_last = 1;
  return HR_OK;
}

static int rp_limits(hr_actuator_t *a, int dev, hr_act_limits_t *out)
{
  rapl_t *r = a->impl;
  zone_t *z = &r->z[dev];
  uint64_t v = 0;
  out->cap_min_w = read_u64(z->dir, "constraint_0_min_power_uw", &v) == 0 ? v / 1e6 : 1.0;
  out->cap_max_w = read_u64(z->dir, "constraint_0_max_power_uw", &v) == 0 ? v / 1e6 : 0.0;
  out->default_w = 0.0;
  return HR_OK;
}

static int rp_set_cap(hr_actuator_t *a, int dev, double cap_w, int64_t t_ns)
{
  (void)t_ns;
  rapl_t *r = a->impl;
  zone_t *z = &r->z[dev];
  char path[640];
  snprintf(path, sizeof path, "%s/constraint_0_power_limit_uw", z->dir);
  FILE *f = fopen(path, "w");
  if (!f) {
    int e = errno;
    return hr__act_fail(a, e == EACCES || e == EPERM || e == EROFS ? HR_ERR_STATE : HR_ERR_IO,
                        "rapl %s: writing %s: %s%s", z->name, path, strerror(e),
                        e == EACCES || e == EPERM ? " (setting a CPU power cap needs root)" : "");
  }
  int ok = fprintf(f, "%" PRIu64 "\n", (uint64_t)(cap_w * 1e6 + 0.5)) > 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok)
    return hr__act_fail(a, HR_ERR_IO, "rapl %s: writing %s failed: %s", z->name, path,
                        strerror(errno));
  return HR_OK;
}

static const char *rp_name(const hr_actuator_t *a, int dev)
{
  return ((const rapl_t *)a->impl)->z[dev].name;
}

static void rp_destroy(hr_actuator_t *a)
{
  free(a->impl);
}

static const hr__act_ops_t rapl_ops = {
    "rapl", rp_read, rp_limits, rp_set_cap, NULL, NULL, rp_name, rp_destroy, NULL, NULL, NULL,
};

int hr_rapl_open(const char *root, hr_actuator_t **out, hr_diag_t *diag)
{
  const char *base = root ? root : "/sys/class/powercap";
  hr__diag_begin(diag, base);
  if (!out)
    return hr__diag_fail(diag, HR_ERR_INVALID_ARG, 0, 0, NULL, "no place for the actuator");
  *out = NULL;
  DIR *d = opendir(base);
  if (!d)
    return hr__diag_fail(diag, HR_ERR_NOT_FOUND, 0, 0, NULL, "cannot open: %s", strerror(errno));
  rapl_t *r = calloc(1, sizeof *r);
  if (!r) {
    closedir(d);
    return hr__diag_fail(diag, HR_ERR_NOMEM, 0, 0, NULL, "out of memory");
  }
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < MAX_ZONES) {
    if (!is_top_zone(e->d_name))
      continue;
    zone_t *z = &r->z[n];
    int len = snprintf(z->dir, sizeof z->dir, "%s/%s", base, e->d_name);
    uint64_t probe;
    if (len >= (int)sizeof z->dir || read_u64(z->dir, "energy_uj", &probe) == -ENOENT)
      continue;
    char path[640];
    snprintf(path, sizeof path, "%s/name", z->dir);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(z->name, sizeof z->name, f))
      snprintf(z->name, sizeof z->name, "%.63s", e->d_name);
    if (f)
      fclose(f);
    z->name[strcspn(z->name, "\r\n")] = '\0';
    if (read_u64(z->dir, "max_energy_range_uj", &z->range_uj) < 0)
      z->range_uj = 0;
    n++;
  }
  closedir(d);
  if (n == 0) {
    free(r);
    return hr__diag_fail(diag, HR_ERR_NOT_FOUND, 0, 0, NULL,
                         "no RAPL zone with an energy counter here");
  }
  /* readdir order is arbitrary; device numbers follow the zone names. */
  qsort(r->z, (size_t)n, sizeof r->z[0], cmp_zone);
  hr_actuator_t *a = hr__act_new(&rapl_ops, n);
  if (!a) {
    free(r);
    return hr__diag_fail(diag, HR_ERR_NOMEM, 0, 0, NULL, "out of memory");
  }
  a->impl = r;
  *out = a;
  return HR_OK;
}
