// Fuzzes the Hugging Face tokenizer.json loader with arbitrary JSON text.
#include "tokenizer_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Content detection sends only text starting with '{' to the JSON loader.
  if (size == 0 || data[0] != '{') return 0;
  lorashare::fuzz::LoadAndUse("tokenizer.json", data, size);
  return 0;
}
