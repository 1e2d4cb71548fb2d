#include "slab/report.h"

#include <cstdint>

#include "os/env.h"
#include "slab/slab.h"

namespace hm::slab {
namespace {

[[noreturn]] void finish(hm::os::Message& m, const Slab* s) {
  if (s) m << " (size class " << static_cast<unsigned>(s->cls) << ", " << s->size << " bytes)";
  m << " in thread " << hm::os::thread_id();
  hm::os::fatal(m);
}

}  // namespace

void report_double_free(const void* p, const Slab* s) {
  hm::os::Message m;
  m << "hugemem: double free of " << p;
  finish(m, s);
}

void report_invalid_pointer(const void* p, const char* what, const char* why, const Slab* s) {
  hm::os::Message m;
  m << "hugemem: invalid pointer " << p << " passed to " << what << ": " << why;
  finish(m, s);
}

void report_size_mismatch(const void* p, std::size_t given, std::size_t actual, const Slab* s) {
  hm::os::Message m;
  m << "hugemem: size mismatch freeing " << p << ": given " << static_cast<std::uint64_t>(given)
    << " bytes, block holds " << static_cast<std::uint64_t>(actual);
  finish(m, s);
}

void report_corrupted_freelist(const void* obj, const Slab* s) {
  hm::os::Message m;
  m << "hugemem: corrupted freelist: the free object " << obj
    << " has a link outside its slab (a write past the end of the object before it?)";
  finish(m, s);
}

void report_write_after_free(const void* obj, const Slab* s, std::size_t offset) {
  hm::os::Message m;
  m << "hugemem: write after free into " << obj << " at offset " << static_cast<std::uint64_t>(offset);
  finish(m, s);
}

void report_overflow(const void* obj, const Slab* s, std::size_t n, std::size_t offset) {
  hm::os::Message m;
  m << "hugemem: heap overflow past the end of " << obj;
  if (n != SIZE_MAX) m << " (" << static_cast<std::uint64_t>(n) << " bytes requested)";
  m << ": its canary at offset " << static_cast<std::uint64_t>(offset) << " was overwritten, found when it was freed";
  finish(m, s);
}

void report_large_overflow(const void* p, std::size_t bytes, std::size_t n, std::size_t offset) {
  hm::os::Message m;
  m << "hugemem: heap overflow past the end of " << p;
  if (n != SIZE_MAX) m << " (" << static_cast<std::uint64_t>(n) << " bytes requested)";
  m << ": its canary at offset " << static_cast<std::uint64_t>(offset)
    << " was overwritten, found when it was freed (large block, " << static_cast<std::uint64_t>(bytes) << " bytes)";
  finish(m, nullptr);
}

void report_underflow(const void* obj, const Slab* s) {
  hm::os::Message m;
  m << "hugemem: heap underflow before " << obj << ": the 8 bytes before it (the previous slot's canary) were overwritten, found when it was freed";
  finish(m, s);
}

void report_large_write_after_free(const void* p, std::size_t bytes, std::size_t offset) {
  hm::os::Message m;
  m << "hugemem: write after free into the large block " << p << " at offset " << static_cast<std::uint64_t>(offset)
    << " (large block, " << static_cast<std::uint64_t>(bytes) << " bytes)";
  finish(m, nullptr);
}

}  // namespace hm::slab
