/* Grid-facing limits: parsed from a tree's `grid` keys, and the monitor's
 * ramp rate and band amplitudes against the known content of synthetic site
 * power: tones of given amplitude in and out of each band, a linear ramp. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/grid.h"
#include "headroom/tree.h"

/* The diagnostic as the one line hr_diag_format makes (a static buffer). */
static const char *dtext(const hr_diag_t *d)
{
  static char text[1024];
  hr_diag_format(d, text, sizeof text);
  return text;
}

static const char *site_yaml =
    "version: 1\n"
    "nodes:\n"
    "  - id: site\n"
    "    kind: utility\n"
    "    parent: null\n"
    "    voltage_v: 34500\n"
    "    phases: 3\n"
    "    rating_mw: 60\n"
    "    grid:\n"
    "      max_ramp_mw_per_s: 5\n"
    "      ramp_window_s: 2\n"
    "      max_mw: 50\n"
    "      oscillation_w: [[0.1, 1, 2.0e6], [1, 5, 0.5e6], [5, 30, 0.2e6]]\n";

static const hr_tree_node_t *find(const hr_tree_t *t, const char *id)
{
  size_t idx;
  return hr_tree_find(t, id, &idx) == HR_OK ? hr_tree_node(t, idx) : NULL;
}

static hr_tree_t *load(const char *text, hr_diag_t *err)
{
  hr_tree_t *t = NULL;
  hr_tree_load_buffer(text, strlen(text), "site.yaml", &t, err);
  return t;
}

static void limits_are_parsed(void **state)
{
  (void)state;
  hr_diag_t err;
  hr_tree_t *t = load(site_yaml, &err);
  assert_non_null(t);
  const hr_tree_node_t *n = find(t, "site");
  assert_non_null(n);
  assert_non_null(n->grid);
  assert_float_equal(n->grid->max_ramp_w_per_s, 5e6, 1e-6);
  assert_float_equal(n->grid->ramp_window_s, 2.0, 1e-12);
  assert_float_equal(n->grid->max_p_w, 50e6, 1e-6);
  assert_int_equal(n->grid->n_bands, 3);
  assert_float_equal(n->grid->bands[1].f_lo_hz, 1.0, 1e-12);
  assert_float_equal(n->grid->bands[1].max_w, 0.5e6, 1e-6);
  hr_tree_destroy(t);

  /* A band with its edges the wrong way round is named by file, line, field. */
  char bad[1024];
  snprintf(bad, sizeof bad, "%s", site_yaml);
  char *b = strstr(bad, "[1, 5, 0.5e6]");
  memcpy(b, "[5, 1, 0.5e6]", 13);
  assert_null(load(bad, &err));
  assert_int_equal(err.code, HR_ERR_RANGE);
  assert_non_null(strstr(dtext(&err), "site.yaml:13:"));
  assert_non_null(strstr(dtext(&err), "oscillation_w[1]"));
  snprintf(bad, sizeof bad, "%s", site_yaml);
  b = strstr(bad, "[0.1, 1, 2.0e6]");
  memcpy(b, "[0.1, 1]       ", 15); /* a band of two numbers */
  assert_null(load(bad, &err));
  assert_non_null(strstr(dtext(&err), "expected [f_lo_hz, f_hi_hz, max_w]"));
}

static void monitor_measures_bands_and_ramp(void **state)
{
  (void)state;
  hr_diag_t err;
  hr_tree_t *t = load(site_yaml, &err);
  assert_non_null(t);
  const hr_grid_limits_t *lim = find(t, "site")->grid;
  hr_grid_monitor_t *m;
  const double dt = 0.005;
  assert_int_equal(hr_grid_monitor_create(lim, dt, &m), HR_OK);
  hr_grid_status_t st;
  /* 40 MW with 1 MW at 2 Hz (band 1) and 0.3 MW at 0.3 Hz (band 0). */
  for (int k = 0; k < (int)(120.0 / dt); k++) {
    double tt = k * dt;
    double p = 40e6 + 1e6 * sin(2 * M_PI * 2.0 * tt) + 0.3e6 * sin(2 * M_PI * 0.3 * tt + 1.0);
    hr_grid_monitor_push(m, p, &st);
  }
  assert_true(st.settled);
  assert_float_equal(st.band_amp_w[0], 0.3e6, 0.03 * 0.3e6);
  assert_float_equal(st.band_amp_w[1], 1.0e6, 0.03 * 1.0e6);
  /* 4th-order skirt: the 2 Hz tone is (2/5)^4 = 2.6 % in the 5-30 Hz band. */
  assert_true(st.band_amp_w[2] < 0.03e6);
  assert_true(st.violations & (HR_GRID_VIOL_BAND0 << 1)); /* 1 MW > 0.5 MW */
  assert_false(st.violations & HR_GRID_VIOL_BAND0);
  assert_false(st.violations & (HR_GRID_VIOL_BAND0 << 2));
  /* The ramp of a 2 Hz tone over 2 s is small: it returns to where it was. */
  assert_true(st.ramp_w_per_s < 0.35e6);
  hr_grid_monitor_destroy(m);

  /* A 10 MW/s ramp from 30 MW: ramp violation; past 50 MW, max violation. */
  assert_int_equal(hr_grid_monitor_create(lim, dt, &m), HR_OK);
  for (int k = 0; k < (int)(30.0 / dt); k++)
    hr_grid_monitor_push(m, 30e6, &st);
  assert_int_equal(st.violations, 0);
  int k;
  for (k = 0; k < (int)(2.5 / dt); k++)
    hr_grid_monitor_push(m, 30e6 + 10e6 * k * dt, &st);
  assert_float_equal(st.ramp_w_per_s, 10e6, 1e-3 * 10e6);
  assert_true(st.violations & HR_GRID_VIOL_RAMP);
  for (; k < (int)(2.1 / 0.01 * 10); k++)
    hr_grid_monitor_push(m, 30e6 + 10e6 * k * dt, &st);
  assert_true(st.violations & HR_GRID_VIOL_MAX);
  hr_grid_monitor_destroy(m);

  /* Bands above the series' Nyquist margin are refused. */
  assert_int_equal(hr_grid_monitor_create(lim, 0.05, &m), HR_ERR_RANGE);
  hr_tree_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(limits_are_parsed),
      cmocka_unit_test(monitor_measures_bands_and_ramp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
