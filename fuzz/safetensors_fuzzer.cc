// Fuzzes the safetensors header parser: any input must yield a file whose
// tensors lie inside the input, or an error.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "import/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  auto file = lorashare::SafetensorsFile::Parse(bytes, "fuzz.safetensors", nullptr);
  if (!file.ok()) return 0;
  for (const auto& tensor : file->tensors()) {
    if (tensor.bytes.data() < data || tensor.bytes.data() + tensor.bytes.size() > data + size) {
      abort();
    }
  }
  return 0;
}
