// CSV rows (RFC 4180) from an in-memory file image, as HIS exports write
// them: a header row, fields separated by a delimiter, quoted fields that
// may hold the delimiter, doubled quotes and line breaks; LF, CRLF or CR
// line ends; a UTF-8 byte-order mark at the start.
//
// The reader works on the raw bytes, before any character-set conversion:
// in UTF-8, GBK, GB18030 and Big5 no byte of a multi-byte character equals
// ',', '"', CR or LF, so splitting first and converting each field after is
// exact and keeps every row's byte offsets in terms of the file (which is
// what a resumable import records).
//
// A malformed row (an unterminated quoted field, text after a closing
// quote, too many or too long fields) comes back with `error` set and its
// line and column, and reading continues with the next line: one bad row
// never stops an import.
//
// Ownership: the reader borrows `data`, which must outlive it.
// Thread safety: not thread-safe.
#ifndef HISBRIDGE_LIBS_CSV_CSV_READER_H_
#define HISBRIDGE_LIBS_CSV_CSV_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hisbridge::csv {

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
  size_t max_field_bytes = 64 << 10;
  size_t max_fields = 1000;
};

struct CsvRow {
  // 1-based line number of the row's first line (blank lines count).
  int64_t line = 0;
  // Byte offsets of the row in the file: [begin, end) including its line end.
  int64_t begin_offset = 0;
  int64_t end_offset = 0;
  // Unquoted field bytes, in the file's encoding.
  std::vector<std::string> fields;
  // Non-empty when the row is malformed; `error_column` is 1-based.
  std::string error;
  int error_column = 0;
  bool ok() const { return error.empty(); }
};

class CsvReader {
 public:
  // `data` is the file from byte `base_offset` on, whose first line is line
  // `first_line`. A UTF-8 byte-order mark is skipped when base_offset is 0.
  CsvReader(absl::string_view data, int64_t base_offset = 0, int64_t first_line = 1, CsvOptions options = {});

  // The next non-blank row; false at the end of the data.
  bool Next(CsvRow* row);

 private:
  // Skips to just past the end of the line containing `pos`.
  size_t SkipLine(size_t pos, int64_t* lines) const;

  absl::string_view data_;
  int64_t base_offset_;
  int64_t line_;
  CsvOptions options_;
  size_t pos_ = 0;
};

}  // namespace hisbridge::csv

#endif  // HISBRIDGE_LIBS_CSV_CSV_READER_H_
