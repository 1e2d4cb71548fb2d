/* Read (WRITE=0) or write (WRITE=1) of a freed SIZE-byte block, at once (REUSED=0) or after a
 * block of the same size was allocated (and filled) since (REUSED=1). */
#include "matrix.h"

int main(void) {
  char* p = launder(malloc(SIZE));
  memset(p, 'p', SIZE);
  free(p);
  char* q = NULL;
  if (REUSED) {
    q = launder(malloc(SIZE));
    memset(q, 'q', SIZE);
  }
  volatile char* v = p;
#if WRITE
  strcpy(p, "pwned!!");
#else
  char c = v[0];
  c += v[SIZE / 2];
  (void)c;
#endif
  if (q) free(q);
  churn(SIZE);
  missed();
}
