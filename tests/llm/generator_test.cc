#include "llm/generator.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace lorashare {
namespace {

// Token ids of the fake vocabulary: letters are themselves (id = byte), a
// few ids carry the halves of multi-byte characters, and two are specials.
constexpr int32_t kVocab = 200;
constexpr int32_t kPaddedVocab = 256;  // the model's vocabulary: kVocab plus padding
constexpr int32_t kBos = 1;
constexpr int32_t kEos = 2;
constexpr int32_t kEAcuteHead = 3;  // "\xC3", the first byte of "é"
constexpr int32_t kEAcuteTail = 4;  // "\xA9"
constexpr int32_t kEuroHead = 5;    // "\xE2", the first byte of "€"
constexpr int32_t kEuroTail = 6;    // "\x82\xAC"

std::string BytesOf(int32_t id) {
  switch (id) {
    case kBos:
      return "<s>";
    case kEos:
      return "</s>";
    case kEAcuteHead:
      return "\xC3";
    case kEAcuteTail:
      return "\xA9";
    case kEuroHead:
      return "\xE2";
    case kEuroTail:
      return "\x82\xAC";
    default:
      return std::string(1, static_cast<char>(id));
  }
}

// One token per ASCII byte; "<s>" in the text is BOS.
class FakeTokenizer : public Tokenizer {
 public:
  Result<std::vector<int32_t>> Encode(std::string_view text, bool parse_specials) const override {
    std::vector<int32_t> ids;
    while (!text.empty()) {
      if (parse_specials && text.starts_with("<s>")) {
        ids.push_back(kBos);
        text.remove_prefix(3);
        continue;
      }
      auto byte = static_cast<unsigned char>(text[0]);
      if (byte < 32 || byte >= 127) return MakeError(ErrorCode::kInvalidArgument, "non-ASCII");
      ids.push_back(byte);
      text.remove_prefix(1);
    }
    return ids;
  }
  Result<std::string> Decode(std::span<const int32_t> ids) const override {
    std::string text;
    for (int32_t id : ids) text += BytesOf(id);
    return text;
  }
  int32_t vocab_size() const override { return kVocab; }
  std::optional<int32_t> bos_id() const override { return kBos; }
  std::vector<int32_t> eos_ids() const override { return {kEos}; }
  std::optional<int32_t> SpecialTokenId(std::string_view) const override { return std::nullopt; }
  Result<std::string> TokenBytes(int32_t id) const override { return BytesOf(id); }
};

// A scalar reference "model": it spells kCycle over and over (so multi-byte
// characters arrive split over two tokens, in order), entering the cycle
// after a prompt token at a place set by the position. The winner gets logit
// +5, its neighbour +4, so sampling at a high temperature differs from greedy.
constexpr int32_t kCycle[] = {'h',       'e',       'l', 'p', ' ', kEAcuteHead, kEAcuteTail,
                              kEuroHead, kEuroTail, 'x', 'y', 'z', '!'};
constexpr int32_t kCycleLength = sizeof(kCycle) / sizeof(kCycle[0]);

int32_t NextOf(int32_t position, int32_t last) {
  for (int32_t i = 0; i < kCycleLength; ++i) {
    if (kCycle[i] == last) return kCycle[(i + 1) % kCycleLength];
  }
  int32_t entry = position % kCycleLength;
  bool is_tail = kCycle[entry] == kEAcuteTail || kCycle[entry] == kEuroTail;
  return kCycle[is_tail ? entry + 1 : entry];
}

class FakeSession : public Session {
 public:
  FakeSession(int32_t capacity, int32_t eos_at = -1, int32_t padded_peak = -1)
      : capacity_(capacity), eos_at_(eos_at), padded_peak_(padded_peak) {}

