// The column mapping of a CSV export: which CSV column (by header name)
// fills which county record field, constants, and value conversions.
//
// Format (docs/connectors.md has the full description), one rule a line:
//
//   # a comment
//   @encoding  = gb18030          file options: encoding, delimiter, zone
//   @delimiter = ,
//   @zone      = +08:00
//   kind        = "patient"       a constant (double quotes)
//   facility_id = "450321-CS-011"
//   record_id   = 档案号           a column, by its header name
//   name        = 姓名
//   sex         = 性别 | map 男=1 女=2 未知=0
//   birth_date  = 出生日期 | date %Y/%m/%d
//   event_time  = 更新时间 | time %Y-%m-%d %H:%M:%S
//
// Targets are the spec's field names, plus diagnosis_code /
// diagnosis_display / diagnosis_system (several diagnoses separated by ';'
// in one cell). birth_date and event_time convert common date and time
// layouts automatically when no format is given; times without a zone get
// @zone (default +08:00).
//
// Thread safety: a bound CsvMapping is immutable and safe to share.
#ifndef HISBRIDGE_CONNECTORS_FILE_CSV_MAPPING_H_
#define HISBRIDGE_CONNECTORS_FILE_CSV_MAPPING_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hisbridge/v1/records.pb.h"

namespace hisbridge::connectors::file {

struct FieldRule {
  std::string target;      // record field
  std::string column;      // header name, empty for a constant
  std::string constant;
  enum class Transform { kNone, kMap, kDate, kTime } transform = Transform::kNone;
  std::map<std::string, std::string> map;
  std::string format;      // strptime-style for kDate / kTime
  int line = 0;            // in the mapping file
  int column_index = -1;   // bound to the header
};

class CsvMapping {
 public:
  static absl::StatusOr<CsvMapping> Parse(const std::string& text);

  // Binds column names to positions in a header (UTF-8); a column that is
  // not in the header is INVALID_ARGUMENT naming the mapping line.
  absl::Status Bind(const std::vector<std::string>& header);

  // Fills `record` from one row (UTF-8 fields). `columns` receives, per
  // record field, "<header name> (column N)" for error messages.
  void MapRow(const std::vector<std::string>& fields, hisbridge::v1::Record* record,
              std::map<std::string, std::string>* columns) const;

  const std::string& encoding() const { return encoding_; }
  char delimiter() const { return delimiter_; }
  const std::vector<FieldRule>& rules() const { return rules_; }

 private:
  std::vector<FieldRule> rules_;
  std::vector<std::string> header_;
  std::string encoding_;
  char delimiter_ = ',';
  absl::TimeZone zone_ = absl::FixedTimeZone(8 * 3600);
};

}  // namespace hisbridge::connectors::file

#endif  // HISBRIDGE_CONNECTORS_FILE_CSV_MAPPING_H_
