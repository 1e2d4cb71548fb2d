/* A small C program for the preload test's compiler run: gcc builds it (under glibc, then with
 * hugemem preloaded into gcc, cc1, as and ld), and each build runs and prints the same lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
  struct node* next;
  unsigned key;
  char word[24];
};

static int by_key(const void* a, const void* b) {
  unsigned x = *(const unsigned*)a, y = *(const unsigned*)b;
  return (x > y) - (x < y);
}

int main(void) {
  enum { kBuckets = 4096, kItems = 100000 };
  struct node** table = calloc(kBuckets, sizeof *table);
  unsigned* keys = malloc(kItems * sizeof *keys);
  if (!table || !keys) return 1;
  unsigned x = 12345;
  for (int i = 0; i < kItems; ++i) {
    x = x * 1103515245u + 12345u;
    struct node* n = malloc(sizeof *n);
    if (!n) return 1;
    n->key = keys[i] = x >> 8;
    snprintf(n->word, sizeof n->word, "w%u", x % 100000);
    n->next = table[n->key % kBuckets];
    table[n->key % kBuckets] = n;
  }
  qsort(keys, kItems, sizeof *keys, by_key);
  unsigned long long sum = 0, longest = 0;
  for (int b = 0; b < kBuckets; ++b) {
    unsigned long long len = 0;
    for (struct node* n = table[b]; n;) {
      struct node* next = n->next;
      sum += n->key ^ strlen(n->word);
      ++len;
      free(n);
      n = next;
    }
    if (len > longest) longest = len;
  }
  printf("sum %llu longest chain %llu median key %u\n", sum, longest, keys[kItems / 2]);
  free(keys);
  free(table);
  return 0;
}
