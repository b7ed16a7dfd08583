// A RocksDB database with named column families, behind a small interface
// that keeps RocksDB types out of every other module.
//
// Used by the linker's patient index and the query role's view store. All
// writes go through WriteBatch so that a logical change (state plus the
// consumed offset) is applied atomically or not at all. RocksDB errors
// become absl::Status here, and nowhere else.
//
// Thread safety: KvStore is safe for concurrent Get/Scan/Write from many
// threads (RocksDB's guarantee). A WriteBatch is not thread-safe.
#ifndef HISBRIDGE_LIBS_INDEX_KV_STORE_H_
#define HISBRIDGE_LIBS_INDEX_KV_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::index {

struct KvStoreOptions {
  // Column families besides "default".
  std::vector<std::string> families;
  // Shared block cache.
  size_t block_cache_bytes = 256 << 20;
  // Per-family write buffer.
  size_t write_buffer_bytes = 64 << 20;
  // fsync every write batch (machine-crash durability). Without it a
  // process crash loses nothing (the WAL is in the OS page cache); a power
  // loss may lose the last batches *together with their offsets*, which
  // the log then replays.
  bool sync_writes = false;
  // No write-ahead log at all: only for one-shot batch jobs that rebuild
  // from scratch on failure (`hisbridge link`).
  bool disable_wal = false;
  bool create_if_missing = true;
  bool read_only = false;
};

class KvStore;

// A set of writes applied atomically by KvStore::Write. Created by
// KvStore::NewBatch() and valid only with that store.
class WriteBatch {
 public:
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  void Put(int family, absl::string_view key, absl::string_view value);
  void Delete(int family, absl::string_view key);
  size_t Count() const;
  size_t ByteSize() const;
  void Clear();

 private:
  friend class KvStore;
  struct Impl;
  explicit WriteBatch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class KvStore {
 public:
  // Opens (or creates) the database at `path`.
  static absl::StatusOr<std::unique_ptr<KvStore>> Open(const std::string& path, const KvStoreOptions& options);
  ~KvStore();
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  // Index of a family named in the options (0 is "default"); -1 if unknown.
  int Family(absl::string_view name) const;

  absl::StatusOr<std::optional<std::string>> Get(int family, absl::string_view key) const;
  WriteBatch NewBatch() const;
  absl::Status Write(WriteBatch* batch);

  // Calls `fn` for every key starting with `prefix` in order, until it
  // returns false.
  absl::Status Scan(int family, absl::string_view prefix,
                    const std::function<bool(absl::string_view key, absl::string_view value)>& fn) const;
  // Same, starting at `start` (inclusive) within `prefix`.
  absl::Status ScanFrom(int family, absl::string_view prefix, absl::string_view start,
                        const std::function<bool(absl::string_view key, absl::string_view value)>& fn) const;

  // A consistent on-disk copy (hard links where possible) in a new
  // directory `dir`, openable with Open().
  absl::Status Checkpoint(const std::string& dir) const;

  // Flushes memtables to SST files.
  absl::Status Flush();

  // RocksDB statistics for metrics: total SST bytes, live data estimate,
  // and whether writes are currently stalled.
  struct Stats {
    uint64_t sst_bytes = 0;
    uint64_t memtable_bytes = 0;
    uint64_t estimated_keys = 0;
    // Time writers spent delayed or stopped since the store was opened
    // (the STALL_MICROS ticker).
    uint64_t stall_micros = 0;
    bool write_stopped = false;
    // Current write rate limit while writes are delayed (0 when they are
    // not): rocksdb.actual-delayed-write-rate.
    uint64_t delayed_write_rate = 0;
    // Bytes compaction still has to rewrite (all families).
    uint64_t pending_compaction_bytes = 0;
    // Times writes were slowed down or stopped since the store was opened,
    // summed over the families' io_stalls.total_slowdown / total_stop.
    uint64_t write_slowdowns = 0;
    uint64_t write_stops = 0;
  };
  Stats GetStats() const;

  const std::string& path() const { return path_; }

 private:
  struct Impl;
  KvStore(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

// Key encoding: parts joined by '\0'. Identifiers are validated to contain
// no control characters, so the separator cannot occur inside a part and
// prefix scans of "a\0" never see "ab\0...".
std::string JoinKey(std::initializer_list<absl::string_view> parts);
std::vector<absl::string_view> SplitKey(absl::string_view key);
// Fixed-width big-endian integers sort numerically as bytes.
std::string EncodeUint64(uint64_t value);
uint64_t DecodeUint64(absl::string_view bytes);

}  // namespace hisbridge::index

#endif  // HISBRIDGE_LIBS_INDEX_KV_STORE_H_
