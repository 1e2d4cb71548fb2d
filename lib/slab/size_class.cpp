#include "slab/size_class.h"

namespace hm::slab {

int aligned_class(std::size_t n, std::size_t align) {
  if (n < align) n = align;
  if (n > kSmallMax) return -1;
  for (int c = class_of(n); c < kClasses; ++c) {
    if (class_size(c) % align == 0 && slab_offset(c) % align == 0) return c;
  }
  return -1;
}

}  // namespace hm::slab
