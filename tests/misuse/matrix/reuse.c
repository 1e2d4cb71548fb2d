/* Whether a program gets a block of its choosing back. KIND 1: malloc(SIZE) after free of a
 * SIZE-byte block; 2: malloc(SIZE) after that block was grown by realloc; 3: malloc(SIZE / 2)
 * after it was shrunk to SIZE / 2 by realloc. Missed when the new block overlaps the old one
 * (and is not what realloc returned). */
#include "matrix.h"

static int overlaps(const char* r, size_t n, const char* p) { return r < p + SIZE && p < r + n; }

int main(void) {
  char* p = launder(malloc(SIZE));
  memset(p, 'p', SIZE);
  char* q = NULL;
  size_t n = SIZE;
#if KIND == 1
  free(p);
#elif KIND == 2
  q = launder(realloc(p, 2 * SIZE));
#elif KIND == 3
  n = SIZE / 2;
  q = launder(realloc(p, n));
#endif
  char* r = launder(malloc(n));
  if (r && r != q && overlaps(r, n, p) && !(q && overlaps(r, n, q))) missed();
  prevented();
}
