// libFuzzer target: the input is a program of allocator calls (malloc, calloc, realloc, the
// aligned family, free, free_sized, usable_size) over 64 slots. Every live block is filled with
// a pattern derived from its slot and generation, and the pattern is verified before the block
// is freed or reallocated, so an allocator that hands out overlapping, misaligned, short or
// non-zeroed memory, or loses a realloc's contents, traps here.
//
// Built two ways: with g++ into fuzz_test (a deterministic driver, fuzz_driver.cpp, for ctest)
// and with clang -fsanitize=fuzzer,address by scripts/sanitize --fuzz for open-ended runs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hugemem/hugemem.h"

namespace {

constexpr int kSlots = 64;
// Blocks bigger than this are checked at their ends only (a direct mapping can be 256 MiB).
constexpr std::size_t kFullCheck = std::size_t{1} << 20;
constexpr std::size_t kEdge = 4096;

struct Slot {
  unsigned char* p = nullptr;
  std::size_t size = 0;
  unsigned char tag = 0;
  std::size_t align = 0;  // what it was allocated with: free_aligned_sized must be told
};

class Reader {
 public:
  Reader(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  bool empty() const { return i_ >= n_; }
  std::uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = v << 8 | byte();
    return v;
  }

 private:
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t i_ = 0;
};

[[noreturn]] void fail(const char* what, const Slot& s) {
  std::fprintf(stderr, "alloc_fuzz: %s (block %p, %zu bytes)\n", what, static_cast<void*>(s.p), s.size);
  std::abort();
}

unsigned char pattern(unsigned char tag, std::size_t i) { return static_cast<unsigned char>(tag + i * 31 + (i >> 8)); }

// Calls f(offset) for every byte that is filled and checked: all of a small block, the first and
// last kEdge bytes of a big one.
template <class F>
void for_checked(std::size_t size, F f) {
  if (size <= kFullCheck) {
    for (std::size_t i = 0; i < size; ++i) f(i);
    return;
  }
  for (std::size_t i = 0; i < kEdge; ++i) f(i);
  for (std::size_t i = size - kEdge; i < size; ++i) f(i);
}

void fill(Slot& s) {
  for_checked(s.size, [&](std::size_t i) { s.p[i] = pattern(s.tag, i); });
}

// Checks the bytes fill() wrote that lie below `upto`.
void verify(const Slot& s, std::size_t upto) {
  for_checked(s.size, [&](std::size_t i) {
    if (i < upto && s.p[i] != pattern(s.tag, i)) fail("contents changed while the block was live", s);
  });
}

// Sizes: mostly small objects, some large blocks, rarely a direct mapping (> 128 MiB).
std::size_t pick_size(Reader& r) {
  std::uint8_t kind = r.byte();
  std::uint32_t v = r.u32();
  if (kind < 160) return v % 1025;
  if (kind < 230) return v % 32769;
  if (kind < 254) return v % (std::size_t{4} << 20);
  return (std::size_t{129} << 20) + v % (std::size_t{64} << 20);
}

void accept(Slot& s, void* p, std::size_t size, std::size_t align, unsigned char tag) {
  if (!p) {
    if (size < (std::size_t{1} << 30)) fail("allocation failed", s);
    return;
  }
  s.p = static_cast<unsigned char*>(p);
  s.size = size;
  s.tag = tag;
  s.align = align;
  if (reinterpret_cast<std::uintptr_t>(p) % align != 0) fail("misaligned block", s);
  if (hm_usable_size(p) < size) fail("usable size below the size requested", s);
  fill(s);
}

void release(Slot& s, bool sized) {
  if (!s.p) return;
  verify(s, s.size);
  if (!sized) hm_free(s.p);
  else if (s.align > 16) hm_free_aligned_sized(s.p, s.align, s.size);
  else hm_free_sized(s.p, s.size);
  s = Slot{};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Slot slots[kSlots];
  Reader r(data, size);
  unsigned char generation = 0;
  while (!r.empty()) {
    std::uint8_t op = r.byte();
    Slot& s = slots[r.byte() % kSlots];
    ++generation;
    switch (op % 8) {
      case 0: {
        release(s, false);
        std::size_t n = pick_size(r);
        accept(s, hm_malloc(n), n, n <= 8 ? 8 : 16, generation);
        break;
      }
      case 1: {
        release(s, false);
        std::size_t n = pick_size(r);
        std::size_t count = 1 + r.byte() % 8;
        auto* p = static_cast<unsigned char*>(hm_calloc(count, n / count));
        Slot probe{p, n / count * count, 0, 0};
        if (p) for_checked(probe.size, [&](std::size_t i) {
            if (p[i] != 0) fail("calloc memory not zeroed", probe);
          });
        accept(s, p, probe.size, 8, generation);
        break;
      }
      case 2: {  // realloc keeps the contents up to the smaller size
        if (!s.p) break;
        std::size_t n = pick_size(r);
        verify(s, s.size);
        auto* p = static_cast<unsigned char*>(hm_realloc(s.p, n));
        if (n == 0) {  // frees, like glibc
          s = Slot{};
          break;
        }
        if (!p) fail("realloc failed", s);
        Slot moved{p, s.size, s.tag, 0};
        verify(moved, n);
        accept(s, p, n, 16 < n ? 16 : 8, generation);
        break;
      }
      case 3: {
        release(s, false);
        std::size_t align = std::size_t{1} << (r.byte() % 22);  // 1 B .. 2 MiB
        std::size_t n = pick_size(r);
        void* p = nullptr;
        switch (r.byte() % 3) {
          case 0: p = hm_memalign(align, n); break;
          case 1:
            if (align < sizeof(void*)) align = sizeof(void*);
            if (hm_posix_memalign(&p, align, n) != 0) p = nullptr;
            break;
          case 2: p = hm_aligned_alloc(align, n); break;
        }
        accept(s, p, n, align, generation);
        break;
      }
      case 4:
      case 5: release(s, op & 1); break;
      case 6:
        if (s.p && hm_usable_size(s.p) < s.size) fail("usable size shrank", s);
        if (s.p && !hm_owns(s.p)) fail("a live block is not owned", s);
        break;
      case 7:
        if (s.p) verify(s, s.size);
        break;
    }
  }
  for (Slot& s : slots) release(s, false);
  return 0;
}
