/* Overflow (UNDER=0) or underflow (UNDER=1) of a SIZE-byte block by DELTA bytes, written byte by
 * byte (MEMCPY=0) or by one memcpy (MEMCPY=1), between two live neighbours. */
#include "matrix.h"

static char src[(1 << 20) + (256 << 10)];

int main(void) {
  memset(src, 'A', sizeof src);
  char* before = launder(malloc(SIZE));
  char* p = launder(malloc(SIZE));
  char* after = launder(malloc(SIZE));
  memset(p, 'p', SIZE);
  volatile char* v = p;
#if UNDER
  if (MEMCPY) memcpy(p - DELTA, src, DELTA);
  else for (long i = 1; i <= DELTA; ++i) v[-i] = 'A';
#else
  if (MEMCPY) memcpy(p, src, SIZE + DELTA);
  else for (long i = 0; i < DELTA; ++i) v[SIZE + i] = 'A';
#endif
  free(p);
  free(before);
  free(after);
  churn(SIZE);
  missed();
}
