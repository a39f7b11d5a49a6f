#include "llm/regex_splitter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace lorashare {

struct RegexSplitter::Compiled {
  ~Compiled() { pcre2_code_free(code); }
  pcre2_code* code = nullptr;
  bool jit = false;
};

namespace {

std::string PcreMessage(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// One match-data block per thread, reused across calls.
struct MatchData {
  MatchData() : data(pcre2_match_data_create(1, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(data); }
  pcre2_match_data* data;
};

}  // namespace

Result<RegexSplitter> RegexSplitter::Create(std::string_view pattern, std::string_view source,
                                            Behavior behavior, bool invert) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  auto compiled = std::make_shared<Compiled>();
  // NO_UTF_CHECK at match time is safe because callers validate the text once.
  compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (compiled->code == nullptr) {
    return MakeError(ErrorCode::kCorrupt,
                     "{}: pre-tokenizer regex does not compile at offset {}: {}", source, offset,
                     PcreMessage(error));
  }
  compiled->jit = pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE) == 0;
  return RegexSplitter(std::move(compiled), behavior, invert);
}

Status RegexSplitter::Split(std::string_view text, std::vector<std::string_view>& pieces) const {
  thread_local MatchData match;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;  // end of the previous match
  size_t pos = 0;
  auto emit = [&](size_t begin, size_t end, bool is_match) {
    if (begin == end) return;
    bool keep = behavior_ == Behavior::kIsolated || (is_match == invert_);
    if (keep) pieces.push_back(text.substr(begin, end - begin));
  };
  while (pos <= text.size()) {
    int rc = compiled_->jit ? pcre2_jit_match(compiled_->code, subject, text.size(), pos,
                                              PCRE2_NO_UTF_CHECK, match.data, nullptr)
                            : pcre2_match(compiled_->code, subject, text.size(), pos,
                                          PCRE2_NO_UTF_CHECK, match.data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      return MakeError(ErrorCode::kInternal, "pre-tokenizer regex failed at byte {}: {}", pos,
                       PcreMessage(rc));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    size_t match_begin = ovector[0], match_end = ovector[1];
    if (match_end == match_begin) {
      // An empty match cuts nothing; step over one character.
      if (match_begin >= text.size()) break;
      pos = match_begin + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      continue;
    }
    emit(start, match_begin, false);
    emit(match_begin, match_end, true);
    start = pos = match_end;
  }
  emit(start, text.size(), false);
  return OkStatus();
}

}  // namespace lorashare
