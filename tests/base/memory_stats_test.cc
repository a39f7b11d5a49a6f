#include "base/memory_stats.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
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

// The layout of a real /proc/<pid>/smaps_rollup (Linux 6.1).
constexpr const char* kSmapsRollup =
    "55d0c0a00000-7ffc3b5f2000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:             5301400 kB\n"
    "Pss:             2709800 kB\n"
    "Pss_Dirty:         58000 kB\n"
    "Pss_Anon:          57900 kB\n"
    "Pss_File:        2651800 kB\n"
    "Pss_Shmem:           100 kB\n"
    "Shared_Clean:    5188000 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:     55400 kB\n"
    "Private_Dirty:     58000 kB\n"
    "Referenced:      5301400 kB\n"
    "Anonymous:         58000 kB\n"
    "AnonHugePages:      4096 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FilePmdMapped:   2598912 kB\n"
    "Swap:                  0 kB\n"
    "SwapPss:               0 kB\n"
    "Locked:                0 kB\n";

TEST(ParseSmapsRollup, ReadsRssPssAndTheirSplit) {
  auto rollup = ParseSmapsRollup(kSmapsRollup, "smaps_rollup");
  ASSERT_TRUE(rollup.ok()) << rollup.error().message();
  EXPECT_EQ(rollup->rss_bytes, 5301400ull * 1024);
  EXPECT_EQ(rollup->pss_bytes, 2709800ull * 1024);
  ASSERT_TRUE(rollup->pss_anon_bytes.has_value());
  EXPECT_EQ(*rollup->pss_anon_bytes, 57900ull * 1024);
  ASSERT_TRUE(rollup->pss_file_bytes.has_value());
  EXPECT_EQ(*rollup->pss_file_bytes, 2651800ull * 1024);
  EXPECT_EQ(rollup->huge_page_mapped_bytes, (4096ull + 2598912) * 1024);
}

TEST(ParseSmapsRollup, OlderKernelsLackTheSplit) {
  auto rollup = ParseSmapsRollup("Rss: 8 kB\nPss: 4 kB\nShared_Clean: 8 kB\n", "rollup");
  ASSERT_TRUE(rollup.ok()) << rollup.error().message();
  EXPECT_EQ(rollup->pss_bytes, 4096u);
  EXPECT_FALSE(rollup->pss_anon_bytes.has_value());
  EXPECT_FALSE(rollup->pss_file_bytes.has_value());
  EXPECT_EQ(rollup->huge_page_mapped_bytes, 0u);
}

TEST(ParseSmapsRollup, MissingOrMalformedFieldsAreErrors) {
  auto missing = ParseSmapsRollup("Rss: 8 kB\nPss_Anon: 4 kB\n", "/proc/7/smaps_rollup");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("/proc/7/smaps_rollup: no field Pss"),
            std::string::npos);
  auto malformed = ParseSmapsRollup("Rss: 8 kB\nPss: 4 kB\nPss_File: many\n", "rollup");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(malformed.error().message().find("Pss_File"), std::string::npos);
}

// Two blocks of a real /proc/<pid>/smaps (Linux 6.1), the first a weights
// file mapped by 2 MiB entries.
constexpr const char* kSmaps =
    "7f5a00000000-7f5a30600000 r--s 00000000 fe:01 1311       /models/q5/g32.ptd\n"
    "Size:             792576 kB\n"
    "Rss:              792576 kB\n"
    "Pss:              792576 kB\n"
    "AnonHugePages:         0 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FilePmdMapped:    790528 kB\n"
    "VmFlags: rd sh mr mw me ms hg\n"
    "7f5a30600000-7f5a30800000 rw-p 00000000 00:00 0 \n"
    "Size:               2048 kB\n"
    "Rss:                  12 kB\n"
    "AnonHugePages:         0 kB\n"
    "VmFlags: rd wr mr mw me ac\n";

