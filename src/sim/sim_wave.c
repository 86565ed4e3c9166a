/* The simulator's waveform path (src/sim/sim_int.h, docs/sim.md): per
 * metered node, the step's power becomes 3-phase (or single-phase) samples
 * at the meter's rate, the real measurement engine (pq.h) measures them, and
 * its records go to the agent as a deployed meter's would.  Every buffer is
 * sized at create. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actuate/actuate_int.h"
#include "core/core.h"
#include "headroom/pq.h"
#include "sim/sim_int.h"

/* ---- latency histogram ----------------------------------------------------------- */

void hr__lathist_add(hr__lathist_t *h, double s)
{
  if (s > h->max_s)
    h->max_s = s;
  int b = s <= HR__LAT_LO_S ? 0 : (int)floor(log10(s / HR__LAT_LO_S) * 20.0);
  if (b >= HR__LAT_BINS)
    b = HR__LAT_BINS - 1;
  h->bin[b]++;
  h->n++;
}

double hr__lathist_quantile(const hr__lathist_t *h, double q)
{
  if (h->n == 0)
    return NAN;
  uint64_t want = (uint64_t)ceil(q * (double)h->n), acc = 0;
  for (int b = 0; b < HR__LAT_BINS; b++) {
    acc += h->bin[b];
    if (acc >= want && acc > 0) {
      double hi = HR__LAT_LO_S * pow(10.0, (b + 1) / 20.0);
      return hi < h->max_s ? hi : h->max_s;
    }
  }
  return h->max_s;
}

/* ---- meters ------------------------------------------------------------------------ */

typedef struct wmeter {
  hr_meter_t *m;
  size_t node;
  int three;      /* 3P4W, else 1P2W */
  double u_ln_v;  /* RMS voltage of each voltage channel [V] */
  double p_scale; /* 1P2W: the node's power from its conductor powers */
  hr_agent_t *agent;
  uint64_t *records;
  /* meter faults (the fast path's meter_freeze, meter_garbage, meter_stuck
   * bits 1, 2, 4; hr__simwave_set_fault), the garbage counter, and the last
   * record of each kind the agent reads (what a stuck meter repeats) */
  unsigned fault;
  uint64_t garb_n;
  hr_record_t last[3]; /* HR_REC_MS, HR_REC_HALF, HR_REC_CYCLE */
  unsigned char have_last[3];
  /* the fast path's meter: the last cycle's steps (power, and the squared
   * current per conductor), the steps so far */
  double *cyc_p_w, *cyc_i2_a2, cyc_sum_p_w;
  size_t cyc_pos;
  uint64_t cyc_steps;
} wmeter_t;

struct hr__simwave {
  wmeter_t *mt;
  size_t n_mt;
  size_t per_step; /* samples per simulation step */
  size_t period;   /* samples per repeat of the line cycle at fs (table length) */
  double *sin3;    /* period x 3: unit sine of phases a, b, c */
  double *cos3;    /* period x 3: their cosines (a lagging current's quadrature part) */
  float *frames;   /* per_step x 6 */
  int64_t next_k;  /* index of the next sample */
  uint64_t key;    /* the current channels' noise (the scenario's telemetry_seed) */
  double fs_hz;
  uint64_t records;
  int fast;        /* no waveforms: each meter's records from its node's power */
  int64_t step_ns; /* (fast) */
  size_t cyc_n;    /* (fast) steps in a line cycle, the nearest whole number */
};

/* The current channels' noise [A]: uniform over +-WAVE_NOISE_A, drawn from
 * (key, meter, sample, channel) alone.  A metering ADC's noise is about 1e-4
 * of full scale (2 mA on 20 A); 0.5 mA [M] is less, and enough that a steady
 * load's 1-ms power does not repeat bit for bit as noise-free samples make
 * it do (a balanced three-phase load's instantaneous power is constant):
 * the agent would take that for a stuck meter (hr_agent_cfg_t.stuck_ns). */
#define WAVE_NOISE_A 5e-4

static double noise_a(uint64_t key, size_t meter, int64_t k, int ch)
{
  uint64_t x = key ^ (0x9E3779B97F4A7C15ull * ((uint64_t)meter * 8u + (uint64_t)ch + 1u)) ^
               ((uint64_t)k * 0xBF58476D1CE4E5B9ull);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  return WAVE_NOISE_A * ((double)(x >> 11) * 0x1.0p-52 - 1.0);
}

