/* Shared by the generator's tests. */
#ifndef HR_GEN_TEST_H
#define HR_GEN_TEST_H

#include <math.h>

/* cmocka 1.1.5 has no double comparison; this one prints both values. */
#define assert_near(a, b, tol)                                                                     \
  do {                                                                                             \
    double a_ = (a), b_ = (b), t_ = (tol);                                                         \
    if (!(fabs(a_ - b_) <= t_))                                                                    \
      fail_msg("%s = %.17g, want %s = %.17g +- %g", #a, a_, #b, b_, t_);                           \
  } while (0)

#define PI 3.14159265358979323846

#endif
