/* Actuators: the simulated GPU's delay and slew against hand-computed
 * values, RAPL on a powercap tree written to a temporary directory, and the
 * NVML loader against a stand-in library loaded with dlopen. */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "headroom/actuate.h"
#include "headroom/loop.h"
#include "headroom/tree.h"
#include "actuate/actuate_int.h"

#define MS 1000000LL

static double power_at(hr_actuator_t *a, int dev, int64_t t_ns)
{
  hr_act_reading_t r;
  assert_int_equal(hr_actuator_read(a, dev, HR_POWER_DEFAULT, t_ns, &r), HR_OK);
  assert_true(r.valid);
  return r.p_w;
}

/* A simulated GPU's reading of a true power p_w: rounded to 1 mW less a
 * dither of 0 to 10 mW (hr__tel_reading_w, docs/sim.md "Telemetry"). */
static void assert_reading(double r_w, double p_w)
{
  if (!(r_w <= p_w + 0.0005 && r_w >= p_w - 0.0105))
    fail_msg("reading %.6f W for a true %.6f W", r_w, p_w);
}

static void simgpu_delay_and_slew(void **state)
{
  (void)state;
  hr_simgpu_cfg_t cfg;
  hr_simgpu_cfg_init(&cfg, 2);
  hr_actuator_t *a;
  assert_int_equal(hr_simgpu_create(&cfg, &a), HR_OK);
  assert_string_equal(hr_actuator_kind(a), "simgpu");
  assert_int_equal(hr_actuator_count(a), 2);
  /* Idle, then a demand step to 700 W at t = 0: 70 -> 700 W at 80 W/ms. */
  assert_reading(power_at(a, 0, 0), 70.0);
  assert_int_equal(hr_simgpu_set_demand(a, 0, 700.0, 0), HR_OK);
  assert_reading(power_at(a, 0, 4 * MS), 70.0 + 320.0);
  assert_reading(power_at(a, 0, 7875000), 700.0); /* 630 W / 80 W/ms */
  assert_reading(power_at(a, 0, 20 * MS), 700.0);
  /* A cut to 300 W at 20 ms takes effect at 25 ms, then slews 400 W in 5 ms. */
  assert_int_equal(hr_actuator_set_cap(a, 0, 300.0, 20 * MS), HR_OK);
  hr_act_reading_t r;
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_DEFAULT, 24 * MS, &r), HR_OK);
  assert_reading(r.p_w, 700.0);
  assert_float_equal(r.cap_w, 700.0, 1e-9); /* not enforced yet */
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_DEFAULT, 27 * MS, &r), HR_OK);
  assert_reading(r.p_w, 700.0 - 160.0);
  assert_float_equal(r.cap_w, 300.0, 1e-9);
  assert_reading(power_at(a, 0, 30 * MS), 300.0);
  /* Demand below the cap: power follows demand; the other GPU is untouched. */
  assert_int_equal(hr_simgpu_set_demand(a, 0, 250.0, 40 * MS), HR_OK);
  assert_reading(power_at(a, 0, 50 * MS), 250.0);
  assert_reading(power_at(a, 1, 50 * MS), 70.0);
  /* Errors: out-of-range cap, unknown device, time going backwards. */
  assert_int_equal(hr_actuator_set_cap(a, 0, 100.0, 60 * MS), HR_ERR_RANGE);
  assert_non_null(strstr(hr_actuator_error(a), "outside 200.0..700.0"));
  assert_int_equal(hr_actuator_read(a, 5, HR_POWER_DEFAULT, 60 * MS, &r), HR_ERR_RANGE);
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_DEFAULT, 10 * MS, &r), HR_ERR_INVALID_ARG);
  /* A clock lock: enforced delay_ms after the GPU's last event (50 ms), the
   * demand above idle scaled by (1500 / 1980)^(1 / 0.647); reset by 0, 0. */
  assert_int_equal(hr_actuator_lock_clocks(a, 0, 1000, 1500), HR_OK);
  assert_reading(power_at(a, 0, 54 * MS), 250.0);
  assert_reading(power_at(a, 0, 100 * MS), 70.0 + 180.0 * pow(1500.0 / 1980.0, 1.0 / 0.647));
  assert_int_equal(hr_actuator_lock_clocks(a, 0, 0, 0), HR_OK);
  assert_reading(power_at(a, 0, 200 * MS), 250.0);
  assert_int_equal(hr_actuator_lock_clocks(a, 0, 1500, 1000), HR_ERR_RANGE);
  /* Steady at 250 W for 1 s: every reading within the dither, and they move
   * (no value more than 5 times in a row: a repeat is one chance in 11). */
  double prev = NAN;
  int run = 0, longest = 0;
  for (int64_t t = 210 * MS; t < 1210 * MS; t += MS) {
    double p = power_at(a, 0, t);
    assert_reading(p, 250.0);
    run = p == prev ? run + 1 : 1;
    longest = run > longest ? run : longest;
    prev = p;
  }
  assert_true(longest <= 5);
  hr_actuator_destroy(a);
  cfg.slew_w_per_ms = 0.0;
  assert_int_equal(hr_simgpu_create(&cfg, &a), HR_ERR_RANGE);
}

