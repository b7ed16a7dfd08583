#include "connectors/file/csv_mapping.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace hisbridge::connectors::file {
namespace {

using google::protobuf::FieldDescriptor;
using hisbridge::v1::Record;

bool IsDiagnosisTarget(absl::string_view t) {
  return t == "diagnosis_code" || t == "diagnosis_display" || t == "diagnosis_system";
}

absl::Status LineError(int line, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("mapping line ", line, ": ", message));
}

const char* const kDateFormats[] = {"%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"};
const char* const kTimeFormats[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S",
                                    "%Y-%m-%d %H:%M",    "%Y/%m/%d %H:%M",    "%Y%m%d%H%M%S",
                                    "%Y-%m-%d",          "%Y/%m/%d",          "%Y%m%d"};

std::string ConvertDate(const std::string& value, const std::string& format) {
  absl::Time t;
  std::string err;
  if (!format.empty()) {
    if (absl::ParseTime(format, value, absl::UTCTimeZone(), &t, &err)) {
      return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
    }
    return value;  // kept: the validator / normaliser reports it
  }
  for (const char* f : kDateFormats) {
    if (absl::ParseTime(f, value, absl::UTCTimeZone(), &t, &err)) return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
  }
  return value;
}

std::string ConvertTime(const std::string& value, const std::string& format, absl::TimeZone zone) {
  absl::Time t;
  std::string err;
  // Already RFC 3339 with a zone: keep it as sent.
  if (absl::ParseTime(absl::RFC3339_full, value, &t, &err)) return value;
  auto out = [&](absl::Time parsed) { return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", parsed, zone); };
  if (!format.empty()) {
    if (absl::ParseTime(format, value, zone, &t, &err)) return out(t);
    return value;
  }
  for (const char* f : kTimeFormats) {
    if (absl::ParseTime(f, value, zone, &t, &err)) return out(t);
  }
  return value;
}

}  // namespace

absl::StatusOr<CsvMapping> CsvMapping::Parse(const std::string& text) {
  CsvMapping m;
  int line_number = 0;
  const google::protobuf::Descriptor* d = Record::descriptor();
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) return LineError(line_number, "expected \"field = column\"");
    const std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    absl::string_view rest = absl::StripAsciiWhitespace(line.substr(eq + 1));
    if (key.empty() || rest.empty()) return LineError(line_number, "expected \"field = column\"");
    if (key.front() == '@') {
      const std::string value(rest);
      if (key == "@encoding") {
        m.encoding_ = value;
      } else if (key == "@delimiter") {
        if (value == "\\t" || value == "tab") {
          m.delimiter_ = '\t';
        } else if (value.size() == 1) {
          m.delimiter_ = value[0];
        } else {
          return LineError(line_number, "@delimiter is one character (or \\t)");
        }
      } else if (key == "@zone") {
        absl::Time t;
        std::string err;
        if (!absl::ParseTime("%Ez", value, &t, &err)) return LineError(line_number, "@zone is like +08:00");
        const int sign = value[0] == '-' ? -1 : 1;
        int hours = 0, minutes = 0;
        (void)absl::SimpleAtoi(value.substr(1, 2), &hours);
        (void)absl::SimpleAtoi(value.substr(4, 2), &minutes);
        m.zone_ = absl::FixedTimeZone(sign * (hours * 3600 + minutes * 60));
      } else {
        return LineError(line_number, absl::StrCat("unknown option ", key, " (use @encoding, @delimiter, @zone)"));
      }
      continue;
    }
    FieldRule rule;
    rule.target = key;
    rule.line = line_number;
    const FieldDescriptor* fd = d->FindFieldByName(key);
    const bool ok_target = IsDiagnosisTarget(key) ||
                           (fd != nullptr && !fd->is_repeated() &&
                            (fd->type() == FieldDescriptor::TYPE_STRING || key == "value" || key == "days"));
    if (!ok_target) {
      return LineError(line_number, absl::StrCat("\"", key, "\" is not a record field (see spec/county-records.md)"));
    }
    std::vector<std::string> parts = absl::StrSplit(rest, absl::MaxSplits('|', 1));
    std::string source(absl::StripAsciiWhitespace(parts[0]));
    if (source.size() >= 2 && source.front() == '"' && source.back() == '"') {
      rule.constant = source.substr(1, source.size() - 2);
    } else {
      rule.column = source;
    }
    if (parts.size() > 1) {
      absl::string_view t = absl::StripAsciiWhitespace(parts[1]);
      absl::string_view word = t.substr(0, t.find(' '));
      absl::string_view arg = t.size() > word.size() ? absl::StripAsciiWhitespace(t.substr(word.size())) : "";
      if (word == "map") {
        rule.transform = FieldRule::Transform::kMap;
        for (absl::string_view pair : absl::StrSplit(arg, ' ', absl::SkipEmpty())) {
          const size_t e = pair.find('=');
          if (e == absl::string_view::npos) return LineError(line_number, "map entries are from=to");
          rule.map[std::string(pair.substr(0, e))] = std::string(pair.substr(e + 1));
        }
      } else if (word == "date") {
        rule.transform = FieldRule::Transform::kDate;
        rule.format = std::string(arg);
      } else if (word == "time") {
        rule.transform = FieldRule::Transform::kTime;
        rule.format = std::string(arg);
      } else {
        return LineError(line_number, absl::StrCat("unknown conversion \"", word, "\" (use map, date, time)"));
      }
    } else if (key == "birth_date") {
      rule.transform = FieldRule::Transform::kDate;
    } else if (key == "event_time") {
      rule.transform = FieldRule::Transform::kTime;
    }
    m.rules_.push_back(std::move(rule));
  }
  if (m.rules_.empty()) return absl::InvalidArgumentError("the mapping has no field rules");
  return m;
}

