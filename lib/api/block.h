// What a pointer handed to free/realloc/usable_size is: found in O(1) from the address alone
// (registry slot -> arena -> page descriptor -> slab header), validated on the way.
#pragma once

#include <cstddef>
#include <cstdint>

#include "page/arena.h"
#include "page/direct.h"
#include "page/registry.h"
#include "slab/slab.h"

namespace hm::api {

struct Block {
  enum Kind { Small, Large, Direct } kind;
  std::size_t usable;
  slab::Slab* slab = nullptr;       // Small
  page::Arena* arena = nullptr;     // Large
  page::DirectHeader* direct = nullptr;
  std::size_t guard = 0;            // Large in secure mode: bytes of the guard page before it
};

// Resolves p (non-null) or reports it ("what" names the function: free, realloc, ...) and aborts.
Block resolve(const void* p, const char* what);

}  // namespace hm::api
