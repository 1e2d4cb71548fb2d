// Cross-thread server churn in the shape of mimalloc-bench's xmalloc-test, fixed time:
// `producers` threads allocate objects of 8 B .. 2 KiB (log-uniform), write their first and last
// byte, and pass them in batches of `batch` through one bounded queue (`depth` batches; mutex and
// condition variables, which allocate nothing) to `consumers` threads that read and free them.
// Every free is remote; unlike prodcons there are several producers and consumers, so each
// consumer frees objects of every producer's heap. Result: objects freed in `seconds`.
// Arguments: producers=2 consumers=2 seconds=1 batch=64 depth=64.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common.h"

namespace {

class Queue {
 public:
  Queue(std::size_t depth, std::size_t batch) : slots_(depth * batch), depth_(depth), batch_(batch) {}

  // Copies one full batch in; false once closed.
  bool push(void* const* items) {
    std::unique_lock<std::mutex> l(m_);
    not_full_.wait(l, [&] { return count_ < depth_ || closed_; });
    if (closed_) return false;
    std::memcpy(&slots_[((head_ + count_) % depth_) * batch_], items, batch_ * sizeof(void*));
    ++count_;
    not_empty_.notify_one();
    return true;
  }

  // Copies one batch out; false when closed and empty.
  bool pop(void** items) {
    std::unique_lock<std::mutex> l(m_);
    not_empty_.wait(l, [&] { return count_ > 0 || closed_; });
    if (count_ == 0) return false;
    std::memcpy(items, &slots_[head_ * batch_], batch_ * sizeof(void*));
    head_ = (head_ + 1) % depth_;
    --count_;
    not_full_.notify_one();
    return true;
  }

  void close() {
    std::lock_guard<std::mutex> l(m_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable not_full_, not_empty_;
  std::vector<void*> slots_;
  std::size_t depth_, batch_, head_ = 0, count_ = 0;
  bool closed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  const unsigned producers = unsigned(wl::arg(argc, argv, "producers", 2));
  const unsigned consumers = unsigned(wl::arg(argc, argv, "consumers", 2));
  const double seconds = wl::arg_seconds(argc, argv, "seconds", 1.0);
  const std::size_t batch = std::max<std::uint64_t>(wl::arg(argc, argv, "batch", 64), 1);
  const std::size_t depth = std::max<std::uint64_t>(wl::arg(argc, argv, "depth", 64), 1);
  const wl::SizeTable sizes(8, 2048, 12);

  Queue q(depth, batch);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> freed{0}, total_sum{0};
  std::vector<std::thread> pool;
  const double t0 = wl::now();
  for (unsigned c = 0; c < consumers; ++c)
    pool.emplace_back([&] {
      std::vector<void*> items(batch);
      std::uint64_t n = 0, sum = 0;
      while (q.pop(items.data())) {
        for (void* p : items) {
          sum += *static_cast<unsigned char*>(p);
          std::free(p);
        }
        n += batch;
      }
      freed += n;
      total_sum += sum;
    });
  std::vector<std::thread> prod;
  for (unsigned t = 0; t < producers; ++t)
    prod.emplace_back([&, t] {
      wl::Rng r(500 + t);
      std::vector<void*> items(batch);
      while (!stop.load(std::memory_order_relaxed)) {
        for (auto& it : items) {
          const std::size_t n = sizes(r);
          auto* p = static_cast<unsigned char*>(std::malloc(n));
          p[0] = static_cast<unsigned char>(n);
          p[n - 1] = 1;
          it = p;
        }
        if (!q.push(items.data())) {
          for (void* p : items) std::free(p);  // closed while waiting: not counted
          break;
        }
      }
    });
  while (wl::now() - t0 < seconds) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop.store(true);
  for (auto& th : prod) th.join();
  q.close();  // consumers drain what is queued, then stop
  for (auto& th : pool) th.join();
  wl::print_result("xmalloc", freed.load(), wl::now() - t0, total_sum.load());
}
