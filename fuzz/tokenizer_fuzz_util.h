// Helpers shared by the tokenizer fuzzers: the loaders read files, so each
// input is written to a per-process temporary file first.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "llm/tokenizer.h"

namespace lorashare::fuzz {

inline std::string WriteInput(const std::string& name, const uint8_t* data, size_t size) {
  std::string path = "/tmp/lorashare-fuzz-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// Loads the input as `name` and, when it loads, exercises the tokenizer on a
// fixed text and its own ids.
inline void LoadAndUse(const std::string& name, const uint8_t* data, size_t size) {
  auto tokenizer = Tokenizer::Load(WriteInput(name, data, size));
  if (!tokenizer.ok()) return;
  auto ids = (*tokenizer)->Encode("Hello <|eot_id|> wörld 123  \n\t🦙");
  if (ids.ok()) (void)(*tokenizer)->Decode(*ids);
  for (int32_t id : {-1, 0, 1, 255, (*tokenizer)->vocab_size(), INT32_MAX}) {
    (void)(*tokenizer)->TokenBytes(id);
  }
}

}  // namespace lorashare::fuzz
