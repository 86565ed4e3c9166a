/* Waveform capture ring, triggers with overlap merging, and the COMTRADE
 * writer step (IEEE C37.111-2013).  push is a copy into a ring sized at
 * creation plus the level checks: no allocation, no I/O, no failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_int.h"
#include "headroom/capture.h"
#include "headroom/error.h"

struct hr_capture {
  hr_capture_cfg_t cfg;
  float *ring;
  int64_t cap_frames; /* ring length [frames] */
  int64_t pushed;     /* frames pushed so far */
  int64_t pre, post, maxf, holdoff;
  hr_capture_window_t win[HR_CAPTURE_MAX_WINDOWS];
  int head, count;
  uint64_t next_id;
  int64_t level_next_ok; /* first frame at which a level may trigger again */
  int64_t taken_end;     /* end of the last window taken: no frame is captured twice */
  hr_capture_stats_t st;
};

int hr_capture_cfg_init(hr_capture_cfg_t *cfg, int n_channels, double fs_hz)
{
  if (!cfg)
    return HR_ERR_INVALID_ARG;
  memset(cfg, 0, sizeof *cfg);
  cfg->n_channels = n_channels;
  cfg->fs_hz = fs_hz;
  cfg->ring_s = 60;
  cfg->pre_s = 0.5;
  cfg->post_s = 1.0;
  cfg->max_s = 10;
  cfg->event_mask = 1u << HR_EVT_DIP | 1u << HR_EVT_SWELL | 1u << HR_EVT_INTERRUPTION |
                    1u << HR_EVT_RVC | 1u << HR_EVT_POWER_STEP | 1u << HR_EVT_CURRENT_STEP |
                    1u << HR_EVT_ALARM;
  cfg->level_holdoff_s = 0.5;
  return HR_OK;
}

static int cfg_ok(const hr_capture_cfg_t *c)
{
  if (!c || c->n_channels < 1 || c->n_channels > HR_MAX_CH || !(c->fs_hz >= 100) ||
      !(c->fs_hz <= 1e6) || !(c->ring_s > 0) || !(c->pre_s >= 0) || !(c->post_s >= 0) ||
      !(c->pre_s < c->ring_s) || !(c->max_s >= c->pre_s + c->post_s) ||
      !(c->max_s <= c->ring_s / 2) || c->n_levels < 0 || c->n_levels > HR_CAPTURE_MAX_LEVELS ||
      !(c->level_holdoff_s >= 0) || c->ring_s * c->fs_hz > 2147483648.0)
    return 0;
  for (int k = 0; k < c->n_levels; k++)
    if (c->levels[k].channel < 0 || c->levels[k].channel >= c->n_channels ||
        !(c->levels[k].threshold > 0))
      return 0;
  return 1;
}

size_t hr_capture_memory_bytes(const hr_capture_cfg_t *cfg)
{
  if (!cfg_ok(cfg))
    return 0;
  return sizeof(struct hr_capture) +
         (size_t)ceil(cfg->ring_s * cfg->fs_hz) * (size_t)cfg->n_channels * sizeof(float);
}

int hr_capture_create(const hr_capture_cfg_t *cfg, hr_capture_t **out)
{
  if (!out || !cfg)
    return HR_ERR_INVALID_ARG;
  if (!cfg_ok(cfg))
    return HR_ERR_RANGE;
  hr_capture_t *c = calloc(1, sizeof *c);
  if (!c)
    return HR_ERR_NOMEM;
  c->cfg = *cfg;
  c->cap_frames = (int64_t)ceil(cfg->ring_s * cfg->fs_hz);
  c->ring = malloc((size_t)c->cap_frames * (size_t)cfg->n_channels * sizeof(float));
  if (!c->ring) {
    free(c);
    return HR_ERR_NOMEM;
  }
  c->pre = (int64_t)llround(cfg->pre_s * cfg->fs_hz);
  c->post = (int64_t)llround(cfg->post_s * cfg->fs_hz);
  c->maxf = (int64_t)llround(cfg->max_s * cfg->fs_hz);
  c->holdoff = (int64_t)llround(cfg->level_holdoff_s * cfg->fs_hz);
  if (c->post < 1)
    c->post = 1;
  if (c->maxf < c->pre + c->post)
    c->maxf = c->pre + c->post;
  c->next_id = 1;
  *out = c;
  return HR_OK;
}

void hr_capture_destroy(hr_capture_t *cap)
{
  if (!cap)
    return;
  free(cap->ring);
  free(cap);
}

static int64_t frame_time_ns(const hr_capture_t *c, int64_t j)
{
  return c->cfg.t0_ns + (int64_t)llround((double)j * 1e9 / c->cfg.fs_hz);
}

