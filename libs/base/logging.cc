#include "libs/base/logging.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/base/json_escape.h"

namespace hisbridge::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kText)};

std::mutex& SinkMutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}
std::function<void(absl::string_view)>& Sink() {
  static auto* sink = new std::function<void(absl::string_view)>;
  return *sink;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string MaskIdentifiers(absl::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i]) || (i > 0 && IsDigit(text[i - 1]))) {
      out.push_back(text[i++]);
      continue;
    }
    // A run: digits, with single '-' between digit groups, and a final X.
    size_t end = i;
    int digits = 0;
    while (end < text.size()) {
      if (IsDigit(text[end])) {
        ++digits;
        ++end;
      } else if (text[end] == '-' && end + 1 < text.size() && IsDigit(text[end + 1])) {
        ++end;
      } else {
        break;
      }
    }
    if (digits == 17 && end < text.size() && (text[end] == 'X' || text[end] == 'x')) {
      ++digits;
      ++end;
    }
    const absl::string_view run = text.substr(i, end - i);
    if (digits < 11) {
      out.append(run.data(), run.size());
    } else {
      const int keep_head = digits >= 16 ? 4 : 3;
      int seen = 0;
      for (char c : run) {
        if (c == '-') {
          out.push_back(c);
          continue;
        }
        out.push_back(seen < keep_head || seen >= digits - 4 ? c : '*');
        ++seen;
      }
    }
    i = end;
  }
  return out;
}

Field::Field(absl::string_view key, double value) : key_(key), raw_(true) {
  // JSON has no NaN or infinity; write them as strings.
  if (std::isfinite(value)) {
    value_ = absl::StrCat(value);
  } else {
    value_ = absl::StrCat(value);
    raw_ = false;
  }
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }
Level GetLevel() { return static_cast<Level>(g_level.load()); }
void SetFormat(Format format) { g_format.store(static_cast<int>(format)); }

absl::Status SetLevelByName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") SetLevel(Level::kDebug);
  else if (lower == "info") SetLevel(Level::kInfo);
  else if (lower == "warning" || lower == "warn") SetLevel(Level::kWarning);
  else if (lower == "error") SetLevel(Level::kError);
  else return absl::InvalidArgumentError(absl::StrCat("log level must be debug, info, warning or error; got \"", name, "\""));
  return absl::OkStatus();
}

absl::Status SetFormatByName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "text") SetFormat(Format::kText);
  else if (lower == "json") SetFormat(Format::kJson);
  else return absl::InvalidArgumentError(absl::StrCat("log format must be text or json; got \"", name, "\""));
  return absl::OkStatus();
}

void SetSink(std::function<void(absl::string_view)> sink) {
  std::lock_guard<std::mutex> lock(SinkMutex());
  Sink() = std::move(sink);
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void Write(Level level, absl::string_view message_in, Fields fields) {
  if (!Enabled(level)) return;
  const std::string message = MaskIdentifiers(message_in);
  const std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string line;
  if (static_cast<Format>(g_format.load()) == Format::kJson) {
    absl::StrAppend(&line, "{\"ts\":\"", ts, "\",\"level\":\"", LevelName(level), "\",\"msg\":\"");
    AppendJsonEscaped(message, &line);
    line.push_back('"');
    for (const Field& f : fields) {
      line.append(",\"");
      AppendJsonEscaped(f.key(), &line);
      line.append("\":");
      if (f.raw()) {
        line.append(f.value());
      } else {
        line.push_back('"');
        AppendJsonEscaped(MaskIdentifiers(f.value()), &line);
        line.push_back('"');
      }
    }
    line.append("}\n");
  } else {
    absl::StrAppend(&line, std::string(1, absl::ascii_toupper(LevelName(level)[0])), " ", ts, " ",
                    message);
    for (const Field& f : fields) {
      const std::string value = f.raw() ? f.value() : MaskIdentifiers(f.value());
      const bool quote = !f.raw() && (value.empty() || value.find_first_of(" \t\"=") != std::string::npos);
      absl::StrAppend(&line, " ", f.key(), "=");
      if (quote) {
        line.push_back('"');
        AppendJsonEscaped(value, &line);
        line.push_back('"');
      } else {
        line.append(value);
      }
    }
    line.push_back('\n');
  }
  std::lock_guard<std::mutex> lock(SinkMutex());
  if (Sink()) {
    Sink()(line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
}

}  // namespace hisbridge::log
