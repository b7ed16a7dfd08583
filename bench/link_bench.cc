// Linking throughput: the batch path (`hisbridge link`, in memory) and the
// streaming path (inbox topic on the development broker -> StreamingLinker
// -> RocksDB -> views topic), on the same JSON Lines input, with the same
// engine.
//
//   link_bench --input DIR/records.jsonl [--facilities DIR/facilities.csv]
//              [--model M] [--matcher fs|id-exact] [--truth DIR/truth.csv]
//              [--streaming-records N] [--threads T]
//
// Prints, for the batch path, patient records/s, wall time and peak RSS of
// the process; with --truth, blocking recall and the diagnosis of missed
// and false pairs; for the streaming path (when --streaming-records > 0),
// inputs/s from the first produce to the last committed offset. The
// development broker keeps only ~5 MiB per partition, so the streaming run
// uses the first N patient records and spreads them over 16 partitions.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "hisbridge/v1/events.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/flags.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/eval/csv_rows.h"
#include "libs/kafka/dev_broker.h"
#include "libs/kafka/producer.h"
#include "libs/linker/batch_linker.h"
#include "libs/linker/link_diagnostics.h"
#include "libs/linker/streaming_linker.h"
#include "libs/match/matcher.h"
#include "libs/records/facility_directory.h"
#include "libs/records/line_reader.h"
#include "libs/records/record_json.h"
#include "libs/records/validate.h"