/* Opens or extends a window around trigger frame jt. */
static int trigger_frame(hr_capture_t *c, int64_t jt, int64_t t_ns, unsigned reason)
{
  int64_t start = jt - c->pre, end = jt + c->post;
  if (end <= c->pushed - c->cap_frames || end <= 0)
    return HR_ERR_RANGE;
  /* Never before the end of an earlier window: a frame is captured once. */
  int64_t floor_ = c->taken_end;
  if (c->count >= 2) {
    const hr_capture_window_t *p = &c->win[(c->head + c->count - 2) % HR_CAPTURE_MAX_WINDOWS];
    floor_ = p->first_frame + p->n_frames;
  }
  if (start < floor_)
    start = floor_;
  if (start < 0)
    start = 0;
  if (end <= start)
    return HR_OK; /* entirely inside windows already captured */
  int64_t oldest = c->pushed - c->cap_frames;
  if (end <= oldest || end <= 0)
    return HR_ERR_RANGE;
  if (c->count > 0) {
    hr_capture_window_t *w = &c->win[(c->head + c->count - 1) % HR_CAPTURE_MAX_WINDOWS];
    int64_t wend = w->first_frame + w->n_frames;
    if (start <= wend) {
      /* Overlapping or touching: one capture, extended (not a duplicate). */
      int64_t first = start < w->first_frame ? start : w->first_frame;
      int64_t last = end > wend ? end : wend;
      if (first < w->first_frame && wend - first <= c->maxf) {
        w->first_frame = first;
        w->start_ns = frame_time_ns(c, first);
      }
      int64_t limit = w->first_frame + c->maxf;
      w->n_frames = (last < limit ? last : limit) - w->first_frame;
      w->reasons |= reason;
      w->n_triggers++;
      c->st.triggers++;
      c->st.merged++;
      if (last <= limit)
        return HR_OK;
      /* Longer than max_s: the rest goes to a new window that starts where
       * this one ends, so no frame is captured twice. */
      start = limit;
    }
  }
  if (c->count == HR_CAPTURE_MAX_WINDOWS) {
    c->st.dropped_triggers++;
    return HR_ERR_FULL;
  }
  hr_capture_window_t *w = &c->win[(c->head + c->count) % HR_CAPTURE_MAX_WINDOWS];
  memset(w, 0, sizeof *w);
  w->id = c->next_id++;
  w->first_frame = start;
  w->n_frames = (end - start) < c->maxf ? end - start : c->maxf;
  w->start_ns = frame_time_ns(c, start);
  w->trigger_ns = t_ns;
  w->reasons = reason;
  w->n_triggers = 1;
  c->count++;
  c->st.triggers++;
  return HR_OK;
}

int hr_capture_trigger(hr_capture_t *cap, int64_t t_ns, unsigned reason)
{
  if (!cap)
    return HR_ERR_INVALID_ARG;
  double j = ceil((double)(t_ns - cap->cfg.t0_ns) * cap->cfg.fs_hz / 1e9 - 1e-9);
  if (!(j > -9e18 && j < 9e18))
    return HR_ERR_RANGE;
  return trigger_frame(cap, (int64_t)j, t_ns, reason ? reason : HR_CAPTURE_EXTERNAL);
}

int hr_capture_on_record(hr_capture_t *cap, const hr_record_t *rec)
{
  if (!cap || !rec)
    return HR_ERR_INVALID_ARG;
  if (rec->kind != HR_REC_EVENT)
    return HR_OK;
  const hr_event_rec_t *e = &rec->u.event;
  if ((unsigned)e->type >= 32 || !(cap->cfg.event_mask & (1u << e->type)))
    return HR_OK;
  /* The start notice opens the window; the end record extends it past the end. */
  int64_t t = e->ended ? e->start_ns + e->duration_ns : e->start_ns;
  return hr_capture_trigger(cap, t, HR_CAPTURE_EVENT);
}