/* hr_actuator_read_many against one hr_actuator_read per device on a twin
 * actuator with the same history (the generic path: simgpu has no batch
 * read), and its errors: a range outside the devices, a failing device. */
static void read_many_as_single_reads(void **state)
{
  (void)state;
  hr_simgpu_cfg_t cfg;
  hr_simgpu_cfg_init(&cfg, 4);
  hr_actuator_t *a, *b;
  assert_int_equal(hr_simgpu_create(&cfg, &a), HR_OK);
  assert_int_equal(hr_simgpu_create(&cfg, &b), HR_OK);
  for (int d = 0; d < 4; d++) {
    assert_int_equal(hr_simgpu_set_demand(a, d, 300.0 + 100.0 * d, 0), HR_OK);
    assert_int_equal(hr_simgpu_set_demand(b, d, 300.0 + 100.0 * d, 0), HR_OK);
  }
  assert_int_equal(hr_actuator_set_cap(a, 2, 350.0, 0), HR_OK);
  assert_int_equal(hr_actuator_set_cap(b, 2, 350.0, 0), HR_OK);
  hr_act_reading_t many[3], one;
  for (int64_t t = MS; t <= 12 * MS; t += MS) {
    assert_int_equal(hr_actuator_read_many(a, 1, 3, HR_POWER_DEFAULT, t, many), HR_OK);
    for (int k = 0; k < 3; k++) {
      assert_int_equal(hr_actuator_read(b, 1 + k, HR_POWER_DEFAULT, t, &one), HR_OK);
      assert_true(many[k].valid && one.valid);
      assert_true(many[k].t_ns == one.t_ns);
      assert_float_equal(many[k].p_w, one.p_w, 0.0);
      assert_float_equal(many[k].cap_w, one.cap_w, 0.0);
    }
  }
  assert_reading(many[1].p_w, 350.0); /* device 2 at its cap */
  /* Nothing to read; a range past the last device; no output. */
  assert_int_equal(hr_actuator_read_many(a, 4, 0, HR_POWER_DEFAULT, 12 * MS, many), HR_OK);
  assert_int_equal(hr_actuator_read_many(a, 2, 3, HR_POWER_DEFAULT, 12 * MS, many), HR_ERR_RANGE);
  assert_non_null(strstr(hr_actuator_error(a), "devices 2..4 do not exist (4 devices)"));
  assert_int_equal(hr_actuator_read_many(a, 0, 1, HR_POWER_DEFAULT, 12 * MS, NULL),
                   HR_ERR_INVALID_ARG);
  /* Device 1 read at 12 ms already: a read at 11 ms fails there and only there. */
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_DEFAULT, 10 * MS, &one), HR_OK);
  assert_int_equal(hr_actuator_read_many(a, 0, 2, HR_POWER_DEFAULT, 11 * MS, many),
                   HR_ERR_INVALID_ARG);
  assert_true(many[0].valid);
  assert_false(many[1].valid);
  hr_actuator_destroy(a);
  hr_actuator_destroy(b);
}

