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

TEST(ReadIntoPageCache, ReadsEveryByte) {
  testing::TempDir dir;
  const std::string path = dir / "file.bin";
  const std::string content(5 * 1024 * 1024 + 17, 'x');  // more than one read buffer
  std::ofstream(path, std::ios::binary) << content;
  auto bytes = ReadIntoPageCache(path);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  EXPECT_EQ(*bytes, content.size());
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
  auto bytes = ReadIntoPageCache(path);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  EXPECT_EQ(*bytes, 0u);
}

TEST(ReadIntoPageCache, MissingFileIsNamed) {
  testing::TempDir dir;
  auto bytes = ReadIntoPageCache(dir / "absent.ptd");
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(bytes.error().message().find("absent.ptd"), std::string::npos);
}

}  // namespace
}  // namespace lorashare
