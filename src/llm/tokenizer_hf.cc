// Hugging Face tokenizer.json (BPE models), read as the `tokenizers` library
// defines it: model, added_tokens, normalizer, pre_tokenizer, decoder; bos and
// eos from tokenizer_config.json beside it.
#include <nlohmann/json.hpp>

#include "llm/bpe_tokenizer.h"
#include "llm/byte_level.h"
#include "llm/token_text.h"
#include "llm/tokenizer_formats.h"

namespace lorashare {
namespace {

using nlohmann::json;

// What the loader collects from the JSON before building the tokenizer.
struct HfPipeline {
  std::string path;
  bool byte_level = false;
  std::vector<TextRewrite> rewrites;
  std::vector<RegexSplitter> splitters;
  // Decoding of ordinary (non-added) tokens whose vocabulary is not byte-level.
  std::vector<std::pair<std::string, std::string>> decode_replacements;
  bool byte_fallback_decode = false;
  size_t strip_leading_spaces = 0;
  // Real vocabularies are dense, so an id at or past the number of entries
  // (vocab plus added tokens) is corrupt, and no file can demand a huge table.
  size_t id_limit = 0;
};

Error Unsupported(const HfPipeline& p, std::string_view where, std::string_view type) {
  return MakeError(ErrorCode::kUnsupported, "{}: {} of type '{}' is not supported", p.path, where,
                   type);
}

Error Corrupt(const HfPipeline& p, std::string_view what) {
  return MakeError(ErrorCode::kCorrupt, "{}: {}", p.path, what);
}

std::string TypeOf(const json& node) {
  auto it = node.find("type");
  return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// PCRE2 quoting of a literal pattern.
std::string QuoteRegex(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// {"String": "x"} or {"Regex": "x"} -> a PCRE2 pattern.
Result<std::string> PatternOf(const HfPipeline& p, const json& pattern, std::string_view where) {
  if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
    return pattern["Regex"].get<std::string>();
  }
  if (pattern.contains("String") && pattern["String"].is_string()) {
    return QuoteRegex(pattern["String"].get<std::string>());
  }
  return Corrupt(p, fmt::format("{}: pattern is neither String nor Regex", where));
}

Status AddNormalizer(HfPipeline& p, const json& node) {
  if (node.is_null()) return OkStatus();
  std::string type = TypeOf(node);
  if (type == "Sequence") {
    for (const json& child : node.value("normalizers", json::array())) {
      LS_RETURN_IF_ERROR(AddNormalizer(p, child));
    }
  } else if (type == "NFC") {
    p.rewrites.push_back({TextRewrite::Kind::kNfc, "", ""});
  } else if (type == "Prepend" && node.value("prepend", json()).is_string()) {
    p.rewrites.push_back({TextRewrite::Kind::kPrepend, node["prepend"].get<std::string>(), ""});
  } else if (type == "Replace" && node.contains("pattern") && node["pattern"].contains("String") &&
             node.value("content", json()).is_string()) {
    p.rewrites.push_back({TextRewrite::Kind::kReplace, node["pattern"]["String"].get<std::string>(),
                          node["content"].get<std::string>()});
  } else {
    return Unsupported(p, "normalizer", type);
  }
  return OkStatus();
}

Status AddSplitter(HfPipeline& p, std::string_view pattern,
                   RegexSplitter::Behavior behavior = RegexSplitter::Behavior::kIsolated,
                   bool invert = false) {
  LS_ASSIGN_OR_RETURN(auto splitter, RegexSplitter::Create(pattern, p.path, behavior, invert));
  p.splitters.push_back(std::move(splitter));
  return OkStatus();
}

Status AddMetaspace(HfPipeline& p, const json& node) {
  std::string replacement = node.value("replacement", std::string(kSpacePiece));
  std::string scheme = node.value("prepend_scheme", std::string());
  if (scheme.empty()) scheme = node.value("add_prefix_space", true) ? "always" : "never";
  p.rewrites.push_back({TextRewrite::Kind::kReplace, " ", replacement});
  if (scheme != "never") {
    p.rewrites.push_back(
        {TextRewrite::Kind::kPrependIfAbsent, replacement, "", /*first_only=*/scheme == "first"});
  }
  if (node.value("split", true)) {
    // Each replacement character starts a new piece (MergedWithNext).
    std::string r = QuoteRegex(replacement);
    LS_RETURN_IF_ERROR(AddSplitter(p, fmt::format("(?s){0}(?:(?!{0}).)*|(?:(?!{0}).)+", r)));
  }
  return OkStatus();
}

Status AddPreTokenizer(HfPipeline& p, const json& node) {
  if (node.is_null()) return OkStatus();
  std::string type = TypeOf(node);
  if (type == "Sequence") {
    for (const json& child : node.value("pretokenizers", json::array())) {
      LS_RETURN_IF_ERROR(AddPreTokenizer(p, child));
    }
  } else if (type == "ByteLevel") {
    p.byte_level = true;
    if (node.value("add_prefix_space", false)) {
      if (!p.splitters.empty()) {
        return MakeError(ErrorCode::kUnsupported,
                         "{}: ByteLevel add_prefix_space after a Split is not supported", p.path);
      }
      p.rewrites.push_back({TextRewrite::Kind::kPrependIfAbsent, " ", ""});
    }
    if (node.value("use_regex", true)) LS_RETURN_IF_ERROR(AddSplitter(p, kGpt2Pattern));
  } else if (type == "Split") {
    LS_ASSIGN_OR_RETURN(std::string pattern,
                        PatternOf(p, node.value("pattern", json::object()), "Split"));
    std::string behavior = node.value("behavior", std::string("Isolated"));
    RegexSplitter::Behavior kind;
    if (behavior == "Isolated") {
      kind = RegexSplitter::Behavior::kIsolated;
    } else if (behavior == "Removed") {
      kind = RegexSplitter::Behavior::kRemoved;
    } else {
      return Unsupported(p, "Split behavior", behavior);
    }
    LS_RETURN_IF_ERROR(AddSplitter(p, pattern, kind, node.value("invert", false)));
  } else if (type == "Digits") {
    LS_RETURN_IF_ERROR(
        AddSplitter(p, node.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)"));
  } else if (type == "Metaspace") {
    LS_RETURN_IF_ERROR(AddMetaspace(p, node));
  } else {
    return Unsupported(p, "pre_tokenizer", type);
  }
  return OkStatus();
}

Status AddDecoder(HfPipeline& p, const json& node) {
  if (node.is_null()) return OkStatus();
  std::string type = TypeOf(node);
  if (type == "Sequence") {
    for (const json& child : node.value("decoders", json::array())) {
      LS_RETURN_IF_ERROR(AddDecoder(p, child));
    }
  } else if (type == "ByteLevel") {
    p.byte_level = true;
  } else if (type == "ByteFallback") {
    p.byte_fallback_decode = true;
  } else if (type == "Fuse") {
    // Joining token strings is what decoding does anyway.
  } else if (type == "Replace" && node.contains("pattern") && node["pattern"].contains("String") &&
             node.value("content", json()).is_string()) {
    p.decode_replacements.emplace_back(node["pattern"]["String"].get<std::string>(),
                                       node["content"].get<std::string>());
  } else if (type == "Strip" && node.value("content", std::string()) == " " &&
             node.value("stop", 0) == 0) {
    p.strip_leading_spaces += node.value("start", 0);
  } else if (type == "Metaspace") {
    std::string replacement = node.value("replacement", std::string(kSpacePiece));
    p.decode_replacements.emplace_back(replacement, " ");
    std::string scheme = node.value("prepend_scheme", std::string());
    if (scheme.empty()) scheme = node.value("add_prefix_space", true) ? "always" : "never";
    if (scheme != "never") p.strip_leading_spaces += 1;
  } else {
    return Unsupported(p, "decoder", type);
  }
  return OkStatus();
}

std::string DecodeOrdinary(const HfPipeline& p, std::string text) {
  if (p.byte_fallback_decode) {
    if (auto byte = ParseBytePiece(text)) return std::string(1, static_cast<char>(*byte));
  }
  for (const auto& [from, to] : p.decode_replacements) {
    if (!from.empty()) text = ReplaceAll(text, from, to);
  }
  return text;
}

// A token named by tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> ConfigToken(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->value("content", json()).is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return std::nullopt;
}

// The special token a TemplateProcessing post-processor puts first, if any.
std::optional<std::string> TemplateBos(const json& post) {
  const json* node = &post;
  if (TypeOf(post) == "Sequence") {
    for (const json& child : post.value("processors", json::array())) {
      if (TypeOf(child) == "TemplateProcessing") node = &child;
    }
  }
  if (TypeOf(*node) != "TemplateProcessing") return std::nullopt;
  const json single = node->value("single", json::array());
  if (!single.is_array() || single.empty() || !single[0].contains("SpecialToken")) {
    return std::nullopt;
  }
  return single[0]["SpecialToken"].value("id", std::string());
}

Status ReadModel(HfPipeline& p, const json& model, BpeTokenizer::Parts& parts,
                 std::vector<std::optional<std::string>>& token_bytes) {
  const json& vocab = model.at("vocab");
  if (!vocab.is_object()) return Corrupt(p, "model.vocab is not an object");
  for (const auto& [text, id_node] : vocab.items()) {
    if (!id_node.is_number_integer() || id_node.get<int64_t>() < 0 ||
        id_node.get<int64_t>() > INT32_MAX - 1) {
      return Corrupt(p, fmt::format("model.vocab['{}'] is not a valid id", text));
    }
    int32_t id = id_node.get<int32_t>();
    if (static_cast<size_t>(id) >= p.id_limit) {
      return Corrupt(
          p, fmt::format("model.vocab['{}'] = {} is past the {} entries", text, id, p.id_limit));
    }
    std::string bytes = text;
    if (p.byte_level) {
      auto raw = ByteLevelToBytes(text);
      if (!raw) return Corrupt(p, fmt::format("model.vocab['{}'] is not byte-level text", text));
      bytes = *raw;
    }
    if (static_cast<size_t>(id) >= token_bytes.size()) token_bytes.resize(id + 1);
    if (token_bytes[id]) return Corrupt(p, fmt::format("model.vocab repeats id {}", id));
    token_bytes[id] = p.byte_level ? bytes : DecodeOrdinary(p, bytes);
    LS_RETURN_IF_ERROR(parts.model.AddToken(id, std::move(bytes), p.path + ": model.vocab"));
  }
  const json& merges = model.value("merges", json::array());
  for (size_t i = 0; i < merges.size(); ++i) {
    std::string where = fmt::format("{}: model.merges[{}]", p.path, i);
    std::string left, right;
    const json& merge = merges[i];
    if (merge.is_string()) {
      std::string text = merge.get<std::string>();
      size_t space = text.find(' ', 1);
      if (space == std::string::npos)
        return Corrupt(p, where.substr(p.path.size() + 2) + " has no space");
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      return MakeError(ErrorCode::kCorrupt, "{}: expected \"a b\" or [\"a\", \"b\"]", where);
    }
    if (p.byte_level) {
      auto l = ByteLevelToBytes(left), r = ByteLevelToBytes(right);
      if (!l || !r) return MakeError(ErrorCode::kCorrupt, "{}: not byte-level text", where);
      left = *l;
      right = *r;
    }
    LS_RETURN_IF_ERROR(parts.model.AddMerge(left, right, where));
  }
  return OkStatus();
}

Result<std::unique_ptr<Tokenizer>> Build(HfPipeline& p, const json& root, const json& config) {
  const json& model = root.at("model");
  if (TypeOf(model) != "BPE" && !(TypeOf(model).empty() && model.contains("merges"))) {
    return Unsupported(p, "model", TypeOf(model));
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model[key].is_null() && model[key] != "") {
      return MakeError(ErrorCode::kUnsupported, "{}: model.{} is not supported", p.path, key);
    }
  }
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"] != 0.0) {
    return MakeError(ErrorCode::kUnsupported, "{}: BPE dropout is not supported", p.path);
  }
  p.id_limit = model.at("vocab").size() + root.value("added_tokens", json::array()).size();
  LS_RETURN_IF_ERROR(AddNormalizer(p, root.value("normalizer", json())));
  LS_RETURN_IF_ERROR(AddPreTokenizer(p, root.value("pre_tokenizer", json())));
  LS_RETURN_IF_ERROR(AddDecoder(p, root.value("decoder", json())));

