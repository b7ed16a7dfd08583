#include "libs/index/kv_store.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/base/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace hisbridge::index {
namespace {

// The one conversion from RocksDB status to absl::Status.
absl::Status ToStatus(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(context, ": ", s.ToString());
  switch (s.code()) {
    case rocksdb::Status::kNotFound: return absl::NotFoundError(message);
    case rocksdb::Status::kCorruption: return absl::DataLossError(message);
    case rocksdb::Status::kInvalidArgument: return absl::InvalidArgumentError(message);
    case rocksdb::Status::kNotSupported: return absl::UnimplementedError(message);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kTimedOut: return absl::UnavailableError(message);
    case rocksdb::Status::kIOError: return absl::InternalError(message);
    default: return absl::InternalError(message);
  }
}

// Without no-wait reads, memory-only means RocksDB's block-cache tier.
rocksdb::ReadOptions ReadOptionsFor(ReadTier tier, bool no_wait_reads) {
  rocksdb::ReadOptions options;
  if (tier == ReadTier::kMemoryOnly && !no_wait_reads) options.read_tier = rocksdb::kBlockCacheTier;
  return options;
}

// Marks NotInMemoryError: a payload rather than a code, because UNAVAILABLE
// is also what a busy RocksDB answers.
constexpr absl::string_view kNotInMemoryPayload = "hisbridge.index/not-in-memory";

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// WriteFaultInjection: a write-ahead log file whose appends are torn (half
// the data, then an I/O error) while the switch is on.
class FaultyWalFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWalFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<WriteFaultInjection> faults)
      : FSWritableFileOwnerWrapper(std::move(file)), faults_(std::move(faults)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (!faults_->fail.load()) return target()->Append(data, options, dbg);
    return Tear(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    if (!faults_->fail.load()) return target()->Append(data, options, info, dbg);
    return Tear(data, options, dbg);
  }

 private:
  rocksdb::IOStatus Tear(const rocksdb::Slice& data, const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
    ++faults_->failed_appends;
    (void)target()->Append(rocksdb::Slice(data.data(), data.size() / 2), options, dbg);
    (void)target()->Flush(options, dbg);
    return rocksdb::IOStatus::IOError("injected write fault (test)");
  }
  std::shared_ptr<WriteFaultInjection> faults_;
};

class FaultyFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base, std::shared_ptr<WriteFaultInjection> faults)
      : FileSystemWrapper(base), faults_(std::move(faults)) {}
  const char* Name() const override { return "HisbridgeFaultyFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok() && absl::EndsWith(name, ".log")) result->reset(new FaultyWalFile(std::move(*result), faults_));
    return s;
  }

 private:
  std::shared_ptr<WriteFaultInjection> faults_;
};

// --- reads that never wait for the disk ---
//
// RocksDB's own memory-only tier (kBlockCacheTier) refuses every block that
// is not in the block cache, even when the OS page cache holds it and the
// read would take microseconds. With KvStoreOptions::no_wait_reads the
// store's table files are read through NoWaitFile instead: on a thread
// inside a memory-only read, a block read is preadv2(RWF_NOWAIT), which
// the kernel answers from the page cache or refuses with EAGAIN (it would
// have to wait for the device); only a refused read makes the whole read
// NotInMemoryError. Other threads (compactions, kAny reads) read normally.

// Set for the duration of a memory-only read on this thread.
thread_local bool tls_reads_must_not_wait = false;
// Set by a table-file read refused because it would have waited.
thread_local bool tls_read_would_wait = false;

// Sets what this thread's table-file reads may do for one store read, and
// restores the enclosing read's setting after it (a scan's callback may
// read the store again).
class NoWaitReadScope {
 public:
  explicit NoWaitReadScope(bool must_not_wait)
      : enclosing_must_not_wait_(tls_reads_must_not_wait), enclosing_would_wait_(tls_read_would_wait) {
    tls_reads_must_not_wait = must_not_wait;
    tls_read_would_wait = false;
  }
  ~NoWaitReadScope() {
    tls_reads_must_not_wait = enclosing_must_not_wait_;
    tls_read_would_wait = enclosing_would_wait_;
  }
  NoWaitReadScope(const NoWaitReadScope&) = delete;
  NoWaitReadScope& operator=(const NoWaitReadScope&) = delete;
  bool would_have_waited() const { return tls_read_would_wait; }

