// Direct mappings: blocks larger than the arenas' buddy serves get their own mapping, aligned
// to 1 GiB so they own their registry slots. A header page at the mapping's start records the
// block; the user's address is the first `align`-aligned address after it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "os/os.h"

namespace hm::page {

inline constexpr std::uint64_t kDirectMagic = 0x68756765646d6170ull;  // "hugedmap"

struct DirectHeader {
  std::uint64_t magic;
  void* user;              // the address handed out
  std::size_t usable;      // bytes usable from `user`
  os::Mapping map;
  bool guarded;            // PROT_NONE before `user` and kDirectGuard after the block
};
inline constexpr std::size_t kDirectGuard = os::k2M;

void* direct_alloc(std::size_t size, std::size_t align);
// `h` from the registry; `p` must equal h->user (else an invalid pointer).
void direct_free(DirectHeader* h);
// Gives back the tail beyond what `size` bytes need (realloc to a smaller size); the block stays
// where it is and `usable` shrinks with it.
void direct_shrink(DirectHeader* h, std::size_t size);
std::size_t direct_bytes();

}  // namespace hm::page
