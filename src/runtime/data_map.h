// DataMap: several opened .ptd files merged into one key space.
//
// A program may draw tensors from a foundation file and an adapter file; the
// runtime looks every key up here. The same key may appear in two files only
// with identical bytes (a second copy of a shared tensor), anything else is a
// conflict reported with both file names.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "format/ptd.h"

namespace lorashare {

class DataMap {
 public:
  struct Found {
    const PtdFile* file = nullptr;
    const PtdEntry* entry = nullptr;
  };

  // Adds every key of `file`; fails (and adds nothing) on a conflicting key.
  Status Add(std::shared_ptr<const PtdFile> file);

  // Null `file` when the key is in no file.
  Found Find(std::string_view key) const;

  const std::vector<std::shared_ptr<const PtdFile>>& files() const { return files_; }

 private:
  std::vector<std::shared_ptr<const PtdFile>> files_;
  std::unordered_map<std::string_view, Found> index_;  // views into the files' entries
};

}  // namespace lorashare