 private:
  const bool enclosing_must_not_wait_;
  const bool enclosing_would_wait_;
};

class NoWaitFile : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  // `fd`: the same file opened again, ours to close (-1: every no-wait read
  // is refused).
  NoWaitFile(std::unique_ptr<rocksdb::FSRandomAccessFile> file, int fd)
      : FSRandomAccessFileOwnerWrapper(std::move(file)), fd_(fd) {}
  ~NoWaitFile() override {
    if (fd_ >= 0) close(fd_);
  }

  rocksdb::IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& options, rocksdb::Slice* result,
                         char* scratch, rocksdb::IODebugContext* dbg) const override {
    if (!tls_reads_must_not_wait) return target()->Read(offset, n, options, result, scratch, dbg);
    size_t done = 0;
    while (done < n) {
      iovec io{scratch + done, n - done};
      const ssize_t got = preadv2(fd_, &io, 1, static_cast<off_t>(offset + done), RWF_NOWAIT);
      if (got == 0) break;  // end of file
      if (got < 0) {
        if (errno == EINTR) continue;
        // EAGAIN: not (all) in the page cache. Anything else (EOPNOTSUPP
        // from a file system without RWF_NOWAIT, a bad fd): the blocking
        // read on another thread will meet and report it.
        tls_read_would_wait = true;
        return rocksdb::IOStatus::Busy("table file read would wait for the disk");
      }
      done += static_cast<size_t>(got);
    }
    *result = rocksdb::Slice(scratch, done);
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus MultiRead(rocksdb::FSReadRequest* requests, size_t count, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (!tls_reads_must_not_wait) return target()->MultiRead(requests, count, options, dbg);
    for (size_t i = 0; i < count; ++i) {
      requests[i].status =
          Read(requests[i].offset, requests[i].len, options, &requests[i].result, requests[i].scratch, dbg);
    }
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus Prefetch(uint64_t offset, size_t n, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    // Readahead is advice; a thread that must not wait does not give it.
    if (tls_reads_must_not_wait) return rocksdb::IOStatus::OK();
    return target()->Prefetch(offset, n, options, dbg);
  }

  rocksdb::IOStatus ReadAsync(rocksdb::FSReadRequest& request, const rocksdb::IOOptions& options,
                              std::function<void(const rocksdb::FSReadRequest&, void*)> callback, void* arg,
                              void** handle, rocksdb::IOHandleDeleter* deleter,
                              rocksdb::IODebugContext* dbg) override {
    if (!tls_reads_must_not_wait) {
      return target()->ReadAsync(request, options, std::move(callback), arg, handle, deleter, dbg);
    }
    request.status = Read(request.offset, request.len, options, &request.result, request.scratch, dbg);
    callback(request, arg);
    return rocksdb::IOStatus::OK();
  }

 private:
  const int fd_;
};

class NoWaitFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit NoWaitFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base) : FileSystemWrapper(base) {}
  const char* Name() const override { return "HisbridgeNoWaitFileSystem"; }

  rocksdb::IOStatus NewRandomAccessFile(const std::string& name, const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
                                        rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewRandomAccessFile(name, options, result, dbg);
    if (s.ok() && !options.use_direct_reads) {
      result->reset(new NoWaitFile(std::move(*result), open(name.c_str(), O_RDONLY | O_CLOEXEC)));
    }
    return s;
  }
};

}  // namespace

struct WriteBatch::Impl {
  rocksdb::WriteBatch batch;
  // The owning store (its handles, names and cipher).
  const KvStore::Impl* store = nullptr;
};