  Result<std::span<const float>> Forward(std::span<const int32_t> tokens) override {
    if (tokens.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty");
    if (position_ + static_cast<int32_t>(tokens.size()) > capacity_) {
      return MakeError(ErrorCode::kOutOfRange, "past capacity");
    }
    calls_.push_back(static_cast<int32_t>(tokens.size()));
    fed_.insert(fed_.end(), tokens.begin(), tokens.end());
    position_ += static_cast<int32_t>(tokens.size());
    int32_t next = position_ == eos_at_ ? kEos : NextOf(position_, tokens.back());
    logits_.assign(kPaddedVocab, 0.0f);
    logits_[next] = 5.0f;
    logits_[(next + 1) % kVocab] = 4.0f;
    if (padded_peak_ >= 0) logits_[padded_peak_] = 9.0f;
    return std::span<const float>(logits_);
  }
  int32_t position() const override { return position_; }
  int32_t capacity() const override { return capacity_; }
  void Reset() override { position_ = 0; }
  void SetProfiling(bool) override {}
  StepProfile Profile() const override { return {}; }

  const std::vector<int32_t>& fed() const { return fed_; }
  const std::vector<int32_t>& calls() const { return calls_; }

 private:
  int32_t capacity_;
  int32_t eos_at_;
  int32_t padded_peak_;
  int32_t position_ = 0;
  std::vector<float> logits_;
  std::vector<int32_t> fed_;
  std::vector<int32_t> calls_;
};

struct Output {
  std::vector<std::string> pieces;
  std::string text() const {
    std::string all;
    for (const auto& piece : pieces) all += piece;
    return all;
  }
};

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t length = byte < 0x80         ? 1
                    : (byte >> 5) == 6  ? 2
                    : (byte >> 4) == 14 ? 3
                    : (byte >> 3) == 30 ? 4
                                        : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 2) return false;
    }
    i += length;
  }
  return true;
}

const TokenizerFacts kFacts{.bos_id = kBos, .eos_ids = {kEos}};

Result<GenerationStats> RunGenerate(
    FakeSession& session, std::string_view prompt, const GenerationConfig& config, Output& output,
    std::vector<std::pair<GenerationPhase, int32_t>>* phases = nullptr) {
  FakeTokenizer tokenizer;
  return Generate(
      session, tokenizer, kFacts, prompt, config,
      [&](std::string_view piece) { output.pieces.emplace_back(piece); },
      [&](GenerationPhase phase) {
        if (phases) phases->push_back({phase, session.position()});
      });
}

// Greedy reference: the tokens the fake model yields after `prompt_ids`.
std::vector<int32_t> ReferenceGreedy(const std::vector<int32_t>& prompt_ids, int32_t count,
                                     int32_t eos_at = -1) {
  std::vector<int32_t> out;
  int32_t position = static_cast<int32_t>(prompt_ids.size());
  int32_t last = prompt_ids.back();
  for (int32_t i = 0; i < count; ++i) {
    int32_t next = position == eos_at ? kEos : NextOf(position, last);
    out.push_back(next);
    if (next == kEos) break;
    last = next;
    ++position;
  }
  return out;
}

std::string TextOf(const std::vector<int32_t>& ids) {
  std::string text;
  for (int32_t id : ids) {
    if (id != kEos) text += BytesOf(id);
  }
  return text;
}

TEST(ResolveMaxNewTokens, FollowsTheReferenceRunner) {
  // Neither set: the rest of the context.
  EXPECT_EQ(ResolveMaxNewTokens(128, 10, -1, -1), 118);
  // Only max_new_tokens: capped by the room left.
  EXPECT_EQ(ResolveMaxNewTokens(128, 10, -1, 50), 50);
  EXPECT_EQ(ResolveMaxNewTokens(128, 10, -1, 500), 118);
  // Only seq_len: seq_len counts the prompt; capped by the context.
  EXPECT_EQ(ResolveMaxNewTokens(128, 10, 64, -1), 54);
  EXPECT_EQ(ResolveMaxNewTokens(128, 10, 1000, -1), 118);
  // Both: the smaller.
  EXPECT_EQ(ResolveMaxNewTokens(128, 10, 64, 20), 20);
  EXPECT_EQ(ResolveMaxNewTokens(128, 10, 20, 64), 10);
  // Never negative.
  EXPECT_EQ(ResolveMaxNewTokens(128, 10, 5, -1), 0);
  EXPECT_EQ(ResolveMaxNewTokens(128, 130, -1, -1), 0);
}

