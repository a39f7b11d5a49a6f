#include "llm/byte_level.h"

#include <array>
#include <cstdint>

#include "llm/utf8.h"

namespace lorashare {
namespace {

bool StandsForItself(int byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) ||
         (byte >= 0xAE && byte <= 0xFF);
}

// Code point -> byte, -1 outside the alphabet. The alphabet lies below U+0144.
constexpr size_t kAlphabetEnd = 0x144;
std::array<int16_t, kAlphabetEnd> MakeDecodeTable() {
  std::array<int16_t, kAlphabetEnd> table;
  table.fill(-1);
  int next = 256;
  for (int byte = 0; byte < 256; ++byte) table[StandsForItself(byte) ? byte : next++] = byte;
  return table;
}

}  // namespace

std::optional<std::string> ByteLevelToBytes(std::string_view text) {
  static const auto kDecode = MakeDecodeTable();
  if (!IsValidUtf8(text)) return std::nullopt;
  std::string bytes;
  bytes.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    char32_t cp = DecodeUtf8(text, pos);
    if (cp >= kAlphabetEnd || kDecode[cp] < 0) return std::nullopt;
    bytes += static_cast<char>(kDecode[cp]);
  }
  return bytes;
}

}  // namespace lorashare
