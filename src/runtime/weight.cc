#include "runtime/weight.h"

#include <cstring>

#include "kernels/convert.h"

namespace lorashare {

KernelFormat CanonicalFormat(KernelFormat format, DType stored) {
  return format == KernelFormat::kF32 && stored == DType::kF32 ? KernelFormat::kAsStored : format;
}

std::unique_ptr<Weight> Weight::Make(const WeightSource& source, KernelFormat format,
                                     bool private_copy) {
  std::unique_ptr<Weight> weight(new Weight);
  const size_t element = DTypeSize(source.dtype);
  const size_t count = source.bytes.size() / element;
  const bool aligned = reinterpret_cast<uintptr_t>(source.bytes.data()) % element == 0;
  format = CanonicalFormat(format, source.dtype);
  if (format == KernelFormat::kAsStored && aligned && !private_copy) {
    weight->dtype_ = source.dtype;
    weight->data_ = source.bytes.data();
    weight->nbytes_ = source.bytes.size();
    weight->owner_ = source.owner;
    return weight;
  }
  if (format == KernelFormat::kAsStored) {
    weight->dtype_ = source.dtype;
    weight->nbytes_ = source.bytes.size();
    weight->storage_ = std::make_unique_for_overwrite<uint8_t[]>(weight->nbytes_);
    std::memcpy(weight->storage_.get(), source.bytes.data(), weight->nbytes_);
  } else {
    weight->dtype_ = DType::kF32;
    weight->nbytes_ = count * sizeof(float);
    weight->storage_ = std::make_unique_for_overwrite<uint8_t[]>(weight->nbytes_);
    auto* out = reinterpret_cast<float*>(weight->storage_.get());
    // The scalar conversion reads through memcpy: the path for unaligned sources.
    if (aligned) {
      ConvertToF32(source.dtype, source.bytes.data(), count, out);
    } else {
      ConvertToF32Reference(source.dtype, source.bytes.data(), count, out);
    }
  }
  weight->data_ = weight->storage_.get();
  if (source.mapping != nullptr) {
    source.mapping->ReleasePages(source.bytes.data() - source.mapping->bytes().data(),
                                 source.bytes.size());
  }
  return weight;
}

}  // namespace lorashare
