/* An impossibly large malloc must fail (NULL), not return a block. */
#include "matrix.h"

int main(void) {
  volatile size_t n = SIZE_MAX - 4096;
  if (launder(malloc(n))) missed();
  volatile size_t m = (size_t)1 << 62;
  if (launder(malloc(m))) missed();
  prevented();
}
