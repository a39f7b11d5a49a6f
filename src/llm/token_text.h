// How SentencePiece-style vocabularies write what is not plain text: U+2581
// for a space, and <0xXX> pieces for single bytes (byte fallback).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lorashare {

inline constexpr std::string_view kSpacePiece = "\xE2\x96\x81";  // U+2581

// "<0x0A>" -> 0x0A; nullopt for anything else.
std::optional<uint8_t> ParseBytePiece(std::string_view text);

// Every occurrence of `from` (non-empty) in `text` replaced by `to`.
std::string ReplaceAll(std::string_view text, std::string_view from, std::string_view to);

}  // namespace lorashare
