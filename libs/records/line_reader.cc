#include "libs/records/line_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "libs/records/record_json.h"

namespace hisbridge::records {
namespace {
constexpr size_t kBlockBytes = 4 << 20;
}  // namespace

absl::StatusOr<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path,
                                                             int64_t start_offset,
                                                             int64_t start_line) {
  if (path == "-") {
    return std::unique_ptr<LineReader>(new LineReader(STDIN_FILENO, false, 0, 1));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return absl::Status(err == ENOENT ? absl::StatusCode::kNotFound : absl::StatusCode::kPermissionDenied,
                        absl::StrCat("cannot open ", path, ": ", std::strerror(err)));
  }
  if (start_offset > 0 && ::lseek(fd, start_offset, SEEK_SET) != start_offset) {
    const int err = errno;
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot seek ", path, " to byte ", start_offset, ": ", std::strerror(err)));
  }
  return std::unique_ptr<LineReader>(new LineReader(fd, true, start_offset, start_line));
}

std::unique_ptr<LineReader> LineReader::FromString(std::string contents) {
  auto reader = std::unique_ptr<LineReader>(new LineReader(-1, false, 0, 1));
  reader->buffer_.assign(contents.begin(), contents.end());
  reader->end_ = reader->buffer_.size();
  reader->buffer_.resize(reader->end_ + kLinePadding, '\0');
  reader->eof_ = true;
  return reader;
}

LineReader::LineReader(int fd, bool owns_fd, int64_t start_offset, int64_t start_line)
    : fd_(fd),
      owns_fd_(owns_fd),
      at_start_(start_offset == 0),
      offset_of_begin_(start_offset),
      next_line_number_(start_line) {}

LineReader::~LineReader() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

bool LineReader::Fill() {
  if (eof_ || fd_ < 0) return false;
  // Move the unconsumed tail to the front, then read a block after it.
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    offset_of_begin_ += static_cast<int64_t>(begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() < end_ + kBlockBytes + kLinePadding) buffer_.resize(end_ + kBlockBytes + kLinePadding);
  while (true) {
    const ssize_t n = ::read(fd_, buffer_.data() + end_, kBlockBytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      status_ = absl::InternalError(absl::StrCat("read error: ", std::strerror(errno)));
      eof_ = true;
      return false;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    end_ += static_cast<size_t>(n);
    std::memset(buffer_.data() + end_, 0, kLinePadding);
    return true;
  }
}

bool LineReader::SkipLongLine(Line* line, const char* newline) {
  // Keep the head for the error message and discard the rest of the line
  // block by block, so a runaway line cannot exhaust memory.
  long_line_.assign(buffer_.data() + begin_, kMaxLineBytes);
  if (newline != nullptr) {
    begin_ = static_cast<size_t>(newline - buffer_.data()) + 1;
    line->number = next_line_number_++;
    line->too_long = true;
    line->text = long_line_;
    line->end_offset = offset_of_begin_ + static_cast<int64_t>(begin_);
    return true;
  }
  begin_ = end_;
  while (Fill()) {
    const char* newline = static_cast<const char*>(std::memchr(buffer_.data(), '\n', end_));
    if (newline != nullptr) {
      begin_ = static_cast<size_t>(newline - buffer_.data()) + 1;
      break;
    }
    begin_ = end_;
  }
  line->number = next_line_number_++;
  line->too_long = true;
  line->text = long_line_;
  line->end_offset = offset_of_begin_ + static_cast<int64_t>(begin_);
  return true;
}

bool LineReader::Next(Line* line) {
  while (true) {
    if (at_start_) {
      // Byte-order marks come from Windows editors and some HIS exports.
      while (end_ - begin_ < 3 && Fill()) {
      }
      if (end_ - begin_ >= 3 && std::memcmp(buffer_.data() + begin_, "\xEF\xBB\xBF", 3) == 0) begin_ += 3;
      at_start_ = false;
    }
    // Find the end of the current line, reading more as needed. `searched`
    // is relative to begin_ because Fill() moves the unconsumed bytes.
    size_t searched = 0;
    const char* newline = nullptr;
    while (true) {
      newline = static_cast<const char*>(
          std::memchr(buffer_.data() + begin_ + searched, '\n', end_ - begin_ - searched));
      if (newline != nullptr) break;
      searched = end_ - begin_;
      if (searched > kMaxLineBytes) return SkipLongLine(line, nullptr);
      if (!Fill()) break;
    }
    size_t line_end;
    size_t next_begin;
    if (newline != nullptr) {
      line_end = static_cast<size_t>(newline - buffer_.data());
      next_begin = line_end + 1;
    } else {
      if (begin_ >= end_) return false;  // end of input
      line_end = end_;
      next_begin = end_;
    }
    if (line_end - begin_ > kMaxLineBytes) return SkipLongLine(line, newline);
    const int64_t number = next_line_number_++;
    size_t text_end = line_end;
    if (text_end > begin_ && buffer_[text_end - 1] == '\r') --text_end;
    const absl::string_view text(buffer_.data() + begin_, text_end - begin_);
    begin_ = next_begin;
    if (text.find_first_not_of(" \t") == absl::string_view::npos) continue;  // blank: not a record
    // Every position up to end_ has kLinePadding readable bytes after it, as
    // simdjson requires (their contents do not matter).
    line->number = number;
    line->text = text;
    line->too_long = false;
    line->end_offset = offset_of_begin_ + static_cast<int64_t>(begin_);
    return true;
  }
}

}  // namespace hisbridge::records
