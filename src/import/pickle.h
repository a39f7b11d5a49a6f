// Unpickle: the subset of Python's pickle machine that torch.save uses for a
// dict of tensors (protocol 2, and the protocol 4 opcodes newer writers emit).
//
// Nothing is executed: the only callables are torch's tensor rebuild
// functions and collections.OrderedDict, interpreted here. Persistent ids
// ('storage', torch.<T>Storage, key, location, numel) become storage values.
// Values live in one arena and refer to each other by index, so self-referring
// containers cannot leak or recurse; stack, memo and value counts are bounded.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "format/dtype.h"

namespace lorashare {

struct PickleValue {
  enum class Kind : uint8_t {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,    // items: key, value, key, value, ...
    kGlobal,  // text: "module.name"
    kStorage,
    kTensor,  // items: {storage}; number: storage offset; ints: sizes; strides
  };
  Kind kind = Kind::kNone;
  int64_t number = 0;  // kBool, kInt; kStorage: element count
  double real = 0;
  std::string text{};             // kString, kGlobal; kStorage: key
  std::vector<uint32_t> items{};  // indices into the arena
  std::vector<int64_t> ints{};
  std::vector<int64_t> strides{};
  DType dtype = DType::kF32;  // kStorage
};

struct Unpickled {
  std::vector<PickleValue> values;
  uint32_t root = 0;

  const PickleValue& at(uint32_t index) const { return values[index]; }
};

// `source` names the pickle in errors ("model.pth: archive/data.pkl").
Result<Unpickled> Unpickle(std::span<const uint8_t> bytes, const std::string& source);

}  // namespace lorashare
