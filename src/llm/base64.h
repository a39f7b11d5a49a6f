// Strict base64 (RFC 4648, with padding) for tiktoken vocabulary lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lorashare {

// nullopt when `text` is not canonical padded base64.
std::optional<std::string> DecodeBase64(std::string_view text);
std::string EncodeBase64(std::string_view bytes);

}  // namespace lorashare
