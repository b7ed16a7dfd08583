// Reads a JSON Lines file line by line, in large blocks, without copying
// each line: every returned line is followed by at least kLinePadding
// readable bytes, as simdjson needs.
//
// Handles a UTF-8 byte-order mark at the start, CRLF line ends and a last
// line without a newline. Blank lines are skipped (they are not records)
// but still counted, so line numbers match what an editor shows. A line
// longer than kMaxLineBytes is returned with `too_long` set and its text
// cut to the first kMaxLineBytes bytes, so the caller can reject it by
// line number; the reader never holds more than one such line in memory.
//
// Ownership: a returned line's text is valid until the next call to Next().
// Thread safety: not thread-safe.
#ifndef HISBRIDGE_LIBS_RECORDS_LINE_READER_H_
#define HISBRIDGE_LIBS_RECORDS_LINE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::records {

inline constexpr size_t kLinePadding = 64;

struct Line {
  // 1-based line number in the file.
  int64_t number = 0;
  absl::string_view text;
  // Byte offset just past this line's terminator: where to resume.
  int64_t end_offset = 0;
  bool too_long = false;
};

class LineReader {
 public:
  // Opens `path` ("-" reads standard input). Reading starts at byte
  // `start_offset` (which must be a line start), counting lines from
  // `start_line` (the number of the line at that offset).
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(const std::string& path,
                                                          int64_t start_offset = 0,
                                                          int64_t start_line = 1);
  // Reads from an in-memory buffer (tests, gRPC payloads).
  static std::unique_ptr<LineReader> FromString(std::string contents);

  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Fills `line` with the next non-blank line; false at the end of input or
  // on a read error (then status() says which).
  bool Next(Line* line);
  const absl::Status& status() const { return status_; }

 private:
  LineReader(int fd, bool owns_fd, int64_t start_offset, int64_t start_line);
  // Ensures the buffer holds at least one more byte past `pos_`, compacting
  // and refilling it; false at end of input.
  bool Fill();
  // Consumes a line longer than kMaxLineBytes and reports its head;
  // `newline` is its terminator when already in the buffer.
  bool SkipLongLine(Line* line, const char* newline);

  int fd_;
  bool owns_fd_;
  bool eof_ = false;
  bool at_start_;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last valid byte
  int64_t offset_of_begin_;
  int64_t next_line_number_;
  std::string long_line_;
  absl::Status status_;
};

}  // namespace hisbridge::records

#endif  // HISBRIDGE_LIBS_RECORDS_LINE_READER_H_
