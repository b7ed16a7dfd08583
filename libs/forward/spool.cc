#include "libs/forward/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"

namespace hisbridge::forward {
namespace {

constexpr size_t kFrameHeader = 8;
constexpr uint32_t kMaxEntryBytes = 64u << 20;

const uint32_t* CrcTable() {
  static const uint32_t* table = [] {
    auto* t = new uint32_t[256];
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// A CRC of data that itself contains CRCs is weak; mask it (as LevelDB does).
uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

void PutU32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  const int err = errno;
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

bool ReadFully(int fd, char* buffer, size_t size, int64_t offset) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, buffer + done, size - done, offset + static_cast<int64_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

uint32_t Crc32c(absl::string_view data) {
  const uint32_t* table = CrcTable();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {}

Spool::~Spool() {
  if (active_fd_ >= 0) ::close(active_fd_);
}

std::string Spool::SegmentPath(uint64_t segment) const {
  return absl::StrCat(options_.dir, "/segment-", absl::Dec(segment, absl::kZeroPad10), ".log");
}

absl::Status Spool::SyncDir() const {
  if (!options_.sync) return absl::OkStatus();
  const int fd = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open spool directory", options_.dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync spool directory", options_.dir);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(const SpoolOptions& options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("spool: a directory is required");
  auto made = MakeDirectories(options.dir);
  if (!made.ok()) return made;
  std::unique_ptr<Spool> spool(new Spool(options));
  auto s = spool->Recover();
  if (!s.ok()) return s;
  return spool;
}

absl::Status Spool::WriteCommitted(uint64_t segment, int64_t offset) {
  if (!options_.sync) {
    // Still atomic; only the fsync is skipped (benchmarks of other parts).
  }
  return WriteFileAtomically(options_.dir + "/committed", absl::StrCat(segment, " ", offset, "\n"));
}

absl::Status Spool::OpenActive(uint64_t segment, bool create) {
  if (active_fd_ >= 0) ::close(active_fd_);
  const std::string path = SegmentPath(segment);
  active_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (active_fd_ < 0) return Errno("cannot open spool segment", path);
  struct stat st;
  if (::fstat(active_fd_, &st) != 0) return Errno("cannot stat spool segment", path);
  active_size_ = st.st_size;
  active_segment_ = segment;
  if (create && (segments_.empty() || segments_.back() != segment)) {
    segments_.push_back(segment);
    auto s = SyncDir();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Spool::Recover() {
  DIR* dir = ::opendir(options_.dir.c_str());
  if (dir == nullptr) return Errno("cannot list spool directory", options_.dir);
  while (dirent* e = ::readdir(dir)) {
    absl::string_view name(e->d_name);
    if (!absl::ConsumePrefix(&name, "segment-") || !absl::ConsumeSuffix(&name, ".log")) continue;
    uint64_t n = 0;
    if (absl::SimpleAtoi(name, &n)) segments_.push_back(n);
  }
  ::closedir(dir);
  std::sort(segments_.begin(), segments_.end());

  uint64_t committed_segment = segments_.empty() ? 1 : segments_.front();
  int64_t committed_offset = 0;
  const std::string committed_path = options_.dir + "/committed";
  if (PathExists(committed_path)) {
    auto text = ReadFileToString(committed_path);
    if (!text.ok()) return text.status();
    std::vector<absl::string_view> parts = absl::StrSplit(absl::StripAsciiWhitespace(*text), ' ');
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &committed_segment) ||
        !absl::SimpleAtoi(parts[1], &committed_offset) || committed_offset < 0) {
      return absl::DataLossError(absl::StrCat("spool: ", committed_path, " is unreadable: \"", *text, "\""));
    }
  }
  // Segments wholly before the committed position were forwarded.
  while (!segments_.empty() && segments_.front() < committed_segment) {
    const std::string path = SegmentPath(segments_.front());
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove forwarded segment", path);
    segments_.erase(segments_.begin());
  }
  for (size_t k = 0; k < segments_.size(); ++k) {
    const uint64_t segment = segments_[k];
    const std::string path = SegmentPath(segment);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open spool segment", path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return Errno("cannot stat spool segment", path);
    }
    const int64_t size = st.st_size;
    int64_t offset = segment == committed_segment ? std::min(committed_offset, size) : 0;
    std::string payload;
    bool torn = false;
    while (offset < size) {
      char header[kFrameHeader];
      if (size - offset < static_cast<int64_t>(kFrameHeader) || !ReadFully(fd, header, kFrameHeader, offset)) {
        torn = true;
        break;
      }
      const uint32_t length = GetU32(header);
      const uint32_t crc = GetU32(header + 4);
      if (length > kMaxEntryBytes || size - offset - static_cast<int64_t>(kFrameHeader) < length) {
        torn = true;
        break;
      }
      payload.resize(length);
      if (!ReadFully(fd, payload.data(), length, offset + static_cast<int64_t>(kFrameHeader)) ||
          Mask(Crc32c(payload)) != crc) {
        torn = true;
        break;
      }
      pending_.push_back({segment, offset, length});
      pending_bytes_ += static_cast<int64_t>(kFrameHeader) + length;
      offset += static_cast<int64_t>(kFrameHeader) + length;
    }
    ::close(fd);
    if (torn) {
      if (k + 1 != segments_.size()) {
        return absl::DataLossError(absl::StrCat("spool: segment ", path, " is damaged at byte ", offset,
                                                " and later segments exist; move the spool directory aside "
                                                "and inspect it"));
      }
      // A torn tail was never acknowledged: cut it off.
      if (::truncate(path.c_str(), offset) != 0) return Errno("cannot truncate torn spool tail of", path);
      recovery_.discarded_tail_bytes = size - offset;
      log::Warning("spool: cut off a torn tail (an append interrupted by a crash, never acknowledged)",
                   {{"segment", path}, {"offset", offset}, {"bytes", size - offset}});
    }
  }
  recovery_.pending_entries = static_cast<int64_t>(pending_.size());
  recovery_.pending_bytes = pending_bytes_;
  const uint64_t active = segments_.empty() ? committed_segment : segments_.back();
  return OpenActive(active, /*create=*/true);
}

absl::Status Spool::Append(const std::vector<std::string>& payloads) {
  if (payloads.empty()) return absl::OkStatus();
  int64_t bytes = 0;
  for (const std::string& p : payloads) {
    if (p.size() > kMaxEntryBytes) {
      return absl::InvalidArgumentError(absl::StrCat("spool: an entry of ", p.size(), " bytes exceeds the limit of ",
                                                     kMaxEntryBytes));
    }
    bytes += static_cast<int64_t>(kFrameHeader + p.size());
  }
  if (pending_bytes_ + bytes > options_.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("spool full: ", pending_bytes_, " bytes (", pending_.size(),
                                                     " entries) wait to be forwarded; the limit is ",
                                                     options_.max_bytes, " bytes"));
  }
  if (active_size_ >= options_.segment_bytes) {
    auto s = OpenActive(active_segment_ + 1, /*create=*/true);
    if (!s.ok()) return s;
  }
  std::string buffer;
  buffer.reserve(static_cast<size_t>(bytes));
  for (const std::string& p : payloads) {
    char header[kFrameHeader];
    PutU32(static_cast<uint32_t>(p.size()), header);
    PutU32(Mask(Crc32c(p)), header + 4);
    buffer.append(header, kFrameHeader);
    buffer.append(p);
  }
  size_t written = 0;
  while (written < buffer.size()) {
    const ssize_t n = ::write(active_fd_, buffer.data() + written, buffer.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto error = Errno("cannot append to spool segment", SegmentPath(active_segment_));
      // Leave no partial frame behind: a later append must not follow it.
      if (::ftruncate(active_fd_, active_size_) != 0) {
        log::Error("spool: cannot cut off a failed append", {{"segment", SegmentPath(active_segment_)}});
      }
      return error;
    }
    written += static_cast<size_t>(n);
  }
  if (options_.sync && ::fdatasync(active_fd_) != 0) {
    return Errno("cannot fsync spool segment", SegmentPath(active_segment_));
  }
  int64_t offset = active_size_;
  for (const std::string& p : payloads) {
    pending_.push_back({active_segment_, offset, static_cast<uint32_t>(p.size())});
    offset += static_cast<int64_t>(kFrameHeader + p.size());
  }
  active_size_ = offset;
  pending_bytes_ += bytes;
  return absl::OkStatus();
}

absl::Status Spool::Peek(size_t max_entries, size_t max_bytes, std::vector<std::string>* out) const {
  out->clear();
  size_t bytes = 0;
  int fd = -1;
  uint64_t fd_segment = 0;
  absl::Status status;
  for (size_t i = 0; i < pending_.size() && out->size() < max_entries; ++i) {
    const EntryRef& e = pending_[i];
    if (!out->empty() && bytes + e.length > max_bytes) break;
    if (fd < 0 || fd_segment != e.segment) {
      if (fd >= 0) ::close(fd);
      fd = ::open(SegmentPath(e.segment).c_str(), O_RDONLY | O_CLOEXEC);
      fd_segment = e.segment;
      if (fd < 0) {
        status = Errno("cannot open spool segment", SegmentPath(e.segment));
        break;
      }
    }
    std::string payload(e.length, '\0');
    if (!ReadFully(fd, payload.data(), e.length, e.offset + static_cast<int64_t>(kFrameHeader))) {
      status = absl::DataLossError(absl::StrCat("spool: cannot read entry at ", SegmentPath(e.segment), ":",
                                                e.offset));
      break;
    }
    bytes += e.length;
    out->push_back(std::move(payload));
  }
  if (fd >= 0) ::close(fd);
  return status;
}

absl::Status Spool::Commit(size_t count) {
  count = std::min(count, pending_.size());
  if (count == 0) return absl::OkStatus();
  for (size_t i = 0; i < count; ++i) {
    pending_bytes_ -= static_cast<int64_t>(kFrameHeader + pending_.front().length);
    pending_.pop_front();
  }
  if (pending_.empty()) {
    // Drained: continue in a fresh segment so the old ones can go.
    const uint64_t next = active_segment_ + 1;
    auto s = OpenActive(next, /*create=*/true);
    if (!s.ok()) return s;
    s = WriteCommitted(next, 0);
    if (!s.ok()) return s;
  } else {
    auto s = WriteCommitted(pending_.front().segment, pending_.front().offset);
    if (!s.ok()) return s;
  }
  const uint64_t keep_from = pending_.empty() ? active_segment_ : pending_.front().segment;
  while (!segments_.empty() && segments_.front() < keep_from) {
    const std::string path = SegmentPath(segments_.front());
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove forwarded segment", path);
    segments_.erase(segments_.begin());
  }
  return absl::OkStatus();
}

}  // namespace hisbridge::forward
