#include "base/mapped_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "base/output_file.h"
#include "test_util.h"

namespace lorashare {
namespace {

using testing::kHugePage;

// Bytes no two offsets of a few MiB share by accident.
std::vector<uint8_t> Pattern(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  return bytes;
}

// Writes `bytes` in pieces of the given sizes (cycled), as the exporter does.
void WriteInPieces(const std::string& path, const std::vector<uint8_t>& bytes,
                   const std::vector<size_t>& pieces) {
  auto file = OutputFile::Create(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  size_t offset = 0;
  for (size_t i = 0; offset < bytes.size(); ++i) {
    const size_t n = std::min(pieces[i % pieces.size()], bytes.size() - offset);
    ASSERT_TRUE((*file)->Write({bytes.data() + offset, n}).ok());
    offset += n;
    EXPECT_EQ((*file)->position(), offset);
  }
  ASSERT_TRUE((*file)->Commit().ok());
}

TEST(MappedFile, LargeFileIsMappedHugePageAlignedWithItsBytes) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/big.bin";
  // Pieces smaller and larger than OutputFile's buffer, crossing its bounds.
  const std::vector<uint8_t> bytes = Pattern(3 * kHugePage * 4 + 12345);
  WriteInPieces(path, bytes, {4096, 9 << 20, 1, 3 << 20, 777});
  auto mapped = MappedFile::Open(path);
  ASSERT_TRUE(mapped.ok()) << mapped.error().message();
  const std::span<const uint8_t> view = (*mapped)->bytes();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data()) % kHugePage, 0u);
  ASSERT_EQ(view.size(), bytes.size());
  EXPECT_TRUE(std::equal(view.begin(), view.end(), bytes.begin()));
}

TEST(MappedFile, SmallFileKeepsItsBytes) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/small.bin";
  const std::vector<uint8_t> bytes = Pattern(5000);
  WriteInPieces(path, bytes, {3, 4093});
  auto mapped = MappedFile::Open(path);
  ASSERT_TRUE(mapped.ok()) << mapped.error().message();
  const std::span<const uint8_t> view = (*mapped)->bytes();
  ASSERT_EQ(view.size(), bytes.size());
  EXPECT_TRUE(std::equal(view.begin(), view.end(), bytes.begin()));
}

TEST(MappedFile, ReleasedPagesReadBackTheSame) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/release.bin";
  const std::vector<uint8_t> bytes = Pattern(2 * kHugePage + 100);
  WriteInPieces(path, bytes, {kHugePage});
  auto mapped = MappedFile::Open(path);
  ASSERT_TRUE(mapped.ok()) << mapped.error().message();
  (*mapped)->ReleasePages(1000, kHugePage);
  const std::span<const uint8_t> view = (*mapped)->bytes();
  EXPECT_TRUE(std::equal(view.begin(), view.end(), bytes.begin()));
}

}  // namespace
}  // namespace lorashare
