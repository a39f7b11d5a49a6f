#include "runtime/weight.h"

#include <cstring>
#include <new>

#include "format/weight_layout.h"
#include "kernels/convert.h"

namespace lorashare {

void Weight::AlignedDelete::operator()(uint8_t* p) const {
  ::operator delete[](p, std::align_val_t{kPackedSectionAlignment});
}

std::unique_ptr<Weight> Weight::Allocate(DType dtype, uint64_t nbytes) {
  std::unique_ptr<Weight> weight(new Weight);
  weight->dtype_ = dtype;
  weight->nbytes_ = nbytes;
  weight->storage_.reset(
      static_cast<uint8_t*>(::operator new[](nbytes, std::align_val_t{kPackedSectionAlignment})));
  weight->data_ = weight->storage_.get();
  return weight;
}

KernelFormat CanonicalFormat(KernelFormat format, DType stored) {
  return format == KernelFormat::kF32 && stored == DType::kF32 ? KernelFormat::kAsStored : format;
}

std::unique_ptr<Weight> Weight::Make(const WeightSource& source, KernelFormat format,
                                     bool private_copy) {
  const size_t element = DTypeSize(source.dtype);
  const size_t count = source.bytes.size() / element;
  const uint64_t alignment = source.alignment != 0 ? source.alignment : element;
  const bool aligned = reinterpret_cast<uintptr_t>(source.bytes.data()) % alignment == 0;
  format = CanonicalFormat(format, source.dtype);
  if (format == KernelFormat::kAsStored && aligned && !private_copy) {
    std::unique_ptr<Weight> weight(new Weight);
    weight->dtype_ = source.dtype;
    weight->data_ = source.bytes.data();
    weight->nbytes_ = source.bytes.size();
    weight->owner_ = source.owner;
    return weight;
  }
  std::unique_ptr<Weight> weight;
  if (format == KernelFormat::kAsStored) {
    weight = Allocate(source.dtype, source.bytes.size());
    std::memcpy(weight->mutable_data(), source.bytes.data(), source.bytes.size());
  } else {
    weight = Allocate(DType::kF32, count * sizeof(float));
    auto* out = reinterpret_cast<float*>(weight->mutable_data());
    // The scalar conversion reads through memcpy: the path for unaligned sources.
    if (reinterpret_cast<uintptr_t>(source.bytes.data()) % element == 0) {
      ConvertToF32(source.dtype, source.bytes.data(), count, out);
    } else {
      ConvertToF32Reference(source.dtype, source.bytes.data(), count, out);
    }
  }
  if (source.mapping != nullptr) {
    source.mapping->ReleasePages(source.bytes.data() - source.mapping->bytes().data(),
                                 source.bytes.size());
  }
  return weight;
}

}  // namespace lorashare
