// N malloc(SIZE)+free pairs (SIZE 32 unless given) and nothing else, for counting instructions
// under callgrind: the run with N pairs minus the run with 0 pairs, divided by N, is the
// instruction cost of one pair (including the calls and this loop's own instructions, which
// bench/malloc/run subtracts as main's self cost).
#include <cstdio>
#include <cstdlib>

#include "which_malloc.h"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s PAIRS [SIZE]\n", argv[0]);
    return 1;
  }
  if (!malloc_is_expected()) return 2;
  const long pairs = std::atol(argv[1]);
  const std::size_t size = argc == 3 ? std::strtoul(argv[2], nullptr, 0) : 32;
  // Both runs pay first-use initialisation here, so it cancels out of the difference. The
  // block kept live stands for the rest of a program's heap: without it every free would empty
  // its page or slab and measure the allocators' empty-page path (mimalloc retires the page on
  // each such free) instead of the fast path.
  void* neighbour = std::malloc(size);
  asm volatile("" : : "r"(neighbour) : "memory");
  for (long i = 0; i < pairs; ++i) {
    void* p = std::malloc(size);
    asm volatile("" : : "r"(p) : "memory");  // the pair must happen, in this order
    std::free(p);
  }
  std::free(neighbour);
  return 0;
}
