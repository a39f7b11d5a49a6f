// Fuzzes the SentencePiece .model loader (libsentencepiece's protobuf parser
// behind our checks of its byte pieces).
#include "tokenizer_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || data[0] != 0x0A) return 0;
  lorashare::fuzz::LoadAndUse("spm.model", data, size);
  return 0;
}