TEST(ParseSmapsMappingAt, FindsTheMappingHoldingTheAddress) {
  auto weights = ParseSmapsMappingAt(kSmaps, 0x7f5a12345678, "smaps");
  ASSERT_TRUE(weights.ok()) << weights.error().message();
  EXPECT_EQ(weights->rss_bytes, 792576ull * 1024);
  EXPECT_EQ(weights->huge_page_mapped_bytes, 790528ull * 1024);
  // The last byte of a mapping is in it; its end is the next one's start.
  auto anon = ParseSmapsMappingAt(kSmaps, 0x7f5a30600000, "smaps");
  ASSERT_TRUE(anon.ok()) << anon.error().message();
  EXPECT_EQ(anon->rss_bytes, 12u * 1024);
  EXPECT_EQ(anon->huge_page_mapped_bytes, 0u);
  auto last = ParseSmapsMappingAt(kSmaps, 0x7f5a305fffff, "smaps");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->rss_bytes, weights->rss_bytes);
}

TEST(ParseSmapsMappingAt, UnmappedAddressOrBadBlockIsAnError) {
  auto none = ParseSmapsMappingAt(kSmaps, 0x1000, "/proc/self/smaps");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(none.error().message().find("/proc/self/smaps: no mapping holds address 0x1000"),
            std::string::npos);
  auto malformed = ParseSmapsMappingAt("1000-2000 r--p 0 00:00 0\nRss: lots\n", 0x1800, "smaps");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(malformed.error().message().find("Rss"), std::string::npos);
  EXPECT_FALSE(ParseSmapsMappingAt("", 0x1800, "smaps").ok());
  EXPECT_FALSE(ParseSmapsMappingAt("1000-zz r--p\nRss: 4 kB\n", 0x1800, "smaps").ok());
}

TEST(ReadMappingPages, SeesTouchedPagesOfItsOwnMapping) {
  constexpr size_t kSize = 8 * kMiB;
  void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, kSize / 2);
  auto pages = ReadMappingPages(static_cast<char*>(p) + kSize / 4);
  ASSERT_TRUE(pages.ok()) << pages.error().message();
  // Neighbouring anonymous mappings may merge with this one: at least what
  // was touched is resident.
  EXPECT_GE(pages->rss_bytes, kSize / 2);
  EXPECT_LE(pages->huge_page_mapped_bytes, pages->rss_bytes);
  ::munmap(p, kSize);
}

// Pages a forked child shares with its parent count half to each in PSS and
// fully in each RSS: reading the child by pid must show that.
TEST(ReadSmapsRollup, SeesAnotherProcessShareItsPages) {
  constexpr size_t kSize = 64 * kMiB;
  auto buffer = std::make_unique<char[]>(kSize);
  std::memset(buffer.get(), 3, kSize);
  int release[2];
  ASSERT_EQ(pipe(release), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(release[1]);
    char c;
    while (read(release[0], &c, 1) > 0) {
    }
    _exit(buffer[kSize - 1] == 3 ? 0 : 1);
  }
  close(release[0]);
  auto rollup = ReadSmapsRollup(child);
  auto stats = ReadMemoryStats(child);
  close(release[1]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(rollup.ok()) << rollup.error().message();
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_GE(rollup->rss_bytes, kSize);
  EXPECT_NEAR(static_cast<double>(stats->rss_bytes), static_cast<double>(rollup->rss_bytes),
              4.0 * kMiB);
  EXPECT_LE(rollup->pss_bytes + kSize / 2 - 4 * kMiB, rollup->rss_bytes);
}

TEST(ReadSmapsRollup, MissingProcessIsNamed) {
  // pid_max is at most 2^22, so this pid never exists.
  auto rollup = ReadSmapsRollup(1 << 23);
  ASSERT_FALSE(rollup.ok());
  EXPECT_NE(rollup.error().message().find("/proc/8388608/smaps_rollup"), std::string::npos);
}

TEST(FormatMiB, SixDecimals) {
  EXPECT_EQ(FormatMiB(0), "0.000000");
  EXPECT_EQ(FormatMiB(7886 * kMiB + kMiB / 8), "7886.125000");
  EXPECT_EQ(FormatMiB(1024), "0.000977");
}

}  // namespace
}  // namespace lorashare
