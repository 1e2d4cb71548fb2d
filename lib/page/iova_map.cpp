#include "page/iova_map.h"

#include <cerrno>

#include "os/os.h"
#include "page/lock.h"

namespace hm::page {

// 1 MiB of zero-initialised .bss, as the registry: only slots of GiBs holding DMA memory are touched.
std::atomic<IovaEntry*> g_iova_l1[std::size_t{1} << kRegistryBits];

namespace {

constexpr std::uintptr_t kGranule = std::uintptr_t{1} << 21;  // one second-level entry
constexpr std::size_t kEntries = 512;

SpinLock g_lock;  // writers

// The first tables come from .bss (256 KiB, touched only as used: a program with a few arenas
// and pools needs a few tables), the rest are mapped. Either way they stay for the process's
// life, like the registry.
constexpr std::size_t kStaticTables = 64;
alignas(4096) IovaEntry g_static_tables[kStaticTables][kEntries];
std::size_t g_static_used = 0;

// A table of 512 zero entries; null + ENOMEM.
IovaEntry* new_table() {
  if (g_static_used < kStaticTables) return g_static_tables[g_static_used++];
  os::Mapping m = os::map(os::kPageSize, os::kPageSize, os::Backing::Small, "hugemem-iova-map", true);
  return static_cast<IovaEntry*>(m.addr);
}

IovaEntry* l2_of(std::uintptr_t a) { return g_iova_l1[a >> 30].load(std::memory_order_relaxed); }
IovaEntry& entry_of(std::uintptr_t a) { return l2_of(a)[(a >> 21) & (kEntries - 1)]; }
IovaEntry* l3_of(std::uintptr_t e) { return reinterpret_cast<IovaEntry*>(e & ~std::uintptr_t{3}); }

// Makes sure every table a record of [a, end) needs exists: the GiB's table, and a 4 KiB-level
// table for every 2 MiB the range covers only in part. Tables are published (release) before any
// entry that names them, and stay when a later step fails: empty tables mean "not DMA memory".
bool make_tables(std::uintptr_t a, std::uintptr_t end) {
  for (std::uintptr_t x = a; x < end;) {
    std::uintptr_t g = x & ~(kGranule - 1), stop = g + kGranule < end ? g + kGranule : end;
    if (!l2_of(x)) {
      IovaEntry* t = new_table();
      if (!t) return false;
      g_iova_l1[x >> 30].store(t, std::memory_order_release);
    }
    IovaEntry& e = entry_of(x);
    bool whole = x == g && stop == g + kGranule;
    if (!whole && e.load(std::memory_order_relaxed) == 0) {
      IovaEntry* t = new_table();
      if (!t) return false;
      e.store(reinterpret_cast<std::uintptr_t>(t) | 2, std::memory_order_release);
    }
    x = stop;
  }
  return true;
}

// Writes `value` for every byte of [a, end): per 2 MiB where a whole one is covered and it has no
// 4 KiB-level table, else per 4 KiB page.
void write(std::uintptr_t a, std::uintptr_t end, std::uintptr_t value) {
  for (std::uintptr_t x = a; x < end;) {
    std::uintptr_t g = x & ~(kGranule - 1), stop = g + kGranule < end ? g + kGranule : end;
    if (!l2_of(x)) {  // clearing what was never recorded
      x = stop;
      continue;
    }
    IovaEntry& e = entry_of(x);
    std::uintptr_t cur = e.load(std::memory_order_relaxed);
    if (cur & 2) {
      IovaEntry* t = l3_of(cur);
      for (std::uintptr_t p = x; p < stop; p += os::kPageSize) t[(p >> 12) & (kEntries - 1)].store(value, std::memory_order_release);
    } else {
      e.store(value, std::memory_order_release);  // a whole 2 MiB (make_tables split the others)
    }
    x = stop;
  }
}

}  // namespace

bool iova_map_set(const void* va, std::size_t len, std::uint64_t iova) {
  auto a = reinterpret_cast<std::uintptr_t>(va);
  LockGuard g(g_lock);
  if (!make_tables(a, a + len)) {
    errno = ENOMEM;
    return false;
  }
  write(a, a + len, (static_cast<std::uintptr_t>(iova) - a) | 1);
  return true;
}

void iova_map_clear(const void* va, std::size_t len) {
  auto a = reinterpret_cast<std::uintptr_t>(va);
  LockGuard g(g_lock);
  write(a, a + len, 0);
}

}  // namespace hm::page
