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

#include <atomic>
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

// Encrypts values at rest (libs/security's AES-256-GCM implements it; the
// index stays free of crypto libraries). `context` is the column family's
// name and the row key, bound to the ciphertext so a value cannot be moved
// to another key unnoticed. Implementations are thread-safe; errors never
// contain key material or plaintext.
// Every sealed value starts with these bytes, so a store opened without
// its cipher recognises encrypted data and says so instead of handing
// ciphertext to a parser.
inline constexpr absl::string_view kSealedValueMagic = "HBE1";

class ValueCipher {
 public:
  virtual ~ValueCipher() = default;
  // The sealed form of `plaintext` under the active key.
  virtual absl::StatusOr<std::string> Seal(absl::string_view context, absl::string_view plaintext) const = 0;
  // The plaintext of a sealed value (DATA_LOSS when it does not
  // authenticate; NOT_FOUND naming the key id when that key is not loaded).
  virtual absl::StatusOr<std::string> Open(absl::string_view context, absl::string_view sealed) const = 0;
  // True when `value` carries the sealed header (values written before
  // encryption was turned on do not, and are read as they are).
  virtual bool IsSealed(absl::string_view value) const = 0;
  // True when a sealed value is under the active key (nothing to rekey).
  virtual bool SealedWithActiveKey(absl::string_view sealed) const = 0;
};

// Tests only: while `fail` is set, every append to the store's write-ahead
// log writes the first half of its data and then fails with an I/O error,
// like a disk that fills up or dies in the middle of a write. RocksDB then
// refuses further writes; reopening the store (without the fault) recovers
// to the last complete batch.
struct WriteFaultInjection {
  std::atomic<bool> fail{false};
  // Appends failed so far.
  std::atomic<int64_t> failed_appends{0};
};

struct KvStoreOptions {
  // Column families besides "default".
  std::vector<std::string> families;
  // Shared block cache.
  size_t block_cache_bytes = 256 << 20;
  // Per-family write buffer.
  size_t write_buffer_bytes = 64 << 20;
  // Blocks are LZ4-compressed; the bottommost level (most of the data)
  // with ZSTD when set: about a third smaller, but a block read from disk
  // (a block-cache miss) costs several times more CPU to decompress. A
  // store read at a high rate that does not fit its cache (the query
  // role's views) is cheaper to serve with LZ4 throughout. Files written
  // before a change keep their compression until compacted (CompactAll).
  bool zstd_bottommost = true;
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
  // Encrypts the values written to every column family except those named
  // in `plaintext_families` (offsets, counters: nothing personal); sealed
  // values are opened on read in any family. Null: no encryption, and
  // reading a sealed value fails with FAILED_PRECONDITION. Row keys are never encrypted: they must not contain
  // identifiers (use keyed tokens, libs/security/key_ring.h KeyedToken).
  std::shared_ptr<const ValueCipher> cipher;
  std::vector<std::string> plaintext_families;
  // Opens the database as a RocksDB secondary instance: read-only, safe
  // while another process (the primary, e.g. a running linker) writes it,
  // and consistent: it sees whole write batches only, as of the open or
  // the last CatchUpWithPrimary(). The directory holds the secondary's own
  // info log (any empty scratch directory). Writes fail.
  std::string secondary_path;
  // Table files are read through a wrapper that lets ReadTier::kMemoryOnly
  // reads take blocks from the OS page cache without waiting for the disk
  // (one more file descriptor per table file). Without it kMemoryOnly
  // reads only the memtables and the block cache.
  bool no_wait_reads = false;
  // Tests only: simulates a failing disk (see WriteFaultInjection).
  std::shared_ptr<WriteFaultInjection> write_faults;
};

class KvStore;

// Where a read may look for its data.
enum class ReadTier {
  // Memory, then the table files: may wait for the disk.
  kAny,
  // Never waits for the disk, so it is safe on a thread that must not
  // block: the memtables and the block cache, and with
  // KvStoreOptions::no_wait_reads also the OS page cache (a table-file read
  // is preadv2 with RWF_NOWAIT). A read that would have to wait for the
  // device fails with NotInMemoryError instead (retry it with kAny on a
  // thread that may block).
  kMemoryOnly,
};

