// The NIC loopback check: one NIC sends N numbered frames whose payloads are derived from their
// sequence number and carry a checksum; the other receives them and compares every byte with what
// was sent. Generic over Nic, so it runs on e1000s in the qemu guest and on fakes in host tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "hugemem/vfio/nic.h"

namespace hm::vfio {

struct LoopbackConfig {
  std::uint64_t frames = 10000;
  std::uint16_t frame_len = 1024;  // bytes on the wire without CRC, 60..1514
  std::uint16_t burst = 32;
  std::uint32_t window = 0;        // frames in flight at most; 0 = the receiver's ring size / 2
  std::chrono::milliseconds warmup_limit{5000};  // until the first frame gets through
  std::chrono::milliseconds idle_limit{5000};    // no frame arrives for this long: the rest are lost
  std::uint16_t ethertype = 0x88B5;              // IEEE 802 local experimental
};

struct LoopbackResult {
  std::uint64_t sent = 0;        // frames tx_burst accepted (the warm-up frame not counted)
  std::uint64_t received = 0;    // frames of this run that arrived intact, each once
  std::uint64_t lost = 0;        // sent - received - corrupted
  std::uint64_t corrupted = 0;   // frames of this run with any byte different from what was sent
  std::uint64_t duplicates = 0;  // a sequence number seen twice
  std::uint64_t foreign = 0;     // frames that were not ours (other ethertype / magic)
  double warmup_ms = 0;          // until the first frame got through
  double seconds = 0;            // first send to last receive
  std::string error;             // set when the run could not be done at all
  bool ok() const { return error.empty() && lost == 0 && corrupted == 0 && duplicates == 0 && received == sent; }
  double pps() const { return seconds > 0 ? received / seconds : 0; }
};

// Frames go from `tx` to `rx` (which may be the same NIC in PHY/MAC loopback). Mbufs come from
// `pool` (the NICs' own pool or another mapped one). Does not throw.
LoopbackResult run_loopback(Nic& tx, Nic& rx, pkt::Pool& pool, const LoopbackConfig& cfg, std::uint32_t rx_ring = 256);

// The frame layout, exposed for tests: builds frame `seq` into buf[0..len), and checks one.
void build_frame(std::uint8_t* buf, std::uint16_t len, std::uint64_t seq, const MacAddr& dst, const MacAddr& src,
                 std::uint16_t ethertype);
// The sequence number of a frame that is ours (ethertype and magic match), or -1; `intact` says
// whether every byte equals build_frame's for that sequence number.
std::int64_t check_frame(const std::uint8_t* buf, std::uint16_t len, std::uint16_t expect_len, const MacAddr& dst,
                         const MacAddr& src, std::uint16_t ethertype, bool* intact);

}  // namespace hm::vfio
