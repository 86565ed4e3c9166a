/* The AI-rack load: a GPU training job's power profile as a closed-form
 * function of time, and its electrical constants.
 *
 * The profile has no state: the segment a time falls in, the segment before
 * it and the seeded jitter of both are computed from the time alone, so the
 * generator stays block-size independent and seekable. */
#include <math.h>
#include <stddef.h>

#include "gen/gen_int.h"
#include "headroom/error.h"

/* The 10-90 % rise of a raised cosine 0.5*(1 - cos(pi*u)), u in [0, 1], takes
 * this fraction of its length: 1 - 2*acos(0.8)/pi. */
static double raised_cosine_10_90(void)
{
  return 1.0 - 2.0 * acos(0.8) / HR__GEN_PI;
}

static int seg_kind(const hr_gen_rack_t *r, int64_t s)
{
  if (s < 0)
    return HR__GEN_SEG_IDLE;
  if (r->iters_per_checkpoint > 0) {
    int64_t per_block = 2 * (int64_t)r->iters_per_checkpoint + 1;
    int64_t k = s % per_block;
    if (k == per_block - 1)
      return HR__GEN_SEG_CKPT;
    return (k & 1) ? HR__GEN_SEG_COMM : HR__GEN_SEG_COMPUTE;
  }
  return (s & 1) ? HR__GEN_SEG_COMM : HR__GEN_SEG_COMPUTE;
}

static double seg_duration_s(const hr_gen_rack_t *r, int kind)
{
  switch (kind) {
  case HR__GEN_SEG_COMPUTE:
    return r->compute_s;
  case HR__GEN_SEG_COMM:
    return r->comm_s;
  case HR__GEN_SEG_CKPT:
    return r->checkpoint_s;
  default:
    return INFINITY;
  }
}

/* Demand [W] of segment s, jitter included. */
static double seg_level_w(const hr_gen_t *g, int64_t s)
{
  const hr_gen_rack_t *r = &g->cfg.rack;
  int kind = seg_kind(r, s);
  double gpu_w;
  switch (kind) {
  case HR__GEN_SEG_COMPUTE:
    gpu_w = r->gpu_busy_w;
    break;
  case HR__GEN_SEG_COMM:
    gpu_w = r->gpu_comm_w;
    break;
  default:
    gpu_w = r->gpu_idle_w;
    break;
  }
  if (r->jitter_pct > 0 && (kind == HR__GEN_SEG_COMPUTE || kind == HR__GEN_SEG_COMM)) {
    /* Keyed by the seed and the segment index only, so any time inside the
     * segment (and the transition out of it) sees the same value. */
    uint64_t h = hr__gen_mix64(hr__gen_mix64(g->cfg.seed ^ 0x7261636b6a697474ULL) +
                               (uint64_t)s * 0x9e3779b97f4a7c15ULL);
    double u = 2.0 * ((double)(h >> 11) * 0x1.0p-53) - 1.0;
    gpu_w *= 1.0 + r->jitter_pct / 100.0 * u;
  }
  return r->n_servers * (r->gpus_per_server * gpu_w + r->server_other_w);
}

