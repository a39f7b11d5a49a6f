// GPT-2's ByteLevel alphabet: each byte is written as a printable character
// (printable Latin-1 stands for itself, the other bytes for U+0100 + n in
// order), so that vocabularies of byte strings can be stored as text.
// Byte-level BPE vocabularies (tokenizer.json, GGUF gpt2) are mapped back to
// raw bytes at load, so encoding and decoding work on bytes directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lorashare {

// nullopt when `text` is not valid UTF-8 or holds a character outside the alphabet.
std::optional<std::string> ByteLevelToBytes(std::string_view text);

}  // namespace lorashare
