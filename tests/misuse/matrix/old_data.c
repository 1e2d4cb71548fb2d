/* Whether malloc hands out memory still holding a freed block's data: eight SIZE-byte blocks
 * filled with a secret and freed, then many allocations of the same size (enough to pass any
 * quarantine), each searched for the secret. */
#include "matrix.h"

int main(void) {
  char* b[8];
  for (int i = 0; i < 8; ++i) {
    b[i] = launder(malloc(SIZE));
    memset(b[i], SECRET, SIZE);
  }
  for (int i = 0; i < 8; ++i) free(b[i]);
  int rounds = SIZE <= 65536 ? 6000 : 300;
  for (int i = 0; i < rounds; ++i) {
    char* q = launder(malloc(SIZE));
    if (holds_secret(q, SIZE)) missed();
    free(q);
  }
  prevented();
}
