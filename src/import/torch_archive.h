// TorchArchive: a torch.save checkpoint (zip format) holding a dict of
// tensors, mapped read-only; tensors are zero-copy views into the mapping.
//
// Layout: "<name>/data.pkl" (the pickled dict; tensors refer to storages by
// persistent id), "<name>/data/<key>" (one STORED entry per storage),
// "<name>/byteorder" ("little"), "<name>/version". Only contiguous tensors
// of known dtypes are accepted.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "import/checkpoint.h"

namespace lorashare {

class TorchArchive {
 public:
  static Result<TorchArchive> Open(const std::string& path);
  // Parses a whole file's bytes; `keep_alive` owns them and is shared by
  // every TensorRef.
  static Result<TorchArchive> Parse(std::span<const uint8_t> bytes, const std::string& source,
                                    std::shared_ptr<const void> keep_alive);

  // In the dict's order.
  const std::vector<TensorRef>& tensors() const { return tensors_; }
  const TensorRef* Find(std::string_view name) const;

 private:
  std::vector<TensorRef> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace lorashare
