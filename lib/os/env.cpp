#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
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

namespace {

// The table the documentation is tested against (tests/options). Defaults are those of the code
// that reads each option (page::Config, runtime.cpp); tests/options checks they agree.
constexpr Option kOptions[] = {
    {"HUGEMEM_PAGES", OptionKind::Choice, "thp", "1g, 2m, thp or 4k",
     "What backs the arenas: 1 GiB or 2 MiB hugetlb pages from the kernel's pool (falling back to the "
     "next kind when the pool runs out), transparent huge pages, or plain 4 KiB pages. With thp, the "
     "arenas of large blocks (above 32 KiB) take 4 KiB pages: a sparsely touched block would otherwise "
     "clear a whole 2 MiB per touched page. thp becomes 4k when THP is off on the machine"},
    {"HUGEMEM_RELEASE_HIGH", OptionKind::Size, "16m", "a size: digits with an optional k, m or g suffix",
     "Freed memory a node's heap may keep beyond what it freed since its recent peak in use (that waits "
     "for the release epoch); four times this much beyond it goes back at once, down to this much"},
    {"HUGEMEM_RELEASE_LOW", OptionKind::Size, "4m", "a size: digits with an optional k, m or g suffix",
     "Freed memory a heap keeps when memory unused for a whole epoch goes back (when HUGEMEM_RELEASE_HIGH is set below 4m, the default is that value)"},
    {"HUGEMEM_RELEASE_DELAY_MS", OptionKind::Count, "100", "a number of milliseconds (digits)",
     "The release epoch: freed memory that no allocation needed for this long goes back to the OS; "
     "0 gives back down to the low mark on every free"},
    {"HUGEMEM_ARENA_LIMIT", OptionKind::Count, "1024", "a number of arenas (digits)",
     "Most 1 GiB arenas mapped at once; beyond it allocations fail with ENOMEM"},
    {"HUGEMEM_SEGREGATE", OptionKind::Flag, "1", "1/0, on/off, yes/no or true/false",
     "Large blocks in arenas of their own, apart from slabs and metadata"},
    {"HUGEMEM_CHECK", OptionKind::Flag, "0", "1/0, on/off, yes/no or true/false",
     "Checked mode: every call takes the slow paths, which verify each block (for debugging misuse)"},
#if HUGEMEM_SECURE_DEFAULT
    {"HUGEMEM_SECURE", OptionKind::Flag, "1", "1/0, on/off, yes/no or true/false",
#else
    {"HUGEMEM_SECURE", OptionKind::Flag, "0", "1/0, on/off, yes/no or true/false",
#endif
     "Secure mode: checked mode plus canaries after objects, a quarantine of freed blocks, freed large "
     "blocks made inaccessible, a guard page before each large block, an inaccessible malloc(0) and a "
     "randomised allocation order (docs/hardening.md); the default is 1 "
     "in a build with -DHUGEMEM_SECURE_DEFAULT=ON"},
    {"HUGEMEM_SHOW_STATS", OptionKind::Flag, "0", "1/0, on/off, yes/no or true/false",
     "Print the statistics (as malloc_stats does) to stderr when the program exits"},
    {"HUGEMEM_VERBOSE", OptionKind::Flag, "0", "1/0, on/off, yes/no or true/false",
     "Print the settings in effect and the page backing the machine allows, at start"},
};

bool same_word(const char* a, const char* b) {
  for (; *a && *b; ++a, ++b) {
    char x = *a >= 'A' && *a <= 'Z' ? static_cast<char>(*a - 'A' + 'a') : *a;
    char y = *b >= 'A' && *b <= 'Z' ? static_cast<char>(*b - 'A' + 'a') : *b;
    if (x != y) return false;
  }
  return *a == *b;
}

// The one line for a value that does not parse. The value is quoted as given, control
// characters replaced, so the warning stays one line.
void warn_invalid(const char* name, const char* value, const Message& fallback) {
  const Option* o = find_option(name);
  Message m;
  m << "hugemem: " << name << "=\"";
  for (const char* v = value; *v && m.size() < 400; ++v) m << ((*v >= 0 && *v < ' ') || *v == 127 ? '?' : *v);
  m << "\" is not valid: " << name << " accepts " << (o ? o->accepts : "another value") << "; using the default "
    << fallback.c_str();
  m.write_to_stderr();
}

}  // namespace

const Option* options(std::size_t* count) {
  *count = sizeof kOptions / sizeof kOptions[0];
  return kOptions;
}

const Option* find_option(const char* name) {
  for (const Option& o : kOptions) {
    if (std::strcmp(o.name, name) == 0) return &o;
  }
  return nullptr;
}

bool parse_count(const char* v, std::size_t* out) {
  if (!v || *v < '0' || *v > '9') return false;
  std::size_t x = 0;
  for (; *v >= '0' && *v <= '9'; ++v) {
    auto d = static_cast<std::size_t>(*v - '0');
    if (x > (SIZE_MAX - d) / 10) return false;  // overflow
    x = x * 10 + d;
  }
  if (*v) return false;
  *out = x;
  return true;
}

bool parse_size(const char* v, std::size_t* out) {
  if (!v || *v < '0' || *v > '9') return false;
  char digits[32];
  std::size_t n = 0;
  for (; *v >= '0' && *v <= '9'; ++v) {
    if (n + 1 >= sizeof digits) return false;
    digits[n++] = *v;
  }
  digits[n] = '\0';
  int shift = 0;
  switch (*v) {
    case 'k': case 'K': shift = 10; ++v; break;
    case 'm': case 'M': shift = 20; ++v; break;
    case 'g': case 'G': shift = 30; ++v; break;
    default: break;
  }
  std::size_t x = 0;
  if (*v || !parse_count(digits, &x)) return false;
  if (shift && x > (SIZE_MAX >> shift)) return false;
  *out = x << shift;
  return true;
}

bool parse_flag(const char* v, bool* out) {
  static const char* const kOn[] = {"1", "on", "yes", "true"};
  static const char* const kOff[] = {"0", "off", "no", "false"};
  if (!v) return false;
  for (const char* w : kOn) {
    if (same_word(v, w)) return *out = true;
  }
  for (const char* w : kOff) {
    if (same_word(v, w)) {
      *out = false;
      return true;
    }
  }
  return false;
}

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = env(name);
  std::size_t x = 0;
  if (!v || !*v) return fallback;
  if (parse_size(v, &x)) return x;
  Message d;
  d.size(fallback);
  warn_invalid(name, v, d);
  return fallback;
}