struct KvStore::Impl {
  // Only with write fault injection or no-wait reads; outlives the database.
  std::unique_ptr<rocksdb::Env> env;
  bool no_wait_reads = false;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<std::string> names;
  std::shared_ptr<const ValueCipher> cipher;
  // Per family: values are sealed.
  std::vector<bool> encrypted;
  rocksdb::WriteOptions write_options;
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::Statistics> statistics;
  bool secondary = false;

  ~Impl() {
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      if (db != nullptr) db->DestroyColumnFamilyHandle(h);
    }
    handles.clear();
    if (db != nullptr) db->Close();
  }

  bool Encrypted(int family) const { return cipher != nullptr && encrypted[family]; }

  // The associated data a value is sealed with: its family and row key.
  std::string Context(int family, absl::string_view key) const {
    std::string context;
    context.reserve(names[family].size() + 1 + key.size());
    context.append(names[family]);
    context.push_back('\0');
    context.append(key.data(), key.size());
    return context;
  }

  static bool LooksSealed(absl::string_view stored) { return absl::StartsWith(stored, kSealedValueMagic); }

  // The value as callers see it: opened when sealed.
  absl::StatusOr<std::string> Reveal(int family, absl::string_view key, absl::string_view stored) const {
    if (cipher == nullptr) {
      if (LooksSealed(stored)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "family ", names[family], " holds encrypted values: open the store with its key file (--keys)"));
      }
      return std::string(stored);
    }
    if (!cipher->IsSealed(stored)) return std::string(stored);
    auto opened = cipher->Open(Context(family, key), stored);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat("family ", names[family], ": ", opened.status().message()));
    }
    return opened;
  }
};

WriteBatch::WriteBatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::Put(int family, absl::string_view key, absl::string_view value) {
  const KvStore::Impl& store = *impl_->store;
  if (store.Encrypted(family)) {
    auto sealed = store.cipher->Seal(store.Context(family, key), value);
    if (!sealed.ok()) {
      if (error_.ok()) error_ = sealed.status();
      return;
    }
    impl_->batch.Put(store.handles[family], ToSlice(key), ToSlice(*sealed));
    return;
  }
  impl_->batch.Put(store.handles[family], ToSlice(key), ToSlice(value));
}

void WriteBatch::Delete(int family, absl::string_view key) {
  impl_->batch.Delete(impl_->store->handles[family], ToSlice(key));
}

size_t WriteBatch::Count() const { return impl_->batch.Count(); }
size_t WriteBatch::ByteSize() const { return impl_->batch.GetDataSize(); }
void WriteBatch::Clear() {
  impl_->batch.Clear();
  error_ = absl::OkStatus();
}

absl::Status NotInMemoryError(absl::string_view what) {
  absl::Status status = absl::UnavailableError(absl::StrCat(what, ": the data is not in memory (needs a disk read)"));
  status.SetPayload(kNotInMemoryPayload, absl::Cord("1"));
  return status;
}

bool IsNotInMemory(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kNotInMemoryPayload).has_value();
}

KvStore::KvStore(std::unique_ptr<Impl> impl, std::string path) : impl_(std::move(impl)), path_(std::move(path)) {}
KvStore::~KvStore() = default;

