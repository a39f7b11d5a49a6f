// Fuzzes the tiktoken loader (and Tokenizer::Load's format detection) with
// arbitrary tokenizer.model contents: OK or an error, never a crash.
#include "tokenizer_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lorashare::fuzz::LoadAndUse("tokenizer.model", data, size);
  return 0;
}
