// Where a data-quality report's figures come from (data_quality.h says
// what each figure means):
//
//   AddIndexRecords      the linker's patient index (records and links
//                        families): a data directory opened read-only as a
//                        RocksDB secondary (OpenIndexReadOnly), or the
//                        running linker's own directory
//   BatchReport          a JSON Lines file validated and linked in memory
//                        with the batch linker (the engine of the
//                        streaming linker, same decisions), its rejected
//                        lines counted as they are found
//   AddRejectsFromTopic  the rejects topic (RejectedRecord), read by
//                        manual assignment from the oldest message kept to
//                        the end offsets seen at the start; never joins a
//                        consumer group, commits nothing
//
// The index holds no rejected lines (ingest keeps them on the rejects
// topic), so a report from an index counts rejects only when it is also
// given the topic.
//
// Thread safety: each call is independent; the index may be shared.
#ifndef HISBRIDGE_LIBS_REPORT_SOURCES_H_
#define HISBRIDGE_LIBS_REPORT_SOURCES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "hisbridge/v1/admin.pb.h"
#include "libs/index/kv_store.h"
#include "libs/index/patient_index.h"
#include "libs/kafka/kafka_config.h"
#include "libs/linker/link_engine.h"
#include "libs/records/facility_directory.h"
#include "libs/report/data_quality.h"

namespace hisbridge::report {

// Regions to leave out although they are in the index (e.g. counties a
// linker pod no longer owns); null keeps every region.
using RegionFilter = std::function<bool(const hisbridge::index::v1::RegionMeta& region)>;

// Adds every live record of the index's regions that `builder` wants and
// `keep` keeps. Returns the regions read.
absl::StatusOr<std::vector<std::string>> AddIndexRecords(const index::PatientIndex& index, const RegionFilter& keep,
                                    const ReportControl& control, DataQualityBuilder* builder);

// A patient index opened read-only as a RocksDB secondary instance, with
// its scratch directory (the secondary's info log), removed on
// destruction. Safe while a linker writes the index (in this or another
// process); shows whole committed batches only.
class ReadOnlyIndex {
 public:
  static absl::StatusOr<std::unique_ptr<ReadOnlyIndex>> Open(const std::string& path,
                                                             std::shared_ptr<const index::ValueCipher> cipher);
  ~ReadOnlyIndex();
  const index::PatientIndex& index() const { return *index_; }

 private:
  ReadOnlyIndex(std::string scratch, std::unique_ptr<index::PatientIndex> index)
      : scratch_(std::move(scratch)), index_(std::move(index)) {}
  std::string scratch_;
  std::unique_ptr<index::PatientIndex> index_;
};

struct RejectsTopicStats {
  int64_t messages = 0;
  int32_t partitions = 0;
  // Messages that were not a RejectedRecord (counted, skipped).
  int64_t unreadable = 0;
};

// Reads `topic` (hisbridge.rejects) and adds every rejected line to
// `builder`.
absl::StatusOr<RejectsTopicStats> AddRejectsFromTopic(const kafka::KafkaConfig& config, const std::string& topic,
                                                      const ReportControl& control, DataQualityBuilder* builder);

struct BatchReportOptions {
  // Threads for parsing and preparation, counting the calling thread
  // (which links, in file order: the result does not depend on it).
  int threads = 1;
};

struct BatchReportStats {
  int64_t lines = 0;
  int64_t patient_records = 0;
  int64_t clinical_events = 0;
  int64_t rejected = 0;
};

// Validates and links `path` in memory and adds its live records and
// rejected lines to `builder`. Give the matcher, model and facility
// directory of the deployment: the decisions are then the streaming
// linker's for the same lines in the same order.
absl::StatusOr<BatchReportStats> BatchReport(const std::string& path, const match::Matcher* matcher,
                                             const records::FacilityDirectory* facilities,
                                             const BatchReportOptions& options, DataQualityBuilder* builder);

// A whole report from a linker's patient index: what the linker role
// serves (AdminService.GetDataQualityReport) and `hisbridge report
// --data-dir` prints. The index is opened read-only for the call (a
// RocksDB secondary instance: safe beside the running linker, consistent
// to a committed batch).
struct IndexReportSource {
  // The linker store (DATA_DIR/linker).
  std::string index_path;
  // The deployment's at-rest cipher; null for an unencrypted index.
  std::shared_ptr<const index::ValueCipher> cipher;
  // Names, and the regions of rejected lines. Must outlive the calls.
  const records::FacilityDirectory* facilities = nullptr;
  // The rejects topic is read when kafka.bootstrap is set; otherwise the
  // report has no rejects.
  kafka::KafkaConfig kafka;
  std::string rejects_topic = "hisbridge.rejects";
  // When the topic cannot be read: fail the report (a gRPC answer cannot
  // say that a part is missing), or go on without rejects and say why in
  // IndexReportStats (a command that prints it).
  bool rejects_required = true;
  // The inbox partitions whose counties this process links now: regions
  // of other partitions (left in the index by an earlier assignment) are
  // not reported, and an empty set (joining the group) is UNAVAILABLE.
  // Null: report every region in the index.
  std::function<std::set<int32_t>()> owned_partitions;
};

struct IndexReportStats {
  int regions = 0;
  int64_t records = 0;
  // Unset when the rejects topic was not read; then rejects_error says
  // why when it was to be read.
  std::optional<RejectsTopicStats> rejects;
  absl::Status rejects_error;
};

// NOT_FOUND when the request names a region this index does not link.
absl::StatusOr<hisbridge::v1::DataQualityReport> BuildIndexReport(
    const IndexReportSource& source, const hisbridge::v1::DataQualityReportRequest& request,
    const ReportControl& control, IndexReportStats* stats = nullptr);

}  // namespace hisbridge::report

#endif  // HISBRIDGE_LIBS_REPORT_SOURCES_H_