absl::StatusOr<std::unique_ptr<KvStore>> KvStore::Open(const std::string& path, const KvStoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = impl->cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.format_version = 5;

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.write_buffer_size = options.write_buffer_bytes;
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.bottommost_compression = options.zstd_bottommost ? rocksdb::kZSTD : rocksdb::kLZ4Compression;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  db_options.max_total_wal_size = 256 << 20;
  // Tickers only (no histograms or timers): cheap, and enough for the
  // stall counters the metrics report.
  impl->statistics = rocksdb::CreateDBStatistics();
  impl->statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  db_options.statistics = impl->statistics;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  impl->names.push_back(rocksdb::kDefaultColumnFamilyName);
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const std::string& name : options.families) {
    impl->names.push_back(name);
    descriptors.emplace_back(name, cf_options);
  }
  std::shared_ptr<rocksdb::FileSystem> file_system = rocksdb::FileSystem::Default();
  if (options.write_faults != nullptr) {
    file_system = std::make_shared<FaultyFileSystem>(file_system, options.write_faults);
  }
  if (options.no_wait_reads) file_system = std::make_shared<NoWaitFileSystem>(file_system);
  impl->no_wait_reads = options.no_wait_reads;
  if (file_system != rocksdb::FileSystem::Default()) {
    impl->env = rocksdb::NewCompositeEnv(file_system);
    db_options.env = impl->env.get();
  }
  if (options.create_if_missing && options.secondary_path.empty() && !options.read_only) {
    // RocksDB creates the store's own directory but not its parents
    // ("While mkdir if missing"); callers name a store anywhere, e.g. a
    // rebuild's NEW/linker.
    std::error_code error;
    std::filesystem::create_directories(path, error);
    if (error) return absl::InternalError(absl::StrCat("open RocksDB at ", path, ": cannot create it: ", error.message()));
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  if (!options.secondary_path.empty()) {
    // The secondary must keep every table file open: the primary may
    // delete files it still reads (RocksDB's requirement).
    db_options.max_open_files = -1;
    db_options.create_if_missing = false;
    impl->secondary = true;
    s = rocksdb::DB::OpenAsSecondary(db_options, path, options.secondary_path, descriptors, &impl->handles, &db);
  } else if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &impl->handles, &db);
  } else {
    s = rocksdb::DB::Open(db_options, path, descriptors, &impl->handles, &db);
  }
  if (!s.ok()) return ToStatus(s, absl::StrCat("open RocksDB at ", path));
  impl->db.reset(db);
  impl->write_options.sync = options.sync_writes;
  impl->write_options.disableWAL = options.disable_wal;
  impl->cipher = options.cipher;
  for (const std::string& name : impl->names) {
    bool plaintext = false;
    for (const std::string& p : options.plaintext_families) plaintext = plaintext || p == name;
    impl->encrypted.push_back(!plaintext);
  }
  return std::unique_ptr<KvStore>(new KvStore(std::move(impl), path));
}

absl::StatusOr<std::vector<std::string>> KvStore::ListFamilies(const std::string& path) {
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names);
  if (!s.ok()) return ToStatus(s, absl::StrCat("list the column families of ", path));
  std::vector<std::string> out;
  for (std::string& n : names) {
    if (n != rocksdb::kDefaultColumnFamilyName) out.push_back(std::move(n));
  }
  return out;
}

