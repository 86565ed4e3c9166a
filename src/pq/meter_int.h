/* The meter object, shared by meter.c (sample path, windows, records) and
 * events.c (event detectors). */
#ifndef HR_PQ_METER_INT_H
#define HR_PQ_METER_INT_H

#include <stdint.h>

#include "pq_int.h"

#define HR__PENDING_MAX 16
#define HR__SLOT 8 /* floats per frame slot in the ring, >= HR_MAX_CH + 1 */

/* A fundamental zero crossing moved back by the filter delay: the boundary
 * between two half cycles, as a fractional sample position. */
typedef struct hr__boundary {
  double pos;
  double freq_hz; /* frequency of the cycle that ends here (rising only), 0 if unknown */
  int rising;
  int real; /* 0: synthesised because no crossing came (free-running) */
  /* End of the one-period window that commences at the boundary two before
   * this one (IEC 61000-4-30 §5.4.2): that boundary plus one period of the
   * tracked frequency when this one was scheduled.  The boundary is
   * processed once the samples up to max(pos, win_end) are in. */
  double win_end;
} hr__boundary_t;

/* Sums over one half cycle [pos0, pos1). */
typedef struct hr__half {
  double pos0, pos1, len;
  double sq[HR_MAX_CH];
  double peak[HR_MAX_CH];
  double p[3];  /* active energy per phase [W * samples] */
  double uu[3]; /* ua*ub, ub*uc, uc*ua [V^2 * samples] (3P4W, for Ve) */
  uint32_t flags;
} hr__half_t;

/* Sums over several half cycles (a cycle or a 10/12-cycle interval). */
typedef struct hr__acc {
  int n;    /* half cycles (cycle) or cycles (interval) */
  int open; /* started at a rising boundary */
  double pos0, len;
  double sq[HR_MAX_CH];
  double peak[HR_MAX_CH];
  double p[3];
  double uu[3];
  double f_sum;
  uint32_t flags;
} hr__acc_t;

/* State of one polyphase voltage event (dip, swell or interruption). */
typedef struct hr__vevent {
  int active;
  int64_t start_ns;
  double extreme;
  unsigned channels;
} hr__vevent_t;

typedef struct hr__power_term {
  int phase, u, i;
  double coef;
} hr__power_term_t;

struct hr_meter {
  hr_meter_cfg_t cfg;
  int nu, ni, nch_in, nch; /* ni and nch include a derived neutral */
  int derive_in;           /* 3P4W without a measured neutral: in = -(ia+ib+ic) */
  int n_phase;             /* 1 or 3 */
  double fs;
  int64_t fs_mhz;          /* fs in mHz, exact */
  int cycles_per_interval; /* 10 at 50 Hz, 12 at 60 Hz */
  int rvc_n;               /* 100 at 50 Hz, 120 at 60 Hz (half cycles) */

  /* Sample ring of frame slots (HR__SLOT floats a frame: channel c in lane
   * c, zeros past the last channel), ring_len a power of two. */
  uint32_t ring_len, mask;
  int wide_sums; /* 1: the 8-double window sums (AVX-512), 0: halves */
  int copy16;    /* 1: the AVX-512 copy of 16-frame blocks (6 or 7 input channels) */
  int power16;   /* 1: the AVX-512 3P4W power products (chunk_power16) */
  float *fr;
  uint16_t *fring;   /* per-sample HR_FLAG_BAD_SAMPLE | HR_FLAG_CLIPPED */
  int64_t flag_last; /* index of the last frame with a flag, -1 if none */
  double *pcum;      /* running sum of total instantaneous power, inclusive */
  double pcum_acc;
  hr__power_term_t pterm[6];
  int n_pterm;
  float clip[HR_MAX_CH];
  float corrupt[HR_MAX_CH]; /* |x| at or above this is a corrupt sample */
  float zc_sub;             /* reference value the band-pass got for frame zc_sub_n */
  int64_t zc_sub_n;

  int64_t n;     /* frames consumed; the next frame has index n */
  int64_t n_max; /* frames the stream may hold before timestamps overflow */
  int64_t next_due;
  int ms_events; /* a detector reads the 1-ms series */
  int need_pcum; /* the running power sum is kept (the 1-ms series is read) */

  /* Zero crossings. */
  hr__zc_filter_t zc;
  double y_prev;
  int arm_rise, arm_fall;
  double zc_hyst;
  int64_t zc_j;   /* decimated samples filtered so far */
  double zc_bsum; /* running block sum for the decimated reference */
  int zc_bcnt;
  double min_half;     /* shortest accepted half period [samples] */
  double f_min, f_max; /* tracking range [Hz] */
  int have_real, have_raw_rise;
  double last_real_pos, last_raw_rise_pos; /* filtered positions */
  /* Per polarity (0 falling, 1 rising): the last accepted crossing and the
   * period since the one before it, to tell steady crossings from disturbed
   * ones (see on_crossing). */
  int have_pol[2], have_per[2];
  double pol_pos[2], pol_per[2];
  int zc_hold;   /* crossings still distrusted after a disturbed one */
  int f_blocked; /* rising crossings in a row not trusted */
  int f_settled; /* the history restarted once the filter settled */
  double f_est;  /* frequency used for window lengths, boundaries and
                    sliding windows: the median of the last trusted
                    cycle frequencies */
  double f_hist[8];
  int f_hist_n, f_hist_head;
  double f_rej[3]; /* cycle frequencies in a row far from f_est */
  int f_rej_n;
  int lock_misses;
  double delay_f, delay; /* filter delay cached for frequency delay_f [samples] */
  double zc_h2_6;        /* h^2/6, h the decimated sample spacing at delay_f [rad] */
  int out_of_range;
  int locked; /* boundaries follow the phase lock (see on_crossing) */
  double settle_pos;

