// The OS layer: the only code in hugemem that makes system calls. Nothing above lib/os includes
// <sys/mman.h> or calls the kernel directly; the page layer, pktpool and vfio go through here.
//
// Contracts that hold for every function below:
//  - none of them calls malloc (they run while malloc is being served, before main, in a child
//    after fork), so they may be used from the allocator's own init and slow paths;
//  - failures return false / nullptr / a negative value with errno set, and never abort.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hm::os {

// "page" is 4 KiB everywhere in hugemem; hugepages are named by their size.
inline constexpr std::size_t kPageSize = std::size_t{1} << 12;
inline constexpr std::size_t k2M = std::size_t{1} << 21;
inline constexpr std::size_t k1G = std::size_t{1} << 30;

// What backs a mapping, best first. The order is the fallback order of map_best().
enum class Backing : std::uint8_t {
  Huge1G,  // hugetlbfs pool pages of 1 GiB (MAP_HUGETLB | MAP_HUGE_1GB)
  Huge2M,  // hugetlbfs pool pages of 2 MiB (MAP_HUGETLB | MAP_HUGE_2MB)
  THP,     // anonymous 4 KiB pages advised MADV_HUGEPAGE (khugepaged / fault-time THP)
  Small,   // plain anonymous 4 KiB pages
};
inline constexpr int kBackingKinds = 4;
const char* backing_name(Backing b);
// Size of the unit the kernel maps (and gives back) for a backing: 1 GiB, 2 MiB or 4 KiB.
// THP counts as 2 MiB: giving back less than a whole 2 MiB would split a transparent huge page.
std::size_t backing_granule(Backing b);

struct Mapping {
  void* addr = nullptr;
  std::size_t size = 0;
  Backing backing = Backing::Small;
  explicit operator bool() const { return addr != nullptr; }
};

// Maps `size` bytes aligned to `align`, readable and writable, zero-filled, backed by exactly
// `backing` (no fallback). Requires: align is a power of two >= kPageSize; size is a multiple
// of backing_granule(backing) and of kPageSize. Hugetlb kinds take their pages from the pool at
// map time (so a short pool fails here, never with SIGBUS later); the others are committed on
// first touch. `name` labels the range in /proc/PID/maps where the kernel supports it.
// `charge`: have the kernel's overcommit policy vet the size now (as glibc's mmap'd chunks
// are), so an impossible request fails here instead of succeeding on paper; arenas, which
// reserve address space far ahead of use, pass false (MAP_NORESERVE).
// Returns an empty Mapping with errno set on failure (EOPNOTSUPP: THP asked for with THP off).
Mapping map(std::size_t size, std::size_t align, Backing backing, const char* name, bool charge = false);

// Tries `best`, then every worse backing in order down to `worst`, and returns the first that maps.
// `size` must be a multiple of the largest granule tried (callers pass 1 GiB multiples, or start
// from a backing whose granule divides size).
Mapping map_best(std::size_t size, std::size_t align, Backing best, const char* name, bool charge = false,
                 Backing worst = Backing::Small);

bool unmap(void* addr, std::size_t size);
// Unmaps the tail [addr+new_size, addr+size) of a mapping, which stays one mapping (new_size a
// multiple of the backing's granule).
bool shrink(void* addr, std::size_t size, std::size_t new_size);

// Gives the physical memory of [addr, addr+size) back to the OS; the range stays mapped and reads
// back as zeros. Requires addr and size aligned to the backing's granule for hugetlb mappings.
bool decommit(void* addr, std::size_t size);

// Makes [addr, addr+size) read-write or inaccessible (mprotect); the memory stays as it is.
bool protect(void* addr, std::size_t size, bool read_write);

// Keeps [addr, addr+size) on 4 KiB pages (MADV_NOHUGEPAGE) inside a THP-advised mapping:
// for sparse metadata, where a fault would otherwise zero and pin a whole 2 MiB page.
bool no_hugepages(void* addr, std::size_t size);
// Keeps [addr, addr+size) out of fork()'s children (MADV_DONTFORK): the parent's pages are then
// never made copy-on-write, so memory a device reaches by physical address stays where it is.
bool no_fork(void* addr, std::size_t size);

// Pages of [addr, addr + len) in RAM (mincore), asking in pieces of `piece` bytes. mincore fails
// for a range that touches anything unmapped, so a failed piece is asked again in smaller
// pieces down to a page; the first unmapped page ends the scan and sets *ended.
std::size_t resident_pages(std::uintptr_t addr, std::size_t len, std::size_t piece, bool* ended);

// Faults [addr, addr+size) in now (MADV_POPULATE_WRITE, falling back to touching each page).
bool populate(void* addr, std::size_t size);

// Binds a range to a NUMA node (mbind MPOL_PREFERRED); a no-op returning true on one-node machines.
bool bind_node(void* addr, std::size_t size, int node);

// ---- What the machine has (probed once, on first use, without malloc) ----
enum class ThpMode : std::uint8_t { Always, Madvise, Never, Unavailable };
const char* thp_mode_name(ThpMode m);

struct HugepagePool {
  long total = 0;  // nr_hugepages
  long free = 0;   // free_hugepages
};

struct MachineInfo {
  HugepagePool huge2m;
  HugepagePool huge1g;
  ThpMode thp = ThpMode::Unavailable;
  int numa_nodes = 1;  // number of possible node ids (highest online node + 1)
  int cpus = 1;
};

// Address space the process may still map under its RLIMIT_AS (ulimit -v): the limit less its
// VmSize now; SIZE_MAX without a limit (or when it cannot be read).
std::size_t address_space_left();

// The cached first probe. Hugepage counts in it are as they were at that moment.
const MachineInfo& machine();
// A fresh read of everything (tests and reports; still no malloc).
MachineInfo probe();
// Reads one pool now; page_size is k2M or k1G.
HugepagePool hugepage_pool(std::size_t page_size);
// Sets nr_hugepages for a size (root only); returns the number the kernel actually reserved,
// which can be short of `count` when memory is fragmented, or -1 with errno set.
long reserve_hugepages(std::size_t page_size, long count);

int current_node();
// Gives the CPU to another runnable thread (a contended spinlock's back-off).
void yield_cpu();
// The calling thread's kernel id, and whether a thread of this process with that id exists.
int current_tid();
bool thread_exists(int tid);
// A duplicate of fd at or above `min_fd`, closed on exec; -1 with errno on failure.
int dup_cloexec(int fd, int min_fd);

// Unless the process already handles SIGSEGV: fn(faulting address) runs when one arrives, then
// the signal takes its default action (the process dies as it would have). For reports only;
// fn must be async-signal-safe.
bool on_segv(void (*fn)(void* addr));

// Physical address of the page holding `p` from /proc/self/pagemap, or 0 when it is not
// readable (not root, or the page is not present).
std::uint64_t virt_to_phys(const void* p);

// A non-zero random value (getrandom, falling back to the clock): keys for freelist encoding.
std::uint64_t random_u64();

// Milliseconds on a monotonic clock (coarse: a few ms resolution), for delays and decay.
std::uint64_t monotonic_ms();

// ---- Fault injection (tests only) ----
// Makes the next `n` calls of map() fail with ENOMEM (decommit too, if `decommits` is set).
// Thread-safe; n = 0 switches it off.
void fail_next_maps(int n);
void fail_next_decommits(int n);
// Number of successful map() calls minus unmap() calls: what is mapped now (leak checks).
long live_mappings();

}  // namespace hm::os
