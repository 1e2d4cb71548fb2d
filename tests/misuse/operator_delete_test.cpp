// The C++ operators of libhugemem.so (this binary links it, so it is the program's malloc):
// sized and aligned deletes told the wrong size or alignment, double delete and delete of memory
// that was never new'd are reported and abort.
#include <sys/mman.h>

#include <new>

#include "report.h"

namespace {

using hm_misuse::hex;

const std::string kMismatch = "hugemem: size mismatch freeing ";

// Keeps the compiler from pairing (and eliding) the new with the delete.
void* escape(void* p) {
  asm volatile("" : "+r"(p));
  return p;
}

TEST(SizedDelete, WrongSize) {
  void* p = escape(::operator new(100));
  EXPECT_REPORTED(::operator delete(p, 300), kMismatch + hex(p) + ": given 300 bytes, block holds 112 \\(size class 6, 112 bytes\\)");
  ::operator delete(p, 100);
}

TEST(SizedDelete, WrongArraySize) {
  void* p = escape(::operator new[](std::size_t{1} << 20));
  EXPECT_REPORTED(::operator delete[](p, 64), kMismatch + hex(p) + ": given 64 bytes, block holds 1048576");
  ::operator delete[](p, std::size_t{1} << 20);
}

TEST(SizedDelete, WrongAlignment) {
  void* p = escape(::operator new(64, std::align_val_t{4096}));
  EXPECT_REPORTED(::operator delete(p, 64, std::align_val_t{16}), kMismatch + hex(p) + ": given 64 bytes, block holds 4096");
  ::operator delete(p, 64, std::align_val_t{4096});
}

// Both deletes in the child: in this binary everything allocates from hugemem, so between two
// statements of the parent the freed object could already belong to someone else.
TEST(Delete, Twice) {
  EXPECT_REPORTED(
      {
        void* p = escape(::operator new(40));
        void* again = escape(p);
        ::operator delete(p);
        std::fprintf(stderr, "deleted %p\n", again);
        ::operator delete(again);
      },
      "deleted (0x[0-9a-f]+)\n.*hugemem: double free of \\3 \\(size class 2, 48 bytes\\)");
}

TEST(Delete, OfAMappingNeverNewed) {
  void* m = ::mmap(nullptr, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  EXPECT_REPORTED(::operator delete(escape(m)), "hugemem: invalid pointer " + hex(m) + " passed to free: not allocated by hugemem");
  ::munmap(m, 1 << 16);
}

}  // namespace
