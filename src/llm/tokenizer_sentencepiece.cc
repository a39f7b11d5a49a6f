// SentencePiece `.model` files (Llama 2 and similar), run by Debian's
// libsentencepiece itself so that ids match the trained tokenizer exactly.
#include <sentencepiece_processor.h>

#include "llm/special_tokens.h"
#include "llm/token_text.h"
#include "llm/tokenizer_formats.h"
#include "llm/utf8.h"

namespace lorashare {
namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> processor)
      : processor_(std::move(processor)) {
    for (int id = 0; id < processor_->GetPieceSize(); ++id) {
      std::string piece = processor_->IdToPiece(id);
      // Control pieces (<s>, </s>) are never produced from text by
      // SentencePiece; written in a prompt they are parsed like specials.
      if (processor_->IsControl(id)) specials_.Add(piece, id);
      token_bytes_.push_back(PieceBytes(id, piece));
    }
    if (processor_->bos_id() >= 0) bos_id_ = processor_->bos_id();
    if (processor_->eos_id() >= 0) eos_ids_.push_back(processor_->eos_id());
    specials_.AddEndOfTurnIds(eos_ids_);
  }

  Result<std::vector<int32_t>> Encode(std::string_view text, bool parse_specials) const override {
    if (size_t bad = FindInvalidUtf8(text); bad != text.size()) {
      return MakeError(ErrorCode::kInvalidArgument, "text to encode is not valid UTF-8 at byte {}",
                       bad);
    }
    std::vector<SpecialTokens::Segment> segments;
    specials_.Split(text, parse_specials, segments);
    std::vector<int32_t> ids;
    for (const auto& segment : segments) {
      if (segment.id >= 0) {
        ids.push_back(segment.id);
        continue;
      }
      std::vector<int> piece_ids;
      auto status = processor_->Encode(std::string(segment.text), &piece_ids);
      if (!status.ok()) {
        return MakeError(ErrorCode::kInternal, "sentencepiece encode failed: {}",
                         status.ToString());
      }
      ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
    }
    return ids;
  }

  Result<std::string> Decode(std::span<const int32_t> ids) const override {
    std::string text;
    for (int32_t id : ids) {
      LS_ASSIGN_OR_RETURN(std::string bytes, TokenBytes(id));
      text += bytes;
    }
    // The dummy prefix SentencePiece adds before encoding is not text.
    if (text.starts_with(' ')) text.erase(0, 1);
    return text;
  }

  int32_t vocab_size() const override { return static_cast<int32_t>(token_bytes_.size()); }
  std::optional<int32_t> bos_id() const override { return bos_id_; }
  std::vector<int32_t> eos_ids() const override { return eos_ids_; }
  std::optional<int32_t> SpecialTokenId(std::string_view text) const override {
    return specials_.Find(text);
  }
  Result<std::string> TokenBytes(int32_t id) const override {
    if (id < 0 || id >= vocab_size()) {
      return MakeError(ErrorCode::kOutOfRange, "token id {} is not in the vocabulary (size {})", id,
                       vocab_size());
    }
    return token_bytes_[id];
  }

 private:
  std::string PieceBytes(int id, const std::string& piece) const {
    if (processor_->IsByte(id)) return std::string(1, static_cast<char>(*ParseBytePiece(piece)));
    if (processor_->IsControl(id)) return piece;
    return ReplaceAll(piece, kSpacePiece, " ");
  }

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  SpecialTokens specials_;
  std::vector<std::string> token_bytes_;
  std::optional<int32_t> bos_id_;
  std::vector<int32_t> eos_ids_;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadSentencePiece(const MappedFile& file) {
  auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
  std::string_view bytes(reinterpret_cast<const char*>(file.bytes().data()), file.size());
  auto status = processor->LoadFromSerializedProto(bytes);
  if (!status.ok()) {
    return MakeError(ErrorCode::kCorrupt, "{}: not a SentencePiece model: {}", file.path(),
                     status.ToString());
  }
  for (int id = 0; id < processor->GetPieceSize(); ++id) {
    if (processor->IsByte(id)) {
      std::string piece = processor->IdToPiece(id);
      // The constructor relies on this.
      if (!ParseBytePiece(piece)) {
        return MakeError(ErrorCode::kCorrupt, "{}: byte piece {} is '{}', not <0xXX>", file.path(),
                         id, piece);
      }
    }
  }
  return std::unique_ptr<Tokenizer>(new SentencePieceTokenizer(std::move(processor)));
}

}  // namespace lorashare
