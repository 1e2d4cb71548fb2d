// hm::pkt::Ring: a bounded lock-free multi-producer / multi-consumer ring of pointers, after
// DPDK's rte_ring in its default MP/MC mode. It is the shared store behind every pktpool.
//
// How it works (and the invariants the code relies on):
//  - Four 32-bit counters that only grow (mod 2^32): prod.head >= prod.tail >= cons.head >=
//    cons.tail, all within `capacity` of each other. Slot i lives at slots[i & mask].
//  - A producer reserves [prod.head, prod.head+n) with one CAS on prod.head, writes its slots,
//    waits until prod.tail reaches its start (producers that reserved earlier have published),
//    then publishes with a release store of prod.tail. Consumers do the same on cons.*.
//    A consumer only reads slots below prod.tail; a producer only writes slots below
//    cons.tail + capacity: that is all the synchronisation the slots need.
//  - Bulk calls are all-or-nothing (n or 0); burst calls take what there is (0..n).
//  - Lock-free in the rte_ring sense: reservations never block, but a thread preempted between
//    its CAS and its tail store holds later threads of the same side in the tail wait. The
//    wait spins with a pause, then yields the CPU, so an oversubscribed machine still makes
//    progress.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

namespace hm::pkt {

inline constexpr std::size_t kCacheLine = 64;

namespace detail {
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}
}  // namespace detail

class Ring {
 public:
  // capacity: a power of two in [1, 2^31]; the ring holds exactly `capacity` pointers.
  // Allocation failure or a bad capacity leaves an empty ring (operator bool false, errno set).
  explicit Ring(std::uint32_t capacity);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  explicit operator bool() const { return slots_ != nullptr; }
  std::uint32_t capacity() const { return mask_ + 1; }
  // Snapshots: exact when no operation is in flight, approximate otherwise.
  std::uint32_t count() const {
    return prod_.tail.load(std::memory_order_acquire) - cons_.tail.load(std::memory_order_acquire);
  }
  std::uint32_t free_count() const { return capacity() - count(); }

  // All n, or none (returns n or 0).
  std::uint32_t enqueue_bulk(void* const* objs, std::uint32_t n) { return enqueue<true>(objs, n); }
  std::uint32_t dequeue_bulk(void** objs, std::uint32_t n) { return dequeue<true>(objs, n); }
  // As many as fit / as there are, up to n.
  std::uint32_t enqueue_burst(void* const* objs, std::uint32_t n) { return enqueue<false>(objs, n); }
  std::uint32_t dequeue_burst(void** objs, std::uint32_t n) { return dequeue<false>(objs, n); }

 private:
  // Each side on its own pair of cache lines: adjacent-line prefetch would otherwise make
  // producers and consumers share one.
  struct alignas(2 * kCacheLine) HeadTail {
    std::atomic<std::uint32_t> head{0};
    std::atomic<std::uint32_t> tail{0};
  };

  template <bool kBulk>
  std::uint32_t enqueue(void* const* objs, std::uint32_t n) {
    std::uint32_t head = prod_.head.load(std::memory_order_acquire);
    std::uint32_t next;
    do {
      // acquire: consumers' reads of the slots we are about to overwrite happen before.
      std::uint32_t room = capacity() - (head - cons_.tail.load(std::memory_order_acquire));
      if (n > room) {
        if (kBulk || room == 0) return 0;
        n = room;
      }
      next = head + n;
    } while (!prod_.head.compare_exchange_weak(head, next, std::memory_order_acquire,
                                               std::memory_order_acquire));
    copy_in(head, objs, n);
    publish(prod_, head, next);
    return n;
  }

  template <bool kBulk>
  std::uint32_t dequeue(void** objs, std::uint32_t n) {
    std::uint32_t head = cons_.head.load(std::memory_order_acquire);
    std::uint32_t next;
    do {
      // acquire: the producers' slot writes below prod.tail are visible.
      std::uint32_t avail = prod_.tail.load(std::memory_order_acquire) - head;
      if (n > avail) {
        if (kBulk || avail == 0) return 0;
        n = avail;
      }
      next = head + n;
    } while (!cons_.head.compare_exchange_weak(head, next, std::memory_order_acquire,
                                               std::memory_order_acquire));
    copy_out(head, objs, n);
    publish(cons_, head, next);
    return n;
  }

  // Slots [at, at+n) as at most two contiguous runs (the second after the wrap), so the
  // compiler can vectorise the copies.
  void copy_in(std::uint32_t at, void* const* objs, std::uint32_t n) {
    std::uint32_t i = at & mask_, first = n < capacity() - i ? n : capacity() - i;
    for (std::uint32_t k = 0; k < first; ++k) slots_[i + k] = objs[k];
    for (std::uint32_t k = first; k < n; ++k) slots_[k - first] = objs[k];
  }
  void copy_out(std::uint32_t at, void** objs, std::uint32_t n) const {
    std::uint32_t i = at & mask_, first = n < capacity() - i ? n : capacity() - i;
    for (std::uint32_t k = 0; k < first; ++k) objs[k] = slots_[i + k];
    for (std::uint32_t k = first; k < n; ++k) objs[k] = slots_[k - first];
  }

  // Waits for the earlier reservations of this side to publish, then publishes ours. acquire
  // on the wait so the earlier threads' slot accesses are ordered before our release.
  static void publish(HeadTail& side, std::uint32_t from, std::uint32_t to) {
    for (unsigned spins = 0; side.tail.load(std::memory_order_acquire) != from; ++spins) {
      if (spins < kSpinsBeforeYield)
        detail::cpu_relax();
      else
        std::this_thread::yield();  // the thread we wait for may be preempted on our CPU
    }
    side.tail.store(to, std::memory_order_release);
  }

  static constexpr unsigned kSpinsBeforeYield = 128;

  HeadTail prod_;
  HeadTail cons_;
  void** slots_ = nullptr;
  std::uint32_t mask_ = 0;
};

}  // namespace hm::pkt
