#include "import/json_object.h"

#include <cstdint>

#include "base/output_file.h"

namespace lorashare {

Result<JsonObject> JsonObject::Parse(std::string_view text, std::string source) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return MakeError(ErrorCode::kCorrupt, "{}: not valid JSON: {}", source, e.what());
  }
  if (!json.is_object()) {
    return MakeError(ErrorCode::kCorrupt, "{}: the top level is not a JSON object", source);
  }
  return JsonObject(std::move(json), std::move(source));
}

Result<JsonObject> JsonObject::Load(const std::string& path) {
  LS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return Parse(text, path);
}

bool JsonObject::Has(std::string_view key) const {
  auto it = json_.find(key);
  return it != json_.end() && !it->is_null();
}

Error JsonObject::WrongType(std::string_view key, std::string_view wanted) const {
  auto it = json_.find(key);
  return MakeError(ErrorCode::kCorrupt, "{}: field \"{}\" must be {}, got {}", source_, key, wanted,
                   it == json_.end() ? std::string("nothing") : it->dump());
}

Result<const nlohmann::json*> JsonObject::Field(std::string_view key) const {
  if (!Has(key)) {
    return MakeError(ErrorCode::kCorrupt, "{}: missing field \"{}\"", source_, key);
  }
  return &*json_.find(key);
}

Result<int64_t> JsonObject::Int(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(const nlohmann::json* value, Field(key));
  if (value->is_number_integer()) return value->get<int64_t>();
  if (value->is_number_unsigned() && value->get<uint64_t>() <= INT64_MAX) {
    return static_cast<int64_t>(value->get<uint64_t>());
  }
  return WrongType(key, "an integer");
}

Result<int32_t> JsonObject::Int32(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(int64_t value, Int(key));
  if (value < INT32_MIN || value > INT32_MAX) return WrongType(key, "a 32-bit integer");
  return static_cast<int32_t>(value);
}

Result<int32_t> JsonObject::Int32Or(std::string_view key, int32_t fallback) const {
  if (!Has(key)) return fallback;
  return Int32(key);
}

Result<double> JsonObject::Number(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(const nlohmann::json* value, Field(key));
  if (!value->is_number()) return WrongType(key, "a number");
  return value->get<double>();
}

Result<double> JsonObject::NumberOr(std::string_view key, double fallback) const {
  if (!Has(key)) return fallback;
  return Number(key);
}

Result<bool> JsonObject::BoolOr(std::string_view key, bool fallback) const {
  if (!Has(key)) return fallback;
  const nlohmann::json& value = *json_.find(key);
  if (!value.is_boolean()) return WrongType(key, "true or false");
  return value.get<bool>();
}

Result<std::string> JsonObject::String(std::string_view key) const {
  LS_ASSIGN_OR_RETURN(const nlohmann::json* value, Field(key));
  if (!value->is_string()) return WrongType(key, "a string");
  return value->get<std::string>();
}

Result<std::string> JsonObject::StringOr(std::string_view key, std::string fallback) const {
  if (!Has(key)) return fallback;
  return String(key);
}

Result<std::vector<int32_t>> JsonObject::Int32OrList(std::string_view key) const {
  std::vector<int32_t> out;
  if (!Has(key)) return out;
  const nlohmann::json& value = *json_.find(key);
  auto add = [&](const nlohmann::json& item) {
    if (!item.is_number_integer() || item.get<int64_t>() < 0 || item.get<int64_t>() > INT32_MAX) {
      return false;
    }
    out.push_back(static_cast<int32_t>(item.get<int64_t>()));
    return true;
  };
  if (value.is_array()) {
    for (const auto& item : value) {
      if (!add(item)) return WrongType(key, "a token id or a list of token ids");
    }
  } else if (!add(value)) {
    return WrongType(key, "a token id or a list of token ids");
  }
  return out;
}

Result<std::vector<std::string>> JsonObject::StringOrList(std::string_view key) const {
  std::vector<std::string> out;
  if (!Has(key)) return out;
  const nlohmann::json& value = *json_.find(key);
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
    return out;
  }
  if (!value.is_array()) return WrongType(key, "a string or a list of strings");
  for (const auto& item : value) {
    if (!item.is_string()) return WrongType(key, "a string or a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::optional<JsonObject>> JsonObject::ObjectOr(std::string_view key) const {
  if (!Has(key)) return std::optional<JsonObject>();
  const nlohmann::json& value = *json_.find(key);
  if (!value.is_object()) return WrongType(key, "an object");
  return std::optional<JsonObject>(JsonObject(value, fmt::format("{}: {}", source_, key)));
}

}  // namespace lorashare