/* ---- RAPL on a fake powercap tree ----------------------------------------- */

static void put(const char *dir, const char *file, const char *text)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *get(const char *dir, const char *file, char *buf, size_t len)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(buf, (int)len, f));
  fclose(f);
  return buf;
}

static void rapl_on_a_powercap_tree(void **state)
{
  (void)state;
  char root[] = "/tmp/hr-powercap-XXXXXX";
  assert_non_null(mkdtemp(root));
  char z0[600], z00[600], z1[600], buf[64];
  snprintf(z0, sizeof z0, "%s/intel-rapl:0", root);
  snprintf(z00, sizeof z00, "%s/intel-rapl:0:0", root);
  snprintf(z1, sizeof z1, "%s/intel-rapl:1", root);
  mkdir(z0, 0755);
  mkdir(z00, 0755);
  mkdir(z1, 0755);
  put(z0, "name", "package-0\n");
  put(z0, "energy_uj", "1000000\n");
  put(z0, "max_energy_range_uj", "262143328850\n");
  put(z0, "constraint_0_power_limit_uw", "165000000\n");
  put(z0, "constraint_0_max_power_uw", "225000000\n");
  put(z00, "name", "core\n");
  put(z00, "energy_uj", "5\n");
  put(z1, "name", "package-1\n");
  put(z1, "energy_uj", "262143000000\n");
  put(z1, "max_energy_range_uj", "262143328850\n");

  hr_actuator_t *a;
  hr_diag_t why;
  assert_int_equal(hr_rapl_open(root, &a, &why), HR_OK);
  assert_int_equal(why.code, HR_OK);
  assert_int_equal(hr_actuator_count(a), 2); /* the sub-zone is not a package */
  assert_string_equal(hr_actuator_name(a, 0), "package-0");
  assert_string_equal(hr_actuator_name(a, 1), "package-1");
  hr_act_reading_t r;
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_DEFAULT, 0, &r), HR_OK);
  assert_false(r.valid); /* power needs two readings */
  assert_float_equal(r.cap_w, 165.0, 1e-9);
  put(z0, "energy_uj", "11000000\n"); /* +10 J */
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_DEFAULT, 100 * MS, &r), HR_OK);
  assert_true(r.valid);
  assert_float_equal(r.p_w, 100.0, 1e-9);
  /* The counter wraps at max_energy_range_uj. */
  assert_int_equal(hr_actuator_read(a, 1, HR_POWER_DEFAULT, 0, &r), HR_OK);
  put(z1, "energy_uj", "49999149\n"); /* 328850 + 1 + 49999149 = 50,328,000 uJ later */
  assert_int_equal(hr_actuator_read(a, 1, HR_POWER_DEFAULT, 500 * MS, &r), HR_OK);
  assert_float_equal(r.p_w, 50.328 / 0.5, 1e-9);
  /* Setting the cap writes microwatts; limits come from constraint_0. */
  hr_act_limits_t lim;
  assert_int_equal(hr_actuator_limits(a, 0, &lim), HR_OK);
  assert_float_equal(lim.cap_max_w, 225.0, 1e-9);
  assert_int_equal(hr_actuator_set_cap(a, 0, 120.5, 0), HR_OK);
  assert_string_equal(get(z0, "constraint_0_power_limit_uw", buf, sizeof buf), "120500000\n");
  assert_int_equal(hr_actuator_set_cap(a, 0, 300.0, 0), HR_ERR_RANGE);
  /* RAPL has no power smoothing: a clear error, not a silent no-op. */
  assert_int_equal(hr_actuator_set_power_floor(a, 0, 100.0, 0), HR_ERR_UNSUPPORTED);
  assert_non_null(strstr(hr_actuator_error(a), "no power smoothing floor"));
  const hr_act_smoothing_t sp = {100.0, 1000.0, 1000.0, 0.0};
  assert_int_equal(hr_actuator_set_smoothing(a, 0, &sp, 0), HR_ERR_UNSUPPORTED);
  assert_non_null(strstr(hr_actuator_error(a), "rapl device 0 (package-0): no power smoothing"));
  /* A zone whose limit cannot be written reports the path. */
  char lim_path[700];
  snprintf(lim_path, sizeof lim_path, "%s/constraint_0_power_limit_uw", z1);
  mkdir(lim_path, 0755); /* a directory cannot be opened for writing */
  assert_int_not_equal(hr_actuator_set_cap(a, 1, 100.0, 0), HR_OK);
  assert_non_null(strstr(hr_actuator_error(a), "constraint_0_power_limit_uw"));
  hr_actuator_destroy(a);

  /* No zone at all. */
  char empty[] = "/tmp/hr-powercap-XXXXXX";
  assert_non_null(mkdtemp(empty));
  assert_int_equal(hr_rapl_open(empty, &a, &why), HR_ERR_NOT_FOUND);
  assert_int_equal(why.code, HR_ERR_NOT_FOUND);
  assert_string_equal(why.source, empty);
  assert_true(strlen(why.message) > 0);
  assert_null(a);
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, empty);
  assert_int_equal(system(cmd), 0);
}

