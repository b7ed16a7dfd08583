#include "libs/csv/csv_reader.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hisbridge::csv {

CsvReader::CsvReader(absl::string_view data, int64_t base_offset, int64_t first_line, CsvOptions options)
    : data_(data), base_offset_(base_offset), line_(first_line), options_(options) {
  if (base_offset == 0 && absl::StartsWith(data_, "\xEF\xBB\xBF")) pos_ = 3;
}

size_t CsvReader::SkipLine(size_t pos, int64_t* lines) const {
  while (pos < data_.size() && data_[pos] != '\n' && data_[pos] != '\r') ++pos;
  if (pos < data_.size()) {
    if (data_[pos] == '\r' && pos + 1 < data_.size() && data_[pos + 1] == '\n') ++pos;
    ++pos;
    ++*lines;
  }
  return pos;
}

bool CsvReader::Next(CsvRow* row) {
  const char delim = options_.delimiter;
  const char quote = options_.quote;
  for (;;) {
    if (pos_ >= data_.size()) return false;
    // Blank lines are not rows.
    if (data_[pos_] == '\n' || data_[pos_] == '\r') {
      pos_ = SkipLine(pos_, &line_);
      continue;
    }
    break;
  }
  row->fields.clear();
  row->error.clear();
  row->error_column = 0;
  row->line = line_;
  row->begin_offset = base_offset_ + static_cast<int64_t>(pos_);
  const size_t row_start = pos_;
  int64_t lines_in_row = 0;
  std::string field;
  size_t i = pos_;
  auto fail = [&](std::string message) {
    row->error = std::move(message);
    row->error_column = static_cast<int>(row->fields.size()) + 1;
    // Resume after the row's first line: the quote that ran away was most
    // likely a stray one, and the following lines are rows of their own.
    int64_t skipped = 0;
    pos_ = SkipLine(row_start, &skipped);
    line_ = row->line + skipped;
    row->end_offset = base_offset_ + static_cast<int64_t>(pos_);
    return true;
  };
  for (;;) {
    field.clear();
    if (i < data_.size() && data_[i] == quote) {
      ++i;
      bool closed = false;
      while (i < data_.size()) {
        const char c = data_[i];
        if (c == quote) {
          if (i + 1 < data_.size() && data_[i + 1] == quote) {
            field.push_back(quote);
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (c == '\n' || (c == '\r' && !(i + 1 < data_.size() && data_[i + 1] == '\n'))) ++lines_in_row;
        field.push_back(c);
        ++i;
        if (field.size() > options_.max_field_bytes) break;
      }
      if (field.size() > options_.max_field_bytes) {
        return fail(absl::StrCat("field longer than ", options_.max_field_bytes, " bytes"));
      }
      if (!closed) return fail("quoted field is not closed before the end of the file");
      if (i < data_.size() && data_[i] != delim && data_[i] != '\n' && data_[i] != '\r') {
        return fail("text after the closing quote of a quoted field");
      }
    } else {
      while (i < data_.size() && data_[i] != delim && data_[i] != '\n' && data_[i] != '\r') {
        field.push_back(data_[i]);
        ++i;
        if (field.size() > options_.max_field_bytes) {
          return fail(absl::StrCat("field longer than ", options_.max_field_bytes, " bytes"));
        }
      }
    }
    row->fields.push_back(field);
    if (row->fields.size() > options_.max_fields) {
      return fail(absl::StrCat("more than ", options_.max_fields, " fields"));
    }
    if (i < data_.size() && data_[i] == delim) {
      ++i;
      continue;
    }
    break;
  }
  // At a line end or the end of the data.
  if (i < data_.size()) {
    if (data_[i] == '\r' && i + 1 < data_.size() && data_[i + 1] == '\n') ++i;
    ++i;
    ++lines_in_row;
  }
  pos_ = i;
  line_ += lines_in_row;
  row->end_offset = base_offset_ + static_cast<int64_t>(pos_);
  return true;
}

}  // namespace hisbridge::csv
