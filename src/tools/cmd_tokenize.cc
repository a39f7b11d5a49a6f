// lorashare tokenize / detokenize: run a model's tokenizer (any format
// Tokenizer::Load reads) on text or ids.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/output_file.h"
#include "llm/chat_template.h"
#include "llm/tokenizer.h"
#include "tools/commands.h"
#include "tools/report.h"

namespace lorashare::tools {
namespace {

struct TokenizeFlags {
  std::string tokenizer;
  std::string text;
  std::string file;
  bool ids_only = false;
  bool no_specials = false;
  std::string chat = "none";
  std::string system;
};

int RunTokenize(const TokenizeFlags& flags) {
  auto tokenizer = Tokenizer::Load(flags.tokenizer);
  if (!tokenizer.ok()) return ReportError(tokenizer.error());
  std::string text = flags.text;
  if (!flags.file.empty()) {
    auto contents = ReadWholeFile(flags.file);
    if (!contents.ok()) return ReportError(contents.error());
    text = std::move(contents).value();
  }
  auto kind = ChatTemplateFromName(flags.chat, **tokenizer);
  if (!kind.ok()) return ReportError(kind.error());
  text = ApplyChatTemplate(*kind, flags.system, text);
  auto ids = (*tokenizer)->Encode(text, !flags.no_specials);
  if (!ids.ok())
    return ReportError(ids.error().WithContext(flags.file.empty() ? "TEXT" : flags.file));
  if (flags.ids_only) {
    std::string out;
    for (int32_t id : *ids) out += fmt::format("{}\n", id);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
  for (int32_t id : *ids) {
    tokens.push_back({{"id", id}, {"text", (*tokenizer)->TokenBytes(id).value()}});
  }
  nlohmann::ordered_json out = {{"count", ids->size()}, {"ids", *ids}, {"tokens", tokens}};
  // A token may hold part of a UTF-8 character; JSON shows it as U+FFFD.
  fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return 0;
}

int RunDetokenize(const std::string& path, const std::vector<int32_t>& ids) {
  auto tokenizer = Tokenizer::Load(path);
  if (!tokenizer.ok()) return ReportError(tokenizer.error());
  auto text = (*tokenizer)->Decode(ids);
  if (!text.ok()) return ReportError(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace

void RegisterTokenize(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text");
  auto flags = std::make_shared<TokenizeFlags>();
  cmd->add_option("--tokenizer", flags->tokenizer,
                  "tokenizer.model (tiktoken or SentencePiece), tokenizer.json or a directory "
                  "holding it, or a GGUF file")
      ->required();
  auto* text = cmd->add_option("text", flags->text, "text to encode");
  auto* file = cmd->add_option("--file", flags->file, "read the text from this file");
  text->excludes(file);
  cmd->add_flag("--ids-only", flags->ids_only, "one id per line instead of JSON");
  cmd->add_flag("--no-specials", flags->no_specials,
                "treat special tokens written in the text (<|eot_id|>) as plain text");
  cmd->add_option("--chat", flags->chat, "wrap in a chat template: auto, llama3, chatml, none")
      ->capture_default_str();
  cmd->add_option("--system", flags->system, "system prompt for --chat");
  cmd->callback([flags, exit_code, text, file] {
    if (text->count() == 0 && file->count() == 0) {
      *exit_code =
          ReportError(MakeError(ErrorCode::kInvalidArgument, "tokenize: give TEXT or --file"));
      return;
    }
    *exit_code = RunTokenize(*flags);
  });
}

void RegisterDetokenize(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("detokenize", "Print the text of token ids");
  auto path = std::make_shared<std::string>();
  auto ids = std::make_shared<std::vector<int32_t>>();
  cmd->add_option("--tokenizer", *path, "tokenizer file (as for tokenize)")->required();
  cmd->add_option("ids", *ids, "token ids")->required();
  cmd->callback([path, ids, exit_code] { *exit_code = RunDetokenize(*path, *ids); });
}

}  // namespace lorashare::tools
