// Shared by the two sides of pktpool_bench (ours, DPDK's): the figures both must use so that the
// ratios are fair, and the DPDK side's entry points.
#pragma once

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>

namespace hm::pkt::bench {

// Same shape for both pools: raw objects for get/put, mbufs for alloc/free.
inline constexpr unsigned kRawCount = 16383;   // 2^n - 1: DPDK's ring-size sweet spot
inline constexpr unsigned kRawEltSize = 64;
inline constexpr unsigned kMbufCount = 8191;
inline constexpr unsigned kCacheSize = 256;

// The caller's object array for one benchmark run, 64-byte aligned at a fresh pseudo-random
// offset within a page. Both pools copy through the caller's array and their cache; when the
// two sit at the same offset modulo 4 KiB the CPU's store-to-load forwarding mispredicts
// ("4K aliasing") and a bulk get/put costs up to twice as much. A fixed array would make one
// side lucky for the whole run; a fresh offset per run (per repetition) and the median over
// repetitions compare both on the same typical layout.
inline void** scratch_array() {
  alignas(4096) thread_local void* buf[2 * 512];
  thread_local std::minstd_rand rng(std::random_device{}());
  return buf + rng() % 64 * 8;  // room for 512 pointers after the largest offset
}

// The hand-off benchmark: thread 0 allocates mbufs in bursts and passes them to thread 1, which
// frees them (an RX core feeding a worker core). Both pools' halves pass pointers through this
// same single-producer single-consumer queue, so the difference between them is the pools':
// the producer's cache runs dry and refills from the shared ring, the consumer's overflows and
// flushes to it. Internal linkage: each half compiles its own copy with its own flags.
inline constexpr unsigned kHandoffBurst = 32;
namespace {
class Handoff {
 public:
  // Waits for room, then publishes the burst.
  void push(void* const* objs) {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    while (t - head_.load(std::memory_order_acquire) > kSlots - kHandoffBurst) wait();
    for (unsigned i = 0; i < kHandoffBurst; ++i) slots_[(t + i) % kSlots] = objs[i];
    tail_.store(t + kHandoffBurst, std::memory_order_release);
  }
  // Waits for a whole burst, then takes it.
  void pop(void** objs) {
    std::uint32_t h = head_.load(std::memory_order_relaxed);
    while (tail_.load(std::memory_order_acquire) - h < kHandoffBurst) wait();
    for (unsigned i = 0; i < kHandoffBurst; ++i) objs[i] = slots_[(h + i) % kSlots];
    head_.store(h + kHandoffBurst, std::memory_order_release);
  }

 private:
  // The other thread may be off-CPU (2 cores shared with other work): give the core away.
  static void wait() { sched_yield(); }
  static constexpr std::uint32_t kSlots = 1024;
  alignas(128) std::atomic<std::uint32_t> head_{0};
  alignas(128) std::atomic<std::uint32_t> tail_{0};
  alignas(128) void* slots_[kSlots];
};
}  // namespace

// The driver loops: what an RX/TX poll loop does to the pool.
//  driver/B (one thread): kInFlight mbufs held in FIFO order, as an RX ring holds them; per step
//    read the first byte of the B oldest, free them (free_bulk), allocate B (alloc_bulk) into
//    their slots and append kAppend bytes to each (writing the first).
//  driver2/B (two threads): thread 0 (RX) allocates B, appends kAppend bytes to each and passes
//    them through a FIFO of kInFlight slots to thread 1 (TX), which reads the first byte of
//    each and frees them (free_bulk).
inline constexpr unsigned kInFlight = 4096;
inline constexpr unsigned kAppend = 64;
namespace {
// A single-producer single-consumer FIFO of kInFlight pointers, moved n at a time (the same
// code on both sides).
class Fifo {
 public:
  void push(void* const* objs, unsigned n) {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    while (t - head_.load(std::memory_order_acquire) > kInFlight - n) sched_yield();
    for (unsigned i = 0; i < n; ++i) slots_[(t + i) % kInFlight] = objs[i];
    tail_.store(t + n, std::memory_order_release);
  }
  void pop(void** objs, unsigned n) {
    std::uint32_t h = head_.load(std::memory_order_relaxed);
    while (tail_.load(std::memory_order_acquire) - h < n) sched_yield();
    for (unsigned i = 0; i < n; ++i) objs[i] = slots_[(h + i) % kInFlight];
    head_.store(h + n, std::memory_order_release);
  }

 private:
  alignas(128) std::atomic<std::uint32_t> head_{0};
  alignas(128) std::atomic<std::uint32_t> tail_{0};
  alignas(128) void* slots_[kInFlight];
};
}  // namespace

// The two-thread benchmarks (handoff, driver2) pin thread i to the i-th CPU the process may use
// for the benchmark's duration, on both sides: two threads that wait for each other and land on
// one CPU spend their time in sched_yield, and the figure then measures the scheduler.
namespace {
class PinScope {
 public:
  explicit PinScope(int thread_index) {
    if (pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) != 0) return;
    int seen = 0;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (!CPU_ISSET(c, &saved_)) continue;
      if (seen++ != thread_index) continue;
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(c, &one);
      pinned_ = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
      return;
    }
  }
  ~PinScope() {
    if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
  }

 private:
  cpu_set_t saved_;
  bool pinned_ = false;
};
}  // namespace

