// Weight: one tensor as the kernels read it, and how it is made from the
// stored bytes.
//
// When the kernels take the stored element type, the weight is a view into
// the mapped file (zero copies; the page cache shares it between processes).
// Otherwise it is converted once into memory, and the source pages in the
// mapping are released so the tensor is not resident twice. Packed quantized
// blobs (format/weight_layout.h) are always used as stored: in place when
// their start is aligned for the kernels, else copied to aligned memory.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "base/mapped_file.h"
#include "base/result.h"
#include "format/dtype.h"

namespace lorashare {

// The form a kernel wants a tensor in.
enum class KernelFormat : uint8_t {
  kAsStored = 0,  // the stored bytes (matmul f32/bf16/f16, packed blobs, embedding tables)
  kF32 = 1,       // widened to f32 (norm weights; matmul weights of other types)
};

struct WeightSource {
  std::span<const uint8_t> bytes;
  DType dtype = DType::kF32;
  std::shared_ptr<const void> owner;    // keeps `bytes` valid (a mapping)
  const MappedFile* mapping = nullptr;  // set: release these pages after a copy
  // Start alignment the kernels need to use the bytes in place; 0 = the
  // element size (packed blobs need kPackedSectionAlignment).
  uint64_t alignment = 0;
};

class Weight {
 public:
  DType dtype() const { return dtype_; }
  const void* data() const { return data_; }
  uint64_t nbytes() const { return nbytes_; }
  // True for a converted or private copy, false for a view into a mapping.
  bool is_copy() const { return storage_ != nullptr; }

  // A view when the source already is in `format` (and suitably aligned) and
  // `private_copy` is false; otherwise a copy in `format`.
  static std::unique_ptr<Weight> Make(const WeightSource& source, KernelFormat format,
                                      bool private_copy);

 private:
  Weight() = default;
  // `nbytes` of uninitialised memory aligned to kPackedSectionAlignment.
  static std::unique_ptr<Weight> Allocate(DType dtype, uint64_t nbytes);
  uint8_t* mutable_data() { return storage_.get(); }

  DType dtype_ = DType::kF32;
  const void* data_ = nullptr;
  uint64_t nbytes_ = 0;
  std::shared_ptr<const void> owner_;
  struct AlignedDelete {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t[], AlignedDelete> storage_;
};

// A format is redundant when the stored type already is it; using one name
// for both lets two users of a tensor share one cache entry.
KernelFormat CanonicalFormat(KernelFormat format, DType stored);

}  // namespace lorashare