  BpeTokenizer::Parts parts(
      BpeModel(p.byte_level ? BpeModel::Symbols::kBytes : BpeModel::Symbols::kChars,
               model.value("ignore_merges", false)));
  std::vector<std::optional<std::string>> token_bytes;
  LS_RETURN_IF_ERROR(ReadModel(p, model, parts, token_bytes));
  if (model.value("unk_token", json()).is_string()) {
    parts.model.set_unknown_id(parts.model.Find(model["unk_token"].get<std::string>()));
  }
  LS_RETURN_IF_ERROR(parts.model.Finish(p.path));

  for (const json& added : root.value("added_tokens", json::array())) {
    if (!added.value("id", json()).is_number_integer() ||
        !added.value("content", json()).is_string() || added["id"].get<int64_t>() < 0 ||
        added["id"].get<int64_t>() > INT32_MAX - 1) {
      return Corrupt(p, "added_tokens entry without a valid id and content");
    }
    int32_t id = added["id"].get<int32_t>();
    if (static_cast<size_t>(id) >= p.id_limit) {
      return Corrupt(p, fmt::format("added token id {} is past the {} entries", id, p.id_limit));
    }
    std::string content = added["content"].get<std::string>();
    parts.specials.Add(content, id, /*always=*/!added.value("special", false));
    if (static_cast<size_t>(id) >= token_bytes.size()) token_bytes.resize(id + 1);
    token_bytes[id] = content;
  }
  parts.rewrites = std::move(p.rewrites);
  parts.splitters = std::move(p.splitters);
  parts.strip_leading_spaces = p.strip_leading_spaces;
  parts.token_bytes = std::move(token_bytes);

