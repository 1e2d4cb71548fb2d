#include "hugemem/pktpool/ring.h"

#include <cerrno>
#include <new>

namespace hm::pkt {

Ring::Ring(std::uint32_t capacity) {
  if (capacity == 0 || (capacity & (capacity - 1)) != 0 || capacity > (std::uint32_t{1} << 31)) {
    errno = EINVAL;
    return;
  }
  slots_ = static_cast<void**>(
      ::operator new(std::size_t{capacity} * sizeof(void*), std::align_val_t{kCacheLine}, std::nothrow));
  if (!slots_) {
    errno = ENOMEM;
    return;
  }
  mask_ = capacity - 1;
}

Ring::~Ring() {
  if (slots_) ::operator delete(slots_, std::align_val_t{kCacheLine});
}

}  // namespace hm::pkt
