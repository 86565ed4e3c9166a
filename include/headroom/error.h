/* headroom: the one error enum of the library.
 *
 * Every function that can fail returns an int that is HR_OK (0) or one of the
 * negative codes below.  Codes are never renumbered or reused; new codes are
 * appended before HR_ERR_LAST_.  When a call fails, any callback it was given
 * is not called for the failed part of the work. */
#ifndef HEADROOM_ERROR_H
#define HEADROOM_ERROR_H

#include "headroom/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) */
#define HR_ERROR_MAP(X)                                                              \
  X(HR_OK, 0, "success")                                                             \
  X(HR_ERR_INVALID_ARG, -1, "invalid argument")                                      \
  X(HR_ERR_NOMEM, -2, "out of memory")                                               \
  X(HR_ERR_IO, -3, "input/output error")                                             \
  X(HR_ERR_PARSE, -4, "malformed input")                                             \
  X(HR_ERR_RANGE, -5, "value out of range")                                          \
  X(HR_ERR_TRUNCATED, -6, "input ends inside a record")                              \
  X(HR_ERR_UNSUPPORTED, -7, "unsupported feature or format")                         \
  X(HR_ERR_STATE, -8, "call not valid in the object's current state")                \
  X(HR_ERR_FULL, -9, "output queue is full; pull records before pushing more")       \
  X(HR_ERR_NOT_FOUND, -10, "not found")                                              \
  X(HR_ERR_EOF, -11, "end of input")                                                 \
  X(HR_ERR_CHANNELS, -12, "wrong number of channels")

typedef enum hr_err {
#define HR_X_ENUM(name, value, msg) name = value,
  HR_ERROR_MAP(HR_X_ENUM)
#undef HR_X_ENUM
  HR_ERR_LAST_ = -13 /* never use */
} hr_err_t;

/* Returns a static, human-readable message for an error code; never NULL.
 * Unknown codes give "unknown error". */
HR_API const char *hr_strerror(int err);

/* Returns the static name of an error code ("HR_ERR_PARSE"); never NULL. */
HR_API const char *hr_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
