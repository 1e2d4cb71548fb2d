// Misuse and corruption reports. Each writes one line starting "hugemem: " with what happened,
// the address, the size class (or block) and the thread, then aborts: continuing past a
// corrupted heap would corrupt silently.
#pragma once

#include <cstddef>

namespace hm::slab {

struct Slab;

[[noreturn]] void report_double_free(const void* p, const Slab* s);
// `s`: the slab the address falls in, when it does (names the size class), else nullptr.
[[noreturn]] void report_invalid_pointer(const void* p, const char* what, const char* why, const Slab* s = nullptr);
[[noreturn]] void report_size_mismatch(const void* p, std::size_t given, std::size_t actual, const Slab* s = nullptr);
[[noreturn]] void report_corrupted_freelist(const void* obj, const Slab* s);
[[noreturn]] void report_write_after_free(const void* obj, const Slab* s, std::size_t offset);
// Secure mode: the canary or fill after the n requested bytes of obj was overwritten at
// `offset` (n = SIZE_MAX: the canary itself no longer decodes).
[[noreturn]] void report_overflow(const void* obj, const Slab* s, std::size_t n, std::size_t offset);
// The same for a large block of `bytes`.
[[noreturn]] void report_large_overflow(const void* p, std::size_t bytes, std::size_t n, std::size_t offset);
// Secure mode: the 8 bytes before obj (the previous slot's canary or free fill) were overwritten.
[[noreturn]] void report_underflow(const void* obj, const Slab* s);
// A freed large block (of `bytes`) was written at `offset` while kept for reuse.
[[noreturn]] void report_large_write_after_free(const void* p, std::size_t bytes, std::size_t offset);

}  // namespace hm::slab