std::size_t env_count(const char* name, std::size_t fallback) {
  const char* v = env(name);
  std::size_t x = 0;
  if (!v || !*v) return fallback;
  if (parse_count(v, &x)) return x;
  Message d;
  d << static_cast<std::uint64_t>(fallback);
  warn_invalid(name, v, d);
  return fallback;
}

bool env_flag(const char* name, bool fallback) {
  const char* v = env(name);
  bool x = false;
  if (!v || !*v) return fallback;
  if (parse_flag(v, &x)) return x;
  Message d;
  d << (fallback ? "1" : "0");
  warn_invalid(name, v, d);
  return fallback;
}

int env_choice(const char* name, const char* const* words, int n, int fallback) {
  const char* v = env(name);
  if (!v || !*v) return fallback;
  for (int i = 0; i < n; ++i) {
    if (same_word(v, words[i])) return i;
  }
  Message d;
  d << (fallback >= 0 && fallback < n ? words[fallback] : "?");
  warn_invalid(name, v, d);
  return fallback;
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

Message& Message::size(std::uint64_t bytes) {
  static const char kSuffix[] = {'g', 'm', 'k'};
  for (int i = 0; i < 3; ++i) {
    int shift = 30 - 10 * i;
    if (bytes && bytes % (std::uint64_t{1} << shift) == 0) return *this << (bytes >> shift) << kSuffix[i];
  }
  return *this << bytes;
}

Message& Message::operator<<(const void* p) { return hex(reinterpret_cast<std::uintptr_t>(p)); }

void write_all(int fd, const char* text, std::size_t n) {
  std::size_t off = 0;
  while (off < n) {
    long w = ::write(fd, text + off, n - off);
    if (w <= 0) break;
    off += static_cast<std::size_t>(w);
  }
}

void Message::write_to(int fd) const {
  char line[sizeof buf_ + 1];
  std::memcpy(line, buf_, len_);
  std::size_t n = len_;
  if (n == 0 || line[n - 1] != '\n') line[n++] = '\n';
  write_all(fd, line, n);
}

void fatal(const Message& m) {
  m.write_to_stderr();
  std::abort();
}

int thread_id() { return static_cast<int>(::syscall(SYS_gettid)); }

}  // namespace hm::os