/* ---- NVML through a stand-in library --------------------------------------- */

static void nvml_missing_library_is_a_clear_error(void **state)
{
  (void)state;
  hr_actuator_t *a = (hr_actuator_t *)1;
  hr_diag_t why;
  assert_int_equal(hr_nvml_open("/nonexistent/libnvidia-ml.so.1", &a, &why), HR_ERR_NOT_FOUND);
  assert_null(a);
  assert_string_equal(why.source, "nvml");
  assert_non_null(strstr(why.message, "/nonexistent/libnvidia-ml.so.1"));
  /* A real library that is not NVML: names the missing symbol. */
  assert_int_equal(hr_nvml_open("libm.so.6", &a, &why), HR_ERR_NOT_FOUND);
  assert_non_null(strstr(why.message, "nvmlInit_v2"));
}

static void nvml_reads_sets_and_samples(void **state)
{
  (void)state;
  void *lib = dlopen(HR_FAKE_NVML, RTLD_NOW | RTLD_GLOBAL);
  assert_non_null(lib);
  void (*set)(int, int, int);
  void *p = dlsym(lib, "fake_nvml_set");
  memcpy(&set, &p, sizeof p);
  assert_non_null(p);

  hr_diag_t why;
  hr_actuator_t *a;
  set(0, 0, 1);
  assert_int_equal(hr_nvml_open(HR_FAKE_NVML, &a, &why), HR_ERR_IO);
  assert_non_null(strstr(why.message, "Driver Not Loaded"));

  set(0, 0, 0);
  assert_int_equal(hr_nvml_open(HR_FAKE_NVML, &a, &why), HR_OK);
  assert_string_equal(hr_actuator_kind(a), "nvml");
  assert_int_equal(hr_actuator_count(a), 2);
  assert_string_equal(hr_actuator_name(a, 0), "Fake H100 80GB HBM3");
  hr_act_reading_t r;
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_INSTANT, 5, &r), HR_OK);
  assert_float_equal(r.p_w, 350.0, 1e-9);
  assert_float_equal(r.cap_w, 700.0, 1e-9);
  assert_int_equal(r.t_ns, 5);
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_AVERAGE, 5, &r), HR_OK);
  assert_float_equal(r.p_w, 300.0, 1e-9);
  /* Without field values, the averaged reading is the fallback. */
  set(0, 1, 0);
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_INSTANT, 6, &r), HR_OK);
  assert_float_equal(r.p_w, 300.0, 1e-9);
  set(0, 0, 0);

  hr_act_limits_t lim;
  assert_int_equal(hr_actuator_limits(a, 1, &lim), HR_OK);
  assert_float_equal(lim.cap_min_w, 200.0, 1e-9);
  assert_float_equal(lim.cap_max_w, 700.0, 1e-9);
  assert_float_equal(lim.default_w, 700.0, 1e-9);
  /* Not permitted: a clear error, and reading still works. */
  assert_int_equal(hr_actuator_set_cap(a, 1, 450.0, 0), HR_ERR_STATE);
  assert_non_null(strstr(hr_actuator_error(a), "not permitted"));
  assert_int_equal(hr_actuator_lock_clocks(a, 1, 1200, 1500), HR_ERR_STATE);
  assert_int_equal(hr_actuator_read(a, 1, HR_POWER_INSTANT, 7, &r), HR_OK);
  set(1, 0, 0);
  assert_int_equal(hr_actuator_set_cap(a, 1, 450.0, 0), HR_OK);
  assert_int_equal(hr_actuator_read(a, 1, HR_POWER_INSTANT, 8, &r), HR_OK);
  assert_float_equal(r.cap_w, 450.0, 1e-9); /* read back */
  assert_int_equal(hr_actuator_set_cap(a, 1, 800.0, 0), HR_ERR_RANGE);
  assert_int_equal(hr_actuator_lock_clocks(a, 1, 1200, 1500), HR_OK);
  assert_int_equal(hr_actuator_lock_clocks(a, 1, 0, 0), HR_OK);

  /* Power smoothing's floor: percent of TDP (700 W) in profile 0, which
   * the first call activates and enables; 0 disables; outside 20..90 %
   * refused before NVML is called. */
  void (*smooth)(int, int *, unsigned int *, double *);
  p = dlsym(lib, "fake_nvml_smoothing");
  assert_non_null(p);
  memcpy(&smooth, &p, sizeof p);
  int on = -1;
  unsigned int prof = 9;
  double pct = -1.0;
  assert_int_equal(hr_actuator_set_power_floor(a, 1, 560.0, 0), HR_OK);
  smooth(1, &on, &prof, &pct);
  assert_int_equal(on, 1);
  assert_int_equal(prof, 1);
  assert_float_equal(pct, 80.0, 1e-9);
  assert_int_equal(hr_actuator_set_power_floor(a, 1, 140.0, 0), HR_OK);
  smooth(1, &on, &prof, &pct);
  assert_float_equal(pct, 20.0, 1e-9);
  assert_int_equal(hr_actuator_set_power_floor(a, 1, 700.0, 0), HR_ERR_RANGE);
  assert_non_null(strstr(hr_actuator_error(a), "20..90 %"));
  assert_int_equal(hr_actuator_set_power_floor(a, 1, 100.0, 0), HR_ERR_RANGE);
  assert_int_equal(hr_actuator_set_power_floor(a, 1, 0.0, 0), HR_OK);
  smooth(1, &on, &prof, &pct);
  assert_int_equal(on, 0);
  set(0, 0, 0);
  assert_int_equal(hr_actuator_set_power_floor(a, 0, 400.0, 0), HR_ERR_STATE);
  assert_non_null(strstr(hr_actuator_error(a), "not permitted"));

  /* The whole profile: floor (percent of TDP), ramps (W/s) and hysteresis
   * (ms) into preset profile 0, one parameter call each, then the profile
   * activated and smoothing enabled.  Values out of NVML's ranges are
   * refused before NVML is called (no parameter written). */
  int (*profile)(int, double *, int);
  p = dlsym(lib, "fake_nvml_profile");
  assert_non_null(p);
  memcpy(&profile, &p, sizeof p);
  double par[4];
  profile(1, par, 1);
  hr_act_smoothing_t sp = {350.0, 1000.0, 250.0, 40.0};
  set(1, 0, 0);
  assert_int_equal(hr_actuator_set_smoothing(a, 1, &sp, 0), HR_OK);
  assert_int_equal(profile(1, par, 0), 4);
  assert_float_equal(par[0], 50.0, 1e-9);
  assert_float_equal(par[1], 1000.0, 1e-9);
  assert_float_equal(par[2], 250.0, 1e-9);
  assert_float_equal(par[3], 40.0, 1e-9);
  smooth(1, &on, &prof, &pct);
  assert_int_equal(on, 1);
  assert_int_equal(prof, 1);
  /* A floor of 0 turns it off; a floor turns it on with the ramps kept. */
  assert_int_equal(hr_actuator_set_power_floor(a, 1, 0.0, 0), HR_OK);
  smooth(1, &on, &prof, &pct);
  assert_int_equal(on, 0);
  assert_int_equal(hr_actuator_set_power_floor(a, 1, 420.0, 0), HR_OK);
  smooth(1, &on, &prof, &pct);
  assert_int_equal(on, 1);
  assert_int_equal(profile(1, par, 0), 5);
  assert_float_equal(par[0], 60.0, 1e-9);
  assert_float_equal(par[1], 1000.0, 1e-9);
  profile(1, par, 1);
  const hr_act_smoothing_t bad[] = {{0.0, 1000.0, 1000.0, 0.0},
                                    {100.0, 1000.0, 1000.0, 0.0},
                                    {640.0, 1000.0, 1000.0, 0.0},
                                    {350.0, 0.0, 1000.0, 0.0},
                                    {350.0, 1000.0, NAN, 0.0},
                                    {350.0, 1000.0, 1000.0, -1.0},
                                    {350.0, INFINITY, 1000.0, 0.0},
                                    /* past HR_ACT_HYST_MAX_MS (1e13 ms overflowed int64 ns) */
                                    {350.0, 1000.0, 1000.0, 1e13},
                                    {350.0, 1000.0, 1000.0, INFINITY}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    assert_int_equal(hr_actuator_set_smoothing(a, 1, &bad[k], 0), HR_ERR_RANGE);
    assert_non_null(strstr(hr_actuator_error(a), "device 1"));
  }
  assert_int_equal(profile(1, par, 0), 0);
  const hr_act_smoothing_t edge = {350.0, 1000.0, 1000.0, HR_ACT_HYST_MAX_MS};
  assert_int_equal(hr_actuator_set_smoothing(a, 1, &edge, 0), HR_OK);
  assert_int_equal(profile(1, par, 0), 4);
  profile(1, par, 1);
  assert_int_equal(hr_actuator_set_smoothing(a, 1, NULL, 0), HR_ERR_INVALID_ARG);
  /* Not permitted: the error names the GPU, the call and the reason; the
   * GPU keeps reading. */
  set(0, 0, 0);
  assert_int_equal(hr_actuator_set_smoothing(a, 0, &sp, 0), HR_ERR_STATE);
  assert_non_null(strstr(hr_actuator_error(a), "nvml GPU 0"));
  assert_non_null(strstr(hr_actuator_error(a), "PERCENT_TMP_FLOOR"));
  assert_non_null(strstr(hr_actuator_error(a), "not permitted"));
  assert_int_equal(hr_actuator_read(a, 0, HR_POWER_INSTANT, 9, &r), HR_OK);
  assert_true(r.valid);

  /* The sample buffer: only samples newer than since_us, in order. */
  hr_act_sample_t s[16];
  size_t n = 0;
  int64_t since = 1040000;
  assert_int_equal(hr_actuator_samples(a, 0, &since, s, 16, &n), HR_OK);
  assert_int_equal(n, 7);
  assert_int_equal(s[0].t_us, 1060000);
  assert_float_equal(s[0].p_w, 130.0, 1e-9);
  assert_int_equal(since, 1180000);
  assert_int_equal(hr_actuator_samples(a, 0, &since, s, 16, &n), HR_OK);
  assert_int_equal(n, 0);
  hr_actuator_destroy(a);
  dlclose(lib);
}

