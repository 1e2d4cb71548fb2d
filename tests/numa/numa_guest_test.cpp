// NUMA placement: a thread pinned to a node gets its memory (small objects from slabs, large
// blocks from the buddy) on that node. Needs two nodes, so it runs in the qemu guest that has
// them (tests/vm, --numa 2); on a one-node machine it says SKIPPED and why.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "hugemem/hugemem.h"
#include "os/os.h"

namespace {

// The node holding each page of [p, p+len): move_pages(2) with no target nodes only queries.
std::vector<int> nodes_of(void* p, std::size_t len) {
  std::vector<void*> pages;
  auto base = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{4095};
  for (std::uintptr_t a = base; a < reinterpret_cast<std::uintptr_t>(p) + len; a += 4096) pages.push_back(reinterpret_cast<void*>(a));
  std::vector<int> status(pages.size(), -1);
  if (::syscall(SYS_move_pages, 0, pages.size(), pages.data(), nullptr, status.data(), 0) != 0) status.assign(pages.size(), -1);
  return status;
}

int first_cpu_of(int node) {
  char path[96];
  std::snprintf(path, sizeof path, "/sys/devices/system/node/node%d/cpulist", node);
  FILE* f = std::fopen(path, "r");
  int cpu = -1;
  if (f) {
    if (std::fscanf(f, "%d", &cpu) != 1) cpu = -1;
    std::fclose(f);
  }
  return cpu;
}

struct Placement {
  int node = -1;
  int small_pages = 0, small_on_node = 0;
  int large_pages = 0, large_on_node = 0;
};

void* place(void* arg) {
  auto* r = static_cast<Placement*>(arg);
  std::vector<char*> small;
  for (int i = 0; i < 2000; ++i) {
    auto* p = static_cast<char*>(hm_malloc(256));
    std::memset(p, 1, 256);
    small.push_back(p);
  }
  constexpr std::size_t kLarge = std::size_t{8} << 20;
  auto* big = static_cast<char*>(hm_malloc(kLarge));
  std::memset(big, 2, kLarge);
  for (char* p : small) {
    int n = nodes_of(p, 1)[0];
    ++r->small_pages;
    r->small_on_node += n == r->node;
  }
  for (int n : nodes_of(big, kLarge)) {
    ++r->large_pages;
    r->large_on_node += n == r->node;
  }
  for (char* p : small) hm_free(p);
  hm_free(big);
  return nullptr;
}

TEST(Numa, ThreadsPinnedToEachNodeGetMemoryOnTheirNode) {
  int nodes = hm::os::machine().numa_nodes;
  if (nodes < 2) GTEST_SKIP() << "needs two NUMA nodes, this machine has " << nodes << " (the qemu guest of tests/vm has two)";
  for (int node = 0; node < 2; ++node) {
    int cpu = first_cpu_of(node);
    ASSERT_GE(cpu, 0) << "node " << node << " has no CPU";
    Placement r;
    r.node = node;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, &attr, place, &r), 0);
    pthread_join(t, nullptr);
    pthread_attr_destroy(&attr);
    std::printf("node %d (cpu %d): small objects %d/%d on node, large block pages %d/%d on node\n", node, cpu,
                r.small_on_node, r.small_pages, r.large_on_node, r.large_pages);
    EXPECT_EQ(r.small_on_node, r.small_pages) << "slab memory of a thread on node " << node;
    EXPECT_EQ(r.large_on_node, r.large_pages) << "large block of a thread on node " << node;
  }
}

}  // namespace
