#include "api/secure.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "api/runtime.h"
#include "os/env.h"
#include "os/os.h"
#include "page/registry.h"
#include "page/heap.h"
#include "page/lock.h"
#include "slab/free.h"
#include "slab/report.h"

namespace hm::api::secure {

#ifndef HUGEMEM_SECURE_DEFAULT
#define HUGEMEM_SECURE_DEFAULT 0
#endif
bool g_on = HUGEMEM_SECURE_DEFAULT;

namespace {

using slab::FreeObj;
using slab::Slab;

constexpr unsigned char kSlackFill = 0xCA;
constexpr std::uint64_t kFreeWord = 0xDFDFDFDFDFDFDFDFull;  // a checked-mode free slot's tail
constexpr std::size_t kCanary = sizeof(std::uint64_t);

std::uint64_t g_key = 0x9e3779b97f4a7c15ull;
std::uint64_t g_mark_key = 0x7f4a7c159e3779b9ull;

std::uint64_t mix(const void* at) {
  return (reinterpret_cast<std::uintptr_t>(at) >> 3) * 0xff51afd7ed558ccdull;
}
std::uint64_t* canary_of(const Slab* s, const void* slot) {
  return reinterpret_cast<std::uint64_t*>(static_cast<char*>(const_cast<void*>(slot)) + s->size - kCanary);
}
// A canary holds the requested size twice (both 32-bit halves), keyed: a change to any of its
// bytes makes the halves differ, so it never decodes as another plausible size.
std::uint64_t encode_size(const void* at, std::size_t n) { return g_key ^ mix(at) ^ (n | std::uint64_t{n} << 32); }
std::size_t decode_size(const void* at, std::uint64_t canary, std::size_t limit) {
  std::uint64_t v = canary ^ g_key ^ mix(at);
  std::uint64_t n = v & 0xffffffffu;
  return (v >> 32) == n && n <= limit ? n : SIZE_MAX;
}
void set_canary(const Slab* s, void* p, std::size_t n) {
  std::memset(static_cast<char*>(p) + n, kSlackFill, s->size - kCanary - n);
  *canary_of(s, p) = encode_size(p, n);
}
// The requested size the canary of slot p records, or SIZE_MAX if it is not a valid canary.
std::size_t decode_canary(const Slab* s, const void* p) { return decode_size(p, *canary_of(s, p), s->size - kCanary); }
// Large blocks: the canary is the block's last word, the fill runs from n up to it.
std::size_t large_bytes(const void* p) {
  page::Arena* a = page::Arena::of(p);
  if (const page::PageDesc* h = guarded_head(a, p)) return std::size_t{h->count - 1u} << page::kPageShift;
  return std::size_t{a->desc(a->index_of(p)).count} << page::kPageShift;
}
std::uint8_t head_tag(page::Arena* a, const void* head) {
  return std::atomic_ref<std::uint8_t>(a->desc(a->index_of(head)).tag).load(std::memory_order_relaxed);
}
void set_head_tag(page::Arena* a, const void* head, std::uint8_t tag) {
  std::atomic_ref<std::uint8_t>(a->desc(a->index_of(head)).tag).store(tag, std::memory_order_relaxed);
}
std::uint64_t* large_canary(void* p, std::size_t bytes) {
  return reinterpret_cast<std::uint64_t*>(static_cast<char*>(p) + bytes - kCanary);
}
std::size_t decode_large(void* p, std::size_t bytes) { return decode_size(p, *large_canary(p, bytes), bytes - kCanary); }
void check_large(void* p, std::size_t bytes) {
  std::size_t n = decode_large(p, bytes);
  if (n == SIZE_MAX) slab::report_large_overflow(p, bytes, SIZE_MAX, bytes - kCanary);
  const auto* c = static_cast<const unsigned char*>(p);
  for (std::size_t i = n; i < bytes - kCanary; ++i) {
    if (c[i] != kSlackFill) slab::report_large_overflow(p, bytes, n, i);
  }
}

// The 8 bytes before a slab's first object (padding after its header) hold a keyed word while
// that object is handed out, so an underflow off the first object is seen as one off any other
// (whose 8 bytes before are the previous slot's canary or free fill).
// (Objects start at slab_offset() >= kSlabHeader, so those 8 bytes are never a header field.)
static_assert(offsetof(Slab, pending_next) + sizeof(Slab*) <= slab::kSlabHeader - kCanary);
std::uint64_t* front_of(const Slab* s) { return reinterpret_cast<std::uint64_t*>(s->begin - kCanary); }
std::uint64_t front_mark(const Slab* s) { return g_key ^ mix(s->begin) ^ 0x46524f4e54ull; }

// A quarantined object's first word.
std::uint64_t quarantine_mark(const void* p) { return g_mark_key ^ mix(p) ^ 0x51554152ull; }

// ---- Quarantine: a FIFO of freed objects, for all threads, under one lock ----
constexpr std::size_t kSmallSlots = 4096;           // objects
constexpr std::size_t kSmallBytes = 4u << 20;       // and bytes
constexpr std::size_t kLargeSlots = 256;
constexpr std::size_t kLargeBytes = 64u << 20;
constexpr std::size_t kLargeMax = 16u << 20;        // larger blocks are freed at once
constexpr std::size_t kMaxGuards = 8192;             // live guarded blocks: at most 2 mappings each
std::atomic<std::size_t> g_guards{0};

struct Ring {
  void* item[kSmallSlots];
  std::size_t bytes_of[kSmallSlots];
  std::size_t head = 0, count = 0, bytes = 0;
  std::size_t scrub = 0;  // the next entry the scrub checks, counted from head
};
page::SpinLock g_lock;
Ring g_small;
Ring g_large;  // uses the first kLargeSlots entries

// Pushes p; returns in *out the evicted entries (at most `max_out`) to free outside the lock.
std::size_t push(Ring& r, std::size_t slots, std::size_t budget, void* p, std::size_t bytes, void** out,
                 std::size_t* out_bytes, std::size_t max_out) {
  std::size_t n = 0;
  while (r.count > 0 && (r.count == slots || r.bytes + bytes > budget) && n < max_out) {
    out_bytes[n] = r.bytes_of[r.head];
    out[n++] = r.item[r.head];
    r.bytes -= r.bytes_of[r.head];
    r.head = (r.head + 1) % slots;
    if (r.scrub > 0) --r.scrub;
    --r.count;
  }
  std::size_t at = (r.head + r.count) % slots;
  r.item[at] = p;
  r.bytes_of[at] = bytes;
  r.bytes += bytes;
  ++r.count;
  return n;
}

// The scrub: every free into the quarantine also checks the mark and the first kScrubBytes of
// the fill of kScrubPerFree objects already in it, round robin, under the lock (so none of them
// leaves meanwhile). A write after free is then reported within a few frees instead of when the
// object leaves the quarantine, thousands of frees later or never in a short-lived process.
constexpr std::size_t kScrubPerFree = 2;
constexpr std::size_t kScrubBytes = 256;

void scrub_locked(Ring& r) {
  for (std::size_t k = 0; k < kScrubPerFree && r.count > 0; ++k) {
    if (r.scrub >= r.count) r.scrub = 0;
    void* p = r.item[(r.head + r.scrub++) % kSmallSlots];
    const Slab* s = slab::slab_of(p);
    if (static_cast<const FreeObj*>(p)->link != quarantine_mark(p)) slab::report_write_after_free(p, s, 0);
    const auto* c = static_cast<const unsigned char*>(p);
    std::size_t end = s->size < kScrubBytes ? s->size : kScrubBytes;  // sizes are multiples of 8
    for (std::size_t i = sizeof(FreeObj); i < end; i += sizeof(std::uint64_t)) {
      std::uint64_t w;
      std::memcpy(&w, c + i, sizeof w);
      if (w == kFreeWord) continue;
      while (c[i] == slab::kFreeFill) ++i;
      slab::report_write_after_free(p, s, i);
    }
  }
}

// As malloc.cpp's heap_for_free: frees never make a heap.
slab::ThreadHeap* heap_for_free_secure() {
  if (slab::ThreadHeap* h = t_own_heap) return h;
  if (t_exited) return &slab::g_orphan;
  slab::ThreadHeap* h = heap_slow();
  return h ? h : &slab::g_orphan;
}

void release_small(void* p) {
  Slab* s = slab::slab_of(p);
  auto* o = static_cast<FreeObj*>(p);
  if (o->link != quarantine_mark(p)) slab::report_write_after_free(p, s, 0);
  slab::verify_freed(s, o);  // the fill from byte 8 on
  heap_for_free_secure()->free(s, o);
}

void release_large(void* p, std::size_t bytes) {
  page::Arena* a = page::Arena::of(p);
  os::protect(p, bytes, true);
  set_head_tag(a, p, 0);
  a->heap()->free(p, 0);
}

__thread std::uint64_t t_rand __attribute__((tls_model("initial-exec"))) = 0;
unsigned next_rand() {
  std::uint64_t x = t_rand;
  if (!x) x = os::random_u64() | 1;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  t_rand = x;
  return static_cast<unsigned>(x);
}

// Hands out one of the first few free objects of p's slab instead of p (p goes back in its
// place). Only the owner's local freelist is touched, by its owner.
FreeObj* shuffle(Slab* s, FreeObj* p) {
  unsigned r = next_rand() & 3;
  if (r == 0 || !s->has_free()) return p;
  FreeObj* prev = nullptr;
  FreeObj* x = s->free;
  for (unsigned i = 0; i < r; ++i) {
    FreeObj* n = slab::decode(x->link, s);
    if (n != s->end && !s->contains_object(n)) slab::report_corrupted_freelist(x, s);
    if (n == s->end) break;
    prev = x;
    x = n;
  }
  FreeObj* next = slab::decode(x->link, s);
  if (next != s->end && !s->contains_object(next)) slab::report_corrupted_freelist(x, s);
  p->link = slab::encode(next, s);
  if (prev) prev->link = slab::encode(p, s);
  else s->free = p;
  x->link = 0;
  return x;
}

// SIGSEGV in secure mode: says which of hugemem's inaccessible ranges the address is in, if any.
void describe_fault(void* addr) {
  std::uintptr_t e = page::registry_entry(addr);
  if (!e) return;  // not hugemem's
  os::Message m;
  m << "hugemem: invalid access at " << static_cast<const void*>(addr) << ": ";
  if (page::DirectHeader* d = page::registry_direct(e)) {
    m << "a guard page of the direct mapping " << static_cast<const void*>(d->user)
      << (addr < d->user ? " (an underflow)" : " (an overflow)");
  } else {
    auto* a = reinterpret_cast<page::Arena*>(e);
    std::uint32_t idx = a->index_of(addr);
    if (idx < page::kFirstUsablePage) {
      m << "the guard before the arena's first block (an underflow)";
    } else {
      const char* why = "memory hugemem has not handed out (an overflow or underflow past every live block)";
      std::uint32_t lo = idx > kLargeMax >> page::kPageShift ? idx - (kLargeMax >> page::kPageShift) : 0;
      for (std::uint32_t i = idx + 1; i-- > lo && i >= page::kFirstUsablePage;) {
        const page::PageDesc& pd = a->desc(i);
        if (pd.kind == page::PageKind::Large) {
          if (idx < i + pd.count && pd.tag == kQuarantinedTag) {
            m << "use after free of the large block " << static_cast<const void*>(a->page(i)) << " ("
              << static_cast<std::uint64_t>(std::size_t{pd.count} << page::kPageShift) << " bytes, freed, in quarantine)";
            why = nullptr;
          } else if (idx < i + pd.count && pd.tag == kQuarantinedGuardedTag) {
            m << "use after free of the large block " << static_cast<const void*>(a->page(i + 1)) << " ("
              << static_cast<std::uint64_t>(std::size_t{pd.count - 1u} << page::kPageShift) << " bytes, freed, in quarantine)";
            why = nullptr;
          } else if (idx == i && pd.tag == kGuardedTag) {
            m << "the guard page before the large block " << static_cast<const void*>(a->page(i + 1)) << " (an underflow)";
            why = nullptr;
          } else if (idx < i + pd.count && pd.tag == kZeroSizeTag) {
            m << "a read or write of the zero-size block " << static_cast<const void*>(a->page(i))
              << " (malloc(0): it has no byte to access)";
            why = nullptr;
          }
          break;
        }
        if (pd.kind != page::PageKind::Unused) break;
      }
      if (why) m << why;
    }
  }
  m << " in thread " << os::thread_id();
  m.write_to_stderr();
}

}  // namespace

void init() {
  g_key = os::random_u64();
  g_mark_key = os::random_u64();
  os::on_segv(describe_fault);
}

int class_for(std::size_t n, std::size_t align) {
  if (n > os::kPageSize) return -1;  // before adding the canary: n near SIZE_MAX would wrap
  std::size_t m = n + kCanary;
  // A block of more than a page with its canary gets pages of its own (a large block): freed,
  // it is made inaccessible, so a read after free faults, as for every large block.
  if (m > os::kPageSize) return -1;
  if (align <= 16) return m <= slab::kSmallMax ? slab::class_of(m) : -1;
  return slab::aligned_class(m, align);
}

void* alloc_small(slab::ThreadHeap* h, int c, std::size_t n) {
  auto* p = static_cast<FreeObj*>(h->alloc(c));
  if (!p) return nullptr;
  Slab* s = slab::slab_of(p);
  if (s->owner.load(std::memory_order_relaxed) == h) p = shuffle(s, p);
  slab::verify_freed(s, p);
  set_canary(s, p, n);
  if (reinterpret_cast<char*>(p) == s->begin) *front_of(s) = front_mark(s);
  return p;
}

void mark_large(void* p, std::size_t n) {
  if (page::registry_direct(page::registry_entry(p))) return;  // direct mappings: guards only
  std::size_t bytes = large_bytes(p);
  std::memset(static_cast<char*>(p) + n, kSlackFill, bytes - kCanary - n);
  *large_canary(p, bytes) = encode_size(p, n);
}

bool take_guard() {
  if (g_guards.fetch_add(1, std::memory_order_relaxed) < kMaxGuards) return true;
  g_guards.fetch_sub(1, std::memory_order_relaxed);
  return false;
}
void put_guard() { g_guards.fetch_sub(1, std::memory_order_relaxed); }

void* guard_front(void* p) {
  if (!os::protect(p, os::kPageSize, false)) return nullptr;
  set_head_tag(page::Arena::of(p), p, kGuardedTag);
  return static_cast<char*>(p) + os::kPageSize;
}

const page::PageDesc* guarded_head(page::Arena* a, const void* p) {
  if (reinterpret_cast<std::uintptr_t>(p) % os::kPageSize != 0) return nullptr;
  std::uint32_t idx = a->index_of(p);
  if (idx <= page::kFirstUsablePage) return nullptr;
  const page::PageDesc& h = a->desc(idx - 1);
  std::uint8_t tag = std::atomic_ref<std::uint8_t>(const_cast<std::uint8_t&>(h.tag)).load(std::memory_order_relaxed);
  return h.kind == page::PageKind::Large && (tag == kGuardedTag || tag == kQuarantinedGuardedTag) ? &h : nullptr;
}

bool make_zero_size(void* p) {
  if (!os::protect(p, os::kPageSize, false)) return false;
  set_head_tag(page::Arena::of(p), p, kZeroSizeTag);
  return true;
}

void free(const Block& b, void* p) {
  if (b.kind == Block::Small) {
    Slab* s = b.slab;
    auto* o = static_cast<FreeObj*>(p);
    if (o->link == quarantine_mark(p)) slab::report_double_free(p, s);
    std::size_t n = decode_canary(s, p);
    if (n == SIZE_MAX) slab::report_overflow(p, s, SIZE_MAX, s->size - kCanary);
    const auto* c = static_cast<const unsigned char*>(p);
    for (std::size_t i = n; i < s->size - kCanary; ++i) {
      if (c[i] != kSlackFill) slab::report_overflow(p, s, n, i);
    }
    if (p != s->begin) {
      void* prev = static_cast<char*>(p) - s->size;
      auto w = *reinterpret_cast<const std::uint64_t*>(static_cast<char*>(p) - kCanary);
      if (w != kFreeWord && decode_canary(s, prev) == SIZE_MAX) slab::report_underflow(p, s);
    } else if (*front_of(s) != front_mark(s)) {
      slab::report_underflow(p, s);
    }
    slab::fill_freed(s, o);
    o->link = quarantine_mark(p);
    void* out[8];
    std::size_t out_bytes[8];
    std::size_t k;
    {
      page::LockGuard g(g_lock);
      scrub_locked(g_small);
      k = push(g_small, kSmallSlots, kSmallBytes, p, s->size, out, out_bytes, 8);
    }
    for (std::size_t i = 0; i < k; ++i) release_small(out[i]);
    return;
  }
  // Large arena blocks (direct mappings are unmapped by the caller). A zero-size block has no
  // canary and is inaccessible already.
  page::Arena* a = b.arena;
  void* head = static_cast<char*>(p) - b.guard;
  bool zero_size = head_tag(a, head) == kZeroSizeTag;
  if (!zero_size) check_large(p, b.usable);
  if (b.guard || zero_size) put_guard();
  if (b.usable > kLargeMax) {
    release_large(head, b.guard + b.usable);
    return;
  }
  set_head_tag(a, head, b.guard ? kQuarantinedGuardedTag : kQuarantinedTag);
  if (!zero_size) os::protect(p, b.usable, false);
  void* out[8];
  std::size_t out_bytes[8];
  std::size_t k;
  {
    page::LockGuard g(g_lock);
    k = push(g_large, kLargeSlots, kLargeBytes, head, b.guard + b.usable, out, out_bytes, 8);
  }
  for (std::size_t i = 0; i < k; ++i) release_large(out[i], out_bytes[i]);
}

namespace {
constexpr std::size_t kThresholdStart = std::size_t{128} << 10;
// Larger blocks are freed as usual: a quarantined block is decommitted and held out of reuse,
// so each costs its pages faulted in again elsewhere, which a program cycling buffers of tens
// of MiB would pay at every new size (big_allocs: 0.18 -> 0.42 s without this cap).
constexpr std::size_t kQuarantineMax = std::size_t{4} << 20;
std::atomic<std::size_t> g_threshold{kThresholdStart};
}  // namespace

void note_large_alloc(void* p, std::size_t bytes) {
  if (bytes > g_threshold.load(std::memory_order_relaxed) && bytes <= kQuarantineMax && !g_on && !slab::g_checked)
    set_head_tag(page::Arena::of(p), p, kAboveThresholdTag);
}

bool quarantine_new_size(const Block& b, void* p) {
  if (b.kind != Block::Large || b.guard || b.usable > kQuarantineMax) return false;
  std::size_t t = g_threshold.load(std::memory_order_relaxed);
  if (b.usable <= t && head_tag(b.arena, p) != kAboveThresholdTag) return false;
  // Raised to every new size (a race between two frees of new sizes quarantines both): a
  // program pays one system call pair per new size, not per free.
  while (t < b.usable && !g_threshold.compare_exchange_weak(t, b.usable, std::memory_order_relaxed)) {
  }
  page::Arena* a = b.arena;
  set_head_tag(a, p, kQuarantinedTag);
  if (!os::protect(p, b.usable, false)) {  // the kernel refused (mappings): freed as usual
    set_head_tag(a, p, 0);
    return false;
  }
  os::decommit(p, b.usable);
  void* out[8];
  std::size_t out_bytes[8];
  std::size_t k;
  {
    page::LockGuard g(g_lock);
    k = push(g_large, kLargeSlots, kLargeBytes, p, b.usable, out, out_bytes, 8);
  }
  for (std::size_t i = 0; i < k; ++i) release_large(out[i], out_bytes[i]);
  return true;
}

std::size_t decommitted_in_quarantine() {
  if (g_on) return 0;
  page::LockGuard g(g_lock);
  return g_large.bytes;
}

std::size_t usable(const Block& b, const void* p, const char* what) {
  if (b.kind == Block::Direct) return b.usable;
  if (b.kind == Block::Large) {
    if (head_tag(b.arena, p) == kZeroSizeTag) return 0;
    std::size_t n = decode_large(const_cast<void*>(p), b.usable);
    if (n == SIZE_MAX) slab::report_large_overflow(p, b.usable, SIZE_MAX, b.usable - kCanary);
    return n;
  }
  if (static_cast<const FreeObj*>(p)->link == quarantine_mark(p))
    slab::report_invalid_pointer(p, what, "a freed object in quarantine (use after free)", b.slab);
  std::size_t n = decode_canary(b.slab, p);
  if (n == SIZE_MAX) slab::report_overflow(p, b.slab, SIZE_MAX, b.slab->size - kCanary);
  return n;
}

void flush() {
  for (;;) {
    void* small[64];
    void* large[64];
    std::size_t large_len[64];
    std::size_t ns = 0, nl = 0;
    {
      page::LockGuard g(g_lock);
      for (; ns < 64 && g_small.count > 0; ++ns) {
        small[ns] = g_small.item[g_small.head];
        g_small.bytes -= g_small.bytes_of[g_small.head];
        g_small.head = (g_small.head + 1) % kSmallSlots;
        --g_small.count;
      }
      for (; nl < 64 && g_large.count > 0; ++nl) {
        large[nl] = g_large.item[g_large.head];
        large_len[nl] = g_large.bytes_of[g_large.head];
        g_large.bytes -= large_len[nl];
        g_large.head = (g_large.head + 1) % kLargeSlots;
        --g_large.count;
      }
      g_small.scrub = 0;
    }
    if (ns == 0 && nl == 0) return;
    for (std::size_t i = 0; i < ns; ++i) release_small(small[i]);
    for (std::size_t i = 0; i < nl; ++i) release_large(large[i], large_len[i]);
  }
}

bool quarantined(const void* p) { return static_cast<const FreeObj*>(p)->link == quarantine_mark(p); }

void lock() { g_lock.lock(); }
void unlock() { g_lock.unlock(); }
void reset_lock() { g_lock.reset(); }

}  // namespace hm::api::secure