/* The agent sends headroom-smooth's profile to every GPU through NVML at
 * its first step: the stand-in library receives 50 % of TDP, 1000 W/s up
 * and down and the hysteresis, profile 0 active and enabled.  Without
 * permission every GPU refuses; the agent counts it, keeps the message
 * naming the GPU, and goes on reading. */
static void agent_sends_profile_through_nvml(void **state)
{
  (void)state;
  void *lib = dlopen(HR_FAKE_NVML, RTLD_NOW | RTLD_GLOBAL);
  assert_non_null(lib);
  void (*set)(int, int, int);
  int (*profile)(int, double *, int);
  void (*smooth)(int, int *, unsigned int *, double *);
  void *p = dlsym(lib, "fake_nvml_set");
  assert_non_null(p);
  memcpy(&set, &p, sizeof p);
  p = dlsym(lib, "fake_nvml_profile");
  assert_non_null(p);
  memcpy(&profile, &p, sizeof p);
  p = dlsym(lib, "fake_nvml_smoothing");
  assert_non_null(p);
  memcpy(&smooth, &p, sizeof p);
  static const char tt[] =
      "version: 1\nnodes:\n"
      "  - {id: site, kind: utility, parent: null, voltage_v: 415, phases: 3, rating_a: 100}\n"
      "  - {id: srv, kind: server, parent: site}\n"
      "  - {id: g0, kind: gpu, parent: srv, rating_w: 700}\n"
      "  - {id: g1, kind: gpu, parent: srv, rating_w: 700}\n";
  hr_diag_t e;
  hr_tree_t *t = NULL;
  assert_int_equal(hr_tree_load_buffer(tt, strlen(tt), "t.yaml", &t, &e), HR_OK);
  for (int allow = 1; allow >= 0; allow--) {
    set(allow, 0, 0);
    hr_actuator_t *a = NULL;
    assert_int_equal(hr_nvml_open(HR_FAKE_NVML, &a, &e), HR_OK);
    double par[4];
    for (int d = 0; d < 2; d++)
      profile(d, par, 1);
    hr_agent_cfg_t c;
    assert_int_equal(hr_agent_cfg_init(&c, HR_LOOP_LEASE), HR_OK);
    c.smooth_floor_frac = 0.5;
    c.smooth_ramp_w_per_s = 1000.0;
    c.smooth_hyst_ms = 40.0;
    int64_t now = 0;
    hr_clock_t clk;
    hr_clock_manual(&clk, &now);
    hr_agent_t *ag = NULL;
    assert_int_equal(hr_agent_create(t, HR_AGENT_WHOLE_TREE, a, &clk, NULL, &c, &ag), HR_OK);
    assert_int_equal(hr_agent_set_read_actuator(ag, 1), HR_OK);
    for (int k = 0; k < 3; k++) {
      now = (int64_t)k * 1000000;
      assert_int_equal(hr_agent_step(ag, NULL), HR_OK);
    }
    hr_agent_stats_t st;
    assert_int_equal(hr_agent_stats(ag, &st), HR_OK);
    assert_int_equal(st.smooth_sets, 2); /* once per GPU, at the first step */
    for (int d = 0; d < 2; d++) {
      int on = -1;
      unsigned int prof = 9;
      double pct = -1.0;
      int calls = profile(d, par, 0);
      smooth(d, &on, &prof, &pct);
      if (allow) {
        assert_int_equal(calls, 4);
        assert_float_equal(par[0], 50.0, 1e-9);
        assert_float_equal(par[1], 1000.0, 1e-9);
        assert_float_equal(par[2], 1000.0, 1e-9);
        assert_float_equal(par[3], 40.0, 1e-9);
        assert_int_equal(on, 1);
        assert_int_equal(prof, 1);
      } else {
        assert_int_equal(calls, 0);
        assert_float_equal(par[0], -1.0, 0.0);
      }
    }
    if (allow) {
      assert_int_equal(st.smooth_errors, 0);
      assert_string_equal(hr_agent_smoothing_error(ag), "");
    } else {
      assert_int_equal(st.smooth_errors, 2);
      assert_int_equal(st.last_smooth_err, HR_ERR_STATE);
      const char *m = hr_agent_smoothing_error(ag);
      assert_non_null(strstr(m, "nvml GPU 0"));
      assert_non_null(strstr(m, "not permitted"));
      assert_int_equal(st.bad_readings, 0);
      hr_act_reading_t r;
      assert_int_equal(hr_actuator_read(a, 1, HR_POWER_INSTANT, now, &r), HR_OK);
      assert_true(r.valid);
    }
    hr_agent_destroy(ag);
    hr_actuator_destroy(a);
  }
  /* the other tests' state: setting refused */
  set(0, 0, 0);
  hr_tree_destroy(t);
  dlclose(lib);
}

