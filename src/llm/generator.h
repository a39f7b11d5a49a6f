// Generator: turns a prompt into text with a model Session.
//
// The prompt is encoded (BOS first when the model wants one), run through the
// session in one batched pass (prefill), then tokens are sampled and fed back
// one at a time (decode) until an end-of-sequence token or the token budget.
// Text streams out in pieces that never split a UTF-8 character. The token
// budget follows ExecuTorch's text runner: see ResolveMaxNewTokens().
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "format/model_config.h"
#include "llm/tokenizer.h"
#include "runtime/session.h"

namespace lorashare {

struct GenerationConfig {
  // Prompt plus generated tokens at most; -1: no limit but the context.
  int32_t seq_len = -1;
  // Generated tokens at most; -1: no limit but the context.
  int32_t max_new_tokens = -1;
  float temperature = 0.0f;  // 0: greedy
  float top_p = 1.0f;
  uint64_t seed = 0;
  bool echo = false;  // stream the prompt's text before the generated text
};

struct GenerationStats {
  int32_t prompt_tokens = 0;     // including BOS
  int32_t generated_tokens = 0;  // including a final end-of-sequence token
  bool stopped_on_eos = false;
  double load_ms = 0;                 // set by whoever loaded the model; Generate() leaves it
  double time_to_first_token_ms = 0;  // from the call to the first sampled token
  double prefill_ms = 0;
  double decode_ms = 0;  // from the first sampled token to the last
  double prefill_tokens_per_s = 0;
  double decode_tokens_per_s = 0;  // tokens after the first, over decode_ms
};

enum class GenerationPhase {
  kPrefilled,  // the prompt is in the KV cache and the first token is out
  kFinished,   // the last token is out
};

using TextCallback = std::function<void(std::string_view)>;
using PhaseCallback = std::function<void(GenerationPhase)>;

// How many tokens to generate when `occupied` of `context` positions are
// taken, as ExecuTorch's resolve_max_new_tokens: with neither limit set
// (-1), context - occupied; with max_new_tokens, at most that; with seq_len,
// min(seq_len, context) - occupied; with both, the smaller; never below 0.
int32_t ResolveMaxNewTokens(int32_t context, int32_t occupied, int32_t seq_len,
                            int32_t max_new_tokens);

// The bos/eos ids to use: those the program recorded, else the tokenizer's.
TokenizerFacts ChooseTokenizerFacts(const TokenizerFacts& program, const Tokenizer& tokenizer);

// Encodes a prompt (special tokens written in it are recognised) and puts
// `facts.bos_id` first unless the text already starts with it. An empty
// prompt is an error.
Result<std::vector<int32_t>> EncodePrompt(const Tokenizer& tokenizer, const TokenizerFacts& facts,
                                          std::string_view prompt);

// Generates from `prompt` at the session's current position. Fails with
// kOutOfRange when the prompt does not fit the session or leaves no room
// for a new token under `config`, kInvalidArgument for bad config values.
// `on_phase` may be empty.
Result<GenerationStats> Generate(Session& session, const Tokenizer& tokenizer,
                                 const TokenizerFacts& facts, std::string_view prompt,
                                 const GenerationConfig& config, const TextCallback& on_text,
                                 const PhaseCallback& on_phase = {});

}  // namespace lorashare