int KvStore::Family(absl::string_view name) const {
  for (size_t i = 0; i < impl_->names.size(); ++i) {
    if (impl_->names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<std::optional<std::string>> KvStore::Get(int family, absl::string_view key, ReadTier tier) const {
  std::string value;
  rocksdb::Status s;
  {
    NoWaitReadScope scope(tier == ReadTier::kMemoryOnly && impl_->no_wait_reads);
    s = impl_->db->Get(ReadOptionsFor(tier, impl_->no_wait_reads), impl_->handles[family], ToSlice(key), &value);
    // Refused by the no-wait file, or by RocksDB's block-cache tier.
    if (scope.would_have_waited() || (s.IsIncomplete() && tier == ReadTier::kMemoryOnly)) {
      return NotInMemoryError(absl::StrCat("get from ", impl_->names[family]));
    }
  }
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return ToStatus(s, "RocksDB get");
  if (impl_->cipher != nullptr || Impl::LooksSealed(value)) {
    auto revealed = impl_->Reveal(family, key, value);
    if (!revealed.ok()) return revealed.status();
    return std::optional<std::string>(std::move(*revealed));
  }
  return std::optional<std::string>(std::move(value));
}

WriteBatch KvStore::NewBatch() const {
  auto impl = std::make_unique<WriteBatch::Impl>();
  impl->store = impl_.get();
  return WriteBatch(std::move(impl));
}

absl::Status KvStore::Write(WriteBatch* batch) {
  if (!batch->error_.ok()) return batch->error_;
  if (batch->Count() == 0) return absl::OkStatus();
  return ToStatus(impl_->db->Write(impl_->write_options, &batch->impl_->batch), "RocksDB write");
}

absl::Status KvStore::Scan(int family, absl::string_view prefix,
                           const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  return ScanFrom(family, prefix, prefix, fn);
}

absl::Status KvStore::ScanFrom(int family, absl::string_view prefix, absl::string_view start,
                               const std::function<bool(absl::string_view, absl::string_view)>& fn,
                               ReadTier tier) const {
  rocksdb::ReadOptions read_options = ReadOptionsFor(tier, impl_->no_wait_reads);
  NoWaitReadScope no_wait(tier == ReadTier::kMemoryOnly && impl_->no_wait_reads);
  read_options.prefix_same_as_start = false;
  // The smallest key past every key with this prefix: the prefix with its
  // last byte below 0xFF incremented and the rest dropped (none when the
  // prefix is empty or all 0xFF).
  std::string upper(prefix);
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xFF) upper.pop_back();
  rocksdb::Slice upper_slice;
  if (!upper.empty()) {
    upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
    upper_slice = ToSlice(upper);
    read_options.iterate_upper_bound = &upper_slice;
  }
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read_options, impl_->handles[family]));
  for (it->Seek(ToSlice(start)); it->Valid(); it->Next()) {
    const absl::string_view key = ToView(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    if (impl_->cipher != nullptr || Impl::LooksSealed(ToView(it->value()))) {
      auto revealed = impl_->Reveal(family, key, ToView(it->value()));
      if (!revealed.ok()) return revealed.status();
      if (!fn(key, *revealed)) break;
      continue;
    }
    if (!fn(key, ToView(it->value()))) break;
  }
  if (no_wait.would_have_waited() || (it->status().IsIncomplete() && tier == ReadTier::kMemoryOnly)) {
    return NotInMemoryError(absl::StrCat("scan of ", impl_->names[family]));
  }
  return ToStatus(it->status(), "RocksDB scan");
}

absl::StatusOr<KvStore::ReencryptStats> KvStore::Reencrypt(size_t batch_size) {
  if (impl_->cipher == nullptr) return absl::FailedPreconditionError("re-encrypt: the store has no cipher");
  ReencryptStats stats;
  for (size_t family = 0; family < impl_->handles.size(); ++family) {
    const int f = static_cast<int>(family);
    const bool encrypted = impl_->Encrypted(f);
    WriteBatch batch = NewBatch();
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->handles[family]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++stats.values;
      const absl::string_view key = ToView(it->key());
      const absl::string_view stored = ToView(it->value());
      const bool sealed = impl_->cipher->IsSealed(stored);
      if (sealed && impl_->cipher->SealedWithActiveKey(stored) && encrypted) continue;
      if (!sealed && !encrypted) continue;
      auto plaintext = impl_->Reveal(f, key, stored);
      if (!plaintext.ok()) return plaintext.status();
      batch.Put(f, key, *plaintext);
      ++stats.rewritten;
      if (!sealed) ++stats.was_plaintext;
      if (batch.Count() >= batch_size) {
        HB_RETURN_IF_ERROR(Write(&batch));
        batch.Clear();
      }
    }
    HB_RETURN_IF_ERROR(ToStatus(it->status(), "RocksDB scan"));
    HB_RETURN_IF_ERROR(Write(&batch));
  }
  // Old versions stay in SST files and the WAL until compaction: flush and
  // compact everything so the old key (or the plaintext) is gone from disk.
  HB_RETURN_IF_ERROR(Flush());
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* h : impl_->handles) {
    HB_RETURN_IF_ERROR(ToStatus(impl_->db->CompactRange(compact, h, nullptr, nullptr), "RocksDB compaction"));
  }
  return stats;
}

absl::Status KvStore::Checkpoint(const std::string& dir) const {
  // RocksDB 7.8 cannot checkpoint a secondary (it would wait for a flush
  // that a secondary never does).
  if (impl_->secondary) return absl::FailedPreconditionError("checkpoint of a secondary instance: use CopyTo");
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) return ToStatus(s, "create checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return ToStatus(checkpoint->CreateCheckpoint(dir), absl::StrCat("checkpoint to ", dir));
}

