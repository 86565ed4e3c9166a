/* headroom: waveform capture — a fixed ring of a meter's raw frames, triggers,
 * and COMTRADE output of triggered windows.
 *
 * The meter thread calls hr_capture_push with the same frames it gives the
 * meter: a copy into a ring sized at creation, plus the level-trigger checks.
 * push never allocates, never blocks, never fails.  Triggers (an engine event
 * record through hr_capture_on_record, a level on a channel, or an external
 * request through hr_capture_trigger) open a window of pre_s before and post_s
 * after the trigger; a trigger that overlaps or touches a pending window
 * extends that window instead of opening another (up to max_s, after which
 * the next window starts where the previous one ends, so no frame is written
 * twice).  When a window's last frame has been pushed, hr_capture_ready
 * reports it; the caller's writer step copies it out of the ring with
 * hr_capture_take (a snapshot into a caller buffer, sized by
 * hr_capture_window_frames) and writes it with hr_capture_write_comtrade, off
 * the measurement path if it likes (the snapshot no longer touches the ring).
 *
 * Memory: ring_s * fs_hz * n_channels * 4 bytes (60 s of 7 channels at 8 kHz:
 * 13.4 MB), plus a fixed table of HR_CAPTURE_MAX_WINDOWS windows.
 *
 * A capture object is not thread-safe: push, trigger, ready and take must be
 * called from one thread (or under the caller's lock).  Time is the sample
 * clock: frame j is at t0_ns + j / fs_hz. */
#ifndef HEADROOM_CAPTURE_H
#define HEADROOM_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/comtrade.h"
#include "headroom/export.h"
#include "headroom/layout.h"
#include "headroom/pq.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HR_CAPTURE_MAX_WINDOWS 16 /* pending windows; more triggers are counted as dropped */
#define HR_CAPTURE_MAX_LEVELS 8

/* Why a window was captured (hr_capture_window_t.reasons bits). */
enum {
  HR_CAPTURE_EVENT = 1u << 0,   /* an engine event record */
  HR_CAPTURE_LEVEL = 1u << 1,   /* a configured level trigger */
  HR_CAPTURE_EXTERNAL = 1u << 2 /* hr_capture_trigger (CLI, API) */
};

/* Level trigger: |sample of channel| > threshold, in the channel's unit. */
typedef struct hr_capture_level {
  int channel;     /* 0 <= channel < n_channels */
  float threshold; /* > 0 [V or A] */
} hr_capture_level_t;

typedef struct hr_capture_cfg {
  int n_channels;      /* 1 <= n_channels <= HR_MAX_CH */
  double fs_hz;        /* sample rate [Hz], 100 <= fs_hz <= 1e6 */
  int64_t t0_ns;       /* time of frame 0 [ns since the epoch] */
  double ring_s;       /* ring length [s], default 60; ring_s * fs_hz <= 2^31 frames */
  double pre_s;        /* before the trigger [s], default 0.5, < ring_s */
  double post_s;       /* after the trigger [s], default 1.0 */
  double max_s;        /* longest window [s], default 10, pre_s + post_s <= max_s <= ring_s / 2 */
  unsigned event_mask; /* HR_EVT_* types (bit 1 << type) that trigger; default dips,
                          swells, interruptions, RVC, steps and alarms */
  hr_capture_level_t levels[HR_CAPTURE_MAX_LEVELS];
  int n_levels;
  double level_holdoff_s; /* a level re-triggers at most this often [s], default post_s / 2 */
} hr_capture_cfg_t;

/* A captured window: frames [first_frame, first_frame + n_frames). */
typedef struct hr_capture_window {
  uint64_t id; /* 1, 2, ... in trigger order */
  int64_t first_frame;
  int64_t n_frames;
  int64_t start_ns;    /* time of first_frame */
  int64_t trigger_ns;  /* the first trigger of the window */
  unsigned reasons;    /* HR_CAPTURE_* bits of every trigger merged in */
  int n_triggers;      /* triggers merged into this window */
  int64_t lost_frames; /* take: frames already overwritten in the ring (not copied) */
} hr_capture_window_t;

typedef struct hr_capture_stats {
  int64_t frames;           /* frames pushed */
  int64_t triggers;         /* triggers accepted */
  int64_t merged;           /* of which extended a pending window */
  int64_t dropped_triggers; /* refused: window table full */
  int64_t windows;          /* windows taken */
  int64_t lost_frames;      /* frames overwritten before they were taken */
} hr_capture_stats_t;

