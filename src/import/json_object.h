// JsonObject: typed reads from a JSON configuration object (config.json,
// params.json, adapter_config.json, safetensors headers) whose errors name the
// file and the field, so a bad config says exactly what to fix.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lorashare {

class JsonObject {
 public:
  // Parses `text`; the top level must be an object. `source` names it in errors.
  static Result<JsonObject> Parse(std::string_view text, std::string source);
  static Result<JsonObject> Load(const std::string& path);

  const std::string& source() const { return source_; }
  const nlohmann::json& json() const { return json_; }
  // A field that is absent or null counts as absent.
  bool Has(std::string_view key) const;

  Result<int64_t> Int(std::string_view key) const;
  Result<int32_t> Int32(std::string_view key) const;
  Result<int32_t> Int32Or(std::string_view key, int32_t fallback) const;
  Result<double> Number(std::string_view key) const;
  Result<double> NumberOr(std::string_view key, double fallback) const;
  Result<bool> BoolOr(std::string_view key, bool fallback) const;
  Result<std::string> String(std::string_view key) const;
  Result<std::string> StringOr(std::string_view key, std::string fallback) const;
  // An integer or a list of integers (eos_token_id); empty when absent.
  Result<std::vector<int32_t>> Int32OrList(std::string_view key) const;
  // A string or a list of strings (target_modules); empty when absent.
  Result<std::vector<std::string>> StringOrList(std::string_view key) const;
  // A nested object; its errors name "<source>: <key>". nullopt when absent.
  Result<std::optional<JsonObject>> ObjectOr(std::string_view key) const;

 private:
  JsonObject(nlohmann::json json, std::string source)
      : json_(std::move(json)), source_(std::move(source)) {}
  Result<const nlohmann::json*> Field(std::string_view key) const;
  Error WrongType(std::string_view key, std::string_view wanted) const;

  nlohmann::json json_;
  std::string source_;
};

}  // namespace lorashare
