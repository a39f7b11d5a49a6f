// PageBuffer: anonymous memory straight from mmap, for the runtime's large
// scratch (activation slots, KV caches). Page-aligned, optionally in 2 MiB
// pages, unmapped on destruction, and made resident ahead of use by Populate.
//
// Why not touch pages as they are first written: each first touch is a page
// fault, and on the development VM one costs about 16 us. Making 14 MiB
// resident took 56-60 ms by touching, 4.3 ms with MADV_POPULATE_WRITE (one
// system call, Linux 5.14) and 1.5 ms in 2 MiB pages; a fresh session's first
// prompt used to spend a third of its prefill faulting in its KV cache.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lorashare {

class PageBuffer {
 public:
  PageBuffer() = default;
  // data() is null when the system refuses the memory. `huge_pages` asks for
  // 2 MiB pages (aligned so whole ones fit): fewer faults and TLB entries,
  // but residency then grows 2 MiB at a time.
  static PageBuffer Allocate(size_t bytes, bool huge_pages = false);
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  ~PageBuffer();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Makes the pages holding bytes [offset, offset + bytes) resident and
  // writable now, without a fault each. Best effort: where the kernel lacks
  // MADV_POPULATE_WRITE they fault in on first touch as before.
  void Populate(size_t offset, size_t bytes);

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;  // what munmap gets back
  size_t mapped_ = 0;
};

}  // namespace lorashare
