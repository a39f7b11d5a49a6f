#include "testmodel/synthetic_vocab.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "base/output_file.h"

namespace lorashare {
namespace {

// A small English word list; the BPE merges are learned from it, weighted
// like a Zipf distribution so frequent words merge first.
constexpr const char* kWords[] = {
    "the",     "of",      "and",    "to",    "in",     "is",      "was",     "that",
    "for",     "it",      "with",   "as",    "his",    "on",      "be",      "at",
    "by",      "had",     "are",    "but",   "from",   "or",      "have",    "an",
    "they",    "which",   "one",    "you",   "were",   "her",     "all",     "she",
    "there",   "would",   "their",  "we",    "him",    "been",    "has",     "when",
    "who",     "will",    "more",   "no",    "if",     "out",     "so",      "said",
    "what",    "up",      "its",    "about", "into",   "than",    "them",    "can",
    "only",    "other",   "new",    "some",  "could",  "time",    "these",   "two",
    "may",     "then",    "do",     "first", "any",    "my",      "now",     "such",
    "like",    "our",     "over",   "man",   "me",     "even",    "most",    "made",
    "after",   "also",    "did",    "many",  "before", "must",    "through", "back",
    "years",   "where",   "much",   "your",  "way",    "well",    "down",    "should",
    "because", "each",    "just",   "those", "people", "how",     "too",     "little",
    "state",   "good",    "very",   "make",  "world",  "still",   "own",     "see",
    "men",     "work",    "long",   "get",   "here",   "between", "both",    "life",
    "being",   "under",   "never",  "day",   "same",   "another", "know",    "while",
    "last",    "might",   "us",     "great", "old",    "year",    "off",     "come",
    "since",   "against", "go",     "came",  "right",  "used",    "take",    "three",
    "story",   "once",    "upon",   "lily",  "tom",    "happy",   "play",    "friend",
    "garden",  "model",   "weight", "share", "token",  "adapter", "memory",  "foundation",
    "answer",
};

using Word = std::vector<int32_t>;

std::pair<int32_t, int32_t> MostFrequentPair(const std::vector<std::pair<Word, int64_t>>& words) {
  std::map<std::pair<int32_t, int32_t>, int64_t> counts;
  for (const auto& [word, weight] : words) {
    for (size_t i = 0; i + 1 < word.size(); ++i) counts[{word[i], word[i + 1]}] += weight;
  }
  std::pair<int32_t, int32_t> best{-1, -1};
  int64_t best_count = 1;  // a pair must occur more than once to be learned
  for (const auto& [pair, count] : counts) {
    if (count > best_count) {
      best = pair;
      best_count = count;
    }
  }
  return best;
}

void ApplyMerge(std::vector<std::pair<Word, int64_t>>& words, std::pair<int32_t, int32_t> pair,
                int32_t id) {
  for (auto& [word, weight] : words) {
    Word merged;
    for (size_t i = 0; i < word.size(); ++i) {
      if (i + 1 < word.size() && word[i] == pair.first && word[i + 1] == pair.second) {
        merged.push_back(id);
        ++i;
      } else {
        merged.push_back(word[i]);
      }
    }
    word = std::move(merged);
  }
}

class VocabBuilder {
 public:
  explicit VocabBuilder(int32_t size) : size_(size) {
    for (int b = 0; b < 256; ++b) Add(std::string(1, static_cast<char>(b)), {-1, -1});
  }

  void LearnFromWords() {
    std::vector<std::pair<Word, int64_t>> words;
    int64_t rank = 1;
    for (const char* w : kWords) {
      Word word;
      word.push_back(static_cast<uint8_t>(' '));
      for (const char* c = w; *c != '\0'; ++c) word.push_back(static_cast<uint8_t>(*c));
      words.emplace_back(std::move(word), 1000 / rank++ + 1);
    }
    while (Full() == false) {
      auto pair = MostFrequentPair(words);
      if (pair.first < 0) return;
      int32_t id = static_cast<int32_t>(vocab_.tokens.size());
      Add(vocab_.tokens[pair.first] + vocab_.tokens[pair.second], pair);
      ApplyMerge(words, pair, id);
    }
  }

  // Concatenates existing tokens with printable single bytes until full.
  void FillWithConcatenations() {
    for (size_t left = 256; !Full() && left < vocab_.tokens.size(); ++left) {
      for (int32_t right = ' '; right <= '~' && !Full(); ++right) {
        std::string text = vocab_.tokens[left] + vocab_.tokens[right];
        if (!seen_.count(text)) Add(text, {static_cast<int32_t>(left), right});
      }
    }
  }

