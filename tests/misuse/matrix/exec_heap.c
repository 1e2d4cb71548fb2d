/* Whether heap memory can be executed: a "ret" instruction written into a block and called. */
#include "matrix.h"

int main(void) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned char* p = (unsigned char*)launder(malloc(64));
  p[0] = 0xc3;
  ((void (*)(void))p)();
  missed();
#else
  prevented();  /* no instruction written for this architecture */
#endif
}
