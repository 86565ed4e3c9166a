/* headroom: protective-device models.
 *
 * Three families of overcurrent protection, each with its published
 * characteristic and with a state that follows any current history:
 *
 *   HR_DEVICE_TRIP_UNIT  electronic trip unit of a low-voltage breaker (IEC 60947-2,
 *                        UL 489): L long-time (first-order thermal image with
 *                        memory), S short-time (definite or I²t), I instantaneous,
 *                        G ground fault (definite or I²t);
 *   HR_DEVICE_RELAY      inverse-time overcurrent relay (IEC 60255-151 / IEEE
 *                        C37.112) in the integral form, with dependent, definite
 *                        or instantaneous reset, plus an optional
 *                        instantaneous (50) element;
 *   HR_DEVICE_FUSE       fuse from a minimum-melting time-current table,
 *                        interpolated in log-log space, with a melting integral
 *                        for varying current.
 *
 * A device object (hr_device_t) is stepped with the RMS current over an
 * interval, hr_device_step(dev, i_a, dt_s), and reports whether it tripped,
 * when (interpolated inside the step), which element tripped it, its thermal
 * state as a fraction of the trip threshold, and the time it would take to
 * trip at a given constant current from its present state.  A pure function,
 * hr_device_trip_time(), gives the published (cold) time-current curve.
 *
 * Every time is in seconds and every current in amperes RMS.  The equations,
 * their constants and the standard clauses are in docs/tree.md.  Stepping
 * never allocates.  A device is not thread-safe; different devices are
 * independent. */
#ifndef HEADROOM_PROTECT_H
#define HEADROOM_PROTECT_H

#include <stddef.h>

#include "headroom/error.h"
#include "headroom/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_device_type {
  HR_DEVICE_NONE = 0,      /* no protective device (never trips) */
  HR_DEVICE_TRIP_UNIT = 1, /* LV breaker electronic trip unit, L[S][I][G] */
  HR_DEVICE_RELAY = 2,     /* IDMT relay, 51 (+ optional 50) */
  HR_DEVICE_FUSE = 3       /* fuse, minimum-melting curve */
} hr_device_type_t;

/* The element of a device that tripped it. */
typedef enum hr_element {
  HR_ELEM_NONE = 0,
  HR_ELEM_L = 1,    /* trip unit long time (overload) */
  HR_ELEM_S = 2,    /* trip unit short time */
  HR_ELEM_I = 3,    /* trip unit instantaneous */
  HR_ELEM_G = 4,    /* trip unit ground fault */
  HR_ELEM_TOC = 5,  /* relay inverse-time element (ANSI 51) */
  HR_ELEM_IOC = 6,  /* relay instantaneous element (ANSI 50) */
  HR_ELEM_MELT = 7, /* fuse melting */
  HR_ELEM_COUNT = 8
} hr_element_t;

/* ---- inverse-time curves (IEC 60255-151, IEEE C37.112) ------------------- */

typedef enum hr_curve {
  HR_CURVE_IEC_SI = 1,  /* IEC standard (normal) inverse, curve A */
  HR_CURVE_IEC_VI = 2,  /* IEC very inverse, curve B */
  HR_CURVE_IEC_EI = 3,  /* IEC extremely inverse, curve C */
  HR_CURVE_IEC_LTI = 4, /* IEC long-time inverse */
  HR_CURVE_IEC_STI = 5, /* IEC short-time inverse */
  HR_CURVE_IEEE_MI = 6, /* IEEE moderately inverse */
  HR_CURVE_IEEE_VI = 7, /* IEEE very inverse */
  HR_CURVE_IEEE_EI = 8, /* IEEE extremely inverse */
  HR_CURVE_CUSTOM = 9   /* constants given in hr_relay_cfg_t.custom */
} hr_curve_t;

/* Constants of t(M) = TMS * (k_s / (M^alpha - 1) + c_s)  (operate) and
 * t_r(M) = TMS * tr_s / (1 - M^2)  (dependent reset, M < 1).
 * k_s [s] > 0; alpha > 0 (unitless); c_s [s] >= 0; tr_s [s] >= 0. */
