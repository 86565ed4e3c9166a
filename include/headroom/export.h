/* headroom: symbol visibility.  The library is built with -fvisibility=hidden;
 * only declarations marked HR_API are exported. */
#ifndef HEADROOM_EXPORT_H
#define HEADROOM_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define HR_API __attribute__((visibility("default")))
#else
#define HR_API
#endif

#endif
