#include "llm/utf8.h"

namespace lorashare {
namespace {

bool IsContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Length of the valid sequence at text[pos], or 0 when it is invalid or cut
// short. `truncated` tells the two apart: the bytes seen so far are a valid
// beginning of a longer sequence.
size_t ValidSequenceAt(std::string_view text, size_t pos, bool* truncated) {
  *truncated = false;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = Utf8SequenceLength(lead);
  if (length == 1) return 0;  // stray continuation byte or 0xF8..0xFF
  // The allowed range of the second byte rules out overlong forms, surrogates
  // and code points above U+10FFFF.
  unsigned char low = 0x80, high = 0xBF;
  if (lead == 0xE0) low = 0xA0;
  if (lead == 0xED) high = 0x9F;
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;
  if (lead < 0xC2 || lead > 0xF4) return 0;
  size_t available = text.size() - pos;
  for (size_t i = 1; i < length; ++i) {
    if (i >= available) {
      *truncated = true;
      return 0;
    }
    unsigned char b = byte(i);
    if (i == 1 ? (b < low || b > high) : !IsContinuation(b)) return 0;
  }
  return length;
}

}  // namespace

size_t Utf8SequenceLength(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF8) return 4;
  return 1;
}

size_t FindInvalidUtf8(std::string_view text) {
  size_t pos = 0;
  bool truncated;
  while (pos < text.size()) {
    // Fast path over ASCII.
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t length = ValidSequenceAt(text, pos, &truncated);
    if (length == 0) return pos;
    pos += length;
  }
  return pos;
}

size_t CompleteUtf8Prefix(std::string_view bytes) {
  // Only the last three bytes can start an unfinished sequence.
  size_t start = bytes.size() > 3 ? bytes.size() - 3 : 0;
  for (size_t pos = start; pos < bytes.size(); ++pos) {
    unsigned char b = static_cast<unsigned char>(bytes[pos]);
    if (IsContinuation(b) || b < 0x80) continue;
    bool truncated;
    if (ValidSequenceAt(bytes, pos, &truncated) == 0 && truncated) return pos;
  }
  return bytes.size();
}

char32_t DecodeUtf8(std::string_view text, size_t& pos) {
  const unsigned char lead = static_cast<unsigned char>(text[pos]);
  size_t length = Utf8SequenceLength(lead);
  if (length > text.size() - pos) length = 1;
  static constexpr unsigned char kLeadMask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  char32_t code_point = lead & kLeadMask[length];
  for (size_t i = 1; i < length; ++i) {
    code_point = (code_point << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  }
  pos += length;
  return code_point;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace lorashare
