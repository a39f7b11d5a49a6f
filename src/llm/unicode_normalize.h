// Unicode normalization for tokenizers whose normalizer asks for NFC (Qwen2/3).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace lorashare {

// Canonical composition of valid UTF-8 text (ICU).
Result<std::string> NormalizeNfc(std::string_view text);

}  // namespace lorashare
