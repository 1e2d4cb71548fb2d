// Which allocator serves malloc in this binary. Each microbenchmark binary is built for one
// allocator (HM_MICRO_<NAME>); a figure is worth nothing unless that allocator really is the one
// answering, so every binary proves it at startup before measuring anything.
#pragma once

// The allocator this binary was built for: "glibc", "hugemem", "mimalloc", "jemalloc",
// "tcmalloc".
const char* allocator_name();

// Checks that malloc resolves into the expected library and that a fresh block belongs to that
// allocator; on failure prints why on stderr and returns false.
bool malloc_is_expected();
