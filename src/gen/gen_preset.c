/* Named presets: the standards' test conditions and the AI-rack demo.  The
 * exact parameters are listed in docs/gen.md; keep the two in step. */
#include <string.h>

#include "gen/gen_int.h"
#include "headroom/error.h"

static const struct {
  const char *name;
  const char *summary;
} presets[] = {
    {"sine", "clean sine, linear load 100 A at pf 1"},
    {"ai-rack", "480/277 V supply feeding a 64-GPU training rack (56.8 kW peak, 65 % steps)"},
    {"iec-freq", "f_nom + 0.5 Hz with 10 % h3, 10 % h5 and 1 % interharmonic at 7.5 f_nom"},
    {"harmonics", "h2..h13 at IEC 61000-2-2 compatibility levels (THD 10.7 %)"},
    {"dip", "phase-a dip to 70 % at 1.0 s for 0.5 s (IEC 61000-4-11 test level)"},
    {"swell", "3-phase swell to 120 % at 1.0 s for 0.5 s"},
    {"interruption", "3-phase interruption (0 %) at 1.0 s for 1.0 s"},
    {"ramp", "frequency ramp +1 Hz/s from f_nom - 2 Hz, 0.5 s to 4.5 s (C37.118.1)"},
    {"modulation", "AM kx 0.1 and PM ka 0.1 rad at 2 Hz (C37.118.1 bandwidth)"},
    {"step", "+10 % magnitude step at 1.0 s, +10 deg phase step at 2.0 s (C37.118.1)"},
};

#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

const char *hr_gen_preset_name(int k)
{
  return k >= 0 && k < N_PRESETS ? presets[k].name : NULL;
}

const char *hr_gen_preset_summary(int k)
{
  return k >= 0 && k < N_PRESETS ? presets[k].summary : NULL;
}

/* The current spectrum of a rack of server PSUs with active PFC at full load
 * [% of the full-load fundamental]: residual triplens from the single-phase
 * converters and a decaying odd series.  THDi 7.35 % at full load, about 15 %
 * at the idle level of the default rack. */
static const hr_gen_harmonic_t rack_spectrum[] = {
    {3, 5.0, 0},  {5, 4.0, 0},  {7, 2.5, 0},  {9, 1.5, 0},  {11, 1.5, 0}, {13, 1.0, 0},
    {15, 0.5, 0}, {17, 0.7, 0}, {19, 0.5, 0}, {23, 0.4, 0}, {25, 0.3, 0},
};