absl::Status CsvMapping::Bind(const std::vector<std::string>& header) {
  header_.clear();
  for (const std::string& h : header) header_.push_back(std::string(absl::StripAsciiWhitespace(h)));
  for (FieldRule& rule : rules_) {
    if (rule.column.empty()) continue;
    rule.column_index = -1;
    if (rule.column.size() > 1 && rule.column[0] == '#') {
      int n = 0;
      if (absl::SimpleAtoi(rule.column.substr(1), &n) && n >= 1 && n <= static_cast<int>(header_.size())) {
        rule.column_index = n - 1;
      }
    } else {
      for (size_t i = 0; i < header_.size(); ++i) {
        if (header_[i] == rule.column) rule.column_index = static_cast<int>(i);
      }
    }
    if (rule.column_index < 0) {
      return LineError(rule.line, absl::StrCat("column \"", rule.column, "\" is not in the header (",
                                               absl::StrJoin(header_, ","), ")"));
    }
  }
  return absl::OkStatus();
}

void CsvMapping::MapRow(const std::vector<std::string>& fields, Record* record,
                        std::map<std::string, std::string>* columns) const {
  const google::protobuf::Reflection* reflection = record->GetReflection();
  const google::protobuf::Descriptor* d = Record::descriptor();
  std::vector<std::string> codes, displays, systems;
  for (const FieldRule& rule : rules_) {
    std::string value;
    if (rule.column.empty()) {
      value = rule.constant;
    } else {
      value = rule.column_index < static_cast<int>(fields.size())
                  ? std::string(absl::StripAsciiWhitespace(fields[static_cast<size_t>(rule.column_index)]))
                  : "";
      (*columns)[rule.target] = absl::StrCat("\"", header_[static_cast<size_t>(rule.column_index)], "\" (column ",
                                             rule.column_index + 1, ")");
    }
    switch (rule.transform) {
      case FieldRule::Transform::kMap: {
        auto it = rule.map.find(value);
        if (it != rule.map.end()) value = it->second;
        break;
      }
      case FieldRule::Transform::kDate: value = value.empty() ? value : ConvertDate(value, rule.format); break;
      case FieldRule::Transform::kTime: value = value.empty() ? value : ConvertTime(value, rule.format, zone_); break;
      case FieldRule::Transform::kNone: break;
    }
    if (value.empty()) continue;
    if (rule.target == "diagnosis_code") {
      codes = absl::StrSplit(value, ';');
    } else if (rule.target == "diagnosis_display") {
      displays = absl::StrSplit(value, ';');
    } else if (rule.target == "diagnosis_system") {
      systems = absl::StrSplit(value, ';');
    } else if (rule.target == "value") {
      double number = 0;
      if (absl::SimpleAtod(value, &number) && std::isfinite(number)) {
        record->mutable_value()->set_number_value(number);
      } else {
        record->mutable_value()->set_string_value(value);
      }
    } else if (rule.target == "days") {
      int days = 0;
      if (absl::SimpleAtoi(value, &days)) record->set_days(days);
    } else {
      reflection->SetString(record, d->FindFieldByName(rule.target), value);
    }
  }
  const size_t n = std::max(codes.size(), displays.size());
  for (size_t i = 0; i < n; ++i) {
    auto* dx = record->add_diagnoses();
    if (i < codes.size()) dx->set_code(std::string(absl::StripAsciiWhitespace(codes[i])));
    if (i < displays.size()) dx->set_display(std::string(absl::StripAsciiWhitespace(displays[i])));
    dx->set_system(i < systems.size() ? systems[i] : systems.empty() ? "ICD-10" : systems.back());
  }
  if (record->kind().empty()) record->set_kind("patient");
}

}  // namespace hisbridge::connectors::file
