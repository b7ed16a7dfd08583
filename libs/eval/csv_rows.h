// A small RFC 4180 reader for the scorer's CSV files: fields are views into
// the caller's buffer, or into the reader's arena when quoting forces an
// unescaped copy, so both stay valid as long as the buffer and the reader
// live. Accepts LF and CRLF, a UTF-8 byte-order mark, quoted fields with ""
// escapes and embedded newlines; an unterminated quote is an error naming
// the line.
//
// Thread safety: not thread-safe; one reader per file.
#ifndef HISBRIDGE_LIBS_EVAL_CSV_ROWS_H_
#define HISBRIDGE_LIBS_EVAL_CSV_ROWS_H_

#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hisbridge::eval {

class CsvRows {
 public:
  CsvRows(absl::string_view name, absl::string_view text);

  // The next non-empty row into *fields; false at the end or on an error
  // (then status() says which).
  bool Next(std::vector<absl::string_view>* fields);
  const absl::Status& status() const { return status_; }
  // The line the last row returned started on (1-based).
  int64_t line() const { return row_line_; }
  absl::string_view name() const { return name_; }

 private:
  std::string name_;
  absl::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  int64_t row_line_ = 0;
  absl::Status status_;
  std::deque<std::string> arena_;
};

}  // namespace hisbridge::eval

#endif  // HISBRIDGE_LIBS_EVAL_CSV_ROWS_H_
