// What `run` and `demo` share: loading a model with a session sized for a
// generation, streaming text to stdout, and printing generation stats.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "llm/chat_template.h"
#include "llm/generator.h"
#include "llm/tokenizer.h"
#include "runtime/model.h"
#include "runtime/session.h"

namespace lorashare::tools {

struct LoadedModel {
  std::string program_path;
  std::shared_ptr<const Model> model;
  std::unique_ptr<Session> session;
  double load_ms = 0;  // model and session
};

// Loads `program_path` over `data_paths` and opens a session of
// min(max_context, session_tokens) tokens. Fails with kMismatch when the
// tokenizer has more tokens than the model's vocabulary.
Result<LoadedModel> LoadModelForGeneration(const std::string& program_path,
                                           const std::vector<std::string>& data_paths,
                                           const ModelOptions& options, int32_t session_tokens,
                                           const Tokenizer& tokenizer);

// Adds --kv-type (f32, f16 or i8: the KV cache's element type, see
// ModelOptions::kv_type) to `cmd`, or an option of another `name` taking the
// same values. `kv_type` must outlive the command.
CLI::Option* AddKvTypeOption(CLI::App* cmd, DType* kv_type, const std::string& name = "--kv-type",
                             const std::string& description =
                                 "KV cache element type: f32, f16 (half the cache memory) or i8 "
                                 "(int8 with a scale per kv head and position: 53% of f16's "
                                 "memory at a head size of 64)");

// The chat template the tokenizer's special tokens call for;
// kInvalidArgument when they call for none.
Result<ChatTemplateKind> ChatTemplateFor(const Tokenizer& tokenizer, std::string_view path);

// Writes generated text to stdout as it comes, flushing each piece, and
// remembers whether the cursor is at the start of a line.
class TextPrinter {
 public:
  void Print(std::string_view text);
  // Ends the current line unless it is empty.
  void EndLine();
  TextCallback callback() {
    return [this](std::string_view text) { Print(text); };
  }

 private:
  bool at_line_start_ = true;
};

// Prints token counts, load time, time to first token, prefill and decode
// rates, one line each.
void PrintGenerationStats(std::FILE* out, const GenerationStats& stats);

}  // namespace lorashare::tools
