/* Read (WRITE=0) or write (WRITE=1) of one byte of malloc(0), while live (FREED=0) or after it
 * was freed (FREED=1). */
#include "matrix.h"

int main(void) {
  char* p = launder(malloc(0));
  if (!p) prevented();
  if (FREED) free(p);
  volatile char* v = p;
#if WRITE
  v[0] = 'A';
#else
  char c = v[0];
  (void)c;
#endif
  if (!FREED) free(p);
  churn(0);
  churn(8);
  missed();
}