absl::StatusOr<int64_t> KvStore::CopyTo(const std::string& dir) const {
  rocksdb::Options copy_options;
  copy_options.create_if_missing = true;
  copy_options.error_if_exists = true;
  copy_options.compression = rocksdb::kLZ4Compression;
  copy_options.bottommost_compression = rocksdb::kZSTD;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(copy_options, dir, &raw);
  if (!s.ok()) return ToStatus(s, absl::StrCat("create the copy at ", dir));
  std::unique_ptr<rocksdb::DB> copy(raw);
  std::vector<rocksdb::ColumnFamilyHandle*> handles = {copy->DefaultColumnFamily()};
  auto release = [&copy, &handles] {
    for (size_t i = 1; i < handles.size(); ++i) copy->DestroyColumnFamilyHandle(handles[i]);
    handles.clear();
  };
  for (size_t family = 1; family < impl_->names.size(); ++family) {
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    s = copy->CreateColumnFamily(rocksdb::ColumnFamilyOptions(copy_options), impl_->names[family], &handle);
    if (!s.ok()) {
      release();
      return ToStatus(s, absl::StrCat("create family ", impl_->names[family], " in ", dir));
    }
    handles.push_back(handle);
  }
  // One snapshot for every family, so the copy is one consistent state (a
  // secondary's state only changes in CatchUpWithPrimary, never during
  // the copy).
  const rocksdb::Snapshot* snapshot = impl_->secondary ? nullptr : impl_->db->GetSnapshot();
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  read_options.fill_cache = false;
  int64_t entries = 0;
  absl::Status result;
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;  // flushed and synced below
  for (size_t family = 0; family < impl_->handles.size() && result.ok(); ++family) {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read_options, impl_->handles[family]));
    rocksdb::WriteBatch batch;
    for (it->SeekToFirst(); it->Valid() && result.ok(); it->Next()) {
      batch.Put(handles[family], it->key(), it->value());
      ++entries;
      if (batch.GetDataSize() >= (4u << 20)) {
        result = ToStatus(copy->Write(write_options, &batch), absl::StrCat("write the copy at ", dir));
        batch.Clear();
      }
    }
    if (result.ok()) result = ToStatus(it->status(), absl::StrCat("read family ", impl_->names[family]));
    if (result.ok()) result = ToStatus(copy->Write(write_options, &batch), absl::StrCat("write the copy at ", dir));
  }
  if (snapshot != nullptr) impl_->db->ReleaseSnapshot(snapshot);
  if (result.ok()) {
    rocksdb::FlushOptions flush;
    result = ToStatus(copy->Flush(flush, handles), absl::StrCat("flush the copy at ", dir));
  }
  release();
  if (result.ok()) result = ToStatus(copy->Close(), absl::StrCat("close the copy at ", dir));
  if (!result.ok()) return result;
  return entries;
}

absl::Status KvStore::CatchUpWithPrimary() {
  if (!impl_->secondary) return absl::FailedPreconditionError("CatchUpWithPrimary: not a secondary instance");
  return ToStatus(impl_->db->TryCatchUpWithPrimary(), absl::StrCat("catch up with the primary at ", path_));
}