  hr__boundary_t pend[HR__PENDING_MAX];
  int pend_head, pend_count;
  double last_sched_pos, prev_sched_pos; /* the last two boundaries scheduled */
  int last_sched_rising;
  double freerun_due_pos;

  /* Processed boundaries and the half cycles between them. */
  double prev_bpos;
  int prev_rising, prev_real;
  hr__half_t h_prev;
  int have_h_prev;
  hr__acc_t cyc, itv;
  /* IEC 61000-4-30 §4.5.3: the 10/12-cycle interval started at the first
   * cycle at or after a 10-min tick while itv, which the tick fell in, runs
   * to its end (n = 0 otherwise); itv_tick_ns: the first tick after itv's
   * start. */
  hr__acc_t itv2;
  int64_t itv_tick_ns;

  /* Millisecond ticks at positions e = e_int + e_rem / 1e6. */
  int64_t ms_e_int, ms_e_rem;
  int64_t ms_index; /* number of the next tick: it ends at ms_index ms */
  double ms_prev_pos;
  double ms_cycle_f, ms_cycle_len, ms_cycle_inv; /* sliding cycle at f_est = ms_cycle_f */
  double p_prev;
  int have_p_prev;

  /* IEC 10-s frequency. */
  int64_t f10_end_ns;
  double f10_first, f10_last;  /* first and last trusted rising crossing */
  int f10_count;               /* rising crossings in the interval so far */
  int f10_first_n, f10_last_n; /* their numbers among them */
  int f10_have;
  uint32_t f10_flags;

  /* Dips, swells, interruptions (IEC 61000-4-30 §5.4, §5.5). */
  hr__vevent_t dip, swell, intr;

  /* RVC (IEC 61000-4-30 §5.11). */
  double *rvc_ring[HR_MAX_U]; /* last rvc_n Urms(1/2) values per channel */
  double rvc_sum[HR_MAX_U];
  double rvc_min[HR_MAX_U], rvc_max[HR_MAX_U]; /* extremes of the window */
  int rvc_head, rvc_count;
  int rvc_active, rvc_steady;
  double rvc_mean_before[HR_MAX_U];
  double rvc_dumax;
  int64_t rvc_start_ns;
  double *rvc_pos; /* boundary position of each value in the ring */
  unsigned rvc_channels;

  hr__swing_t pswing, iswing;
  hr__alarm_t alarm[HR_MAX_ALARMS];
  /* Position of the last 1-ms tick the detectors saw (its events close there
   * when the stream ends); 0 before the first. */
  double ms_ev_pos;
  uint32_t event_flags; /* flags given to event records (HR_FLAG_OPEN while finishing) */

  hr_record_cb cb;
  void *cb_user;
  hr_record_t *queue;
  size_t qcap, qhead, qcount;
  hr_meter_stats_t st;

  void *arena; /* one allocation for every array above */

  struct hr__harm *harm; /* harmonics stage (harmonics.c), NULL unless HR_REC_HARM is asked for */
  struct hr__agg *agg;   /* aggregation stage (agg.c), NULL unless HR_REC_AGG150 or
                            HR_REC_AGG10MIN is asked for */
  /* power-swing stage (swing.c), NULL unless HR_REC_SWING is asked for */
  struct hr__swing_stage *swing_stage;
  struct hr__pmu *pmu; /* synchrophasor stage (phasor.c), NULL unless HR_REC_PHASOR is asked for */
  struct hr_flicker
      *flicker;       /* flickermeter (flicker.c), NULL unless HR_REC_FLICKER is asked for */
  const float *flk_x; /* the caller's frames of the chunk being run (for the flickermeter) */
};

/* meter.c */
int64_t hr__meter_t_ns(const hr_meter_t *m, double pos);
void hr__meter_emit(hr_meter_t *m, hr_record_t *rec);
void hr__meter_rec_init(const hr_meter_t *m, hr_record_t *rec, hr_rec_kind_t kind);
/* For tests: on = 1 selects the 8-double (AVX-512) window sums, 0 the
 * 4-double halves; m is borrowed.  HR_ERR_UNSUPPORTED when on = 1 and the
 * machine has no AVX-512 (or the build has no clones).  Call before the
 * first push. */
int hr__meter_set_wide_sums(hr_meter_t *m, int on);

/* events.c */
size_t hr__events_arena_doubles(const hr_meter_cfg_t *cfg, int rvc_n);
void hr__events_init(hr_meter_t *m, double *arena);
void hr__events_reset(hr_meter_t *m);
/* After each half cycle: h is the newest half cycle, hp the one before;
 * urms/irms are the Urms(1/2)/Irms(1/2) over both.  Returns the
 * HR_FLAG_EVENT bit when a dip, swell or interruption is in progress. */
uint32_t hr__events_half(hr_meter_t *m, const hr__half_t *hp, const hr__half_t *h,
                         const double *urms, const double *irms);
void hr__events_ms(hr_meter_t *m, double t_s, double p_w, double dpdt, double ipeak);
void hr__events_cycle(hr_meter_t *m, double pos, double freq_hz);
/* Closes every open event at the end of the series it was detected on
 * (hr_meter_finish): events of the half-cycle and cycle series at half_pos,
 * the last processed boundary; those of the 1-ms series (power steps, alarms
 * on P, dP/dt, peak current) at the last 1-ms tick they saw, which can be
 * later than that boundary, since a boundary waits a cycle for its window. */
void hr__events_finish(hr_meter_t *m, double half_pos);

#endif