typedef struct hr_curve_consts {
  double k_s;
  double alpha;
  double c_s;
  double tr_s;
} hr_curve_consts_t;

/* Writes the constants of a standard curve into *out.  Returns HR_OK, or
 * HR_ERR_INVALID_ARG for HR_CURVE_CUSTOM, an unknown curve or out == NULL. */
HR_API int hr_curve_consts(hr_curve_t curve, hr_curve_consts_t *out);

/* Operate time [s] at M = I / Is (multiple of the pickup setting) for time
 * multiplier tms > 0.  Returns INFINITY for M <= 1 and NAN for bad arguments.
 * No clamping at 20 x Is here: hr_relay_cfg_t.m_max does that for devices. */
HR_API double hr_curve_operate_s(const hr_curve_consts_t *c, double tms, double m);

/* Dependent reset time [s] from full operation at M < 1 (time for the
 * integrator to fall from 1 to 0).  Returns INFINITY for M >= 1, 0 when
 * tr_s == 0, NAN for bad arguments. */
HR_API double hr_curve_reset_s(const hr_curve_consts_t *c, double tms, double m);

/* Static lower-case name ("iec_si", "ieee_vi", "custom"), or "unknown". */
HR_API const char *hr_curve_name(hr_curve_t curve);

/* Parses a curve name as written by hr_curve_name (case-insensitive).
 * Returns HR_OK or HR_ERR_PARSE; *out is written only on success. */
HR_API int hr_curve_parse(const char *text, hr_curve_t *out);

/* ---- device settings ------------------------------------------------------ */

typedef enum hr_reset {
  HR_RESET_DEPENDENT = 0, /* IEEE C37.112 disc emulation: t_r(M) = TMS tr/(1-M^2) */
  HR_RESET_INSTANT = 1,   /* the integrator clears as soon as M < 1 */
  HR_RESET_DEFINITE = 2   /* held for reset_s below pickup, then cleared */
} hr_reset_t;

/* Electronic trip unit.  Element L is always present; S, I and G are present
 * when their has_ flag is set.  Ranges are those hr_device_cfg_check accepts. */
typedef struct hr_trip_unit_cfg {
  double in_a; /* sensor (plug) rating In [A], > 0 */
  /* L, long time */
  double ir_a;      /* pickup Ir [A], 0.4 In <= Ir <= In */
  double tr_s;      /* delay band [s] at 6 x Ir, 0 < tr_s <= 600 (bands 0.5..24) */
  double l_pickup;  /* trip threshold as a multiple of Ir, 1.0..1.3; default 1.10 */
  int memory;       /* thermal memory: 1 on (default), 0 off (cold after each overload) */
  double post_trip; /* thermal state after a trip, fraction of the hottest
                       phase's state, 0..1; default 0.85 (Siemens 3VA) */
  /* S, short time */
  int has_s;
  double isd_a;     /* pickup Isd [A], 1.5 Ir <= Isd <= 10 Ir */
  double tsd_s;     /* delay [s], 0.01..1 */
  int s_i2t;        /* 1: t = tsd (10 Ir / I)^2 below 10 Ir; 0: definite tsd */
  double s_reset_s; /* time [s] for the S integrator to fall from 1 to 0 below
                       Isd, > 0; default 20 */
  /* I, instantaneous */
  int has_i;
  double ii_a; /* pickup Ii [A], 1.5 In <= Ii <= 15 In */
  double ti_s; /* operating time [s], 0.001..0.5; default 0.02 */
  /* G, ground fault (driven by the residual current of hr_device_step_ex) */
  int has_g;
  double ig_a; /* pickup Ig [A], 0 < Ig <= In */
  double tg_s; /* delay [s], 0.01..1 */
  int g_i2t;   /* 1: t = tg (In / Ig_meas)^2 below In; 0: definite tg */
} hr_trip_unit_cfg_t;

