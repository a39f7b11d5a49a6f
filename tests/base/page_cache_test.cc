#include "base/page_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "test_util.h"

namespace lorashare {
namespace {

using testing::kHugePage;

TEST(ReadIntoPageCache, ReadsEveryByte) {
  testing::TempDir dir;
  const std::string path = dir / "file.bin";
  const std::string content(5 * 1024 * 1024 + 17, 'x');  // more than one read buffer
  std::ofstream(path, std::ios::binary) << content;
  auto file = ReadIntoPageCache(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->bytes, content.size());
  EXPECT_LE(file->huge_page_mapped_bytes, file->bytes);
}

// Pages of `bytes` in the page cache.
size_t ResidentPages(std::span<const uint8_t> bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((bytes.size() + page - 1) / page);
  if (::mincore(const_cast<uint8_t*>(bytes.data()), bytes.size(), resident.data()) != 0) return 0;
  size_t count = 0;
  for (unsigned char r : resident) count += r & 1;
  return count;
}

TEST(ReadIntoPageCache, LeavesEveryPageResident) {
  testing::TempDir dir;
  const std::string path = dir / "file.bin";
  std::ofstream(path, std::ios::binary) << std::string(3 * 1024 * 1024 + 5, 'y');
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::fsync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok());
  const std::span<const uint8_t> bytes = (*file)->bytes();
  const size_t pages = (bytes.size() + ::sysconf(_SC_PAGESIZE) - 1) / ::sysconf(_SC_PAGESIZE);
  if (ResidentPages(bytes) == pages) GTEST_SKIP() << "this file system kept the file cached";
  ASSERT_TRUE(ReadIntoPageCache(path).ok());
  EXPECT_EQ(ResidentPages(bytes), pages);
}

TEST(ReadIntoPageCache, EmptyFileIsZeroBytes) {
  testing::TempDir dir;
  const std::string path = dir / "empty.bin";
  std::ofstream(path, std::ios::binary).flush();
  auto file = ReadIntoPageCache(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->bytes, 0u);
  EXPECT_EQ(file->huge_page_mapped_bytes, 0u);
}

TEST(ReadIntoPageCache, MissingFileIsNamed) {
  testing::TempDir dir;
  for (auto read : {&ReadIntoPageCache, &RecacheInLargeFolios}) {
    auto file = read(dir / "absent.ptd");
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.error().code(), ErrorCode::kNotFound);
    EXPECT_NE(file.error().message().find("absent.ptd"), std::string::npos);
  }
}

// Writes `bytes` bytes of a repeating pattern in 4 KiB write(2) calls, which
// the page cache keeps as 4 KiB folios.
void WriteInSmallPieces(const std::string& path, size_t bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  std::vector<char> piece(4096);
  for (size_t offset = 0; offset < bytes; offset += piece.size()) {
    for (size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<char>((offset + i) % 251);
    ASSERT_EQ(::write(fd, piece.data(), piece.size()), static_cast<ssize_t>(piece.size()));
  }
  ::close(fd);
}

// Whether this machine caches a file read through a huge-page mapping in
// 2 MiB folios (transparent huge pages for files: a kernel, file system and
// THP setting that allow them).
bool MapsFilesByHugePages(const testing::TempDir& dir) {
  const std::string path = dir / "probe.bin";
  WriteInSmallPieces(path, 2 * kHugePage);
  const int fd = ::open(path.c_str(), O_RDONLY);
  ::fsync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  auto file = ReadIntoPageCache(path);
  return file.ok() && file->huge_page_mapped_bytes > 0;
}

TEST(RecacheInLargeFolios, MapsAFileCachedInSmallPagesByHugePages) {
  testing::TempDir dir;
  if (!MapsFilesByHugePages(dir)) GTEST_SKIP() << "no huge pages for files on this machine";
  const std::string path = dir / "copied.ptd";
  const size_t size = 4 * kHugePage + 4096;
  WriteInSmallPieces(path, size);
  auto before = ReadIntoPageCache(path);
  ASSERT_TRUE(before.ok()) << before.error().message();
  if (before->huge_page_mapped_bytes > 0) GTEST_SKIP() << "small writes were cached as folios";
  auto after = RecacheInLargeFolios(path);
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_EQ(after->bytes, size);
  EXPECT_EQ(after->huge_page_mapped_bytes, 4 * kHugePage);
  // The bytes are the file's, unchanged.
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok());
  const std::span<const uint8_t> bytes = (*file)->bytes();
  for (size_t i = 0; i < size; i += 4093) ASSERT_EQ(bytes[i], i % 251) << "at byte " << i;
}

}  // namespace
}  // namespace lorashare
