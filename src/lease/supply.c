/* A supply in place of the utility (hr_lease_sys_set_supply): a generator
 * after a utility loss, told by the transfer switch.  Its rating bounds a
 * root's budget as a grid max_p_w does (layout.c budget_of, safe.c), and
 * with every root's supply known a utility loss no longer means degraded
 * mode (rules.c mode_for): the rating is what degraded mode's blanket cut
 * and freeze stood in for (orchestration.md §3.5 asks for lower budgets and
 * no growth because the generator's rating and load acceptance are not
 * known to the leases; here the rating is, and the load acceptance is the
 * caller's envelope, hr_agent_set_supply). */
#include <stdlib.h>

#include "lease/lease_sys.h"

static void sup_all_compute(hr_lease_sys_t *s)
{
  int all = s->sup_w != NULL;
  for (size_t k = 0; all && k < s->n; k++)
    if (is_root(s, k) && !(s->sup_w[k] < INFINITY))
      all = 0;
  s->sup_all = all;
}

int hr_lease_sys_set_supply(hr_lease_sys_t *s, size_t node, double limit_w, int64_t t)
{
  if (!s || node >= s->n || !(limit_w > 0.0))
    return HR_ERR_INVALID_ARG;
  const size_t k = (size_t)s->lidx[node];
  if (!is_root(s, k))
    return HR_ERR_INVALID_ARG;
  if (!s->sup_w) {
    if (!(limit_w < INFINITY))
      return HR_OK; /* nothing to clear */
    s->sup_w = malloc(s->n * sizeof *s->sup_w);
    if (!s->sup_w)
      return HR_ERR_NOMEM;
    for (size_t j = 0; j < s->n; j++)
      s->sup_w[j] = INFINITY;
  }
  /* A supply that cannot hold the root's floors is refused: the utility
   * loss then keeps its degraded mode, and the caller's envelope its cut.
   * Only the supply's own bound is checked (the floors against every other
   * limit are as they were: a hot breaker elsewhere refuses nothing here),
   * and as the supply is, not x degraded_frac: a telemetry loss at the
   * outage's start (degraded for a moment) must not refuse it for the whole
   * outage (a review: 0.804 -> 0.782 of the work).  A dead root too: its
   * floors are counted (floor_w), so it comes back under a rating that
   * holds them. */
  if (limit_w < INFINITY) {
    double g = limit_w;
    if (s->cfg.budget.eff < 1.0 && tnode(s, k)->n_children > 0)
      g *= s->cfg.budget.eff;
    if (s->ovh_w)
      g -= s->ovh_w[k];
    if (s->floor_w[k] > g * (1.0 + 1e-9))
      return HR_ERR_RANGE;
  }
  hr__lease_skip_off(s);
  hr__lease_start_at(s, t);
  const double old = s->sup_w[k];
  s->sup_w[k] = limit_w;
  int rc = hr__lease_budgets_all(s);
  if (rc != HR_OK) {
    s->sup_w[k] = old;
    hr__lease_budgets_all(s);
    return rc;
  }
  sup_all_compute(s);
  hr__lease_safe_refresh(s);
  rc = hr__lease_apply_budgets(s, t);
  /* The mode may follow at once: a supply cleared while the utility is
   * still lost means degraded mode now. */
  hr__lease_update_mode(s, t);
  return rc;
}

double hr_lease_sys_supply_w(const hr_lease_sys_t *s, size_t node)
{
  if (!s || node >= s->n)
    return NAN;
  return s->sup_w ? s->sup_w[s->lidx[node]] : INFINITY;
}
