#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
  (void)argc; (void)argv;
  puts("headroom");
  return 0;
}
