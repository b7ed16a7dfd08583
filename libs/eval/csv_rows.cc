#include "libs/eval/csv_rows.h"

#include "absl/strings/str_cat.h"

namespace hisbridge::eval {

CsvRows::CsvRows(absl::string_view name, absl::string_view text) : name_(name), text_(text) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

bool CsvRows::Next(std::vector<absl::string_view>* fields) {
  fields->clear();
  if (!status_.ok()) return false;
  while (pos_ < text_.size()) {
    row_line_ = line_;
    // Skip empty lines.
    if (text_[pos_] == '\n') {
      ++pos_, ++line_;
      continue;
    }
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
      pos_ += 2, ++line_;
      continue;
    }
    for (;;) {
      if (pos_ < text_.size() && text_[pos_] == '"') {
        std::string value;
        ++pos_;
        for (;;) {
          if (pos_ >= text_.size()) {
            status_ = absl::InvalidArgumentError(
                absl::StrCat(name_, " line ", row_line_, ": a quoted field is not closed"));
            return false;
          }
          const char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              value.push_back('"');
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          value.push_back(c);
        }
        arena_.push_back(std::move(value));
        fields->push_back(arena_.back());
      } else {
        const size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n') ++pos_;
        size_t end = pos_;
        if (end > start && text_[end - 1] == '\r' && (pos_ >= text_.size() || text_[pos_] == '\n')) --end;
        fields->push_back(text_.substr(start, end - start));
      }
      if (pos_ >= text_.size()) return true;
      const char sep = text_[pos_];
      if (sep == ',') {
        ++pos_;
        continue;
      }
      if (sep == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '\n') {
        ++pos_, ++line_;
        return true;
      }
      status_ = absl::InvalidArgumentError(
          absl::StrCat(name_, " line ", row_line_, ": unexpected text after a quoted field"));
      return false;
    }
  }
  return false;
}

}  // namespace hisbridge::eval