typedef struct hr_relay_cfg {
  hr_curve_t curve;
  hr_curve_consts_t custom; /* used only when curve == HR_CURVE_CUSTOM */
  double is_a;              /* pickup setting Is [A], > 0 */
  double tms;               /* time multiplier (IEC TMS, IEEE time dial TD), 0 < tms <= 100 */
  double pickup;            /* start threshold as a multiple of Is, 1.0..1.3; default 1.1 */
  double m_max;             /* M is clamped to this above, pickup < m_max <= 1000; default 20 */
  hr_reset_t reset;         /* default HR_RESET_DEPENDENT */
  double reset_s;           /* definite reset time [s] > 0 (HR_RESET_DEFINITE only) */
  int has_inst;             /* instantaneous element (50) present */
  double ii_a;              /* its pickup [A], > Is */
  double ti_s;              /* its operating time [s], 0.001..0.5; default 0.02 */
} hr_relay_cfg_t;

#define HR_FUSE_MAX_POINTS 32

typedef struct hr_fuse_cfg {
  double in_a;  /* rated current In [A] > 0; must be below the first table current */
  int n_points; /* 2..HR_FUSE_MAX_POINTS */
  double i_a[HR_FUSE_MAX_POINTS]; /* melting currents [A], strictly increasing, > 0 */
  double t_s[HR_FUSE_MAX_POINTS]; /* melting times [s], strictly decreasing, > 0 */
  double cool_s;                  /* element cooling time constant [s] below the minimum melting
                                     current, >= 0; 0 keeps the melting integral; default 60 */
} hr_fuse_cfg_t;

typedef struct hr_device_cfg {
  hr_device_type_t type;
  union {
    hr_trip_unit_cfg_t tu; /* type == HR_DEVICE_TRIP_UNIT */
    hr_relay_cfg_t relay;  /* type == HR_DEVICE_RELAY */
    hr_fuse_cfg_t fuse;    /* type == HR_DEVICE_FUSE */
  } u;
} hr_device_cfg_t;

/* Clears *cfg and sets type and the documented defaults of that type
 * (currents and delays are left 0: they have no default).  Returns HR_OK or
 * HR_ERR_INVALID_ARG. */
HR_API int hr_device_cfg_init(hr_device_cfg_t *cfg, hr_device_type_t type);

/* Checks every setting against the ranges above.  On failure returns
 * HR_ERR_RANGE (or HR_ERR_INVALID_ARG for a bad type / NULL cfg) and, when
 * the pointers are not NULL, sets *field to the static name of the offending
 * setting as the YAML format spells it ("tr_s", "isd_a", "melt") and *why to a
 * static explanation.  Returns HR_OK when the settings are usable. */
HR_API int hr_device_cfg_check(const hr_device_cfg_t *cfg, const char **field, const char **why);

/* sizeof(hr_device_cfg_t), for bindings that allocate one. */
HR_API size_t hr_device_cfg_size(void);

/* Static lower-case name of a device type ("trip_unit"), or "unknown". */
HR_API const char *hr_device_type_name(hr_device_type_t type);

/* Static name of an element ("L", "S", "I", "G", "51", "50", "melt", "none"). */
HR_API const char *hr_element_name(hr_element_t elem);

/* ---- device objects --------------------------------------------------------- */

typedef struct hr_device hr_device_t;

/* Per-step input with phase and residual currents. */
typedef struct hr_device_input {
  double i_a[3]; /* RMS phase currents [A], >= 0; only the first n_phases are read */
  int n_phases;  /* 1..3 */
  double ig_a;   /* residual (ground-fault) current [A], >= 0; read by G only */
} hr_device_input_t;

typedef struct hr_device_status {
  int tripped;                /* 1 while open (until hr_device_reclose or hr_device_reset) */
  hr_element_t element;       /* element of the last trip, HR_ELEM_NONE if none yet */
  unsigned n_trips;           /* trips since the last hr_device_reset */
  double t_s;                 /* time stepped since the last reset [s] */
  double t_trip_s;            /* time of the last trip since the reset [s], interpolated
                                 inside its step; NAN if none */
  double thermal;             /* state of the memory element (L, 51 or melt) as a fraction
                                 of its trip threshold, >= 0; 1 means trip */
  double elem[HR_ELEM_COUNT]; /* state of every element, fraction of its threshold */
} hr_device_status_t;