// When this repetition started (steady clock, seconds), as the counter "at": bench/pktpool/run
// pairs each of our repetitions with DPDK's repetition of the same loop nearest to it in time
// and takes the median of those ratios, so that a burst of load from other programs shifts both
// members of a pair, not one side's median. Thread 0 sets it (counters add over threads).
inline void stamp(benchmark::State& state) {
  if (state.thread_index() != 0) return;
  using namespace std::chrono;
  state.counters["at"] = duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Busy time of one thread of a two-thread loop, split in two: the pool's calls (kPool) and the
// loop's own reads and writes of the mbufs (kTouch), without the waits on the queue between the
// threads. begin() starts one iteration's work; lap(k) charges the time since the last mark to
// k. report() sets the counters <side>_pool_ns and <side>_touch_ns (rx_ or tx_: each thread
// names its own) to ns per object. The ns-per-object figure of the two-thread loops is both
// threads' CPU time, waits included: it follows the slower thread. These say which one, and
// how much of its time is the pool's.
// Only one iteration in kEvery is timed: a lap reads the TSC with rdtscp, which waits for the
// loads before it (so a part's cache misses are charged to it, not to the next) and costs tens
// of cycles on a VM; timing every iteration of the burst-1 loop would add more than the pool
// costs. Which ones is drawn at random (one in kEvery on average): the pool's refills and
// flushes come every size / B calls, a multiple of kEvery at B = 1 and 32, and every kEvery-th
// iteration would then time all of them or none, as the phase fell. The read's own cost, measured at construction, is taken off every lap; ticks are
// converted to ns over the whole run. A timed iteration with a lap over kOffCpu ticks (40-200
// us at any TSC's 1-5 GHz; a lap's work is at most a few us) had its thread taken off the CPU
// in the middle: it is left out of both parts, so that on a loaded machine a few preemptions
// do not decide the split (on 2 shared cores, each one added milliseconds to a part whose
// laps are nanoseconds). <side>_off_cpu is the share of timed iterations left out.
namespace {
class BusyClock {
 public:
  enum Part { kPool, kTouch };
  BusyClock() : wall0_(std::chrono::steady_clock::now()), tick0_(ticks()) {
    constexpr int kCalibrate = 1000;
    std::uint64_t t0 = ticks(), t = t0;
    for (int i = 0; i < kCalibrate; ++i) t = ticks();
    overhead_ = (t - t0) / kCalibrate;
  }
  void begin() {
    commit();
    rng_ ^= rng_ << 13;  // xorshift32
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    timing_ = rng_ % kEvery == 0;
    if (timing_) mark_ = ticks();
  }
  void lap(Part k) {
    if (!timing_) return;
    std::uint64_t now = ticks(), d = now - mark_;
    if (d > kOffCpu) off_cpu_ = true;
    lap_[k] += d > overhead_ ? d - overhead_ : 0;
    mark_ = now;
  }
  void report(benchmark::State& state, const char* side, unsigned objs_per_iter) {
    commit();
    double objs = static_cast<double>(kept_) * objs_per_iter;
    if (objs <= 0) return;
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - wall0_).count();
    double per_tick = ns / static_cast<double>(ticks() - tick0_);
    state.counters[std::string(side) + "_pool_ns"] = static_cast<double>(part_[kPool]) * per_tick / objs;
    state.counters[std::string(side) + "_touch_ns"] = static_cast<double>(part_[kTouch]) * per_tick / objs;
    state.counters[std::string(side) + "_off_cpu"] = static_cast<double>(dropped_) / static_cast<double>(kept_ + dropped_);
  }

 private:
  static constexpr std::uint64_t kEvery = 16;
  static constexpr std::uint64_t kOffCpu = 200000;
  // Adds the last timed iteration's laps to the parts, unless its thread was off the CPU.
  void commit() {
    if (!timing_) return;
    timing_ = false;
    if (off_cpu_) {
      ++dropped_;
    } else {
      ++kept_;
      part_[kPool] += lap_[kPool];
      part_[kTouch] += lap_[kTouch];
    }
    off_cpu_ = false;
    lap_[kPool] = lap_[kTouch] = 0;
  }
  static std::uint64_t ticks() {
#if defined(__x86_64__) || defined(__i386__)
    unsigned aux;
    return __builtin_ia32_rdtscp(&aux);
#else
    return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
  }
  std::chrono::steady_clock::time_point wall0_;
  std::uint32_t rng_ = 2463534242u;
  std::uint64_t tick0_, overhead_, mark_ = 0, kept_ = 0, dropped_ = 0, part_[2] = {}, lap_[2] = {};
  bool timing_ = false, off_cpu_ = false;
};
}  // namespace

// Thread counts of the per-thread benchmarks: 1, 2, then powers of two up to the machine's
// CPUs, at most 16 (each thread's cache holds up to 384 objects of the 8191 mbufs). Each thread
// works on its own cache; the figures are per core.
namespace {
void thread_counts(benchmark::internal::Benchmark* b) {
  unsigned cpus = std::thread::hardware_concurrency();
  for (unsigned t = 1; t <= 16 && (t <= 2 || t <= cpus); t *= 2) b->Threads(static_cast<int>(t));
}
}  // namespace

// Starts DPDK's EAL with `args`; false and a reason when it cannot (the DPDK benchmarks then
// report an error and ours still run).
bool dpdk_init(const std::string& args, std::string* why);

}  // namespace hm::pkt::bench
