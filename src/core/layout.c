#include <strings.h>

#include "headroom/error.h"
#include "headroom/layout.h"

int hr_layout_n_u(hr_layout_t layout)
{
  switch (layout) {
  case HR_LAYOUT_1P2W:
    return 1;
  case HR_LAYOUT_3P3W:
  case HR_LAYOUT_3P4W:
    return 3;
  }
  return 0;
}

int hr_layout_n_i(hr_layout_t layout, int has_in)
{
  switch (layout) {
  case HR_LAYOUT_1P2W:
    return 1;
  case HR_LAYOUT_3P3W:
    return 3;
  case HR_LAYOUT_3P4W:
    return has_in ? 4 : 3;
  }
  return 0;
}

int hr_layout_parse(const char *text, hr_layout_t *out)
{
  static const struct {
    const char *name;
    hr_layout_t layout;
  } names[] = {{"1p2w", HR_LAYOUT_1P2W}, {"3p3w", HR_LAYOUT_3P3W}, {"3p4w", HR_LAYOUT_3P4W}};
  if (!text || !out)
    return HR_ERR_INVALID_ARG;
  for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++) {
    if (strcasecmp(text, names[k].name) == 0) {
      *out = names[k].layout;
      return HR_OK;
    }
  }
  return HR_ERR_PARSE;
}

const char *hr_layout_name(hr_layout_t layout)
{
  switch (layout) {
  case HR_LAYOUT_1P2W:
    return "1p2w";
  case HR_LAYOUT_3P3W:
    return "3p3w";
  case HR_LAYOUT_3P4W:
    return "3p4w";
  }
  return "unknown";
}
