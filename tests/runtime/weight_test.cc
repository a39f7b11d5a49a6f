// Weight and WeightCache on their own: views versus converted copies, the
// release of a converted tensor's source pages, and the cache's sharing and
// freeing of entries.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "base/output_file.h"
#include "format/weight_layout.h"
#include "runtime/weight.h"
#include "runtime/weight_cache.h"

namespace lorashare {
namespace {

// Whether the page holding `address` is mapped in this process's page table
// (bit 63 of its /proc/self/pagemap entry), independent of the page cache.
bool PagePresent(const void* address) {
  const int fd = ::open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0) return false;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t entry = 0;
  const off_t offset = static_cast<off_t>(reinterpret_cast<uintptr_t>(address) / page * 8);
  const bool read = ::pread(fd, &entry, sizeof(entry), offset) == sizeof(entry);
  ::close(fd);
  return read && (entry >> 63) != 0;
}

class WeightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("lorashare_weight_" + std::to_string(::getpid()) + ".bin"))
                .string();
    // 64 pages of f64 values 0, 1, 2, ... after one page of padding.
    values_.resize(64 * 4096 / 8);
    for (size_t i = 0; i < values_.size(); ++i) values_[i] = static_cast<double>(i);
    std::string bytes(4096, '\0');
    bytes.append(reinterpret_cast<const char*>(values_.data()), values_.size() * 8);
    ASSERT_TRUE(WriteWholeFile(path_, bytes).ok());
    mapping_ = MappedFile::Open(path_).value();
  }
  void TearDown() override { std::filesystem::remove(path_); }

  WeightSource Source(DType dtype) const {
    return {mapping_->bytes().subspan(4096), dtype, mapping_, mapping_.get()};
  }

  std::string path_;
  std::vector<double> values_;
  std::shared_ptr<const MappedFile> mapping_;
};

TEST_F(WeightTest, ConvertedCopyReleasesSourcePages) {
  const auto source = Source(DType::kF64);
  // Volatile reads fault every page in.
  const volatile uint8_t* bytes = source.bytes.data();
  uint32_t sum = 0;
  for (size_t i = 0; i < source.bytes.size(); i += 4096) sum += bytes[i];
  EXPECT_EQ(sum, 0u);  // every page starts with the low byte of a value that is a multiple of 512
  ASSERT_TRUE(PagePresent(source.bytes.data() + 8192));

  const auto weight = Weight::Make(source, KernelFormat::kF32, false);
  ASSERT_TRUE(weight->is_copy());
  EXPECT_EQ(weight->dtype(), DType::kF32);
  const auto* floats = static_cast<const float*>(weight->data());
  for (size_t i = 0; i < values_.size(); ++i) ASSERT_EQ(floats[i], static_cast<float>(values_[i]));
  for (size_t i = 0; i < source.bytes.size(); i += 4096) {
    EXPECT_FALSE(PagePresent(source.bytes.data() + i)) << "page " << i / 4096;
  }
}

TEST_F(WeightTest, StoredFormatIsAViewUnlessPrivate) {
  const auto source = Source(DType::kF32);
  const auto view = Weight::Make(source, KernelFormat::kF32, false);
  EXPECT_FALSE(view->is_copy());
  EXPECT_EQ(view->data(), source.bytes.data());
  const auto copy = Weight::Make(source, KernelFormat::kAsStored, true);
  EXPECT_TRUE(copy->is_copy());
  EXPECT_NE(copy->data(), source.bytes.data());
  EXPECT_EQ(std::memcmp(copy->data(), source.bytes.data(), source.bytes.size()), 0);
  // A misaligned f32 source is copied rather than handed to the kernels.
  WeightSource odd{source.bytes.subspan(2, 64), DType::kF32, mapping_, nullptr};
  EXPECT_TRUE(Weight::Make(odd, KernelFormat::kAsStored, false)->is_copy());
}

// Packed blobs need a 64-byte aligned start to be used in place; otherwise
// they are copied once into aligned memory, byte for byte.
TEST_F(WeightTest, PackedBlobIsAViewOnlyWhenAligned) {
  const auto page = mapping_->bytes().subspan(4096, 4096);
  const WeightSource aligned{page, DType::kU8, mapping_, nullptr, kPackedSectionAlignment};
  const auto view = Weight::Make(aligned, KernelFormat::kAsStored, false);
  EXPECT_FALSE(view->is_copy());
  EXPECT_EQ(view->data(), page.data());
  for (size_t shift : {4, 8, 32}) {
    const WeightSource odd{page.subspan(shift, 1024), DType::kU8, mapping_, nullptr,
                           kPackedSectionAlignment};
    const auto copy = Weight::Make(odd, KernelFormat::kAsStored, false);
    EXPECT_TRUE(copy->is_copy()) << shift;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(copy->data()) % kPackedSectionAlignment, 0u);
    EXPECT_EQ(std::memcmp(copy->data(), odd.bytes.data(), odd.bytes.size()), 0);
  }
}

TEST_F(WeightTest, CacheSharesPerFileKeyAndFormatAndFreesWithLastUser) {
  WeightCache& cache = WeightCache::Global();
  const size_t before = cache.size();
  // A second, separate mapping of the same file: same identity.
  const auto other_mapping = MappedFile::Open(path_).value();
  WeightSource other{other_mapping->bytes().subspan(4096), DType::kF32, other_mapping,
                     other_mapping.get()};
  auto a = cache.Get(Source(DType::kF32), "k", KernelFormat::kAsStored);
  auto b = cache.Get(other, "k", KernelFormat::kF32);  // same as stored: same entry
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->data(), mapping_->bytes().data() + 4096);
  auto c = cache.Get(Source(DType::kF32), "other key", KernelFormat::kAsStored);
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(cache.size(), before + 2);
  a.reset();
  EXPECT_EQ(cache.size(), before + 2);  // b still holds it
  b.reset();
  c.reset();
  EXPECT_EQ(cache.size(), before);
}

}  // namespace
}  // namespace lorashare