  auto id_of = [&](const std::string& text) -> std::optional<int32_t> {
    if (auto id = parts.specials.Find(text)) return id;
    return parts.model.Find(text);
  };
  std::optional<std::string> bos = TemplateBos(root.value("post_processor", json()));
  if (config.contains("add_bos_token")) {
    bos = config.value("add_bos_token", false) ? ConfigToken(config, "bos_token") : std::nullopt;
  }
  if (bos) parts.bos_id = id_of(*bos);
  if (auto eos = ConfigToken(config, "eos_token")) {
    if (auto id = id_of(*eos)) parts.eos_ids.push_back(*id);
  }
  parts.specials.AddEndOfTurnIds(parts.eos_ids);
  return std::unique_ptr<Tokenizer>(new BpeTokenizer(std::move(parts)));
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadHfTokenizer(const MappedFile& file,
                                                   const std::string& config_path) {
  HfPipeline pipeline;
  pipeline.path = file.path();
  json root = json::parse(file.bytes().begin(), file.bytes().end(), nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return MakeError(ErrorCode::kCorrupt, "{}: not valid JSON (truncated?)", file.path());
  }
  if (!root.contains("model") || !root["model"].is_object()) {
    return MakeError(ErrorCode::kCorrupt, "{}: no \"model\" object", file.path());
  }
  json config = json::object();
  if (!config_path.empty()) {
    LS_ASSIGN_OR_RETURN(auto config_file, MappedFile::Open(config_path));
    config = json::parse(config_file->bytes().begin(), config_file->bytes().end(), nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
      return MakeError(ErrorCode::kCorrupt, "{}: not a JSON object", config_path);
    }
  }
  // Wrong JSON types deep inside surface as exceptions from nlohmann; they
  // stop here so that none crosses the API.
  try {
    return Build(pipeline, root, config);
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kCorrupt, "{}: unexpected JSON structure: {}", file.path(),
                     e.what());
  }
}

}  // namespace lorashare
