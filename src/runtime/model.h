// Model: a loaded program (.pte) bound to its data files (.ptd).
//
// Loading opens the program and the data files, checks each data file's
// fingerprint against the one the program recorded, and binds every tensor
// through the process-wide WeightCache: a foundation tensor used by several
// loaded models exists once in memory. A Model owns nothing big but its
// adapter tensors; many Sessions (conversations) run on one Model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "format/program.h"

namespace lorashare {

class Session;

struct ModelOptions {
  // Share foundation tensors with other loaded models through the
  // process-wide WeightCache. Off: this model gets private copies (to show
  // what sharing saves).
  bool share_weights = true;
  // Worker threads for kernels; 0 = one per core.
  int threads = 0;
  // Element type of the sessions' KV caches: f32; f16 (half the memory and
  // the bytes attention reads; keys and values rounded to f16); or i8 (about
  // a quarter; int8 with a scale per kv head and position, kernels/attention.h).
  DType kv_type = DType::kF32;
};

class Model {
 public:
  // `data_paths`: every .ptd the program needs (foundation, and the adapter's
  // own .ptd when it has one), in any order.
  static Result<std::shared_ptr<const Model>> Load(const std::string& program_path,
                                                   const std::vector<std::string>& data_paths,
                                                   const ModelOptions& options = {});
  virtual ~Model();

  virtual const ProgramSpec& spec() const = 0;
  // Bytes of tensors that belong to this program alone (inline tensors and
  // tensors from adapter data files): what it costs beyond the foundation.
  virtual uint64_t adapter_bytes() const = 0;
  // Bytes of the KV cache a session of `max_seq_len` tokens allocates.
  virtual uint64_t KvCacheBytes(int32_t max_seq_len) const = 0;
  // The bytes the kernels read for spec().tensors[tensor] (null if no
  // instruction uses it): equal pointers in two models mean one shared copy;
  // a pointer into the .ptd's mapping means the tensor is used in place.
  virtual const void* WeightData(int32_t tensor) const = 0;

  // A new conversation with room for `max_seq_len` tokens (<= max_context).
  virtual Result<std::unique_ptr<Session>> NewSession(int32_t max_seq_len) const = 0;
};

}  // namespace lorashare