void hr_capture_push(hr_capture_t *cap, const float *frames, size_t n_frames)
{
  if (!cap || !frames || n_frames == 0)
    return;
  const size_t nc = (size_t)cap->cfg.n_channels;
  /* Level triggers, IEC-free: instantaneous |x| > threshold. */
  for (int l = 0; l < cap->cfg.n_levels; l++) {
    const size_t ch = (size_t)cap->cfg.levels[l].channel;
    const float thr = cap->cfg.levels[l].threshold;
    for (size_t k = 0; k < n_frames; k++) {
      int64_t j = cap->pushed + (int64_t)k;
      if (j < cap->level_next_ok)
        continue;
      if (fabsf(frames[k * nc + ch]) > thr) {
        /* A full window table is counted in the stats; push never fails. */
        (void)trigger_frame(cap, j, frame_time_ns(cap, j), HR_CAPTURE_LEVEL);
        cap->level_next_ok = j + (cap->holdoff > 0 ? cap->holdoff : 1);
      }
    }
  }
  /* Copy into the ring; only the last cap_frames matter. */
  size_t n = n_frames;
  const float *src = frames;
  if ((int64_t)n > cap->cap_frames) {
    src += (n - (size_t)cap->cap_frames) * nc;
    cap->pushed += (int64_t)(n - (size_t)cap->cap_frames);
    n = (size_t)cap->cap_frames;
  }
  size_t pos = (size_t)(cap->pushed % cap->cap_frames);
  size_t first = (size_t)cap->cap_frames - pos < n ? (size_t)cap->cap_frames - pos : n;
  memcpy(cap->ring + pos * nc, src, first * nc * sizeof(float));
  if (n > first)
    memcpy(cap->ring, src + first * nc, (n - first) * nc * sizeof(float));
  cap->pushed += (int64_t)n;
  cap->st.frames += (int64_t)n_frames;
}

int hr_capture_ready(const hr_capture_t *cap, int final, hr_capture_window_t *out)
{
  if (!cap || cap->count == 0)
    return 0;
  hr_capture_window_t w = cap->win[cap->head];
  int64_t end = w.first_frame + w.n_frames;
  if (end > cap->pushed) {
    if (!final || cap->pushed <= w.first_frame)
      return 0;
    w.n_frames = cap->pushed - w.first_frame;
  }
  if (out)
    *out = w;
  return 1;
}

int64_t hr_capture_window_frames(const hr_capture_window_t *win)
{
  return win ? win->n_frames : 0;
}

int hr_capture_take(hr_capture_t *cap, int final, float *dst, size_t max_frames,
                    hr_capture_window_t *out)
{
  hr_capture_window_t w;
  if (!cap || !dst)
    return HR_ERR_INVALID_ARG;
  if (!hr_capture_ready(cap, final, &w))
    return HR_ERR_STATE;
  int64_t oldest = cap->pushed - cap->cap_frames;
  int64_t lost = oldest > w.first_frame ? oldest - w.first_frame : 0;
  if (lost > w.n_frames)
    lost = w.n_frames;
  int64_t n = w.n_frames - lost;
  if ((uint64_t)n > max_frames)
    return HR_ERR_FULL;
  const size_t nc = (size_t)cap->cfg.n_channels;
  int64_t from = w.first_frame + lost;
  size_t pos = (size_t)(from % cap->cap_frames);
  size_t first =
      (size_t)cap->cap_frames - pos < (size_t)n ? (size_t)cap->cap_frames - pos : (size_t)n;
  memcpy(dst, cap->ring + pos * nc, first * nc * sizeof(float));
  if ((size_t)n > first)
    memcpy(dst + first * nc, cap->ring, ((size_t)n - first) * nc * sizeof(float));
  w.first_frame = from;
  w.n_frames = n;
  w.start_ns = frame_time_ns(cap, from);
  w.lost_frames = lost;
  cap->head = (cap->head + 1) % HR_CAPTURE_MAX_WINDOWS;
  cap->count--;
  cap->st.windows++;
  cap->st.lost_frames += lost;
  cap->taken_end = w.first_frame + w.n_frames;
  if (out)
    *out = w;
  return HR_OK;
}

void hr_capture_get_stats(const hr_capture_t *cap, hr_capture_stats_t *out)
{
  if (cap && out)
    *out = cap->st;
}

/* ------------------------------------------------------------ writer step */

static void channel_names(hr_layout_t layout, int n, int k, char *id, size_t idn, char *ph,
                          size_t phn, char *unit, size_t un)
{
  static const char *const l4[] = {"ua", "ub", "uc", "ia", "ib", "ic", "in"};
  static const char *const p4[] = {"A", "B", "C", "A", "B", "C", "N"};
  static const char *const l3[] = {"uab", "ubc", "uca", "ia", "ib", "ic"};
  static const char *const p3[] = {"AB", "BC", "CA", "A", "B", "C"};
  static const char *const l1[] = {"u1", "i1"};
  const char *nm = NULL, *p = "";
  int is_u = 0;
  if (layout == HR_LAYOUT_3P4W && n >= 6 && n <= 7) {
    nm = l4[k];
    p = p4[k];
    is_u = k < 3;
  } else if (layout == HR_LAYOUT_3P3W && n == 6) {
    nm = l3[k];
    p = p3[k];
    is_u = k < 3;
  } else if (layout == HR_LAYOUT_1P2W && n == 2) {
    nm = l1[k];
    is_u = k == 0;
  }
  if (nm)
    snprintf(id, idn, "%s", nm);
  else
    snprintf(id, idn, "ch%d", k + 1);
  snprintf(ph, phn, "%s", p);
  snprintf(unit, un, "%s", nm ? (is_u ? "V" : "A") : "");
}

