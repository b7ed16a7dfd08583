// Structured logging for every hisbridge role.
//
// A log line is a level, a message and key/value fields. Two formats:
// `text` (for a terminal: "I 2026-03-01T08:30:00.123Z linker started partitions=4")
// and `json` (one object per line, for Kubernetes log collectors:
// {"ts":"...","level":"info","msg":"linker started","partitions":4}).
//
//   log::Info("linker started", {{"partitions", 4}, {"dir", dir}});
//   log::Error("offset gap", {{"partition", p}, {"expected", e}, {"got", g}});
//
// Thread safety: all functions may be called from any thread; each line is
// written whole. Configuration (SetLevel, SetFormat, SetSink) is meant to be
// done once at start-up but is safe at any time.
#ifndef HISBRIDGE_LIBS_BASE_LOGGING_H_
#define HISBRIDGE_LIBS_BASE_LOGGING_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hisbridge::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class Format { kText, kJson };

// One key/value pair of a log line. Numbers and booleans are kept unquoted
// in JSON output.
class Field {
 public:
  Field(absl::string_view key, absl::string_view value) : key_(key), value_(value) {}
  Field(absl::string_view key, const char* value) : key_(key), value_(value ? value : "") {}
  Field(absl::string_view key, const std::string& value) : key_(key), value_(value) {}
  Field(absl::string_view key, bool value) : key_(key), value_(value ? "true" : "false"), raw_(true) {}
  Field(absl::string_view key, double value);
  Field(absl::string_view key, const absl::Status& status) : key_(key), value_(status.ToString()) {}
  template <typename Int, typename = std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>>>
  Field(absl::string_view key, Int value) : key_(key), value_(std::to_string(value)), raw_(true) {}

  absl::string_view key() const { return key_; }
  const std::string& value() const { return value_; }
  // True when the value is a JSON number or boolean literal.
  bool raw() const { return raw_; }

 private:
  absl::string_view key_;
  std::string value_;
  bool raw_ = false;
};

using Fields = std::initializer_list<Field>;

void SetLevel(Level level);
Level GetLevel();
void SetFormat(Format format);
// Parses "debug|info|warning|error" and "text|json".
absl::Status SetLevelByName(absl::string_view name);
absl::Status SetFormatByName(absl::string_view name);

// Replaces the destination of formatted lines (default: stderr). Tests use it
// to capture output. Pass nullptr to restore stderr.
void SetSink(std::function<void(absl::string_view line)> sink);

bool Enabled(Level level);
void Write(Level level, absl::string_view message, Fields fields = {});

inline void Debug(absl::string_view message, Fields fields = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, message, fields);
}
inline void Info(absl::string_view message, Fields fields = {}) {
  Write(Level::kInfo, message, fields);
}
inline void Warning(absl::string_view message, Fields fields = {}) {
  Write(Level::kWarning, message, fields);
}
inline void Error(absl::string_view message, Fields fields = {}) {
  Write(Level::kError, message, fields);
}

// Masks what looks like a personal identifier in free text, keeping enough
// to recognise it: every run of 11 or more digits (resident ids of 15 or
// 18 characters, including a final X; mobile and landline phones; other
// identifier numbers), where digit groups joined by single '-' count as one
// run ("130-1837-7162", "0773-2812345"). The first 4 digits (3 when the run
// is shorter than 16) and the last 4 stay; the others become '*':
//   "id_number 450321198503021232 has a bad check digit"
//   -> "id_number 4503**********1232 has a bad check digit"
// Every log line's message and text fields go through it, so identifiers
// quoted by error messages never reach a log in plaintext. Shorter digit
// runs (dates, counts, ports, offsets) are left alone.
std::string MaskIdentifiers(absl::string_view text);

}  // namespace hisbridge::log

#endif  // HISBRIDGE_LIBS_BASE_LOGGING_H_
