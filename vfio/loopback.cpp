#include "hugemem/vfio/loopback.h"

#include <cstring>
#include <vector>

namespace hm::vfio {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint32_t kMagic = 0x484d4c42;  // "HMLB"
constexpr std::size_t kHdr = 14;              // Ethernet header
// Payload: magic (4) | seq (8) | len (2) | pattern ... | checksum (4) over everything before it.
constexpr std::size_t kMinLen = kHdr + 4 + 8 + 2 + 4;

std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint32_t fnv1a(const std::uint8_t* p, std::size_t n) {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

void build_frame(std::uint8_t* b, std::uint16_t len, std::uint64_t seq, const MacAddr& dst, const MacAddr& src,
                 std::uint16_t ethertype) {
  std::memcpy(b, dst.data(), 6);
  std::memcpy(b + 6, src.data(), 6);
  b[12] = static_cast<std::uint8_t>(ethertype >> 8);
  b[13] = static_cast<std::uint8_t>(ethertype);
  std::memcpy(b + 14, &kMagic, 4);
  std::memcpy(b + 18, &seq, 8);
  std::memcpy(b + 26, &len, 2);
  std::uint64_t s = seq * 0x2545f4914f6cdd1dull + 1;
  std::size_t i = 28, end = len - 4u;
  for (; i + 8 <= end; i += 8) {
    std::uint64_t r = splitmix(s);
    std::memcpy(b + i, &r, 8);
  }
  for (std::uint64_t r = splitmix(s); i < end; ++i, r >>= 8) b[i] = static_cast<std::uint8_t>(r);
  std::uint32_t sum = fnv1a(b, end);
  std::memcpy(b + end, &sum, 4);
}

std::int64_t check_frame(const std::uint8_t* b, std::uint16_t len, std::uint16_t expect_len, const MacAddr& dst,
                         const MacAddr& src, std::uint16_t ethertype, bool* intact) {
  *intact = false;
  if (len < kMinLen) return -1;
  std::uint32_t magic;
  std::memcpy(&magic, b + 14, 4);
  if (b[12] != (ethertype >> 8) || b[13] != (ethertype & 0xff) || magic != kMagic) return -1;
  std::uint64_t seq;
  std::memcpy(&seq, b + 18, 8);
  if (len != expect_len) return static_cast<std::int64_t>(seq & 0x7fffffffffffffffull);
  std::uint8_t want[2048];
  build_frame(want, expect_len, seq, dst, src, ethertype);
  *intact = std::memcmp(want, b, len) == 0;  // every byte, checksum included
  return static_cast<std::int64_t>(seq & 0x7fffffffffffffffull);
}

LoopbackResult run_loopback(Nic& tx, Nic& rx, pkt::Pool& pool, const LoopbackConfig& cfg, std::uint32_t rx_ring) {
  LoopbackResult r;
  if (cfg.frame_len < 60 || cfg.frame_len > 1514 || cfg.frame_len < kMinLen) {
    r.error = "frame_len must be in [60, 1514]";
    return r;
  }
  if (cfg.burst == 0 || cfg.burst > 512) {
    r.error = "burst must be in [1, 512]";
    return r;
  }
  const MacAddr dst = rx.mac(), src = tx.mac();
  const std::uint32_t window = cfg.window ? cfg.window : rx_ring / 2;
  std::vector<std::uint8_t> seen(cfg.frames, 0);
  std::vector<pkt::Mbuf*> txb(cfg.burst), rxb(cfg.burst);
  constexpr std::uint64_t kWarmupSeq = ~std::uint64_t{0} >> 1;

  auto make = [&](std::uint64_t seq) -> pkt::Mbuf* {
    pkt::Mbuf* m = pkt::Mbuf::alloc(pool);
    if (!m) return nullptr;
    auto* p = reinterpret_cast<std::uint8_t*>(m->append(cfg.frame_len));
    if (!p) {
      pkt::Mbuf::free(m);
      return nullptr;
    }
    build_frame(p, cfg.frame_len, seq, dst, src, cfg.ethertype);
    return m;
  };
  // Returns frames of this run seen in this call.
  auto drain = [&]() -> std::uint16_t {
    std::uint16_t k = rx.rx_burst(rxb.data(), cfg.burst);
    for (std::uint16_t i = 0; i < k; ++i) {
      bool intact;
      std::int64_t seq = check_frame(rxb[i]->mtod<std::uint8_t>(), rxb[i]->data_len, cfg.frame_len, dst, src,
                                     cfg.ethertype, &intact);
      if (seq < 0) {
        ++r.foreign;
      } else if (static_cast<std::uint64_t>(seq) == kWarmupSeq) {
        // the warm-up frame
      } else if (!intact || static_cast<std::uint64_t>(seq) >= cfg.frames) {
        ++r.corrupted;
      } else if (seen[seq]) {
        ++r.duplicates;
      } else {
        seen[seq] = 1;
        ++r.received;
      }
      pkt::Mbuf::free(rxb[i]);
    }
    return k;
  };

  // Warm-up: one frame through, so that the rate does not include the NICs' start-up (QEMU's
  // e1000 holds received frames for a second after RCTL is written).
  auto t0 = Clock::now();
  bool through = false;
  while (!through && ms_since(t0) < cfg.warmup_limit.count()) {
    pkt::Mbuf* m = make(kWarmupSeq);
    if (!m) {
      r.error = "pool exhausted before the warm-up frame";
      return r;
    }
    if (tx.tx_burst(&m, 1) != 1) pkt::Mbuf::free(m);
    auto sent_at = Clock::now();
    while (!through && ms_since(sent_at) < 200) {
      std::uint16_t k = rx.rx_burst(rxb.data(), cfg.burst);
      for (std::uint16_t i = 0; i < k; ++i) {
        bool intact;
        std::int64_t seq = check_frame(rxb[i]->mtod<std::uint8_t>(), rxb[i]->data_len, cfg.frame_len, dst, src,
                                       cfg.ethertype, &intact);
        through |= seq == static_cast<std::int64_t>(kWarmupSeq) && intact;
        pkt::Mbuf::free(rxb[i]);
      }
    }
  }
  r.warmup_ms = ms_since(t0);
  if (!through) {
    r.error = "no frame got from " + mac_string(src) + " to " + mac_string(dst) + " within " +
              std::to_string(cfg.warmup_limit.count()) + " ms (link, RCTL, bus mastering, wiring?)";
    return r;
  }
  for (std::uint16_t k; (k = rx.rx_burst(rxb.data(), cfg.burst));)  // late warm-up frames
    for (std::uint16_t i = 0; i < k; ++i) pkt::Mbuf::free(rxb[i]);

  auto start = Clock::now();
  auto last_rx = start;
  std::uint64_t next = 0;
  while (true) {
    std::uint64_t done = r.received + r.corrupted + r.duplicates;
    if (next < cfg.frames && r.sent - std::min(r.sent, done) < window) {
      std::uint16_t want = static_cast<std::uint16_t>(std::min<std::uint64_t>(cfg.burst, cfg.frames - next));
      want = static_cast<std::uint16_t>(std::min<std::uint64_t>(want, window - (r.sent - std::min(r.sent, done))));
      std::uint16_t built = 0;
      for (; built < want; ++built)
        if (!(txb[built] = make(next + built))) break;
      std::uint16_t k = built ? tx.tx_burst(txb.data(), built) : 0;
      for (std::uint16_t i = k; i < built; ++i) pkt::Mbuf::free(txb[i]);
      next += k;
      r.sent += k;
    }
    if (drain()) last_rx = Clock::now();
    if (r.received + r.corrupted >= cfg.frames) break;
    if (Clock::now() - last_rx > cfg.idle_limit) break;
  }
  r.seconds = std::chrono::duration<double>(last_rx - start).count();
  std::uint64_t accounted = r.received + r.corrupted;
  r.lost = r.sent > accounted ? r.sent - accounted : 0;
  if (r.sent < cfg.frames && r.error.empty())
    r.error = "only " + std::to_string(r.sent) + " of " + std::to_string(cfg.frames) + " frames could be sent";
  return r;
}

}  // namespace hm::vfio