TEST(Generate, GreedyMatchesReferenceAndFeedsTokensBack) {
  FakeSession session(64);
  Output output;
  std::vector<std::pair<GenerationPhase, int32_t>> phases;
  auto stats = RunGenerate(session, "abc", {.max_new_tokens = 12}, output, &phases);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  std::vector<int32_t> prompt_ids = {kBos, 'a', 'b', 'c'};
  std::vector<int32_t> expected = ReferenceGreedy(prompt_ids, 12);
  ASSERT_EQ(expected.size(), 12u);
  EXPECT_EQ(output.text(), TextOf(expected));
  EXPECT_EQ(stats->prompt_tokens, 4);
  EXPECT_EQ(stats->generated_tokens, 12);
  EXPECT_FALSE(stats->stopped_on_eos);
  // One prefill call, then one call per generated token except the last.
  std::vector<int32_t> fed = prompt_ids;
  fed.insert(fed.end(), expected.begin(), expected.end() - 1);
  EXPECT_EQ(session.fed(), fed);
  ASSERT_EQ(session.calls().size(), 12u);
  EXPECT_EQ(session.calls()[0], 4);
  // Phases: after prefill (prompt in the cache), after the last token.
  ASSERT_EQ(phases.size(), 2u);
  EXPECT_EQ(phases[0], std::make_pair(GenerationPhase::kPrefilled, 4));
  EXPECT_EQ(phases[1], std::make_pair(GenerationPhase::kFinished, 4 + 11));
  EXPECT_GE(stats->time_to_first_token_ms, stats->prefill_ms);
}

TEST(Generate, PiecesNeverSplitUtf8Characters) {
  FakeSession session(200);
  Output output;
  auto stats = RunGenerate(session, "q", {.max_new_tokens = 100}, output);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  ASSERT_GT(output.pieces.size(), 10u);
  for (const std::string& piece : output.pieces) {
    EXPECT_FALSE(piece.empty());
    EXPECT_TRUE(IsValidUtf8(piece)) << "split character in piece of " << piece.size() << " bytes";
  }
  EXPECT_NE(output.text().find("é"), std::string::npos);
  EXPECT_NE(output.text().find("€"), std::string::npos);
}

TEST(Generate, UnfinishedCharacterAtTheEndIsFlushed) {
  // Budget chosen so the last token is the first half of a character.
  std::vector<int32_t> prompt_ids = {kBos, 'q'};
  for (int32_t count = 1; count < 20; ++count) {
    std::vector<int32_t> expected = ReferenceGreedy(prompt_ids, count);
    if (expected.back() != kEAcuteHead && expected.back() != kEuroHead) continue;
    FakeSession session(64);
    Output output;
    auto stats = RunGenerate(session, "q", {.max_new_tokens = count}, output);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(output.text(), TextOf(expected));
    return;
  }
  FAIL() << "no budget ends inside a character";
}

TEST(Generate, StopsOnEos) {
  FakeSession session(64, /*eos_at=*/9);
  Output output;
  auto stats = RunGenerate(session, "abc", {}, output);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  std::vector<int32_t> expected = ReferenceGreedy({kBos, 'a', 'b', 'c'}, 100, 9);
  ASSERT_EQ(expected.back(), kEos);
  EXPECT_TRUE(stats->stopped_on_eos);
  EXPECT_EQ(stats->generated_tokens, static_cast<int32_t>(expected.size()));
  EXPECT_EQ(output.text(), TextOf(expected));
  EXPECT_EQ(output.text().find("</s>"), std::string::npos);
}

TEST(Generate, SeqLenCountsThePromptAndCapacityCapsIt) {
  {
    FakeSession session(64);
    Output output;
    auto stats = RunGenerate(session, "abc", {.seq_len = 10}, output);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->generated_tokens, 6);  // 10 - 4 prompt tokens
  }
  {
    FakeSession session(16);
    Output output;
    auto stats = RunGenerate(session, "abc", {.seq_len = 100}, output);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->generated_tokens, 12);  // 16 - 4
    EXPECT_LE(session.position(), 16);
  }
}

