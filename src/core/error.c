#include "headroom/error.h"

const char *hr_strerror(int err)
{
  switch (err) {
#define HR_X_MSG(name, value, msg)                                                                 \
  case value:                                                                                      \
    return msg;
    HR_ERROR_MAP(HR_X_MSG)
#undef HR_X_MSG
  default:
    return "unknown error";
  }
}

const char *hr_err_name(int err)
{
  switch (err) {
#define HR_X_NAME(name, value, msg)                                                                \
  case value:                                                                                      \
    return #name;
    HR_ERROR_MAP(HR_X_NAME)
#undef HR_X_NAME
  default:
    return "HR_ERR_UNKNOWN";
  }
}
