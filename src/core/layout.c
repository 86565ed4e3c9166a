#include "core/core.h"
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

static const hr__enum_name_t layout_names[] = {
    {HR_LAYOUT_1P2W, "1p2w"}, {HR_LAYOUT_3P3W, "3p3w"}, {HR_LAYOUT_3P4W, "3p4w"}};

int hr_layout_parse(const char *text, hr_layout_t *out)
{
  int v;
  if (!out)
    return HR_ERR_INVALID_ARG;
  int rc = hr__enum_parse(layout_names, HR__COUNT(layout_names), text, 1, &v);
  if (rc == HR_OK)
    *out = (hr_layout_t)v;
  return rc;
}

const char *hr_layout_name(hr_layout_t layout)
{
  return hr__enum_name(layout_names, HR__COUNT(layout_names), (int)layout, "unknown");
}
