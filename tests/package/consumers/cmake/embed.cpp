// hugemem::static (the hm_* API beside the system malloc) and hugemem::pktpool in one program.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <hugemem/hugemem.hpp>
#include <hugemem/pktpool/ring.h>

int main() {
  std::vector<int, hm::allocator<int>> v(1000, 7);
  if (!hm_owns(v.data())) return std::puts("vector not in hugemem"), 1;
  void* libc = std::malloc(64);
  if (hm_owns(libc)) return std::puts("the system malloc was replaced; libhugemem.a must not do that"), 1;
  std::free(libc);
  hm::pkt::Ring ring(8);
  if (!ring) return std::puts("ring"), 1;
  void* in[2] = {v.data(), nullptr};
  void* out[2] = {};
  if (ring.enqueue_bulk(in, 2) != 2 || ring.dequeue_bulk(out, 2) != 2 || out[0] != v.data())
    return std::puts("ring order"), 1;
  std::printf("embed ok: hugemem %s, ring of %u\n", hm_version_string(), ring.capacity());
  return 0;
}