int hr_capture_write_comtrade(const hr_capture_window_t *win, const float *frames, int n_channels,
                              double fs_hz, const hr_capture_meta_t *meta, const char *dir,
                              hr_ct_format_t format, int frac_digits, int cff, char *path,
                              size_t path_len)
{
  if (!win || !frames || !dir || n_channels < 1 || n_channels > HR_MAX_CH || !(fs_hz > 0) ||
      win->n_frames < 1 || (frac_digits != 6 && frac_digits != 9) || win->n_frames > 0xFFFFFFFFLL)
    return HR_ERR_INVALID_ARG;
  hr_ct_rec_t *r;
  int rc = hr_ct_rec_create(n_channels, 0, win->n_frames, &r);
  if (rc != HR_OK)
    return rc;
  const char *dev = meta && meta->device_id ? meta->device_id : "meter";
  hr_ct_cfg_t *c = &r->cfg;
  snprintf(c->station, sizeof c->station, "%s", meta && meta->station ? meta->station : "headroom");
  snprintf(c->rec_dev_id, sizeof c->rec_dev_id, "%s", dev);
  for (int k = 0; k < n_channels; k++) {
    hr_ct_analog_t *a = &c->analog[k];
    channel_names(meta ? meta->layout : (hr_layout_t)0, n_channels, k, a->id, sizeof a->id, a->ph,
                  sizeof a->ph, a->unit, sizeof a->unit);
    a->a = 1;
    a->b = 0;
    a->min = -3.4028234663852886e38;
    a->max = 3.4028234663852886e38;
    a->primary = a->secondary = 1;
    a->ps = 'P';
  }
  c->line_freq_hz = meta && meta->line_freq_hz > 0 ? meta->line_freq_hz : 50;
  c->n_rates = 1;
  c->rates[0].samp_hz = fs_hz;
  c->rates[0].end_sample = win->n_frames;
  c->end_sample = win->n_frames;
  c->start_ns = win->start_ns;
  c->trigger_ns = win->trigger_ns;
  c->frac_digits = frac_digits;
  c->format = format;
  snprintf(c->time_code, sizeof c->time_code, "0");
  snprintf(c->local_code, sizeof c->local_code, "0");
  snprintf(c->tmq_code, sizeof c->tmq_code, "F"); /* §7.4.11: clock quality not reported */
  /* §7.4.9: timestamps in µs (or ns) times timemult; grow timemult by 10s
   * until the window's last timestamp fits the 32-bit field. */
  double unit_ns = frac_digits == 9 ? 1 : 1000;
  double span = (double)win->n_frames * 1e9 / fs_hz / unit_ns;
  double mult = 1;
  while (span / mult > 4.0e9)
    mult *= 10;
  c->timemult = mult;
  size_t nc = (size_t)n_channels;
  for (int64_t k = 0; k < win->n_frames; k++) {
    r->sample_num[k] = k + 1;
    r->timestamp[k] = (int64_t)llround((double)k * 1e9 / fs_hz / unit_ns / mult);
    for (size_t ch = 0; ch < nc; ch++)
      r->raw[(size_t)k * nc + ch] = frames[(size_t)k * nc + ch];
  }
  rc = hr_ct_rec_quantize(r, format);
  int64_t s = win->start_ns / 1000000000, us = win->start_ns % 1000000000 / 1000;
  if (us < 0) {
    us += 1000000;
    s--;
  }
  int64_t days = s / 86400, sod = s % 86400;
  if (sod < 0) {
    sod += 86400;
    days--;
  }
  int64_t y;
  unsigned mo, d;
  hr__ct_civil_from_days(days, &y, &mo, &d);
  char base[4096];
  int n = snprintf(base, sizeof base, "%s/%s_%04lld%02u%02uT%02d%02d%02d_%06lld_%llu", dir, dev,
                   (long long)y, mo, d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
                   (long long)us, (unsigned long long)win->id);
  if (n < 0 || (size_t)n >= sizeof base)
    rc = HR_ERR_INVALID_ARG;
  for (char *p = base + strlen(dir) + 1; rc == HR_OK && *p; p++)
    if (*p == '/' || *p == ' ' || *p == ',')
      *p = '_';
  hr_ct_write_opts_t o = {.format = format, .cff = cff, .frac_digits = frac_digits};
  if (rc == HR_OK)
    rc = hr_ct_write(r, base, &o);
  if (rc == HR_OK && path && path_len)
    snprintf(path, path_len, "%s", base);
  hr_ct_rec_destroy(r);
  return rc;
}
