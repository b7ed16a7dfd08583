#include "libs/report/sources.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "hisbridge/v1/events.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/kafka/consumer.h"
#include "libs/linker/batch_linker.h"
#include "libs/records/record_json.h"

namespace hisbridge::report {
namespace {

// How often long loops look at the deadline and the cancellation flag.
constexpr int64_t kCheckEvery = 4096;

struct LinkOf {
  std::string patient_id;
  hisbridge::v1::LinkMethod method = hisbridge::v1::LINK_METHOD_UNSPECIFIED;
};

std::string SourceKey(absl::string_view facility_id, absl::string_view record_id) {
  return absl::StrCat(facility_id, absl::string_view("\0", 1), record_id);
}

absl::Status AddRegion(const index::PatientIndex& index, const std::string& region, const ReportControl& control,
                       DataQualityBuilder* builder) {
  // Links and records share their key layout (region, facility, record),
  // but the index scans one family at a time: the links of the region
  // are held (patient id and method only) while its records go by.
  absl::flat_hash_map<std::string, LinkOf> links;
  absl::Status stopped;
  int64_t seen = 0;
  const std::string what = absl::StrCat("reading region ", region);
  HB_RETURN_IF_ERROR(index.ForEachLink(
      region, [&](absl::string_view facility_id, absl::string_view record_id,
                  const hisbridge::index::v1::StoredLink& link) {
        if (++seen % kCheckEvery == 0 && !(stopped = control.Check(what)).ok()) return false;
        links[SourceKey(facility_id, record_id)] = LinkOf{link.patient_id(), link.link().method()};
        return true;
      }));
  HB_RETURN_IF_ERROR(stopped);
  static const LinkOf kNoLink;
  HB_RETURN_IF_ERROR(index.ForEachRecord(region, [&](const hisbridge::index::v1::StoredRecord& record) {
    if (++seen % kCheckEvery == 0 && !(stopped = control.Check(what)).ok()) return false;
    auto it = links.find(SourceKey(record.record().facility_id(), record.record().record_id()));
    const LinkOf& link = it != links.end() ? it->second : kNoLink;
    builder->AddRecord(region, record, link.patient_id, link.method);
    return true;
  }));
  return stopped;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> AddIndexRecords(const index::PatientIndex& index, const RegionFilter& keep,
                                    const ReportControl& control, DataQualityBuilder* builder) {
  std::vector<std::string> regions;
  HB_RETURN_IF_ERROR(index.ForEachRegion([&](const hisbridge::index::v1::RegionMeta& meta) {
    if (builder->WantsRegion(meta.region()) && (!keep || keep(meta))) regions.push_back(meta.region());
    return true;
  }));
  for (const std::string& region : regions) {
    HB_RETURN_IF_ERROR(control.Check(absl::StrCat("reading region ", region)));
    HB_RETURN_IF_ERROR(AddRegion(index, region, control, builder));
  }
  return regions;
}

absl::StatusOr<std::unique_ptr<ReadOnlyIndex>> ReadOnlyIndex::Open(const std::string& path,
                                                                   std::shared_ptr<const index::ValueCipher> cipher) {
  if (!PathExists(path + "/CURRENT")) {
    return absl::NotFoundError(absl::StrCat(path, " is not a patient index (no RocksDB CURRENT file)"));
  }
  HB_ASSIGN_OR_RETURN(std::string scratch, MakeTempDirectory("hisbridge-report-"));
  index::KvStoreOptions options;
  options.create_if_missing = false;
  options.secondary_path = scratch;
  options.cipher = std::move(cipher);
  // One sequential pass: a small cache is enough and keeps the linker's
  // process (which may be the one reading) from growing much.
  options.block_cache_bytes = 32 << 20;
  auto opened = index::PatientIndex::Open(path, options);
  if (!opened.ok()) {
    (void)RemoveRecursively(scratch);
    return absl::Status(opened.status().code(),
                        absl::StrCat(path, " cannot be read as a patient index: ", opened.status().message()));
  }
  return std::unique_ptr<ReadOnlyIndex>(new ReadOnlyIndex(std::move(scratch), std::move(*opened)));
}

ReadOnlyIndex::~ReadOnlyIndex() {
  index_.reset();
  (void)RemoveRecursively(scratch_);
}

absl::StatusOr<RejectsTopicStats> AddRejectsFromTopic(const kafka::KafkaConfig& config, const std::string& topic,
                                                      const ReportControl& control, DataQualityBuilder* builder) {
  kafka::ConsumerOptions options;
  options.report_end_of_partition = true;
  HB_ASSIGN_OR_RETURN(std::unique_ptr<kafka::Consumer> consumer, kafka::Consumer::Create(config, options));
  constexpr absl::Duration kBrokerTimeout = absl::Seconds(10);
  auto count = consumer->PartitionCount(topic, kBrokerTimeout);
  if (!count.ok()) {
    return absl::Status(count.status().code(),
                        absl::StrCat("rejects topic ", topic, ": ", count.status().message()));
  }
  RejectsTopicStats stats;
  stats.partitions = *count;
  // Read up to the end offsets seen now; lines rejected meanwhile belong to
  // the next report.
  std::map<int32_t, int64_t> ends;
  std::vector<kafka::TopicPartition> assignment;
  for (int32_t p = 0; p < *count; ++p) {
    int64_t low = 0, high = 0;
    HB_RETURN_IF_ERROR(consumer->QueryWatermarks(topic, p, kBrokerTimeout, &low, &high));
    if (high <= low) continue;
    ends[p] = high;
    assignment.push_back({topic, p, low});
  }
  if (assignment.empty()) return stats;
  HB_RETURN_IF_ERROR(consumer->Assign(assignment));
  hisbridge::v1::RejectedRecord rejected;
  kafka::PollResult poll;
  while (!ends.empty()) {
    HB_RETURN_IF_ERROR(control.Check(absl::StrCat("reading the rejects topic ", topic)));
    absl::Status s = consumer->Poll(absl::Milliseconds(200), &poll);
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("rejects topic ", topic, ": ", s.message()));
    for (const kafka::Message& m : poll.messages) {
      auto end = ends.find(m.partition);
      if (end == ends.end() || m.offset >= end->second) continue;
      ++stats.messages;
      if (m.tombstone || !rejected.ParseFromString(m.value)) {
        ++stats.unreadable;
      } else {
        builder->AddReject(rejected.facility_id(), rejected.errors());
      }
      if (m.offset + 1 >= end->second) ends.erase(end);
    }
    // A partition whose last messages were deleted by retention meanwhile
    // ends early: what is left is all there is.
    for (const kafka::TopicPartition& tp : poll.reached_end) ends.erase(tp.partition);
  }
  if (stats.unreadable > 0) {
    log::Warning("rejects topic holds messages that are not RejectedRecords; skipped",
                 {{"topic", topic}, {"unreadable", stats.unreadable}});
  }
  return stats;
}

absl::StatusOr<BatchReportStats> BatchReport(const std::string& path, const match::Matcher* matcher,
                                             const records::FacilityDirectory* facilities,
                                             const BatchReportOptions& options, DataQualityBuilder* builder) {
  linker::EngineOptions engine_options;
  // The report reads the demographics of every record; the audit trail
  // and explanations are not needed.
  engine_options.keep_records = true;
  engine_options.keep_history = false;
  linker::LinkEngine engine(matcher, facilities, engine_options);
  linker::BatchLinker batch(&engine, facilities, options.threads);
  records::RecordJsonParser parser;
  records::ParsedRecord parsed;
  // Called on this thread, in file order.
  auto on_reject = [&](int64_t, absl::string_view raw, const std::vector<hisbridge::v1::FieldIssue>& errors) {
    std::string facility_id;
    parser.Parse(raw, &parsed);
    facility_id = parsed.record.facility_id();
    for (const hisbridge::v1::FieldIssue& e : errors) {
      // A facility_id that broke a rule (control characters, too long) is
      // nobody's to report to.
      if (e.field() == "facility_id") facility_id.clear();
    }
    builder->AddReject(facility_id, errors);
  };
  HB_RETURN_IF_ERROR(batch.AddFile(path, on_reject));
  for (const linker::RegionState* state : batch.Regions()) {
    if (!builder->WantsRegion(state->region())) continue;
    for (linker::RecordHandle h = 0; h < state->record_count(); ++h) {
      const linker::RecordState& r = state->record(h);
      builder->AddRecord(state->region(), r.stored, r.patient_id(), r.link.link().method());
    }
  }
  const linker::BatchLinkStats linked = batch.Stats();
  BatchReportStats stats;
  stats.lines = linked.lines;
  stats.patient_records = linked.patient_records;
  stats.clinical_events = linked.clinical_events;
  stats.rejected = linked.rejected;
  return stats;
}

absl::StatusOr<hisbridge::v1::DataQualityReport> BuildIndexReport(
    const IndexReportSource& source, const hisbridge::v1::DataQualityReportRequest& request,
    const ReportControl& control, IndexReportStats* stats) {
  if (source.facilities == nullptr) return absl::InternalError("IndexReportSource without a facility directory");
  HB_RETURN_IF_ERROR(control.Check("starting"));
  RegionFilter keep;
  std::set<int32_t> owned;
  if (source.owned_partitions) {
    owned = source.owned_partitions();
    if (owned.empty()) {
      return absl::UnavailableError(
          "this linker owns no inbox partitions right now (it is joining its consumer group); retry in a few "
          "seconds");
    }
    keep = [&owned](const hisbridge::index::v1::RegionMeta& meta) { return owned.count(meta.inbox_partition()) > 0; };
  }
  HB_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyIndex> index, ReadOnlyIndex::Open(source.index_path, source.cipher));
  DataQualityBuilder builder(source.facilities, ReportScope::Of(request));
  IndexReportStats local;
  HB_ASSIGN_OR_RETURN(std::vector<std::string> regions, AddIndexRecords(index->index(), keep, control, &builder));
  local.regions = static_cast<int>(regions.size());
  if (source.owned_partitions) builder.LimitRejectsToRegions(std::set<std::string>(regions.begin(), regions.end()));
  if (!request.region().empty() && regions.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "region ", request.region(), " is not in this patient index",
        source.owned_partitions ? " (or its inbox partition is owned by another linker pod: ask each pod)" : ""));
  }
  local.records = builder.records();
  if (!source.kafka.bootstrap.empty()) {
    // Counted apart and merged once complete: a read that fails half way
    // must leave no rejects rather than some.
    DataQualityBuilder rejects_only = builder.WithSameScope();
    absl::StatusOr<RejectsTopicStats> rejects =
        AddRejectsFromTopic(source.kafka, source.rejects_topic, control, &rejects_only);
    if (rejects.ok()) {
      local.rejects = *rejects;
      builder.MergeRejects(rejects_only);
    } else if (source.rejects_required || absl::IsCancelled(rejects.status()) ||
               absl::IsDeadlineExceeded(rejects.status())) {
      return rejects.status();
    } else {
      local.rejects_error = rejects.status();
    }
  }
  if (stats != nullptr) *stats = local;
  return builder.Build(absl::Now());
}

}  // namespace hisbridge::report
