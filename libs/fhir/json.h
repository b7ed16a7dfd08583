// A small JSON document tree for FHIR resources: parsed from request bodies
// and built for responses.
//
// FHIR's JSON rules need more than a typed accessor API: member order and
// duplicate members must be visible (a duplicate property is an error), a
// number must say whether it was written as an integer (FHIR `integer`
// elements reject 5.0), and responses are built incrementally. Json is a
// plain value type holding exactly that. ParseJson reads a body with
// simdjson (strict RFC 8259, UTF-8 validated, depth-limited) into a tree;
// WriteJson serialises one, compact or indented.
//
// Thread safety: Json is a value; const access is safe from many threads.
#ifndef HISBRIDGE_LIBS_FHIR_JSON_H_
#define HISBRIDGE_LIBS_FHIR_JSON_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::fhir {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, Json>;

  Json() = default;  // null
  static Json Bool(bool value);
  static Json Integer(int64_t value);
  static Json Number(double value);
  static Json String(std::string value);
  static Json Array();
  static Json Object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors return a neutral value (false, 0, "", empty) for other types,
  // so mapping code can read a tree that failed validation without crashing.
  bool bool_value() const { return type_ == Type::kBool && bool_; }
  double number() const { return type_ == Type::kNumber ? number_ : 0; }
  // The number was written without fraction or exponent and fits int64.
  bool is_integer() const { return type_ == Type::kNumber && is_integer_; }
  int64_t integer() const { return is_integer() ? integer_ : 0; }
  const std::string& string() const;
  const std::vector<Json>& items() const;
  const std::vector<Member>& members() const;
  size_t size() const;

  // The first member named `key` of an object; null when absent or when
  // this is not an object.
  const Json* Find(absl::string_view key) const;
  // Find(key) as a string ("" when absent or not a string).
  const std::string& GetString(absl::string_view key) const;
  // Find(key) when it is an array, else an empty list.
  const std::vector<Json>& GetArray(absl::string_view key) const;

  // Builders. Set replaces the first member named `key` or appends one;
  // Append adds to an array. Both turn a null into the right container.
  Json& Set(absl::string_view key, Json value);
  Json& Append(Json value);
  // Appends a member even when one of that name exists (the parser keeps
  // duplicates visible so that validation can report them).
  Json& AddMember(std::string key, Json value);

  // The number as JSON text ("120.5", "7"); shortest round-trip form.
  std::string NumberText() const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  bool is_integer_ = false;
  double number_ = 0;
  int64_t integer_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<Member> members_;
};

// Deepest nesting ParseJson accepts (FHIR resources are far shallower).
inline constexpr size_t kMaxJsonDepth = 128;

// Parses one JSON document. A UTF-8 byte-order mark is skipped (several
// FHIR tools write one). INVALID_ARGUMENT says what is wrong: not JSON,
// invalid UTF-8, too deep, trailing content.
absl::StatusOr<Json> ParseJson(absl::string_view text);

// Serialises `value`; with `pretty`, two-space indentation. Strings are
// written as UTF-8 with the JSON escapes; invalid UTF-8 becomes U+FFFD.
std::string WriteJson(const Json& value, bool pretty = false);

}  // namespace hisbridge::fhir

#endif  // HISBRIDGE_LIBS_FHIR_JSON_H_