/* The dithered readings, one device at a time and in hr__tel_readings'
 * vectorised batch, against the formula with the library's nearbyint (the
 * independent reference): half-milliwatt ties both ways of even, powers over
 * 18 decades, 0, -0, negative, NaN and infinity, devices in scrambled slots. */
static void tel_readings_as_nearbyint(void **state)
{
  (void)state;
  enum { N = 4099 }; /* not a multiple of any vector width */
  const uint64_t key = 0xD1B54A32D192ED03ull;
  static double p_w[N], out[N];
  static int32_t slot[N];
  uint64_t s = 12345;
  for (int round = 0; round < 60; round++) {
    for (int i = 0; i < N; i++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      if (i % 4 == 0)
        p_w[i] = ((double)(s >> 40) + 0.5) * 1e-3; /* a tie at 0.5 mW (or its nearest double) */
      else
        p_w[i] = ldexp((double)(s >> 11) * 0x1p-53, (int)(s % 60) - 20); /* 1e-6 .. 1e12 W */
      slot[i] = (int32_t)((i * 2039) % N);
    }
    p_w[0] = 0.0;
    p_w[1] = -0.0;
    p_w[2] = -5.0;
    p_w[3] = NAN;
    p_w[5] = INFINITY;
    p_w[6] = 4e-4; /* rounds to 0 mW: at least 1 mW */
    int64_t t_ns = (int64_t)(s >> 20);
    hr__tel_readings(key, t_ns, N, slot, p_w, out);
    for (int d = 0; d < N; d++) {
      double p = p_w[slot[d]];
      /* The draw, recovered at 1 W (1000 mW less 0 to 10). */
      double dith = nearbyint((hr__tel_reading_w(key, d, t_ns, 1.0) - 1.0) * 1e3);
      assert_true(dith <= 0.0 && dith >= -HR__TEL_DITHER_MW);
      double want = (nearbyint(p * 1e3) + dith) * 1e-3;
      want = !(p > 0.0) ? p : (want > 0.0 ? want : 1e-3);
      double one = hr__tel_reading_w(key, d, t_ns, p);
      if (memcmp(&one, &want, sizeof one) != 0 || memcmp(&out[d], &want, sizeof want) != 0)
        fail_msg("device %d, p %.17g W: %.17g one at a time, %.17g batched, reference %.17g", d, p,
                 one, out[d], want);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(simgpu_delay_and_slew),
      cmocka_unit_test(read_many_as_single_reads),
      cmocka_unit_test(rapl_on_a_powercap_tree),
      cmocka_unit_test(nvml_missing_library_is_a_clear_error),
      cmocka_unit_test(nvml_reads_sets_and_samples),
      cmocka_unit_test(agent_sends_profile_through_nvml),
      cmocka_unit_test(tel_readings_as_nearbyint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
