/* headroom: the one error enum of the library.
 *
 * Every function that can fail returns an int that is HR_OK (0) or one of the
 * negative codes below.  Codes are never renumbered or reused; new codes are
 * appended before HR_ERR_LAST_.  When a call fails, any callback it was given
 * is not called for the failed part of the work. */
#ifndef HEADROOM_ERROR_H
#define HEADROOM_ERROR_H

#include <stddef.h>
#include <stdint.h>

#include "headroom/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) */
#define HR_ERROR_MAP(X)                                                                            \
  X(HR_OK, 0, "success")                                                                           \
  X(HR_ERR_INVALID_ARG, -1, "invalid argument")                                                    \
  X(HR_ERR_NOMEM, -2, "out of memory")                                                             \
  X(HR_ERR_IO, -3, "input/output error")                                                           \
  X(HR_ERR_PARSE, -4, "malformed input")                                                           \
  X(HR_ERR_RANGE, -5, "value out of range")                                                        \
  X(HR_ERR_TRUNCATED, -6, "input ends inside a record")                                            \
  X(HR_ERR_UNSUPPORTED, -7, "unsupported feature or format")                                       \
  X(HR_ERR_STATE, -8, "call not valid in the object's current state")                              \
  X(HR_ERR_FULL, -9, "output queue is full; pull records before pushing more")                     \
  X(HR_ERR_NOT_FOUND, -10, "not found")                                                            \
  X(HR_ERR_EOF, -11, "end of input")                                                               \
  X(HR_ERR_CHANNELS, -12, "wrong number of channels")

typedef enum hr_err {
#define HR_X_ENUM(name, value, msg) name = value,
  HR_ERROR_MAP(HR_X_ENUM)
#undef HR_X_ENUM
      HR_ERR_LAST_ = -13 /* never use */
} hr_err_t;

/* Sizes of the text members of hr_diag_t [bytes], terminating NUL included. */
#define HR_DIAG_SOURCE_BYTES 256
#define HR_DIAG_FIELD_BYTES 160
#define HR_DIAG_MSG_BYTES 320

/* What went wrong and where: the one shape of error detail of the library.
 * Every check, load, open and create that can say more than its return code
 * takes an hr_diag_t * as its last argument; NULL is always allowed.  The
 * callee clears it on entry and fills it on failure; the caller owns it (a
 * plain value, no cleanup).  Members that do not apply are 0 or "". */
typedef struct hr_diag {
  int code;        /* the HR_ERR_* the call returned; HR_OK while nothing failed */
  long line;       /* 1-based line in source, 0: not tied to a line */
  long column;     /* 1-based column (text) or field number (CSV), 0: none */
  uint64_t offset; /* 0-based byte offset in the input where the problem starts,
                    * meaningful when has_offset is 1 */
  int has_offset;
  char source[HR_DIAG_SOURCE_BYTES]; /* file name as given, or a stand-in
                                      * ("<buffer>", "nvml"); truncated to fit */
  char field[HR_DIAG_FIELD_BYTES];   /* the setting, key or member at fault
                                      * ("rack.rise_s", "nodes[pdu-1].rating_a") */
  char message[HR_DIAG_MSG_BYTES];   /* one sentence without source, place or
                                      * field: "unknown node 'pdu-9'" */
} hr_diag_t;

/* Formats d as one line, no newline, in the one format of the project:
 *   "<source>:<line>:<column>: <field>: <message>"
 * leaving out the parts that are empty or 0 (and ":<column>" without a line;
 * "byte <offset>" stands for line and column when only the offset is known).
 * With an empty message, hr_strerror(code) stands for it.  Writes at most len
 * bytes, NUL included (buf may be NULL when len is 0); returns the length the
 * full text has, like snprintf.  d NULL formats as "unknown error". */
HR_API int hr_diag_format(const hr_diag_t *d, char *buf, size_t len);

/* Returns a static, human-readable message for an error code; never NULL.
 * Unknown codes give "unknown error". */
HR_API const char *hr_strerror(int err);

/* Returns the static name of an error code ("HR_ERR_PARSE"); never NULL. */
HR_API const char *hr_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
