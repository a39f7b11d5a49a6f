#include "base/page_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL
#endif

namespace lorashare {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t PageSize() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)); }

size_t RoundUp(size_t value, size_t to) { return (value + to - 1) / to * to; }

}  // namespace

PageBuffer PageBuffer::Allocate(size_t bytes, bool huge_pages) {
  PageBuffer buffer;
  const size_t size = RoundUp(std::max<size_t>(bytes, 1), PageSize());
  // Huge pages: map a 2 MiB more and use the aligned part.
  const size_t slack = huge_pages ? kHugePage : 0;
  void* p =
      ::mmap(nullptr, size + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return buffer;
  buffer.mapping_ = p;
  buffer.mapped_ = size + slack;
  buffer.data_ = static_cast<uint8_t*>(p);
  if (huge_pages) {
    buffer.data_ = reinterpret_cast<uint8_t*>(RoundUp(reinterpret_cast<uintptr_t>(p), kHugePage));
    ::madvise(buffer.data_, size, MADV_HUGEPAGE);  // advisory: kernels without THP refuse it
  }
  buffer.size_ = bytes;
  return buffer;
}

PageBuffer::PageBuffer(PageBuffer&& other) noexcept { *this = std::move(other); }

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

PageBuffer::~PageBuffer() { Release(); }

void PageBuffer::Release() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapped_);
  mapping_ = nullptr;
  data_ = nullptr;
}

void PageBuffer::Populate(size_t offset, size_t bytes) {
  if (data_ == nullptr || offset >= size_ || bytes == 0) return;
  const size_t page = PageSize();
  const size_t begin = offset / page * page;
  const size_t end = RoundUp(std::min(size_, offset + bytes), page);
  ::madvise(data_ + begin, end - begin, MADV_POPULATE_WRITE);
}

}  // namespace lorashare
