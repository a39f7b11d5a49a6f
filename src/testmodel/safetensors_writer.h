// Writes named tensors as a .safetensors file, laid out as Hugging Face's
// writer does: entries sorted by dtype (widest first) then name, data packed
// back to back in that order, the JSON header padded with spaces to a multiple
// of 8 bytes so the data section starts aligned.
#pragma once

#include <map>
#include <span>
#include <string>

#include "base/result.h"
#include "import/checkpoint.h"

namespace lorashare {

// Each tensor's bytes must match its shape and dtype. Written via OutputFile.
Status WriteSafetensors(const std::string& path, std::span<const TensorRef> tensors,
                        const std::map<std::string, std::string>& metadata = {});

}  // namespace lorashare