// The error of a kMemoryOnly read that would have had to read a file
// (UNAVAILABLE, recognised by IsNotInMemory, not by its code).
absl::Status NotInMemoryError(absl::string_view what);
bool IsNotInMemory(const absl::Status& status);

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
  // Set by a Put whose value could not be sealed; KvStore::Write returns it.
  absl::Status error_;
  explicit WriteBatch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class KvStore {
 public:
  // Opens the database at `path`; with create_if_missing (and neither
  // read_only nor a secondary) creates it, and its parent directories, if
  // it does not exist.
  static absl::StatusOr<std::unique_ptr<KvStore>> Open(const std::string& path, const KvStoreOptions& options);
  // The column families of an existing database, besides "default" (for
  // tools that open any store, like `hisbridge rekey`).
  static absl::StatusOr<std::vector<std::string>> ListFamilies(const std::string& path);
  ~KvStore();
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  // Index of a family named in the options (0 is "default"); -1 if unknown.
  int Family(absl::string_view name) const;

  absl::StatusOr<std::optional<std::string>> Get(int family, absl::string_view key,
                                                 ReadTier tier = ReadTier::kAny) const;
  WriteBatch NewBatch() const;
  absl::Status Write(WriteBatch* batch);

  // Calls `fn` for every key starting with `prefix` in order, until it
  // returns false. The iteration is bounded by the prefix (RocksDB stops
  // at the first key past it without reading further blocks).
  absl::Status Scan(int family, absl::string_view prefix,
                    const std::function<bool(absl::string_view key, absl::string_view value)>& fn) const;
  // Same, starting at `start` (inclusive) within `prefix`. With
  // kMemoryOnly a scan that reaches an uncached block stops there with
  // NotInMemoryError, after `fn` saw the entries before it.
  absl::Status ScanFrom(int family, absl::string_view prefix, absl::string_view start,
                        const std::function<bool(absl::string_view key, absl::string_view value)>& fn,
                        ReadTier tier = ReadTier::kAny) const;

  // A consistent on-disk copy (hard links where possible) in a new
  // directory `dir`, openable with Open(). Not available on a secondary
  // (use CopyTo).
  absl::Status Checkpoint(const std::string& dir) const;

  // A consistent copy of every column family in a new database at `dir`,
  // written entry by entry with the stored bytes unchanged (sealed values
  // stay sealed; no cipher needed). Works on a secondary instance, where
  // Checkpoint does not; slower than Checkpoint (it rewrites the data).
  // Returns the number of entries copied.
  absl::StatusOr<int64_t> CopyTo(const std::string& dir) const;

  // Secondary instances only: reads what the primary wrote since the open
  // or the last call (whole batches only).
  absl::Status CatchUpWithPrimary();

  // Reads the families in `families`, in that order and each in key order,
  // into the block cache until the cache holds `fill_to_bytes` or every
  // family has been read, so that a store that just opened answers its
  // first point reads from memory rather than from the disk block by block
  // (a sequential read also lets the OS read ahead). Stops before the
  // cache is full, so nothing already cached is evicted. Values are not
  // opened (no decryption). Call it before serving; reads may run
  // concurrently but compete for the cache.
  struct WarmStats {
    int64_t entries = 0;     // entries read
    int64_t bytes = 0;       // key and value bytes read
    bool filled = false;     // stopped because the cache reached fill_to_bytes
  };
  absl::StatusOr<WarmStats> WarmCache(const std::vector<int>& families, size_t fill_to_bytes) const;

  // The block cache's capacity and the bytes it holds now (data, index and
  // filter blocks of every family).
  size_t BlockCacheCapacity() const;
  size_t BlockCacheUsage() const;

  // Flushes memtables to SST files.
  absl::Status Flush();

  // Flushes, then compacts every family down to one sorted run, rewriting
  // the bottommost level too (so the current compression options apply to
  // every file). Reads and writes continue meanwhile; takes minutes for a
  // store of gigabytes.
  absl::Status CompactAll();

  // Rewrites every value of the encrypted families that is not sealed with
  // the cipher's active key (older keys, or plaintext written before
  // encryption was on), in batches, then compacts so that no file keeps the
  // old form. Safe while the store is in use only if no other writer
  // rewrites the same keys concurrently (run it at start, or offline with
  // `hisbridge rekey`). FAILED_PRECONDITION without a cipher.
  struct ReencryptStats {
    int64_t values = 0;       // values examined
    int64_t rewritten = 0;    // re-sealed under the active key
    int64_t was_plaintext = 0;  // of which were not sealed at all
  };
  absl::StatusOr<ReencryptStats> Reencrypt(size_t batch_size = 1000);

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
    // The block cache: bytes held, capacity, and lookups it answered or
    // missed (a miss reads and decompresses a block) since the open.
    uint64_t block_cache_bytes = 0;
    uint64_t block_cache_capacity_bytes = 0;
    uint64_t block_cache_hits = 0;
    uint64_t block_cache_misses = 0;
  };
  Stats GetStats() const;

  const std::string& path() const { return path_; }

 private:
  friend class WriteBatch;
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
