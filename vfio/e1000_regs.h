// Intel 8254x (82540EM, PCI 8086:100e) registers and descriptors, from the public "PCI/PCI-X Family
// of Gigabit Ethernet Controllers Software Developer's Manual" (8254x SDM), chapters 3 (receive
// and transmit descriptors) and 13 (registers). Only what the poll-mode driver uses.
#pragma once

#include <cstdint>

namespace hm::vfio::e1000 {

inline constexpr std::uint16_t kVendorIntel = 0x8086;
inline constexpr std::uint16_t kDev82540EM = 0x100e;

// ---- registers (byte offsets into BAR0, 32 bits each) ----
enum Reg : std::uint32_t {
  CTRL = 0x0000,      // device control
  STATUS = 0x0008,    // device status
  EERD = 0x0014,      // EEPROM read
  CTRL_EXT = 0x0018,  // extended device control
  MDIC = 0x0020,      // MDI (PHY) control
  ICR = 0x00C0,       // interrupt cause read (clear on read)
  IMS = 0x00D0,       // interrupt mask set
  IMC = 0x00D8,       // interrupt mask clear
  RCTL = 0x0100,      // receive control
  TCTL = 0x0400,      // transmit control
  TIPG = 0x0410,      // transmit inter-packet gap
  RDBAL = 0x2800, RDBAH = 0x2804, RDLEN = 0x2808, RDH = 0x2810, RDT = 0x2818, RDTR = 0x2820,
  TDBAL = 0x3800, TDBAH = 0x3804, TDLEN = 0x3808, TDH = 0x3810, TDT = 0x3818, TIDV = 0x3820,
  MTA = 0x5200,       // multicast table array, 128 x 32 bits
  RAL0 = 0x5400, RAH0 = 0x5404,  // receive address 0
  // statistics (13.7): all clear on read; 64-bit ones read low then high
  CRCERRS = 0x4000, ALGNERRC = 0x4004, SYMERRS = 0x4008, RXERRC = 0x400C, MPC = 0x4010,
  GPRC = 0x4074, BPRC = 0x4078, MPRC = 0x407C, GPTC = 0x4080,
  GORCL = 0x4088, GORCH = 0x408C, GOTCL = 0x4090, GOTCH = 0x4094,
  RNBC = 0x40A0, RUC = 0x40A4, RFC = 0x40A8, ROC = 0x40AC, RJC = 0x40B0,
  TORL = 0x40C0, TORH = 0x40C4, TOTL = 0x40C8, TOTH = 0x40CC, TPR = 0x40D0, TPT = 0x40D4,
};
inline constexpr std::uint32_t kBar0Size = 128 * 1024;
inline constexpr int kMtaEntries = 128;

// CTRL
inline constexpr std::uint32_t CTRL_FD = 1u << 0;    // full duplex
inline constexpr std::uint32_t CTRL_LRST = 1u << 3;  // link reset
inline constexpr std::uint32_t CTRL_ASDE = 1u << 5;  // auto-speed detection
inline constexpr std::uint32_t CTRL_SLU = 1u << 6;   // set link up
inline constexpr std::uint32_t CTRL_ILOS = 1u << 7;  // invert loss-of-signal
inline constexpr std::uint32_t CTRL_RST = 1u << 26;  // device reset (self-clearing)
inline constexpr std::uint32_t CTRL_VME = 1u << 30;  // VLAN mode
inline constexpr std::uint32_t CTRL_PHY_RST = 1u << 31;
// STATUS
inline constexpr std::uint32_t STATUS_FD = 1u << 0;
inline constexpr std::uint32_t STATUS_LU = 1u << 1;  // link up
// EERD (82540: start bit 0, done bit 4, address 15:8, data 31:16)
inline constexpr std::uint32_t EERD_START = 1u << 0;
inline constexpr std::uint32_t EERD_DONE = 1u << 4;
inline constexpr int EERD_ADDR_SHIFT = 8;
inline constexpr int EERD_DATA_SHIFT = 16;
// RCTL
inline constexpr std::uint32_t RCTL_EN = 1u << 1;
inline constexpr std::uint32_t RCTL_SBP = 1u << 2;
inline constexpr std::uint32_t RCTL_UPE = 1u << 3;  // unicast promiscuous
inline constexpr std::uint32_t RCTL_MPE = 1u << 4;  // multicast promiscuous
inline constexpr std::uint32_t RCTL_LPE = 1u << 5;  // long packets
inline constexpr std::uint32_t RCTL_LBM_MASK = 3u << 6;
inline constexpr std::uint32_t RCTL_BAM = 1u << 15;  // accept broadcast
inline constexpr std::uint32_t RCTL_BSIZE_2048 = 0u << 16;  // with BSEX = 0
inline constexpr std::uint32_t RCTL_SECRC = 1u << 26;  // strip the Ethernet CRC
// TCTL
inline constexpr std::uint32_t TCTL_EN = 1u << 1;
inline constexpr std::uint32_t TCTL_PSP = 1u << 3;  // pad short packets
inline constexpr int TCTL_CT_SHIFT = 4;             // collision threshold
inline constexpr int TCTL_COLD_SHIFT = 12;          // collision distance
inline constexpr std::uint32_t TCTL_RTLC = 1u << 24;
// TIPG for the 82540 on copper (SDM 13.4.34): IPGT 10, IPGR1 8, IPGR2 6
inline constexpr std::uint32_t TIPG_82540 = 10u | (8u << 10) | (6u << 20);
// RAH
inline constexpr std::uint32_t RAH_AV = 1u << 31;  // address valid

// MDIC (SDM 13.4.7): PHY register access
inline constexpr int MDIC_REG_SHIFT = 16;
inline constexpr int MDIC_PHY_SHIFT = 21;
inline constexpr std::uint32_t MDIC_OP_WRITE = 1u << 26;
inline constexpr std::uint32_t MDIC_OP_READ = 2u << 26;
inline constexpr std::uint32_t MDIC_READY = 1u << 28;
inline constexpr std::uint32_t MDIC_ERROR = 1u << 30;
inline constexpr std::uint32_t kPhyAddr = 1;  // the 82540EM's internal PHY
inline constexpr std::uint32_t PHY_CTRL = 0;  // MII control register (BMCR)
inline constexpr std::uint16_t PHY_CTRL_LOOPBACK = 1u << 14;

// ---- descriptors (legacy formats, 16 bytes; rings 128-byte aligned, length a multiple of 128) ----
struct RxDesc {
  std::uint64_t addr;     // buffer IOVA
  std::uint16_t length;   // bytes written (CRC stripped with SECRC)
  std::uint16_t csum;
  std::uint8_t status;    // RXD_STAT_*
  std::uint8_t errors;    // RXD_ERR_*
  std::uint16_t special;
};
struct TxDesc {
  std::uint64_t addr;     // data IOVA
  std::uint16_t length;
  std::uint8_t cso;
  std::uint8_t cmd;       // TXD_CMD_*
  std::uint8_t status;    // TXD_STAT_*
  std::uint8_t css;
  std::uint16_t special;
};
static_assert(sizeof(RxDesc) == 16 && sizeof(TxDesc) == 16, "8254x descriptors are 16 bytes");
static_assert(__builtin_offsetof(RxDesc, status) == 12 && __builtin_offsetof(TxDesc, cmd) == 11 &&
              __builtin_offsetof(TxDesc, status) == 12, "descriptor layout (SDM 3.2.3, 3.3.3)");

inline constexpr std::uint8_t RXD_STAT_DD = 1u << 0;   // descriptor done
inline constexpr std::uint8_t RXD_STAT_EOP = 1u << 1;  // end of packet
inline constexpr std::uint8_t RXD_ERR_CE = 1u << 0;    // CRC / alignment error
inline constexpr std::uint8_t RXD_ERR_SE = 1u << 1;
inline constexpr std::uint8_t RXD_ERR_SEQ = 1u << 2;
inline constexpr std::uint8_t RXD_ERR_CXE = 1u << 4;
inline constexpr std::uint8_t RXD_ERR_RXE = 1u << 7;
inline constexpr std::uint8_t RXD_ERR_FRAME = RXD_ERR_CE | RXD_ERR_SE | RXD_ERR_SEQ | RXD_ERR_CXE | RXD_ERR_RXE;
inline constexpr std::uint8_t TXD_CMD_EOP = 1u << 0;   // end of packet
inline constexpr std::uint8_t TXD_CMD_IFCS = 1u << 1;  // insert FCS (CRC)
inline constexpr std::uint8_t TXD_CMD_RS = 1u << 3;    // report status (sets DD)
inline constexpr std::uint8_t TXD_STAT_DD = 1u << 0;

}  // namespace hm::vfio::e1000
