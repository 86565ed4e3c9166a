/* headroom: the umbrella header.  Includes the whole public API; a program
 * may include the module headers alone instead.  Link with libheadroom
 * (pkg-config --cflags --libs headroom). */
#ifndef HEADROOM_HEADROOM_H
#define HEADROOM_HEADROOM_H

#include "headroom/actuate.h"
#include "headroom/error.h"
#include "headroom/export.h"
#include "headroom/gen.h"
#include "headroom/grid.h"
#include "headroom/layout.h"
#include "headroom/lease.h"
#include "headroom/plan.h"
#include "headroom/pq.h"
#include "headroom/predict.h"
#include "headroom/protect.h"
#include "headroom/reader.h"
#include "headroom/tree.h"
#include "headroom/wire.h"

#endif
