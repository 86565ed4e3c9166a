/* M-class synchrophasor compliance (IEEE C37.118.1-2011 / 1a-2014): the
 * conditions and truths of test_phasor.c with the M-class limits, at every
 * reporting rate of Table C.1 (a separate executable so each prints its own
 * table; about 8 s of one core). */
#define PHASOR_M_CLASS 1
#include "test_phasor.c"
