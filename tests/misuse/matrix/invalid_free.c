/* free() of something malloc never returned. KIND 1: a stack array; 2: alloca; 3: a global;
 * 4: a page mapped outside the heap; 5: a SIZE-byte block plus one (unaligned); 6: a pointer
 * into a SIZE-byte block (its middle, 16-byte aligned, or 16 bytes in). */
#include <alloca.h>
#include <sys/mman.h>

#include "matrix.h"

static char g_global[64];

int main(void) {
  char stack[64];
  char* p;
#if KIND == 1
  p = launder(stack);
#elif KIND == 2
  p = launder(alloca(64));
#elif KIND == 3
  p = launder(g_global);
#elif KIND == 4
  p = launder(mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  p += 4096;
#elif KIND == 5
  p = launder(malloc(SIZE)) + 1;
#elif KIND == 6
  p = launder(malloc(SIZE)) + (SIZE >= 64 ? SIZE / 2 & ~15 : 16);
#endif
  (void)stack;
  free(p);
  churn(SIZE);
  missed();
}
