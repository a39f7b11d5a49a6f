// UTF-8 helpers for tokenizers: validating user text, walking characters and
// holding back a character that a token boundary split in two.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lorashare {

// Length of the sequence that `lead` starts (1 for ASCII and for bytes that
// cannot start a sequence, so walking invalid text always advances).
size_t Utf8SequenceLength(unsigned char lead);

// Offset of the first invalid byte, or text.size() when the text is valid
// UTF-8 (shortest form, no surrogates, at most U+10FFFF).
size_t FindInvalidUtf8(std::string_view text);
inline bool IsValidUtf8(std::string_view text) { return FindInvalidUtf8(text) == text.size(); }

// Length of the longest prefix of `bytes` that does not end inside an
// unfinished (but so far valid) UTF-8 sequence. Invalid bytes count as complete:
// waiting longer cannot make them valid.
size_t CompleteUtf8Prefix(std::string_view bytes);

// Decodes the character at `pos` of valid UTF-8 and advances `pos` past it.
char32_t DecodeUtf8(std::string_view text, size_t& pos);

void AppendUtf8(char32_t code_point, std::string& out);

}  // namespace lorashare
