// Fuzzes the GGUF vocabulary loader (tokenizer.ggml.* metadata).
#include "tokenizer_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Content detection sends only files starting with "GGUF" to this loader.
  if (size < 4 || std::string_view(reinterpret_cast<const char*>(data), 4) != "GGUF") return 0;
  lorashare::fuzz::LoadAndUse("vocab.gguf", data, size);
  return 0;
}
