// Fuzzes the GGUF reader: any input must give a file or an error, never a
// crash or an out-of-bounds read, and typed getters must stay in bounds.
#include <cstddef>
#include <cstdint>

#include "import/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = lorashare::GgufFile::Parse({data, size}, "fuzz.gguf");
  if (!file.ok()) return 0;
  for (const auto& [key, value] : file->metadata()) {
    (void)file->GetString(key);
    (void)file->GetInt(key);
    (void)file->GetStringArray(key);
    (void)file->GetIntArray(key);
    (void)file->GetFloatArray(key);
  }
  size_t total = 0;
  for (const auto& tensor : file->tensors()) {
    for (uint8_t byte : tensor.data) total += byte;
  }
  return static_cast<int>(total & 0);
}
