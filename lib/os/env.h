// Reading HUGEMEM_* options and writing diagnostics without allocating: both run inside malloc,
// before main, and after fork, where getenv/stdio may not be usable.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hm::os {

// The value of an environment variable, read straight from the process's environment block
// (no copy, no malloc). nullptr when unset.
const char* env(const char* name);

// Options. Every HUGEMEM_* variable the library reads is in one table (options()), which the
// documentation's list (docs/options.md) is tested against. Values are parsed strictly: a value
// that does not parse is reported with one line on stderr naming the option, the value and
// what it accepts, and the default is used. An empty value counts as unset.
enum class OptionKind : std::uint8_t {
  Flag,    // 1/0, on/off, yes/no, true/false (any case)
  Size,    // bytes: digits with an optional k, m or g suffix (binary: 1k = 1024)
  Count,   // digits
  Choice,  // one of a fixed list of words (any case)
};
struct Option {
  const char* name;
  OptionKind kind;
  const char* fallback;  // the default, as the documentation writes it
  const char* accepts;   // what the warning says the option accepts
  const char* summary;   // one line: what it does
};
// The table, in the order the documentation lists it; *count gets its length.
const Option* options(std::size_t* count);
const Option* find_option(const char* name);  // nullptr: not an option

// A size option (OptionKind::Size); `fallback` when unset or invalid.
std::size_t env_size(const char* name, std::size_t fallback);
// A plain number (OptionKind::Count).
std::size_t env_count(const char* name, std::size_t fallback);
// A flag (OptionKind::Flag).
bool env_flag(const char* name, bool fallback);
// One of `n` words (OptionKind::Choice): the index of the one given (matched without case), or
// `fallback`.
int env_choice(const char* name, const char* const* words, int n, int fallback);

// The parsers behind the env_* functions, for values that do not come from the environment.
// False when `text` is not valid.
bool parse_size(const char* text, std::size_t* out);
bool parse_count(const char* text, std::size_t* out);
bool parse_flag(const char* text, bool* out);

// Writes n bytes to fd, retrying while the write is partial; errors end it quietly.
void write_all(int fd, const char* text, std::size_t n);

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
  // A byte count as an option would be written: "16m", "1g", "4096".
  Message& size(std::uint64_t bytes);
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
