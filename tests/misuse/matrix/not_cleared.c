/* Whether a freed block still holds its data: a SIZE-byte block filled with a secret, freed,
 * then read (an information leak through a dangling pointer). */
#include "matrix.h"

int main(void) {
  char* p = launder(malloc(SIZE));
  memset(p, SECRET, SIZE);
  free(p);
  if (holds_secret(p, SIZE)) missed();
  prevented();
}
