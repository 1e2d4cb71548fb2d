// hugemem for C++ code that embeds it beside the system allocator (libhugemem.a): an STL
// allocator and a unique_ptr over the hm_* functions. With libhugemem.so preloaded or linked,
// plain new/delete and std::allocator already use hugemem and none of this is needed.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

#include "hugemem/hugemem.h"

namespace hm {

// A std::allocator replacement: allocate throws std::bad_alloc on failure, deallocate checks
// the size it is given (a wrong size is reported and aborts, like any misuse).
template <class T>
struct allocator {
  using value_type = T;
  allocator() noexcept = default;
  template <class U>
  allocator(const allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    void* p = alignof(T) > 16 ? hm_aligned_alloc(alignof(T), n * sizeof(T)) : hm_malloc(n * sizeof(T));
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (alignof(T) > 16) hm_free_aligned_sized(p, alignof(T), n * sizeof(T));
    else hm_free_sized(p, n * sizeof(T));
  }
  template <class U>
  bool operator==(const allocator<U>&) const noexcept { return true; }
};

struct free_deleter {
  void operator()(void* p) const noexcept { hm_free(p); }
};
template <class T>
using unique_ptr = std::unique_ptr<T, free_deleter>;

// Memory from hm_malloc owned by a unique_ptr; empty on failure.
template <class T = unsigned char>
unique_ptr<T> make_buffer(std::size_t bytes) {
  return unique_ptr<T>(static_cast<T*>(hm_malloc(bytes)));
}

inline hm_stats stats() noexcept {
  hm_stats s;
  hm_get_stats(&s);
  return s;
}

}  // namespace hm
