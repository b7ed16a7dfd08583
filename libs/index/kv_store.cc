#include "libs/index/kv_store.h"

#include <cstdlib>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
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

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

struct WriteBatch::Impl {
  rocksdb::WriteBatch batch;
  // The owning store's column family handles, indexed by family.
  const std::vector<rocksdb::ColumnFamilyHandle*>* handles = nullptr;
};

struct KvStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<std::string> names;
  rocksdb::WriteOptions write_options;
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::Statistics> statistics;

  ~Impl() {
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      if (db != nullptr) db->DestroyColumnFamilyHandle(h);
    }
    handles.clear();
    if (db != nullptr) db->Close();
  }
};

WriteBatch::WriteBatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::Put(int family, absl::string_view key, absl::string_view value) {
  impl_->batch.Put((*impl_->handles)[family], ToSlice(key), ToSlice(value));
}

void WriteBatch::Delete(int family, absl::string_view key) {
  impl_->batch.Delete((*impl_->handles)[family], ToSlice(key));
}

size_t WriteBatch::Count() const { return impl_->batch.Count(); }
size_t WriteBatch::ByteSize() const { return impl_->batch.GetDataSize(); }
void WriteBatch::Clear() { impl_->batch.Clear(); }

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
  cf_options.bottommost_compression = rocksdb::kZSTD;

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
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &impl->handles, &db);
  } else {
    s = rocksdb::DB::Open(db_options, path, descriptors, &impl->handles, &db);
  }
  if (!s.ok()) return ToStatus(s, absl::StrCat("open RocksDB at ", path));
  impl->db.reset(db);
  impl->write_options.sync = options.sync_writes;
  impl->write_options.disableWAL = options.disable_wal;
  return std::unique_ptr<KvStore>(new KvStore(std::move(impl), path));
}

int KvStore::Family(absl::string_view name) const {
  for (size_t i = 0; i < impl_->names.size(); ++i) {
    if (impl_->names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<std::optional<std::string>> KvStore::Get(int family, absl::string_view key) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->handles[family], ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return ToStatus(s, "RocksDB get");
  return std::optional<std::string>(std::move(value));
}

WriteBatch KvStore::NewBatch() const {
  auto impl = std::make_unique<WriteBatch::Impl>();
  impl->handles = &impl_->handles;
  return WriteBatch(std::move(impl));
}

absl::Status KvStore::Write(WriteBatch* batch) {
  if (batch->Count() == 0) return absl::OkStatus();
  return ToStatus(impl_->db->Write(impl_->write_options, &batch->impl_->batch), "RocksDB write");
}

absl::Status KvStore::Scan(int family, absl::string_view prefix,
                           const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  return ScanFrom(family, prefix, prefix, fn);
}

absl::Status KvStore::ScanFrom(int family, absl::string_view prefix, absl::string_view start,
                               const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  rocksdb::ReadOptions read_options;
  read_options.prefix_same_as_start = false;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read_options, impl_->handles[family]));
  for (it->Seek(ToSlice(start)); it->Valid(); it->Next()) {
    const absl::string_view key = ToView(it->key());
    if (!absl::StartsWith(key, prefix)) break;
    if (!fn(key, ToView(it->value()))) break;
  }
  return ToStatus(it->status(), "RocksDB scan");
}

absl::Status KvStore::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) return ToStatus(s, "create checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return ToStatus(checkpoint->CreateCheckpoint(dir), absl::StrCat("checkpoint to ", dir));
}

absl::Status KvStore::Flush() {
  rocksdb::FlushOptions flush_options;
  return ToStatus(impl_->db->Flush(flush_options, impl_->handles), "RocksDB flush");
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
  if (impl_->statistics != nullptr) stats.stall_micros = impl_->statistics->getTickerCount(rocksdb::STALL_MICROS);
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