absl::StatusOr<KvStore::WarmStats> KvStore::WarmCache(const std::vector<int>& families, size_t fill_to_bytes) const {
  WarmStats stats;
  rocksdb::ReadOptions read_options;
  // Large sequential reads: one system call per 2 MiB instead of one per
  // block when the files are not in the page cache.
  read_options.readahead_size = 2 << 20;
  for (int family : families) {
    if (family < 0 || static_cast<size_t>(family) >= impl_->handles.size()) {
      return absl::InvalidArgumentError(absl::StrCat("WarmCache: no family ", family));
    }
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read_options, impl_->handles[family]));
    int64_t entries_since_check = 0, bytes_since_check = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto bytes = static_cast<int64_t>(it->key().size() + it->value().size());
      ++stats.entries;
      stats.bytes += bytes;
      bytes_since_check += bytes;
      // GetUsage sums the cache's shards under their locks: not per entry,
      // but often enough that the cache overshoots the limit by a block
      // or so.
      if (++entries_since_check >= 256 || bytes_since_check >= (64 << 10)) {
        entries_since_check = 0;
        bytes_since_check = 0;
        if (impl_->cache->GetUsage() >= fill_to_bytes) {
          stats.filled = true;
          return stats;
        }
      }
    }
    HB_RETURN_IF_ERROR(ToStatus(it->status(), absl::StrCat("warm the cache with family ", impl_->names[family])));
  }
  stats.filled = impl_->cache->GetUsage() >= fill_to_bytes;
  return stats;
}

size_t KvStore::BlockCacheCapacity() const { return impl_->cache->GetCapacity(); }
size_t KvStore::BlockCacheUsage() const { return impl_->cache->GetUsage(); }

absl::Status KvStore::Flush() {
  rocksdb::FlushOptions flush_options;
  return ToStatus(impl_->db->Flush(flush_options, impl_->handles), "RocksDB flush");
}

absl::Status KvStore::CompactAll() {
  HB_RETURN_IF_ERROR(Flush());
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* h : impl_->handles) {
    HB_RETURN_IF_ERROR(ToStatus(impl_->db->CompactRange(compact, h, nullptr, nullptr),
                                absl::StrCat("RocksDB compaction of ", h->GetName())));
  }
  return absl::OkStatus();
}

KvStore::Stats KvStore::GetStats() const {
  Stats stats;
  uint64_t value = 0;
  for (rocksdb::ColumnFamilyHandle* h : impl_->handles) {
    if (impl_->db->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize, &value)) stats.sst_bytes += value;
    if (impl_->db->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) stats.memtable_bytes += value;
    if (impl_->db->GetIntProperty(h, rocksdb::DB::Properties::kEstimateNumKeys, &value)) stats.estimated_keys += value;
    if (impl_->db->GetIntProperty(h, rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &value)) {
      stats.pending_compaction_bytes += value;
    }
    std::map<std::string, std::string> cf_stats;
    if (impl_->db->GetMapProperty(h, rocksdb::DB::Properties::kCFStats, &cf_stats)) {
      auto count = [&cf_stats](const char* key) -> uint64_t {
        auto it = cf_stats.find(key);
        return it == cf_stats.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
      };
      stats.write_slowdowns += count("io_stalls.total_slowdown");
      stats.write_stops += count("io_stalls.total_stop");
    }
  }
  if (impl_->db->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &value)) stats.write_stopped = value != 0;
  if (impl_->db->GetIntProperty(rocksdb::DB::Properties::kActualDelayedWriteRate, &value)) {
    stats.delayed_write_rate = value;
  }
  if (impl_->statistics != nullptr) {
    stats.stall_micros = impl_->statistics->getTickerCount(rocksdb::STALL_MICROS);
    stats.block_cache_hits = impl_->statistics->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
    stats.block_cache_misses = impl_->statistics->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
  }
  stats.block_cache_bytes = impl_->cache->GetUsage();
  stats.block_cache_capacity_bytes = impl_->cache->GetCapacity();
  return stats;
}

std::string JoinKey(std::initializer_list<absl::string_view> parts) {
  size_t size = parts.size();
  for (absl::string_view p : parts) size += p.size();
  std::string out;
  out.reserve(size);
  bool first = true;
  for (absl::string_view p : parts) {
    if (!first) out.push_back('\0');
    first = false;
    out.append(p.data(), p.size());
  }
  return out;
}

std::vector<absl::string_view> SplitKey(absl::string_view key) {
  return absl::StrSplit(key, absl::ByChar('\0'));
}

std::string EncodeUint64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xFF);
    value >>= 8;
  }
  return out;
}

uint64_t DecodeUint64(absl::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

}  // namespace hisbridge::index
