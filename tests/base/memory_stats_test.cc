#include "base/memory_stats.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>

namespace lorashare {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

TEST(ParseProcKilobytes, FindsFieldAmongOthers) {
  const char* text = "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n";
  auto rss = ParseProcKilobytes(text, "VmRSS", "status");
  ASSERT_TRUE(rss.ok()) << rss.error().message();
  EXPECT_EQ(*rss, 1024u * 1024u);
  auto hwm = ParseProcKilobytes(text, "VmHWM", "status");
  ASSERT_TRUE(hwm.ok());
  EXPECT_EQ(*hwm, 2048u * 1024u);
}

TEST(ParseProcKilobytes, DoesNotMatchFieldPrefix) {
  auto result = ParseProcKilobytes("VmRSSx: 5 kB\n", "VmRSS", "status");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(result.error().message().find("VmRSS"), std::string::npos);
}

TEST(ParseProcKilobytes, RejectsMalformedValues) {
  for (const char* text : {"VmRSS: 12 MB\n", "VmRSS: kB\n", "VmRSS: -3 kB\n", "VmRSS: 1x kB\n",
                           "VmRSS: 99999999999999999999 kB\n", "VmRSS:\n"}) {
    auto result = ParseProcKilobytes(text, "VmRSS", "status");
    ASSERT_FALSE(result.ok()) << text;
    EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt) << text;
    EXPECT_NE(result.error().message().find("status: field VmRSS"), std::string::npos);
  }
}

// Resident pages from /proc/self/statm: an independent count of VmRSS.
uint64_t StatmResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

TEST(ReadMemoryStats, AgreesWithStatmAndGetrusage) {
  auto stats = ReadMemoryStats();
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  uint64_t statm = StatmResidentBytes();
  EXPECT_NEAR(static_cast<double>(stats->rss_bytes), static_cast<double>(statm), 4.0 * kMiB);
  EXPECT_GE(stats->peak_rss_bytes, stats->rss_bytes);

  rusage usage{};
  ASSERT_EQ(getrusage(RUSAGE_SELF, &usage), 0);
  uint64_t maxrss = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  EXPECT_NEAR(static_cast<double>(stats->peak_rss_bytes), static_cast<double>(maxrss), 4.0 * kMiB);
}

TEST(ReadMemoryStats, SeesTouchedMemory) {
  auto before = ReadMemoryStats();
  ASSERT_TRUE(before.ok());
  constexpr size_t kSize = 64 * kMiB;
  auto buffer = std::make_unique<char[]>(kSize);
  std::memset(buffer.get(), 1, kSize);
  auto after = ReadMemoryStats();
  ASSERT_TRUE(after.ok());
  EXPECT_GE(after->rss_bytes, before->rss_bytes + 60 * kMiB);
  EXPECT_GE(after->peak_rss_bytes, after->rss_bytes);
  auto pss = ReadPssBytes();
  ASSERT_TRUE(pss.ok()) << pss.error().message();
  EXPECT_GE(*pss, 60 * kMiB);
  EXPECT_LE(*pss, after->rss_bytes + kMiB);
  EXPECT_EQ(buffer[kSize - 1], 1);
}

TEST(FormatMiB, SixDecimals) {
  EXPECT_EQ(FormatMiB(0), "0.000000");
  EXPECT_EQ(FormatMiB(7886 * kMiB + kMiB / 8), "7886.125000");
  EXPECT_EQ(FormatMiB(1024), "0.000977");
}

}  // namespace
}  // namespace lorashare