typedef struct hr_capture hr_capture_t;

/* Defaults for n_channels at fs_hz (see the field comments). */
HR_API int hr_capture_cfg_init(hr_capture_cfg_t *cfg, int n_channels, double fs_hz);

/* Bytes hr_capture_create allocates for cfg (0 when cfg is invalid). */
HR_API size_t hr_capture_memory_bytes(const hr_capture_cfg_t *cfg);

/* Creates a capture ring.  cfg is copied.  *out is owned by the caller
 * (hr_capture_destroy).  Returns HR_OK, HR_ERR_INVALID_ARG, HR_ERR_RANGE or
 * HR_ERR_NOMEM. */
HR_API int hr_capture_create(const hr_capture_cfg_t *cfg, hr_capture_t **out);
HR_API void hr_capture_destroy(hr_capture_t *cap);

/* Appends n_frames interleaved frames (n_channels floats each; borrowed for
 * the call) and checks the level triggers.  Never allocates or fails. */
HR_API void hr_capture_push(hr_capture_t *cap, const float *frames, size_t n_frames);

/* Requests a capture around t_ns (sample clock).  reason: HR_CAPTURE_* bit.
 * Returns HR_OK, HR_ERR_FULL (HR_CAPTURE_MAX_WINDOWS pending; counted) or
 * HR_ERR_RANGE (t_ns before the oldest frame the ring can still hold). */
HR_API int hr_capture_trigger(hr_capture_t *cap, int64_t t_ns, unsigned reason);

/* Feeds an engine record: an event start notice of a type in event_mask
 * triggers at its start_ns; its end record extends the window to its end.
 * Other records are ignored.  Returns as hr_capture_trigger (HR_OK when
 * ignored). */
HR_API int hr_capture_on_record(hr_capture_t *cap, const hr_record_t *rec);

/* Reports the oldest window whose last frame has been pushed: returns 1 and
 * fills *out, or 0 when none is complete.  final != 0 also reports a window
 * still open (end of stream), cut at the last pushed frame. */
HR_API int hr_capture_ready(const hr_capture_t *cap, int final, hr_capture_window_t *out);

/* Frames in the window hr_capture_ready would report (for sizing). */
HR_API int64_t hr_capture_window_frames(const hr_capture_window_t *win);

/* Copies the window reported by hr_capture_ready (same `final`) into dst
 * (max_frames * n_channels floats, caller-owned) and removes it.  Frames
 * already overwritten are not copied: *out gets the window actually copied
 * (first_frame moved forward, lost_frames set).  Returns HR_OK, HR_ERR_STATE
 * (no window ready), HR_ERR_FULL (max_frames too small; nothing removed). */
HR_API int hr_capture_take(hr_capture_t *cap, int final, float *dst, size_t max_frames,
                           hr_capture_window_t *out);

HR_API void hr_capture_get_stats(const hr_capture_t *cap, hr_capture_stats_t *out);

/* What to write into a capture's CFG.  Strings are borrowed for the call. */
typedef struct hr_capture_meta {
  const char *station;   /* station_name; NULL: "headroom" */
  const char *device_id; /* rec_dev_id and the file name prefix; NULL: "meter" */
  hr_layout_t layout;    /* names channels (ua/ia...) and phases; 0: generic ch1.. */
  double line_freq_hz;   /* lf: 50 or 60 */
} hr_capture_meta_t;

/* Writes a taken window as COMTRADE 2013 in dir (IEEE C37.111-2013 §7-§9):
 * name "<device>_<yyyymmddThhmmss.ffffff>_<id>", FLOAT32 values as given or
 * BINARY32/BINARY codes scaled per channel, timestamps in µs (frac_digits 6)
 * or ns (9; timemult grows when the window is longer than 2^32 - 1 ns), and
 * the trigger time.  Temporary name + rename (hr_ct_write).
 *   frames : win->n_frames frames, borrowed.
 *   path   : optional; receives the base path written (path_len bytes).
 * Returns HR_OK, HR_ERR_INVALID_ARG, HR_ERR_NOMEM or HR_ERR_IO. */
HR_API int hr_capture_write_comtrade(const hr_capture_window_t *win, const float *frames,
                                     int n_channels, double fs_hz, const hr_capture_meta_t *meta,
                                     const char *dir, hr_ct_format_t format, int frac_digits,
                                     int cff, char *path, size_t path_len);

#ifdef __cplusplus
}
#endif
#endif
