/* Replaced by the real implementation in the next commits. */
#include <stdio.h>

#include "cli.h"

int cmd_gen(int argc, char **argv)
{
  (void)argc; (void)argv;
  fprintf(stderr, "headroom gen: not available in this build\n");
  return 1;
}
