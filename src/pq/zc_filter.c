/* Band-pass filter that exposes the fundamental for zero-crossing detection,
 * and its phase delay so that crossings can be moved back to where the
 * fundamental crossed (IEC 61000-4-30 §5.4.2: "commencing at a fundamental
 * zero crossing"; §5.1.2: harmonics and interharmonics attenuated before the
 * frequency is measured). */
#include <complex.h>
#include <math.h>
#include <string.h>

#include "pq_int.h"

/* Butterworth sections by the bilinear transform with pre-warping (the
 * audio-EQ cookbook form, which is exact for these prototypes). */
static void design_lowpass(hr__biquad_t *q, double fs_hz, double fc_hz, double quality)
{
  double w0 = 2.0 * M_PI * fc_hz / fs_hz, c = cos(w0), alpha = sin(w0) / (2.0 * quality);
  double a0 = 1.0 + alpha;
  memset(q, 0, sizeof *q);
  q->b0 = (1.0 - c) / 2.0 / a0;
  q->b1 = (1.0 - c) / a0;
  q->b2 = q->b0;
  q->a1 = -2.0 * c / a0;
  q->a2 = (1.0 - alpha) / a0;
}

static void design_highpass(hr__biquad_t *q, double fs_hz, double fc_hz, double quality)
{
  double w0 = 2.0 * M_PI * fc_hz / fs_hz, c = cos(w0), alpha = sin(w0) / (2.0 * quality);
  double a0 = 1.0 + alpha;
  memset(q, 0, sizeof *q);
  q->b0 = (1.0 + c) / 2.0 / a0;
  q->b1 = -(1.0 + c) / a0;
  q->b2 = q->b0;
  q->a1 = -2.0 * c / a0;
  q->a2 = (1.0 - alpha) / a0;
}

void hr__zc_filter_init(hr__zc_filter_t *f, double fs_hz, double f_nom_hz)
{
  /* About 1 kHz after decimation: well above the 1.25 f_nom low-pass, and
   * the band-pass then costs an eighth of the samples at 8 kHz. */
  f->dec = (int)floor(fs_hz / 1000.0);
  if (f->dec < 1)
    f->dec = 1;
  f->fs_hz = fs_hz;
  double fd = fs_hz / f->dec;
  /* Quality factors of a 4th-order Butterworth: 1/(2 cos(pi/8)), 1/(2 cos(3pi/8)). */
  design_highpass(&f->s[0], fd, f_nom_hz / 4.0, M_SQRT1_2);
  design_lowpass(&f->s[1], fd, 1.25 * f_nom_hz, 0.54119610014619698);
  design_lowpass(&f->s[2], fd, 1.25 * f_nom_hz, 1.3065629648763766);
}

void hr__zc_filter_reset(hr__zc_filter_t *f)
{
  for (int k = 0; k < HR__ZC_SECTIONS; k++)
    f->s[k].x1 = f->s[k].x2 = f->s[k].y1 = f->s[k].y2 = 0.0;
}

static double complex section_response(const hr__biquad_t *q, double w)
{
  double complex z1 = cexp(-I * w), z2 = z1 * z1;
  return (q->b0 + q->b1 * z1 + q->b2 * z2) / (1.0 + q->a1 * z1 + q->a2 * z2);
}

double hr__zc_filter_delay_samples(const hr__zc_filter_t *f, double freq_hz)
{
  double w = 2.0 * M_PI * freq_hz * f->dec / f->fs_hz, phase = 0.0;
  /* Summing per-section phases keeps the total unwrapped: each section's
   * phase stays inside (-pi, pi) at frequencies near the fundamental. */
  for (int k = 0; k < HR__ZC_SECTIONS; k++)
    phase += carg(section_response(&f->s[k], w));
  /* The block mean is linear phase, centred (dec - 1)/2 samples after the
   * block's first sample, and crossings are placed with decimated sample j
   * at input position j*dec (its first sample). */
  return -phase / w * f->dec - (f->dec - 1) / 2.0;
}

void hr__zc_filter_tabulate(hr__zc_filter_t *f, double f_lo_hz, double f_hi_hz)
{
  f->tab_f0_hz = f_lo_hz;
  f->tab_df_hz = (f_hi_hz - f_lo_hz) / (HR__ZC_DELAY_N - 1);
  for (int k = 0; k < HR__ZC_DELAY_N; k++)
    f->delay_tab[k] = hr__zc_filter_delay_samples(f, f_lo_hz + k * f->tab_df_hz);
}

double hr__zc_filter_delay_fast(const hr__zc_filter_t *f, double freq_hz)
{
  double u = (freq_hz - f->tab_f0_hz) / f->tab_df_hz;
  if (!(u >= 0.0 && u < HR__ZC_DELAY_N - 1))
    return hr__zc_filter_delay_samples(f, freq_hz);
  int k = (int)u;
  double w = u - k;
  return f->delay_tab[k] + w * (f->delay_tab[k + 1] - f->delay_tab[k]);
}

double hr__zc_filter_gain(const hr__zc_filter_t *f, double freq_hz)
{
  double w = 2.0 * M_PI * freq_hz * f->dec / f->fs_hz, g = 1.0;
  for (int k = 0; k < HR__ZC_SECTIONS; k++)
    g *= cabs(section_response(&f->s[k], w));
  /* Block mean: |sin(pi f dec / fs) / (dec sin(pi f / fs))|. */
  double x = M_PI * freq_hz / f->fs_hz;
  if (f->dec > 1)
    g *= fabs(sin(x * f->dec) / (f->dec * sin(x)));
  return g;
}