int hr_gen_cfg_preset(hr_gen_cfg_t *cfg, const char *name, double *seconds)
{
  if (!cfg || !name)
    return HR_ERR_INVALID_ARG;
  int k = 0;
  while (k < N_PRESETS && strcmp(presets[k].name, name) != 0)
    k++;
  if (k == N_PRESETS)
    return HR_ERR_NOT_FOUND;

  /* Keep the caller's sampling, system and identity; reset the rest. */
  hr_gen_cfg_t keep = *cfg;
  hr_gen_cfg_init(cfg);
  cfg->fs_hz = keep.fs_hz;
  cfg->f_nom_hz = keep.f_nom_hz;
  cfg->f_hz = keep.f_nom_hz;
  cfg->layout = keep.layout;
  cfg->has_in = keep.has_in;
  cfg->t0_ns = keep.t0_ns;
  cfg->seed = keep.seed;
  /* A 480Y/277 V system: 277 V line-to-neutral, 480 V line-to-line. */
  cfg->u_v = cfg->layout == HR_LAYOUT_3P3W ? 480.0 : 277.0;
  const double fn = cfg->f_nom_hz;
  double len_s = 10.0;
  hr_gen_event_t ev = {HR_GEN_EVENT_DIP, 1.0, 0.5, 70.0, HR_GEN_PHASE_ALL, 0.0};

  switch (k) {
  case 0: /* sine */
    break;
  case 1: /* ai-rack */
    cfg->load = HR_GEN_LOAD_AI_RACK;
    for (unsigned j = 0; j < sizeof rack_spectrum / sizeof rack_spectrum[0]; j++)
      cfg->i_harm[cfg->n_i_harm++] = rack_spectrum[j];
    /* Background distortion of a commercial feeder. */
    cfg->u_harm[cfg->n_u_harm++] = (hr_gen_harmonic_t){5, 1.5, 0.0};
    cfg->u_harm[cfg->n_u_harm++] = (hr_gen_harmonic_t){7, 1.0, 0.0};
    break;
  case 2: /* iec-freq: the kind of distorted, off-nominal supply IEC 61000-4-30
           * frequency measurement must reject (its 10 s interval, Class A
           * +-10 mHz); 11 s covers one whole 10 s interval from t0 = 0. */
    cfg->f_hz = fn + 0.5;
    cfg->u_harm[cfg->n_u_harm++] = (hr_gen_harmonic_t){3, 10.0, 0.0};
    cfg->u_harm[cfg->n_u_harm++] = (hr_gen_harmonic_t){5, 10.0, 0.0};
    cfg->u_iharm[cfg->n_u_iharm++] = (hr_gen_interharmonic_t){7.5 * fn, 1.0, 0.0};
    len_s = 11.0;
    break;
  case 3: { /* harmonics: IEC 61000-2-2 LV compatibility levels, all at once */
    static const hr_gen_harmonic_t h[] = {{2, 2.0, 0}, {3, 5.0, 0}, {4, 1.0, 0},  {5, 6.0, 0},
                                          {7, 5.0, 0}, {9, 1.5, 0}, {11, 3.5, 0}, {13, 3.0, 0}};
    for (unsigned j = 0; j < sizeof h / sizeof h[0]; j++)
      cfg->u_harm[cfg->n_u_harm++] = h[j];
    len_s = 2.0;
    break;
  }
  case 4: /* dip: IEC 61000-4-11 level 70 % for 25/30 cycles (0.5 s) on phase a */
    ev.phases = HR_GEN_PHASE_A;
    cfg->events[cfg->n_events++] = ev;
    len_s = 3.0;
    break;
  case 5: /* swell */
    ev.kind = HR_GEN_EVENT_SWELL;
    ev.residual_pct = 120.0;
    cfg->events[cfg->n_events++] = ev;
    len_s = 3.0;
    break;
  case 6: /* interruption */
    ev.kind = HR_GEN_EVENT_INTERRUPTION;
    ev.residual_pct = 0.0;
    ev.duration_s = 1.0;
    cfg->events[cfg->n_events++] = ev;
    len_s = 3.0;
    break;
  case 7: /* ramp: C37.118.1 frequency ramp, +-1 Hz/s over the P-class +-2 Hz */
    cfg->f_hz = fn - 2.0;
    cfg->ramp_hz_per_s = 1.0;
    cfg->ramp_start_s = 0.5;
    cfg->ramp_stop_s = 4.5;
    len_s = 5.0;
    break;
  case 8: /* modulation: C37.118.1 bandwidth, kx = ka = 0.1 at the P-class
           * maximum of 2 Hz */
    cfg->am_kx = 0.1;
    cfg->am_f_hz = 2.0;
    cfg->pm_ka_rad = 0.1;
    cfg->pm_f_hz = 2.0;
    len_s = 5.0;
    break;
  case 9: /* step: C37.118.1 magnitude step +10 % and phase step +10 deg */
    cfg->amp_steps[cfg->n_amp_steps++] = (hr_gen_amp_step_t){1.0, 10.0};
    cfg->phase_steps[cfg->n_phase_steps++] = (hr_gen_phase_step_t){2.0, 10.0};
    len_s = 3.0;
    break;
  default:
    break;
  }
  if (seconds)
    *seconds = len_s;
  return HR_OK;
}
