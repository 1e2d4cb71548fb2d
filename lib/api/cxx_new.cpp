// C++ operator new / delete for libhugemem.so: every form (plain, array, nothrow, sized,
// aligned). new retries through the installed new_handler and throws std::bad_alloc when there
// is none, as the standard requires; sized and aligned deletes check what they are told.
#include <new>

#include "hugemem/hugemem.h"

#include "api/export.h"

namespace {

void* new_impl(std::size_t n) {
  for (;;) {
    if (void* p = hm_malloc(n)) return p;
    std::new_handler handler = std::get_new_handler();
    if (!handler) throw std::bad_alloc();
    handler();
  }
}

void* new_aligned_impl(std::size_t n, std::size_t align) {
  for (;;) {
    if (void* p = hm_aligned_alloc(align, n)) return p;
    std::new_handler handler = std::get_new_handler();
    if (!handler) throw std::bad_alloc();
    handler();
  }
}

void* new_nothrow(std::size_t n) noexcept {
  try {
    return new_impl(n);
  } catch (...) {
    return nullptr;
  }
}

void* new_aligned_nothrow(std::size_t n, std::size_t align) noexcept {
  try {
    return new_aligned_impl(n, align);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

HM_EXPORT_CXX void* operator new(std::size_t n) { return new_impl(n); }
HM_EXPORT_CXX void* operator new[](std::size_t n) { return new_impl(n); }
HM_EXPORT_CXX void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n); }
HM_EXPORT_CXX void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n); }
HM_EXPORT_CXX void* operator new(std::size_t n, std::align_val_t a) { return new_aligned_impl(n, static_cast<std::size_t>(a)); }
HM_EXPORT_CXX void* operator new[](std::size_t n, std::align_val_t a) { return new_aligned_impl(n, static_cast<std::size_t>(a)); }
HM_EXPORT_CXX void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_aligned_nothrow(n, static_cast<std::size_t>(a));
}
HM_EXPORT_CXX void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_aligned_nothrow(n, static_cast<std::size_t>(a));
}

HM_EXPORT_CXX void operator delete(void* p) noexcept { hm_free(p); }
HM_EXPORT_CXX void operator delete[](void* p) noexcept { hm_free(p); }
HM_EXPORT_CXX void operator delete(void* p, const std::nothrow_t&) noexcept { hm_free(p); }
HM_EXPORT_CXX void operator delete[](void* p, const std::nothrow_t&) noexcept { hm_free(p); }
HM_EXPORT_CXX void operator delete(void* p, std::size_t n) noexcept { hm_free_sized(p, n); }
HM_EXPORT_CXX void operator delete[](void* p, std::size_t n) noexcept { hm_free_sized(p, n); }
HM_EXPORT_CXX void operator delete(void* p, std::align_val_t) noexcept { hm_free(p); }
HM_EXPORT_CXX void operator delete[](void* p, std::align_val_t) noexcept { hm_free(p); }
HM_EXPORT_CXX void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { hm_free(p); }
HM_EXPORT_CXX void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { hm_free(p); }
HM_EXPORT_CXX void operator delete(void* p, std::size_t n, std::align_val_t a) noexcept {
  hm_free_aligned_sized(p, static_cast<std::size_t>(a), n);
}
HM_EXPORT_CXX void operator delete[](void* p, std::size_t n, std::align_val_t a) noexcept {
  hm_free_aligned_sized(p, static_cast<std::size_t>(a), n);
}
