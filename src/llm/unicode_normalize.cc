#include "llm/unicode_normalize.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cstdint>

namespace lorashare {

Result<std::string> NormalizeNfc(std::string_view text) {
  // ASCII is always in NFC; most input is, so skip ICU for it.
  if (std::all_of(text.begin(), text.end(), [](char c) { return (c & 0x80) == 0; })) {
    return std::string(text);
  }
  if (text.size() > INT32_MAX) {
    return MakeError(ErrorCode::kOutOfRange, "text of {} bytes is too long to normalize",
                     text.size());
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) {
    return MakeError(ErrorCode::kInternal, "ICU NFC normalizer unavailable: {}",
                     u_errorName(status));
  }
  icu::UnicodeString source = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  if (nfc->isNormalized(source, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  icu::UnicodeString normalized = nfc->normalize(source, status);
  if (U_FAILURE(status)) {
    return MakeError(ErrorCode::kInternal, "ICU NFC normalization failed: {}", u_errorName(status));
  }
  std::string out;
  normalized.toUTF8String(out);
  return out;
}

}  // namespace lorashare
