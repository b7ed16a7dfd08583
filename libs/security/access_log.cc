#include "libs/security/access_log.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"
#include "libs/base/time_format.h"

namespace hisbridge::security {

using hisbridge::v1::AccessLogEntry;

absl::StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& dir,
                                                           std::shared_ptr<const index::ValueCipher> cipher,
                                                           Clock* clock) {
  index::KvStoreOptions options;
  options.families = {"entries"};
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 8 << 20;
  options.cipher = std::move(cipher);
  HB_ASSIGN_OR_RETURN(auto store, index::KvStore::Open(dir, options));
  std::unique_ptr<AccessLog> log(new AccessLog(std::move(store), clock));
  log->entries_ = log->store_->Family("entries");
  return log;
}

absl::Status AccessLog::Record(const AccessLogEntry& entry, const std::vector<std::string>& patient_ids) {
  const absl::Time now = clock_->Now();
  const uint64_t micros = static_cast<uint64_t>(absl::ToUnixMicros(now));
  AccessLogEntry e = entry;
  e.set_time(FormatRfc3339(now));
  index::WriteBatch batch = store_->NewBatch();
  auto put = [&](const std::string& patient_id) {
    e.set_patient_id(patient_id);
    batch.Put(entries_, index::EncodeUint64(micros) + index::EncodeUint64(sequence_.fetch_add(1)), e.SerializeAsString());
  };
  if (patient_ids.empty()) put("");
  for (const std::string& id : patient_ids) put(id);
  const int64_t count = static_cast<int64_t>(batch.Count());
  HB_RETURN_IF_ERROR(store_->Write(&batch));
  written_ += count;
  return absl::OkStatus();
}

absl::StatusOr<hisbridge::v1::ListAccessLogResponse> AccessLog::List(
    const hisbridge::v1::ListAccessLogRequest& request) const {
  uint64_t from_micros = 0;
  uint64_t to_micros = UINT64_MAX;
  if (!request.from().empty()) {
    auto t = ParseRfc3339(request.from());
    if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("from: ", t.status().message()));
    from_micros = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(*t)));
  }
  if (!request.to().empty()) {
    auto t = ParseRfc3339(request.to());
    if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("to: ", t.status().message()));
    to_micros = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(*t)));
  }
  if (request.page_size() < 0) return absl::InvalidArgumentError("page_size must not be negative");
  const int page_size = request.page_size() == 0 ? 100 : std::min(request.page_size(), 1000);
  std::string start = index::EncodeUint64(from_micros);
  std::string after;
  if (!request.page_token().empty()) {
    after = absl::HexStringToBytes(request.page_token());
    if (after.size() != 16) return absl::InvalidArgumentError("page_token is not one this service returned");
    start = std::max(start, after);
  }
  hisbridge::v1::ListAccessLogResponse response;
  AccessLogEntry entry;
  absl::Status parse;
  std::string last_key;
  // A filter that matches little must not turn one call into a scan of
  // the whole log: past this many entries the page ends early.
  constexpr int kMaxScanned = 100000;
  int scanned = 0;
  HB_RETURN_IF_ERROR(store_->ScanFrom(entries_, "", start, [&](absl::string_view key, absl::string_view value) {
    if (key == after) return true;
    if (index::DecodeUint64(key.substr(0, 8)) > to_micros) return false;
    if (response.entries_size() >= page_size || ++scanned > kMaxScanned) {
      response.set_next_page_token(absl::BytesToHexString(last_key));
      return false;
    }
    if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      parse = absl::DataLossError("corrupt access log entry");
      return false;
    }
    last_key = std::string(key);
    if (!request.who().empty() && entry.who() != request.who()) return true;
    if (!request.patient_id().empty() && entry.patient_id() != request.patient_id()) return true;
    *response.add_entries() = entry;
    return true;
  }));
  HB_RETURN_IF_ERROR(parse);
  return response;
}

}  // namespace hisbridge::security
