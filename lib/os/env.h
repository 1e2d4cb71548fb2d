// Reading HUGEMEM_* options and writing diagnostics without allocating: both run inside malloc,
// before main, and after fork, where getenv/stdio may not be usable.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hm::os {

// The value of an environment variable, read straight from the process's environment block
// (no copy, no malloc). nullptr when unset.
const char* env(const char* name);
// A size option: digits with an optional k/m/g suffix ("64m"). `fallback` when unset or malformed.
std::size_t env_size(const char* name, std::size_t fallback);
bool env_flag(const char* name, bool fallback);

// A fixed-capacity message built on the stack and written with one write(2) to stderr.
class Message {
 public:
  Message& operator<<(const char* s);
  Message& operator<<(char c);
  Message& operator<<(std::uint64_t v);
  Message& operator<<(std::int64_t v);
  Message& operator<<(int v) { return *this << static_cast<std::int64_t>(v); }
  Message& operator<<(unsigned v) { return *this << static_cast<std::uint64_t>(v); }
  Message& operator<<(unsigned long long v) { return *this << static_cast<std::uint64_t>(v); }
  Message& operator<<(long long v) { return *this << static_cast<std::int64_t>(v); }
  Message& operator<<(const void* p);
  Message& hex(std::uint64_t v);
  void write_to(int fd) const;  // one write(2) (retried while partial); errors ignored
  void write_to_stderr() const { write_to(2); }
  const char* c_str() const { return buf_; }
  std::size_t size() const { return len_; }

 private:
  char buf_[512] = {};
  std::size_t len_ = 0;
};

// Writes the message (with a trailing newline if missing) and aborts. Used for heap corruption
// the allocator must not continue past; a library never calls exit().
[[noreturn]] void fatal(const Message& m);

int thread_id();  // gettid (not cached: a cache would be wrong in a child after fork)

}  // namespace hm::os
