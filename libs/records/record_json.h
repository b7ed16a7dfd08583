// The county record JSON Lines format (spec/county-records.md) <-> Record.
//
// ParseRecordJson turns one line into a hisbridge.v1.Record and reports, per
// field, what was wrong with the *shape* of the line: not JSON, not an
// object, a field of the wrong JSON type, a field given twice. Unknown
// fields do not reject the line; they come back as findings so a misspelt
// field is noticed. `null` and absent are the same. Semantic rules (which
// fields a kind needs, valid ops, timestamps) are ValidateRecord's job, so
// records that arrive as protobuf go through exactly the same rules.
//
// RecordToJson writes the canonical line for a Record: spec field names,
// fixed field order, empty fields omitted.
//
// Thread safety: RecordJsonParser holds a reusable simdjson parser and is
// not thread-safe; use one per thread. RecordToJson is a pure function.
#ifndef HISBRIDGE_LIBS_RECORDS_RECORD_JSON_H_
#define HISBRIDGE_LIBS_RECORDS_RECORD_JSON_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "hisbridge/v1/records.pb.h"

namespace hisbridge::records {

// Longest line accepted; longer lines are rejected, not truncated.
inline constexpr size_t kMaxLineBytes = 1 << 20;

struct ParsedRecord {
  hisbridge::v1::Record record;
  // Non-empty means the line is rejected.
  std::vector<hisbridge::v1::FieldIssue> errors;
  // Data-quality notes that do not reject the line.
  std::vector<hisbridge::v1::FieldIssue> findings;
  bool ok() const { return errors.empty(); }
};

class RecordJsonParser {
 public:
  RecordJsonParser();
  ~RecordJsonParser();
  RecordJsonParser(const RecordJsonParser&) = delete;
  RecordJsonParser& operator=(const RecordJsonParser&) = delete;

  // Parses one line (without its line terminator). When `padded` is true the
  // caller guarantees 64 readable bytes after line.end(), which avoids a copy.
  void Parse(absl::string_view line, ParsedRecord* out, bool padded = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The canonical JSON line for `record` (no trailing newline).
std::string RecordToJson(const hisbridge::v1::Record& record);

// Helper to build a FieldIssue.
hisbridge::v1::FieldIssue MakeIssue(absl::string_view field, absl::string_view rule,
                                    absl::string_view message);

}  // namespace hisbridge::records

#endif  // HISBRIDGE_LIBS_RECORDS_RECORD_JSON_H_
