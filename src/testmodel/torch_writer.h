// Writes named tensors as a torch.save checkpoint that torch.load reads: a
// zip of STORED entries "archive/data.pkl" (protocol 2 pickle of an
// OrderedDict of tensors, as torch.save writes it), "archive/byteorder"
// ("little"), "archive/data/<i>" (one storage per tensor, data 64-byte
// aligned through local-header padding as torch does) and "archive/version"
// ("3"). ZIP64 records are written when offsets or sizes need them.
#pragma once

#include <span>
#include <string>

#include "base/result.h"
#include "import/checkpoint.h"

namespace lorashare {

struct TorchWriteOptions {
  // Writes ZIP64 records even for a small file (to test readers).
  bool force_zip64 = false;
};

// f32, f16 and bf16 tensors; each tensor's bytes must match its shape.
Status WriteTorchCheckpoint(const std::string& path, std::span<const TensorRef> tensors,
                            const TorchWriteOptions& options = {});

}  // namespace lorashare
