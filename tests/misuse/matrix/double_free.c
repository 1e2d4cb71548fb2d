/* A SIZE-byte block freed twice. PATTERN 1: at once; 2: after other allocations and frees;
 * 3: with a free of another block between (free a, free b, free a); 4: after a block of the same
 * size was allocated since (it may be the same one: the second free then frees the new owner's
 * block); 5: the old pointer after realloc moved or kept it, then the new one. */
#include "matrix.h"

int main(void) {
  char* p = launder(malloc(SIZE));
  memset(p, 'p', SIZE);
#if PATTERN == 1
  free(p);
  free(p);
#elif PATTERN == 2
  free(p);
  void* keep[32];
  for (int i = 0; i < 32; ++i) keep[i] = malloc(16 + 40 * i);
  for (int i = 0; i < 32; i += 2) free(keep[i]);
  free(p);
#elif PATTERN == 3
  char* q = launder(malloc(SIZE));
  free(p);
  free(q);
  free(p);
#elif PATTERN == 4
  free(p);
  char* q = launder(malloc(SIZE));
  memset(q, 'q', SIZE);
  free(p);
#elif PATTERN == 5
  char* q = launder(realloc(p, 2 * SIZE));
  free(p);
  free(q);
#endif
  churn(SIZE);
  missed();
}
