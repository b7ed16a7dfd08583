// A minimal writer for one JSON object per line, fields in the order they
// are added (the spec's field order), empty strings omitted. Used by the
// generator, which writes millions of lines and needs neither a DOM nor
// protobuf.
//
// Thread safety: a JsonLine appends to a caller-owned string; not shared.
#ifndef HISBRIDGE_LIBS_SYNTH_JSON_LINE_H_
#define HISBRIDGE_LIBS_SYNTH_JSON_LINE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace hisbridge::synth {

// Appends `text` JSON-escaped (without quotes).
void AppendJsonEscaped(absl::string_view text, std::string* out);

class JsonLine {
 public:
  explicit JsonLine(std::string* out) : out_(out) { out_->push_back('{'); }
  // A string field; skipped when `value` is empty.
  JsonLine& Str(absl::string_view key, absl::string_view value);
  // A field whose value is already JSON (a number, an array).
  JsonLine& Raw(absl::string_view key, absl::string_view json);
  JsonLine& Int(absl::string_view key, int64_t value);
  // Closes the object (no newline).
  void End() { out_->push_back('}'); }

 private:
  void Key(absl::string_view key);
  std::string* out_;
  bool first_ = true;
};

}  // namespace hisbridge::synth

#endif  // HISBRIDGE_LIBS_SYNTH_JSON_LINE_H_
