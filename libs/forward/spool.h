// A local, durable, append-only queue of opaque entries: where a connector
// keeps what it has accepted while ingest or Kafka is unreachable.
//
// Layout in `dir`: segment files "segment-<n>.log" holding framed entries
// (u32 length, u32 masked CRC-32C of the payload, payload; little endian)
// and a file "committed" naming the first entry not yet forwarded
// ("<segment> <offset>"), replaced atomically. Append() returns only after
// the entries are fsync'ed, so an entry whose Append() succeeded survives a
// crash or kill -9. A torn tail (an append cut short by a crash, before its
// fsync returned, hence never acknowledged) fails its CRC or length check at
// Open() and is cut off; damage anywhere else is DATA_LOSS, never skipped.
//
// Entries are read back strictly in append order; Commit() after they were
// forwarded moves the committed position and deletes segments that hold
// nothing pending. A crash between forwarding and Commit() forwards those
// entries again (at-least-once; the consumer must be idempotent).
//
// The spool is bounded: Append() refuses with RESOURCE_EXHAUSTED ("spool
// full") when the pending bytes would exceed max_bytes.
//
// Thread safety: not thread-safe; the owner serialises calls.
#ifndef HISBRIDGE_LIBS_FORWARD_SPOOL_H_
#define HISBRIDGE_LIBS_FORWARD_SPOOL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::forward {

struct SpoolOptions {
  std::string dir;
  // Most bytes (frames included) pending at once.
  int64_t max_bytes = int64_t{1} << 30;
  // A new segment starts once the active one is this large.
  int64_t segment_bytes = int64_t{16} << 20;
  // fsync every Append/Commit. Only tests that measure something else turn
  // this off.
  bool sync = true;
};

// What Open() found.
struct SpoolRecovery {
  int64_t pending_entries = 0;
  int64_t pending_bytes = 0;
  // Bytes of a torn tail that were cut off.
  int64_t discarded_tail_bytes = 0;
};

class Spool {
 public:
  static absl::StatusOr<std::unique_ptr<Spool>> Open(const SpoolOptions& options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends the entries in order and fsyncs once. All or none: when they do
  // not fit, RESOURCE_EXHAUSTED and nothing is appended.
  absl::Status Append(const std::vector<std::string>& payloads);

  // Reads up to `max_entries` pending entries (at least one when any is
  // pending, even if larger than `max_bytes`), oldest first, without
  // consuming them.
  absl::Status Peek(size_t max_entries, size_t max_bytes, std::vector<std::string>* out) const;

  // Marks the oldest `count` pending entries as forwarded (durably).
  absl::Status Commit(size_t count);

  bool empty() const { return pending_.empty(); }
  int64_t pending_entries() const { return static_cast<int64_t>(pending_.size()); }
  int64_t pending_bytes() const { return pending_bytes_; }
  const SpoolRecovery& recovery() const { return recovery_; }
  const std::string& dir() const { return options_.dir; }

 private:
  struct EntryRef {
    uint64_t segment;
    int64_t offset;  // of the frame
    uint32_t length;  // of the payload
  };
  explicit Spool(SpoolOptions options);
  absl::Status Recover();
  absl::Status OpenActive(uint64_t segment, bool create);
  absl::Status WriteCommitted(uint64_t segment, int64_t offset);
  std::string SegmentPath(uint64_t segment) const;
  absl::Status SyncDir() const;

  SpoolOptions options_;
  std::deque<EntryRef> pending_;
  int64_t pending_bytes_ = 0;
  uint64_t active_segment_ = 0;
  int active_fd_ = -1;
  int64_t active_size_ = 0;
  std::vector<uint64_t> segments_;  // existing segment numbers, ascending
  SpoolRecovery recovery_;
};

// CRC-32C (Castagnoli), as used by the frames.
uint32_t Crc32c(absl::string_view data);

}  // namespace hisbridge::forward

#endif  // HISBRIDGE_LIBS_FORWARD_SPOOL_H_