TEST(Generate, EchoStreamsThePromptFirst) {
  FakeSession session(64);
  Output output;
  auto stats = RunGenerate(session, "abc", {.max_new_tokens = 3, .echo = true}, output);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(output.pieces.front(), "abc");
  EXPECT_EQ(output.text(), "abc" + TextOf(ReferenceGreedy({kBos, 'a', 'b', 'c'}, 3)));
}

TEST(Generate, BosIsNotDoubled) {
  FakeSession session(64);
  Output output;
  ASSERT_TRUE(RunGenerate(session, "<s>ab", {.max_new_tokens = 1}, output).ok());
  EXPECT_EQ(session.fed(), (std::vector<int32_t>{kBos, 'a', 'b'}));
}

TEST(Generate, SameSeedSameTextAtHighTemperature) {
  auto sample = [](uint64_t seed) {
    FakeSession session(200);
    Output output;
    auto stats = RunGenerate(session, "abc",
                             {.max_new_tokens = 150, .temperature = 3.0f, .seed = seed}, output);
    EXPECT_TRUE(stats.ok());
    return session.fed();
  };
  std::vector<int32_t> first = sample(11);
  EXPECT_EQ(first, sample(11));
  EXPECT_NE(first, sample(12));
}

TEST(Generate, BadInputIsAnError) {
  struct Case {
    std::string prompt;
    GenerationConfig config;
    int32_t capacity;
    ErrorCode code;
    std::string message;
  };
  std::vector<Case> cases = {
      {"", {}, 64, ErrorCode::kInvalidArgument, "prompt is empty"},
      {std::string(70, 'a'), {}, 64, ErrorCode::kOutOfRange, "prompt of 71 tokens does not fit"},
      {"abc", {}, 4, ErrorCode::kOutOfRange, "does not fit"},
      {"abcdef", {.seq_len = 5}, 64, ErrorCode::kOutOfRange, "seq_len 5 leaves no room"},
      {"abc", {.seq_len = -5}, 64, ErrorCode::kInvalidArgument, "seq_len -5"},
      {"abc", {.max_new_tokens = 0}, 64, ErrorCode::kInvalidArgument, "max_new_tokens 0"},
      {"abc", {.temperature = -1.0f}, 64, ErrorCode::kInvalidArgument, "temperature"},
      {"ab\xC3\xA9", {}, 64, ErrorCode::kInvalidArgument, "non-ASCII"},
  };
  for (const Case& c : cases) {
    FakeSession session(c.capacity);
    Output output;
    auto stats = RunGenerate(session, c.prompt, c.config, output);
    ASSERT_FALSE(stats.ok()) << c.message;
    EXPECT_EQ(stats.error().code(), c.code) << stats.error().message();
    EXPECT_NE(stats.error().message().find(c.message), std::string::npos)
        << stats.error().message();
    EXPECT_TRUE(session.fed().empty());
    EXPECT_TRUE(output.pieces.empty());
  }
}

TEST(Generate, NeverSamplesVocabularyPadding) {
  FakeSession session(64, -1, /*padded_peak=*/230);
  Output output;
  auto stats = RunGenerate(session, "abc", {.max_new_tokens = 5}, output);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(output.text(), TextOf(ReferenceGreedy({kBos, 'a', 'b', 'c'}, 5)));
}

TEST(ChooseTokenizerFacts, ProgramFactsWin) {
  FakeTokenizer tokenizer;
  TokenizerFacts program{.bos_id = 7, .eos_ids = {8, 9}};
  TokenizerFacts chosen = ChooseTokenizerFacts(program, tokenizer);
  EXPECT_EQ(chosen.bos_id, 7);
  EXPECT_EQ(chosen.eos_ids, (std::vector<int32_t>{8, 9}));
  TokenizerFacts fallback = ChooseTokenizerFacts({}, tokenizer);
  EXPECT_EQ(fallback.bos_id, kBos);
  EXPECT_EQ(fallback.eos_ids, (std::vector<int32_t>{kEos}));
}

}  // namespace
}  // namespace lorashare
