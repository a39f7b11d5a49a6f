// PrefaultForWrite makes exactly the whole pages inside its range resident
// (checked with mincore on a fresh anonymous mapping), and the memory stays
// writable and unchanged. PrefaultForRead maps every page its range touches
// into a fresh mapping of a file (checked with the mapping's Rss in smaps:
// mincore would count the file's cached pages, mapped or not).
#include "base/prefault.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "base/memory_stats.h"
#include "test_util.h"

namespace lorashare {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

class PrefaultTest : public ::testing::Test {
 protected:
  static constexpr size_t kPages = 16;
  void SetUp() override {
    void* p =
        ::mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    ::madvise(p, kPages * kPage, MADV_NOHUGEPAGE);  // residency page by page
    data_ = static_cast<uint8_t*>(p);
  }
  void TearDown() override { ::munmap(data_, kPages * kPage); }

  std::vector<bool> Resident() const {
    std::vector<unsigned char> flags(kPages);
    EXPECT_EQ(::mincore(data_, kPages * kPage, flags.data()), 0);
    std::vector<bool> resident;
    for (unsigned char f : flags) resident.push_back(f & 1);
    return resident;
  }

  uint8_t* data_ = nullptr;
};

TEST_F(PrefaultTest, WholePagesInsideTheRangeBecomeResident) {
  for (bool r : Resident()) ASSERT_FALSE(r);  // nothing touched yet
  // Bytes [1.5 pages, 6 pages + 1): the whole pages inside are 2 to 5.
  PrefaultForWrite(data_ + kPage + kPage / 2, 4 * kPage + kPage / 2 + 1);
  const std::vector<bool> resident = Resident();
  for (size_t p = 0; p < kPages; ++p) EXPECT_EQ(resident[p], p >= 2 && p <= 5) << "page " << p;
  // Less than a page, or nothing: no whole page, nothing changes.
  PrefaultForWrite(data_ + 8 * kPage + 1, kPage - 1);
  PrefaultForWrite(data_ + 10 * kPage, 0);
  EXPECT_FALSE(Resident()[8]);
  EXPECT_FALSE(Resident()[10]);
}

TEST_F(PrefaultTest, ContentsStayAndStayWritable) {
  std::memset(data_, 7, 3 * kPage);
  PrefaultForWrite(data_, kPages * kPage);
  for (bool r : Resident()) EXPECT_TRUE(r);
  EXPECT_EQ(data_[0], 7);
  EXPECT_EQ(data_[3 * kPage - 1], 7);
  EXPECT_EQ(data_[3 * kPage], 0);  // populated pages read as zeros
  std::memset(data_, 1, kPages * kPage);
  EXPECT_EQ(data_[kPages * kPage - 1], 1);
}

// Bytes of a file mapping that this process has mapped.
uint64_t MappedBytes(const void* mapping) {
  auto pages = ReadMappingPages(mapping);
  EXPECT_TRUE(pages.ok()) << pages.error().message();
  return pages.ok() ? pages->rss_bytes : 0;
}

TEST(PrefaultForReadTest, PagesTheRangeTouchesBecomeMapped) {
  // 8 MiB: the page cache may hold the file in folios of up to 2 MiB, and a
  // read maps the whole folio (a 128 KiB file was sometimes mapped whole).
  constexpr size_t kPages = 2048;
  testing::TempDir dir;
  const std::string path = dir.path() + "/pages.bin";
  std::vector<char> bytes(kPages * kPage);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 / kPage);
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* p = ::mmap(nullptr, bytes.size(), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(p, MAP_FAILED);
  const auto* data = static_cast<const uint8_t*>(p);
  EXPECT_EQ(MappedBytes(data), 0u);  // nothing read yet
  // Bytes [1.5 pages, 3 pages + 1) touch pages 1 to 3 (the kernel's
  // fault-around may map up to 64 KiB about them too, and their folio whole).
  PrefaultForRead(data + kPage + kPage / 2, kPage + kPage / 2 + 1);
  const uint64_t mapped = MappedBytes(data);
  EXPECT_GE(mapped, 3 * kPage);
  EXPECT_LT(mapped, kPages * kPage);
  PrefaultForRead(data + (kPages - 1) * kPage, 0);
  EXPECT_EQ(MappedBytes(data), mapped);
  PrefaultForRead(data, kPages * kPage);
  EXPECT_EQ(MappedBytes(data), kPages * kPage);
  EXPECT_EQ(std::memcmp(data, bytes.data(), bytes.size()), 0);
  ::munmap(p, bytes.size());
}

}  // namespace
}  // namespace lorashare