namespace hisbridge {
namespace {

double PeakRssMiB() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double CpuSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

absl::StatusOr<linker::TruthMap> LoadTruth(const std::string& path) {
  HB_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  eval::CsvRows rows(path, text);
  std::vector<absl::string_view> fields;
  linker::TruthMap truth;
  while (rows.Next(&fields)) {
    if (fields.size() < 3 || fields[0] == "facility_id") continue;
    truth[{std::string(fields[0]), std::string(fields[1])}] = std::string(fields[2]);
  }
  HB_RETURN_IF_ERROR(rows.status());
  return truth;
}

int RunBatch(const std::string& input, const linker::LinkEngine& engine, const records::FacilityDirectory& facilities,
             int threads, const std::string& truth_file) {
  // As `hisbridge link` does: link the file, then write the link CSV (to a
  // scratch file). The linker is not destroyed, like in the command.
  static linker::BatchLinker* batch_holder;
  batch_holder = new linker::BatchLinker(&engine, &facilities, threads);
  linker::BatchLinker& batch = *batch_holder;
  const absl::Time started = absl::Now();
  const double process_cpu_start = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
  const double linking_cpu_start = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  int64_t rejected = 0;
  absl::Status s = batch.AddFile(input, [&](int64_t, absl::string_view, const std::vector<hisbridge::v1::FieldIssue>&) {
    ++rejected;
  });
  if (!s.ok()) {
    std::cerr << "link_bench: " << s.message() << "\n";
    return 1;
  }
  const char* tmp = std::getenv("TMPDIR");
  const std::string links_path =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/link_bench_links.", getpid(), ".csv");
  s = batch.WriteLinks(links_path);
  std::remove(links_path.c_str());
  if (!s.ok()) {
    std::cerr << "link_bench: " << s.message() << "\n";
    return 1;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  const double linking_cpu = CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - linking_cpu_start;
  const double process_cpu = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - process_cpu_start;
  const linker::BatchLinkStats stats = batch.Stats();
  std::printf("batch     %9ld patient records (%ld lines) in %6.2f s  %8.0f records/s  %ld patients  %ld reviews  "
              "peak RSS %.0f MiB  (matcher %s, %d threads)\n",
              static_cast<long>(stats.patient_records), static_cast<long>(stats.lines), seconds,
              static_cast<double>(stats.patient_records) / seconds, static_cast<long>(stats.patients),
              static_cast<long>(stats.review_items), PeakRssMiB(), engine.matcher().version().c_str(), threads);
  std::printf("          CPU: %.2f s in all threads, %.2f s in the linking thread (reading, linking, writing "
              "the CSV)\n",
              process_cpu, linking_cpu);
  if (!truth_file.empty()) {
    auto truth = LoadTruth(truth_file);
    if (!truth.ok()) {
      std::cerr << "link_bench: " << truth.status().message() << "\n";
      return 1;
    }
    std::printf("%s", linker::FormatDiagnostics(linker::Diagnose(batch.Regions(), engine, *truth, 0)).c_str());
  }
  return 0;
}

// Produces the first `limit` patient records of `input` to the inbox of a
// development broker and measures how long the streaming linker takes to
// commit them all.
int RunStreaming(const std::string& input, const linker::LinkEngine& engine,
                 const records::FacilityDirectory& facilities, int64_t limit) {
  kafka::TopicNames topics;
  auto broker = kafka::DevBroker::Start(
      {{topics.inbox, 16}, {topics.views, 4}, {topics.changes, 1}, {topics.rejects, 1}});
  if (!broker.ok()) {
    std::cerr << "link_bench: " << broker.status().message() << "\n";
    return 1;
  }
  kafka::KafkaConfig kafka;
  kafka.bootstrap = (*broker)->bootstrap();
  kafka::ProducerOptions producer_options;
  producer_options.block_when_full = true;
  auto producer = kafka::Producer::Create(kafka, producer_options);
  if (!producer.ok()) {
    std::cerr << "link_bench: " << producer.status().message() << "\n";
    return 1;
  }
  // Read first, so the measurement covers the linker, not the parser.
  std::vector<std::pair<std::string, std::string>> messages;  // key, value
  {
    auto reader = records::LineReader::Open(input);
    if (!reader.ok()) {
      std::cerr << "link_bench: " << reader.status().message() << "\n";
      return 1;
    }
    records::RecordJsonParser parser;
    records::ParsedRecord parsed;
    records::Line line;
    while (static_cast<int64_t>(messages.size()) < limit && (*reader)->Next(&line)) {
      parser.Parse(line.text, &parsed, /*padded=*/true);
      if (!parsed.ok() || !records::ValidateRecord(parsed.record).ok()) continue;
      if (records::ParseKind(parsed.record.kind()) != records::RecordKind::kPatient) continue;
      hisbridge::v1::InboxEvent event;
      event.set_event_id(absl::StrCat("bench-", messages.size()));
      // Every facility its own "county", so the inputs spread over the
      // partitions as many counties would.
      event.set_region(parsed.record.facility_id());
      *event.mutable_record() = parsed.record;
      messages.emplace_back(event.region(), event.SerializeAsString());
    }
  }
  const std::string dir = absl::StrCat("/tmp/link_bench_", ::getpid());
  linker::StreamingLinkerOptions options;
  options.kafka = kafka;
  options.topics = topics;
  options.group_id = absl::StrCat("link-bench-", ::getpid());
  options.data_dir = dir;
  options.session_timeout = absl::Seconds(6);
  linker::StreamingLinker streaming(options, &engine, &facilities);
  absl::Status s = streaming.Start();
  if (!s.ok()) {
    std::cerr << "link_bench: " << s.message() << "\n";
    return 1;
  }
  // Wait for the group join before timing.
  const absl::Time join_deadline = absl::Now() + absl::Seconds(30);
  while (streaming.AssignedPartitions().empty() && absl::Now() < join_deadline) absl::SleepFor(absl::Milliseconds(50));
  const absl::Time started = absl::Now();
  for (const auto& [key, value] : messages) (*producer)->Produce(topics.inbox, key, value, [](const kafka::Delivery&) {});
  s = (*producer)->Flush(absl::Seconds(60));
  int64_t committed = 0;
  const absl::Time deadline = absl::Now() + absl::Minutes(10);
  while (absl::Now() < deadline && streaming.running()) {
    committed = 0;
    for (const auto& [p, next] : streaming.CommittedOffsets()) committed += next;
    if (committed >= static_cast<int64_t>(messages.size())) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  std::printf("streaming %9ld patient records in %6.2f s  %8.0f records/s  (16 inbox partitions, one linker, RocksDB, "
              "views published)%s\n",
              static_cast<long>(committed), seconds, static_cast<double>(committed) / seconds,
              streaming.status().ok() ? "" : absl::StrCat("  linker error: ", streaming.status().message()).c_str());
  streaming.Stop();
  (void)RemoveRecursively(dir);
  return committed >= static_cast<int64_t>(messages.size()) ? 0 : 1;
}

}  // namespace
}  // namespace hisbridge

int main(int argc, char** argv) {
  using namespace hisbridge;
  std::string input, facilities_file, model, matcher_name = "fs", truth, default_region = "000000";
  int64_t streaming_records = 0;
  int threads = 2;
  FlagSet flags("link_bench", "Linking throughput of the batch and the streaming path.");
  flags.String("input", &input, "JSON Lines input (hisbridge gen output)", /*required=*/true);
  flags.String("facilities", &facilities_file, "facility directory CSV");
  flags.String("default-region", &default_region, "region of unlisted facilities");
  flags.String("model", &model, "model file (default: built in)");
  flags.String("matcher", &matcher_name, "fs or id-exact");
  flags.String("truth", &truth, "truth CSV: also print blocking recall and the diagnosis");
  flags.Int("threads", &threads, "threads of the batch path (parsing and preparing run beside linking)");
  flags.Int("streaming-records", &streaming_records, "patient records for the streaming path (0 skips it)");
  absl::Status s = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (!s.ok()) {
    std::cerr << "link_bench: " << s.message() << "\n";
    return 2;
  }
  log::SetLevel(log::Level::kWarning);
  records::FacilityDirectory facilities(default_region);
  if (!facilities_file.empty()) {
    auto loaded = records::FacilityDirectory::Load(facilities_file, default_region);
    if (!loaded.ok()) {
      std::cerr << "link_bench: " << loaded.status().message() << "\n";
      return 2;
    }
    facilities = std::move(*loaded);
  }
  auto matcher = match::MakeMatcher(matcher_name, model);
  if (!matcher.ok()) {
    std::cerr << "link_bench: " << matcher.status().message() << "\n";
    return 2;
  }
  linker::EngineOptions batch_options;
  batch_options.keep_history = false;
  batch_options.keep_records = false;  // only the links are written: identity and match form suffice
  linker::LinkEngine batch_engine(matcher->get(), &facilities, batch_options);
  int rc = RunBatch(input, batch_engine, facilities, threads, truth);
  if (rc == 0 && streaming_records > 0) {
    linker::LinkEngine streaming_engine(matcher->get(), &facilities);
    rc = RunStreaming(input, streaming_engine, facilities, streaming_records);
  }
  return rc;
}
