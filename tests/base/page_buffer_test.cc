// PageBuffer: page-aligned anonymous memory that Populate makes resident
// range by range (checked with mincore), 2 MiB-aligned when huge pages are
// asked for, and owned by exactly one object.
#include "base/page_buffer.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <utility>
#include <vector>

namespace lorashare {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// Whether each page of `buffer` is resident.
std::vector<bool> Resident(const PageBuffer& buffer) {
  const size_t pages = (buffer.size() + kPage - 1) / kPage;
  std::vector<unsigned char> flags(pages);
  EXPECT_EQ(::mincore(buffer.data(), pages * kPage, flags.data()), 0);
  std::vector<bool> resident;
  for (unsigned char f : flags) resident.push_back(f & 1);
  return resident;
}

TEST(PageBufferTest, PopulateMakesExactlyTheRangesPagesResident) {
  PageBuffer buffer = PageBuffer::Allocate(16 * kPage + 100);
  ASSERT_NE(buffer.data(), nullptr);
  EXPECT_EQ(buffer.size(), 16 * kPage + 100);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % kPage, 0u);
  std::vector<bool> resident = Resident(buffer);
  ASSERT_EQ(resident.size(), 17u);
  for (bool r : resident) EXPECT_FALSE(r);  // nothing touched yet

  // Bytes [2.5 pages, 5 pages + 1): pages 2 to 5.
  buffer.Populate(2 * kPage + kPage / 2, 2 * kPage + kPage / 2 + 1);
  resident = Resident(buffer);
  for (size_t p = 0; p < resident.size(); ++p) {
    EXPECT_EQ(resident[p], p >= 2 && p <= 5) << "page " << p;
  }
  // Past the end, or empty: nothing; a range running over the end: up to it.
  buffer.Populate(buffer.size(), kPage);
  buffer.Populate(0, 0);
  buffer.Populate(16 * kPage, 10 * kPage);
  resident = Resident(buffer);
  EXPECT_FALSE(resident[0]);
  EXPECT_TRUE(resident[16]);
  // Populated memory is writable and reads back.
  std::memset(buffer.data(), 7, buffer.size());
  EXPECT_EQ(buffer.data()[buffer.size() - 1], 7);
}

TEST(PageBufferTest, HugePagesAreAligned) {
  const size_t huge = size_t{2} << 20;
  PageBuffer buffer = PageBuffer::Allocate(3 * huge, true);
  ASSERT_NE(buffer.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % huge, 0u);
  buffer.Populate(0, buffer.size());
  for (bool r : Resident(buffer)) EXPECT_TRUE(r);
  std::memset(buffer.data(), 1, buffer.size());
}

TEST(PageBufferTest, MovesOwnership) {
  PageBuffer a = PageBuffer::Allocate(kPage);
  uint8_t* data = a.data();
  PageBuffer b = std::move(a);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), data);
  b = PageBuffer::Allocate(2 * kPage);
  EXPECT_NE(b.data(), nullptr);
  EXPECT_EQ(b.size(), 2 * kPage);
  PageBuffer empty;
  EXPECT_EQ(empty.data(), nullptr);
  empty.Populate(0, kPage);  // no memory: nothing to do
}

TEST(PageBufferTest, RefusedMemoryGivesNoData) {
  PageBuffer buffer = PageBuffer::Allocate(size_t{1} << 62);
  EXPECT_EQ(buffer.data(), nullptr);
  EXPECT_EQ(buffer.size(), 0u);
}

}  // namespace
}  // namespace lorashare