/* The slot of last[] for a record kind; -1 for kinds the agent ignores. */
static int last_slot(hr_rec_kind_t k)
{
  return k == HR_REC_MS ? 0 : k == HR_REC_HALF ? 1 : k == HR_REC_CYCLE ? 2 : -1;
}

static void on_record(const hr_record_t *rec, void *user)
{
  wmeter_t *w = user;
  (*w->records)++;
  int j = last_slot(rec->kind);
  /* A frozen meter's daemon delivers nothing new (the agent keeps its last
   * record, whose time ages); the engine itself runs on. */
  if (j >= 0 && !w->fault) {
    w->last[j] = *rec;
    w->have_last[j] = 1;
  }
  if (w->fault & 1u)
    return;
  /* The agent refuses what it finds wrong (garbage, a stuck value; counted
   * in its bad_readings and stuck_readings); flagged records are its to
   * ignore (start-up, no zero crossing). */
  if (j >= 0 && (w->fault & 2u)) {
    /* Garbage, in turn as on the fast path: NaN, infinite, negative,
     * absurdly high, in the values the agent reads. */
    static const double garb[4] = {NAN, INFINITY, -250.0, 1e7};
    hr_record_t g = *rec;
    double v = garb[w->garb_n++ & 3];
    if (rec->kind == HR_REC_MS) {
      g.u.ms.p_total_w = v;
    } else {
      double *i = rec->kind == HR_REC_HALF ? g.u.half.i_rms_a : g.u.cycle.i_rms_a;
      for (int q = 0; q < g.n_i && q < HR_MAX_I; q++)
        i[q] = v;
    }
    (void)hr_agent_push_record(w->agent, w->node, &g);
    return;
  }
  if (j >= 0 && (w->fault & 4u) && w->have_last[j]) {
    /* Stuck: the values of the last record before the fault, with the
     * current record's time. */
    hr_record_t g = w->last[j];
    g.t_ns = rec->t_ns;
    g.dur_ns = rec->dur_ns;
    (void)hr_agent_push_record(w->agent, w->node, &g);
    return;
  }
  (void)hr_agent_push_record(w->agent, w->node, rec);
}

void hr__simwave_destroy(hr__simwave_t *w)
{
  if (!w)
    return;
  for (size_t k = 0; k < w->n_mt; k++) {
    hr_meter_destroy(w->mt[k].m);
    free(w->mt[k].cyc_p_w);
    free(w->mt[k].cyc_i2_a2);
  }
  free(w->mt);
  free(w->sin3);
  free(w->cos3);
  free(w->frames);
  free(w);
}

