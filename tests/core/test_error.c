#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "headroom/error.h"

static void every_code_has_a_distinct_message(void **state)
{
  (void)state;
  for (int a = 0; a > HR_ERR_LAST_; a--) {
    assert_string_not_equal(hr_strerror(a), "unknown error");
    assert_true(strncmp(hr_err_name(a), "HR_", 3) == 0);
    for (int b = a - 1; b > HR_ERR_LAST_; b--)
      assert_string_not_equal(hr_strerror(a), hr_strerror(b));
  }
}

static void unknown_codes_are_named_unknown(void **state)
{
  (void)state;
  assert_string_equal(hr_strerror(HR_ERR_LAST_), "unknown error");
  assert_string_equal(hr_strerror(12345), "unknown error");
  assert_string_equal(hr_err_name(-999), "HR_ERR_UNKNOWN");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_code_has_a_distinct_message),
      cmocka_unit_test(unknown_codes_are_named_unknown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