  SyntheticVocab Take() { return std::move(vocab_); }

 private:
  bool Full() const { return static_cast<int32_t>(vocab_.tokens.size()) >= size_; }

  void Add(std::string text, std::pair<int32_t, int32_t> parts) {
    seen_.insert(text);
    vocab_.tokens.push_back(std::move(text));
    if (parts.first >= 0) vocab_.merges.push_back(parts);
  }

  int32_t size_;
  SyntheticVocab vocab_;
  std::unordered_set<std::string> seen_;
};

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// GPT-2's reversible byte -> printable unicode character mapping, as UTF-8.
std::vector<std::string> ByteLevelAlphabet() {
  std::vector<std::string> table(256);
  auto utf8 = [](uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
    return s;
  };
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
    table[b] = utf8(printable ? b : next++);
  }
  return table;
}

std::string ByteLevel(const std::string& bytes, const std::vector<std::string>& alphabet) {
  std::string out;
  for (unsigned char c : bytes) out += alphabet[c];
  return out;
}

// Qwen2's pre-tokenizer pattern (as in its tokenizer.json).
constexpr char kQwenPattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

nlohmann::ordered_json ByteLevelStep() {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", false},
          {"use_regex", false}};
}

nlohmann::ordered_json TokenizerJson(const SyntheticVocab& vocab,
                                     const std::vector<std::string>& special_tokens) {
  const auto alphabet = ByteLevelAlphabet();
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (size_t i = 0; i < special_tokens.size(); ++i) {
    added.push_back({{"id", vocab.tokens.size() + i},
                     {"content", special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  nlohmann::ordered_json model_vocab = nlohmann::ordered_json::object();
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    model_vocab[ByteLevel(vocab.tokens[id], alphabet)] = id;
  }
  nlohmann::ordered_json merges = nlohmann::ordered_json::array();
  for (const auto& [left, right] : vocab.merges) {
    merges.push_back(ByteLevel(vocab.tokens[left], alphabet) + " " +
                     ByteLevel(vocab.tokens[right], alphabet));
  }
  nlohmann::ordered_json split = {{"type", "Split"},
                                  {"pattern", {{"Regex", kQwenPattern}}},
                                  {"behavior", "Isolated"},
                                  {"invert", false}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", {{"type", "NFC"}}},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers", nlohmann::ordered_json::array({split, ByteLevelStep()})}}},
          {"post_processor", ByteLevelStep()},
          {"decoder", ByteLevelStep()},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", ""},
            {"end_of_word_suffix", ""},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", model_vocab},
            {"merges", merges}}}};
}

}  // namespace

SyntheticVocab BuildSyntheticVocab(int32_t size) {
  VocabBuilder builder(size);
  builder.LearnFromWords();
  builder.FillWithConcatenations();
  return builder.Take();
}

Status WriteTiktokenModel(const std::string& path, const SyntheticVocab& vocab) {
  std::string text;
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    text += fmt::format("{} {}\n", Base64(vocab.tokens[id]), id);
  }
  return WriteWholeFile(path, text);
}

Status WriteHfTokenizer(const std::string& dir, const SyntheticVocab& vocab,
                        const std::vector<std::string>& special_tokens, const TokenizerFacts& facts,
                        int32_t max_context) {
  LS_RETURN_IF_ERROR(
      WriteWholeFile(dir + "/tokenizer.json", TokenizerJson(vocab, special_tokens).dump(1)));
  auto token_text = [&](int32_t id) -> nlohmann::ordered_json {
    int32_t index = id - static_cast<int32_t>(vocab.tokens.size());
    if (index < 0 || index >= static_cast<int32_t>(special_tokens.size())) return nullptr;
    return special_tokens[static_cast<size_t>(index)];
  };
  nlohmann::ordered_json config = {
      {"add_bos_token", false},
      {"bos_token", nullptr},
      {"eos_token", facts.eos_ids.empty() ? nullptr : token_text(facts.eos_ids.front())},
      {"pad_token", token_text(static_cast<int32_t>(vocab.tokens.size()))},
      {"model_max_length", max_context},
      {"tokenizer_class", "Qwen2Tokenizer"},
  };
  return WriteWholeFile(dir + "/tokenizer_config.json", config.dump(2));
}

}  // namespace lorashare
