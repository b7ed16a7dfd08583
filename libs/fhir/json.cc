#include "libs/fhir/json.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/base/json_escape.h"
#include "simdjson.h"

namespace hisbridge::fhir {
namespace {

const std::string& EmptyString() {
  static const auto* s = new std::string();
  return *s;
}
const std::vector<Json>& EmptyItems() {
  static const auto* v = new std::vector<Json>();
  return *v;
}
const std::vector<Json::Member>& EmptyMembers() {
  static const auto* v = new std::vector<Json::Member>();
  return *v;
}

Json Convert(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      Json out = Json::Array();
      simdjson::dom::array array;
      if (e.get_array().get(array) != simdjson::SUCCESS) return out;
      for (simdjson::dom::element item : array) out.Append(Convert(item));
      return out;
    }
    case simdjson::dom::element_type::OBJECT: {
      // Members are appended, not Set(): a duplicate must stay visible.
      Json out = Json::Object();
      simdjson::dom::object object;
      if (e.get_object().get(object) != simdjson::SUCCESS) return out;
      for (auto [key, value] : object) out.AddMember(std::string(key), Convert(value));
      return out;
    }
    case simdjson::dom::element_type::INT64: return Json::Integer(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
      return Json::Number(static_cast<double>(e.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE: return Json::Number(e.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING: return Json::String(std::string(e.get_string().value_unsafe()));
    case simdjson::dom::element_type::BOOL: return Json::Bool(e.get_bool().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE: return Json();
  }
  return Json();
}

void AppendString(absl::string_view s, std::string* out) {
  out->push_back('"');
  AppendJsonEscaped(s, out);
  out->push_back('"');
}

void Write(const Json& v, bool pretty, int depth, std::string* out) {
  auto newline = [&](int d) {
    if (!pretty) return;
    out->push_back('\n');
    out->append(static_cast<size_t>(d) * 2, ' ');
  };
  switch (v.type()) {
    case Json::Type::kNull: out->append("null"); return;
    case Json::Type::kBool: out->append(v.bool_value() ? "true" : "false"); return;
    case Json::Type::kNumber: out->append(v.NumberText()); return;
    case Json::Type::kString: AppendString(v.string(), out); return;
    case Json::Type::kArray: {
      if (v.items().empty()) {
        out->append("[]");
        return;
      }
      out->push_back('[');
      bool first = true;
      for (const Json& item : v.items()) {
        if (!first) out->push_back(',');
        first = false;
        newline(depth + 1);
        Write(item, pretty, depth + 1, out);
      }
      newline(depth);
      out->push_back(']');
      return;
    }
    case Json::Type::kObject: {
      if (v.members().empty()) {
        out->append("{}");
        return;
      }
      out->push_back('{');
      bool first = true;
      for (const Json::Member& m : v.members()) {
        if (!first) out->push_back(',');
        first = false;
        newline(depth + 1);
        AppendString(m.first, out);
        out->append(pretty ? ": " : ":");
        Write(m.second, pretty, depth + 1, out);
      }
      newline(depth);
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

Json Json::Bool(bool value) {
  Json j;
  j.type_ = Type::kBool;
  j.bool_ = value;
  return j;
}

Json Json::Integer(int64_t value) {
  Json j;
  j.type_ = Type::kNumber;
  j.is_integer_ = true;
  j.integer_ = value;
  j.number_ = static_cast<double>(value);
  return j;
}

Json Json::Number(double value) {
  Json j;
  j.type_ = Type::kNumber;
  j.number_ = std::isfinite(value) ? value : 0;
  return j;
}

Json Json::String(std::string value) {
  Json j;
  j.type_ = Type::kString;
  j.string_ = std::move(value);
  return j;
}

Json Json::Array() {
  Json j;
  j.type_ = Type::kArray;
  return j;
}

Json Json::Object() {
  Json j;
  j.type_ = Type::kObject;
  return j;
}

const std::string& Json::string() const { return type_ == Type::kString ? string_ : EmptyString(); }
const std::vector<Json>& Json::items() const { return type_ == Type::kArray ? items_ : EmptyItems(); }
const std::vector<Json::Member>& Json::members() const {
  return type_ == Type::kObject ? members_ : EmptyMembers();
}

size_t Json::size() const {
  if (type_ == Type::kArray) return items_.size();
  if (type_ == Type::kObject) return members_.size();
  return 0;
}

const Json* Json::Find(absl::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const Member& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

const std::string& Json::GetString(absl::string_view key) const {
  const Json* v = Find(key);
  return v != nullptr ? v->string() : EmptyString();
}

const std::vector<Json>& Json::GetArray(absl::string_view key) const {
  const Json* v = Find(key);
  return v != nullptr ? v->items() : EmptyItems();
}

Json& Json::Set(absl::string_view key, Json value) {
  if (type_ == Type::kNull) type_ = Type::kObject;
  for (Member& m : members_) {
    if (m.first == key) {
      m.second = std::move(value);
      return m.second;
    }
  }
  members_.emplace_back(std::string(key), std::move(value));
  return members_.back().second;
}

Json& Json::AddMember(std::string key, Json value) {
  if (type_ == Type::kNull) type_ = Type::kObject;
  members_.emplace_back(std::move(key), std::move(value));
  return members_.back().second;
}

Json& Json::Append(Json value) {
  if (type_ == Type::kNull) type_ = Type::kArray;
  items_.push_back(std::move(value));
  return items_.back();
}

std::string Json::NumberText() const {
  if (is_integer_) return absl::StrCat(integer_);
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), number_);
  if (result.ec != std::errc()) return "0";
  return std::string(buffer, result.ptr);
}

absl::StatusOr<Json> ParseJson(absl::string_view text) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  simdjson::dom::parser parser;
  if (auto error = parser.allocate(text.size() + 64, kMaxJsonDepth); error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("the body (", text.size(), " bytes) cannot be parsed: ", simdjson::error_message(error)));
  }
  simdjson::padded_string padded(text.data(), text.size());
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root); error != simdjson::SUCCESS) {
    switch (error) {
      case simdjson::UTF8_ERROR: return absl::InvalidArgumentError("the body is not valid UTF-8");
      case simdjson::DEPTH_ERROR:
        return absl::InvalidArgumentError(absl::StrCat("the JSON nests deeper than ", kMaxJsonDepth, " levels"));
      case simdjson::EMPTY: return absl::InvalidArgumentError("the body is empty; a FHIR JSON resource was expected");
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("the body is not valid JSON: ", simdjson::error_message(error)));
    }
  }
  return Convert(root);
}

std::string WriteJson(const Json& value, bool pretty) {
  std::string out;
  Write(value, pretty, 0, &out);
  if (pretty) out.push_back('\n');
  return out;
}

}  // namespace hisbridge::fhir
