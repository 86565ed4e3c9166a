/* headroom: the shared layer under every module (not installed).
 *
 * What more than one module needs and no module owns: the message formatter
 * that fills an hr_diag_t, a bounded whole-file reader, a growable text
 * buffer, number parsing and printing that do not depend on the host's
 * locale, name tables for enums, and the CPU-dispatch attributes of the hot
 * loops.  Names are hr__ (cross-file, hidden); nothing here prints. */
#ifndef HEADROOM_CORE_H
#define HEADROOM_CORE_H

#include <stdarg.h>
#include <stddef.h>

#include "headroom/error.h"

/* ---- CPU dispatch ---------------------------------------------------------
 * HR__CLONES(...) gives a function one clone per listed target, chosen at
 * load time (ifunc); each clone is deterministic, so results do not depend on
 * the machine's vector width beyond what IEEE arithmetic allows the selected
 * loop.  Only GCC on x86-64 builds clones; elsewhere, or with HR_NO_CLONES,
 * the attributes are empty and the baseline code runs.
 *   HR__CLONES_V4 : x86-64-v4 (AVX-512), AVX2, baseline.
 *   HR__CLONES_512 : AVX-512F, AVX2, baseline (the meter's hot loops).
 *   HR__CLONES_256 : AVX2, baseline.
 *   HR__TARGET_512 : AVX-512F only; the caller checks HR__HAVE_AVX512F().
 *   HR__HAVE_AVX512F() : nonzero when the running CPU has AVX-512F. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(HR_NO_CLONES)
#define HR__CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#define HR__TARGET(t) __attribute__((target(t)))
#define HR__HAVE_AVX512F() (__builtin_cpu_supports("avx512f") != 0)
#else
#define HR__CLONES(...)
#define HR__TARGET(t)
#define HR__HAVE_AVX512F() 0
#endif
#define HR__CLONES_V4 HR__CLONES("arch=x86-64-v4", "avx2", "default")
/* The meter's sets, AVX-512F alone rather than all of x86-64-v4: its
 * results are pinned to the code these targets give (tests/pq). */
#define HR__CLONES_512 HR__CLONES("avx512f", "avx2", "default")
#define HR__CLONES_256 HR__CLONES("avx2", "default")
#define HR__TARGET_512 HR__TARGET("avx512f")

/* ---- diagnostics ----------------------------------------------------------
 * Fills *d (when d is not NULL) and returns code, so that a failing path
 * reads `return hr__diag_fail(d, HR_ERR_PARSE, ...)`.  source, field: may be
 * NULL (left as they are: a caller may set source once up front).  line,
 * column: 1-based, 0 when not known.  The message is formatted from fmt. */
int hr__diag_fail(hr_diag_t *d, int code, long line, long column, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int hr__diag_vfail(hr_diag_t *d, int code, long line, long column, const char *field,
                   const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* Clears *d (NULL: no-op) and sets its source name (NULL: ""). */
void hr__diag_begin(hr_diag_t *d, const char *source);

/* ---- bounded file reader --------------------------------------------------
 * Reads the whole of path into a new NUL-terminated buffer (*out, caller
 * frees; *len bytes without the NUL).  A file longer than max_bytes is
 * refused with HR_ERR_RANGE (a regular file before it is read; a pipe once it
 * has given max_bytes + 1 bytes).  Returns HR_OK, HR_ERR_IO (cannot open or
 * read, errno's text in d), HR_ERR_RANGE, HR_ERR_NOMEM or HR_ERR_INVALID_ARG;
 * on failure *out is NULL.  d (may be NULL) gets field "(file)". */
int hr__file_read(const char *path, size_t max_bytes, char **out, size_t *len, hr_diag_t *d);

/* ---- growable buffer ------------------------------------------------------
 * A NUL-terminated text that grows by doubling.  Zero-initialise it
 * (hr__buf_t b = {0}); free with hr__buf_free.  After an allocation failure
 * b->nomem is set and every later append does nothing, so a writer checks
 * once at the end. */
typedef struct hr__buf {
  char *p;    /* the text, NUL-terminated once anything was appended; owned */
  size_t len; /* bytes without the NUL */
  size_t cap; /* bytes allocated */
  int nomem;  /* 1 after an allocation failed */
} hr__buf_t;

void hr__buf_free(hr__buf_t *b);
void hr__buf_put(hr__buf_t *b, const char *s, size_t n);
void hr__buf_printf(hr__buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends v as hr__num_format(digits) does. */
void hr__buf_num(hr__buf_t *b, double v, int digits);

/* ---- numbers, independent of the locale -----------------------------------
 * The host program may call setlocale(LC_ALL, "") and get a comma decimal
 * separator; files and JSON always use '.'.
 *
 * hr__num_parse: strtod in the "C" locale (thread-safe, no global state
 * changed).  Same contract as strtod: *end (may be NULL) after the number.
 * hr__num_format: printf("%.*g", digits, v) with '.' as the separator,
 * whatever the locale; returns what snprintf returns (length without NUL). */
double hr__num_parse(const char *s, char **end);
float hr__num_parsef(const char *s, char **end); /* strtof in the "C" locale */
int hr__num_format(char *buf, size_t len, int digits, double v);

/* ---- enum name tables -----------------------------------------------------
 * One table per enum lists each value with its stable name; the same table
 * gives the name (hr__enum_name) and parses it (hr__enum_parse). */
typedef struct hr__enum_name {
  int value;
  const char *name;
} hr__enum_name_t;

#define HR__COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The name of value in t[0..n), or unknown when absent. */
const char *hr__enum_name(const hr__enum_name_t *t, size_t n, int value, const char *unknown);
/* Finds text in t[0..n) (ignoring ASCII case when nocase).  Returns HR_OK and
 * writes *out, HR_ERR_PARSE when absent, HR_ERR_INVALID_ARG for NULLs. */
int hr__enum_parse(const hr__enum_name_t *t, size_t n, const char *text, int nocase, int *out);

#endif
