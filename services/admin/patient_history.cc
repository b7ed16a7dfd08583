#include "services/admin/patient_history.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/base/file_util.h"
#include "libs/base/status_macros.h"

namespace hisbridge::admin {
namespace {

// Longer than any id the linker assigns (a county code, "-P", 7+ digits);
// bounds what an error message echoes back.
constexpr size_t kMaxPatientIdLength = 64;

// The secondary instance serves point scans of one patient's audit keys:
// a small cache keeps the linker's process from growing.
constexpr size_t kHistoryBlockCacheBytes = 8 << 20;

bool IsCountyCodeChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

}  // namespace

absl::StatusOr<std::string> RegionOfPatientId(absl::string_view patient_id) {
  const auto invalid = [patient_id](absl::string_view rule) {
    return absl::InvalidArgumentError(absl::StrCat(
        "patient_id \"", absl::CHexEscape(patient_id.substr(0, kMaxPatientIdLength)), "\": ", rule,
        "; a unified patient id is <county code>-P<digits>, e.g. 450321-P0000001"));
  };
  if (patient_id.empty()) return absl::InvalidArgumentError("patient_id is required (e.g. 450321-P0000001)");
  if (patient_id.size() > kMaxPatientIdLength) {
    return invalid(absl::StrCat("longer than ", kMaxPatientIdLength, " characters"));
  }
  const size_t dash = patient_id.rfind("-P");
  if (dash == absl::string_view::npos) return invalid("no \"-P\" before the sequence number");
  const absl::string_view region = patient_id.substr(0, dash);
  const absl::string_view sequence = patient_id.substr(dash + 2);
  if (region.empty()) return invalid("no county code before \"-P\"");
  for (char c : region) {
    if (!IsCountyCodeChar(c)) return invalid("the county code may hold only letters, digits, '-' and '_'");
  }
  if (sequence.empty()) return invalid("no sequence number after \"-P\"");
  for (char c : sequence) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return invalid("the part after \"-P\" must be digits");
  }
  return std::string(region);
}

absl::StatusOr<hisbridge::v1::PatientHistory> ReadPatientHistory(const index::PatientIndex& index,
                                                                 absl::string_view patient_id,
                                                                 const HistoryReadOptions& options) {
  HB_ASSIGN_OR_RETURN(const std::string region, RegionOfPatientId(patient_id));
  std::optional<hisbridge::index::v1::RegionMeta> meta;
  HB_RETURN_IF_ERROR(index.ForEachRegion([&](const hisbridge::index::v1::RegionMeta& m) {
    if (m.region() != region) return true;
    meta = m;
    return false;
  }));
  if (!meta.has_value()) {
    return absl::NotFoundError(absl::StrCat("region ", region, " (of patient ", patient_id,
                                            ") is not in this patient index: this linker does not link that county"));
  }
  if (options.answers_for && !options.answers_for(*meta)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "region ", region, " is linked from inbox partition ", meta->inbox_partition(),
        ", which this linker does not own now: ask the linker pod that does (each answers for its own partitions)"));
  }
  hisbridge::v1::PatientHistory history;
  history.set_patient_id(std::string(patient_id));
  size_t bytes = 0;
  bool too_large = false;
  HB_RETURN_IF_ERROR(index.ForEachAudit(region, patient_id, [&](uint64_t, const hisbridge::v1::HistoryEntry& entry) {
    // The entry, its tag and its length prefix.
    bytes += entry.ByteSizeLong() + 6;
    if (options.max_bytes > 0 && bytes > options.max_bytes) {
      too_large = true;
      return false;
    }
    *history.add_entries() = entry;
    return true;
  }));
  if (too_large) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the history of patient ", patient_id, " is larger than ", options.max_bytes >> 10, " KiB (over ",
        history.entries_size(), " entries), more than one answer carries; read it with `hisbridge history "
        "--data-dir` on the linker's data directory"));
  }
  if (history.entries_size() == 0) {
    return absl::NotFoundError(absl::StrCat("no patient ", patient_id, " in region ", region,
                                            " of this patient index (no audit entry under that id)"));
  }
  return history;
}

LinkerHistoryReader::LinkerHistoryReader(LinkerHistoryOptions options) : options_(std::move(options)) {}

LinkerHistoryReader::~LinkerHistoryReader() {
  index_.reset();
  if (!scratch_.empty()) (void)RemoveRecursively(scratch_);
}

absl::Status LinkerHistoryReader::OpenLocked() {
  if (index_ != nullptr) return absl::OkStatus();
  if (!PathExists(options_.index_path + "/CURRENT")) {
    return absl::UnavailableError(
        absl::StrCat("the linker's patient index at ", options_.index_path, " does not exist yet; retry shortly"));
  }
  if (scratch_.empty()) {
    // The secondary's own info log; kept across reopenings.
    auto made = MakeTempDirectory("hisbridge-history-");
    if (!made.ok()) return absl::UnavailableError(absl::StrCat("history reader: ", made.status().message()));
    scratch_ = std::move(*made);
  }
  index::KvStoreOptions kv;
  kv.create_if_missing = false;
  kv.secondary_path = scratch_;
  kv.cipher = options_.cipher;
  kv.block_cache_bytes = kHistoryBlockCacheBytes;
  auto opened = index::PatientIndex::Open(options_.index_path, kv);
  if (!opened.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot open the linker's patient index at ", options_.index_path,
                                               " for reading: ", opened.status().message()));
  }
  index_ = std::move(*opened);
  return absl::OkStatus();
}

absl::StatusOr<hisbridge::v1::PatientHistory> LinkerHistoryReader::Read(const std::string& patient_id) {
  // A malformed id needs no index.
  HB_RETURN_IF_ERROR(RegionOfPatientId(patient_id).status());
  HistoryReadOptions read;
  read.max_bytes = options_.max_bytes;
  std::set<int32_t> owned;
  if (options_.owned_partitions) {
    owned = options_.owned_partitions();
    if (owned.empty()) {
      return absl::UnavailableError(
          "this linker owns no inbox partitions right now (it is joining its consumer group); retry in a few "
          "seconds");
    }
    read.answers_for = [&owned](const hisbridge::index::v1::RegionMeta& meta) {
      return owned.count(meta.inbox_partition()) > 0;
    };
  }
  std::lock_guard<std::mutex> lock(mu_);
  HB_RETURN_IF_ERROR(OpenLocked());
  absl::Status caught_up = index_->CatchUpWithPrimary();
  if (!caught_up.ok()) {
    // Reopened from scratch on the next call.
    index_.reset();
    return absl::UnavailableError(absl::StrCat("reading the linker's patient index: ", caught_up.message()));
  }
  return ReadPatientHistory(*index_, patient_id, read);
}

}  // namespace hisbridge::admin