static long gcd_l(long a, long b)
{
  while (b) {
    long t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* 1 when tree node k is named by an entry of sc->metered (its id, or its kind). */
static int named(const hr_scenario_t *sc, const hr_tree_node_t *x)
{
  for (size_t e = 0; e < sc->n_metered; e++)
    if (!strcmp(sc->metered[e], x->id) || !strcmp(sc->metered[e], hr_node_kind_name(x->kind)))
      return 1;
  return 0;
}

int hr__simwave_create(const hr_scenario_t *sc, const hr_tree_t *tree, hr_agent_t *agent,
                       int64_t step_ns, hr__simwave_t **out, hr_diag_t *diag)
{
  *out = NULL;
  const hr_tree_node_t *nd = hr_tree_nodes(tree);
  const size_t n = hr_tree_count(tree);
  const double fs = sc->wave_fs_hz;
  const int fast = !sc->waveforms;
  /* The sample clock is the simulation clock: a step must hold whole samples. */
  double per = fs * (double)step_ns * 1e-9;
  if (!fast && (fs != floor(fs) || per != floor(per) || per < 1.0))
    return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "step_ms",
                         "a step of %g ms is not a whole number of samples at %g Hz",
                         (double)step_ns * 1e-6, fs);
  for (size_t e = 0; e < sc->n_metered; e++) {
    size_t idx;
    int found = hr_tree_find(tree, sc->metered[e], &idx) == HR_OK;
    for (size_t k = 0; k < n && !found; k++)
      found = !strcmp(sc->metered[e], hr_node_kind_name(nd[k].kind));
    if (!found)
      return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "metered",
                           "'%s' is neither a node id nor a node kind of the tree", sc->metered[e]);
  }
  hr__simwave_t *w = calloc(1, sizeof *w);
  if (!w)
    return HR_ERR_NOMEM;
  w->fs_hz = fs;
  w->key = 0x9FB21C651E98DF25ull * (sc->telemetry_seed + 1u);
  w->fast = fast;
  w->step_ns = step_ns;
  {
    const double c = 1e9 / (sc->line_hz * (double)step_ns);
    w->cyc_n = c < 1.5 ? 1 : (size_t)llround(c);
  }
  /* (the fast path's meters synthesise nothing: tables of one entry) */
  w->per_step = fast ? 1 : (size_t)per;
  w->period = fast ? 1 : (size_t)(fs / (double)gcd_l((long)fs, (long)sc->line_hz));
  for (size_t k = 0; k < n; k++)
    if (named(sc, &nd[k]))
      w->n_mt++;
  w->mt = calloc(w->n_mt ? w->n_mt : 1, sizeof *w->mt);
  w->sin3 = malloc(3 * w->period * sizeof *w->sin3);
  w->cos3 = malloc(3 * w->period * sizeof *w->cos3);
  w->frames = malloc(6 * w->per_step * sizeof *w->frames);
  if (!w->mt || !w->sin3 || !w->cos3 || !w->frames) {
    hr__simwave_destroy(w);
    return HR_ERR_NOMEM;
  }
  /* Positive sequence: b lags a by 120 degrees, c leads it by 120. */
  for (size_t k = 0; k < w->period && !fast; k++) {
    double th = 2.0 * M_PI * fmod((double)k * sc->line_hz, fs) / fs;
    w->sin3[3 * k] = sin(th);
    w->sin3[3 * k + 1] = sin(th - 2.0 * M_PI / 3.0);
    w->sin3[3 * k + 2] = sin(th + 2.0 * M_PI / 3.0);
    w->cos3[3 * k] = cos(th);
    w->cos3[3 * k + 1] = cos(th - 2.0 * M_PI / 3.0);
    w->cos3[3 * k + 2] = cos(th + 2.0 * M_PI / 3.0);
  }
  size_t j = 0;
  for (size_t k = 0; k < n; k++) {
    const hr_tree_node_t *x = &nd[k];
    if (!named(sc, x))
      continue;
    wmeter_t *m = &w->mt[j++];
    m->node = k;
    m->agent = agent;
    m->records = &w->records;
    m->three = x->n_phases == 3;
    /* u_v is line to line on three-phase and L-L nodes (tree.h). */
    m->u_ln_v = m->three ? x->u_v / sqrt(3.0) : x->u_v;
    m->p_scale = !m->three && x->phase >= HR_PHASE_AB ? sqrt(3.0) / 2.0 : 1.0;
    if (!(m->u_ln_v > 0.0)) {
      hr__simwave_destroy(w);
      return hr__diag_fail(diag, HR_ERR_RANGE, 0, 0, "metered", "node '%s' has no voltage", x->id);
    }
    if (fast) {
      m->cyc_p_w = calloc(w->cyc_n, sizeof *m->cyc_p_w);
      m->cyc_i2_a2 = calloc(3 * w->cyc_n, sizeof *m->cyc_i2_a2);
      if (!m->cyc_p_w || !m->cyc_i2_a2) {
        hr__simwave_destroy(w);
        return HR_ERR_NOMEM;
      }
      continue;
    }
    hr_meter_cfg_t mc;
    hr_meter_cfg_init(&mc, fs, sc->line_hz, m->u_ln_v, m->three ? HR_LAYOUT_3P4W : HR_LAYOUT_1P2W);
    /* What the agent reads (loop.h): the 1-ms power and the phase currents. */
    mc.records = HR_RECMASK(HR_REC_HALF) | HR_RECMASK(HR_REC_CYCLE) | HR_RECMASK(HR_REC_MS);
    mc.t0_ns = 0;
    int rc = hr_meter_create(&mc, &m->m);
    if (rc != HR_OK) {
      hr__simwave_destroy(w);
      return hr__diag_fail(diag, rc, 0, 0, "metered", "the meter of node '%s' refused: %s", x->id,
                           hr_strerror(rc));
    }
    hr_meter_set_callback(m->m, on_record, m);
  }
  *out = w;
  return HR_OK;
}

