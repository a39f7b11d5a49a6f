#include "llm/generator.h"

#include <algorithm>
#include <chrono>

#include "llm/sampler.h"

namespace lorashare {
namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsBetween(Clock::time_point begin, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - begin).count();
}

double PerSecond(int64_t count, double milliseconds) {
  return milliseconds > 0 ? count * 1000.0 / milliseconds : 0.0;
}

// Checks that the prompt fits and returns how many tokens to generate.
Result<int32_t> TokenBudget(const Session& session, int32_t prompt_tokens,
                            const GenerationConfig& config) {
  if (config.seq_len == 0 || config.seq_len < -1) {
    return MakeError(ErrorCode::kInvalidArgument, "seq_len {} is invalid: expected > 0 or -1",
                     config.seq_len);
  }
  if (config.max_new_tokens == 0 || config.max_new_tokens < -1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "max_new_tokens {} is invalid: expected > 0 or -1", config.max_new_tokens);
  }
  int32_t context = session.capacity();
  int64_t occupied = static_cast<int64_t>(session.position()) + prompt_tokens;
  if (occupied >= context) {
    return MakeError(ErrorCode::kOutOfRange,
                     "prompt of {} tokens does not fit: the context holds {} tokens and {} are "
                     "taken",
                     prompt_tokens, context, session.position());
  }
  int32_t budget = ResolveMaxNewTokens(context, static_cast<int32_t>(occupied), config.seq_len,
                                       config.max_new_tokens);
  if (budget == 0) {
    return MakeError(ErrorCode::kOutOfRange,
                     "seq_len {} leaves no room to generate after {} tokens of prompt and context",
                     config.seq_len, occupied);
  }
  return budget;
}

bool IsEos(const TokenizerFacts& facts, int32_t token) {
  return std::find(facts.eos_ids.begin(), facts.eos_ids.end(), token) != facts.eos_ids.end();
}

}  // namespace

int32_t ResolveMaxNewTokens(int32_t context, int32_t occupied, int32_t seq_len,
                            int32_t max_new_tokens) {
  int64_t room = static_cast<int64_t>(context) - occupied;
  int64_t result = room;
  if (max_new_tokens != -1) result = std::min<int64_t>(max_new_tokens, room);
  if (seq_len != -1) {
    result = std::min<int64_t>(result, std::min(seq_len, context) - static_cast<int64_t>(occupied));
  }
  return static_cast<int32_t>(std::max<int64_t>(result, 0));
}

TokenizerFacts ChooseTokenizerFacts(const TokenizerFacts& program, const Tokenizer& tokenizer) {
  if (program.bos_id >= 0 || !program.eos_ids.empty()) return program;
  return FactsOf(tokenizer);
}

Result<std::vector<int32_t>> EncodePrompt(const Tokenizer& tokenizer, const TokenizerFacts& facts,
                                          std::string_view prompt) {
  if (prompt.empty()) return MakeError(ErrorCode::kInvalidArgument, "prompt is empty");
  LS_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, tokenizer.Encode(prompt));
  if (facts.bos_id >= 0 && (tokens.empty() || tokens.front() != facts.bos_id)) {
    tokens.insert(tokens.begin(), facts.bos_id);
  }
  if (tokens.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "prompt '{}' encodes to no tokens", prompt);
  }
  return tokens;
}

Result<GenerationStats> Generate(Session& session, const Tokenizer& tokenizer,
                                 const TokenizerFacts& facts, std::string_view prompt,
                                 const GenerationConfig& config, const TextCallback& on_text,
                                 const PhaseCallback& on_phase) {
  Clock::time_point start = Clock::now();
  LS_ASSIGN_OR_RETURN(Sampler sampler, Sampler::Create({.temperature = config.temperature,
                                                        .top_p = config.top_p,
                                                        .seed = config.seed}));
  LS_ASSIGN_OR_RETURN(std::vector<int32_t> prompt_tokens, EncodePrompt(tokenizer, facts, prompt));
  GenerationStats stats;
  stats.prompt_tokens = static_cast<int32_t>(prompt_tokens.size());
  LS_ASSIGN_OR_RETURN(int32_t budget, TokenBudget(session, stats.prompt_tokens, config));
  if (config.echo) on_text(prompt);

  StreamingDecoder decoder(tokenizer);
  // Samples from `logits`, and streams the token's text unless it ends the
  // sequence. Returns the token.
  // Models may pad their vocabulary past the tokenizer's (Qwen3); padding
  // ids have no text, so they are never sampled.
  size_t vocab = static_cast<size_t>(std::max(tokenizer.vocab_size(), 0));
  auto next_token = [&](std::span<const float> logits) -> Result<int32_t> {
    LS_ASSIGN_OR_RETURN(int32_t token,
                        sampler.Sample(logits.first(std::min(logits.size(), vocab))));
    ++stats.generated_tokens;
    stats.stopped_on_eos = IsEos(facts, token);
    if (!stats.stopped_on_eos) {
      LS_ASSIGN_OR_RETURN(std::string text, decoder.Push(token));
      if (!text.empty()) on_text(text);
    }
    return token;
  };

  Clock::time_point prefill_start = Clock::now();
  LS_ASSIGN_OR_RETURN(std::span<const float> logits, session.Forward(prompt_tokens));
  stats.prefill_ms = MillisecondsBetween(prefill_start, Clock::now());
  LS_ASSIGN_OR_RETURN(int32_t token, next_token(logits));
  Clock::time_point first_token = Clock::now();
  stats.time_to_first_token_ms = MillisecondsBetween(start, first_token);
  if (on_phase) on_phase(GenerationPhase::kPrefilled);

  while (!stats.stopped_on_eos && stats.generated_tokens < budget) {
    LS_ASSIGN_OR_RETURN(logits, session.Forward({&token, 1}));
    LS_ASSIGN_OR_RETURN(token, next_token(logits));
  }
  std::string rest = decoder.Flush();
  if (!rest.empty()) on_text(rest);
  stats.decode_ms = MillisecondsBetween(first_token, Clock::now());
  stats.prefill_tokens_per_s = PerSecond(stats.prompt_tokens, stats.prefill_ms);
  stats.decode_tokens_per_s = PerSecond(stats.generated_tokens - 1, stats.decode_ms);
  if (on_phase) on_phase(GenerationPhase::kFinished);
  return stats;
}

}  // namespace lorashare
