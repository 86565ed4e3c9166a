/* Private layout of hr_device_t, shared by the files of src/tree. */
#ifndef HR_TREE_PROTECT_INT_H
#define HR_TREE_PROTECT_INT_H

#include "headroom/protect.h"

/* MicroLogic behaviour after a short-time trip: the S delay drops to its
 * minimum band for this long, so a re-close onto the fault clears faster. */
#define HR__TSD_MIN_S 0.1
#define HR__S_TRIP_MEMORY_S 20.0

struct hr_device {
  hr_device_cfg_t cfg;
  /* Derived from cfg at init. */
  double tau_s;                     /* L thermal time constant [s] */
  double k2;                        /* L threshold, in units of (I/Ir)^2 */
  hr_curve_consts_t rc;             /* relay curve constants */
  double log_i[HR_FUSE_MAX_POINTS]; /* fuse table, natural logs */
  double log_t[HR_FUSE_MAX_POINTS];
  /* State. */
  double t_s; /* time since reset [s] */
  int tripped;
  hr_element_t element;
  unsigned n_trips;
  double t_trip_s;
  double theta[3];           /* L thermal image per phase, (I/Ir)^2 units */
  double acc[HR_ELEM_COUNT]; /* integrators of S, I, G, 51, 50, melt (0..1) */
  double s_min_until_s;      /* S delay at its minimum until this time */
  double below_s;            /* relay definite reset: time spent below pickup */
  /* Caches of pure functions of the step h (a simulator steps every device
   * with the same h; 0: empty, as h = 0 is never looked up): advance's
   * -expm1(-h / tau), and the no-trip bound of hr_device_step_ex. */
  double w_h, w_w;
  double nt_h, nt_r;
  int plain; /* hr__device_set_plain */
};

/* on = 1: hr_device_step_ex always asks next_trip (no surely_no_trip), the
 * form the fast one must match bit for bit (tests/tree/test_protect_fast.c). */
void hr__device_set_plain(hr_device_t *d, int on);

#endif
