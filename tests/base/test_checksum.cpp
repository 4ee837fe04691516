// CRC-32C on its published check value and on the test vectors of RFC 3720 (iSCSI), appendix B.4; the hardware and
// table paths agree on every length and alignment, and a stream continues across pieces.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/checksum.h"

using gt::crc32c;
using gt::crc32c_portable;

TEST(Crc32c, MatchesThePublishedVectors) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  std::vector<unsigned char> zeros(32, 0), ones(32, 0xff), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[static_cast<size_t>(i)] = static_cast<unsigned char>(i);
    down[static_cast<size_t>(i)] = static_cast<unsigned char>(31 - i);
  }
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), 32), 0x113FDB5Cu);
  EXPECT_EQ(crc32c_portable("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c_portable(up.data(), 32), 0x46DD794Eu);
}

TEST(Crc32c, BothPathsAgreeOnEveryLengthAndAlignmentAndContinueAStream) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += static_cast<char>((i * 131 + 7) & 0xff);
  for (size_t off = 0; off < 9; ++off)
    for (size_t n = 0; n + off <= text.size(); n += 13) {
      const uint32_t whole = crc32c(text.data() + off, n);
      ASSERT_EQ(whole, crc32c_portable(text.data() + off, n)) << off << " " << n;
      const size_t cut = n / 3;
      EXPECT_EQ(crc32c(text.data() + off + cut, n - cut, crc32c(text.data() + off, cut)), whole);
    }
}
