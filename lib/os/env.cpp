#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "os/env.h"

extern char** environ;

namespace hm::os {

const char* env(const char* name) {
  if (!environ) return nullptr;
  std::size_t n = std::strlen(name);
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  }
  return nullptr;
}

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = env(name);
  if (!v || *v < '0' || *v > '9') return fallback;
  std::size_t x = 0;
  for (; *v >= '0' && *v <= '9'; ++v) x = x * 10 + static_cast<std::size_t>(*v - '0');
  switch (*v) {
    case 'k': case 'K': return x << 10;
    case 'm': case 'M': return x << 20;
    case 'g': case 'G': return x << 30;
    case '\0': return x;
    default: return fallback;
  }
}

bool env_flag(const char* name, bool fallback) {
  const char* v = env(name);
  if (!v || !*v) return fallback;
  return !(v[0] == '0' || v[0] == 'n' || v[0] == 'N' || v[0] == 'f' || v[0] == 'F');
}

Message& Message::operator<<(const char* s) {
  if (!s) s = "(null)";
  while (*s && len_ + 1 < sizeof buf_) buf_[len_++] = *s++;
  buf_[len_] = '\0';
  return *this;
}

Message& Message::operator<<(char c) {
  const char s[2] = {c, '\0'};
  return *this << s;
}

Message& Message::operator<<(std::uint64_t v) {
  char tmp[24];
  int n = 0;
  do tmp[n++] = static_cast<char>('0' + v % 10);
  while ((v /= 10) > 0);
  char out[24];
  for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  out[n] = '\0';
  return *this << static_cast<const char*>(out);
}

Message& Message::operator<<(std::int64_t v) {
  if (v < 0) {
    *this << '-';
    return *this << static_cast<std::uint64_t>(-(v + 1)) + 1;
  }
  return *this << static_cast<std::uint64_t>(v);
}

Message& Message::hex(std::uint64_t v) {
  char out[19] = "0x";
  int n = 2;
  bool started = false;
  for (int shift = 60; shift >= 0; shift -= 4) {
    unsigned d = (v >> shift) & 0xF;
    if (d || started || shift == 0) {
      out[n++] = "0123456789abcdef"[d];
      started = true;
    }
  }
  out[n] = '\0';
  return *this << static_cast<const char*>(out);
}

Message& Message::operator<<(const void* p) { return hex(reinterpret_cast<std::uintptr_t>(p)); }

void Message::write_to(int fd) const {
  char line[sizeof buf_ + 1];
  std::memcpy(line, buf_, len_);
  std::size_t n = len_;
  if (n == 0 || line[n - 1] != '\n') line[n++] = '\n';
  std::size_t off = 0;
  while (off < n) {
    long w = ::write(fd, line + off, n - off);
    if (w <= 0) break;
    off += static_cast<std::size_t>(w);
  }
}

void fatal(const Message& m) {
  m.write_to_stderr();
  std::abort();
}

int thread_id() { return static_cast<int>(::syscall(SYS_gettid)); }

}  // namespace hm::os
