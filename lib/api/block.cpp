#include "api/block.h"

#include "api/secure.h"
#include "slab/free.h"
#include "slab/large_cache.h"
#include "slab/report.h"

namespace hm::api {

Block resolve(const void* p, const char* what) {
  std::uintptr_t e = page::registry_entry(p);
  if (!e) slab::report_invalid_pointer(p, what, "not allocated by hugemem");
  if (page::DirectHeader* d = page::registry_direct(e)) {
    if (d->magic != page::kDirectMagic || d->user != p)
      slab::report_invalid_pointer(p, what, "not the start of a live block (double free?)");
    return Block{Block::Direct, d->usable, nullptr, nullptr, d};
  }
  auto* a = reinterpret_cast<page::Arena*>(e);
  const page::PageDesc& d = *page::desc_in(e, p);
  switch (d.kind) {
    case page::PageKind::Slab: {
      slab::Slab* s = slab::slab_of(p);
      if (!s->contains_object(p)) slab::report_invalid_pointer(p, what, "not the start of an object (interior or misaligned)", s);
      if (slab::looks_free(s, static_cast<const slab::FreeObj*>(p))) slab::report_double_free(p, s);
      return Block{Block::Small, s->size, s, nullptr, nullptr};
    }
    case page::PageKind::Large:
      if (reinterpret_cast<std::uintptr_t>(p) % os::kPageSize != 0)
        slab::report_invalid_pointer(p, what, "not the start of a block (interior pointer)");
      if (__atomic_load_n(&d.tag, __ATOMIC_RELAXED) == slab::kCachedTag)  // written by its owner
        slab::report_invalid_pointer(p, what, "a freed large block (double free)");
      if (__atomic_load_n(&d.tag, __ATOMIC_RELAXED) == secure::kQuarantinedTag)
        slab::report_invalid_pointer(p, what, "a freed large block in quarantine (double free)");
      return Block{Block::Large, std::size_t{d.count} << page::kPageShift, nullptr, a, nullptr};
    case page::PageKind::Free:
      slab::report_invalid_pointer(p, what, "a free page block (double free)");
    case page::PageKind::Meta:
      slab::report_invalid_pointer(p, what, "hugemem's own metadata");
    case page::PageKind::Unused:
      // Secure mode: a block that starts a page after its head, the guard (api/secure.h).
      if (const page::PageDesc* h = secure::g_on ? secure::guarded_head(a, p) : nullptr) {
        if (__atomic_load_n(&h->tag, __ATOMIC_RELAXED) == secure::kQuarantinedGuardedTag)
          slab::report_invalid_pointer(p, what, "a freed large block in quarantine (double free)");
        return Block{Block::Large, std::size_t{h->count - 1u} << page::kPageShift, nullptr, a, nullptr, os::kPageSize};
      }
      break;
  }
  slab::report_invalid_pointer(p, what, "not the start of a live block (interior pointer or double free)");
}

}  // namespace hm::api