/* Meter m's node's conductor watts and vars (zeros without the vars) in
 * the step's arrays; returns whether the node is powered. */
static int node_inputs(const wmeter_t *m, const double *ph_w, const double *ph_q,
                       const unsigned char *powered, const double **ph, const double **pq)
{
  static const double q0[3] = {0.0, 0.0, 0.0};
  *ph = &ph_w[3 * m->node];
  *pq = ph_q ? &ph_q[3 * m->node] : q0;
  return powered[m->node];
}

int hr__simwave_push(hr__simwave_t *w, const double *ph_w, const double *ph_q,
                     const unsigned char *powered, int64_t t_ns)
{
  if (w->fast) {
    /* (steps follow one another, as samples do) */
    if (t_ns != w->next_k * w->step_ns)
      return HR_ERR_STATE;
    w->next_k++;
    /* The fast path's meter: what the meter engine reports of the node's
     * power without its waveforms and noise, a 1-ms record of the mean
     * power over the last cycle (the nearest whole number of steps; flagged
     * start-up until a cycle has passed, as the engine's) at the end of
     * each step, and at the end of each cycle a cycle record of its phase
     * currents' RMS (a step's current: its watts and vars over the
     * conductor's voltage, as the waveforms carry them). */
    for (size_t i = 0; i < w->n_mt; i++) {
      wmeter_t *m = &w->mt[i];
      const double *ph, *pq;
      const int up = node_inputs(m, ph_w, ph_q, powered, &ph, &pq);
      const size_t nc = w->cyc_n, at = m->cyc_pos;
      /* (a single-phase node's power from its conductor powers, as the
       * waveforms carry it: p_scale) */
      const double old_p = m->cyc_p_w[at];
      m->cyc_p_w[at] = up ? (ph[0] + ph[1] + ph[2]) * (m->three ? 1.0 : m->p_scale) : 0.0;
      for (int q = 0; q < 3; q++) {
        double pp = m->three ? ph[q] : (ph[0] + ph[1] + ph[2]) * m->p_scale,
               qq = m->three ? pq[q] : (pq[0] + pq[1] + pq[2]) * m->p_scale;
        m->cyc_i2_a2[3 * at + (size_t)q] =
            up && (m->three || q == 0) ? (pp * pp + qq * qq) / (m->u_ln_v * m->u_ln_v) : 0.0;
      }
      m->cyc_pos = at + 1 == nc ? 0 : at + 1;
      m->cyc_steps++;
      /* running sums over the cycle, summed afresh once a cycle (no drift) */
      if (m->cyc_pos == 0) {
        m->cyc_sum_p_w = 0.0;
        for (size_t j = 0; j < nc; j++)
          m->cyc_sum_p_w += m->cyc_p_w[j];
      } else {
        m->cyc_sum_p_w += m->cyc_p_w[at] - old_p;
      }
      const double p = m->cyc_sum_p_w;
      hr_record_t rec;
      memset(&rec, 0, sizeof rec);
      rec.kind = HR_REC_MS;
      rec.t_ns = t_ns;
      rec.dur_ns = w->step_ns;
      /* (an unpowered node reads 0 W, which takes the agent's view of it
       * to 0 within a cycle, as the engine's records of it do) */
      rec.flags = m->cyc_steps < nc ? HR_FLAG_STARTUP : 0u;
      /* (rounded to 1 mW less a dither of 0 to 10 mW, as the GPUs' readings:
       * an exact steady power repeats bit for bit, which the agent takes
       * for a stuck meter after stuck_ns; the engine's noise does the same
       * on the waveform path) */
      rec.u.ms.p_total_w = hr__tel_reading_w(w->key, (int)i, t_ns, p / (double)nc);
      on_record(&rec, m);
      if (m->cyc_pos == 0) {
        double i2[3] = {0.0, 0.0, 0.0};
        for (size_t j = 0; j < nc; j++)
          for (int q = 0; q < 3; q++)
            i2[q] += m->cyc_i2_a2[3 * j + (size_t)q];
        memset(&rec, 0, sizeof rec);
        rec.kind = HR_REC_CYCLE;
        rec.dur_ns = (int64_t)nc * w->step_ns;
        rec.t_ns = t_ns + w->step_ns - rec.dur_ns;
        rec.n_i = m->three ? 3 : 1;
        for (int q = 0; q < rec.n_i; q++)
          rec.u.cycle.i_rms_a[q] = sqrt(i2[q] / (double)nc);
        on_record(&rec, m);
      }
    }
    return HR_OK;
  }
  /* Sample k is at k / fs on the simulation clock (t0 = 0). */
  int64_t k0 = (int64_t)llround((double)t_ns * 1e-9 * w->fs_hz);
  if (k0 != w->next_k)
    return HR_ERR_STATE;
  size_t ph0 = (size_t)(k0 % (int64_t)w->period);
  for (size_t i = 0; i < w->n_mt; i++) {
    wmeter_t *m = &w->mt[i];
    const double *ph, *pq;
    const int up = node_inputs(m, ph_w, ph_q, powered, &ph, &pq);
    const double u_pk = up ? sqrt(2.0) * m->u_ln_v : 0.0;
    float *f = w->frames;
    size_t pos = ph0;
    if (m->three) {
      /* Each phase's current: sqrt(2) I sin(th - phi), lagging its voltage
       * by phi = atan(Q / P), which is the in-phase part sqrt(2) P / U on
       * the sine and the quadrature part -sqrt(2) Q / U on the cosine (PF 1:
       * Q = 0, the current in phase, RMS = P / U). */
      double i_pk[3], iq_pk[3];
      for (int q = 0; q < 3; q++) {
        i_pk[q] = up ? sqrt(2.0) * ph[q] / m->u_ln_v : 0.0;
        iq_pk[q] = up ? sqrt(2.0) * pq[q] / m->u_ln_v : 0.0;
      }
      for (size_t s = 0; s < w->per_step; s++, f += 6) {
        const double *sn = &w->sin3[3 * pos], *cs = &w->cos3[3 * pos];
        for (int q = 0; q < 3; q++) {
          f[q] = (float)(u_pk * sn[q]);
          f[3 + q] = (float)(i_pk[q] * sn[q] - iq_pk[q] * cs[q] +
                             (up ? noise_a(w->key, i, k0 + (int64_t)s, q) : 0.0));
        }
        if (++pos == w->period)
          pos = 0;
      }
    } else {
      double i_pk = up ? sqrt(2.0) * (ph[0] + ph[1] + ph[2]) * m->p_scale / m->u_ln_v : 0.0;
      double iq_pk = up ? sqrt(2.0) * (pq[0] + pq[1] + pq[2]) * m->p_scale / m->u_ln_v : 0.0;
      for (size_t s = 0; s < w->per_step; s++, f += 2) {
        double sn = w->sin3[3 * pos];
        f[0] = (float)(u_pk * sn);
        f[1] = (float)(i_pk * sn - iq_pk * w->cos3[3 * pos] +
                       (up ? noise_a(w->key, i, k0 + (int64_t)s, 0) : 0.0));
        if (++pos == w->period)
          pos = 0;
      }
    }
    int rc = hr_meter_push(m->m, w->frames, w->per_step, NULL);
    if (rc != HR_OK)
      return rc;
  }
  w->next_k = k0 + (int64_t)w->per_step;
  return HR_OK;
}

int hr__simwave_last_cycle(const hr__simwave_t *w, size_t i, hr_record_t *out)
{
  if (!w || i >= w->n_mt || !out)
    return HR_ERR_INVALID_ARG;
  if (!w->mt[i].have_last[2])
    return HR_ERR_STATE;
  *out = w->mt[i].last[2];
  return HR_OK;
}

size_t hr__simwave_meter_node(const hr__simwave_t *w, size_t i)
{
  return w && i < w->n_mt ? w->mt[i].node : (size_t)-1;
}

void hr__simwave_set_fault(hr__simwave_t *w, size_t i, unsigned bit, int on)
{
  if (!w || i >= w->n_mt)
    return;
  if (on)
    w->mt[i].fault |= bit;
  else
    w->mt[i].fault &= ~bit;
}

int hr__simwave_fast(const hr__simwave_t *w)
{
  return w ? w->fast : 0;
}

size_t hr__simwave_meters(const hr__simwave_t *w)
{
  return w ? w->n_mt : 0;
}

uint64_t hr__simwave_records(const hr__simwave_t *w)
{
  return w ? w->records : 0;
}
