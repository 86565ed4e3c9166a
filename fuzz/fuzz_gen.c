/* libFuzzer harness for the waveform generator's parameters
 * (include/headroom/gen.h): hr_gen_cfg_check, hr_gen_create and the
 * generator itself.
 *
 * The input picks a preset (or the defaults), then overwrites a fuzzed
 * subset of the configuration: rate, frequencies, layout, levels, start
 * time, seed, load, power factor, ramp, modulation, and list entries
 * (harmonics, interharmonics, events, steps), each double a special value
 * (NaN, infinities, 1e308, denormals, -0), a multiple of a typical value,
 * or raw bits; list counts may exceed their capacities.
 *
 * Checks: the check and create agree (create fails only with the check's
 * code or HR_ERR_NOMEM); a created generator fills the same bits whatever
 * the chunking (the header's promise), after a seek as from the start, and
 * answers truth queries at any sample with the layout's channel counts. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "headroom/error.h"
#include "headroom/gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NF 400

static void mutate(hr_fz_t *f, hr_gen_cfg_t *c)
{
  uint32_t m = hr_fz_u32(f);
  if (m & 1)
    c->fs_hz = hr_fz_double(f, 8000.0);
  if (m & 2)
    c->f_hz = hr_fz_double(f, 60.0);
  if (m & 4)
    c->f_nom_hz = hr_fz_double(f, 60.0);
  if (m & 8)
    c->layout = (hr_layout_t)hr_fz_range(f, 0, 4);
  if (m & 16)
    c->has_in = hr_fz_u8(f) & 1;
  if (m & 32)
    c->u_v = hr_fz_double(f, 277.0);
  if (m & 64)
    c->i_a = hr_fz_double(f, 100.0);
  if (m & 128)
    c->t0_ns = (int64_t)hr_fz_u64(f);
  if (m & 256)
    c->seed = hr_fz_u64(f);
  if (m & 512)
    c->load = (hr_gen_load_t)hr_fz_range(f, -1, 3);
  if (m & 1024)
    c->pf = hr_fz_double(f, 0.9);
  if (m & 2048) {
    c->ramp_hz_per_s = hr_fz_double(f, 1.0);
    c->ramp_start_s = hr_fz_double(f, 0.01);
    c->ramp_stop_s = hr_fz_double(f, 0.04);
  }
  if (m & 4096) {
    c->am_kx = hr_fz_double(f, 0.1);
    c->am_f_hz = hr_fz_double(f, 2.0);
    c->pm_ka_rad = hr_fz_double(f, 0.1);
    c->pm_f_hz = hr_fz_double(f, 2.0);
  }
  if (m & 8192) {
    c->n_u_harm = (int)hr_fz_range(f, -1, HR_GEN_MAX_HARM + 1);
    for (int k = 0; k < c->n_u_harm && k < HR_GEN_MAX_HARM; k++)
      c->u_harm[k] = (hr_gen_harmonic_t){(int)hr_fz_range(f, -1, 300), hr_fz_double(f, 3.0),
                                         hr_fz_double(f, 10.0)};
  }
  if (m & 16384) {
    c->n_i_iharm = (int)hr_fz_range(f, -1, HR_GEN_MAX_IHARM + 1);
    for (int k = 0; k < c->n_i_iharm && k < HR_GEN_MAX_IHARM; k++)
      c->i_iharm[k] = (hr_gen_interharmonic_t){hr_fz_double(f, 180.0), hr_fz_double(f, 2.0),
                                               hr_fz_double(f, 5.0)};
  }
  if (m & 32768) {
    c->n_events = (int)hr_fz_range(f, -1, HR_GEN_MAX_EVENTS + 1);
    for (int k = 0; k < c->n_events && k < HR_GEN_MAX_EVENTS; k++)
      c->events[k] = (hr_gen_event_t){(hr_gen_event_kind_t)hr_fz_range(f, 0, 4),
                                      hr_fz_double(f, 0.01),
                                      hr_fz_double(f, 0.02),
                                      hr_fz_double(f, 50.0),
                                      hr_fz_u8(f),
                                      hr_fz_double(f, 0.0)};
  }
  if (m & 65536) {
    c->n_amp_steps = (int)hr_fz_range(f, -1, HR_GEN_MAX_STEPS + 1);
    for (int k = 0; k < c->n_amp_steps && k < HR_GEN_MAX_STEPS; k++)
      c->amp_steps[k] = (hr_gen_amp_step_t){hr_fz_double(f, 0.01), hr_fz_double(f, 10.0)};
    c->n_phase_steps = (int)hr_fz_range(f, -1, HR_GEN_MAX_STEPS + 1);
    for (int k = 0; k < c->n_phase_steps && k < HR_GEN_MAX_STEPS; k++)
      c->phase_steps[k] = (hr_gen_phase_step_t){hr_fz_double(f, 0.01), hr_fz_double(f, 10.0)};
  }
  if (m & 131072) {
    c->u_noise_pct = hr_fz_double(f, 1.0);
    c->i_noise_pct = hr_fz_double(f, 1.0);
    c->u_dc_pct = hr_fz_double(f, 1.0);
    c->i_dc_pct = hr_fz_double(f, 1.0);
  }
  if (m & 262144) {
    hr_gen_rack_t *r = &c->rack;
    r->n_servers = (int)hr_fz_range(f, -1, 1100);
    r->gpus_per_server = (int)hr_fz_range(f, -1, 70);
    r->gpu_busy_w = hr_fz_double(f, 700.0);
    r->start_s = hr_fz_double(f, 0.01);
    r->compute_s = hr_fz_double(f, 0.02);
    r->comm_s = hr_fz_double(f, 0.01);
    r->iters_per_checkpoint = (int)hr_fz_range(f, -1, 10);
    r->checkpoint_s = hr_fz_double(f, 0.05);
    r->rise_s = hr_fz_double(f, 0.001);
    r->jitter_pct = hr_fz_double(f, 5.0);
    r->u_min_pct = hr_fz_double(f, 70.0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  hr_fz_t f = hr_fz_init(data, size);
  hr_gen_cfg_t cfg;
  hr_gen_cfg_init(&cfg);
  int preset = (int)hr_fz_range(&f, -1, 11);
  const char *pname = preset >= 0 ? hr_gen_preset_name(preset) : NULL;
  if (pname && hr_gen_cfg_preset(&cfg, pname, NULL) != HR_OK)
    abort();
  mutate(&f, &cfg);
  hr_diag_t ce;
  int chk = hr_gen_cfg_check(&cfg, &ce);
  hr_gen_t *g = NULL;
  int rc = hr_gen_create(&cfg, &g);
  if (chk != HR_OK) {
    if (rc != chk || g || ce.code != chk || ce.message[0] == '\0' ||
        !memchr(ce.message, '\0', sizeof ce.message))
      abort();
    return 0;
  }
  if (rc != HR_OK) {
    if (rc != HR_ERR_NOMEM || g)
      abort();
    return 0;
  }
  int nch = hr_gen_n_channels(g);
  if (nch != hr_layout_n_u(cfg.layout) + hr_layout_n_i(cfg.layout, cfg.has_in))
    abort();
  static float a[NF * HR_MAX_CH], b[NF * HR_MAX_CH];
  size_t n = 1 + (size_t)hr_fz_range(&f, 0, NF - 1);
  if (hr_gen_fill(g, a, n) != HR_OK)
    abort();
  if (hr_gen_seek(g, 0) != HR_OK)
    abort();
  for (size_t k = 0; k < n;) {
    size_t c = 1 + (size_t)hr_fz_range(&f, 0, 63);
    if (c > n - k)
      c = n - k;
    if (hr_gen_fill(g, b + k * (size_t)nch, c) != HR_OK)
      abort();
    k += c;
  }
  if (memcmp(a, b, n * (size_t)nch * sizeof a[0]) != 0 || hr_gen_tell(g) != (int64_t)n)
    abort();
  size_t s = (size_t)hr_fz_range(&f, 0, (long)n - 1);
  if (hr_gen_seek(g, (int64_t)s) != HR_OK || hr_gen_fill(g, b, n - s) != HR_OK ||
      memcmp(a + s * (size_t)nch, b, (n - s) * (size_t)nch * sizeof a[0]) != 0)
    abort();
  int64_t tn = (int64_t)(hr_fz_u64(&f) >> 2);
  /* A sample whose time int64 ns cannot hold, or beyond the AI rack's horizon
   * (gen.h), is refused with HR_ERR_RANGE (fuzz/reproducers/gen-truth-time-
   * overflow, gen-rack-demand-huge-time); any other is answered.  The margins
   * step around the rounding at the limits. */
  const hr_gen_rack_t *rk = &cfg.rack;
  const int rack = cfg.load == HR_GEN_LOAD_AI_RACK;
  const double end_s = rk->start_s + HR_GEN_RACK_MAX_ITERS * (rk->compute_s + rk->comm_s);
  hr_gen_truth_t tr;
  int trc = hr_gen_truth(g, tn, &tr);
  if (trc == HR_ERR_RANGE) {
    int late = (double)tn * 1e9 / cfg.fs_hz + (double)cfg.t0_ns > 0.999 * 9.2233720368547758e18;
    if (rack && (double)tn / cfg.fs_hz >= 0.999 * end_s)
      late = 1;
    if (!late)
      abort();
  } else if (trc != HR_OK || tr.n != tn || tr.n_u != hr_layout_n_u(cfg.layout) ||
             tr.n_u + tr.n_i != nch) {
    abort();
  }
  if (hr_gen_truth(g, -1, &tr) != HR_ERR_INVALID_ARG || !isnan(hr_gen_power_w(g, -1)))
    abort();
  (void)hr_gen_power_w(g, tn);
  double ts = hr_fz_double(&f, 1.0);
  double dw = hr_gen_demand_w(g, ts);
  if (rack && ts >= 0 && ts < 0.999 * end_s && isnan(dw))
    abort();
  if (rack && !(ts < end_s) && !isnan(dw))
    abort();
  hr_gen_destroy(g);
  return 0;
}
