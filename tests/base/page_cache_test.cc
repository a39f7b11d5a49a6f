#include "base/page_cache.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

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

TEST(ReadIntoPageCache, MissingFileIsNamed) {
  testing::TempDir dir;
  auto bytes = ReadIntoPageCache(dir / "absent.ptd");
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(bytes.error().message().find("absent.ptd"), std::string::npos);
}

}  // namespace
}  // namespace lorashare