double hr__gen_rack_demand_w(const hr_gen_t *g, double t_s)
{
  const hr_gen_rack_t *r = &g->cfg.rack;
  if (!(t_s >= r->start_s))
    return g->rack_p_idle_w;
  /* Beyond the horizon the block and iteration counts below would not fit
   * int64 (or a double's integers): converting them is undefined. */
  if (!(t_s < g->rack_end_s))
    return NAN;

  /* Locate the segment: block b, iteration i, phase within the iteration. */
  double tau = t_s - r->start_s;
  int K = r->iters_per_checkpoint;
  double t_it = g->rack_t_iter_s;
  int64_t s;
  double seg_start;
  if (K > 0) {
    double tb = g->rack_t_block_s;
    double b = floor(tau / tb);
    double in_b = tau - b * tb;
    if (in_b < 0)
      in_b = 0;
    double base = r->start_s + b * tb;
    int64_t per_block = 2 * (int64_t)K + 1;
    if (in_b >= K * t_it) {
      s = (int64_t)b * per_block + 2 * K;
      seg_start = base + K * t_it;
    } else {
      double i = floor(in_b / t_it);
      if (i > K - 1)
        i = K - 1;
      double in_i = in_b - i * t_it;
      int comm = in_i >= r->compute_s;
      s = (int64_t)b * per_block + 2 * (int64_t)i + comm;
      seg_start = base + i * t_it + (comm ? r->compute_s : 0.0);
    }
  } else {
    double i = floor(tau / t_it);
    double in_i = tau - i * t_it;
    if (in_i < 0)
      in_i = 0;
    int comm = in_i >= r->compute_s;
    s = 2 * (int64_t)i + comm;
    seg_start = r->start_s + i * t_it + (comm ? r->compute_s : 0.0);
  }

  double level = seg_level_w(g, s);
  double dt = t_s - seg_start;
  if (g->rack_t_tr_s > 0 && dt < g->rack_t_tr_s) {
    /* The previous segment of non-zero length sets the level we come from. */
    int64_t p = s - 1;
    while (p >= 0 && seg_duration_s(r, seg_kind(r, p)) <= 0)
      p--;
    double prev = seg_level_w(g, p);
    if (dt < 0)
      dt = 0;
    double w = 0.5 * (1.0 - cos(HR__GEN_PI * dt / g->rack_t_tr_s));
    return prev + (level - prev) * w;
  }
  return level;
}

void hr__gen_rack_init(hr_gen_t *g)
{
  const hr_gen_rack_t *r = &g->cfg.rack;
  g->rack_p_idle_w = r->n_servers * (r->gpus_per_server * r->gpu_idle_w + r->server_other_w);
  g->rack_p_full_w = r->n_servers * (r->gpus_per_server * r->gpu_busy_w + r->server_other_w);
  g->rack_t_iter_s = r->compute_s + r->comm_s;
  g->rack_t_block_s = r->iters_per_checkpoint * g->rack_t_iter_s + r->checkpoint_s;
  g->rack_t_tr_s = r->rise_s / raised_cosine_10_90();
  g->rack_i_full_a = g->rack_p_full_w / (g->n_ph * g->u1_v);
  g->rack_floor = r->u_min_pct / 100.0;
  /* Before rack_end_s, tau < 2^50 t_iter: at most 2^50 / K + 1 blocks of
   * 2K + 1 segments, or 2^50 + 1 iterations of 2, so every segment index is
   * below 2^53. */
  g->rack_end_s = r->start_s + HR_GEN_RACK_MAX_ITERS * g->rack_t_iter_s;

  /* Power carried by voltage and current harmonics of the same order, per
   * phase and per unit of U1 * i_full * harmonic scale.  Both are referenced
   * to order * (theta + phi_k), so their phase difference is the same on every
   * phase.  In 3P3W a balanced set of triplen harmonics is zero-sequence,
   * which a three-wire connection cannot carry, so it brings no power. */
  double s = 0;
  for (int a = 0; a < g->cfg.n_u_harm; a++) {
    for (int b = 0; b < g->cfg.n_i_harm; b++) {
      int h = g->cfg.u_harm[a].order;
      if (g->cfg.i_harm[b].order != h)
        continue;
      if (g->cfg.layout == HR_LAYOUT_3P3W && h % 3 == 0)
        continue;
      s += g->uh_amp[a] * g->ih_amp[b] * cos(g->uh_ph[a] - g->ih_ph[b]);
    }
  }
  g->rack_harm_pw = s;
}