/* Size of a device object [bytes], for hr_device_init. */
HR_API size_t hr_device_size(void);

/* Creates a device in caller memory: mem must be aligned for any object (as
 * malloc returns) and len >= hr_device_size().  The settings are copied; cfg
 * may be freed afterwards.  *out (== mem) stays valid while mem does; there
 * is nothing to destroy.  Returns HR_OK, HR_ERR_INVALID_ARG (NULL, short or
 * misaligned memory) or the error of hr_device_cfg_check. */
HR_API int hr_device_init(void *mem, size_t len, const hr_device_cfg_t *cfg, hr_device_t **out);

/* Allocates and initialises a device (cold, closed).  The settings are copied.
 * The caller owns *out and frees it with hr_device_destroy.  Returns HR_OK,
 * HR_ERR_NOMEM or the errors of hr_device_init. */
HR_API int hr_device_create(const hr_device_cfg_t *cfg, hr_device_t **out);

/* Frees a device made by hr_device_create; NULL is a no-op. */
HR_API void hr_device_destroy(hr_device_t *dev);

/* Returns the device to its initial state: closed, cold, t = 0, no trips. */
HR_API void hr_device_reset(hr_device_t *dev);

/* Closes a tripped device again (or replaces a melted fuse) without touching
 * the thermal memory: a trip unit keeps the post-trip memory and, after an S
 * trip, its minimum short-time delay for 20 s; a relay keeps its integrator.
 * A fuse comes back cold (it is a new fuse).  No-op when closed. */
HR_API void hr_device_reclose(hr_device_t *dev);

/* Advances the device by dt_s seconds with every phase carrying the RMS
 * current i_a, constant over the step (pass the highest phase current when
 * only one value is known: that is the conservative choice).  A trip inside
 * the step is timed exactly (hr_device_status_t.t_trip_s).  While the device
 * is open it carries no current: i_a is ignored and the elements cool or
 * reset.
 * Returns HR_OK, or HR_ERR_INVALID_ARG (and changes nothing) for a NULL
 * device, i_a < 0, dt_s < 0, or a non-finite value. */
HR_API int hr_device_step(hr_device_t *dev, double i_a, double dt_s);

/* As hr_device_step with per-phase currents (a separate thermal image per
 * phase for L) and the residual current for G. */
HR_API int hr_device_step_ex(hr_device_t *dev, const hr_device_input_t *in, double dt_s);

/* Fills *st.  Both pointers must be valid. */
HR_API void hr_device_status(const hr_device_t *dev, hr_device_status_t *st);

/* 1 while the device is open, else 0. */
HR_API int hr_device_tripped(const hr_device_t *dev);

/* Thermal state of the memory element, as in hr_device_status_t.thermal. */
HR_API double hr_device_thermal(const hr_device_t *dev);

/* Time [s] the device would take to trip if every phase carried the constant
 * current i_a [A] from now on (no ground fault), starting from its present
 * state.  0 when already open; INFINITY when i_a never trips it; NAN for
 * i_a < 0 or a non-finite i_a. */
HR_API double hr_device_time_to_trip(const hr_device_t *dev, double i_a);

/* Largest constant current [A] the device carries for t_s seconds from its
 * present state without tripping (the inverse of hr_device_time_to_trip,
 * found by bisection to 1e-9 relative).  0 when open; INFINITY for a
 * HR_DEVICE_NONE device; NAN for t_s <= 0 or non-finite. */
HR_API double hr_device_withstand_a(const hr_device_t *dev, double t_s);

/* Published time-current characteristic: time [s] to trip at the constant
 * current i_a [A] from cold.  INFINITY below pickup, NAN for invalid
 * settings (see hr_device_cfg_check) or i_a < 0. */
HR_API double hr_device_trip_time(const hr_device_cfg_t *cfg, double i_a);

/* Settings of a device (borrowed; valid while the device is). */
HR_API const hr_device_cfg_t *hr_device_cfg(const hr_device_t *dev);

#ifdef __cplusplus
}
#endif
#endif
