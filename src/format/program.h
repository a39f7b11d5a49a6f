// .pte program files: lorashare's own format (schema: format/program.fbs).
//
// ProgramSpec is the program as plain C++ data. The exporter builds one and
// WriteProgram() serialises it; ProgramFile::Open() parses and validates a file
// back into a ProgramSpec (every index, arity and segment bound checked), so
// the runtime never touches unchecked flatbuffer data.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"
#include "format/dtype.h"
#include "format/model_config.h"
#include "format/weight_layout.h"

namespace lorashare {

// 3: kQ8Row and kQ4Group in 16-row tiles (2: kQ4Group only; 1: neither).
inline constexpr uint32_t kProgramVersion = 3;

// Instruction set; semantics are documented in format/program.fbs.
enum class OpCode : uint8_t {
  kEmbedding = 0,
  kRmsNorm = 1,
  kLinear = 2,
  kLora = 3,
  kRope = 4,
  kAttention = 5,
  kSwiGlu = 6,
  kAdd = 7,
  kLastToken = 8,
};
std::string_view OpCodeName(OpCode op);

enum class DataRole : uint8_t { kFoundation = 0, kAdapter = 1 };

struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  WeightLayout layout = WeightLayout::kPlain;
  int32_t group_size = 0;
  std::vector<int64_t> shape;
  uint64_t nbytes = 0;
  int32_t segment = -1;    // inline: index into the file's segments
  int32_t data_file = -1;  // external: index into ProgramSpec::data_files
  std::string key;         // external: key in that data file

  bool is_inline() const { return segment >= 0; }
};

// The sizes a data file's own description of `t` (FlatTensor's layout)
// records: the shape of a plain tensor, [padded rows, cols] of a tiled one,
// [nbytes] of a packed blob (u8: the file knows bytes, not layouts).
std::vector<int64_t> StoredSizes(const TensorSpec& t);

struct DataFileSpec {
  std::string name;
  DataRole role = DataRole::kFoundation;
  std::string fingerprint;  // PtdFile::fingerprint() of the file
};

struct InstructionSpec {
  OpCode op = OpCode::kLinear;
  std::vector<int32_t> inputs;  // indices into ProgramSpec::values
  std::vector<int32_t> outputs;
  std::vector<int32_t> tensors;  // indices into ProgramSpec::tensors
  std::vector<int64_t> int_args;
  std::vector<float> float_args;
};

struct ValueSpec {
  std::string name;
  int32_t width = 0;  // elements per token
};

struct AdapterSpec {
  std::string name;
  int32_t rank = 0;
  float alpha = 0;
  float scale = 0;
  bool use_rslora = false;
  std::vector<std::string> targets;
};

struct ProgramSpec {
  std::string producer;
  ModelConfig model;
  TokenizerFacts tokenizer;
  std::vector<ValueSpec> values;
  int32_t input_value = -1;
  int32_t output_value = -1;
  std::vector<InstructionSpec> instructions;
  std::vector<TensorSpec> tensors;
  std::vector<DataFileSpec> data_files;
  std::optional<AdapterSpec> adapter;
};

// Bytes of weights `instruction` reads when it runs on one token, as stored:
// each of its tensors in full, but only one row of an embedding table.
uint64_t DecodeWeightBytes(const ProgramSpec& spec, const InstructionSpec& instruction);

// Writes `spec` to `path` (temp file + rename). `inline_data[i]` holds the
// bytes of segment i; TensorSpec::segment indexes it.
Status WriteProgram(const std::string& path, const ProgramSpec& spec,
                    const std::vector<std::span<const uint8_t>>& inline_data);

class ProgramFile {
 public:
  static Result<std::shared_ptr<const ProgramFile>> Open(const std::string& path);
  // Parses and validates bytes without a file (fuzzing, tests).
  static Result<ProgramSpec> Parse(std::span<const uint8_t> bytes, std::string_view source);

  const std::string& path() const { return mapping_->path(); }
  const ProgramSpec& spec() const { return spec_; }
  // Bytes of an inline tensor (a view into the mapping).
  std::span<const uint8_t> InlineBytes(const TensorSpec& tensor) const;

 private:
  ProgramFile() = default;

  std::shared_ptr<const MappedFile> mapping_;
  ProgramSpec spec_;
  std::vector<std::span<const uint8_t>> segments_;
};

}  // namespace lorashare