int hr__gen_rack_check(const hr_gen_cfg_t *cfg, hr_diag_t *err)
{
  const hr_gen_rack_t *r = &cfg->rack;
  if (r->n_servers < 1 || r->n_servers > 1024)
    return hr__gen_fail(err, HR_ERR_RANGE, "rack.n_servers", -1,
                        "rack servers %d is outside [1, 1024]", r->n_servers);
  if (r->gpus_per_server < 0 || r->gpus_per_server > 64)
    return hr__gen_fail(err, HR_ERR_RANGE, "rack.gpus_per_server", -1,
                        "GPUs per server %d is outside [0, 64]", r->gpus_per_server);
  static const struct {
    const char *field;
    size_t off;
    double hi;
  } nonneg[] = {
      {"rack.gpu_idle_w", offsetof(hr_gen_rack_t, gpu_idle_w), 1e5},
      {"rack.gpu_busy_w", offsetof(hr_gen_rack_t, gpu_busy_w), 1e5},
      {"rack.gpu_comm_w", offsetof(hr_gen_rack_t, gpu_comm_w), 1e5},
      {"rack.server_other_w", offsetof(hr_gen_rack_t, server_other_w), 1e6},
      {"rack.start_s", offsetof(hr_gen_rack_t, start_s), 1e9},
      {"rack.compute_s", offsetof(hr_gen_rack_t, compute_s), 1e6},
      {"rack.comm_s", offsetof(hr_gen_rack_t, comm_s), 1e6},
      {"rack.checkpoint_s", offsetof(hr_gen_rack_t, checkpoint_s), 1e6},
      {"rack.rise_s", offsetof(hr_gen_rack_t, rise_s), 1e3},
      {"rack.jitter_pct", offsetof(hr_gen_rack_t, jitter_pct), 50},
      {"rack.q_var", offsetof(hr_gen_rack_t, q_var), 1e9},
      {"rack.harm_fixed_frac", offsetof(hr_gen_rack_t, harm_fixed_frac), 1},
  };
  for (unsigned k = 0; k < sizeof nonneg / sizeof nonneg[0]; k++) {
    double x = *(const double *)((const char *)r + nonneg[k].off);
    if (!isfinite(x) || x < 0)
      return hr__gen_fail(err, HR_ERR_INVALID_ARG, nonneg[k].field, -1,
                          "%g must be a finite number >= 0", x);
    if (x > nonneg[k].hi)
      return hr__gen_fail(err, HR_ERR_RANGE, nonneg[k].field, -1, "%g is above %g", x,
                          nonneg[k].hi);
  }
  /* A floor on the iteration keeps the profile's horizon (HR_GEN_RACK_MAX_ITERS
   * iterations, gen.h) beyond 1e9 s: a denormal phase would end it at once. */
  if (!(r->compute_s >= HR_GEN_RACK_MIN_COMPUTE_S))
    return hr__gen_fail(err, HR_ERR_RANGE, "rack.compute_s", -1,
                        "the compute phase must last >= %g s", HR_GEN_RACK_MIN_COMPUTE_S);
  if (r->iters_per_checkpoint < 0 || r->iters_per_checkpoint > 1000000)
    return hr__gen_fail(err, HR_ERR_RANGE, "rack.iters_per_checkpoint", -1,
                        "iterations per checkpoint %d is outside [0, 1000000]",
                        r->iters_per_checkpoint);
  if (r->iters_per_checkpoint > 0 && !(r->checkpoint_s > 0))
    return hr__gen_fail(err, HR_ERR_RANGE, "rack.checkpoint_s", -1,
                        "checkpoints every %d iterations need a duration > 0 s",
                        r->iters_per_checkpoint);
  if (!isfinite(r->u_min_pct) || r->u_min_pct < 1 || r->u_min_pct > 100)
    return hr__gen_fail(err, HR_ERR_RANGE, "rack.u_min_pct", -1,
                        "constant-power floor %g %% is outside [1, 100]", r->u_min_pct);
  double p_full = r->n_servers * (r->gpus_per_server * r->gpu_busy_w + r->server_other_w);
  if (!(p_full > 0))
    return hr__gen_fail(err, HR_ERR_RANGE, "rack.gpu_busy_w", -1,
                        "the rack's full-load power must be > 0 W");
  /* A transition must finish inside the phase it starts, or the next change
   * would begin from a level the profile never reached. */
  double t_tr = r->rise_s / raised_cosine_10_90();
  double shortest = r->compute_s;
  const char *which = "rack.compute_s";
  if (r->comm_s > 0 && r->comm_s < shortest)
    shortest = r->comm_s, which = "rack.comm_s";
  if (r->iters_per_checkpoint > 0 && r->checkpoint_s < shortest)
    shortest = r->checkpoint_s, which = "rack.checkpoint_s";
  if (t_tr > shortest)
    return hr__gen_fail(err, HR_ERR_RANGE, "rack.rise_s", -1,
                        "a %g s rise time needs %g s per change, longer than %s = %g s", r->rise_s,
                        t_tr, which, shortest);
  return HR_OK;
}
