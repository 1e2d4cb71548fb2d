// Debug mode: every object going out is marked out, every object coming back must be an element
// of this pool that is out. The mark is one atomic byte per element, so a double put racing
// across threads is caught too (exactly one of the two exchanges sees the mark).
#include <cstdio>
#include <cstdlib>

#include "hugemem/pktpool/pktpool.h"

namespace hm::pkt {

void Pool::report(const char* what, const void* p, std::size_t index) {
  debug_errors_.fetch_add(1, std::memory_order_relaxed);
  if (index == npos)
    std::fprintf(stderr, "hugemem pktpool: %s %p in pool '%s'\n", what, p, name_.c_str());
  else
    std::fprintf(stderr, "hugemem pktpool: %s %p (element %zu) in pool '%s'\n", what, p, index,
                 name_.c_str());
  if (debug_ == Debug::Abort) std::abort();
}

Status Pool::get_checked(void** objs, std::uint32_t n) {
  Status s = get_plain(objs, n);
  if (s != Status::Ok) return s;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::size_t idx = index_of(objs[i]);
    // Only a corrupted ring or cache could hand out a foreign or an already-out element.
    if (idx == npos)
      report("corrupted store: handed out foreign object", objs[i], idx);
    else if (out_[idx].exchange(1, std::memory_order_relaxed) != 0)
      report("corrupted store: handed out twice", objs[i], idx);
  }
  return Status::Ok;
}

Status Pool::put_checked(void* const* objs, std::uint32_t n) {
  Status result = Status::Ok;
  void* good[64];
  std::uint32_t k = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::size_t idx = index_of(objs[i]);
    if (idx == npos) {
      report("foreign object", objs[i], idx);
      if (result == Status::Ok) result = Status::Foreign;
    } else if (out_[idx].exchange(0, std::memory_order_relaxed) == 0) {
      report("double put of", objs[i], idx);
      if (result == Status::Ok) result = Status::DoublePut;
    } else {
      good[k++] = objs[i];
    }
    if (k == 64 || (i + 1 == n && k)) {
      Status s = put_plain(good, k);
      if (result == Status::Ok) result = s;
      k = 0;
    }
  }
  return result;
}

}  // namespace hm::pkt
